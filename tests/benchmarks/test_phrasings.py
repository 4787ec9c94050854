"""The benchmark's other wordings of the rules cover every rule of the shipped specs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from logicode.spec import list_categories, load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "name", ["rephrased_rules.yaml", "rephrased_rules_2.yaml", "rephrased_rules_3.yaml"]
)
def test_every_rule_is_reworded_with_its_own_numbers(name: str) -> None:
    phrasings = yaml.safe_load((ROOT / "benchmarks" / name).read_text(encoding="utf-8"))
    assert set(phrasings) == set(list_categories())
    for category, rules in phrasings.items():
        spec = load_spec(category)
        assert set(rules) == {r.id for r in spec.rules}, category
        for rule in spec.rules:
            # Same meaning, same numbers: every number the spec states is stated again (a
            # percentage may come back as its fraction: 16% as 0.16).
            def values(text: str) -> set[float]:
                return {
                    round(float(x) / (100 if pct else 1), 6)
                    for x, pct in re.findall(r"(\d+(?:\.\d+)?)(%?)", text)
                }

            said = values(rules[rule.id])
            assert values(rule.text) <= said, (category, rule.id)
