from test_counterexamples import SPEC, reference  # tests/codegen on sys.path

from logicode.codegen.feedback import (
    attribute_names,
    hints,
    mentioned_labels,
    scene_facts,
    swapped_relations,
    unknown_attributes,
    unknown_labels,
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


def test_mentioned_labels_phrases_last_words_and_attributes():
    voc = JB.vocabulary
    assert mentioned_labels("There is exactly one top label.", voc) == ["top_label"]
    assert mentioned_labels("Every label is upright.", voc) == ["top_label", "bottom_label"]
    # "juice" is an attribute of liquid, so a rule about the juice is about the liquid.
    assert "liquid" in mentioned_labels("If there is juice, it is red.", voc, JB)
    assert mentioned_labels("There are exactly two nuts.", SPEC.vocabulary) == ["nut"]


def test_hints_by_error_text():
    none = hints(["it reported: icon is cherry but the juice is None"], 'x.attr("kind")', JB)
    assert any("liquid: juice" in h for h in none)
    assert hints(["it reported: ok"], "pass", JB) == []
    assert any("scene.one" in h for h in hints(["'NoneType' object has no attr"], "", JB))
    inside = hints(["image 1 it reported: icon is not inside the label"], "inside(label, icon)", JB)
    assert any("smaller part first" in h for h in inside)
    pixels = hints(["it reported: label centre is at 86433% of the bottle height"], "", JB)
    assert any("relative_to" in h for h in pixels)
    assert not any("relative_to" in h for h in hints(["fill is 95% of the bottle"], "", JB))
    code = "if cereal.centroid.y <= box.y:\n    out.append(violation('x'))"
    rule = "The cereals lie above the box's centre."
    assert any("SMALLER y" in h for h in hints(["it reported: x"], code, JB, rule))
    assert not any("SMALLER y" in h for h in hints(["it reported: x"], code, JB, "Two nuts."))
    assert not any("SMALLER y" in h for h in hints(["it reported: x"], "above(a, b)", JB, rule))
    assert any("SMALLER y" in h for h in hints(["x"], "if b.y > label.y:", JB, "upper half"))


def test_scene_facts_measure_the_named_parts():
    lines = scene_facts(reference(), ["nut", "lid"])
    assert lines[0] == "image 300 x 200 px"
    assert "nut: 2 found" in lines
    assert any(line.startswith("nut c2: box x 60..80") for line in lines)
    rel = [line for line in lines if line.startswith("inside(")]
    assert rel and all("above(" in line for line in rel)
    assert "absent: none" in scene_facts(reference(), ["absent"])[1]


def test_a_missing_part_error_names_the_unguarded_variables():
    code = (
        "def check(scene):\n"
        '    divider = scene.one("divider")\n'
        '    box = scene.one("box")\n'
        "    out = []\n"
        '    for region in scene.find("almonds"):\n'
        "        if not region.is_below(divider):\n"
        "            out.append(violation('x', region))\n"
        "        if not inside(region, box):\n"
        "            out.append(violation('y', region))\n"
        "    return out\n"
    )
    tail = "is None, the component is missing; check that it exists first (scene.one() returns"
    errors = [
        f"TypeError: inside(): b {tail} None when there is none) (line 8)",
        f"TypeError: below(): b {tail} None when there is none) (line 6)",
    ]
    out = hints(errors, code, JB)
    assert any("if box is None or divider is None: return []" in h for h in out)
    assert not any("smaller part first" in h for h in out)  # an error, not a false report
    assert not any("is None: return" in h for h in hints(["it reported: x is None"], code, JB))


def test_a_tested_variable_is_not_blamed_and_inline_calls_are():
    # Seen: the guard hint named `divider`, already tested, when scene.one("box") was None.
    code = (
        "def check(scene):\n"
        '    divider = scene.one("divider")\n'
        "    if divider is None:\n"
        "        return []\n"
        "    out = []\n"
        '    if not inside(divider, scene.one("box"), 5):\n'
        "        out.append(violation('x', divider))\n"
        "    return out\n"
    )
    err = ["TypeError: inside(): b is None, the component is missing (line 6)"]
    out = hints(err, code, JB)
    assert not any("divider is None: return" in h for h in out)
    assert any(
        h.startswith("hint: scene.one('box') is None when that part is missing") for h in out
    )


def test_a_part_asked_as_an_attribute_points_at_one():
    err = ["AttributeError: Scene has no attribute 'bottle' (did you mean 'bbox'?) (line 5)"]
    out = hints(err, "b = scene.bottle", JB)
    assert any('get the bottle with scene.one("bottle")' in h for h in out)
    assert not any("scene.one(" in h for h in hints(["has no attribute 'wobble'"], "", JB))


def test_len_of_one_component_points_at_find():
    err = [
        "on normal image 1 it raised an error: TypeError: object of type 'Component' has no len()"
    ]
    assert any("len(scene.find(label))" in h for h in hints(err, "len(scene.one('x'))", JB))


def test_relation_and_return_type_hints():
    order = hints(["on normal image 1 it reported: x"], "if not below(top, bottom):", JB)
    assert any("which part comes first" in h for h in order)
    method = hints(["on normal image 1 it reported: x"], "if not d.is_left_of(t):", JB)
    assert any("which part comes first" in h for h in method)
    assert not any("order" in h for h in hints(["image 1 it reported: x"], "a.y > 3", JB))
    wrong = "check() must return a list of violations ([] when the rule holds), got dict"
    assert any("return [violation(...)]" in h for h in hints([wrong], "", JB))


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


def test_fraction_and_region_hints():
    mixed = (
        "top = liquid.relative_to(bottle).top\n"
        "if not between(top, 0.16 * bottle.height, 0.24 * bottle.height):"
    )
    reports = ["on normal image 1 it reported: liquid too high"]
    assert any("fractions of the other part" in h for h in hints(reports, mixed, JB))
    plain = "top = liquid.relative_to(bottle).top\nif not between(top, 0.16, 0.24):"
    assert not any("fractions of the other part" in h for h in hints(reports, plain, JB))
    err = ["on normal image 1 it raised an error: AttributeError: Region has no attribute 'area'"]
    code = "box = scene.region(0, 0, scene.width, scene.height)\nbox.area"
    assert any("not a part of the product" in h for h in hints(err, code, JB))
    assert not any("not a part of the product" in h for h in hints(err, "box.area", JB))


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


def test_a_region_given_fractions_gets_the_pixel_hint():
    code = "left = scene.region(0, 0, 0.5, 1)\nright = scene.region(0.5, 0, 1, 1)"
    assert any("PIXEL edges" in h for h in hints([], code, JB))
    pixels = "box = scene.region(0, 0, scene.width, scene.height / 2)"
    assert not any("PIXEL edges" in h for h in hints([], pixels, JB))
    assert not any("PIXEL edges" in h for h in hints([], "scene.region(0, 0, 800, 1)", JB))


def test_an_invented_accessor_points_at_the_real_attribute():
    code = (
        "def check(scene):\n"
        "    label = scene.one('top_label')\n"
        "    rect = label.region()\n"
        "    if rect.angle > 3 or rect.corners:\n"
        "        return [violation('x', label)]\n"
        "    return []\n"
    )
    err = [
        "on normal image 1 it raised an error: AttributeError: Component has no attribute"
        " 'region' (did you mean 'subregion'?) (line 3)"
    ]
    out = hints(err, code, JB)
    assert (
        "hint: label has no region(); it already has angle itself: read label.angle directly" in out
    )
    assert not any("region()" in h for h in hints(["it reported: x"], code, JB))


def test_angle_for_a_turn_rule_points_at_tilt():
    rule = "The labels are upright: not rotated by more than 3 degrees."
    out = hints(["on normal image 1 it reported: x"], "if lab.angle > 3:", JB, rule)
    assert any("c.tilt" in h for h in out)
    assert not any("c.tilt" in h for h in hints(["it reported: x"], "if lab.tilt > 3:", JB, rule))
    assert not any("c.tilt" in h for h in hints(["it reported: x"], "lab.angle", JB, "Two nuts."))


def test_a_relation_the_wrong_way_round_is_named_with_its_line():
    code = (
        "def check(scene):\n"
        '    lid = scene.one("lid")\n'
        '    for nut in scene.find("nut"):\n'
        "        if not lid.is_below(nut):\n"
        "            return [violation('x', nut)]\n"
        "        if not above(nut, lid) or left_of(lid, lid):\n"
        "            return [violation('y', nut)]\n"
        "    return []\n"
    )
    out = swapped_relations(code, reference())  # the lid lies above both nuts
    assert out == [
        "hint: line 4: on normal image 1 lid.is_below(nut) is False and nut.is_below(lid)"
        " is True (lid is a lid, nut a nut): swap the two parts",
        "hint: line 6: on normal image 1 above(nut, lid) is False and above(lid, nut) is"
        " True (nut is a nut, lid a lid): swap the two parts",
    ]
    right = code.replace("lid.is_below(nut)", "nut.is_below(lid)").replace(
        "above(nut, lid)", "above(lid, nut)"
    )
    assert swapped_relations(right, reference()) == []
    assert swapped_relations("def check(:", reference()) == []
