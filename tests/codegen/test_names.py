"""Labels and attribute names read from candidate code, and those the spec lacks."""

from logicode.codegen.hints import hints
from logicode.codegen.names import (
    attribute_names,
    foreign_values,
    named_enum_values,
    unknown_attributes,
    unknown_labels,
    unread_attributes,
)
from logicode.spec import load_spec

JB = load_spec("juice_bottle")


def test_unknown_attribute_names_the_real_ones():
    code = 'def check(scene):\n    j = scene.one("liquid")\n    return j.attr("fruit")\n'
    msg = unknown_attributes(code, JB)
    assert msg is not None and "j is a liquid" in msg and "its attributes are: juice" in msg
    assert unknown_attributes(code.replace('"fruit"', '"juice"'), JB) is None
    assert unknown_attributes("def check(:", JB) is None
    # A name no label has, on a component of unknown label.
    anon = "def check(scene):\n    return [c.attr('flavour') for c in scene.components]\n"
    msg = unknown_attributes(anon, JB)
    assert msg is not None and "no component has" in msg and "liquid: juice" in msg


def test_attribute_of_another_label_is_caught_through_loops():
    code = (
        "def check(scene):\n"
        "    liquid = scene.one('liquid')\n"
        "    icons = scene.find('fruit_icon')\n"
        "    for icon in icons:\n"
        "        if icon.attr('kind') != liquid.attr('kind'):\n"
        "            return [violation('x', icon)]\n"
        "    return [violation('y') for b in scene.find('bottle') if b.attr('juice')]\n"
    )
    msg = unknown_attributes(code, JB)
    assert "line 5: liquid is a liquid" in msg and "'kind'" in msg
    assert "icon is a" not in msg  # icon.attr('kind') is right
    assert "b is a bottle, which has no attribute 'juice' (it has no attributes)" in msg


def test_attribute_names_from_spec():
    assert attribute_names(JB) == {"liquid": ["juice"], "fruit_icon": ["kind"]}


def test_a_single_attribute_is_named_as_the_fix():
    code = 'def check(scene):\n    juice = scene.one("liquid")\n    return juice.attr("kind")\n'
    assert "write juice.attr('juice') instead" in unknown_attributes(code, JB)


def test_unknown_labels_are_named_with_the_vocabulary():
    code = (
        "def check(scene):\n"
        "    left = scene.find('left_compartment')[0]\n"
        "    n = scene.count('liquid', 'cup')\n"
        "    return [violation('x')] if scene.one('bottle') is None else []\n"
    )
    msg = unknown_labels(code, JB)
    assert "line 2: find('left_compartment')" in msg and "line 3: count('cup')" in msg
    assert "'liquid'" not in msg and "the labels are: bottle, liquid" in msg
    assert (
        unknown_labels(code.replace("'left_compartment'", "'bottle'").replace(", 'cup'", ""), JB)
        is None
    )
    assert unknown_labels("def check(:", JB) is None


def test_one_name_reused_in_two_comprehensions_is_judged_in_each():
    sc = load_spec("splicing_connectors")
    code = (
        "def check(scene):\n"
        "    clamps = set(c.attr('clamps') for c in scene.find('connector'))\n"
        "    colours = set(c.attr('color') for c in scene.find('cable'))\n"
        "    wrong = [c.attr('clamps') for c in scene.find('cable')]\n"
        "    return []\n"
    )
    msg = unknown_attributes(code, sc)
    assert msg is not None and "line 4: c is a cable" in msg and "line 3" not in msg
    twice = (
        "def check(scene):\n    x = scene.one('liquid')\n    x = scene.one('fruit_icon')\n"
        "    return x.attr('kind')\n"
    )
    assert unknown_attributes(twice, JB) is None  # x's label is unsure: nothing claimed


