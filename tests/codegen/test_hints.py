"""Repair advice from a broken candidate's errors and code."""

from test_counterexamples import reference  # tests/codegen on sys.path

from logicode.codegen.hints import hints, swapped_relations
from logicode.spec import load_spec

JB = load_spec("juice_bottle")


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


def test_undefined_names_point_at_the_part_or_the_rules_own_definition():
    spec = load_spec("screw_bag")
    rule = "Let D be the mean diameter of the washers. Exactly one screw is long."
    errors = [
        "on normal image 1 it raised an error: NameError: name 'D' is not defined (line 7)",
        "on normal image 1 it raised an error: NameError: name 'washers' is not defined (line 3)",
        "on normal image 2 it raised an error: NameError: name 'D' is not defined (line 7)",
    ]
    out = hints(errors, "def check(scene):\n    return []\n", spec, rule)
    assert [h for h in out if "the rule's own name for the mean diameter of the washers" in h]
    assert [h for h in out if 'scene.find("washer")' in h]
    assert len([h for h in out if h.startswith("hint: D ")]) == 1
    assert hints(errors[:1], "def check(scene):\n    return []\n", spec, "Exactly one screw.") == []


def test_an_undefined_lower_case_name_lists_the_functions():
    errors = [
        "on normal image 1 it raised an error: NameError: name 'insid' is not defined (line 4)"
    ]
    (hint,) = hints(errors, "def check(scene):\n    return []\n", JB, "The icon is inside.")
    assert "insid is not defined (did you mean inside?)" in hint and "between, ratio" in hint
    short = ["on normal image 1 it raised an error: NameError: name 'x' is not defined (line 4)"]
    assert hints(short, "def check(scene):\n    return []\n", JB, "x") == []
