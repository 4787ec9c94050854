import json

import pytest

from logicode.bench.metrics import CodegenRecord, evaluate
from logicode.bench.records import build_record
from logicode.bench.report import markdown_table, write_markdown, write_metrics_json


def passed(rule):
    return {"rule": rule, "status": "pass", "violations": [], "error": None}


def failed(rule):
    return {
        "rule": rule,
        "status": "fail",
        "violations": [{"message": "broken", "evidence": []}],
        "error": None,
    }


def _metrics():
    g = {"r": ["d1"]}
    recs = [
        # category A: tp, fn, tn, fp -> accuracy 50 %, AUROC (1 + 0.5 + 0.5 + 0) / 4 = 50 %
        build_record(
            "1",
            "A",
            "logical_anomaly",
            [failed("r")],
            defects=["d1"],
            guards=g,
            timings={"rules": 0.25},
        ),
        build_record(
            "2",
            "A",
            "logical_anomaly",
            [passed("r")],
            defects=["d1"],
            guards=g,
            timings={"rules": 0.75},
        ),
        build_record("3", "A", "good", [passed("r")], guards=g),
        build_record("4", "A", "good", [failed("r")], guards=g),
        # category B: only good images, all right -> precision, recall, AUROC undefined
        build_record("5", "B", "good", [passed("r")], guards=g),
    ]
    cg = [CodegenRecord("A", "r", True, True, 3, 4), CodegenRecord("B", "r", False, False)]
    return evaluate(recs, cg)


def test_markdown_table_rows_and_cells():
    table = markdown_table(_metrics())
    lines = table.strip().splitlines()
    assert lines[0].startswith("| Category | Images | Errors | Accuracy |")
    assert len(lines) == 2 + 2 + 2  # header, rule, A, B, micro, macro
    cells = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]] for ln in lines[2:]}
    # A: Images 4, Errors 0, Accuracy 50.0, Precision 50.0, Recall 50.0, F1 50.0, AUROC 50.0,
    #    Codegen 100.0, Held-out 0.0 (3/4 scenes), Reasoning 100.0 (1 caught, names d1),
    #    s/image (0.25 + 0.75) / 2 = 0.500
    assert cells["A"] == [
        "4",
        "0",
        "50.0",
        "50.0",
        "50.0",
        "50.0",
        "50.0",
        "100.0",
        "0.0",
        "100.0",
        "0.500",
    ]
    assert cells["B"][2:7] == ["100.0", "n/a", "n/a", "n/a", "n/a"]
    assert cells["B"][7] == "0.0"  # its rule did not compile
    # micro: tp1 fn1 tn2 fp1 -> accuracy 3/5 = 60.0; macro accuracy (50 + 100) / 2 = 75.0
    assert cells["**overall (micro)**"][2] == "60.0"
    assert cells["overall (macro)"][2] == "75.0"
    assert cells["overall (macro)"][6] == "50.0"  # AUROC: only A has one


def test_write_metrics_json_roundtrip(tmp_path):
    m = _metrics()
    path = write_metrics_json(tmp_path / "out" / "metrics.json", m, run={"scenes": "gt"})
    doc = json.loads(path.read_text())
    assert doc["format"] == 1 and doc["run"] == {"scenes": "gt"}
    assert doc["categories"]["A"]["accuracy"] == pytest.approx(0.5)
    assert doc["categories"]["B"]["auroc"] is None
    assert "no logical anomaly" in doc["categories"]["B"]["auroc_reason"]
    assert doc["overall"]["accuracy"] == pytest.approx(0.6)
    assert doc["macro"]["accuracy"] == pytest.approx(0.75)
    assert doc["categories"]["A"]["codegen"]["heldout_scene_accuracy"] == pytest.approx(0.75)
    assert doc["categories"]["A"]["roc"]["thresholds"][0] is None
    assert doc["confusions"]["A"]["counts"] == [[1], [1]]  # good row: 4; d1 row: 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["metrics.json"]


def test_failed_write_leaves_previous_file(tmp_path):
    path = tmp_path / "metrics.json"
    write_metrics_json(path, _metrics())
    before = path.read_text()
    with pytest.raises(ValueError):
        write_metrics_json(path, _metrics(), run={"bad": float("nan")})
    assert path.read_text() == before
    with pytest.raises(TypeError):
        write_metrics_json(path, _metrics(), run={"bad": object()})
    assert path.read_text() == before and len(list(tmp_path.iterdir())) == 1


def test_write_markdown_with_title(tmp_path):
    path = write_markdown(tmp_path / "metrics.md", _metrics(), title="LogiBench synth:all gt")
    text = path.read_text()
    assert text.startswith("# LogiBench synth:all gt\n\n| Category |")
    assert text.endswith("|\n")
