"""The deterministic template explainer."""

from __future__ import annotations

import pytest
from explain_helpers import SPEC, outcomes, request, scene
from pydantic import ValidationError

from logicode.bench.records import RuleOutcome
from logicode.explain import ExplainRequest, TemplateExplainer, explain, get_explainer


def test_good_image_states_all_rules_passed():
    exp = explain(TemplateExplainer(), request())
    assert exp.verdict == "good"
    assert exp.agrees is True
    assert exp.cited_rules == []
    assert f"All {len(SPEC.rules)} rules passed" in exp.reasoning
    assert exp.backend == "template" and exp.model == {} and exp.prompt_sha256 == ""
    assert exp.error is None and exp.seconds >= 0


def test_anomaly_cites_exactly_the_violated_rules_with_their_messages():
    failed = {
        "icon_centred": ["icon centre 31 px from the label centre, allowed 24"],
        "top_label_present": ["0 top labels, expected 1"],
    }
    exp = get_explainer("template").explain(request(failed))
    assert exp.verdict == "anomaly" and exp.agrees is True
    # spec order, exactly the failed ones
    assert exp.cited_rules == ["top_label_present", "icon_centred"]
    assert "2 of 14 rules are violated" in exp.reasoning
    assert "0 top labels, expected 1" in exp.reasoning
    assert "31 px from the label centre" in exp.reasoning
    assert SPEC.rule("top_label_present").text.rstrip(".") in exp.reasoning
    assert "one_bottle" not in exp.reasoning


def test_errored_rules_are_mentioned_but_not_cited():
    outs = outcomes({"fill_level": ["liquid top at 31% of the bottle height"]})
    outs[0] = RuleOutcome(
        rule="one_bottle", status="error", error={"kind": "timeout", "message": "too slow"}
    )
    req = ExplainRequest(spec=SPEC, scene=scene(), outcomes=outs)
    exp = TemplateExplainer().explain(req)
    assert exp.cited_rules == ["fill_level"]
    assert "could not be evaluated: one_bottle" in exp.reasoning


def test_error_verdict_is_refused_and_long_reasoning_is_cut():
    outs = outcomes()
    outs[0] = RuleOutcome(rule="one_bottle", status="error", error={"kind": "x", "message": "y"})
    with pytest.raises(ValidationError, match="only good or anomaly"):
        ExplainRequest(spec=SPEC, scene=scene(), outcomes=outs)
    many = {r.id: ["x" * 300] for r in SPEC.rules}
    exp = TemplateExplainer().explain(request(many))
    assert len(exp.reasoning) <= 2000 and exp.reasoning.endswith("...")
    assert len(exp.cited_rules) == len(SPEC.rules)


def test_given_verdict_wins_over_the_derived_one():
    req = ExplainRequest(spec=SPEC, scene=scene(), outcomes=outcomes(), rules_verdict="anomaly")
    assert req.verdict == "anomaly"
    assert request().verdict == "good"
