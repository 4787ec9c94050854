"""Rule plans: a small model describes a rule as a list of typed checks; code is written from it.

A small model (Qwen2.5-Coder 0.5B) often knows *what* a rule asks ("the label is centred on
the bottle within 4 %") but writes wrong code for it: made-up methods, an area compared with a
width, a condition inverted. A *plan* asks it only for the what: a JSON list of checks of a
few generic kinds (a count, allowed values, relations, placements, sizes, tilt, sameness,
matching attributes), held by a llama.cpp grammar to the product's own labels, attributes and
attribute values. :func:`render` then writes ordinary rule code against the scene API from
the plan, and that code is validated like any other candidate (sandbox policy, references,
counterexamples): a plan is one more way to draw a candidate, never a shortcut past checks.

The kinds are generic geometry and bookkeeping; nothing here knows a product. Every check
but ``count`` holds trivially when a part it needs is absent (the rule that counts that part
reports it); a count inside another part counts zero without one.

Example:
    >>> plan = parse_plan('{"checks": [{"check": "upright", "label": "nut", '
    ...                   '"max_degrees": 3}]}', ["nut"], {})
    >>> "tilt > 3" in render(plan, {})
    True
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from logicode.codegen.numbers import stated_numbers
from logicode.codegen.phrases import (
    NUMBER_WORDS,
    named_labels,
    number_spans,
    per_part_counts,
    plain_words,
    stated_attribute_sets,
    stated_attribute_values,
    stated_counts,
    stated_equal_attributes,
    stated_mapping,
    stated_matching_attributes,
    stated_set_attributes,
)
from logicode.color import COLOR_NAMES
from logicode.spec import CategorySpec

KINDS = (
    "count",
    "values",
    "same",
    "relation",
    "centred",
    "position",
    "size",
    "upright",
    "match",
    "each",
    "set",
    "equal",
    "scaled",
    "map",
    "distinct",
)
"""Check kinds, in the order the prompt explains them."""

RELATIONS = ("left_of", "right_of", "above", "below", "inside", "overlaps")
EDGES = ("top", "bottom", "left", "right", "center_x", "center_y")
MEASURES = ("area", "length", "width", "height")
AXES = ("x", "y", "both")

_FIELDS: dict[str, tuple[str, ...]] = {
    "count": ("label", "min", "max", "inside"),
    "each": ("label", "holds", "min", "max"),
    "values": ("label", "attribute", "allowed"),
    "set": ("label", "attribute"),
    "same": ("label", "attribute", "tolerance"),
    "equal": ("label", "attribute", "other_attribute"),
    "relation": ("label", "relation", "other"),
    "centred": ("label", "other", "axis", "tolerance"),
    "position": ("label", "other", "edge", "min", "max"),
    "size": ("label", "measure", "of", "min", "max"),
    "upright": ("label", "max_degrees"),
    "match": ("label", "attribute", "other", "other_attribute", "never"),
    "scaled": ("label", "measure", "of", "of_measure", "ranges", "exactly"),
    "map": ("label", "attribute", "other", "other_attribute"),
    "distinct": ("label", "attributes"),
}


class PlanError(ValueError):
    """A plan that is not JSON, or names a kind, label or attribute the product lacks."""


@dataclass(frozen=True)
class Attr:
    """One attribute a label carries: its type, for enums its values, whether it may be None."""

    name: str
    type: str
    values: tuple[str, ...] = ()
    nullable: bool = False


@dataclass
class Check:
    """One check of a plan: its kind and its fields (see :data:`_FIELDS`)."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


def label_attributes(spec: CategorySpec) -> dict[str, dict[str, Attr]]:
    """Attributes per label, from the spec, plus ``color`` (the colour name) where none is."""
    out: dict[str, dict[str, Attr]] = {}
    for comp in spec.components:
        attrs = {
            a.name: Attr(a.name, a.type, tuple(a.values or ()), a.nullable) for a in comp.attributes
        }
        attrs.setdefault("color", Attr("color", "color", tuple(COLOR_NAMES)))
        out[comp.label] = attrs
    return out


def _edges(words: str) -> tuple[str, ...]:
    """The edges a position check may use: only the centres where the rule speaks of a centre.

    Seen with a 0.5B model: "its centre lies between 40% and 60% of the bottle's height
    from the top" planned as the label's top edge, right on every counterexample and wrong
    on held-out scenes.
    """
    if words and _CENTRE_WORD.search(words) and " edge " not in words and " edges " not in words:
        return tuple(e for e in EDGES if e.startswith("center"))
    return EDGES


_CENTRED_WORD = re.compile(r" (?:centred|centered|middle|centre line|center line) ")
_HORIZONTAL = re.compile(r" (?:horizontal|horizontally) ")
_VERTICAL = re.compile(r" (?:vertical|vertically) ")
_AXIS_LINE = re.compile(
    r" (vertical|horizontal) (?:centre line|center line|centreline|centerline|midline|axis) "
)
"""A line named by its direction: off a vertical centre line is off to the side (x)."""
_WIDTH = re.compile(r" (?:width|wide) ")
_HEIGHT = re.compile(r" (?:height|high|tall) ")


def _axes(rule_text: str) -> tuple[str, ...]:
    """The axes a centred check may use: the ones the rule's sentences about centring name.

    In each sentence that says centred (or middle), "horizontally" and "vertically" name
    the axes; without them, "width" and "height" do. Seen with a 0.5B model: "horizontally
    its centre is at most 10% of the label's width from the label's centre, and vertically
    at most 10% of its height" planned on x alone, valid and wrong on held-out scenes. A
    line named by its direction names the other axis ("within 4% of the width from the
    vertical centre line (centred horizontally)" is x alone; seen with the 1.5B model:
    both axes, every plan refused on the references). A rule that names no axis may use
    any.
    """
    found: set[str] = set()
    for sentence in re.split(r"(?<=[.;])\s+", " ".join(rule_text.split())):
        words = _words(sentence)
        if not _CENTRED_WORD.search(words):
            continue
        words = _AXIS_LINE.sub(
            lambda m: " horizontally " if m[1] == "vertical" else " vertically ", words
        )
        x, y = bool(_HORIZONTAL.search(words)), bool(_VERTICAL.search(words))
        if not (x or y):
            x, y = bool(_WIDTH.search(words)), bool(_HEIGHT.search(words))
        if x and y:
            found.add("both")
        elif x or y:
            found.add("x" if x else "y")
    return tuple(a for a in AXES if a in found) or AXES


def _measures(attrs: Mapping[str, Attr]) -> list[str]:
    """What can be measured on a part: its number attributes, then the geometric measures."""
    numbers = [a.name for a in attrs.values() if a.type == "number"]
    return [*dict.fromkeys([*numbers, *MEASURES])]


# --- grammar ----------------------------------------------------------------------------------


def _lit(text: str) -> str:
    """A GBNF literal matching ``text`` as a JSON string (quotes included)."""
    return json.dumps(json.dumps(text))


