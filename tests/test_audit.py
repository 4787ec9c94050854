"""Audit log: RFC 8785 canonical JSON, the hash chain, tamper detection, anchors, resume."""

from __future__ import annotations

import hashlib
import json
import math
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from logicode.audit import (
    GENESIS_PREV,
    HEADER_KIND,
    REPAIR_KIND,
    AuditError,
    AuditLog,
    canonical_json,
    check_json,
    record_hash,
    verify_log,
)

T0 = datetime(2025, 1, 31, 12, 0, 0, tzinfo=timezone.utc)


def ticking_clock(start: datetime = T0):
    state = {"t": start}

    def clock() -> datetime:
        state["t"] += timedelta(seconds=1)
        return state["t"]

    return clock


def make_log(path: Path, n: int = 5, run_id: str = "run-1") -> AuditLog:
    log = AuditLog(path, purpose="unit test", run_id=run_id, clock=ticking_clock())
    for i in range(n):
        log.append("test.event", {"i": i, "score": i / 3, "labels": ["a", "b"][: i % 3]})
    return log


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def only_problem(path: Path, **kw) -> str:
    res = verify_log(path, **kw)
    assert not res.ok
    assert len(res.problems) == 1, res.problems
    return res.problems[0]


# --------------------------------------------------------------------------- RFC 8785


def test_canonical_json_rfc8785_primitive_example() -> None:
    # RFC 8785 section 3.2.2 input (written as Python values) and its published output.
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonical_json(value) == expected


def test_canonical_json_sorts_keys_by_utf16_code_units() -> None:
    # RFC 8785 section 3.2.3: the emoji (surrogates D83D DE00) sorts before U+FB33.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonical_json(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(
    ("ieee_hex", "text"),
    [
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ],
)
def test_canonical_json_numbers_follow_ecmascript(ieee_hex: str, text: str) -> None:
    # RFC 8785 appendix B number samples.
    (value,) = struct.unpack(">d", bytes.fromhex(ieee_hex))
    assert canonical_json(value) == text.encode()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 2**60])
def test_canonical_json_rejects_what_jcs_cannot_hold(bad: float) -> None:
    with pytest.raises(AuditError, match="canonical JSON"):
        canonical_json({"x": [bad]})


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"a": {"b": [1, math.nan]}}, r"data\.a\.b\[1\] is nan"),
        ({"a": math.inf}, r"data\.a is inf"),
        ({"big": 2**53}, r"data\.big = 9007199254740992"),
        ({"p": Path("x")}, r"data\.p is a PosixPath|data\.p is a WindowsPath"),
        ({"d": {1: 2}}, r"non-string key 1"),
        ({"s": "\ud800"}, r"data\.s holds a lone surrogate"),
    ],
)
def test_check_json_names_the_bad_field(value: dict, needle: str) -> None:
    with pytest.raises(AuditError, match=needle):
        check_json(value)


def test_check_json_accepts_plain_json() -> None:
    check_json({"a": [1, 2.5, -(2**53 - 1), None, True, "é", {"b": ()}]})


# --------------------------------------------------------------------------- round trip


