"""LogiBench: metrics, per-image records, reports and plots for measuring the whole system.

Submodules: :mod:`~logicode.bench.metrics` (pure metric functions), :mod:`~logicode.bench.records`
(resumable JSON Lines records), :mod:`~logicode.bench.report` (``metrics.json`` and Markdown) and
:mod:`~logicode.bench.plots` (PNG plots; matplotlib is imported only when drawing).
"""
