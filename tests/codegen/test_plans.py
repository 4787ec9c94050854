"""Rule plans: parsing, the grammar's vocabulary, and the code written from them (run for real)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator

import pytest
from test_counterexamples import SPEC, reference  # noqa: E402  (tests/codegen on sys.path)

import sandbox
from logicode.codegen.plans import (
    PlanError,
    describe_vocabulary,
    label_attributes,
    named_labels,
    parse_plan,
    plan_grammar,
    plan_numbers,
    render,
    word_checks,
)

ATTRS = label_attributes(SPEC)


@pytest.fixture(scope="module")
def pool() -> Iterator[sandbox.SandboxPool]:
    with sandbox.SandboxPool(api_module="logicode.ruleapi", workers=1) as p:
        yield p


def plan(*checks: dict) -> list:
    return parse_plan(json.dumps({"checks": list(checks)}), SPEC.vocabulary, ATTRS)


def verdicts(pool: sandbox.SandboxPool, checks: list, scenes: list[dict]) -> list[str]:
    code = render(checks, ATTRS)
    sandbox.compile_rule(code)  # the written code passes the sandbox policy
    pack = pool.load_pack({"rule": code})
    try:
        return [r["rule"]["status"] for r in pool.evaluate(pack, scenes)]
    finally:
        pool.unload_pack(pack)


def moved(scene: dict, label: str, dx: float = 0, dy: float = 0, **changes) -> dict:
    """A copy of scene with every ``label`` box shifted (and fields replaced)."""
    out = copy.deepcopy(scene)
    for c in out["components"]:
        if c["label"] == label:
            x0, y0, x1, y1 = c["bbox"]
            c["bbox"] = [x0 + dx, y0 + dy, x1 + dx, y1 + dy]
            cx, cy = c["centroid"]
            c["centroid"] = [cx + dx, cy + dy]
            c.update(changes)
    return out


def without(scene: dict, label: str) -> dict:
    out = copy.deepcopy(scene)
    out["components"] = [c for c in out["components"] if c["label"] != label]
    return out


def names_used(grammar: str) -> set[str]:
    """The rule names a grammar uses, after asserting each is defined exactly once."""
    names = [line.split(" ::= ")[0] for line in grammar.splitlines()]
    assert len(names) == len(set(names))
    used = set()
    for line in grammar.splitlines():
        rhs = re.sub(r'"(?:[^"\\]|\\.)*"', " ", line.split(" ::= ", 1)[1])
        rhs = re.sub(r"\[[^\]]*\]|\{[0-9,]*\}", " ", rhs)
        used |= set(re.findall(r"[a-z][a-z0-9-]*", rhs))
    assert used <= set(names), used - set(names)
    return used


def test_parse_errors_name_what_is_wrong() -> None:
    with pytest.raises(PlanError, match="no JSON"):
        parse_plan("I think the rule means two nuts", SPEC.vocabulary, ATTRS)
    with pytest.raises(PlanError, match="'check' must be one of"):
        plan({"check": "exists", "label": "nut"})
    with pytest.raises(PlanError, match="'bolt' is not a label"):
        plan({"check": "count", "label": "bolt", "min": 1, "max": 1, "inside": None})
    with pytest.raises(PlanError, match="nut has no attribute 'kind'"):
        plan({"check": "values", "label": "nut", "attribute": "kind", "allowed": ["round"]})
    with pytest.raises(PlanError, match="needs 'other'"):
        plan({"check": "relation", "label": "nut", "relation": "above"})
    with pytest.raises(PlanError, match="non-empty"):
        parse_plan('{"checks": []}', SPEC.vocabulary, ATTRS)


def test_grammar_allows_only_the_products_labels_attributes_and_values() -> None:
    g = plan_grammar(SPEC)
    assert 'label ::= "\\"tray\\"" | "\\"lid\\"" | "\\"nut\\""' in g
    assert '"\\"round\\"" | "\\"square\\""' in g  # the lid's kinds
    assert "bolt" not in g
    # Each name is defined once (a second definition adds alternatives in llama.cpp: a
    # relation name that was also the relation check let the model nest checks forever),
    # and every name used is defined.
    used = names_used(g)
    assert {f"check-{k}" for k in ("count", "values", "relation", "size", "match")} <= used
    assert "- lid: kind: round, square; color (its colour name)" in describe_vocabulary(SPEC)


def test_count_and_count_inside(pool: sandbox.SandboxPool) -> None:
    ref = reference()
    checks = plan({"check": "count", "label": "nut", "min": 2, "max": 2, "inside": "tray"})
    outside = moved(ref, "nut", dx=200)  # both nuts leave the tray
    extra = copy.deepcopy(ref)
    extra["components"].append({**extra["components"][3], "id": "c9"})
    scenes = [ref, without(ref, "nut"), outside, extra]
    assert verdicts(pool, checks, scenes) == ["pass", "fail", "fail", "fail"]
    at_least = plan({"check": "count", "label": "nut", "min": 1, "max": None, "inside": None})
    assert verdicts(pool, at_least, [ref, without(ref, "nut")]) == ["pass", "fail"]


def test_values_same_and_match(pool: sandbox.SandboxPool) -> None:
    ref = reference()
    square = moved(ref, "lid", attributes={"kind": "square"})
    values = plan({"check": "values", "label": "lid", "attribute": "kind", "allowed": ["round"]})
    assert verdicts(pool, values, [ref, square]) == ["pass", "fail"]
    colour = plan({"check": "values", "label": "lid", "attribute": "color", "allowed": ["red"]})
    assert verdicts(pool, colour, [ref]) == ["pass"]
    same = plan({"check": "same", "label": "nut", "attribute": "area", "tolerance": 0.1})
    big = copy.deepcopy(ref)
    big["components"][3]["area"] *= 2
    assert verdicts(pool, same, [ref, big]) == ["pass", "fail"]


def test_relation_centred_position_size_upright(pool: sandbox.SandboxPool) -> None:
    ref = reference()  # tray 30..270 x 20..180; lid 120..180 x 40..80; nuts at y 120..140
    below = plan({"check": "relation", "label": "nut", "relation": "below", "other": "lid"})
    assert verdicts(pool, below, [ref, moved(ref, "nut", dy=-100)]) == ["pass", "fail"]
    assert verdicts(pool, below, [without(ref, "lid")]) == ["pass"]  # absent: holds
    centred = plan(
        {"check": "centred", "label": "lid", "other": "tray", "axis": "x", "tolerance": 5}
    )  # 5 means 5 %
    assert verdicts(pool, centred, [ref, moved(ref, "lid", dx=30)]) == ["pass", "fail"]
    top = plan(
        {
            "check": "position",
            "label": "lid",
            "other": "tray",
            "edge": "top",
            "min": 0.2,
            "max": 0.05,
        }
    )  # min and max given the wrong way round: sorted
    assert verdicts(pool, top, [ref, moved(ref, "lid", dy=60)]) == ["pass", "fail"]
    size = plan(
        {"check": "size", "label": "lid", "measure": "area", "of": "tray", "min": 0.05, "max": 0.1}
    )
    assert verdicts(pool, size, [ref]) == ["pass"]  # 2400 / 38400 = 0.0625
    assert verdicts(pool, plan({**size[0].fields, "check": "size", "max": 0.06}), [ref]) == ["fail"]
    upright = plan({"check": "upright", "label": "lid", "max_degrees": 3})
    tilted = moved(ref, "lid", orientation=20.0)
    assert verdicts(pool, upright, [ref, tilted]) == ["pass", "fail"]


def test_compiler_falls_back_to_a_plan_when_no_written_code_is_valid(
    pool: sandbox.SandboxPool,
) -> None:
    from test_compiler import FALSE_ALARM, VACUOUS, compile_with

    good_plan = (
        '{"checks": [{"check": "count", "label": "nut", "min": 2, "max": 2, "inside": null}]}'
    )
    script = [FALSE_ALARM, VACUOUS, FALSE_ALARM, VACUOUS, "not a plan", good_plan]
    _, out, chat = compile_with(pool, script, candidates=1, max_rounds=3)
    assert out.entry.status == "ok", out.entry.reason
    assert "found {len(found1)} nut" in out.code
    steps = [t["step"] for t in out.transcript]
    assert steps[-3:] == ["plan 1", "plan 2", "plan 2 code"]
    assert "no JSON object" in out.transcript[-3]["feedback"]
    # The plan prompt explains the kinds and lists this product's labels; the second plan
    # repairs the first: the unreadable answer and what was wrong with it go back.
    system, rule, bad, repair = chat.calls[-1]
    assert "- nut: color (its colour name)" in system.content
    assert rule.content.strip() == "Rule: There are exactly two nuts."
    assert bad.content == "not a plan" and "no JSON object" in repair.content

    _, off, _ = compile_with(pool, script[:4], candidates=1, max_rounds=3, plans=False)
    assert off.entry.status == "failed"
    assert not any(t["step"].startswith("plan") for t in off.transcript)


def test_a_vacuous_plan_is_still_refused(pool: sandbox.SandboxPool) -> None:
    from test_compiler import VACUOUS, compile_with

    lid_plan = (
        '{"checks": [{"check": "relation", "label": "lid", "relation": "inside", "other": "tray"}]}'
    )
    _, out, chat = compile_with(
        pool,
        [VACUOUS, lid_plan, lid_plan],
        candidates=1,
        max_rounds=0,
        plan_candidates=3,
        word_checks=False,
    )
    assert out.entry.status == "failed"  # never fires when nuts are removed or added
    # Later plans are fresh samples from the rule (temperature 1), not repairs: a repaired
    # plan came back unchanged; a repeated plan is not evaluated twice.
    code_call, plan1, plan2, plan3 = chat.calls
    assert len(plan1) == len(plan2) == len(plan3) == 2
    steps = [t["step"] for t in out.transcript]
    assert "plan 1 code" in steps and "plan 2" in steps and "plan 2 code" not in steps


def test_percentages_copied_as_numbers_become_fractions() -> None:
    rule = "The lid covers between 20% and 35% of the tray's area; nuts are 0.5 to 2 lids."
    size = {"check": "size", "label": "lid", "measure": "area", "of": "tray"}
    text = json.dumps({"checks": [{**size, "min": 35, "max": 20}]})
    (check,) = parse_plan(text, SPEC.vocabulary, ATTRS, rule)
    assert (check.fields["min"], check.fields["max"]) == (0.2, 0.35)
    ratio = json.dumps({"checks": [{**size, "min": 0.5, "max": 2}]})
    (check,) = parse_plan(ratio, SPEC.vocabulary, ATTRS, rule)
    assert (check.fields["min"], check.fields["max"]) == (0.5, 2.0)  # a ratio stays
    (count,) = plan({"check": "count", "label": "nut", "min": 3, "max": 1, "inside": "nut"})
    assert (count.fields["min"], count.fields["max"], count.fields["inside"]) == (1, 3, None)


def test_values_outside_the_attribute_are_refused_so_no_text_reaches_the_code() -> None:
    with pytest.raises(PlanError, match="lid.kind cannot be 'oval'"):
        plan({"check": "values", "label": "lid", "attribute": "kind", "allowed": ["oval"]})
    sneaky = 'red", *__import__("os").environ, "'
    with pytest.raises(PlanError, match="cannot be"):
        plan({"check": "values", "label": "lid", "attribute": "color", "allowed": [sneaky]})
    (dup,) = plan(
        {"check": "values", "label": "lid", "attribute": "kind", "allowed": ["round", "round"]}
    )
    assert dup.fields["allowed"] == ["round"]
    match = plan(
        {"check": "match", "label": "lid", "attribute": "kind", "other": "nut",
         "other_attribute": "color", "never": ["round", sneaky]}
    )  # fmt: skip
    assert match[0].fields["never"] == ["round"]


def test_each_set_and_equal(pool: sandbox.SandboxPool) -> None:
    ref = reference()  # a tray holding two nuts, a lid beside them
    each = plan({"check": "each", "label": "tray", "holds": "nut", "min": 2, "max": 2})
    one_left = copy.deepcopy(ref)
    one_left["components"] = [c for c in one_left["components"] if c["id"] != "c3"]
    assert verdicts(pool, each, [ref, one_left, without(ref, "tray")]) == ["pass", "fail", "pass"]
    with pytest.raises(PlanError, match="each needs 'holds'"):
        plan({"check": "each", "label": "tray", "holds": "tray", "min": 1, "max": 1})
    # A label with a nullable slot and a second number: "set" and "equal" become possible.
    data = SPEC.model_dump(mode="json")
    data["components"][2]["attributes"] = [
        {"name": "slot", "type": "number", "nullable": True},
        {"name": "row", "type": "number"},
    ]
    spec = type(SPEC).model_validate(data)
    attrs = label_attributes(spec)
    grammar = plan_grammar(spec)
    assert '"label\\": \\"nut\\", \\"attribute\\": \\"slot\\"' in grammar.split("check-set ::=")[1]
    assert "check-equal ::=" in grammar and "check-set ::=" not in plan_grammar(SPEC)
    # For a rule, only attributes it names.
    named = plan_grammar(spec, "Every nut's slot is set.")
    assert "check-set ::=" in named and "check-equal ::=" not in named
    assert "check-equal ::=" in plan_grammar(spec, "Every nut's slot equals its row.")

    def nuts(slot: object, row: object) -> dict:
        out = copy.deepcopy(ref)
        for c in out["components"]:
            if c["label"] == "nut":
                c["attributes"] = {"slot": slot, "row": row}
        return out

    def run(check: dict, scenes: list[dict]) -> list[str]:
        code = render(parse_plan(json.dumps({"checks": [check]}), spec.vocabulary, attrs), attrs)
        pack = pool.load_pack({"rule": code})
        try:
            return [r["rule"]["status"] for r in pool.evaluate(pack, scenes)]
        finally:
            pool.unload_pack(pack)

    is_set = {"check": "set", "label": "nut", "attribute": "slot"}
    assert run(is_set, [nuts(1, 1), nuts(None, 1)]) == ["pass", "fail"]
    equal = {"check": "equal", "label": "nut", "attribute": "slot", "other_attribute": "row"}
    assert run(equal, [nuts(1, 1), nuts(1, 2), nuts(None, 2)]) == ["pass", "fail", "pass"]
    with pytest.raises(PlanError, match="equal needs two attributes of nut"):
        parse_plan(
            json.dumps({"checks": [{**equal, "other_attribute": "kind"}]}), spec.vocabulary, attrs
        )


def test_checks_that_reject_a_normal_reference_are_dropped_from_a_plan(
    pool: sandbox.SandboxPool,
) -> None:
    from test_compiler import VACUOUS, compile_with

    count = {"check": "count", "label": "nut", "min": 2, "max": 2, "inside": None}
    above_lid = {"check": "relation", "label": "nut", "relation": "above", "other": "lid"}
    mixed = json.dumps({"checks": [above_lid, count, count]})  # nuts lie below: a false alarm
    _, out, _ = compile_with(pool, [VACUOUS, mixed], candidates=1, max_rounds=0)
    assert out.entry.status == "ok", out.entry.reason
    steps = [t["step"] for t in out.transcript]
    assert steps[-3:] == ["plan 1", "plan 1 code", "plan 1 kept 1 of 3 checks"]
    assert "found {len(found1)} nut" in out.code and "above" not in out.code
    # Nothing to drop when every check holds on the references (or only one is given).
    lid_only = json.dumps({"checks": [above_lid]})
    _, out, _ = compile_with(
        pool, [VACUOUS, lid_only], candidates=1, max_rounds=0, plan_candidates=1, word_checks=False
    )
    assert out.entry.status == "failed"
    assert not any("kept" in t["step"] for t in out.transcript)


def test_checks_on_colours_or_values_the_rule_never_mentions_are_dropped() -> None:
    rule = "Every nut lies in the tray: its centre is inside the tray's box."
    inside = {"check": "relation", "label": "nut", "relation": "inside", "other": "tray"}
    colours = {"check": "values", "label": "nut", "attribute": "color", "allowed": ["red"]}
    alike = {"check": "same", "label": "nut", "attribute": "color", "tolerance": 0}
    text = json.dumps({"checks": [colours, inside, alike]})
    assert [c.kind for c in parse_plan(text, SPEC.vocabulary, ATTRS, rule)] == ["relation"]
    with pytest.raises(PlanError, match="the rule does not mention"):
        parse_plan(json.dumps({"checks": [colours]}), SPEC.vocabulary, ATTRS, rule)
    # Named colours, enum values and the word colour keep them (grey is gray).
    said = "Every nut is grey or red, all nuts have one colour, and the lid is round."
    kinds = {"check": "values", "label": "lid", "attribute": "kind", "allowed": ["round"]}
    grey = {**colours, "allowed": ["gray"]}
    text = json.dumps({"checks": [grey, alike, kinds]})
    assert len(parse_plan(text, SPEC.vocabulary, ATTRS, said)) == 3
    # Without the rule's text (tests, tools), nothing is dropped.
    assert len(parse_plan(json.dumps({"checks": [colours]}), SPEC.vocabulary, ATTRS)) == 1


def test_the_grammar_for_a_rule_offers_only_the_values_it_names() -> None:
    lid_values = '"\\"round\\"" | "\\"square\\""'
    where = plan_grammar(SPEC, "Every nut lies inside the tray.")
    # No colour or kind named: no values check, no colour sameness.
    assert "check-values ::=" not in where and lid_values not in where
    assert '"\\"color\\""' not in where.split("check-same ::=")[1].splitlines()[0]
    round_lid = plan_grammar(SPEC, "The lid is round, and every nut has one colour.")
    assert 'check-values ::= "{\\"check\\": \\"values\\""' in round_lid
    assert '"\\"round\\""' in round_lid and '"\\"square\\""' not in round_lid
    assert '"\\"color\\""' in round_lid.split("check-same ::=")[1].splitlines()[0]
    # "each" needs a count per part in the rule's words.
    assert "check-each ::=" not in where
    per_tray = plan_grammar(SPEC, "Each tray holds exactly two nuts.")
    assert "check-each ::=" in per_tray
    # Still one definition per name, every name used defined.
    for g in (where, round_lid, per_tray):
        names_used(g)


def _bag_spec() -> tuple:
    """The test product with sizes and slots: nuts with a width_mm and a slot, a lid with holes."""
    data = SPEC.model_dump(mode="json")
    data["components"][1]["attributes"].append({"name": "holes", "type": "number"})
    data["components"][2]["attributes"] = [
        {"name": "width_mm", "type": "number"},
        {"name": "slot", "type": "number"},
        {"name": "finish", "type": "enum", "values": ["zinc", "black", "brass"]},
    ]
    spec = type(SPEC).model_validate(data)
    return spec, label_attributes(spec)


def _run(pool: sandbox.SandboxPool, code: str, scenes: list[dict]) -> list[str]:
    sandbox.compile_rule(code)
    pack = pool.load_pack({"rule": code})
    try:
        return [r["rule"]["status"] for r in pool.evaluate(pack, scenes)]
    finally:
        pool.unload_pack(pack)


def _with(scene: dict, label: str, *values: dict) -> dict:
    """A copy of scene whose ``label`` parts get these attributes, in order."""
    out = copy.deepcopy(scene)
    parts = [c for c in out["components"] if c["label"] == label]
    for c, v in zip(parts, values, strict=True):
        c["attributes"] = {**(c.get("attributes") or {}), **v}
    return out


def test_scaled_measures_against_the_mean_of_another_label(pool: sandbox.SandboxPool) -> None:
    spec, attrs = _bag_spec()
    rule = (
        "Let D be the mean width_mm of the nuts. Every lid's holes is between 1.75 and 2.25"
        " times D or between 2.7 and 3.3 times D. If there is no nut, this rule holds."
    )
    check = {
        "check": "scaled", "label": "lid", "measure": "holes", "of": "nut",
        "of_measure": "width_mm", "ranges": [[2.25, 1.75], [2.7, 3.3]], "exactly": None,
    }  # fmt: skip
    (parsed,) = parse_plan(json.dumps({"checks": [check]}), spec.vocabulary, attrs, rule)
    assert parsed.fields["ranges"] == [[1.75, 2.25], [2.7, 3.3]]  # each range sorted
    code = render([parsed], attrs)
    nuts = _with(reference(), "nut", {"width_mm": 4}, {"width_mm": 6})  # mean 5
    scenes = [
        _with(nuts, "lid", {"holes": 10}),  # 2.0 D: short
        _with(nuts, "lid", {"holes": 15}),  # 3.0 D: long
        _with(nuts, "lid", {"holes": 12}),  # 2.4 D: neither
        without(_with(reference(), "lid", {"holes": 12}), "nut"),  # no nut: holds
    ]
    assert _run(pool, code, scenes) == ["pass", "pass", "fail", "pass"]
    # "exactly": how many parts lie in the ranges (one long part, by the mean of the nuts).
    one_long = {**check, "label": "nut", "measure": "area", "of": "lid", "of_measure": "area",
                "ranges": [[0.15, 0.2]], "exactly": 1}  # fmt: skip
    code = render(parse_plan(json.dumps({"checks": [one_long]}), spec.vocabulary, attrs), attrs)
    ref = reference()  # nuts 400 px each, lid 2400 px: 0.167 each
    bigger = copy.deepcopy(ref)
    bigger["components"][3]["area"] = 800
    assert _run(pool, code, [ref, bigger, without(ref, "lid")]) == ["fail", "pass", "pass"]
    with pytest.raises(PlanError, match="nut has no number attribute 'holes'"):
        parse_plan(
            json.dumps({"checks": [{**check, "of_measure": "holes"}]}), spec.vocabulary, attrs
        )
    with pytest.raises(PlanError, match="one to three"):
        parse_plan(json.dumps({"checks": [{**check, "ranges": []}]}), spec.vocabulary, attrs)
    # Offered only where the rule scales by a mean or "times"; measures the rule names.
    grammar = plan_grammar(spec, rule)
    assert "check-scaled ::=" in grammar
    assert '"\\"area\\""' not in grammar.split("check-scaled ::=")[1].splitlines()[0]
    assert "check-scaled ::=" not in plan_grammar(spec, "There are exactly two nuts.")
    names_used(grammar)


def test_map_takes_its_pairs_from_the_rule(pool: sandbox.SandboxPool) -> None:
    spec, attrs = _bag_spec()
    rule = (
        "If all lids have the same number of holes, every nut has the finish of that count:"
        " zinc for 4 holes, brass for 6 holes."
    )
    check = {"check": "map", "label": "nut", "attribute": "finish", "other": "lid",
             "other_attribute": "holes"}  # fmt: skip
    (parsed,) = parse_plan(json.dumps({"checks": [check]}), spec.vocabulary, attrs, rule)
    assert parsed.fields["pairs"] == {4: "zinc", 6: "brass"}
    code = render([parsed], attrs)
    base = _with(reference(), "lid", {"holes": 4})
    zinc = _with(base, "nut", {"finish": "zinc"}, {"finish": "zinc"})
    brass = _with(base, "nut", {"finish": "zinc"}, {"finish": "brass"})
    five = _with(zinc, "lid", {"holes": 5})  # no pair for 5: holds
    assert _run(pool, code, [zinc, brass, five, without(brass, "lid")]) == [
        "pass", "fail", "pass", "pass"
    ]  # fmt: skip
    # Without pairs in the rule there is no map; the grammar offers it only with them.
    with pytest.raises(PlanError, match="pair numbers with values"):
        parse_plan(json.dumps({"checks": [check]}), spec.vocabulary, attrs, "Nuts are zinc.")
    grammar = plan_grammar(spec, rule)
    assert "check-map ::=" in grammar and "check-map ::=" not in plan_grammar(spec, "Nuts.")
    assert '\\"attribute\\": \\"color\\"' not in grammar.split("check-map ::=")[1].splitlines()[0]
    names_used(grammar)


def test_distinct_parts_never_share_values(pool: sandbox.SandboxPool) -> None:
    spec, attrs = _bag_spec()
    rule = "Every slot occurs once: no two nuts share a slot."
    check = {"check": "distinct", "label": "nut", "attributes": ["slot", "slot"]}
    (parsed,) = parse_plan(json.dumps({"checks": [check]}), spec.vocabulary, attrs, rule)
    assert parsed.fields["attributes"] == ["slot"]
    code = render([parsed], attrs)
    ref = reference()
    scenes = [
        _with(ref, "nut", {"slot": 1}, {"slot": 2}),
        _with(ref, "nut", {"slot": 1}, {"slot": 1}),
    ]
    assert _run(pool, code, scenes) == ["pass", "fail"]
    with pytest.raises(PlanError, match="distinct needs a list of nut's attributes"):
        plan({"check": "distinct", "label": "nut", "attributes": ["kind"]})
    grammar = plan_grammar(spec, rule)
    assert "check-distinct ::=" in grammar and "width_mm" not in grammar.split("d2 ::=")[1]
    assert "check-distinct ::=" not in plan_grammar(spec, "There are two nuts.")
    names_used(grammar)


def test_a_rule_about_a_centre_offers_only_centre_positions() -> None:
    centre = plan_grammar(SPEC, "The lid's centre lies between 10% and 30% of the tray's height.")
    assert 'edge ::= "\\"center_x\\"" | "\\"center_y\\""\n' in centre
    edge = plan_grammar(SPEC, "The lid's top edge lies 10% below the tray's centre.")
    assert '"\\"top\\""' in edge.split("edge ::= ")[1].splitlines()[0]


def test_a_valid_plan_loses_the_checks_of_numbers_it_does_not_need(
    pool: sandbox.SandboxPool,
) -> None:
    from test_compiler import VACUOUS, compile_with

    count = {"check": "count", "label": "nut", "min": 2, "max": 2, "inside": None}
    # 0 and 1 are numbers any plan may use (the ends of a share), but not ones the rule says.
    size = {"check": "size", "label": "lid", "measure": "area", "of": "tray", "min": 0, "max": 1}
    below = {"check": "relation", "label": "nut", "relation": "below", "other": "lid"}
    extra = json.dumps({"checks": [size, count, below]})
    _, out, _ = compile_with(pool, [VACUOUS, extra], candidates=1, max_rounds=0)
    assert out.entry.status == "ok", out.entry.reason
    steps = [t["step"] for t in out.transcript]
    assert steps[-2:] == ["plan 1 code", "plan 1 needs 1 of 3 checks"]
    # The size bound goes, and the relation too (the rule places nothing); the count stays.
    assert "tray" not in out.code and "found {len(found1)} nut" in out.code
    assert "below(a, b)" not in out.code
    # Where the rule places parts, a relation carries no number of its own and stays.
    from test_compiler import ScriptedChat

    from logicode.codegen.compiler import CompileSettings, RuleCompiler
    from logicode.spec import RuleSpec

    chat = ScriptedChat(script=[VACUOUS, extra], calls=[])
    placed = RuleSpec(id="nuts_low", text="There are exactly two nuts, below the lid.")
    comp = RuleCompiler(
        chat, SPEC, [reference()], pool, CompileSettings(candidates=1, max_rounds=0)
    )
    out = comp.compile_rule(placed)
    assert out.entry.status == "ok", out.entry.reason
    assert "below(a, b)" in out.code and "tray" not in out.code


def test_the_kind_the_words_call_for_leads_the_first_two_plans(pool: sandbox.SandboxPool) -> None:
    from test_compiler import VACUOUS, ScriptedChat

    from logicode.codegen.compiler import CompileSettings, RuleCompiler
    from logicode.codegen.plans import leading_kind

    assert leading_kind("Nuts are zinc for 4 holes, brass for 6 holes.") == "map"
    assert leading_kind("Let W be the mean nut width; every bolt is 2 to 3 times W.") == "scaled"
    assert leading_kind("Every (row, col) pair occurs exactly once.") == "distinct"
    assert leading_kind("With W the average nut width, a bolt is 2 W to 3 W long.") == "scaled"
    assert leading_kind("Every nut's area is within 8% of the median nut area.") == "same"
    assert leading_kind("The lid is 2 times as wide as a nut.") is None  # no mean: size does it
    assert leading_kind("There are exactly two nuts.") is None
    spec, _ = _bag_spec()
    assert leading_kind("Every nut is the small size: its width_mm is 4.", spec) == "values"
    assert leading_kind("Every nut is the small size: its width_mm is 4.") is None
    # "each" is offered where a per-part count names a label, not for "one piece".
    assert "check-each ::=" not in plan_grammar(spec, "Every nut is in one piece.")
    assert "check-each ::=" in plan_grammar(spec, "Every lid holds one nut.")

    spec, _ = _bag_spec()
    rule = "Let W be the mean width_mm of the nuts. The lid's holes is 1 to 2 times W."
    root = plan_grammar(spec, rule, lead="scaled").splitlines()[0]
    assert root == 'root ::= "{\\"checks\\": [" check-scaled (", " check){0,5} "]}"'
    assert plan_grammar(spec, "Two nuts.", lead="scaled") == plan_grammar(spec, "Two nuts.")

    class GrammarChat(ScriptedChat):
        accepts_grammar: bool = True
        grammars: list = []

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            self.grammars.append(kwargs.get("grammar"))
            return super()._generate(messages, stop, run_manager, **kwargs)

    chat = GrammarChat(script=[VACUOUS] + ["no plan"] * 5, calls=[], grammars=[])
    data = spec.model_dump(mode="json")
    data["rules"] = [{"id": "holes", "text": rule}]
    spec = type(spec).model_validate(data)
    comp = RuleCompiler(
        chat, spec, [reference()], pool, CompileSettings(candidates=1, max_rounds=0)
    )
    assert comp.compile_rule(spec.rules[0]).entry.status == "failed"
    plan_roots = [g.splitlines()[0] for g in chat.grammars[1:]]
    assert len(plan_roots) == 5
    assert all("check-scaled (" in r for r in plan_roots[:2])
    assert not any("check-scaled (" in r for r in plan_roots[2:])
    # The first two name only the labels the rule names (lid, nut: not the tray).
    named = 'label ::= "\\"lid\\"" | "\\"nut\\""\n'
    assert all(named in g for g in chat.grammars[1:3])
    assert not any(named in g for g in chat.grammars[3:])
    assert named_labels("The top lids lie on the nut.", ["tray", "lid", "nut"]) == ["lid", "nut"]


def test_checks_with_the_rules_own_numbers_stay_in_a_plan(pool: sandbox.SandboxPool) -> None:
    from test_compiler import VACUOUS, ScriptedChat

    from logicode.codegen.compiler import CompileSettings, RuleCompiler

    data = SPEC.model_dump(mode="json")
    data["rules"] = [
        {"id": "r", "text": "There are exactly two nuts, and nut and lid tilt at most 45 degrees."}
    ]
    spec = type(SPEC).model_validate(data)
    count = {"check": "count", "label": "nut", "min": 2, "max": 2, "inside": None}
    lid = {"check": "upright", "label": "lid", "max_degrees": 45}
    nut = {"check": "upright", "label": "nut", "max_degrees": 45}
    chat = ScriptedChat(script=[VACUOUS, json.dumps({"checks": [lid, count, nut]})], calls=[])
    comp = RuleCompiler(
        chat, spec, [reference()], pool, CompileSettings(candidates=1, max_rounds=0)
    )
    out = comp.compile_rule(spec.rules[0])
    assert out.entry.status == "ok", out.entry.reason
    assert not any("needs" in t["step"] for t in out.transcript)
    assert out.code.count("a.tilt > 45") == 2


def test_allowed_numbers_must_be_the_rules_own() -> None:
    spec, attrs = _bag_spec()
    check = {"check": "values", "label": "nut", "attribute": "slot", "allowed": [1, 2]}
    text = json.dumps({"checks": [check]})
    for rule in ("Every nut sits in slot 1 or 2.", "Every nut sits in slot one or two."):
        assert len(parse_plan(text, spec.vocabulary, attrs, rule)) == 1
    with pytest.raises(PlanError, match="the rule does not mention"):
        parse_plan(text, spec.vocabulary, attrs, "Both nuts sit in the same slot.")


def test_a_plan_uses_only_the_rules_own_numbers() -> None:
    ints, nums = plan_numbers("Its top edge lies between 16% and 24% of the tray's height.")
    assert ints == [0, 1, 16, 24] and nums == [0, 0.16, 0.24, 1, 16, 24]
    ints, _ = plan_numbers("The box holds one nectarine and only one; two lids, in the left half.")
    assert ints == [0, 1, 2]
    assert 0.5 in plan_numbers("It lies in the left half of the image.")[1]
    # Restatements in pixels are not the rule's numbers.
    assert 629 not in plan_numbers("37% to 50% of the width (between 629 and 850 pixels).")[1]

    grammar = plan_grammar(SPEC, "Every nut lies within 8% of the lid's width of its centre.")
    assert 'int ::= "0" | "1" | "8"\n' in grammar
    assert 'num ::= "0" | "0.08" | "1" | "8"\n' in grammar
    assert "[0-9]" in plan_grammar(SPEC)  # without the rule, any number

    # A check with a number the rule does not state is dropped (seen: "within 8% of their
    # mean" for a rule about the left compartment); the stated ones and 0 and 1 stay.
    rule = "No nut lies right of the lid."
    made_up = {"check": "same", "label": "nut", "attribute": "area", "tolerance": 0.08}
    right = {"check": "relation", "label": "nut", "relation": "left_of", "other": "lid"}
    plan = parse_plan(json.dumps({"checks": [made_up, right]}), SPEC.vocabulary, ATTRS, rule)
    assert [c.kind for c in plan] == ["relation"]
    with pytest.raises(PlanError, match="numbers the rule does not mention"):
        parse_plan(json.dumps({"checks": [made_up]}), SPEC.vocabulary, ATTRS, rule)
    twelve = {"check": "upright", "label": "lid", "max_degrees": 12}
    assert parse_plan(
        json.dumps({"checks": [twelve]}), SPEC.vocabulary, ATTRS, "at most 12 degrees"
    )


def test_a_relation_that_rejects_the_references_is_turned_round(pool: sandbox.SandboxPool) -> None:
    from test_compiler import VACUOUS, ScriptedChat

    from logicode.codegen.compiler import CompileSettings, RuleCompiler
    from logicode.spec import RuleSpec

    # The nuts lie below the lid in the reference; the plan says above (the wrong way round).
    above = {"check": "relation", "label": "nut", "relation": "above", "other": "lid"}
    chat = ScriptedChat(script=[VACUOUS, json.dumps({"checks": [above]})], calls=[])
    comp = RuleCompiler(
        chat, SPEC, [reference()], pool, CompileSettings(candidates=1, max_rounds=0)
    )
    out = comp.compile_rule(RuleSpec(id="nuts_low", text="No nut may be higher than the lid."))
    assert out.entry.status == "ok", out.entry.reason
    assert out.transcript[-1]["step"] == "plan 1 kept 1 of 1 checks, 1 turned round"
    assert "below(a, b)" in out.code and "above(a, b)" not in out.code


def test_plans_first_asks_for_code_only_when_no_plan_is_valid(pool: sandbox.SandboxPool) -> None:
    from test_compiler import GOOD, compile_with

    count = json.dumps(
        {"checks": [{"check": "count", "label": "nut", "min": 2, "max": 2, "inside": None}]}
    )
    _, out, chat = compile_with(pool, [count], plans_first=True)
    assert out.entry.status == "ok", out.entry.reason
    steps = [t["step"] for t in out.transcript]
    assert steps == ["checks read from the rule's words", "plan 1", "plan 1 code"]
    assert len(chat.calls) == 1  # no written code, no cross-check candidate

    wrong = json.dumps(
        {"checks": [{"check": "relation", "label": "lid", "relation": "inside", "other": "tray"}]}
    )
    _, out, chat = compile_with(
        pool, [wrong] * 2 + [GOOD], plans_first=True, plan_candidates=2, word_checks=False
    )
    assert out.entry.status == "ok", out.entry.reason
    assert out.transcript[-1]["step"] == "candidate 1" and "!= 2" in out.code


def test_a_centred_check_uses_the_axes_the_rule_names() -> None:
    def axes(rule: str) -> str:
        return plan_grammar(SPEC, rule).split("axis ::= ")[1].splitlines()[0]

    both = "The lid sits in the middle: horizontally within 5% of the width, vertically 5% of it."
    assert axes(both) == '"\\"both\\""'
    assert axes("The lid is centred on the tray within 5% of its width and height.") == (
        '"\\"both\\""'
    )
    # "centred horizontally ... and its centre lies 40% to 60% of the height": x; the height
    # belongs to the position, named without "centred" in another sentence or clause.
    placed = (
        "The lid is centred horizontally on the tray (within 4% of its width) and its centre"
        " lies between 40% and 60% of the tray's height. Vertically, it is high."
    )
    assert axes(placed) == '"\\"x\\""'
    assert (
        axes("The lid is centred on the tray within 5%.") == '"\\"x\\"" | "\\"y\\"" | "\\"both\\""'
    )
    # A line named by its direction: off the vertical centre line is off to the side.
    line = (
        "Its centre is at most 4% of the tray's width from the tray's vertical centre line"
        " (centred horizontally), and its centre sits 75% to 92% of the height down."
    )
    assert axes(line) == '"\\"x\\""'
    assert axes("It is centred: within 5% of the height from the horizontal midline.") == (
        '"\\"y\\""'
    )


def test_a_count_in_a_definite_holder_counts_the_parts_inside_it() -> None:
    count = {"check": "count", "label": "nut", "min": 2, "max": 2, "inside": None}
    text = json.dumps({"checks": [count]})
    (check,) = parse_plan(text, SPEC.vocabulary, ATTRS, "The tray contains two nuts.")
    assert check.fields["inside"] == "tray"
    (check,) = parse_plan(text, SPEC.vocabulary, ATTRS, "There are two nuts.")
    assert check.fields["inside"] is None
    # The grammar never offers a count inside its own label.
    grammar = plan_grammar(SPEC, "There are two nuts.")
    counts = grammar.split("check-count ::= ")[1].splitlines()[0]
    nut = counts.split('"label\\": \\"nut\\"')[1]
    assert '"\\"tray\\""' in nut and '"\\"nut\\""' not in nut


def test_more_kinds_lead_where_the_words_call_for_them() -> None:
    from logicode.codegen.plans import leading_kind
    from logicode.spec import load_spec

    sc = load_spec("splicing_connectors")
    assert leading_kind("When there are two connectors, their clamp counts are equal.", sc) == (
        "same"
    )
    mirrored = "For every cable, left_clamp is the same as right_clamp."
    assert leading_kind(mirrored, sc) == "equal"
    assert leading_kind("Both left_clamp and right_clamp have a value.", sc) == "set"
    jb = load_spec("juice_bottle")
    same_fruit = "With a fruit icon and juice, the icon's fruit is the same as the juice."
    assert leading_kind(same_fruit, jb) == "match"
    assert leading_kind("The cable is 37% to 50% as long as the image is wide.", sc) == "size"
    bb = load_spec("breakfast_box")
    left = "No tangerine may be in the right compartment: right of the divider's centroid."
    assert leading_kind(left, bb) == "relation"
    assert leading_kind("There is exactly one divider, inside the box.", bb) is None  # a count
    assert leading_kind("Its top edge lies 16% to 24% below the top of the box.", bb) is None

    # Tolerances are 0 or the rule's shares, never a whole number it does not state.
    grammar = plan_grammar(sc, "When there are two connectors, their clamp counts are equal.")
    assert 'share ::= "0"\n' in grammar


def test_a_scaled_check_takes_the_count_the_rule_states() -> None:
    spec, _ = _bag_spec()
    attrs = label_attributes(spec)
    rule = "Let W be the mean width_mm of the nuts. One lid, and only one, is 1 to 2 times W."
    scaled = {
        "check": "scaled",
        "label": "lid",
        "measure": "area",
        "of": "nut",
        "of_measure": "width_mm",
        "ranges": [[1, 2]],
        "exactly": None,
    }
    (check,) = parse_plan(json.dumps({"checks": [scaled]}), spec.vocabulary, attrs, rule)
    assert check.fields["exactly"] == 1


def test_a_part_is_never_placed_against_its_own_label() -> None:
    grammar = plan_grammar(SPEC, "Every nut lies left of the lid, centred within 5%.")
    nut = grammar.split("label-rel ::= ")[1].splitlines()[0].split('"label\\": \\"nut\\"')[1]
    nut = nut.split(")")[0]
    assert '"\\"lid\\""' in nut and '"\\"nut\\""' not in nut
    self_check = {"check": "relation", "label": "nut", "relation": "left_of", "other": "nut"}
    with pytest.raises(PlanError, match="a label other than 'label'"):
        parse_plan(json.dumps({"checks": [self_check]}), SPEC.vocabulary, ATTRS)


def test_a_count_the_rule_states_is_taken_as_stated() -> None:
    count = {"check": "count", "label": "nut", "min": 0, "max": 1, "inside": "lid"}
    text = json.dumps({"checks": [count]})
    rule = "The tray holds one nut, neither none nor two."
    (check,) = parse_plan(text, SPEC.vocabulary, ATTRS, rule)
    assert (check.fields["min"], check.fields["max"], check.fields["inside"]) == (1, 1, "tray")
    (check,) = parse_plan(text, SPEC.vocabulary, ATTRS, "At most one nut lies on the lid.")
    assert (check.fields["min"], check.fields["max"], check.fields["inside"]) == (0, 1, "lid")


def test_checks_that_hold_from_several_plans_are_tried_together(pool: sandbox.SandboxPool) -> None:
    from test_compiler import VACUOUS, ScriptedChat

    from logicode.codegen.compiler import CompileSettings, RuleCompiler
    from logicode.spec import RuleSpec

    rule = RuleSpec(
        id="lid_placed",
        text="The lid is centred horizontally on the tray, within 5% of the tray's width, and"
        " its centre lies between 20% and 40% of the tray's height below the tray's top.",
    )
    centred = {"check": "centred", "label": "lid", "other": "tray", "axis": "x", "tolerance": 0.05}
    low = {"check": "position", "label": "lid", "other": "tray", "edge": "center_y"}
    low |= {"min": 0.2, "max": 0.4}
    away = {"check": "relation", "label": "lid", "relation": "above", "other": "nut"}
    script = [VACUOUS] + [json.dumps({"checks": [c]}) for c in (centred, away, low)]
    chat = ScriptedChat(script=script, calls=[])
    settings = CompileSettings(candidates=1, max_rounds=0)
    out = RuleCompiler(chat, SPEC, [reference()], pool, settings).compile_rule(rule)
    # Each plan alone leaves numbers out; the two that hold, together, say the whole rule
    # (the relation names a nut, a part the rule does not name: never gathered).
    assert out.entry.status == "ok", out.entry.reason
    assert out.transcript[-1]["step"] == "plan 3 with earlier plans' checks: 2 checks"
    assert "center.x" in out.code and "0.2, 0.4" in out.code and "nut" not in out.code


def test_a_position_takes_the_axis_of_the_dimension_its_numbers_are_shares_of() -> None:
    rule = (
        "The lid is centred horizontally (within 4% of the tray width of its centre line) and"
        " its centre lies between 40% and 60% of the tray's height from the tray's top."
    )
    sideways = {"check": "position", "label": "lid", "other": "tray", "edge": "center_x"}
    sideways |= {"min": 0.4, "max": 0.6}
    (check,) = parse_plan(json.dumps({"checks": [sideways]}), SPEC.vocabulary, ATTRS, rule)
    assert check.fields["edge"] == "center_y"
    across = "Its left edge lies 10% to 20% of the tray's width from the tray's left edge."
    (check,) = parse_plan(
        json.dumps({"checks": [sideways | {"min": 10, "max": 20}]}), SPEC.vocabulary, ATTRS, across
    )
    assert check.fields["edge"] == "center_x"  # already across: kept
    top = sideways | {"edge": "top", "min": 0.1, "max": 0.2}
    (check,) = parse_plan(json.dumps({"checks": [top]}), SPEC.vocabulary, ATTRS, across)
    assert check.fields["edge"] == "left"


def test_short_spans_of_whole_numbers_are_the_rules_own_numbers() -> None:
    spec, attrs = _bag_spec()
    rule = "Every nut sits in slot 0 to 3; the lid covers between 40% and 60% of the tray."
    ints, _ = plan_numbers(rule)
    assert ints == [0, 1, 2, 3, 40, 60]
    check = {"check": "values", "label": "nut", "attribute": "slot", "allowed": [0, 1, 2, 3]}
    text = json.dumps({"checks": [check]})
    assert len(parse_plan(text, spec.vocabulary, attrs, rule)) == 1
    with pytest.raises(PlanError, match="the rule does not mention"):
        parse_plan(text, spec.vocabulary, attrs, "Every nut sits in slot 0 or 3.")


def test_word_checks_read_what_the_rule_states_outright() -> None:
    spec, _ = _bag_spec()
    rule = (
        "There are exactly two nuts; every nut's slot is from 1 to 3 and its width_mm is 12."
        " The lid has 2, 4 or 6 holes."
    )
    got = {(c.kind, c.fields["label"], c.fields.get("attribute")): c.fields for c in
           word_checks(rule, spec)}  # fmt: skip
    assert set(got) == {
        ("count", "nut", None),
        ("values", "nut", "slot"),
        ("values", "nut", "width_mm"),
        ("values", "lid", "holes"),
    }
    assert got["count", "nut", None]["min"] == got["count", "nut", None]["max"] == 2
    assert got["values", "nut", "slot"]["allowed"] == [1, 2, 3]
    assert got["values", "lid", "holes"]["allowed"] == [2, 4, 6]
    # A count in a definite holder counts inside it; nothing stated, nothing read.
    held = word_checks("The tray holds exactly two nuts.", spec)
    assert [(c.kind, c.fields["inside"]) for c in held] == [("count", "tray")]
    assert word_checks("Every nut lies below the lid.", spec) == []


def test_the_words_checks_join_the_plans_and_stand_alone(pool: sandbox.SandboxPool) -> None:
    from test_compiler import VACUOUS, compile_with

    # The model's only plan rejects the references (the lid lies in the tray's upper half):
    # the count the rule states, alone, is the rule.
    lid_plan = json.dumps(
        {"checks": [{"check": "relation", "label": "lid", "relation": "below", "other": "tray"}]}
    )
    _, out, _ = compile_with(pool, [VACUOUS, lid_plan], candidates=1, max_rounds=0,
                             plan_candidates=1)  # fmt: skip
    assert out.entry.status == "ok", out.entry.reason
    steps = [t["step"] for t in out.transcript]
    assert steps[1] == "checks read from the rule's words"
    assert steps[-1] == "the rule's words' checks alone"
    assert "found {len(found1)} nut" in out.code and "lid" not in out.code

    # A plan's check that holds joins them: tried together before the words' checks alone.
    below = {"check": "relation", "label": "nut", "relation": "below", "other": "lid"}
    _, out, _ = compile_with(
        pool,
        [VACUOUS, json.dumps({"checks": [below]})],
        candidates=1,
        max_rounds=0,
        plan_candidates=1,
    )
    assert out.entry.status == "ok", out.entry.reason
    assert "plan 1 with earlier plans' checks: 2 checks" in [t["step"] for t in out.transcript]


def test_pruning_a_gathered_plan_keeps_the_checks_the_words_state(
    pool: sandbox.SandboxPool,
) -> None:
    from test_compiler import compile_with

    from logicode.codegen.phrases import stated_expectations

    comp, _, _ = compile_with(pool, [], candidates=0, max_rounds=0, plans=False)
    rule = comp.spec.rules[0]  # "There are exactly two nuts."
    count = plan({"check": "count", "label": "nut", "min": 2, "max": 2, "inside": None})[0]
    round_lid = plan({"check": "values", "label": "lid", "attribute": "kind", "allowed": ["round"]})
    gathered = [count, round_lid[0]]
    # Held, as in compile_rule, to the verdicts the stated count fixes.
    changes = [m for m, _ in comp.mutations]
    stated = stated_expectations(rule.text, comp.spec, comp.references, changes)
    b = comp._plan_behaviour(render(gathered, ATTRS), rule, stated, {})
    assert b.ok, comp.problems(b)
    # No counterexample needs the lid's kind: pruned, unless the words state it.
    fewest, _ = comp._fewest_checks(gathered, b, rule, stated, {}, all_checks=True)
    assert fewest == [count]
    kept, _ = comp._fewest_checks(gathered, b, rule, stated, {}, all_checks=True, keep=round_lid)
    assert kept == gathered
