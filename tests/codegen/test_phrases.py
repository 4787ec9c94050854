"""Counts stated by a rule's words, and the expectations they give the compiler."""

import copy

from test_counterexamples import SPEC, reference  # tests/codegen on sys.path

from logicode.codegen.counterexamples import propose_mutations
from logicode.codegen.phrases import (
    conditional_labels,
    existential_hints,
    existential_labels,
    mapping_hints,
    mentions,
    per_part_counts,
    plain_words,
    stated_attribute_values,
    stated_counts,
    stated_equal_attributes,
    stated_expectations,
    stated_hints,
    stated_mapping,
    stated_matching_attributes,
)

VOCAB = ["tray", "lid", "nut", "fruit_icon", "top_label"]


def test_plain_words_keep_numbers_and_split_names():
    assert plain_words("The top_label, tilted 12.5 deg!") == " the top label tilted 12.5 deg "


def test_mentions_match_whole_words_singular_or_plural():
    words = plain_words("Two fruit icons and the boxes; no nutmeg.")
    assert mentions(words, "fruit_icon")
    assert mentions(words, "box")
    assert not mentions(words, "nut")  # "nutmeg" is no nut
    assert not mentions(words, "icon_fruit")
    assert not mentions(words, "")


def test_exact_counts_are_read_from_the_words():
    assert stated_counts("There are exactly two nuts.", VOCAB) == {"nut": 2}
    assert stated_counts("The top label carries exactly one fruit icon.", VOCAB) == {
        "fruit_icon": 1
    }
    assert stated_counts("There are exactly 3 lids and exactly one tray.", VOCAB) == {
        "lid": 3,
        "tray": 1,
    }
    # A condition before it, an unknown thing or a non-number: nothing stated.
    assert stated_counts("If there are exactly two nuts, the lid is round.", VOCAB) == {}
    assert stated_counts("When exactly one lid is seen, it is round.", VOCAB) == {}
    assert stated_counts("There are exactly two bolts.", VOCAB) == {}
    assert stated_counts("There are exactly several nuts.", VOCAB) == {}
    # A condition in another sentence does not hide the statement.
    assert stated_counts("If it rains, stop. There is exactly one lid.", VOCAB) == {"lid": 1}
    # Other words for "exactly".
    assert stated_counts("There is one and only one lid, on the tray.", VOCAB) == {"lid": 1}
    assert stated_counts("Precisely 2 nuts lie in the tray.", VOCAB) == {"nut": 2}
    assert stated_counts("One lid and only one tray.", VOCAB) == {"lid": 1, "tray": 1}


def test_bare_counts_are_counts_but_bounds_and_alternatives_are_not():
    assert stated_counts("There are two nuts.", VOCAB) == {"nut": 2}
    assert stated_counts("The image shows a single lid, no more and no fewer.", VOCAB) == {"lid": 1}
    assert stated_counts("The tray holds 15 nuts in total.", VOCAB) == {"nut": 15}
    assert stated_counts("There is one fruit icon and it lies on the top label.", VOCAB) == {
        "fruit_icon": 1
    }
    for bound in (
        "There are at most two nuts.",
        "There are no more than two nuts.",
        "There are two nuts or more.",
        "There are one or two nuts.",
        "No two nuts touch.",
        "When there are two nuts, they are alike.",
        "The rule holds when there are zero or one nuts.",
    ):
        assert stated_counts(bound, VOCAB) == {}, bound


def test_expectations_need_the_references_to_agree():
    ref = reference()
    changes = propose_mutations(SPEC, ref)
    exp = stated_expectations("There are exactly two nuts.", SPEC, [ref], changes)
    assert exp == {"remove:nut": True, "remove_all:nut": True, "duplicate:nut": True}
    # "exactly one nut is big" with two nuts per reference promises nothing about nuts.
    assert stated_expectations("Exactly one nut is big.", SPEC, [ref], changes) == {}