def test_round_trip_chain_and_header(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "audit.jsonl"
    log = AuditLog(path, purpose="unit test", run_id="run-1", clock=ticking_clock())
    returned = [log.append("test.event", {"i": i, "f": 1.0, "t": (1, 2)}) for i in range(4)]
    records = [json.loads(line) for line in lines_of(path)]
    assert records[1:] == returned
    # tuples become lists and 1.0 becomes 1, exactly as the line reads back
    assert returned[0]["data"] == {"i": 0, "f": 1, "t": [1, 2]}

    header = records[0]
    assert header["kind"] == HEADER_KIND and header["seq"] == 0
    assert header["prev"] == GENESIS_PREV
    assert header["data"]["format"] == "logicode.audit" and header["data"]["version"] == 1
    assert header["data"]["purpose"] == "unit test" and header["data"]["run_id"] == "run-1"
    assert header["time"] == "2025-01-31T12:00:01.000000Z"

    for i, rec in enumerate(records):
        assert rec["seq"] == i
        assert set(rec) == {"seq", "time", "kind", "data", "prev", "hash"}
        body = {k: v for k, v in rec.items() if k != "hash"}
        assert rec["hash"] == hashlib.sha256(canonical_json(body)).hexdigest()
        assert rec["hash"] == record_hash(rec)
        if i:
            assert rec["prev"] == records[i - 1]["hash"]
    # each line is exactly the canonical JSON of its record
    assert all(line == canonical_json(json.loads(line)) + b"\n" for line in lines_of(path))

    res = verify_log(path)
    assert res.ok and res.problems == [] and res.warnings == []
    assert res.count == 5 == log.count
    assert res.head == records[-1]["hash"] == log.head()
    assert res.run_id == "run-1" == log.run_id
    assert log.purpose == "unit test"
    assert verify_log(path, expect_head=log.head(), expect_count=5).ok
    assert verify_log(path, expect_head=log.head().upper()).ok


def test_new_log_gets_a_random_run_id(tmp_path: Path) -> None:
    a = AuditLog(tmp_path / "a.jsonl")
    b = AuditLog(tmp_path / "b.jsonl")
    assert a.run_id != b.run_id and len(a.run_id) == 32
    assert a.count == 1 and verify_log(tmp_path / "a.jsonl").head == a.head()


def test_reopen_and_append_by_another_instance(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first = make_log(path, n=3)
    head_before = first.head()
    del first
    again = AuditLog(path, run_id="run-1")
    assert again.count == 4 and again.head() == head_before
    rec = again.append("test.resumed", {"ok": True})
    assert rec["seq"] == 4 and rec["prev"] == head_before
    assert len(lines_of(path)) == 5
    res = verify_log(path, expect_count=5, expect_head=again.head())
    assert res.ok, res.problems


def test_reopen_with_another_run_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path, n=1, run_id="run-1")
    with pytest.raises(AuditError, match="belongs to run 'run-1', not 'run-2'"):
        AuditLog(path, run_id="run-2")


def test_two_open_instances_interleave_without_forking(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    a = AuditLog(path, run_id="r")
    b = AuditLog(path)
    a.append("x", {"by": "a"})
    b.append("x", {"by": "b"})
    a.append("x", {"by": "a"})
    res = verify_log(path)
    assert res.ok, res.problems
    assert res.count == 4 and res.head == a.head() != b.head()


def test_records_removed_while_open_are_noticed(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = make_log(path, n=3)
    write_lines(path, lines_of(path)[:-1])
    with pytest.raises(AuditError, match="lost or changed records since it was opened"):
        log.append("x", {})


def test_empty_file_becomes_a_new_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.touch()
    assert only_problem(path) == "line 1: empty log (no header record)"
    log = AuditLog(path, run_id="r")
    assert log.count == 1 and verify_log(path).ok


# --------------------------------------------------------------------------- append checks


@pytest.mark.parametrize(
    ("kind", "data", "needle"),
    [
        ("Bad Kind", {}, "must match"),
        ("", {}, "must match"),
        ("audit.header", {}, "reserved"),
        ("x", [1, 2], "must be a JSON object"),
        ("x", {"v": math.nan}, r"data\.v is nan"),
        ("x", {"v": object()}, r"data\.v is a object"),
    ],
)
def test_append_rejects_bad_records_and_writes_nothing(
    tmp_path: Path, kind: str, data: object, needle: str
) -> None:
    path = tmp_path / "audit.jsonl"
    log = make_log(path, n=1)
    before = path.read_bytes()
    with pytest.raises(AuditError, match=needle):
        log.append(kind, data)  # type: ignore[arg-type]
    assert path.read_bytes() == before
    assert log.append("x", {})["seq"] == 2


def test_naive_clock_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="timezone-aware"):
        AuditLog(tmp_path / "a.jsonl", clock=lambda: datetime(2025, 1, 1))


def test_folder_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="no such audit log"):
        verify_log(tmp_path / "nope.jsonl")
    with pytest.raises(AuditError, match="is a folder"):
        verify_log(tmp_path)
    with pytest.raises(AuditError, match="is a folder"):
        AuditLog(tmp_path)


# --------------------------------------------------------------------------- tampering


def test_edited_value_is_a_hash_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    assert b'"i":2' in lines[3]
    lines[3] = lines[3].replace(b'"i":2', b'"i":7')
    write_lines(path, lines)
    assert only_problem(path).startswith("line 4 (seq 3): hash mismatch")


def test_edited_and_rehashed_record_breaks_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    rec = json.loads(lines[3])
    rec["data"]["i"] = 7
    rec["hash"] = record_hash(rec)
    lines[3] = canonical_json(rec) + b"\n"
    write_lines(path, lines)
    problem = only_problem(path)
    assert problem.startswith("line 5 (seq 4): prev does not match line 4")


def test_whitespace_and_key_order_are_not_tampering(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = make_log(path)
    lines = lines_of(path)
    rec = json.loads(lines[2])
    reordered = dict(reversed(list(rec.items())))
    lines[2] = json.dumps(reordered, indent=None, separators=(", ", ": ")).encode() + b"\n"
    write_lines(path, lines)
    res = verify_log(path, expect_head=log.head())
    assert res.ok, res.problems
    assert res.warnings == ["line 3: not in canonical form (re-serialised); its content verifies"]


def test_number_spelling_is_content_not_tampering(tmp_path: Path) -> None:
    # 1.0e0 and 1 are the same JSON number; 2 is not.
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append("x", {"v": 1})
    lines = lines_of(path)
    write_lines(path, [lines[0], lines[1].replace(b'"v":1', b'"v":1.0e0')])
    assert verify_log(path).ok
    write_lines(path, [lines[0], lines[1].replace(b'"v":1', b'"v":2')])
    assert "hash mismatch" in only_problem(path)


def test_deleted_middle_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    write_lines(path, lines[:3] + lines[4:])
    assert only_problem(path) == (
        "line 4 (seq 4): seq jumps from 2 to 4: record 3 removed; "
        "prev matches no record in the file"
    )


def test_deleted_header(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    write_lines(path, lines_of(path)[1:])
    problem = only_problem(path)
    assert problem.startswith("line 1 (seq 1): the first record is seq 1")
    assert "not the log header: record 0 removed" in problem
    assert verify_log(path).run_id is None


def test_deleted_first_records(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    write_lines(path, lines_of(path)[3:])
    assert "records 0..2 removed" in only_problem(path)


def test_swapped_records(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    lines[3], lines[4] = lines[4], lines[3]
    write_lines(path, lines)
    res = verify_log(path)
    assert not res.ok
    assert [p.split(":")[0] for p in res.problems] == [
        "line 4 (seq 4)",
        "line 5 (seq 3)",
        "line 6 (seq 5)",
    ]
    assert all("out of order" in p for p in res.problems)
    assert "prev is the hash of line 5 (seq 3), not of line 3" in res.problems[0]


def test_duplicated_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    write_lines(path, lines[:3] + [lines[2]] + lines[3:])
    assert only_problem(path) == "line 4 (seq 2): duplicate of line 3 (seq 2)"


def test_record_replayed_later(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    write_lines(path, [*lines, lines[2]])
    assert only_problem(path) == "line 7 (seq 2): duplicate of line 3 (seq 2)"


def test_inserted_header_and_foreign_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path, n=2)
    other = tmp_path / "other.jsonl"
    make_log(other, n=2, run_id="run-x")
    lines = lines_of(path)
    write_lines(path, [*lines, lines_of(other)[0]])
    problem = only_problem(path)
    assert problem.startswith("line 4 (seq 0): a second log header")


def test_truncated_tail_needs_an_anchor(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = make_log(path)
    head, count = log.head(), log.count
    lines = lines_of(path)
    write_lines(path, lines[:-2])
    assert verify_log(path).ok  # documented limit: the shorter chain is valid
    assert only_problem(path, expect_count=count) == (
        "end of log: 4 records, expected 6 (records were removed from the end)"
    )
    problem = only_problem(path, expect_head=head)
    assert problem.startswith("end of log: the expected head")
    assert "is not in the log" in problem


def test_anchor_older_than_the_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = make_log(path, n=2)
    old_head = log.head()
    log.append("x", {})
    log.append("x", {})
    assert only_problem(path, expect_head=old_head) == (
        "end of log: the expected head is line 3 (seq 2), but 2 more line(s) follow it"
    )


def test_bad_anchor_arguments(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path, n=1)
    with pytest.raises(AuditError, match="not a SHA-256"):
        verify_log(path, expect_head="abc")
    with pytest.raises(AuditError, match="negative"):
        verify_log(path, expect_count=-1)


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        (b"garbage\n", "line 4: not valid JSON"),
        (b"\n", "line 4: empty line"),
        (b'{"a":1,"a":2}\n', "duplicate key 'a'"),
        (b"[1, 2]\n", "a JSON list, not a record object"),
        (b'{"seq":3}\n', "missing time, kind, data, prev, hash"),
    ],
)
def test_unreadable_line_is_one_problem(tmp_path: Path, line: bytes, needle: str) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    write_lines(path, lines[:3] + [line] + lines[3:])
    problem = only_problem(path)
    assert problem.startswith("line 4") and needle in problem


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("extra", 1, "unexpected extra"),
        ("seq", -1, "seq -1 is not a non-negative integer"),
        ("seq", True, "seq True is not"),
        ("prev", "ABC", "prev is not 64 lowercase hex"),
        ("time", "2025-01-31 12:00:00", "is not ISO 8601 UTC"),
        ("time", "2025-02-30T12:00:00Z", "is not a valid date"),
        ("data", [1], "data is not an object"),
        ("kind", "", "kind is not a non-empty string"),
    ],
)
def test_malformed_record_fields(tmp_path: Path, field: str, value: object, needle: str) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    rec = json.loads(lines[2])
    rec[field] = value
    lines[2] = json.dumps(rec).encode() + b"\n"
    write_lines(path, lines)
    problems = verify_log(path).problems
    assert problems[0].startswith("line 3: ") and needle in problems[0], problems


def test_nan_literal_in_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path, n=1)
    lines = lines_of(path)
    lines[1] = lines[1].replace(b'"i":0', b'"i":NaN')
    write_lines(path, lines)
    assert "not valid JSON" in only_problem(path)


def test_newer_header_version(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path, n=1)
    lines = lines_of(path)
    rec = json.loads(lines[0])
    rec["data"]["version"] = 2
    rec["hash"] = record_hash(rec)
    lines[0] = canonical_json(rec) + b"\n"
    rec1 = json.loads(lines[1])
    rec1["prev"] = rec["hash"]
    rec1["hash"] = record_hash(rec1)
    lines[1] = canonical_json(rec1) + b"\n"
    write_lines(path, lines)
    assert "(written by a newer logicode)" in only_problem(path)


# --------------------------------------------------------------------------- crashes


def test_torn_last_line_is_reported_and_appends_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = make_log(path)
    lines = lines_of(path)
    torn = lines[-1][:37]
    write_lines(path, [*lines[:-1], torn])
    res = verify_log(path)
    assert res.problems == [
        "line 6: incomplete last line (37 bytes, no newline, not valid JSON): a write was "
        "interrupted; appending is refused until it is repaired "
        "(AuditLog(..., repair_tail=True))"
    ]
    assert res.count == 5 and res.head == json.loads(lines[-2])["hash"]
    with pytest.raises(AuditError, match="refusing to append to a corrupt audit log"):
        AuditLog(path)
    with pytest.raises(AuditError, match="refusing to append"):
        log.append("x", {})  # the open instance also sees the file changed
    assert path.read_bytes().endswith(torn)  # nothing written


def test_repair_tail_cuts_and_records_the_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    torn = lines[-1][:37]
    write_lines(path, [*lines[:-1], torn])
    log = AuditLog(path, repair_tail=True)
    records = [json.loads(x) for x in lines_of(path)]
    repair = records[-1]
    assert repair["kind"] == REPAIR_KIND and repair["seq"] == 5
    assert repair["data"]["bytes"] == 37 and repair["data"]["line"] == 6
    assert repair["data"]["sha256"] == hashlib.sha256(torn).hexdigest()
    log.append("test.resumed", {})
    res = verify_log(path, expect_count=7, expect_head=log.head())
    assert res.ok, res.problems


def test_repair_tail_refuses_other_corruption(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = lines_of(path)
    lines[2] = lines[2].replace(b'"i":1', b'"i":9')
    write_lines(path, [*lines[:-1], lines[-1][:20]])
    with pytest.raises(AuditError, match=r"line 3 \(seq 2\): hash mismatch.*\(and 1 more\)"):
        AuditLog(path, repair_tail=True)


def test_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path, n=2)
    path.write_bytes(path.read_bytes()[:-1])
    assert only_problem(path) == "line 3: no newline at the end of the file (an interrupted write?)"
    with pytest.raises(AuditError, match="refusing"):
        AuditLog(path)
    log = AuditLog(path, repair_tail=True)
    assert json.loads(lines_of(path)[-1])["data"]["reason"].startswith("missing newline")
    assert verify_log(path, expect_count=4, expect_head=log.head()).ok


def test_torn_header_starts_afresh_with_repair(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"data":{"format":"logi')
    log = AuditLog(path, run_id="r", repair_tail=True)
    records = [json.loads(x) for x in lines_of(path)]
    assert [r["kind"] for r in records] == [HEADER_KIND, REPAIR_KIND]
    assert log.count == 2 and verify_log(path).ok


def test_append_is_one_write_then_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import logicode.audit as audit

    log = make_log(tmp_path / "audit.jsonl", n=1)
    calls: list[str] = []
    real_write, real_fsync = audit.os.write, audit.os.fsync

    def write(fd: int, data: bytes) -> int:
        calls.append("write")
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(audit.os, "write", write)
    monkeypatch.setattr(audit.os, "fsync", fsync)
    log.append("x", {"payload": "y" * 10_000})
    assert calls == ["write", "fsync"]
