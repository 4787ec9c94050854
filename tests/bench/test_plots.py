import sys

import pytest

from logicode.bench.metrics import evaluate
from logicode.bench.records import build_record

pytest.importorskip("matplotlib")

from logicode.bench.plots import (  # noqa: E402
    PlotError,
    plot_defect_confusion,
    plot_roc,
    write_plots,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def result(rule, fail):
    if fail:
        return {
            "rule": rule,
            "status": "fail",
            "violations": [{"message": "x", "evidence": []}],
            "error": None,
        }
    return {"rule": rule, "status": "pass", "violations": [], "error": None}


def _records():
    recs = []
    for cat, n in (("A", 6), ("B", 5)):
        for i in range(n):
            anomalous = i % 2 == 0
            fired = [
                result("r1", anomalous),
                result("r2", anomalous and i % 4 == 0),
                result("r3", i == 1),
            ]
            recs.append(
                build_record(
                    f"{i}",
                    cat,
                    "logical_anomaly" if anomalous else "good",
                    fired,
                    defects=[f"d{i % 3}"] if anomalous else [],
                )
            )
    return recs


def _check_png(path, min_bytes=5000):
    from PIL import Image

    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > min_bytes
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.width > 300 and im.height > 200
        # not a blank canvas: many distinct colours
        assert len(im.convert("RGB").getcolors(maxcolors=1 << 20)) > 20


def test_write_plots_makes_roc_and_confusion_pngs(tmp_path):
    m = evaluate(_records())
    paths = write_plots(tmp_path, m)
    assert sorted(p.name for p in paths) == ["confusion_A.png", "confusion_B.png", "roc.png"]
    for p in paths:
        _check_png(p)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_plots_with_undefined_curve_and_empty_rules(tmp_path):
    m = evaluate([build_record("g", "C", "good", [result("r", False)])])
    _check_png(plot_roc(tmp_path / "roc.png", {"C": m.overall.roc}, aurocs={"C": None}))
    conf = m.confusions["C"]
    _check_png(plot_defect_confusion(tmp_path / "c.png", conf), min_bytes=3000)


def test_missing_matplotlib_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    m = evaluate(_records())
    with pytest.raises(PlotError, match="pip install"):
        plot_roc(tmp_path / "roc.png", {"A": m.categories["A"].roc})


def _border_is_background(path):
    """True if the outermost pixel rows and columns are plain background (nothing clipped)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im.convert("L"))
    edges = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    return bool((edges > 250).all())


def test_nothing_is_cut_off_at_the_figure_edges(tmp_path):
    # Long defect and rule names, as real categories have: labels and the colour-bar title
    # must stay inside the PNG.
    recs = [
        build_record(
            f"{i}",
            "C",
            "logical_anomaly" if i else "good",
            [result("a_rather_long_rule_identifier", i % 2 == 1), result("r2", False)],
            defects=["wrong_fill_level_not_enough_long_name"] if i else [],
        )
        for i in range(4)
    ]
    m = evaluate(recs)
    assert _border_is_background(plot_defect_confusion(tmp_path / "c.png", m.confusions["C"]))
    assert _border_is_background(plot_roc(tmp_path / "r.png", {"C": m.overall.roc}))