def _alt(items: Sequence[str]) -> str:
    return " | ".join(_lit(x) for x in items)


def _key(name: str, *, first: bool = False) -> str:
    """GBNF literal of a JSON key and its colon (``, "name": `` unless ``first``)."""
    return json.dumps(("" if first else ", ") + f'"{name}": ')


def says_placement(rule_text: str, spec: CategorySpec) -> bool:
    """Whether the rule places parts (left, right, above, below, inside, within, outside).

    Attribute names do not count ("left_clamp" is no placement).
    """
    names = {a.name for c in spec.components for a in c.attributes}
    plain = _words(" ".join(w for w in rule_text.split() if w.strip(".,;:()") not in names))
    return _RELATION_WORD.search(plain) is not None


def leading_kind(rule_text: str, spec: CategorySpec | None = None) -> str | None:
    """The check kind the rule's words call for, if any, in this order of precedence.

    ``map`` where the rule pairs numbers with values ("yellow for 2 clamps, blue for 3");
    ``scaled`` where it scales by a mean ("Let D be the mean diameter ... 2.70 times D");
    ``distinct`` where combinations occur once; ``same`` where a percentage is taken of a
    mean ("within 8% of the mean diameter"); ``size`` where a number bounds an area or a
    length (not an edge, a centre or a tilt: "covers at least 17% of the area of the box";
    seen: five plans of edges, centres, tilts and counts for it); ``equal`` where two
    attributes of one part are equal by name, ``match`` where two parts' values must be the
    same ("the fruit on the icon is the same fruit as the juice"), ``same`` where a number
    attribute is the same or equal ("their clamp counts are equal"), ``set`` where
    attributes must have a value, ``relation`` where a rule without numbers or counts
    places two named parts (left, above, inside...); and ``values`` where it fixes a number
    attribute of ``spec`` by name ("its pieces attribute is 1"). Seen with a 0.5B model: `map`,
    `scaled` and `distinct`, offered last among the kinds, were never its first choice
    (five plans of counts and relations followed); for "within 8% of the mean" it chose
    allowed values [8, 0.08] as often as sameness; for "its pieces attribute is 1", "every
    cable holds one cable" five times.
    """
    words = _words(rule_text)
    if stated_mapping(rule_text):
        return "map"
    defined = re.search(r"\b(?:[Ll]et|[Ww]ith)\s+[A-Z]\s+(?:be|the|denote)\b", rule_text)
    if (" times " in words or defined) and re.search(r" (?:mean|average|median) ", words):
        return "scaled"
    if re.search(r" (?:occurs|appears) (?:exactly )?once | no two ", words):
        return "distinct"
    if "%" in rule_text and re.search(r" (?:mean|average|median) ", words):
        return "same"
    if (
        re.search(r" (?:area|areas|length|long) ", words)
        and re.search(r"\d", rule_text)
        and not re.search(r" (?:edge|edges|centre|center|middle|degrees) ", words)
    ):
        return "size"
    if spec is not None and stated_equal_attributes(rule_text, spec):
        return "equal"
    if spec is not None and stated_matching_attributes(rule_text, spec):
        return "match"
    if (
        spec is not None
        and _SAME_WORD.search(words)
        and any(
            re.search(rf" {re.escape(_words(a.name).strip().rstrip('s'))}s? ", words)
            for c in spec.components
            for a in c.attributes
            if a.type == "number"
        )
    ):
        return "same"
    if spec is not None and stated_set_attributes(rule_text, spec):
        return "set"
    if (
        spec is not None
        and not re.search(r"\d", rule_text)
        and says_placement(rule_text, spec)
        and not stated_counts(rule_text, spec.vocabulary)
        and len(named_labels(rule_text, spec.vocabulary)) >= 2
    ):
        return "relation"
    if spec is not None and (
        stated_attribute_values(rule_text, spec) or stated_attribute_sets(rule_text, spec)
    ):
        return "values"
    return None


def plan_numbers(rule_text: str) -> tuple[list[int], list[float]]:
    """The whole numbers and the numbers a plan of this rule may use: the rule's own.

    0 and 1 (the ends of every share: "in the left half" is 0 to 0.5 of the width), the
    numbers the rule writes in digits (:func:`~logicode.codegen.numbers.stated_numbers`:
    not restatements in pixels) or words ("two", "a single", "half"), the whole numbers of
    a short span ("col 0 to 4": 0 to 4, :func:`~logicode.codegen.phrases.number_spans`), and
    each percentage also as its fraction (16 % as 16 and 0.16). Seen with a 0.5B model: "no
    tangerine may be in the right compartment" planned as "every tangerine's area within 8 %
    of their mean", an 8 the rule never says, valid on every counterexample and wrong on
    held-out scenes; "the box holds one nectarine and only one" planned as two nectarines in
    the box.

    Returns:
        The whole numbers (for counts) and all numbers (for bounds, shares, tolerances and
        degrees), each sorted.
    """
    words = _words(rule_text)
    values: set[float] = {0.0, 1.0}
    for n in stated_numbers(rule_text):
        values.add(n.value)
        if n.percent:
            values.add(n.value / 100)
    values |= {float(v) for w, v in NUMBER_WORDS.items() if f" {w} " in words}
    values |= number_spans(rule_text)  # "row 0 to 2": 1 too
    if " half " in words or " halves " in words:
        values.add(0.5)
    ints = sorted({int(v) for v in values if v == int(v)})
    return ints, sorted(values)


def _shares(rule_text: str) -> list[float]:
    """The tolerances a plan may use: 0, the rule's percentages and its fractions below 1.

    A percentage counts as written and as its fraction (16 % as 16 and 0.16).
    Seen with a 0.5B model: "their clamp counts are equal" planned as sameness within a
    tolerance of 1 (100 %), which never fires.
    """
    out = {0.0}
    for n in stated_numbers(rule_text):
        if n.percent:
            out |= {n.value, n.value / 100}
        elif n.value < 1:
            out.add(n.value)
    return sorted(out)


def _number_text(value: float) -> str:
    """A number as JSON writes it without an exponent ("16", "0.16", "2.7")."""
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0")


def _numbers_stated(check: Check, attributes: Mapping[str, Mapping[str, Attr]], rule: str) -> bool:
    """Whether every number of ``check`` is one :func:`plan_numbers` allows for ``rule``."""
    _, allowed = plan_numbers(rule)
    return all(
        any(math.isclose(v, a, abs_tol=1e-9) for a in allowed)
        for v in own_numbers(check, attributes)
    )


