"""The code-generation benchmark's per-rule rows file: appended as rules finish, resumable."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("codegen_bench", ROOT / "benchmarks/codegen.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def row(rule: str, text: str = "t") -> dict:
    return {"category": "tray", "rule": rule, "text": text, "success": True}


def test_rows_are_reused_only_with_the_same_settings(tmp_path):
    bench = load_benchmark()
    path = tmp_path / "out.json.m.rows.jsonl"
    settings = {"candidates": 2, "max_rounds": 3}
    path.write_text(json.dumps({"settings": settings}) + "\n", encoding="utf-8")
    bench.append_row(path, row("a"))
    bench.append_row(path, row("b", "other wording"))
    with path.open("a", encoding="utf-8") as f:
        f.write('{"category": "tray", "rule": "c", "te')  # torn by an interruption
    done = bench.finished_rows(path, settings)
    assert set(done) == {("tray", "a", "t"), ("tray", "b", "other wording")}
    assert bench.finished_rows(path, {"candidates": 1, "max_rounds": 3}) == {}
    assert bench.finished_rows(tmp_path / "missing.jsonl", settings) == {}
