"""The compiler's validate/repair logic with a scripted chat model (no LLM needed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableLambda
from test_counterexamples import SPEC, reference  # noqa: E402  (tests/codegen on sys.path)

import sandbox
from logicode.codegen.compiler import (
    CompileSettings,
    RuleCompiler,
    extract_code,
)
from logicode.codegen.pack import RulePack
from logicode.spec import RuleSpec

GOOD = """```python
def check(scene):
    nuts = scene.find("nut")
    if len(nuts) != 2:
        return [violation(f"{len(nuts)} nuts, expected 2", *nuts)]
    return []
```"""
FALSE_ALARM = GOOD.replace("!= 2", "!= 3")
VACUOUS = "```python\ndef check(scene):\n    return []\n```"
POLICY = "```python\nimport os\ndef check(scene):\n    return []\n```"
CRASHES_ON_MISSING = """```python
def check(scene):
    if scene.one("lid").width > 1000:
        return [violation("huge lid")]
    return [violation("x")] if scene.count("nut") != 2 else []
```"""


class ScriptedChat(BaseChatModel):
    """Answers from a script; structured calls answer from ``expectations``."""

    script: list[str]
    expectations: dict[str, Any] | None = None
    calls: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.calls.append(list(messages))
        text = self.script.pop(0) if self.script else "I cannot help."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def with_structured_output(self, schema, **kwargs):
        if self.expectations is None:
            raise NotImplementedError("no structured output")
        return RunnableLambda(lambda _msgs: self.expectations)


@pytest.fixture(scope="module")
def pool() -> Iterator[sandbox.SandboxPool]:
    with sandbox.SandboxPool(api_module="logicode.ruleapi", workers=1) as p:
        yield p


def compile_with(pool, script, expectations=None, **settings):
    chat = ScriptedChat(script=list(script), expectations=expectations, calls=[])
    comp = RuleCompiler(chat, SPEC, [reference()], pool, CompileSettings(**settings))
    return comp, comp.compile_rule(SPEC.rules[0]), chat


def test_extract_code_variants():
    assert extract_code(GOOD).startswith("def check(scene):")
    assert extract_code("def check(scene):\n    return []").endswith("return []\n")
    assert extract_code("```python\ndef check(scene):\n    return [") is not None  # cut off
    assert extract_code("no code here") is None


def test_right_code_is_accepted_at_once(pool):
    comp, out, chat = compile_with(pool, [GOOD], candidates=1)
    assert out.entry.status == "ok", out.entry.reason
    assert out.entry.rounds == 0 and out.entry.candidates == 1
    assert out.entry.validation["fired"] > 0 and out.entry.validation["reference_failures"] == 0
    assert "def check" in out.code
    # The system prompt carries the generated API reference and the category context.
    system = chat.calls[0][0].content
    assert "scene.find(" in system and '"nut": 2 per image' in system


def test_false_alarm_is_repaired_with_feedback(pool):
    comp, out, chat = compile_with(pool, [FALSE_ALARM, GOOD], candidates=1)
    assert out.entry.status == "ok"
    assert out.entry.rounds == 1
    feedback = chat.calls[1][-1].content
    assert "on normal image 1 it reported: 2 nuts, expected 2" in feedback


def test_policy_violation_and_exceptions_are_fed_back(pool):
    comp, out, chat = compile_with(pool, [POLICY, CRASHES_ON_MISSING, GOOD], candidates=1)
    assert out.entry.status == "ok" and out.entry.rounds == 2
    assert "imports are not allowed" in chat.calls[1][-1].content
    assert "after we remove the lid, it raised an error" in chat.calls[2][-1].content
    assert "hint: scene.one(...) returns None" in chat.calls[2][-1].content
    assert "hint:" not in chat.calls[1][-1].content


def test_a_repeated_failing_answer_is_called_out(pool):
    comp, out, chat = compile_with(pool, [FALSE_ALARM, FALSE_ALARM, GOOD], candidates=1)
    assert out.entry.status == "ok" and out.entry.rounds == 2
    assert "repeated code that already failed" not in chat.calls[1][-1].content
    # After a repeat the model starts afresh: the rule and the failures, not its own code.
    retry = chat.calls[2]
    assert len(retry) == 2 and not any(isinstance(m, AIMessage) for m in retry)
    assert "repeating them will not help" in retry[-1].content
    assert "exactly two nuts" in retry[-1].content.lower()
    assert "on normal image 1 it reported" in retry[-1].content
    assert "repeated code that already failed" in out.transcript[2]["feedback"]
    # The false alarm also shows what the normal scene really holds.
    assert "what normal image 1 really shows" in chat.calls[1][-1].content
    assert "nut: 2 found" in chat.calls[1][-1].content


def test_code_that_never_fires_is_never_emitted(pool):
    # (The count the rule states, read from its words alone, would be valid: off here.)
    comp, out, chat = compile_with(
        pool, [VACUOUS] * 6, max_rounds=2, stated_counts=False, word_checks=False
    )
    assert out.entry.status == "failed"
    assert out.code is None
    assert "never reports a violation" in out.entry.reason
    # With the rule's stated count ("exactly two nuts") the reason is more precise.
    comp, out, chat = compile_with(pool, [VACUOUS] * 6, max_rounds=2, word_checks=False)
    assert out.entry.status == "failed" and out.code is None
    assert "after we remove the nut, it reported nothing" in out.entry.reason


def test_garbage_answers_fail_with_a_reason(pool):
    comp, out, chat = compile_with(pool, ["Sorry, I can't."] * 6, max_rounds=1, word_checks=False)
    assert out.entry.status == "failed"
    assert "no ```python block" in out.entry.reason


def test_the_model_settles_disputes_between_candidates(pool):
    # Two valid candidates disagree on missing nuts; the model, asked only about the disputed
    # changes, says removing a nut breaks the rule: the candidate that fires on it wins.
    only_extra = GOOD.replace("!= 2", "> 2")
    comp0 = RuleCompiler(ScriptedChat(script=[], calls=[]), SPEC, [reference()], pool)
    a, b = comp0.evaluate(extract_code(only_extra)), comp0.evaluate(extract_code(GOOD))
    disputed = sorted(k for k in a.fired if a.fired[k] != b.fired[k])
    assert "remove:nut" in disputed
    exp = {"breaks": [disputed.index("remove:nut") + 1], "keeps": []}
    comp, out, chat = compile_with(pool, [only_extra, GOOD], expectations=exp, stated_counts=False)
    assert out.entry.status == "ok"
    assert "!= 2" in out.code
    check = out.entry.validation["cross_check"]
    assert check["disputed"] == len(disputed) and check["model_answers"] == 1


def test_agreeing_candidates_need_no_judge(pool):
    rival = GOOD.replace("nuts", "found")  # different code, same behaviour
    comp, out, chat = compile_with(pool, [GOOD, rival], expectations={"breaks": [1], "keeps": []})
    assert out.entry.status == "ok"
    assert out.entry.candidates == 2
    assert out.entry.validation["cross_check"] == {"candidates": 2, "disputed": 0}


def test_without_a_judge_the_majority_decides(pool):
    only_extra = GOOD.replace("!= 2", "> 2")
    rival = GOOD.replace("nuts", "found")
    comp, out, chat = compile_with(
        pool, [only_extra, GOOD, rival], candidates=3, expectations=None, stated_counts=False
    )
    assert out.entry.status == "ok" and "!= 2" in out.code


def test_compile_writes_a_pack_with_provenance(pool, tmp_path):
    chat = ScriptedChat(script=[GOOD, GOOD], calls=[])
    comp = RuleCompiler(chat, SPEC, [reference()], pool, model_info={"name": "scripted"})
    pack = comp.compile(spec_sha256="f" * 64)
    pack.save(tmp_path / "pack")
    again = RulePack.load(tmp_path / "pack")
    assert list(again.ok_rules) == ["two_nuts"]
    m = again.manifest
    assert m.model == {"name": "scripted"} and m.spec_sha256 == "f" * 64
    assert set(m.prompts) >= {"codegen/system.md", "codegen/rule.md", "codegen/repair.md"}
    assert len(m.api_sha256) == 64


def test_presence_answers_hold_every_candidate(pool):
    # Code that never counts the nuts passes validation (it fires on an added nut); asked once
    # per rule, the model says removing a nut breaks the rule, so that code is sent back.
    only_extra = GOOD.replace("!= 2", "> 2")
    comp, out, chat = compile_with(
        pool,
        [only_extra, GOOD],
        expectations={"breaks": [1], "keeps": []},
        presence=True,
        candidates=1,
        stated_counts=False,
    )
    assert out.entry.status == "ok" and "!= 2" in out.code and out.entry.rounds == 1
    assert "after we remove the nut, it reported nothing, but the rule is broken" in (
        chat.calls[1][-1].content
    )
    assert [t["step"] for t in out.transcript][:2] == ["candidate 1", "presence"]


def test_presence_keeps_reject_code_that_reports_the_missing_part(pool):
    comp, out, chat = compile_with(
        pool,
        [GOOD] * 3,
        expectations={"breaks": [], "keeps": [1]},
        presence=True,
        candidates=1,
        max_rounds=1,
    )
    assert out.entry.status == "failed" and out.code is None
    assert "after we remove the nut, it reported: 1 nuts, expected 2; but the rule still holds" in (
        out.entry.reason
    )


def test_presence_is_off_by_default_and_without_answers(pool):
    only_extra = GOOD.replace("!= 2", "> 2")
    for kwargs in ({}, {"presence": True}):  # the second: the model gives no answer
        comp, out, chat = compile_with(
            pool, [only_extra], candidates=1, stated_counts=False, **kwargs
        )
        assert out.entry.status == "ok" and "> 2" in out.code


def test_a_second_candidate_is_not_repaired_once_one_is_valid(pool):
    comp, out, chat = compile_with(pool, [GOOD, FALSE_ALARM, GOOD], candidates=2)
    assert out.entry.status == "ok" and out.entry.rounds == 0
    assert [t["step"] for t in out.transcript] == ["candidate 1", "candidate 2"]
    assert len(chat.calls) == 2


def test_a_fresh_candidate_follows_a_chain_of_failed_repairs(pool):
    broken = [FALSE_ALARM, POLICY, CRASHES_ON_MISSING, VACUOUS]
    comp, out, chat = compile_with(pool, [*broken, GOOD], candidates=2, max_rounds=3)
    steps = [t["step"] for t in out.transcript]
    assert steps == ["candidate 1", "repair 1", "repair 2", "candidate 2", "repair 3"]
    assert out.entry.status == "ok" and out.entry.rounds == 3
    # The fresh candidate starts from the rule alone; its repair shows its own code.
    assert len(chat.calls[3]) == 2
    assert "return []" in chat.calls[4][2].content
    assert "after we remove the nut, it reported nothing" in chat.calls[4][-1].content


def test_chain_rounds_bound_the_repairs_of_one_candidate(pool):
    script = [FALSE_ALARM, POLICY, GOOD]
    comp, out, chat = compile_with(pool, script, candidates=1, max_rounds=3, chain_rounds=1)
    assert [t["step"] for t in out.transcript] == ["candidate 1", "repair 1", "candidate 2"]
    assert out.entry.status == "ok"


ONLY_EXTRA = GOOD.replace("len(nuts) != 2", "len(nuts) > 2")


def test_counts_stated_by_the_rule_hold_every_candidate(pool):
    # "There are exactly two nuts": code that ignores a missing nut is rejected and repaired.
    comp, out, chat = compile_with(pool, [ONLY_EXTRA, GOOD], candidates=1)
    assert out.entry.status == "ok" and out.entry.rounds == 1 and "!= 2" in out.code
    assert "after we remove the nut, it reported nothing" in chat.calls[1][-1].content
    assert 'len(scene.find("nut")) != 2' in chat.calls[1][-1].content
    comp, out, chat = compile_with(pool, [ONLY_EXTRA], candidates=1, stated_counts=False)
    assert out.entry.status == "ok" and out.entry.rounds == 0


def test_the_same_error_everywhere_is_shown_once(pool):
    raises = "```python\ndef check(scene):\n    return [scene.one('lid').wobble]\n```"
    chat = ScriptedChat(script=[raises, GOOD], calls=[])
    comp = RuleCompiler(chat, SPEC, [reference(), reference()], pool, CompileSettings(candidates=1))
    out = comp.compile_rule(SPEC.rules[0])
    assert out.entry.status == "ok"
    feedback = chat.calls[1][-1].content
    assert "on normal images 1 and 2 it raised an error: AttributeError" in feedback
    assert feedback.count("Component has no attribute 'wobble'") == 1  # not once per scene
    assert "after we remove the lid" in feedback  # a different error is still shown


def test_a_relation_the_wrong_way_round_is_pointed_out(pool):
    swapped = """```python
def check(scene):
    lid = scene.one("lid")
    if lid is None:
        return []
    return [violation("nut above lid", n) for n in scene.find("nut") if not lid.is_below(n)]
```"""
    comp, out, chat = compile_with(pool, [swapped, GOOD], candidates=1)
    assert "lid.is_below(n) is False and n.is_below(lid) is True" in chat.calls[1][-1].content


def test_code_that_ignores_the_rules_numbers_or_divides_by_a_count_is_not_valid(pool):
    comp = RuleCompiler(ScriptedChat(script=[], calls=[]), SPEC, [reference()], pool)
    narrow = RuleSpec(id="narrow", text="There are 2 nuts, each under 40% of the tray's width.")
    b = comp.evaluate(extract_code(GOOD), narrow)
    assert not b.valid
    assert b.expected == ["the rule states 40% (write 0.4), but the code never uses it"]
    assert comp.evaluate(extract_code(GOOD), SPEC.rules[0]).valid  # "exactly two": no digits
    # Removing every nut (the reference has two) is a counterexample: a mean over the nuts
    # fails there, whatever the rule expects.
    mean = """```python
def check(scene):
    nuts = scene.find("nut")
    mean = sum(n.width for n in nuts) / len(nuts)
    return [violation("wide", n) for n in nuts if n.width > 2 * mean]
```"""
    b = comp.evaluate(extract_code(mean), SPEC.rules[0])
    assert list(b.errors) == ["remove_all:nut"]
    assert "ZeroDivisionError" in b.errors["remove_all:nut"]
