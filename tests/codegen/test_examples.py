"""Worked examples: parsed from the prompt file, the ones most like a rule picked for it."""

from __future__ import annotations

import pytest
from test_compiler import GOOD, compile_with, pool  # noqa: F401  (fixture)

from logicode.codegen.compiler import CompileSettings, RuleCompiler
from logicode.codegen.examples import parse_examples, rule_tokens, similar_examples
from logicode.prompts import load_template


def shipped():
    return parse_examples(load_template("codegen/examples.md").text)


def test_the_shipped_examples_parse():
    heading, examples = shipped()
    assert heading.startswith("## Worked examples")
    assert len(examples) >= 8
    assert all(e.code.startswith("def check(scene):") for e in examples)
    assert all("Rule:" not in e.code for e in examples)


def test_numbers_and_percentages_fold_to_one_token_each():
    assert rule_tokens("Between 16% and 24.5% of the 3 bottles") == [
        "between",
        "<pct>",
        "<pct>",
        "<n>",
        "bottles",
    ]


@pytest.mark.parametrize(
    ("rule", "expected_start"),
    [
        ("There are exactly four pens.", "There are exactly two nuts."),
        (
            "The cap's top edge lies between 3% and 9% of the box height below the top of the box.",
            "The lid is centred horizontally",
        ),
        (
            "The size of the mug decides the colour of the handle: blue for small, red for big.",
            "The jam's flavour decides the colour",
        ),
    ],
)
def test_the_most_similar_example_is_picked_whatever_the_product(rule, expected_start):
    _, examples = shipped()
    (best,) = similar_examples(rule, examples, 1)
    assert best.rule.startswith(expected_start)


def test_similar_examples_keep_the_file_order_and_bound_k():
    _, examples = shipped()
    three = similar_examples("Exactly one bolt is between 2 and 3 times as long.", examples, 3)
    assert len(three) == 3
    positions = [examples.index(e) for e in three]
    assert positions == sorted(positions)
    assert similar_examples("anything", examples, 0) == []
    assert len(similar_examples("anything", examples, 50)) == len(examples)


def test_similar_mode_moves_the_examples_next_to_the_rule(pool):  # noqa: F811
    comp, out, chat = compile_with(pool, [GOOD, GOOD], examples="similar", similar_k=2)
    assert out.entry.status == "ok"
    system, user = (m.content for m in chat.calls[0])
    assert "Worked examples" not in system
    assert user.count("Rule:") == 3  # two examples and the rule itself
    assert user.index("There are exactly two nuts.") < user.rindex("Rule:")
    comp_all, _, chat_all = compile_with(pool, [GOOD, GOOD])
    system_all, user_all = (m.content for m in chat_all.calls[0])
    assert "Worked examples" in system_all and user_all.count("Rule:") == 1


def test_an_unknown_examples_mode_is_refused(pool):  # noqa: F811
    from test_compiler import ScriptedChat
    from test_counterexamples import SPEC, reference

    chat = ScriptedChat(script=[], calls=[])
    with pytest.raises(ValueError, match="examples must be"):
        RuleCompiler(chat, SPEC, [reference()], pool, CompileSettings(examples="some"))
