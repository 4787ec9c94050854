"""docs/rule-api.md is the generated API reference and must match the code."""

from __future__ import annotations

from pathlib import Path

from logicode.ruleapi import api_reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "rule-api.md"


def test_rule_api_doc_is_current():
    text = DOC.read_text(encoding="utf-8")
    body = text.split("-->", 1)[1].lstrip("\n")
    assert body == api_reference("markdown"), (
        "docs/rule-api.md is stale: regenerate it as its header says"
    )