def plan_grammar(
    spec: CategorySpec, rule_text: str = "", *, lead: str | None = None, named_only: bool = False
) -> str:
    """The GBNF grammar of a plan for ``spec``: only its labels, attributes and values.

    The JSON is written in one fixed layout (keys in :data:`_FIELDS` order, ``", "`` and
    ``": "`` separators), which keeps the grammar small; :func:`parse_plan` reads any layout.
    Check kinds are the rules ``check-<kind>``; value sets are ``v<label>x<attribute>``.

    With ``lead`` (a kind this grammar offers), the plan's first check is of that kind
    (:func:`leading_kind`); the others are free. With ``named_only``, the labels are the
    ones the rule names, where it names two or more (:func:`named_labels`; seen: the bottom
    label placed relative to the liquid in a rule about the bottle).

    With ``rule_text``, a ``values`` check on a colour or enum may list only the values the
    rule names, and ``same`` on the colour needs the word colour or a colour name
    (:func:`_said`): seen with a 0.5B model, plans of allowed colours for every part of a
    rule about positions, and the same plan again after being told so. ``set`` and
    ``equal`` need the attributes' names in the rule, and ``each`` a count per part ("every
    ... one", "each ... 2"); every number is one of the rule's own (:func:`plan_numbers`).
    Offered everywhere, ``each`` became the 0.5B model's first
    plan for rules about positions and areas.
    """
    attrs = label_attributes(spec)
    words = _words(rule_text) if rule_text else ""

    def named(*names: str) -> bool:
        return not words or all(_words(n) in words for n in names)

    # With the rule, its own numbers only (plan_numbers); without, any of a few digits.
    int_rule, num_rule = "[0-9] | [1-9] [0-9]", '"-"? [0-9]{1,4} ("." [0-9]{1,3})?'
    share_rule = "num"
    if words:
        ints, nums = plan_numbers(rule_text)
        int_rule = " | ".join(json.dumps(str(v)) for v in ints)
        num_rule = " | ".join(json.dumps(_number_text(v)) for v in nums)
        share_rule = " | ".join(json.dumps(_number_text(v)) for v in _shares(rule_text))
    labels = list(spec.vocabulary)
    named_here = named_labels(rule_text, labels) if named_only else []
    if len(named_here) >= 2:
        labels = named_here
    rules = [
        'root ::= "{\\"checks\\": [" check (", " check){0,5} "]}"',
        "",  # check ::= ..., once the kinds are known
        "label ::= " + _alt(labels),
        "int ::= " + int_rule,
        "num ::= " + num_rule,
        "share ::= " + share_rule,
        'str ::= "\\"" [a-z0-9_ -]{1,24} "\\""',
        "relation-name ::= " + _alt(RELATIONS),
        "edge ::= " + _alt(_edges(words)),
        "measure ::= " + _alt(MEASURES),
        "axis ::= " + _alt(_axes(rule_text)),
    ]
    kinds: list[str] = []

    def kind(name: str, body: str) -> None:
        head = json.dumps('{"check": "' + name + '"')
        rules.append(f'check-{name} ::= {head} {body} "}}"')
        kinds.append(f"check-{name}")

    label = f"{_key('label')} label"
    values_alts, same_alts, sides, set_alts, equal_alts = [], [], [], [], []
    for i, lab in enumerate(labels):
        for j, a in enumerate(attrs[lab].values()):
            name = f"v{i}x{j}"
            sides.append((lab, a.name))
            if a.type in ("enum", "color"):
                offered = [v for v in a.values if not words or _words(v) in words]
                if not offered:
                    continue
                rules.append(f"{name} ::= " + _alt(offered))
            elif a.type == "number":
                rules.append(f"{name} ::= num")
            elif a.type == "bool":
                rules.append(f'{name} ::= "true" | "false"')
            else:
                rules.append(f"{name} ::= str")
            head = json.dumps(f', "label": "{lab}", "attribute": "{a.name}", "allowed": [')
            values_alts.append(f'{head} {name} (", " {name}){{0,5}} "]"')
        for a in attrs[lab].values():
            if a.nullable and named(a.name):
                set_alts.append(json.dumps(f', "label": "{lab}", "attribute": "{a.name}"'))
            for b in attrs[lab].values():
                if (
                    b.name != a.name
                    and b.type == a.type
                    and a.type != "color"
                    and named(a.name, b.name)
                ):
                    equal_alts.append(
                        json.dumps(
                            f', "label": "{lab}", "attribute": "{a.name}", '
                            f'"other_attribute": "{b.name}"'
                        )
                    )
        numeric = [
            a.name
            for a in attrs[lab].values()
            if a.type in ("number", "enum")
            or (a.type == "color" and (not words or _colour_said(words)))
        ]
        names = [*dict.fromkeys([*numeric, *MEASURES])]
        head = json.dumps(f', "label": "{lab}", "attribute": ')
        same_alts.append(f"{head} ({_alt(names)})")
    # A count inside another part: never inside its own label (seen: "inside": the label).
    counted = [
        json.dumps(f', "label": "{a}", "min": ')
        + f' int {_key("max")} (int | "null") {_key("inside")} ('
        + " | ".join([_lit(b) for b in labels if b != a] + ['"null"'])
        + ")"
        for a in labels
    ]
    kind("count", f"({' | '.join(counted)})")
    if values_alts:
        kind("values", f"({' | '.join(values_alts)})")
    kind("same", f"({' | '.join(same_alts)}) {_key('tolerance')} share")
    # A part placed against another label, never its own (seen: "every cable left of the
    # cable", vacuous with one cable and a false alarm with two).
    if len(labels) > 1:
        for name, middle in (
            ("label-other", ""),
            ("label-rel", f" {_key('relation')} relation-name"),
        ):
            rules.append(
                f"{name} ::= "
                + " | ".join(
                    json.dumps(f', "label": "{a}"')
                    + f"{middle} {_key('other')} ("
                    + " | ".join(_lit(b) for b in labels if b != a)
                    + ")"
                    for a in labels
                )
            )
        kind("relation", "label-rel")
        kind("centred", f"label-other {_key('axis')} axis {_key('tolerance')} share")
        kind("position", f"label-other {_key('edge')} edge {_key('min')} num {_key('max')} num")
    kind(
        "size",
        f'{label} {_key("measure")} measure {_key("of")} (label | {_lit("image")} | "null") '
        f"{_key('min')} num {_key('max')} num",
    )
    kind("upright", f"{label} {_key('max_degrees')} num")
    pairs = [
        json.dumps(
            f', "label": "{a}", "attribute": "{x}", "other": "{b}", "other_attribute": "{y}"'
        )
        for a, x in sides
        for b, y in sides
        if a != b and attrs[a][x].type == attrs[b][y].type
    ]
    if pairs:
        kind("match", f'({" | ".join(pairs)}) {_key("never")} "[" (str (", " str){{0,3}})? "]"')
    if set_alts:
        kind("set", f"({' | '.join(set_alts)})")
    if equal_alts:
        kind("equal", f"({' | '.join(equal_alts)})")
    if not words or (_PER.search(words) and _counts_a_label(words, labels)):
        kind(
            "each",
            "("
            + " | ".join(
                json.dumps(f', "label": "{a}", "holds": ')
                + f" ({_alt([b for b in labels if b != a])})"
                for a in labels
            )
            + f') {_key("min")} int {_key("max")} (int | "null")',
        )
    if not words or _SCALE_WORD.search(words):
        mine, theirs = [], []
        for lab in labels:
            sizes = _measures(attrs[lab])
            sizes = [m for m in sizes if words and _words(m) in words] or sizes
            mine.append(json.dumps(f', "label": "{lab}", "measure": ') + f" ({_alt(sizes)})")
            theirs.append(json.dumps(f', "of": "{lab}", "of_measure": ') + f" ({_alt(sizes)})")
        pair = '"[" num ", " num "]"'
        exactly = '(int | "null")' if not words or _EXACT_WORD.search(words) else '"null"'
        kind(
            "scaled",
            f"({' | '.join(mine)}) ({' | '.join(theirs)}) {_key('ranges')} "
            f'"[" {pair} (", " {pair}){{0,2}} "]" {_key("exactly")} {exactly}',
        )
    mapped = set(stated_mapping(rule_text).values()) if words else set()
    if mapped or not words:
        targets = [
            (lab, a.name)
            for lab in labels
            for a in attrs[lab].values()
            if a.type in ("enum", "color") and mapped <= set(a.values)
        ]
        keys = [(lab, a.name) for lab in labels for a in attrs[lab].values() if a.type == "number"]
        keys = [(lab, x) for lab, x in keys if named(x)] or keys
        if targets and keys:
            ours = " | ".join(
                json.dumps(f', "label": "{lab}", "attribute": "{x}"') for lab, x in targets
            )
            others = " | ".join(
                json.dumps(f', "other": "{lab}", "other_attribute": "{x}"') for lab, x in keys
            )
            kind("map", f"({ours}) ({others})")
    if not words or _ONCE_WORD.search(words):
        alts = []
        for i, lab in enumerate(labels):
            names = [a for a in attrs[lab] if named(a)] if words else list(attrs[lab])
            if not names:
                continue
            rules.append(f"d{i} ::= " + _alt(names))
            head = json.dumps(f', "label": "{lab}", "attributes": [')
            alts.append(f'{head} d{i} (", " d{i}){{0,2}} "]"')
        if alts:
            kind("distinct", f"({' | '.join(alts)})")
    rules[1] = "check ::= " + " | ".join(kinds)
    if lead is not None and f"check-{lead}" in kinds:
        rules[0] = rules[0].replace('"{\\"checks\\": [" check', f'"{{\\"checks\\": [" check-{lead}')
    return "\n".join(rules) + "\n"


