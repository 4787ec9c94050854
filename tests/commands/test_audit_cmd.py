"""``logicode audit verify``: output lines and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from logicode.audit import AuditLog
from logicode.commands.audit import app

runner = CliRunner()


def make_log(path: Path, n: int = 4) -> AuditLog:
    log = AuditLog(path, purpose="cli test", run_id="run-cli")
    for i in range(n):
        log.append("test.event", {"i": i, "note": "[bold]not markup[/bold]"})
    return log


def invoke(*args: str):
    return runner.invoke(app, ["verify", *args])


def test_ok_is_one_line_with_count_and_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = make_log(path)
    result = invoke(str(path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("OK ") and "5 records" in lines[0] and log.head() in lines[0]


def test_anchors(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = make_log(path)
    ok = invoke(str(path), "--expect-head", log.head(), "--expect-count", "5")
    assert ok.exit_code == 0, ok.output
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))
    bad = invoke(str(path), "--expect-head", log.head(), "--expect-count", "5")
    assert bad.exit_code == 1
    out = bad.stdout.strip().splitlines()
    assert out[0].startswith("FAILED ") and "2 problems" in out[0]
    assert out[1].strip().startswith("end of log: 4 records, expected 5")
    assert "expected head" in out[2]


def test_tampered_log_prints_summary_then_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"i":1', b'"i":5')
    del lines[3]
    path.write_bytes(b"".join(lines))
    result = invoke(str(path))
    assert result.exit_code == 1
    out = result.stdout.strip().splitlines()
    assert out[0].startswith("FAILED ") and "2 problems" in out[0]
    assert out[1].strip().startswith("line 3 (seq 2): hash mismatch")
    assert out[2].strip().startswith("line 4 (seq 4): seq jumps from 2 to 4: record 3 removed")
    assert len(out) == 3


def test_warnings_go_to_stderr_and_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = json.dumps(json.loads(lines[1]), indent=None).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    result = invoke(str(path))
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1
    assert "line 2: not in canonical form" in result.stderr


def test_json_output(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = make_log(path, n=1)
    result = invoke(str(path), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["count"] == 2 and doc["head"] == log.head()
    assert doc["run_id"] == "run-cli" and doc["problems"] == []
    path.write_bytes(path.read_bytes()[:-10])
    result = invoke(str(path), "--json")
    assert result.exit_code == 1
    assert "incomplete last line" in json.loads(result.stdout)["problems"][0]


def test_missing_file_is_one_error_line(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    assert result.stdout == ""
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "no such audit log" in err[0]


def test_bad_expect_head_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    make_log(path, n=1)
    result = invoke(str(path), "--expect-head", "xyz")
    assert result.exit_code == 1
    assert "not a SHA-256" in result.stderr


def test_registers_as_a_sub_app() -> None:
    root = typer.Typer()

    @root.callback()
    def main() -> None:
        """Root."""

    root.add_typer(app, name="audit")
    result = runner.invoke(root, ["audit", "--help"])
    assert result.exit_code == 0 and "verify" in result.stdout