def test_a_leading_condition_names_parts_whose_removal_keeps_the_rule():
    assert conditional_labels("If there is a lid, it is round.", VOCAB) == ["lid"]
    text = "The level is fixed: if there are a lid and a tray, the lid is on the tray."
    assert conditional_labels(text, VOCAB) == ["tray", "lid"]
    assert conditional_labels("When a top label exists, it is upright.", VOCAB) == ["top_label"]
    for lead in ("Provided", "Provided that", "Whenever"):
        assert conditional_labels(f"{lead} nuts are seen, they lie in the tray.", VOCAB) == ["nut"]
    # Alternatives, a condition that does not lead, or no condition at all: nothing.
    assert conditional_labels("If there is a lid or a tray, it is red.", VOCAB) == []
    assert conditional_labels("The lid is round if there is a tray.", VOCAB) == []
    assert conditional_labels("There are exactly two nuts.", VOCAB) == []
    # Other ways to say it: the condition after its subject; what makes the rule hold.
    assert conditional_labels("A top label, if present, is upright.", VOCAB) == ["top_label"]
    assert conditional_labels("Lids, when present, are round.", VOCAB) == ["lid"]
    held = "Nuts are alike. The rule is satisfied when there are zero or one nuts."
    assert conditional_labels(held, VOCAB) == ["nut"]
    assert conditional_labels("The rule holds with a lid or a tray.", VOCAB) == []
    assert conditional_labels("The rule holds when the lid is shut.", VOCAB) == []  # no absence


def test_condition_expectations_need_one_part_per_reference():
    ref = reference()  # one tray, one lid, two nuts
    changes = propose_mutations(SPEC, ref)
    exp = stated_expectations("If there is a lid, it is round.", SPEC, [ref], changes)
    assert exp == {"remove:lid": False}
    # "If there are nuts, there are exactly two": removing one nut leaves the condition true.
    both = "If there are nuts, the lid is round. There are exactly two nuts."
    assert stated_expectations(both, SPEC, [ref], changes) == {
        "remove:nut": True,
        "remove_all:nut": True,
        "duplicate:nut": True,
    }
    # Without the count, removing every nut keeps the rule (the condition is then false);
    # removing one of the two promises nothing.
    nuts = "If there are nuts, the lid is round."
    assert stated_expectations(nuts, SPEC, [ref], changes) == {"remove_all:nut": False}
    absent = "Exactly one nut is big. If there is no nut, this rule holds."
    assert stated_expectations(absent, SPEC, [ref], changes) == {"remove_all:nut": False}


def test_stated_hints_say_what_to_write():
    ref = reference()
    assert stated_hints("There are exactly two nuts.", SPEC, [ref]) == [
        'hint: the rule says exactly 2 nut: report a violation when len(scene.find("nut")) != 2,'
        " also when there is none (do not return [] early when the nut is missing)"
    ]
    cond = stated_hints("If there is a lid, it is round.", SPEC, [ref])
    assert cond == [
        'hint: the rule holds when there is no lid: start with `if scene.one("lid") is None:'
        " return []`"
    ]
    assert stated_hints("Exactly one nut is big.", SPEC, [ref]) == []


def test_a_number_to_word_mapping_is_read_from_the_rule():
    text = "Every cable has the colour of the count: yellow for 2 clamps, blue for 3, red for 5."
    assert stated_mapping(text) == {2: "yellow", 3: "blue", 5: "red"}
    assert stated_mapping("Colours: yellow with 2 clamps, blue with 3.") == {2: "yellow", 3: "blue"}
    assert stated_mapping("A lid for 2 nuts. A box with 3 trays.") == {}  # one pair per sentence
    assert stated_mapping("There are exactly two nuts.") == {}
    hint = mapping_hints(text, "def check(scene):\n    return []\n")
    assert '`wanted = {2: "yellow", 3: "blue", 5: "red"}`' in hint[0]
    written = 'def check(scene):\n    w = {2: "yellow", 3: "blue", 5: "red"}\n'
    assert mapping_hints(text, written) == []