# --- parsing ----------------------------------------------------------------------------------


def _json_object(text: str) -> Any:
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        raise PlanError("no JSON object in the answer")
    try:
        return json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise PlanError(f"the plan is not valid JSON: {exc.msg}") from None


def _number(value: Any, what: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PlanError(f"{what} must be a number, got {value!r}")
    return float(value)


def stated_percentages(rule_text: str) -> set[float]:
    """The numbers the rule writes as percentages ("between 16% and 24%" -> {16.0, 24.0})."""
    return {float(x) for x in re.findall(r"(\d+(?:\.\d+)?)\s*%", rule_text)}


_DIMENSION = re.compile(
    r"(\d+(?:\.\d+)?)\s*%[^.;%]*?(?:%[^.;]*?)?\bof\s+(?:the\s+)?(?:\w+(?:'s)?\s+)?(width|height)\b",
    re.I,
)
_ACROSS = {"center_y": "center_x", "top": "left", "bottom": "right"}


def _dimensions(rule_text: str) -> dict[float, str]:
    """The dimension each percentage is taken of: "40% and 60% of the bottle's height"."""
    out: dict[float, str] = {}
    for hit in _DIMENSION.finditer(" ".join(rule_text.split())):
        tail = hit.group(0)
        for x in re.findall(r"(\d+(?:\.\d+)?)\s*%", tail):
            for v in (float(x), float(x) / 100):
                out.setdefault(v, hit.group(2).lower())
    return out


def parse_plan(
    text: str,
    labels: Sequence[str],
    attributes: Mapping[str, Mapping[str, Attr]],
    rule_text: str = "",
) -> list[Check]:
    """Read and check a plan answer.

    A size bound that the rule states as a percentage but the plan copies as a number
    ("16%" -> 16) becomes the fraction (0.16); position and tolerance shares above 1 are
    always percentages. With ``rule_text``, a check on colours or enum values the rule never
    mentions is dropped (:func:`_said`), and so is a check with a number the rule does not
    state (:func:`plan_numbers`); a count of parts the rule puts in a definite holder ("the
    bag contains two washers") counts the ones inside it (seen with a 0.5B model: plain
    counts, refused because removing the bag left two washers counted, and counts inside
    another part), and a count of a label whose exact count the rule states
    (:func:`~logicode.codegen.phrases.stated_counts`) is that count (seen: "one bottom
    label, neither none nor two" planned as 0 to 1).

    Args:
        text: The model's answer (a JSON object ``{"checks": [...]}``, prose around it allowed).
        labels: The product's labels.
        attributes: :func:`label_attributes` of the spec.
        rule_text: The rule, to tell percentages from ratios in size bounds.

    Raises:
        PlanError: Not JSON, no checks, a kind, label, attribute or field the product or
            the kind does not have, or no check left after dropping the unmentioned ones.
    """
    data = _json_object(text)
    items = data.get("checks") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise PlanError('the plan needs a non-empty "checks" list')
    out = []
    # "The bag contains two washers": the washers counted are the ones in the bag.
    held = per_part_counts(rule_text, labels, definite=True) if rule_text else {}
    counted = stated_counts(rule_text, labels) if rule_text else {}
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or item.get("check") not in _FIELDS:
            raise PlanError(f"check {n}: 'check' must be one of {', '.join(KINDS)}")
        kind = item["check"]
        fields = {k: item.get(k) for k in _FIELDS[kind]}
        for key in ("label", "other", "inside", "of", "holds"):
            value = fields.get(key)
            if key not in fields or value is None or (key == "of" and value == "image"):
                continue
            if value not in labels:
                raise PlanError(f"check {n}: {key} {value!r} is not a label of this product")
        if fields.get("label") is None:
            raise PlanError(f"check {n}: a label is needed")
        if kind in ("relation", "centred", "position", "match") and fields.get("other") is None:
            raise PlanError(f"check {n}: {kind} needs 'other'")
        if kind in ("relation", "centred", "position") and fields["other"] == fields["label"]:
            raise PlanError(f"check {n}: {kind} needs 'other', a label other than 'label'")
        if kind == "each" and fields.get("holds") in (None, fields["label"]):
            raise PlanError(f"check {n}: each needs 'holds', a label other than 'label'")
        _check_fields(n, kind, fields, attributes)
        if kind == "position":
            # "its centre lies 40% to 60% of the bottle's height from the top" is a vertical
            # position whatever edge the plan names (seen: center_x).
            dims = {_dimensions(rule_text).get(fields[k]) for k in ("min", "max")} - {None}
            down = {v: k for k, v in _ACROSS.items()}
            if dims == {"height"} and fields["edge"] in down:
                fields["edge"] = down[fields["edge"]]
            elif dims == {"width"} and fields["edge"] in _ACROSS:
                fields["edge"] = _ACROSS[fields["edge"]]
        if kind == "count" and fields["label"] in held:
            fields["inside"] = held[fields["label"]][0]
        if kind == "count" and fields["label"] in counted:
            # "one bottom label, neither none nor two" is exactly one (seen: 0 to 1).
            fields["min"] = fields["max"] = counted[fields["label"]]
        percents = stated_percentages(rule_text)
        if kind == "size":
            for key in ("min", "max"):
                if fields[key] > 1 and fields[key] in percents:
                    fields[key] = fields[key] / 100.0
        if kind == "scaled":
            if rule_text and not _EXACT_WORD.search(_words(rule_text)):
                fields["exactly"] = None  # seen: "exactly": 0 for "every screw is ..."
            elif fields["exactly"] is None and fields["label"] in counted:
                # "one screw, and only one, has a length from 2.70 D to 3.30 D"
                fields["exactly"] = counted[fields["label"]]
            fields["ranges"] = [
                [v / 100.0 if v > 1 and v in percents else v for v in r] for r in fields["ranges"]
            ]
        if kind == "map":
            fields["pairs"] = _mapping(n, fields, attributes, rule_text)
        check = Check(kind, fields)
        if rule_text and not (
            _said(kind, fields, attributes, rule_text)
            and _numbers_stated(check, attributes, rule_text)
        ):
            continue
        out.append(check)
    if not out:
        raise PlanError(
            "every check names colours, values or numbers the rule does not mention; use the"
            " rule's own words and numbers"
        )
    return out


def _mapping(
    n: int, f: Mapping[str, Any], attributes: Mapping[str, Mapping[str, Attr]], rule: str
) -> dict[float | int, str]:
    """The number -> value pairs of a ``map`` check: the ones the rule states, never the model's.

    A small model copies a table badly; the rule's own pairs ("yellow for 2 clamps, blue for
    3 clamps") are read by :func:`~logicode.codegen.phrases.stated_mapping`.
    """
    pairs = stated_mapping(rule)
    if not pairs:
        raise PlanError(f"check {n}: map needs the rule to pair numbers with values")
    a = attributes[f["label"]][f["attribute"]]
    bad = [v for v in pairs.values() if not _fits(v, a)]
    if bad:
        raise PlanError(f"check {n}: {f['label']}.{a.name} cannot be {bad[0]!r}")
    return pairs


_PER = re.compile(r" (?:every|each|per) ")
_SAME_WORD = re.compile(r" (?:same|equal|identical) ")
_RELATION_WORD = re.compile(r" (?:left|right|above|below|higher|lower|inside|within|outside) ")
_SCALE_WORD = re.compile(r" (?:times|mean|average|median) ")
_CENTRE_WORD = re.compile(r" (?:centre|center|centres|centers|middle) ")
_EXACT_WORD = re.compile(r" (?:exactly|only|precisely) ")
_ONCE_WORD = re.compile(r" (?:once|unique|distinct|different|no two) ")
_COUNT_WORD = r" (?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|single) "


def word_checks(rule_text: str, spec: CategorySpec) -> list[Check]:
    """The checks the rule's words state outright, to try beside the model's plans.

    A stated count (:func:`~logicode.codegen.phrases.stated_counts`: "a single almonds
    region, never more"), a number attribute fixed by name or to a few values ("its pieces
    attribute is 1", "2, 3 or 5 clamps", "row 0 to 2"), two number attributes of one part
    said equal, an attribute required to be set. They are read like a plan
    (:func:`parse_plan`, so a count of what a definite holder holds counts inside it) and
    trusted no further: the compiler keeps only those that pass every reference and adds
    them to the checks of the model's plans (seen with a 0.5B model: five plans for "a
    single almonds region must be visible, never more", none with a count).

    Example:
        ``word_checks("There are exactly 2 lids.", spec)``: one count of lids, 2 to 2.
    """
    items: list[dict[str, Any]] = [
        {"check": "count", "label": label, "min": n, "max": n, "inside": None}
        for label, n in stated_counts(rule_text, spec.vocabulary).items()
    ]
    fixed = [(lab, name, {v}) for lab, name, v in stated_attribute_values(rule_text, spec)]
    for label, name, allowed in fixed + stated_attribute_sets(rule_text, spec):
        # Whole numbers as ints: the code shows "in (0, 1, 2)", not "in (0.0, 1.0, 2.0)".
        values = [int(v) if v == int(v) else v for v in sorted(allowed)]
        items.append({"check": "values", "label": label, "attribute": name, "allowed": values})
    for label, a, b in stated_equal_attributes(rule_text, spec):
        items.append({"check": "equal", "label": label, "attribute": a, "other_attribute": b})
    for label, name in stated_set_attributes(rule_text, spec):
        items.append({"check": "set", "label": label, "attribute": name})
    out: list[Check] = []
    for item in items:
        try:
            checks = parse_plan(
                json.dumps({"checks": [item]}),
                spec.vocabulary,
                label_attributes(spec),
                rule_text,
            )
        except PlanError:
            continue
        out += [c for c in checks if c not in out]
    return out


def _counts_a_label(words: str, labels: Sequence[str]) -> bool:
    """Whether words (from :func:`_words`) count a label: "one pushpin", not "one piece"."""
    for label in labels:
        name = _words(label).strip()
        if re.search(_COUNT_WORD + rf"(?:\w+ )?{re.escape(name)}(?:e?s)? ", words):
            return True
    return False


def _words(text: str) -> str:
    """:func:`~logicode.codegen.phrases.plain_words`, with "grey" spelt as the colour names are."""
    return plain_words(text.lower().replace("grey", "gray"))


def _said(
    kind: str, f: Mapping[str, Any], attributes: Mapping[str, Mapping[str, Attr]], rule: str
) -> bool:
    """Whether the rule's words support a ``values`` or ``same`` check on text values.

    A small model fills plans with allowed colours of every part (seen: "black, red, blue"
    for banana chips in a rule about where they lie). A ``values`` check on a colour or
    enum needs one of its allowed values in the rule; a ``same`` check on the colour needs
    the word colour (or a colour name). A ``values`` check on a number needs every allowed
    number in the rule, in digits, words or a short span ("row 0 to 2") (seen: "2, 3 or 5
    clamps", from another rule, for "both have the same number of clamps"). Other checks
    are kept.
    """
    a = attributes.get(f["label"], {}).get(f.get("attribute") or "")
    words = _words(rule)
    if a is not None and a.type == "number" and kind == "values":
        said = {float(w) for w in re.findall(r"\d+(?:\.\d+)?", words)}
        said |= {float(n) for w, n in {**NUMBER_WORDS, "zero": 0}.items() if f" {w} " in words}
        said |= number_spans(rule)
        return all(float(v) in said for v in f["allowed"])
    if a is None or a.type not in ("color", "enum"):
        return True
    if kind == "values":
        return any(_words(str(v)) in words for v in f["allowed"])
    if kind == "same" and a.type == "color":
        return _colour_said(words)
    return True


def _colour_said(words: str) -> bool:
    """Whether words (from :func:`_words`) name colour, or a colour."""
    return any(f" {w} " in words for w in ("color", "colour", "colors", "colours")) or any(
        f" {c} " in words for c in COLOR_NAMES
    )


def _fits(value: Any, a: Attr) -> bool:
    """Whether ``value`` is a value attribute ``a`` can take (code is written from it)."""
    if a.type in ("enum", "color"):
        return value in a.values
    if a.type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if a.type == "bool":
        return isinstance(value, bool)
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_ .-]{1,40}", value) is not None


