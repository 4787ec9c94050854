"""Replaying recorded model answers: only the model's own answers, given back in order."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from langchain_core.messages import HumanMessage

ROOT = Path(__file__).resolve().parents[2]


def load_replay():
    spec = importlib.util.spec_from_file_location(
        "codegen_replay", ROOT / "benchmarks/codegen_replay.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_model_answers_come_back_in_order_without_the_compilers_fixes():
    replay = load_replay()
    row = {
        "transcript": [
            {"step": "candidate 1", "answer": "a"},
            {"step": "autofix 1", "answer": "fixed by the compiler"},
            {"step": "reversal 2: reversed x", "answer": "reversed by the compiler"},
            {"step": "repair 1", "answer": "b"},
            {"step": "presence", "answer": "{}"},
            {"step": "candidate 2", "answer": "c"},
        ]
    }
    answers = replay.model_answers(row)
    assert answers == ["a", "b", "c"]
    chat = replay.RecordedChat(answers=answers)
    said = [chat.invoke([HumanMessage("q")]).content for _ in range(4)]
    assert said == ["a", "b", "c", ""]  # then nothing: no code, so the rule fails