def test_enum_attributes_compared_with_foreign_values_are_named():
    spec = load_spec("juice_bottle")
    code = (
        "def check(scene):\n"
        "    juice = scene.one('liquid')\n"
        "    if juice.attr('juice') in ('red', 'orange', 'milky white'):\n"
        "        return []\n"
        "    if 'cherry' != juice.attr('juice') or juice.attr('juice') == 'apple':\n"
        "        return [violation('x', juice)]\n"
        "    return []\n"
    )
    problems = foreign_values(code, spec)
    assert len(problems) == 2
    assert "line 3" in problems[0] and "'red', 'milky white'" in problems[0]
    assert "'orange'" not in problems[0]  # orange is a juice kind
    assert "line 5" in problems[1] and "'apple'" in problems[1]
    fine = code.replace("'red', ", "").replace(", 'milky white'", "").replace("'apple'", "'banana'")
    assert foreign_values(fine, spec) == []
    # the hint reaches the repair prompt
    assert any("never 'red'" in h for h in hints(["it never reports a violation"], code, spec))


SC = load_spec("splicing_connectors")
PP = load_spec("pushpins")


def test_code_that_never_reads_a_number_attribute_the_rule_names_is_caught():
    rule = "Every connector has 2, 3 or 5 clamps."
    counting = (
        "def check(scene):\n"
        "    cs = scene.find('connector')\n"
        "    if len(cs) not in (2, 3, 5):\n"
        "        return [violation('bad', *cs)]\n"
        "    return []\n"
    )
    msg = unread_attributes(counting, rule, SC)
    assert msg is not None and "the connector's clamps" in msg and "attr('clamps')" in msg
    reading = counting.replace(
        "len(cs) not in", "any(c.attr('clamps') not in (2, 3, 5) for c in cs) or 0 in"
    )
    assert unread_attributes(reading, rule, SC) is None
    both = "Every cable's left_clamp equals its right_clamp."
    assert "right_clamp" in (
        unread_attributes(
            "def check(scene):\n    c = scene.one('cable')\n"
            "    return [] if c.left_clamp else []\n",
            both,
            SC,
        )
        or ""
    )
    # Enum names and plural words are ordinary words, not attribute reads.
    assert unread_attributes(counting, "There are exactly 22 separators between rows.", PP) is None
    assert unread_attributes(counting, "The bottle contains juice.", JB) is None
    assert unread_attributes("def check(:", rule, SC) is None


def test_an_enum_whose_values_the_rule_names_must_be_read():
    rule = "If there is juice, it is cherry (red), orange (yellow-orange) or banana (milky white)."
    assert named_enum_values(rule, JB) == {
        "cherry": [("liquid", "juice"), ("fruit_icon", "kind")],
        "banana": [("liquid", "juice"), ("fruit_icon", "kind")],
    }  # "orange" is a colour word too: left out
    colours = (
        "def check(scene):\n"
        "    return [violation('x', a) for a in scene.find('liquid')"
        " if a.color not in ('red', 'yellow', 'white')]\n"
    )
    assert unread_attributes(colours, rule, JB) == (
        "the rule names cherry, banana: values of the liquid's juice (c.attr('juice')), but the"
        " code never reads it"
    )
    unnamed = "It is cherry (red), orange (yellow-orange) or banana (milky white)."
    assert unread_attributes(colours, unnamed, JB) == (
        "the rule names cherry, banana: values of the liquid's juice (c.attr('juice')) or the"
        " fruit_icon's kind (c.attr('kind')), but the code reads neither"
    )
    kinds = colours.replace("a.color", "a.attr('juice')")
    assert unread_attributes(kinds, rule, JB) is None  # one attribute with the values is enough
    assert unread_attributes(colours, "Every liquid is red or white.", JB) is None
    # Of the parts with those values, the one the rule names: the juice, not the icon.
    icon = kinds.replace("'liquid'", "'fruit_icon'").replace("'juice'", "'kind'")
    juice = "Juice, when present, is one of the kinds sold: cherry, orange or banana."
    assert "the liquid's juice (c.attr('juice')), but the code never" in unread_attributes(
        icon, juice, JB
    )
    assert unread_attributes(kinds, juice, JB) is None
    assert unread_attributes(icon, "A fruit icon shows a cherry or a banana.", JB) is None