def _check_fields(
    n: int, kind: str, f: dict[str, Any], attributes: Mapping[str, Mapping[str, Attr]]
) -> None:
    own = attributes.get(f["label"], {})
    if kind in ("count", "each"):
        if kind == "count" and f["inside"] == f["label"]:
            f["inside"] = None
        lo = _number(f["min"], f"check {n}: min")
        hi = _number(f["max"], f"check {n}: max", optional=True)
        f["min"] = int(lo or 0)
        f["max"] = None if hi is None else int(hi)
        if f["max"] is not None and f["max"] < f["min"]:
            f["min"], f["max"] = f["max"], f["min"]
    elif kind == "set":
        if f["attribute"] not in own:
            raise PlanError(f"check {n}: {f['label']} has no attribute {f['attribute']!r}")
    elif kind == "equal":
        if f["attribute"] not in own or f["other_attribute"] not in own:
            raise PlanError(f"check {n}: equal needs two attributes of {f['label']}")
    elif kind == "values":
        if f["attribute"] not in own:
            raise PlanError(f"check {n}: {f['label']} has no attribute {f['attribute']!r}")
        if not isinstance(f["allowed"], list) or not f["allowed"]:
            raise PlanError(f"check {n}: 'allowed' must be a non-empty list")
        a = own[f["attribute"]]
        bad = [v for v in f["allowed"] if not _fits(v, a)]
        if bad:
            raise PlanError(f"check {n}: {f['label']}.{a.name} cannot be {bad[0]!r}")
        f["allowed"] = list(dict.fromkeys(f["allowed"]))
    elif kind == "same":
        if f["attribute"] not in own and f["attribute"] not in MEASURES:
            raise PlanError(f"check {n}: {f['label']} has no attribute {f['attribute']!r}")
        f["tolerance"] = _number(f["tolerance"] or 0, f"check {n}: tolerance")
    elif kind == "relation":
        if f["relation"] not in RELATIONS:
            raise PlanError(f"check {n}: relation must be one of {', '.join(RELATIONS)}")
    elif kind == "centred":
        if f["axis"] not in AXES:
            raise PlanError(f"check {n}: axis must be x, y or both")
        f["tolerance"] = _number(f["tolerance"], f"check {n}: tolerance")
    elif kind == "position":
        if f["edge"] not in EDGES:
            raise PlanError(f"check {n}: edge must be one of {', '.join(EDGES)}")
        f["min"], f["max"] = sorted((_number(f["min"], "min"), _number(f["max"], "max")))
    elif kind == "size":
        if f["measure"] not in MEASURES:
            raise PlanError(f"check {n}: measure must be one of {', '.join(MEASURES)}")
        f["min"], f["max"] = sorted((_number(f["min"], "min"), _number(f["max"], "max")))
    elif kind == "upright":
        f["max_degrees"] = _number(f["max_degrees"], f"check {n}: max_degrees")
    elif kind == "scaled":
        for key, lab in (("measure", f["label"]), ("of_measure", f["of"])):
            if lab is None:
                raise PlanError(f"check {n}: scaled needs 'of', the label it is measured against")
            if f[key] not in _measures(attributes.get(lab, {})):
                raise PlanError(f"check {n}: {lab} has no number attribute {f[key]!r}")
        ranges = f["ranges"]
        if not isinstance(ranges, list) or not ranges or len(ranges) > 3:
            raise PlanError(f"check {n}: 'ranges' must list one to three [min, max] pairs")
        out = []
        for r in ranges:
            if not isinstance(r, list) or len(r) != 2:
                raise PlanError(f"check {n}: each range must be [min, max]")
            out.append(sorted(_number(v, f"check {n}: a range bound") for v in r))
        f["ranges"] = out
        exactly = _number(f["exactly"], f"check {n}: exactly", optional=True)
        f["exactly"] = None if exactly is None else int(exactly)
    elif kind == "map":
        other = attributes.get(f["other"], {})
        if f["attribute"] not in own or f["other_attribute"] not in other:
            raise PlanError(f"check {n}: map needs an attribute of each label")
        if other[f["other_attribute"]].type != "number":
            raise PlanError(f"check {n}: map reads a number from {f['other']}")
    elif kind == "distinct":
        names = f["attributes"]
        if not isinstance(names, list) or not names or any(a not in own for a in names):
            raise PlanError(f"check {n}: distinct needs a list of {f['label']}'s attributes")
        f["attributes"] = list(dict.fromkeys(names))
    elif kind == "match":
        other = attributes.get(f["other"], {})
        if f["attribute"] not in own or f["other_attribute"] not in other:
            raise PlanError(f"check {n}: match needs an attribute of each label")
        never = f.get("never") if isinstance(f.get("never"), list) else []
        f["never"] = [v for v in never if _fits(v, own[f["attribute"]])]