def test_some_part_is_read_as_any_of_them():
    vocab = ["compartment", "pushpin", "connector"]
    text = "Every pushpin's centroid lies inside the bounding box of some compartment."
    assert existential_labels(text, vocab) == ["compartment"]
    other = "No pushpin may lie outside: it is within the box of at least one compartment."
    assert existential_labels(other, vocab) == ["compartment"]
    condition = "If there is at least one connector, every pushpin is yellow."
    assert existential_labels(condition, vocab) == []  # a condition, not "some"
    assert existential_labels("Every pushpin is yellow.", vocab) == []
    code = "def check(scene):\n    return []\n"
    assert "SOME compartment" in existential_hints(text, code, vocab)[0]
    uses_any = "def check(scene):\n    ok = any(c.contains(p) for c in cs)\n"
    assert existential_hints(text, uses_any, vocab) == []


def test_counts_per_holding_part_and_attribute_values_promise_verdicts():
    vocab = ["compartment", "pushpin", "cable"]
    text = "Every compartment holds exactly one pushpin. Each cable has 2 pushpins."
    assert per_part_counts(text, vocab) == {"pushpin": ("compartment", 1)}
    assert per_part_counts("If there is a cable, each cable holds one pushpin.", vocab) == {}
    ref = reference()  # one tray, two nuts
    changes = propose_mutations(SPEC, ref)
    # With one tray, "two nuts" is also the total count (so a third nut breaks it too).
    exp = stated_expectations("Each tray holds two nuts.", SPEC, [ref], changes)
    assert exp == {"remove:nut": True, "remove_all:nut": True, "duplicate:nut": True}
    # Two trays and four nuts: only the count per tray holds, and a nut added next to
    # another may land in either tray, so only removals get a verdict.
    two = copy.deepcopy(ref)
    extra = [c for c in two["components"] if c["label"] in ("tray", "nut")]
    two["components"] += [{**copy.deepcopy(c), "id": f"x{i}"} for i, c in enumerate(extra)]
    exp = stated_expectations("Each tray holds two nuts.", SPEC, [two], changes)
    assert exp == {"remove:nut": True, "remove_all:nut": True}
    assert stated_expectations("Each tray holds one nut.", SPEC, [ref], changes) == {}
    # Number attributes fixed by name or by equality; a change to None promises nothing.
    data = SPEC.model_dump(mode="json")
    data["components"][2]["attributes"] = [
        {"name": "pieces", "type": "number"},
        {"name": "left", "type": "number", "nullable": True},
        {"name": "right", "type": "number", "nullable": True},
    ]
    spec = type(SPEC).model_validate(data)
    for c in ref["components"]:
        if c["label"] == "nut":
            c["attributes"] = {"pieces": 1, "left": 2, "right": 2}
    changes = propose_mutations(spec, ref)
    whole = "Every nut is in one piece (its pieces attribute is 1)."
    assert stated_attribute_values(whole, spec) == [("nut", "pieces", 1.0)]
    assert stated_expectations(whole, spec, [ref], changes) == {
        "set_attr:nut:pieces=2": True,
        "set_attr:nut:pieces=0": True,
    }
    same = "Every nut that has both sides set is symmetric: its left equals its right."
    assert stated_equal_attributes(same, spec) == [("nut", "left", "right")]
    assert stated_expectations(same, spec, [ref], changes) == {
        "set_attr:nut:left=3": True,
        "set_attr:nut:left=1": True,
        "set_attr:nut:right=3": True,
        "set_attr:nut:right=1": True,
        # "every nut that ...": a nut without one of the values is not one it is about
        "set_attr:nut:left=None": False,
        "set_attr:nut:right=None": False,
    }
    # References that disagree with the stated value promise nothing.
    assert stated_expectations(whole.replace("is 1", "is 2"), spec, [ref], changes) == {}


