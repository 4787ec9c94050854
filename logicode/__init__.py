"""logicode: find logical anomalies in product images from rules written in plain English."""

__version__ = "0.1.0"
