import json
import logging

import pytest
from pydantic import ValidationError

from logicode.bench.records import (
    ImageRecord,
    RecordsError,
    append_record,
    build_record,
    done_ids,
    read_records,
    write_records,
)


def passed(rule):
    return {"rule": rule, "status": "pass", "violations": [], "error": None}


def failed(rule, evidence=()):
    return {
        "rule": rule,
        "status": "fail",
        "violations": [{"message": "broken", "evidence": list(evidence)}],
        "error": None,
    }


def errored(rule):
    return {
        "rule": rule,
        "status": "error",
        "violations": [],
        "error": {"kind": "exception", "message": "ZeroDivisionError"},
    }


def make(i, category="juice", truth="good", results=None):
    return build_record(
        f"img{i:03d}",
        category,
        truth,
        results if results is not None else [passed("r1")],
        timings={"rules": 0.01 * i},
    )


def test_build_record_computes_confidence_score_verdict():
    r = build_record(
        "000",
        "juice",
        "logical_anomaly",
        {"count": failed("count", ["c1", "c2"]), "fill": errored("fill")},
        defects=["extra_bottle"],
        guards={"count": ["extra_bottle", "missing_bottle"]},
        component_scores={"c1": 0.7, "c2": 0.9},
        timings={"perception": 1.5},
        deviation=3.0,
    )
    assert r.verdict == "anomaly"
    # count: min(0.7, 0.9) = 0.7 (rules-only score 0.7 + 0.5 for fill in error)
    assert r.rules[0].confidence == pytest.approx(0.7)
    assert r.rules[1].confidence is None
    # image score: a rule failed (1) + x / (1 + x), x = 1.2 + 3
    assert r.score == pytest.approx(1 + 4.2 / 5.2) and r.deviation == 3.0
    assert r.rules[0].guards == ["extra_bottle", "missing_bottle"] and r.rules[1].guards == []
    assert r.key == ("juice", "000")


def test_image_error_record():
    r = build_record(
        "x", "juice", "good", [], error="perception failed: no bottle found", deviation=1.0
    )
    assert r.verdict == "error" and r.score is None and r.deviation is None


def test_record_rejects_inconsistent_verdict_and_results():
    good = make(1)
    data = good.model_dump(mode="json")
    data["verdict"] = "anomaly"
    with pytest.raises(ValidationError, match="disagrees with the rules"):
        ImageRecord.model_validate(data)
    data = good.model_dump(mode="json")
    data["rules"][0]["status"] = "fail"  # fail with no violation
    with pytest.raises(ValidationError, match="disagrees with violations"):
        ImageRecord.model_validate(data)
    data = good.model_dump(mode="json")
    data["score"] = None
    with pytest.raises(ValidationError, match="score is required"):
        ImageRecord.model_validate(data)
    data = good.model_dump(mode="json")
    data["timings"] = {"rules": -1.0}
    with pytest.raises(ValidationError, match="stage 'rules'"):
        ImageRecord.model_validate(data)


def test_append_read_roundtrip_and_done_ids(tmp_path):
    path = tmp_path / "run" / "records.jsonl"
    assert read_records(path) == [] and done_ids(path) == set()
    recs = [
        make(1),
        make(2, category="screw"),
        make(3, truth="logical_anomaly", results=[failed("r1")]),
    ]
    for r in recs:
        append_record(path, r)
    assert read_records(path) == recs
    assert done_ids(path) == {("juice", "img001"), ("screw", "img002"), ("juice", "img003")}
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["image_id"] for line in lines)


def test_truncated_last_line_is_ignored_then_repaired(tmp_path, caplog):
    path = tmp_path / "records.jsonl"
    append_record(path, make(1))
    append_record(path, make(2))
    partial = make(3).model_dump_json().encode()
    with path.open("ab") as f:  # a crash half-way through writing record 3
        f.write(partial[: len(partial) // 2])
    with caplog.at_level(logging.WARNING, logger="logicode.bench.records"):
        assert done_ids(path) == {("juice", "img001"), ("juice", "img002")}
    assert "truncated last line" in caplog.text
    # resuming: record 3 is run again and appended; the broken tail is cut off first
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="logicode.bench.records"):
        append_record(path, make(3))
    assert "cutting off a truncated last line" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="logicode.bench.records"):
        assert [r.image_id for r in read_records(path)] == ["img001", "img002", "img003"]
    assert caplog.text == ""
    assert path.read_bytes().endswith(b"\n") and len(path.read_text().splitlines()) == 3


def test_valid_last_line_without_newline_is_kept(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text(make(1).model_dump_json())  # e.g. edited by hand, no final newline
    assert done_ids(path) == {("juice", "img001")}
    append_record(path, make(2))
    assert [r.image_id for r in read_records(path)] == ["img001", "img002"]


def test_corrupt_middle_line_raises(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text(make(1).model_dump_json() + "\n{not json\n" + make(2).model_dump_json() + "\n")
    with pytest.raises(RecordsError, match="line 2 is not a valid bench record"):
        read_records(path)


def test_duplicate_image_keeps_last(tmp_path, caplog):
    path = tmp_path / "records.jsonl"
    append_record(path, make(1))
    append_record(path, make(2))
    again = make(1, truth="logical_anomaly", results=[failed("r1")])
    append_record(path, again)
    with caplog.at_level(logging.WARNING, logger="logicode.bench.records"):
        recs = read_records(path)
    assert [r.image_id for r in recs] == ["img002", "img001"] and recs[1] == again
    assert "appears again on line 3" in caplog.text


def test_write_records_is_atomic_and_readable(tmp_path):
    path = tmp_path / "records.jsonl"
    recs = [make(i) for i in range(4)]
    write_records(path, recs)
    assert read_records(path) == recs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.jsonl"]
