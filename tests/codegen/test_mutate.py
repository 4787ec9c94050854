"""Direction reversals of candidates that reject normal images, and the compiler trying them."""

from test_compiler import GOOD, ScriptedChat, pool  # noqa: F401  (fixture)
from test_counterexamples import SPEC, reference

from logicode.codegen.compiler import CompileSettings, RuleCompiler
from logicode.codegen.mutate import mutants
from logicode.spec import RuleSpec

SWAPPED = """def check(scene):
    lid = scene.one("lid")
    if lid is None:
        return []
    out = []
    for n in scene.find("nut"):
        if not n.is_above(lid) or lid.y >= n.y:
            out.append(violation("nut above the lid", n, lid))
    return out
"""
LID_ABOVE = RuleSpec(id="lid_above", text="The lid lies above every nut.")


def test_each_relation_and_comparison_is_reversed_alone_and_alike_ones_together():
    code = (
        "def check(scene):\n"
        "    a, b = scene.one('lid'), scene.one('tray')\n"
        "    if left_of(a, b) or a.is_inside(b) or b.is_inside(a):\n"
        "        return [violation('x')]\n"
        "    return [violation('y')] if a.y < b.y and 0.1 < a.x < 0.9 else []\n"
    )
    found = dict(mutants(code))
    assert found["reversed every is_inside"].count("b.is_inside(a)") == 1
    assert "a.is_inside(b)" in found["reversed every is_inside"]
    assert "left_of(b, a)" in found["reversed left_of(a, b) (line 3)"]
    assert "if b.y < a.y and" in found["reversed a.y < b.y (line 5)"]
    assert not any("0.9 < a.x < 0.1" in c for c in found.values())  # chains never
    assert mutants("def check(scene):\n    return [] if scene.count('nut') == 2 else [1]\n") == []
    assert mutants("def check(:") == []
    assert len(mutants(code, limit=2)) == 2


def test_a_membership_test_is_negated():
    code = (
        "def check(scene):\n"
        "    lid = scene.one('lid')\n"
        "    if lid.attr('kind') in ('round', 'square'):\n"
        "        return [violation('x', lid)]\n"
        "    return [n for n in scene.find('nut') if n.color not in ['red']]\n"
    )
    found = dict(mutants(code))
    first = found["reversed lid.attr('kind') in ('round', 'square') (line 3)"]
    assert "if lid.attr('kind') not in ('round', 'square'):" in first
    assert "if n.color not in ['red']" in first  # one site at a time
    second = found["reversed n.color not in ['red'] (line 5)"]
    assert "if n.color in ['red']" in second
    both = found["reversed every membership test"]
    assert "not in ('round'" in both and "n.color in ['red']" in both


def compile_rule(pool, script, rule=LID_ABOVE, **settings):  # noqa: F811
    chat = ScriptedChat(script=list(script), calls=[])
    comp = RuleCompiler(chat, SPEC, [reference()], pool, CompileSettings(**settings))
    return comp.compile_rule(rule), chat


def test_a_relation_the_wrong_way_round_is_reversed_without_asking_the_model(pool):  # noqa: F811
    assert "n.is_above(lid)" in SWAPPED and ">=" in SWAPPED
    out, chat = compile_rule(pool, [f"```python\n{SWAPPED}```"], candidates=1)
    assert out.entry.status == "ok"
    assert "lid.is_above(n)" in out.code
    steps = [t["step"] for t in out.transcript]
    assert steps[0] == "candidate 1" and steps[1].startswith("reversal 1: reversed")
    assert len(chat.calls) == 1  # the model was asked once: the first candidate
    assert out.entry.rounds == 1


def test_without_reversals_the_model_is_asked_to_repair(pool):  # noqa: F811
    out, chat = compile_rule(pool, [f"```python\n{SWAPPED}```"] * 4, candidates=1, reversals=False)
    assert out.entry.status == "failed"
    assert len(chat.calls) > 1


def test_a_reversal_is_held_to_the_counts_the_rule_states(pool):  # noqa: F811
    # Reversing the lid test accepts the references and reports a missing nut, but ignores a
    # third nut, which "exactly two" forbids: refused, and the model is asked again.
    wrong = """```python
def check(scene):
    nuts = scene.find("nut")
    lid = scene.one("lid")
    if len(nuts) < 2 or (lid is not None and lid.y < 999):
        return [violation("wrong nuts", *nuts)]
    return []
```"""
    two = RuleSpec(id="two_nuts", text="There are exactly two nuts.")
    out, chat = compile_rule(pool, [wrong, GOOD], rule=two, candidates=1)
    assert out.entry.status == "ok"
    assert "len(nuts) != 2" in out.code
    assert len(chat.calls) == 2
    loose, _ = compile_rule(pool, [wrong, GOOD], rule=two, candidates=1, stated_counts=False)
    assert "999 < lid.y" in loose.code  # the same reversal, accepted when nothing forbids it


def test_the_repair_prompt_reads_some_and_the_stated_mapping_from_the_rule(pool):  # noqa: F811
    every = """```python
def check(scene):
    out = []
    for t in scene.find("tray"):
        for n in scene.find("nut"):
            if t.contains(n) and n.width > 1:
                out.append(violation("nut outside", n))
    return out
```"""
    rule = RuleSpec(
        id="nuts_in_a_tray",
        text="Every nut lies inside some tray. Lids: round for 2 nuts, square for 3 nuts.",
    )
    out, chat = compile_rule(pool, [every, every], rule=rule, candidates=1, max_rounds=1)
    feedback = chat.calls[1][-1].content
    assert "SOME tray" in feedback
    assert '`wanted = {2: "round", 3: "square"}`' in feedback