def own_numbers(check: Check, attributes: Mapping[str, Mapping[str, Attr]]) -> list[float]:
    """The numbers a check's meaning lies in (bounds, shares, a tolerance); [] if none.

    Relations, allowed values, set, equal, match, map and distinct carry none, nor does
    sameness of a text attribute: nothing but the counterexamples tells whether the rule
    needs them.
    """
    f = check.fields
    if check.kind == "same":
        a = attributes.get(f["label"], {}).get(f["attribute"])
        return [f["tolerance"]] if a is None or a.type == "number" else []
    if check.kind in ("count", "each"):
        return [float(f["min"])] + ([] if f["max"] is None else [float(f["max"])])
    if check.kind in ("position", "size"):
        return [f["min"], f["max"]]
    if check.kind == "centred":
        return [f["tolerance"]]
    if check.kind == "upright":
        return [f["max_degrees"]]
    if check.kind == "scaled":
        return [v for r in f["ranges"] for v in r]
    return []


# --- rendering --------------------------------------------------------------------------------


def _bounds_text(lo: int, hi: int | None) -> str:
    """A count's bounds in words ("exactly 2", "at least 1", "between 1 and 3")."""
    if hi == lo:
        return f"exactly {lo}"
    return f"at least {lo}" if hi is None else f"between {lo} and {hi}"


