"""Bench reports: ``metrics.json`` and a Markdown table, written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from logicode.bench.metrics import BenchMetrics, GroupMetrics

METRICS_FORMAT = 1

COLUMNS = (
    "Category",
    "Images",
    "Errors",
    "Accuracy",
    "Precision",
    "Recall",
    "F1",
    "AUROC",
    "Codegen",
    "Held-out",
    "Reasoning",
    "s/image",
)
"""Table columns. Rates are percentages; *Codegen* is the share of rules that compiled and
passed validation, *Held-out* the share right on all held-out scenes, *Reasoning* the
reasoning precision; *Images* counts scored images, *Errors* images with no verdict."""

NA = "n/a"


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half-written).

    Args:
        path: Destination (its folder is created).
        text: UTF-8 text.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def metrics_document(
    metrics: BenchMetrics, *, run: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The content of ``metrics.json``: format, run description and every figure."""
    return {"format": METRICS_FORMAT, "run": dict(run or {}), **metrics.to_dict()}


def write_metrics_json(
    path: str | Path, metrics: BenchMetrics, *, run: Mapping[str, Any] | None = None
) -> Path:
    """Write ``metrics.json`` atomically.

    Args:
        path: Destination file.
        metrics: The figures.
        run: How the run was made (command, dataset, model, pack hashes...), JSON-ready.

    Returns:
        The path written.

    Raises:
        ValueError: If a figure is NaN or infinite, or ``run`` is not JSON-ready.
    """
    text = json.dumps(metrics_document(metrics, run=run), indent=2, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def _pct(value: float | None) -> str:
    return NA if value is None else f"{100.0 * value:.1f}"


def _secs(value: float | None) -> str:
    if value is None:
        return NA
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _row(label: str, g: GroupMetrics, figs: Mapping[str, float | None]) -> list[str]:
    return [
        label,
        str(g.n_scored),
        str(g.n_error),
        _pct(figs["accuracy"]),
        _pct(figs["precision"]),
        _pct(figs["recall"]),
        _pct(figs["f1"]),
        _pct(figs["auroc"]),
        _pct(figs["codegen_validated"]),
        _pct(figs["codegen_heldout"]),
        _pct(figs["reasoning_precision"]),
        _secs(figs["seconds_per_image"]),
    ]


def markdown_table(metrics: BenchMetrics) -> str:
    """A Markdown table: one row per category, then overall (micro) and overall (macro).

    Args:
        metrics: The figures.

    Returns:
        The table, ending with a newline.
    """
    rows = [_row(name, g, g.figures()) for name, g in metrics.categories.items()]
    o = metrics.overall
    rows.append(_row("**overall (micro)**", o, o.figures()))
    if len(metrics.categories) > 1:
        rows.append(_row("overall (macro)", o, metrics.macro))
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_markdown(path: str | Path, metrics: BenchMetrics, *, title: str = "") -> Path:
    """Write the Markdown table (under an optional ``# title``) atomically.

    Args:
        path: Destination file.
        metrics: The figures.
        title: Heading line text; none when empty.

    Returns:
        The path written.
    """
    head = f"# {title}\n\n" if title else ""
    return atomic_write_text(path, head + markdown_table(metrics))
