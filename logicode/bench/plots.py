"""Bench plots as PNG: ROC curves and per-defect confusion heatmaps.

matplotlib is optional (``pip install logicode[bench]``) and imported only when a plot is
drawn. Figures are drawn on the Agg canvas directly, without pyplot, so no global backend
or figure state is touched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from logicode.bench.metrics import BenchMetrics, DefectConfusion, RocCurve
from logicode.errors import LogicodeError

log = logging.getLogger(__name__)

DPI = 120


class PlotError(LogicodeError):
    """A plot cannot be drawn (matplotlib is missing)."""


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError(
            "plots need matplotlib; install it with: pip install 'logicode[bench]'"
        ) from None
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        # "tight" grows the canvas to whatever the labels need: long defect names and the
        # colour-bar title would otherwise be cut off at the edges.
        fig.savefig(tmp, format="png", bbox_inches="tight", pad_inches=0.1)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def plot_roc(
    path: str | Path,
    curves: Mapping[str, RocCurve | None],
    *,
    aurocs: Mapping[str, float | None] | None = None,
    title: str = "ROC: logical anomalies vs good",
) -> Path:
    """Draw ROC curves, one line per name, on one chart, as PNG.

    Args:
        path: Destination ``.png``.
        curves: Curve of each name (``None`` curves are listed as undefined in the legend).
        aurocs: AUROC of each name, shown in the legend.
        title: Chart title.

    Returns:
        The path written.
    """
    fig = _figure(6.0, 6.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1, label="chance")
    for name, curve in curves.items():
        value = (aurocs or {}).get(name)
        if curve is None:
            ax.plot([], [], label=f"{name} (AUROC n/a)")
            continue
        label = name if value is None else f"{name} (AUROC {100 * value:.1f})"
        width = 2.5 if name == "overall" else 1.5
        ax.plot(curve.fpr, curve.tpr, linewidth=width, label=label, drawstyle="default")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("False positive rate (good images flagged)")
    ax.set_ylabel("True positive rate (logical anomalies caught)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


def plot_defect_confusion(
    path: str | Path, confusion: DefectConfusion, *, title: str = "Rule firing rate per defect"
) -> Path:
    """Draw a per-defect confusion heatmap as PNG.

    Rows are true defects (``good`` first: false alarms), columns the rules plus
    ``(none)`` (no rule fired); each cell shows the share of the row's images and the count.

    Args:
        path: Destination ``.png``.
        confusion: The matrix (see ``metrics.defect_confusion``).
        title: Chart title.

    Returns:
        The path written.
    """
    n_rows, n_rules = len(confusion.defects), len(confusion.rules)
    counts = np.zeros((n_rows, n_rules + 1), dtype=int)
    if n_rules:
        counts[:, :n_rules] = np.asarray(confusion.counts, dtype=int).reshape(n_rows, n_rules)
    counts[:, n_rules] = confusion.none_fired
    totals = np.asarray(confusion.totals, dtype=float).reshape(-1, 1)
    rates = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    cols = [*confusion.rules, "(none)"]
    rows = [f"{d} (n={t})" for d, t in zip(confusion.defects, confusion.totals, strict=True)]

    fig = _figure(max(5.0, 1.0 + 0.6 * len(cols)), max(3.0, 1.5 + 0.45 * n_rows))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(rates, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=45, ha="right", fontsize="small")
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels(rows, fontsize="small")
    ax.set_xlabel("rule fired")
    ax.set_ylabel("true defect")
    ax.set_title(title)
    if counts.size <= 400:
        for i in range(n_rows):
            for j in range(len(cols)):
                colour = "black" if rates[i, j] > 0.6 else "white"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour)
    fig.colorbar(im, ax=ax, label="share of the row's images")
    fig.tight_layout()
    return _save(fig, path)


def write_plots(out_dir: str | Path, metrics: BenchMetrics) -> list[Path]:
    """Write ``roc.png`` (each category and overall) and ``confusion_<category>.png``.

    Args:
        out_dir: Folder for the PNG files.
        metrics: The figures.

    Returns:
        The paths written.
    """
    out = Path(out_dir)
    curves: dict[str, RocCurve | None] = {n: g.roc for n, g in metrics.categories.items()}
    aurocs = {n: g.auroc.value for n, g in metrics.categories.items()}
    if len(metrics.categories) != 1:
        curves["overall"] = metrics.overall.roc
        aurocs["overall"] = metrics.overall.auroc.value
    paths = [plot_roc(out / "roc.png", curves, aurocs=aurocs)]
    for name, conf in metrics.confusions.items():
        if not conf.totals or not sum(conf.totals):
            log.info("no image for %s; no confusion plot", name)
            continue
        paths.append(
            plot_defect_confusion(
                out / f"confusion_{name}.png", conf, title=f"{name}: rule firing rate per defect"
            )
        )
    return paths