def _pct(v: float) -> str:
    return f"{v * 100:g}%"


def _fraction(v: float) -> float:
    """A share the model may have written as a percentage (4 for 4 %)."""
    return v / 100.0 if abs(v) > 1.0 else v


def _value_of(var: str, label: str, name: str, attributes: Mapping[str, Mapping[str, Attr]]) -> str:
    """Expression for attribute ``name`` of component ``var`` (the colour name if no such)."""
    a = attributes.get(label, {}).get(name)
    if a is not None and a.type == "color":
        return f"{var}.color"
    if a is None and name in MEASURES:
        return f"{var}.{name}"
    return f"{var}.attr({name!r})"


def _render_one(i: int, c: Check, attributes: Mapping[str, Mapping[str, Attr]]) -> list[str]:
    f = c.fields
    lab = f["label"]
    if c.kind == "count":
        lo, hi, box = f["min"], f["max"], f["inside"]
        want = _bounds_text(lo, hi)
        # With "inside", only the parts inside an `inside` part count (none without one).
        counted = f"inside{i}" if box else f"found{i}"
        test = f"len({counted}) < {lo}" + ("" if hi is None else f" or len({counted}) > {hi}")
        where = f" inside a {box}" if box else ""
        lines = [f"    found{i} = scene.find({lab!r})"]
        if box:
            lines += [
                f"    holders{i} = scene.find({box!r})",
                f"    inside{i} = [a for a in found{i} if any(b.contains(a) for b in holders{i})]",
            ]
        lines += [
            f"    if {test}:",
            f'        out.append(violation(f"found {{len({counted})}} {lab}{where}, expected '
            f'{want}", *found{i}))',
        ]
        if box:
            lines += [
                f"    for a in found{i}:",
                f"        if holders{i} and a not in inside{i}:",
                f'            out.append(violation(f"{lab} {{a.id}} is not inside a {box}", '
                f"a, *holders{i}))",
            ]
        return lines
    if c.kind == "each":
        held, lo, hi = f["holds"], f["min"], f["max"]
        want = _bounds_text(lo, hi)
        test = f"n < {lo}" + ("" if hi is None else f" or n > {hi}")
        return [
            f"    held{i} = scene.find({held!r})",
            f"    for a in scene.find({lab!r}):",
            f"        n = sum(1 for b in held{i} if a.contains(b))",
            f"        if {test}:",
            f'            out.append(violation(f"{lab} {{a.id}} holds {{n}} {held}, expected '
            f'{want}", a))',
        ]
    if c.kind == "set":
        name = f["attribute"]
        return [
            f"    for a in scene.find({lab!r}):",
            f"        if a.attr({name!r}) is None:",
            f'            out.append(violation(f"{lab} {{a.id}} has no {name}", a))',
        ]
    if c.kind == "equal":
        x, y = f["attribute"], f["other_attribute"]
        return [
            f"    for a in scene.find({lab!r}):",
            f"        x, y = a.attr({x!r}), a.attr({y!r})",
            "        if x is not None and y is not None and x != y:",
            f'            out.append(violation(f"{lab} {{a.id}} {x} {{x}} differs from {y} {{y}}", '
            "a))",
        ]
    if c.kind == "values":
        allowed = tuple(f["allowed"])
        value = _value_of("a", lab, f["attribute"], attributes)
        names = ", ".join(str(v) for v in allowed)
        return [
            f"    for a in scene.find({lab!r}):",
            f"        value = {value}",
            f"        if value not in {allowed!r}:",
            f'            out.append(violation(f"{lab} {{a.id}} has {f["attribute"]} {{value}}, '
            f'expected one of {names}", a))',
        ]
    if c.kind == "same":
        name = f["attribute"]
        value = _value_of("a", lab, name, attributes)
        attr = attributes.get(lab, {}).get(name)
        if attr is not None and attr.type in ("enum", "color", "bool", "string"):
            return [
                f"    parts{i} = [a for a in scene.find({lab!r}) if {value} is not None]",
                f"    if len({{{value} for a in parts{i}}}) > 1:",
                f'        out.append(violation("the {lab} parts differ in {name}", *parts{i}))',
            ]
        tol = _fraction(f["tolerance"])
        return [
            f"    parts{i} = [(a, {value}) for a in scene.find({lab!r})]",
            f"    parts{i} = [(a, v) for a, v in parts{i} if v is not None]",
            f"    if len(parts{i}) >= 2:",
            f"        mean{i} = sum(v for _, v in parts{i}) / len(parts{i})",
            f"        for a, v in parts{i}:",
            f"            if abs(v - mean{i}) > {tol!r} * abs(mean{i}):",
            f'                out.append(violation(f"{lab} {{a.id}} {name} {{v:.3g}} is more than '
            f'{_pct(tol)} off the mean {{mean{i}:.3g}}", a))',
        ]
    if c.kind == "relation":
        rel, other = f["relation"], f["other"]
        test = "b.contains(a)" if rel == "inside" else f"{rel}(a, b)"
        words = rel.replace("_", " ")
        return [
            f"    others{i} = scene.find({other!r})",
            f"    for a in scene.find({lab!r}):",
            f"        near = [b for b in others{i} if b is not a]",
            f"        if near and not any({test} for b in near):",
            f'            out.append(violation(f"{lab} {{a.id}} is not {words} the {other}", '
            "a, *near))",
        ]
    if c.kind == "centred":
        other, tol = f["other"], _fraction(f["tolerance"])
        axes = ("x", "y") if f["axis"] == "both" else (f["axis"],)
        lines = [
            f"    b = scene.one({other!r})",
            "    if b is not None:",
            f"        for a in scene.find({lab!r}):",
        ]
        for ax in axes:
            size = "width" if ax == "x" else "height"
            lines += [
                f"            off = abs(a.center.{ax} - b.center.{ax})",
                f"            if off > {tol!r} * b.{size}:",
                f'                out.append(violation(f"{lab} {{a.id}} centre is {{off:.0f}} px '
                f'off the {other} centre ({ax}), more than {_pct(tol)} of its {size}", a, b))',
            ]
        return lines
    if c.kind == "position":
        other, edge = f["other"], f["edge"]
        lo, hi = _fraction(f["min"]), _fraction(f["max"])
        if edge in ("top", "bottom", "center_y"):
            point = "a.center.y" if edge == "center_y" else f"a.{edge}"
            share = f"(({point}) - b.top) / b.height"
            size = "height"
        else:
            point = "a.center.x" if edge == "center_x" else f"a.{edge}"
            share = f"(({point}) - b.left) / b.width"
            size = "width"
        return [
            f"    b = scene.one({other!r})",
            f"    if b is not None and b.{size} > 0:",
            f"        for a in scene.find({lab!r}):",
            f"            share = {share}",
            f"            if not between(share, {lo!r}, {hi!r}):",
            f'                out.append(violation(f"{lab} {{a.id}} {edge} lies at '
            f'{{share:.0%}} of the {other} {size}, expected {_pct(lo)} to {_pct(hi)}", a, b))',
        ]
    if c.kind == "size":
        measure, of, lo, hi = f["measure"], f["of"], f["min"], f["max"]
        lines = []
        indent, evidence = "    ", "a"
        if of is None:
            base, what = "1", "px"
        elif of == "image":
            extent = {"area": "scene.width * scene.height", "height": "scene.height"}
            base, what = extent.get(measure, "scene.width"), "of the image's"
        else:
            base, what = f"b.{measure}", f"of the {of}'s"
            lines += [f"    b = scene.one({of!r})", f"    if b is not None and b.{measure} > 0:"]
            indent, evidence = "        ", "a, b"
        what = f"{what} {measure}" if of is not None else what
        lines += [
            f"{indent}for a in scene.find({lab!r}):",
            f"{indent}    share = a.{measure} / {base}",
            f"{indent}    if not between(share, {lo!r}, {hi!r}):",
            f'{indent}        out.append(violation(f"{lab} {{a.id}} {measure} is {{share:.3g}} '
            f'{what}, expected {lo:g} to {hi:g}", {evidence}))',
        ]
        return lines
    if c.kind == "upright":
        deg = f["max_degrees"]
        return [
            f"    for a in scene.find({lab!r}):",
            f"        if a.tilt > {deg:g}:",
            f'            out.append(violation(f"{lab} {{a.id}} is tilted {{a.tilt:.1f}} degrees, '
            f'more than {deg:g}", a))',
        ]
    if c.kind == "scaled":
        return _render_scaled(i, f, attributes)
    if c.kind == "map":
        other, pairs = f["other"], dict(f["pairs"])
        mine = _value_of("a", lab, f["attribute"], attributes)
        key = f["other_attribute"]
        table = ", ".join(f"{v} for {k:g}" for k, v in pairs.items())
        if other == lab:
            lines = [f"    for a in scene.find({lab!r}):", f"        k = a.attr({key!r})"]
        else:
            lines = [
                f"    keys{i} = {{b.attr({key!r}) for b in scene.find({other!r})}} - {{None}}",
                f"    if len(keys{i}) == 1:",
                f"        k = next(iter(keys{i}))",
                f"        for a in scene.find({lab!r}):",
            ]
        pad = " " * (8 if other == lab else 12)
        return [
            *lines,
            f"{pad}want = {pairs!r}.get(k)",
            f"{pad}if want is not None and {mine} != want:",
            f'{pad}    out.append(violation(f"{lab} {{a.id}} {f["attribute"]} is {{{mine}}}, '
            f'expected {{want}} for {other} {key} {{k:g}} ({table})", a))',
        ]
    if c.kind == "distinct":
        names = tuple(f["attributes"])
        value = ", ".join(_value_of("a", lab, x, attributes) for x in names)
        shown = " and ".join(names)
        return [
            f"    seen{i} = {{}}",
            f"    for a in scene.find({lab!r}):",
            f"        key = ({value},)",
            f"        if key in seen{i}:",
            f'            out.append(violation(f"{lab} {{a.id}} and {{seen{i}[key].id}} share '
            f'{shown} {{key}}", a, seen{i}[key]))',
            "        else:",
            f"            seen{i}[key] = a",
        ]
    # match
    other = f["other"]
    mine = _value_of("a", lab, f["attribute"], attributes)
    theirs = _value_of("b", other, f["other_attribute"], attributes)
    never = tuple(f["never"])
    return [
        f"    b = scene.one({other!r})",
        "    if b is not None:",
        f"        for a in scene.find({lab!r}):",
        f"            mine, theirs = {mine}, {theirs}",
        f"            if mine is None or mine != theirs or mine in {never!r}:",
        f'                out.append(violation(f"{lab} {{a.id}} {f["attribute"]} {{mine}} does not '
        f'match {other} {f["other_attribute"]} {{theirs}}", a, b))',
    ]


