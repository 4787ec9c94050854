"""What a rule's own words promise ("exactly two nuts", "if there is a lid"), as verdicts.

A rule that says "there are exactly two nuts" is broken when a nut is removed or a third one
added. Small models often write code that returns ``[]`` when a part is missing (seen:
"the top label carries exactly one fruit icon" compiled into code that ignores a missing
icon), and the counterexamples alone cannot tell that this is wrong: the rule might have been
conditional. The rule's text can: this module reads the phrase "exactly N <label>" and turns
it into expected verdicts on the ``remove`` and ``duplicate`` counterexamples of that label.

The opposite mistake (seen: "if there is liquid, its top edge lies between 16 % and 24 %..."
compiled into code that reports a missing liquid) is read from a leading condition: a
sentence that starts "If there is a liquid, ..." holds when the liquid is removed, provided
every reference has exactly one liquid (so removing it makes the condition false) and the
condition has no "or" (removing one of two alternatives leaves the other).

Three more readings of the same kind: a count per holding part ("every compartment holds
exactly one pushpin": removing a pushpin breaks it, where each reference has that many per
holder), a number attribute fixed by name or by equality ("its pieces attribute is 1", "its
left_clamp equals its right_clamp": another value breaks it, where every reference agrees),
a nullable attribute the rule requires ("its left_clamp and right_clamp are both set (not
null)": unsetting either breaks it), a leading condition's part removed altogether ("if
there is no washer, this rule holds": removing every washer keeps it), and a definite holder
of a stated count ("the top label carries exactly one fruit icon": removing the top label
breaks it, since it then carries none; seen: code that returned ``[]`` without a top label,
validated and wrong on held-out scenes).

The readings are deliberately narrow, so that they are never wrong rather than often helpful:

* only a number (word or digits, or "a single") right before a label of the vocabulary
  counts, with "exactly" ("precisely", "N and only N") or without it, but never with words
  that make it a bound or an alternative ("at most two nuts", "two nuts or more", "one or
  two nuts");
* the number must equal that label's count in every normal reference (so "exactly one screw
  is a long screw" with two screws per image promises nothing);
* a sentence that states a condition ("if", "when", "unless" before the phrase) promises
  nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from logicode.codegen.counterexamples import Mutation
from logicode.spec import CategorySpec

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
"""Number words a rule may count with, and their values."""
_COUNT_OPS = ("remove", "remove_all", "duplicate")
_CONDITION = re.compile(r"\b(if|when|whenever|unless|provided)\b", re.I)


_EXACTLY = re.compile(
    r"(?:\b(?:exactly|precisely)\s+(?P<n>\d+|[a-z]+)|\b(?P<m>\d+|[a-z]+)\s+and\s+only\s+(?P=m))"
    r"\s+(?=(?P<rest>[a-z][a-z _-]*))",
    re.I,
)
"""A stated count: "exactly two", "precisely 2", "one and only one"."""


_BARE = re.compile(
    r"\b(?P<n>a\s+single|\d+|[a-z]+)\s+(?=(?P<rest>[a-z][a-z _-]*))",
    re.I,
)
"""A count without "exactly": "two nuts must be present", "a single box", "15 pushpins"."""
_BOUND_BEFORE = re.compile(
    r"(?:\bat\s+(?:least|most)|\bno\s+(?:more|fewer|less)\s+than|\bup\s+to|"
    r"\b(?:more|fewer|less)\s+than|\bover|\bunder|\b(?:maximum|minimum)\s+of|\bor|"
    r"\bno|\bnot|\bnever|\bwithout)\s*$",
    re.I,
)
"""Words before a number that make it a bound, an alternative or a negation, not a count."""
_BOUND_AFTER = re.compile(r"^(?:e?s)?\s+(?:or|at\s+(?:least|most))\b", re.I)
"""Words after "<number> <label>" that make it a bound or an alternative ("two nuts or more")."""


def _label_at(words: str, vocabulary: Sequence[str]) -> tuple[str, str] | None:
    """The label whose words start ``words`` (lower case, space separated), and the rest."""
    for label in vocabulary:
        phrase = " ".join(p for p in re.split(r"[_\s-]+", label.lower()) if p)
        hit = re.match(rf" {re.escape(phrase)}(?=(e?s)? )", words)
        if hit:
            return label, words[hit.end() :]
    return None


def plain_words(text: str) -> str:
    """Lower-case words and numbers of ``text``, space separated and padded (" top label ").

    Example:
        ``plain_words("The top_label, tilted 12.5 deg") == " the top label tilted 12.5 deg "``
    """
    low = text.lower().replace("_", " ")
    return " " + " ".join(re.findall(r"\d+(?:\.\d+)?|[a-z0-9]+", low)) + " "


def mentions(words: str, name: str) -> bool:
    """Whether ``words`` (from :func:`plain_words`) use ``name``'s words, singular or plural.

    Example:
        ``mentions(plain_words("two fruit icons"), "fruit_icon") is True``
    """
    phrase = plain_words(name).strip()
    return bool(phrase) and re.search(rf" {re.escape(phrase)}(?:e?s)? ", words) is not None


def named_labels(rule_text: str, vocabulary: Sequence[str]) -> list[str]:
    """The labels whose words the rule uses ("fruit icon", "washers"), in vocabulary order.

    Two labels with the same last word count as named together ("each top or bottom
    label", "the top and bottom labels").
    """
    words = plain_words(rule_text)
    for label in vocabulary:
        *first, last = plain_words(label).split() or [""]
        if not first:
            continue
        for other in vocabulary:
            *their, their_last = plain_words(other).split() or [""]
            if other == label or their_last != last or len(their) != 1:
                continue
            # "top or bottom label": "top" stands for "top label"
            pair = rf" {their[0]} (?:or|and) {' '.join(first)} {last}"
            if re.search(pair, words):
                words += f"{their[0]} {last} "
    return [label for label in vocabulary if mentions(words, label)]


def stated_counts(text: str, vocabulary: Sequence[str]) -> dict[str, int]:
    """Labels whose exact count the rule states unconditionally: label -> count.

    "exactly N <label>" (or "precisely N", "N and only N") states a count; so does a bare
    "N <label>" ("two nuts must be present", "a single box", "the bag contains 15 pins")
    unless words around it make it a bound or an alternative ("at most two nuts", "two
    nuts or more", "one or two nuts"). A count only binds where the references agree with
    it (:func:`stated_expectations`), so "one screw is long" with two screws per image,
    or "each cell holds one pin" with many pins, promise nothing.

    Example:
        ``stated_counts("There are exactly two nuts.", ["nut"]) == {"nut": 2}``
    """
    out: dict[str, int] = {}
    for sentence in re.split(r"(?<=[.;:])\s+", " ".join(text.split())):
        hits = [(h, h.group("n") or h.group("m"), False) for h in _EXACTLY.finditer(sentence)]
        hits += [
            (h, h.group("n"), True)
            for h in _BARE.finditer(sentence)
            if not _BOUND_BEFORE.search(sentence[: h.start()])
        ]
        for hit, word, bare in hits:
            if _CONDITION.search(sentence[: hit.start()]):
                continue
            word = " ".join(word.lower().split())
            if word == "a single":
                n: int | None = 1
            else:
                n = int(word) if word.isdigit() else NUMBER_WORDS.get(word)
            if n is None:
                continue
            words = plain_words(hit.group("rest"))
            found = _label_at(words, vocabulary)
            if found is None or (bare and _BOUND_AFTER.match(found[1])):
                continue
            out.setdefault(found[0], n)
    return out


_LEADING_IF = re.compile(r"\s*(?:if|when|whenever|provided(?:\s+that)?)\b(?P<cond>[^,]*),", re.I)
"""A leading condition: "If there is a lid, ...", "Provided liquid is present, ..."."""
_IF_PRESENT = re.compile(
    r"\s*(?P<cond>[^,]+?),\s*(?:if|when|where)\s+(?:present|there|any|it is present|"
    r"they are present|it exists|they exist)\s*,",
    re.I,
)
"""A subject with its condition after it: "A top label, if present, is ..."."""
_HOLDS_WHEN = re.compile(
    r"\b(?:rule|it)\s+(?:is\s+satisfied|is\s+met|holds|passes)\s+(?:when|if|with)\b"
    r"(?P<cond>[^.;]*)",
    re.I,
)
"""What makes the rule hold outright: "The rule is satisfied when there are no washers"."""
_ABSENCE = re.compile(r"\b(?:no|zero|none|fewer|less|without)\b", re.I)
_NUMBER_OR = re.compile(r"\b(?:zero|no|one|two|\d+)\s+or\s+(?:zero|one|two|\d+)\b", re.I)


def conditional_labels(text: str, vocabulary: Sequence[str]) -> list[str]:
    """Labels a condition of the rule names, without "or" between parts, in vocabulary order.

    A leading "If/When ..., " ("If there is a lid, it is red"), a subject followed by its
    condition ("A top label, if present, is centred"), and what makes the rule hold outright
    ("The rule is satisfied when there are no washers"; "zero or one washers" is no
    alternative of parts).

    Example:
        ``conditional_labels("If there is a lid, it is red.", ["lid"]) == ["lid"]``
    """
    found: set[str] = set()
    for sentence in re.split(r"(?<=[.;:])\s+", " ".join(text.split())):
        clauses = [
            hit.group("cond")
            for hit in (_LEADING_IF.match(sentence), _IF_PRESENT.match(sentence))
            if hit is not None
        ]
        # Only an absence makes the rule hold when the part goes ("when there are no
        # washers", "with fewer than two"), not a state of it ("when the lid is shut").
        clauses += [
            _NUMBER_OR.sub(" ", h.group("cond"))
            for h in _HOLDS_WHEN.finditer(sentence)
            if _ABSENCE.search(h.group("cond"))
        ]
        for clause in clauses:
            if re.search(r"\bor\b", clause, re.I):
                continue
            words = plain_words(clause)
            found.update(label for label in vocabulary if mentions(words, label))
    return [label for label in vocabulary if label in found]


def _promises(
    text: str, spec: CategorySpec, references: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, int], list[str], list[str]]:
    """What the rule promises that the references agree with.

    Returns:
        The stated counts, the condition labels, and the labels whose removal breaks a count
        per holding part: the parts counted per holder (:func:`per_part_counts`) and a
        definite holder ("the lid carries one sticker": removing the lid leaves none on it).
    """

    def seen(label: str) -> set[int]:
        return {
            sum(1 for c in ref.get("components", []) if c.get("label") == label)
            for ref in references
        }

    counts = {
        label: n for label, n in stated_counts(text, spec.vocabulary).items() if seen(label) == {n}
    }
    # "Every compartment holds exactly one pushpin": removing a pushpin empties a compartment.
    per_part = [
        label
        for label, (holder, n) in per_part_counts(text, spec.vocabulary).items()
        if label not in counts
        and all(
            sum(1 for c in ref.get("components", []) if c.get("label") == label)
            == n * sum(1 for c in ref.get("components", []) if c.get("label") == holder)
            > 0
            for ref in references
        )
    ]
    # "The top label carries exactly one fruit icon": without the top label it carries none.
    per_part += [
        holder
        for label, (holder, n) in per_part_counts(text, spec.vocabulary, definite=True).items()
        if n >= 1 and seen(holder) == {1} and seen(label) == {n}
    ]
    conditions = [
        label for label in conditional_labels(text, spec.vocabulary) if seen(label) == {1}
    ]
    return counts, conditions, per_part


_PER_PART = re.compile(
    r"\b(?P<det>every|each|the)\s+(?P<holder>[a-z][a-z _-]*?)\s+"
    r"(?:holds|contains|has|carries|takes)\s+"
    r"(?:exactly\s+|precisely\s+)?(?P<n>\d+|[a-z]+)\s+(?P<rest>[a-z][a-z _-]*)",
    re.I,
)


def per_part_counts(
    text: str, vocabulary: Sequence[str], *, definite: bool = False
) -> dict[str, tuple[str, int]]:
    """Counts stated per holding part: "every compartment holds exactly one pushpin".

    Args:
        text: The rule in English.
        vocabulary: The product's labels.
        definite: Read "the <holder> carries N <held>" instead of "every/each <holder>".

    Returns:
        Held label -> (holder label, count per holder); empty when the rule states none.

    Example:
        ``per_part_counts("Each tray holds two nuts.", ["tray", "nut"]) == {"nut": ("tray", 2)}``
    """
    out: dict[str, tuple[str, int]] = {}
    for sentence in re.split(r"(?<=[.;:])\s+", " ".join(text.split())):
        for hit in _PER_PART.finditer(sentence):
            if _CONDITION.search(sentence[: hit.start()]):
                continue
            if (hit.group("det").lower() == "the") != definite:
                continue
            word = hit.group("n").lower()
            n = int(word) if word.isdigit() else NUMBER_WORDS.get(word, 1 if word == "a" else None)
            holder = _label_at(
                " " + " ".join(hit.group("holder").lower().split()) + " ", vocabulary
            )
            held = _label_at(
                plain_words(hit.group("rest")),
                vocabulary,
            )
            if n and holder and held and holder[0] != held[0]:
                out.setdefault(held[0], (holder[0], n))
    return out


def _number_attributes(spec: CategorySpec) -> list[tuple[str, str]]:
    return [(c.label, a.name) for c in spec.components for a in c.attributes if a.type == "number"]


def stated_attribute_values(text: str, spec: CategorySpec) -> list[tuple[str, str, float]]:
    """Number attributes the rule fixes by name: "its pieces attribute is 1", "(pieces == 1)".

    Returns:
        (label, attribute, value) in spec order.
    """
    flat = " ".join(text.split())
    out = []
    for label, name in _number_attributes(spec):
        hit = re.search(
            rf"\b{re.escape(name)}(?:\s+attribute)?\s*(?:is|equals|==|=|of)\s*(\d+(?:\.\d+)?)\b",
            flat,
            re.I,
        )
        if hit:
            out.append((label, name, float(hit.group(1))))
    return out


_SPAN = (
    r"(?:\bbetween\s+(?P<a>\d+)\s+and\s+(?P<b>\d+)"
    r"|(?:\bfrom\s+)?(?<![\d.])(?P<c>\d+)\s*(?:to|-|\u2013)\s*(?P<d>\d+))"
    r"(?![\d.]*\s*(?:%|percent\b|\.\d))"
)
"""A span of whole numbers: "0 to 2", "from 0 to 4", "between 1 and 3", "2-4"."""
_MOST_SPANNED = 20
"""The widest span read as a set of whole numbers ("row 0 to 2" is 0, 1 or 2)."""


def _span(hit: re.Match[str]) -> set[float] | None:
    """The whole numbers a :data:`_SPAN` match spans, or None when it is no short span."""
    lo, hi = int(hit["a"] or hit["c"]), int(hit["b"] or hit["d"])
    if not 0 < hi - lo <= _MOST_SPANNED:
        return None
    return {float(v) for v in range(lo, hi + 1)}


def number_spans(text: str) -> set[float]:
    """The whole numbers inside the short spans the rule states ("col 0 to 4": 0 to 4).

    Not percentages or decimals ("40% to 60%", "0.5 to 2.0"): those bound a measure.

    Example:
        ``number_spans("row 0 to 2, between 40% and 60%") == {0.0, 1.0, 2.0}``
    """
    out: set[float] = set()
    for hit in re.finditer(_SPAN, " ".join(text.split()), re.I):
        out |= _span(hit) or set()
    return out


def stated_attribute_sets(text: str, spec: CategorySpec) -> list[tuple[str, str, set[float]]]:
    """Number attributes the rule allows a few values of: "every connector has 2, 3 or 5 clamps".

    The numbers are listed with "or" right before the attribute's name (or its singular):
    "2, 3 or 5 clamps"; or a short span of whole numbers follows the name: "row 0 to 2",
    "col from 0 to 4", "rows between 1 and 3" (:func:`number_spans`).

    Returns:
        (label, attribute, allowed values) in spec order.
    """
    flat = " ".join(text.split()).replace("_", " ")
    out = []
    for label, name in _number_attributes(spec):
        noun = re.escape(name.replace("_", " ").rstrip("s"))
        hit = re.search(
            rf"\b((?:\d+(?:\.\d+)?\s*,\s*)*\d+(?:\.\d+)?\s*,?\s+or\s+\d+(?:\.\d+)?)\s+{noun}s?\b",
            flat,
            re.I,
        )
        if hit:
            out.append((label, name, {float(v) for v in re.findall(r"\d+(?:\.\d+)?", hit[1])}))
            continue
        spanned = re.search(rf"\b{noun}s?\s+(?:(?:is|are|lies|lie)\s+)?{_SPAN}", flat, re.I)
        allowed = _span(spanned) if spanned else None
        if allowed:
            out.append((label, name, allowed))
    return out


def stated_equal_attributes(text: str, spec: CategorySpec) -> list[tuple[str, str, str]]:
    """Two number attributes of one label the rule says are equal: "its a equals its b"."""
    flat = " ".join(text.split())
    out = []
    for label, a in _number_attributes(spec):
        for other, b in _number_attributes(spec):
            if other != label or a == b:
                continue
            pattern = (
                rf"\b{re.escape(a)}\s+(?:equals|is\s+equal\s+to|is\s+the\s+same\s+as|==|=|matches)\s+"
                rf"(?:its\s+|the\s+\w+'s\s+|the\s+)?{re.escape(b)}\b"
            )
            if re.search(pattern, flat, re.I):
                out.append((label, a, b))
    return out


_SAME = re.compile(r"\b(?:same|identical|match|matches|equal|equals|agree|agrees)\b", re.I)


def stated_matching_attributes(
    text: str, spec: CategorySpec
) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Two parts' enum attributes with the same values that the rule says must match.

    "the icon's fruit and the juice's kind must be identical": the fruit icon's ``kind``
    and the liquid's ``juice`` share their values, the rule names both (by label or by
    attribute name) and says same, identical, match or equal.

    Returns:
        ((label, attribute), (other label, other attribute)) pairs, in spec order.
    """
    if not _SAME.search(text):
        return []
    words = plain_words(text)
    enums = [
        (c.label, a.name, tuple(a.values or ()))
        for c in spec.components
        for a in c.attributes
        if a.type == "enum" and (mentions(words, c.label) or mentions(words, a.name))
    ]
    return [
        ((la, a), (lb, b))
        for i, (la, a, va) in enumerate(enums)
        for lb, b, vb in enums[i + 1 :]
        if la != lb and va and set(va) == set(vb)
    ]


_NOT_NULL = re.compile(
    r"\b(?:not|neither|nor|never)\b[^.;:]{0,24}?\b(?:null|none|empty|unset)\b"
    r"|\bnon-?null\b|\bhas a value\b|\bhave a value\b|\bhave values\b"
    r"|\b(?:is|are)\s+(?:both\s+|all\s+)?set\b",
    re.I,
)
"""Words that say an attribute must have a value: "both set (not null)", "neither is null"."""


def stated_set_attributes(text: str, spec: CategorySpec) -> list[tuple[str, str]]:
    """Nullable attributes the rule requires to be set: "its a and its b are both set".

    Only attributes named in a sentence that says so (:data:`_NOT_NULL`).

    Returns:
        (label, attribute) in spec order.
    """
    out = []
    for sentence in re.split(r"(?<=[.;:])\s+", " ".join(text.split())):
        if not _NOT_NULL.search(sentence):
            continue
        for comp in spec.components:
            for a in comp.attributes:
                if a.nullable and re.search(rf"\b{re.escape(a.name)}\b", sentence, re.I):
                    out.append((comp.label, a.name))
    return list(dict.fromkeys(out))


def _attribute_promises(
    text: str,
    spec: CategorySpec,
    references: Sequence[Mapping[str, Any]],
    mutations: Sequence[Mutation],
) -> dict[str, bool]:
    """Changes of an attribute the rule fixes (by name, to a few values, by a match...).

    By name ("its pieces attribute is 1"), to a few values ("2, 3 or 5 clamps"), by equality
    of two of a part's attributes, by a match of two parts' attributes, or as set. Only
    where every reference agrees (each part of the label has that value, is set, or
    the two attributes are equal and set). A change to None breaks only a rule that requires
    the value set; under "every cable that ..." it keeps an equality (a part without the
    value is not one the rule is about), otherwise it promises nothing.
    """
    parts = [c for ref in references for c in ref.get("components", []) if isinstance(c, Mapping)]

    def values(label: str, name: str) -> list[Any]:
        return [(c.get("attributes") or {}).get(name) for c in parts if c.get("label") == label]

    out: dict[str, bool] = {}
    for label, name, value in stated_attribute_values(text, spec):
        seen = values(label, name)
        if seen and all(v == value for v in seen):
            out.update(_changes(mutations, label, {name}, lambda v, x=value: v not in (None, x)))
    for label, name, allowed in stated_attribute_sets(text, spec):
        seen = values(label, name)
        if seen and all(v in allowed for v in seen):
            out.update(
                _changes(
                    mutations, label, {name}, lambda v, a=allowed: v is not None and v not in a
                )
            )
    for label, name in stated_set_attributes(text, spec):
        seen = values(label, name)
        if seen and all(v is not None for v in seen):
            out.update(_changes(mutations, label, {name}, lambda v: v is None))
    # "The icon's fruit and the juice's kind must be identical": where every reference has
    # one of each and they agree, another value on either side breaks it.
    for (la, a), (lb, b) in stated_matching_attributes(text, spec):
        agree = all(
            len(xs := [c for c in ref.get("components", []) if c.get("label") == la]) == 1
            and len(ys := [c for c in ref.get("components", []) if c.get("label") == lb]) == 1
            and (xs[0].get("attributes") or {}).get(a) is not None
            and (xs[0].get("attributes") or {}).get(a) == (ys[0].get("attributes") or {}).get(b)
            for ref in references
        )
        if references and agree:
            out.update(_changes(mutations, la, {a}, lambda v: v is not None))
            out.update(_changes(mutations, lb, {b}, lambda v: v is not None))
    nullable = {(c.label, a.name) for c in spec.components for a in c.attributes if a.nullable}
    for label, a, b in stated_equal_attributes(text, spec):
        pairs = list(zip(values(label, a), values(label, b), strict=True))
        if pairs and all(x is not None and x == y for x, y in pairs):
            out.update(_changes(mutations, label, {a, b}, lambda v: v is not None))
            # "Every cable that enters both connectors ...: its left_clamp equals its
            # right_clamp": a part without one of the values is not one the rule is about.
            if _restricted(text, label):
                unset = {x for x in (a, b) if (label, x) in nullable}
                out.update(_changes(mutations, label, unset, lambda v: v is None, breaks=False))
    return out


def _changes(
    mutations: Sequence[Mutation],
    label: str,
    names: set[str],
    takes: Callable[[Any], bool],
    *,
    breaks: bool = True,
) -> dict[str, bool]:
    """Verdicts (``breaks``) for the attribute changes of ``label`` that ``takes`` accepts.

    Only ``set_attr`` counterexamples of the attributes ``names``, judged by their new value.
    """
    return {
        m.key(): breaks
        for m in mutations
        if m.op == "set_attr" and m.label == label and m.attr in names and takes(m.value)
    }


def _restricted(text: str, label: str) -> bool:
    """Whether the rule is about only some parts of ``label``: "every cable that ...".

    A participle restricts too: "every cable plugged into both connectors".
    """
    phrase = r"[\s_-]+".join(re.escape(p) for p in re.split(r"[_\s-]+", label) if p)
    pattern = rf"\b(?:every|each|all|any)\s+{phrase}(?:e?s)?\s+(?:that|which|whose|\w+ed|\w+ing)\b"
    return re.search(pattern, " ".join(text.split()), re.I) is not None


_TILT_WORD = re.compile(r"\b(?:upright|rotated|tilted|tilt|turned|straight)\b", re.I)
_DEGREES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:degrees|degree|deg)\b", re.I)


def upright_labels(text: str, vocabulary: Sequence[str]) -> list[str]:
    """Labels the rule keeps upright within a few degrees ("not rotated by more than 3 degrees").

    Only under 12 degrees, so that a part turned by the counterexamples' 25 degrees is then
    tilted more than that, whatever its normal tilt within the bound.
    """
    bound = _DEGREES.search(text)
    if not _TILT_WORD.search(text) or bound is None or float(bound.group(1)) >= 12:
        return []
    return named_labels(text, vocabulary)


def stated_hints(
    text: str, spec: CategorySpec, references: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Repair hints for the expectations :func:`stated_expectations` gives, as code to write."""
    counts, conditions, per_part = _promises(text, spec, references)
    holders = {h for _, (h, _n) in per_part_counts(text, spec.vocabulary, definite=True).items()}
    out = [
        f"hint: the rule says exactly {n} {label}: report a violation when"
        f' len(scene.find("{label}")) != {n}, also when there is none (do not return'
        f" [] early when the {label} is missing)"
        for label, n in counts.items()
    ]
    out += [
        f"hint: the rule holds when there is no {label}: start with"
        f' `if scene.one("{label}") is None: return []`'
        for label in conditions
    ]
    out += [
        f"hint: the rule needs the {label}: report a violation when there is no {label}"
        f' (`if scene.one("{label}") is None: return [violation("no {label}")]`)'
        for label in per_part
        if label in holders and label not in counts
    ]
    return out


def stated_expectations(
    text: str,
    spec: CategorySpec,
    references: Sequence[Mapping[str, Any]],
    mutations: Sequence[Mutation],
) -> dict[str, bool]:
    """Expected verdicts (mutation key -> breaks) that the rule's words imply.

    Args:
        text: The rule in English.
        spec: The category spec (its vocabulary).
        references: Normal reference scenes; a stated count must match all of them, a
            condition's label must appear exactly once in each.
        mutations: The counterexamples in use; only their ``remove``, ``remove_all`` and
            ``duplicate`` of a counted label (all break the rule), ``remove`` of a label the
            leading condition names and that each reference has once, and ``remove_all`` of
            any label it names (both keep the rule) get an expectation.

    Returns:
        Mutation key -> breaks (empty if the words promise nothing).
    """
    counts, conditions, per_part = _promises(text, spec, references)
    out = {m.key(): False for m in mutations if m.label in conditions and m.op == "remove"}
    # Without any of a label the leading condition names, the condition is false or says
    # what then holds ("If there is no washer, this rule holds"): removing every one keeps.
    named = conditional_labels(text, spec.vocabulary)
    out.update({m.key(): False for m in mutations if m.label in named and m.op == "remove_all"})
    out.update({m.key(): True for m in mutations if m.label in counts and m.op in _COUNT_OPS})
    out.update(
        {m.key(): True for m in mutations if m.label in per_part and m.op.startswith("remove")}
    )
    # "Every label is upright within 3 degrees": turning one of them by 25 degrees breaks it.
    tilted = upright_labels(text, spec.vocabulary)
    out.update({m.key(): True for m in mutations if m.op == "rotate" and m.label in tilted})
    out.update(_attribute_promises(text, spec, references, mutations))
    return out


_PAIR = re.compile(r"\b([A-Za-z_]+) (?:for|with) (\d+(?:\.\d+)?)\b")


def stated_mapping(text: str) -> dict[float | int, str]:
    """Numbers the rule pairs with words: "yellow for 2 clamps, blue for 3" -> {2: "yellow", ...}.

    At least two pairs in one sentence make a mapping (one pair is an ordinary phrase).

    Args:
        text: The rule in English.

    Returns:
        Number -> word, in the rule's order; empty when the rule states no mapping.
    """
    for sentence in re.split(r"(?<=[.;:])\s+", " ".join(text.split())):
        pairs = _PAIR.findall(sentence)
        if len(pairs) >= 2:
            out: dict[float | int, str] = {}
            for word, number in pairs:
                out[float(number) if "." in number else int(number)] = word
            if len(out) == len(pairs):
                return out
    return {}


def mapping_hints(text: str, code: str) -> list[str]:
    """A hint to write the rule's number -> word mapping as a dict, unless the code has it."""
    mapping = stated_mapping(text)
    if not mapping or all(f'"{w}"' in code or f"'{w}'" in code for w in mapping.values()):
        return []
    literal = "{" + ", ".join(f'{k!r}: "{v}"' for k, v in mapping.items()) + "}"
    return [
        f"hint: the rule pairs numbers with values; write them as a dict, `wanted = {literal}`,"
        " and compare with wanted.get(the number), not the number itself"
    ]


_SOME = re.compile(
    r"\b(?:of|in|inside|within|into|on|by|to|from|near)\s+(?:some|any|at least one|one of the)\s+"
    r"([a-z][a-z0-9_ -]*)",
    re.I,
)


def existential_labels(text: str, vocabulary: Sequence[str]) -> list[str]:
    """Labels the rule quantifies over with "some": "inside some compartment", "of at least one".

    Only after a preposition, so a condition ("if there is at least one connector") is no
    such phrase.

    Example:
        ``existential_labels("Every pin lies in some cell.", ["cell", "pin"]) == ["cell"]``
    """
    found: set[str] = set()
    for hit in _SOME.finditer(" ".join(text.split())):
        words = plain_words(hit.group(1))
        for label in vocabulary:
            phrase = " ".join(p for p in re.split(r"[_\s-]+", label.lower()) if p)
            if words.startswith(f" {phrase} ") or words.startswith(f" {phrase}s "):
                found.add(label)
    return [label for label in vocabulary if label in found]


def existential_hints(text: str, code: str, vocabulary: Sequence[str]) -> list[str]:
    """A hint to test "some <label>" with any(...), unless the code already calls any()."""
    if re.search(r"\bany\s*\(", code):
        return []
    return [
        f"hint: the rule asks for SOME {label}, not every one: a part is right when at least"
        f" one {label} fits, e.g. `if not any(inside(p, c) for c in"
        f' scene.find("{label}")):` (or c.contains(p)), and wrong only when none does'
        for label in existential_labels(text, vocabulary)
    ]
