"""Mechanical fixes of broken candidates, and the compiler trying them before the model."""

from test_compiler import GOOD, ScriptedChat, compile_with, pool  # noqa: F401  (fixture)
from test_counterexamples import SPEC, reference

import sandbox
from logicode.codegen.autofix import autofix
from logicode.codegen.compiler import CompileSettings, RuleCompiler
from logicode.spec import RuleSpec, load_spec

JB = load_spec("juice_bottle")
PP = load_spec("pushpins")
BB = load_spec("breakfast_box")


def test_the_single_attribute_of_a_label_replaces_a_wrong_name():
    code = (
        "def check(scene):\n"
        "    juice = scene.one('liquid')\n"
        "    icon = scene.one('fruit_icon')\n"
        "    if juice.attr('kind') != icon.attr('kind'):\n"
        "        return [violation('x')]\n"
        "    return []\n"
    )
    fixed = autofix(code, [], JB)
    assert "juice.attr(\"juice\") != icon.attr('kind')" in fixed  # icon's 'kind' is right
    assert autofix(fixed, [], JB) is None  # nothing left to fix


def test_an_invented_attribute_meaning_a_component_value_becomes_that_value():
    code = (
        "def check(scene):\n"
        "    liquid = scene.one('liquid')\n"
        "    if liquid.attr('top_edge') < 0.16 * liquid.height:\n"
        "        return [violation('x', liquid)]\n"
        "    return []\n"
    )
    fixed = autofix(code, [], JB)
    assert "if liquid.top < 0.16 * liquid.height:" in fixed


def test_a_number_use_is_never_given_a_non_number_attribute():
    code = (
        "def check(scene):\n"
        "    liquid = scene.one('liquid')\n"
        "    if liquid.attr('fill') < 16:\n"
        "        return [violation('x', liquid)]\n"
        "    if liquid.attr('kind') == 'red':\n"
        "        return [violation('y', liquid)]\n"
        "    return []\n"
    )
    fixed = autofix(code, [], JB)
    assert "liquid.attr('fill') < 16" in fixed  # 'juice' (an enum) would be no number
    assert "liquid.attr(\"juice\") == 'red'" in fixed


def test_did_you_mean_is_applied_on_the_named_line():
    code = "def check(scene):\n    liquid = scene.one('liquid')\n    t = liquid.top_edge\n"
    err = (
        "on normal images 1 and 2 it raised an error: AttributeError: Component has no"
        " attribute 'top_edge' (did you mean 'top'?); it has: angle, area (line 3)"
    )
    assert autofix(code, [err], JB) == code.replace("top_edge", "top")
    assert autofix(code, ["it raised an error: ZeroDivisionError (line 3)"], JB) is None
    call = "def check(scene):\n    r = scene.one('liquid').region()\n"
    made_up = (
        "AttributeError: Component has no attribute 'region' (did you mean 'subregion'?) (line 2)"
    )
    assert autofix(call, [made_up], JB) is None
    method = "def check(scene):\n    d = scene.one('bottle')\n    ok = d.left_of(d)\n"
    meant = (
        "AttributeError: Component has no attribute 'left_of' (did you mean 'is_left_of'?) (line 3)"
    )
    assert autofix(method, [meant], JB) == method.replace(".left_of(", ".is_left_of(")
    part = "def check(scene):\n    t = scene.one('bottle').top_label\n"
    asks = "AttributeError: Component has no attribute 'top_label' (did you mean 'label'?) (line 2)"
    assert autofix(part, [asks], JB) is None


def test_a_near_miss_label_becomes_the_label():
    code = "def check(scene):\n    n = scene.count('compartments')\n    m = scene.find(\"cups\")\n"
    fixed = autofix(code, [], PP)
    assert 'scene.count("compartment")' in fixed and '"cups"' in fixed
    assert autofix("def check(:", [], PP) is None


def test_a_group_tested_against_none_is_tested_for_emptiness():
    code = (
        "def check(scene):\n"
        '    cereals = scene.find("cereals")\n'
        "    if cereals is None:\n"
        "        return []\n"
        '    box = scene.one("box")\n'
        "    if box is None or cereals is not None and cereals.area > box.area:\n"
        "        return [violation('x')]\n"
        "    return []\n"
    )
    fixed = autofix(code, [], load_spec("breakfast_box"))
    assert "if not cereals:" in fixed
    assert "if box is None or cereals and cereals.area > box.area:" in fixed
    reused = code.replace('    box = scene.one("box")', '    cereals = scene.one("cereals")')
    assert "cereals is None" in (autofix(reused, [], load_spec("breakfast_box")) or reused)