def _render_scaled(
    i: int, f: Mapping[str, Any], attributes: Mapping[str, Mapping[str, Attr]]
) -> list[str]:
    """Code of a ``scaled`` check: a measure over the mean measure of another label's parts."""
    lab, of, measure, base = f["label"], f["of"], f["measure"], f["of_measure"]
    ranges, exactly = [tuple(r) for r in f["ranges"]], f["exactly"]
    test = " or ".join(f"between(r, {lo!r}, {hi!r})" for lo, hi in ranges)
    allowed = " or ".join(f"{lo:g} to {hi:g}" for lo, hi in ranges)
    whose = f"{lab} {{a.id}} {measure} is {{r:.2f}} times the mean {of} {base}"
    lines = [
        f"    base{i} = [{_value_of('b', of, base, attributes)} for b in scene.find({of!r})]",
        f"    base{i} = [v for v in base{i} if v is not None]",
        f"    if base{i} and sum(base{i}) > 0:",
        f"        mean{i} = sum(base{i}) / len(base{i})",
        f"        hits{i} = []",
        f"        for a in scene.find({lab!r}):",
        f"            v = {_value_of('a', lab, measure, attributes)}",
        "            if v is None:",
        "                continue",
        f"            r = v / mean{i}",
        f"            if {test}:",
        f"                hits{i}.append(a)",
    ]
    if exactly is None:
        return [
            *lines,
            "            else:",
            f'                out.append(violation(f"{whose}, expected {allowed}", a))',
        ]
    return [
        *lines,
        f"        if len(hits{i}) != {exactly}:",
        f'            out.append(violation(f"{{len(hits{i})}} {lab} with {measure} {allowed} times '
        f'the mean {of} {base}, expected exactly {exactly}", *hits{i}))',
    ]


def render(plan: Sequence[Check], attributes: Mapping[str, Mapping[str, Attr]]) -> str:
    """Rule code for a plan: one block per check, the violations of all of them."""
    body = ["def check(scene):", "    out = []"]
    for i, c in enumerate(plan, 1):
        desc = ", ".join(f"{k}={v}" for k, v in c.fields.items() if v not in (None, []))
        body.append(f"    # check {i}: {c.kind} ({desc})")
        body += _render_one(i, c, attributes)
    body.append("    return out")
    return "\n".join(body) + "\n"


def describe_vocabulary(spec: CategorySpec) -> str:
    """Labels with their attributes and values, one per line, for the plan prompt."""
    lines = []
    for lab, attrs in label_attributes(spec).items():
        parts = []
        for a in attrs.values():
            if a.type == "color":
                parts.append("color (its colour name)")
                continue
            vals = f": {', '.join(a.values)}" if a.values else f" ({a.type})"
            parts.append(f"{a.name}{vals}")
        lines.append(f"- {lab}: " + ("; ".join(parts) if parts else "no attributes"))
    return "\n".join(lines)
