"""Datasets: the MVTec LOCO reader, annotation importers and the synthetic generator."""