def test_a_definite_holder_of_a_stated_count_is_needed() -> None:
    ref = reference()  # one lid, two nuts
    muts = propose_mutations(SPEC, ref)
    text = "The lid carries exactly two nuts."
    assert per_part_counts(text, SPEC.vocabulary) == {}  # not "every lid"
    assert per_part_counts(text, SPEC.vocabulary, definite=True) == {"nut": ("lid", 2)}
    expected = stated_expectations(text, SPEC, [ref], muts)
    assert expected["remove:lid"] is True
    assert any(
        "report a violation when there is no lid" in h for h in stated_hints(text, SPEC, [ref])
    )
    # Not when the references disagree with the count, nor under a condition.
    assert "remove:lid" not in stated_expectations(
        "The lid carries exactly three nuts.", SPEC, [ref], muts
    )
    conditional = stated_expectations(
        "If there is a lid, the lid carries two nuts.", SPEC, [ref], muts
    )
    assert conditional["remove:lid"] is False  # the condition's reading: removing it keeps


def _slotted_nuts(**values: int) -> tuple:
    """The test product with nullable number attributes slot and row on the nuts, a reference
    whose nuts have ``values``, and its counterexamples."""
    data = SPEC.model_dump(mode="json")
    data["components"][2]["attributes"] = [
        {"name": "slot", "type": "number", "nullable": True},
        {"name": "row", "type": "number", "nullable": True},
    ]
    spec = type(SPEC).model_validate(data)
    ref = reference()
    for c in ref["components"]:
        if c["label"] == "nut":
            c["attributes"] = dict(values)
    return spec, ref, propose_mutations(spec, ref)


def test_attributes_the_rule_requires_set_break_it_when_unset() -> None:
    from logicode.codegen.phrases import stated_set_attributes

    spec, ref, muts = _slotted_nuts(slot=1, row=2)
    unset = {m.key() for m in muts if m.op == "set_attr" and m.value is None}
    assert unset  # nullable attributes get unset counterexamples
    for text in (
        "Every nut is placed: its slot and its row are both set (not null).",
        "No nut may be loose: both slot and row have a value (neither is null).",
    ):
        assert stated_set_attributes(text, spec) == [("nut", "slot"), ("nut", "row")]
        expected = stated_expectations(text, spec, [ref], muts)
        assert {k for k, v in expected.items() if v} >= unset
    assert stated_set_attributes("Every nut's slot equals its row.", spec) == []
    # Not where a reference lacks the value already.
    ref["components"][2]["attributes"]["slot"] = None
    text = "Every nut's slot is set."
    assert not any(k in unset for k in stated_expectations(text, spec, [ref], muts))


def test_parts_a_restricted_equality_is_not_about_may_lack_a_value() -> None:
    spec, ref, muts = _slotted_nuts(slot=1, row=1)
    unset = {m.key() for m in muts if m.op == "set_attr" and m.value is None}
    other = {
        m.key() for m in muts if m.op == "set_attr" and m.label == "nut" and m.value is not None
    }
    restricted = "Every nut that sits in a slot sits in its row: its slot equals its row."
    expected = stated_expectations(restricted, spec, [ref], muts)
    assert all(expected[k] is False for k in unset) and all(expected[k] for k in other)
    plain = stated_expectations("Every nut's slot equals its row.", spec, [ref], muts)
    assert not any(k in plain for k in unset) and all(plain[k] for k in other)
    plugged = "For every nut placed in a slot, the slot is the same as the row."
    expected = stated_expectations(plugged, spec, [ref], muts)  # a participle restricts too
    assert all(expected[k] is False for k in unset) and all(expected[k] for k in other)