def test_the_compiler_validates_a_fix_before_asking_the_model(pool):  # noqa: F811
    # "exactly two nuts" written with a misspelt label: fixed without a model call.
    typo = GOOD.replace('scene.find("nut")', 'scene.find("nuts")')
    comp, out, chat = compile_with(pool, [typo], candidates=1)
    assert out.entry.status == "ok" and 'scene.find("nut")' in out.code
    assert [t["step"] for t in out.transcript] == ["candidate 1", "autofix 1"]
    assert len(chat.calls) == 1 and out.entry.rounds == 1
    comp, out, chat = compile_with(pool, [typo, GOOD], candidates=1, autofix=False)
    assert [t["step"] for t in out.transcript] == ["candidate 1", "repair 1"]


def test_an_invented_accessor_before_a_box_method_is_dropped():
    code = (
        "def check(scene):\n"
        "    for c in scene.find('compartment'):\n"
        "        ok = c.region.contains(scene.one('pushpin'))\n"
    )
    err = (
        "AttributeError: Component has no attribute 'region' (did you mean 'subregion'?);"
        " it has: angle (line 3)"
    )
    assert autofix(code, [err], PP) == code.replace("c.region.contains", "c.contains")
    # Without a call of a box method after it, the suggestion is a method named without a
    # call (a function object): nothing to do.
    bare = "def check(scene):\n    r = scene.one('box').region\n"
    assert autofix(bare, [err.replace("line 3", "line 2")], PP) is None
    value = "def check(scene):\n    r = scene.one('box').region.y\n"
    assert autofix(value, [err.replace("line 3", "line 2")], PP) is None


def test_an_early_return_on_a_required_part_reports_its_absence():
    code = (
        "def check(scene):\n"
        "    lid = scene.one('lid')\n"
        "    nuts = scene.find('nut')\n"
        "    if lid is None:\n"
        "        return []\n"
        "    if len(nuts) == 0: return []\n"
        "    return []\n"
    )
    fixed = autofix(code, [], PP, must_report=["lid"])
    assert fixed.splitlines()[4] == '        return [violation("there is no lid")]'
    assert fixed.splitlines()[5:] == code.splitlines()[5:]  # nuts are not required
    both = autofix(code, [], PP, must_report=["lid", "nut"])
    assert 'if len(nuts) == 0: return [violation("there is no nut")]' in both
    assert both.endswith("    return []\n")  # the final return stays
    assert autofix(code, [], PP) is None  # nothing required: nothing to fix


def test_the_compiler_reports_a_missing_part_the_rule_counts(pool):  # noqa: F811
    silent = """```python
def check(scene):
    lid = scene.one("lid")
    if lid is None:
        return []
    if len(scene.find("lid")) != 1:
        return [violation("more than one lid", lid)]
    return []
```"""
    one_lid = RuleSpec(id="one_lid", text="There is exactly one lid.")
    chat = ScriptedChat(script=[silent], calls=[])
    comp = RuleCompiler(chat, SPEC, [reference()], pool, CompileSettings(candidates=1))
    out = comp.compile_rule(one_lid)
    assert out.entry.status == "ok"
    assert 'return [violation("there is no lid")]' in out.code
    assert len(chat.calls) == 1
    assert [t["step"] for t in out.transcript] == ["candidate 1", "autofix 1"]


def test_a_value_called_like_a_method_loses_the_call():
    code = "def check(scene):\n    liquid = scene.one('liquid')\n    t = liquid.top_edge() / 2\n"
    err = (
        "AttributeError: Component has no attribute 'top_edge' (did you mean 'top'?);"
        " it has: angle, area (line 3)"
    )
    assert autofix(code, [err], JB) == code.replace("liquid.top_edge()", "liquid.top")
    with_args = code.replace("top_edge()", "top_edge(5)")
    assert autofix(with_args, [err], JB) is None  # an argument: not a value being asked for


def test_an_invented_accessor_kept_in_a_variable_is_dropped_when_only_box_methods_follow():
    code = (
        "def check(scene):\n"
        "    for comp in scene.find('compartment'):\n"
        "        comp_box = comp.region\n"
        "        for pin in scene.find('pushpin'):\n"
        "            if not comp_box.contains(pin):\n"
        "                return [violation('x')]\n"
        "    return []\n"
    )
    err = (
        "AttributeError: Component has no attribute 'region' (did you mean 'subregion'?);"
        " it has: angle (line 3)"
    )
    assert autofix(code, [err], PP) == code.replace("comp.region\n", "comp\n")
    other_use = code.replace("return [violation('x')]", "return [violation(comp_box.y)]")
    assert autofix(other_use, [err], PP) is None  # .y of the invented thing: unsure


