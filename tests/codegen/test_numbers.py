from logicode.codegen.numbers import one_sided_ranges, stated_numbers, unused_numbers


def code(body: str) -> str:
    return "def check(scene):\n" + "".join(f"    {line}\n" for line in body.splitlines())


def test_stated_numbers_skip_brackets_zero_and_the_parts_of_a_sum():
    text = "Its top lies between 16% and 24% of the height (about 100 to 150 pixels)."
    assert [(n.text, n.value, n.percent) for n in stated_numbers(text)] == [
        ("16%", 16.0, True),
        ("24%", 24.0, True),
    ]
    assert [n.text for n in stated_numbers("Row 0 to 2, ratio 1.75 or 2.25.")] == [
        "2",
        "1.75",
        "2.25",
    ]
    centred = "The label is centred (its centre within 4% of the width of the centre line)."
    assert [n.text for n in stated_numbers(centred)] == ["4%"]  # brackets count, but pixels
    sums = "There are 22 separators: 12 between columns and 10 between rows."
    assert [n.text for n in stated_numbers(sums)] == ["22"]
    # Numbers before the one they add up to are no parts of it.
    assert [n.text for n in stated_numbers("2, 3 or 5 clamps")] == ["2", "3", "5"]
    assert [n.text for n in stated_numbers("Within 8 percent of the mean.")] == ["8 percent"]
    assert stated_numbers("A top_label2 and v1.5 are names, not numbers.") == []


def test_code_that_ignores_a_stated_number_is_refused():
    rule = "The liquid's top edge lies between 16% and 24% of the bottle's height below its top."
    relation = code(
        'out = []\nfor a in scene.find("liquid"):\n'
        '    if not below(a, scene.one("top_label")):\n'
        '        out.append(violation("liquid is not below, 16% to 24%", a))\nreturn out'
    )
    msg = unused_numbers(relation, rule)
    assert msg == (
        "the rule states 16% (write 0.16), 24% (write 0.24), but the code never uses them"
    )
    # A number in a message string does not count; each form code writes counts.
    assert unused_numbers(code("share = 0.16\nhigh = 24\nreturn []"), rule) is None
    mapping = "Every cable is yellow for 2 clamps, blue for 3 clamps, red for 5 clamps."
    partial = code("wanted = {2: 'yellow', 3: 'blue'}\nreturn []")
    assert unused_numbers(partial, mapping) == "the rule states 5, but the code never uses it"
    assert unused_numbers(code("wanted = {2: 'yellow', 3: 'blue', 5: 'red'}"), mapping) is None


def test_the_forms_code_writes_numbers_in_are_accepted():
    near = "Every compartment's area lies within 25% of the median compartment area."
    assert unused_numbers(code("lo, hi = 0.75, 1.25\nreturn []"), near) is None
    least = "There are at least 5 nuts in rows 0 to 2."
    assert unused_numbers(code("if len(x) > 4 and r in range(3):\n    pass"), least) is None
    assert unused_numbers(code("return []"), "Every cable is in one piece.") is None
    assert unused_numbers("def check(:", "between 2 and 3") is None
    # 1 - 60% is 0.4, but not where 0.4 is the rule's own 40%.
    placed = "Its centre lies 40% to 60% of the height down, within 4% of the width."
    half = code("if d > 0.04 * w or v > 0.40 * h:\n    pass")
    assert (
        unused_numbers(half, placed)
        == "the rule states 60% (write 0.6), but the code never uses it"
    )
    assert unused_numbers(code("ok = 0.04 > d and 0.4 <= v <= 0.6"), placed) is None


def test_one_value_bounded_twice_from_one_side_is_refused():
    wrong = code(
        "r = ratio(a.area, b.area)\nif 0.5 > r and r < 2.0:\n    return [violation('x', a)]"
    )
    (msg,) = one_sided_ranges(wrong)
    assert msg.startswith("line 3: `0.5 > r and r < 2.0` bounds r from above twice")
    assert "not between(r, low, high)" in msg
    assert one_sided_ranges(code("if r < 0.5 or r > 2.0:\n    pass")) == []
    assert one_sided_ranges(code("if 0.5 <= r <= 2.0:\n    pass")) == []
    assert one_sided_ranges(code("if a.x < b.x and a.x < c.x:\n    pass")) == []  # no numbers
    assert one_sided_ranges(code("if len(a) < 2 or len(b) < 2:\n    pass")) == []
    assert len(one_sided_ranges(code("if r > 1 or r >= 3:\n    pass"))) == 1
    assert one_sided_ranges("def check(:") == []