def test_a_few_allowed_values_of_a_number_attribute_break_it_when_left() -> None:
    from logicode.codegen.phrases import stated_attribute_sets

    spec, ref, muts = _slotted_nuts(slot=2, row=1)
    rule = "Every nut must sit in slot 1, 2 or 3; no other slot exists."
    assert stated_attribute_sets("Every nut has 1, 2 or 3 slots.", spec) == [
        ("nut", "slot", {1.0, 2.0, 3.0})
    ]
    assert stated_attribute_sets(rule, spec) == []  # the numbers do not come before the name
    expected = stated_expectations("Every nut has 2 or 4 slots.", spec, [ref], muts)
    changed = {m.key(): m.value for m in muts if m.op == "set_attr" and m.attr == "slot"}
    assert {k for k, v in changed.items() if v not in (None, 2, 4)} == set(expected)
    assert all(expected.values())
    # References outside the allowed values promise nothing.
    assert stated_expectations("Every nut has 5 or 6 slots.", spec, [ref], muts) == {}


def test_a_short_span_after_a_number_attribute_allows_its_whole_numbers() -> None:
    from logicode.codegen.phrases import number_spans, stated_attribute_sets

    spec, ref, muts = _slotted_nuts(slot=2, row=1)
    for rule in ("Each nut has slot 1 to 3.", "slots from 1 to 3", "slot between 1 and 3"):
        assert stated_attribute_sets(rule, spec) == [("nut", "slot", {1.0, 2.0, 3.0})], rule
    # Percentages, decimals and wide spans bound a measure: no set of whole numbers.
    for rule in ("slot 10% to 30%", "slot 0.5 to 2.0", "slot 1 to 40", "slot 3 to 1"):
        assert stated_attribute_sets(rule, spec) == [] and number_spans(rule) == set(), rule
    assert number_spans("row 0 to 2 and col 0-4") == {0.0, 1.0, 2.0, 3.0, 4.0}
    # The references have slot 2; 1 lies outside "2 to 3" and breaks the rule, 3 does not.
    expected = stated_expectations("Every nut has slot 2 to 3.", spec, [ref], muts)
    assert expected == {"set_attr:nut:slot=1": True}


def test_two_parts_values_the_rule_says_must_match_break_it_when_changed() -> None:
    from logicode.spec import load_spec

    jb = load_spec("juice_bottle")
    rule = "The icon's fruit and the juice's kind must be identical."
    assert stated_matching_attributes(rule, jb) == [(("liquid", "juice"), ("fruit_icon", "kind"))]
    assert stated_matching_attributes("The juice is cherry or banana.", jb) == []  # no match word

    def scene(juice: str, kind: str) -> dict:
        return {
            "components": [
                {"id": "c0", "label": "liquid", "attributes": {"juice": juice}},
                {"id": "c1", "label": "fruit_icon", "attributes": {"kind": kind}},
            ]
        }

    from logicode.codegen.counterexamples import Mutation

    changes = [
        Mutation("set_attr", "liquid", attr="juice", value="banana"),
        Mutation("set_attr", "fruit_icon", attr="kind", value="unknown"),
        Mutation("move", "liquid", dx=0.1, dy=0.0),
    ]
    exp = stated_expectations(rule, jb, [scene("cherry", "cherry")], changes)
    assert exp == {"set_attr:liquid:juice=banana": True, "set_attr:fruit_icon:kind=unknown": True}
    # References that disagree promise nothing.
    assert stated_expectations(rule, jb, [scene("cherry", "orange")], changes) == {}


def test_turning_a_part_kept_upright_within_a_few_degrees_breaks_it() -> None:
    from logicode.codegen.phrases import upright_labels

    ref = reference()
    changes = propose_mutations(SPEC, ref)
    rule = "The lid and every nut are upright: none is rotated by more than 3 degrees."
    assert upright_labels(rule, VOCAB) == ["lid", "nut"]
    expected = stated_expectations(rule, SPEC, [ref], changes)
    assert {k for k, v in expected.items() if v and k.startswith("rotate")} == {
        m.key() for m in changes if m.op == "rotate" and m.label in ("lid", "nut")
    }
    assert upright_labels("The lid is tilted at most 30 degrees.", VOCAB) == []  # too wide
    assert upright_labels("The lid lies within 3 degrees of north.", VOCAB) == []  # no tilt word