def test_a_part_used_without_a_test_gets_one_at_the_top_level():
    inline = (
        "def check(scene):\n"
        '    div_x = scene.one("divider").x\n'
        '    late = [t for t in scene.find("tangerine") if t.x > div_x]\n'
        "    return [violation('right', *late)] if late else []\n"
    )
    err = "AttributeError: 'NoneType' object has no attribute 'x' (line 2)"
    fixed = autofix(inline, [err], BB)
    assert fixed.splitlines()[1:4] == [
        "    if scene.one('divider') is None:",
        "        return []",
        '    div_x = scene.one("divider").x',
    ]
    bound = (
        "def check(scene):\n"
        '    d = scene.one("divider")\n'
        "    out = []\n"
        "    for t in scene.find('tangerine'):\n"
        "        if t.x > d.x:\n"
        "            out.append(violation('right', t))\n"
        "    return out\n"
    )
    err5 = err.replace("line 2", "line 5")
    fixed = autofix(bound, [err5], BB)
    assert fixed.splitlines()[2:4] == ["    if d is None:", "        return []"]
    # Required by the rule's words: the same return then reports the absence.
    assert 'return [violation("there is no divider")]' in autofix(fixed, [], BB, ["divider"])
    nested = bound.replace('    d = scene.one("divider")\n', "").replace(
        "d.x", 'scene.one("divider").x'
    )
    assert autofix(nested, [err5], BB) is None  # inside a loop: not at the top level


def test_no_early_return_before_an_if_that_other_checks_follow():
    code = (
        "def check(scene):\n"
        "    if scene.one('lid').width > 1000:\n"
        "        return [violation('huge lid')]\n"
        "    return [violation('x')] if scene.count('nut') != 2 else []\n"
    )
    err = "AttributeError: 'NoneType' object has no attribute 'width' (line 2)"
    assert autofix(code, [err], PP) is None  # a missing lid must not skip the nut count


def test_a_word_of_exactly_one_label_becomes_that_label():
    code = "def check(scene):\n    i = scene.one('icon')\n    t = scene.find('labels')\n"
    fixed = autofix(code, [], JB)
    assert 'scene.one("fruit_icon")' in fixed
    assert "'labels'" in fixed  # a word of two labels (top_label, bottom_label): no guess


def test_a_stray_label_stands_for_the_one_label_the_rule_names_and_the_code_lacks():
    code = (
        "def check(scene):\n"
        "    bottles = scene.find('bolt')\n"
        "    if len(bottles) != 1:\n"
        "        return [violation('x', *bottles)]\n"
        "    return []\n"
    )
    fixed = autofix(code, [], JB, rule_text="There is exactly one bottle.")
    assert 'scene.find("bottle")' in fixed
    # no rule text, or a rule naming two labels the code lacks: no guess
    assert autofix(code, [], JB) is None
    two = "The top label lies above the bottom label."
    assert autofix(code, [], JB, rule_text=two) is None
    # two different stray labels: no guess either
    both = code.replace("return []\n", "return scene.find('nut')\n", 1)
    assert autofix(both, [], JB, rule_text="There is exactly one bottle.") is None


def test_a_point_tested_for_membership_in_a_group_asks_whether_a_box_holds_it():
    code = (
        "def check(scene):\n"
        "    boxes = scene.find('compartment')\n"
        "    for p in scene.find('pushpin'):\n"
        "        if p.centroid not in scene.find('compartment') or p.center in boxes:\n"
        "            return [violation('x', p)]\n"
        "    return []\n"
    )
    fixed = autofix(code, [], PP)
    assert (
        "if not any(holder.contains(p.centroid) for holder in scene.find('compartment'))"
        " or any(holder.contains(p.center) for holder in boxes):"
    ) in fixed
    sandbox.compile_rule(fixed)  # the fix passes the sandbox policy
    assert autofix(fixed, [], PP) is None
    # A name the code already uses is not taken for the boxes.
    taken = autofix(code.replace("boxes", "holder"), [], PP)
    assert "any(holder1.contains(p.center) for holder1 in holder)" in taken
    # A component (not a point) in a group is a real membership test: left alone.
    assert autofix(code.replace("p.centroid", "p").replace("p.center", "p"), [], PP) is None
