"""Advice for the repair prompt, from a broken candidate's errors and code.

Small models repair better when the feedback names the concrete mistake. Everything here is
generic: the advice comes from the error text, the candidate's code and the category spec,
never from knowledge of a product.

* :func:`hints` adds advice for error patterns seen in practice;
* :func:`swapped_relations` points out a relation that is False on a normal scene the code
  rejected but True with its two parts swapped.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from logicode import ruleapi
from logicode.codegen.names import (
    assigned_labels,
    attributes_text,
    foreign_values,
    label_of_call,
)
from logicode.ruleapi import wrap_scene
from logicode.ruleapi.geometry import above, below, left_of, right_of
from logicode.ruleapi.objects import Component
from logicode.spec import CategorySpec

_HINTS: tuple[tuple[str, str], ...] = (
    (
        "'NoneType' object",
        "hint: scene.one(...) returns None when that part is missing; test `is None` first and"
        " return [] unless the rule itself is about that part being present",
    ),
    (
        "'str' object has no attribute",
        "hint: labels are plain strings; get components with scene.find(label) or"
        " scene.one(label) and use their attributes",
    ),
    (
        "'int' object is not iterable",
        "hint: scene.count(...) is a number; loop over scene.find(label) to visit components",
    ),
    (
        "the group is empty",
        "hint: scene.find(label) returns an empty group when there is none of that part; test"
        " `if not group:` first and return [] unless the rule is about that part being present",
    ),
    (
        "must return a list of violations",
        "hint: return a list: `return [violation(...)]` when the rule is broken, `return []`"
        " when it holds",
    ),
    (
        "of type 'Component' has no len()",
        "hint: scene.one(label) gives ONE component (or None); to count, use"
        " len(scene.find(label)) or scene.count(label)",
    ),
    (
        "list index out of range",
        "hint: scene.find(label) may be empty; test len(...) before indexing, or use"
        " scene.one(label) and test `is None`",
    ),
)
"""Generic advice added to repair feedback when an error message contains the first text."""


_Y_COMPARISON = re.compile(r"\.y\s*[<>]|[<>]=?\s*[\w.()\[\]]*\.y\b")
_SCALED_SIZE = re.compile(
    r"\d*\.\d+\s*\*\s*[\w.()]*\b(height|width|area)\b|\b(height|width|area)\b\s*\*\s*\d*\.\d+"
)
_NUM = r"\s*(?:0|1|0?\.\d+|1\.0*|\d+\s*/\s*\d+)\s*"
_FRACTION_REGION = re.compile(rf"\.region\({_NUM},{_NUM},{_NUM},{_NUM}\)")
_TURN_WORDS = re.compile(r"\b(rotat\w*|tilt\w*|upright|straight|crooked|askew)\b", re.I)
_VERTICAL_WORDS = re.compile(r"\b(above|below|upper|lower|higher|top half|bottom half)\b", re.I)


def hints(messages: Sequence[str], code: str, spec: CategorySpec, rule_text: str = "") -> list[str]:
    """Advice for the repair prompt from a candidate's error and violation messages.

    Args:
        messages: Error messages and false-alarm reports of the candidate.
        code: The candidate's code.
        spec: The category spec.
        rule_text: The rule, for advice that depends on what it says.

    Returns:
        Hint sentences (possibly none).
    """
    text = " ".join(messages)
    out = [hint for needle, hint in _HINTS if needle in text]
    out.extend(f"hint: {sentence}" for sentence in foreign_values(code, spec))
    for name in dict.fromkeys(re.findall(r"NameError: name '(\w+)' is not defined", text)):
        out.extend(_undefined_name_hint(name, spec, rule_text))
    if re.search(r"\bNone\b", text) and "'NoneType' object" not in text and ".attr(" in code:
        out.append(
            "hint: a value was None; attr(name) returns None for a name the component lacks. "
            f"Attributes by label: {attributes_text(spec)}"
        )
    if any(float(p) >= 1000 for p in re.findall(r"(\d+(?:\.\d+)?)\s*%", text)):
        out.append(
            "hint: a value printed as a percentage is over 1000%: it is a pixel measure, not a"
            " fraction; for a position as a share of another part's size use"
            " part.relative_to(other) (.x/.y for the centre, .top/.bottom/.left/.right for"
            " edges), for an area as a share of another part's area ratio(a.area, b.area)"
        )
    if messages and "relative_to(" in code and _SCALED_SIZE.search(code):
        out.append(
            "hint: relative_to(...) already gives fractions of the other part's size (0 to 1):"
            " compare them with the rule's fractions directly (0.16 for 16%), without"
            " multiplying by a height, width or area"
        )
    if _FRACTION_REGION.search(code):
        out.append(
            "hint: scene.region(x0, y0, x1, y1) takes PIXEL edges; for fractions of the image"
            " or of a part use .subregion(x0, y0, x1, y1) (0..1) or .left_half(),"
            " .right_half(), .top_half(), .bottom_half()"
        )
    if "Region has no attribute" in text and "region(" in code:
        out.append(
            "hint: scene.region(...) is a rectangle of the image you define, not a part of the"
            " product: get a part the rule names with scene.one(label) and measure that"
        )
    if messages and _Y_COMPARISON.search(code) and _VERTICAL_WORDS.search(rule_text):
        out.append(
            "hint: y grows DOWNWARDS, so 'above' or 'upper' means a SMALLER y; use above(a, b)"
            " and below(a, b) (they take components, points or y values) instead of comparing"
            " .y yourself"
        )
    for part, name, wanted in _invented_accessors(text, code):
        out.append(
            f"hint: {part} has no {name}; it already has {', '.join(wanted)} itself: read"
            f" {part}.{wanted[0]} directly"
        )
    if messages and re.search(r"\.angle\b", code) and _TURN_WORDS.search(rule_text):
        out.append(
            "hint: c.angle is the direction of a part's long axis (a nearly square part reads"
            " about 0 or 90); how far a part is turned from the image axes is c.tilt (0 ="
            " straight)"
        )
    missing, inline = unguarded_ones(messages, code)
    if missing:
        test = " or ".join(f"{n} is None" for n in missing)
        verb = "comes" if len(missing) == 1 else "come"
        out.append(
            f"hint: {' and '.join(missing)} {verb} from .one(...), which is None when that part"
            f" is missing: right after getting it, add `if {test}: return []` (unless the rule"
            " itself is about that part being present)"
        )
    for call in inline[:2]:
        out.append(
            f"hint: {call} is None when that part is missing: put it in a variable first and"
            " test `is None` before using it"
        )
    for label in sorted(set(re.findall(r"has no attribute '(\w+)'", text)) & set(spec.vocabulary)):
        out.append(
            f'hint: parts are not attributes: get the {label} with scene.one("{label}") (or'
            f' scene.find("{label}") for all of them)'
        )
    reports = [m for m in messages if "it reported" in m]
    if reports and re.search(r"\b(?:is_)?(?:above|below|left_of|right_of)\(", code):
        out.append(
            "hint: above(a, b) and a.is_above(b) are True when a is above b (below, left_of,"
            " right_of alike): check which part comes first against the true values shown below"
        )
    if "inside(" in code and any("inside" in m or "within" in m for m in reports):
        out.append(
            "hint: inside(a, b) is True when a lies within b's box: pass the smaller part first"
        )
    return out


def _undefined_name_hint(name: str, spec: CategorySpec, rule_text: str) -> list[str]:
    """Advice for a name the code uses but never defines: a label, or the rule's own name."""
    label = name if name in spec.vocabulary else name.removesuffix("s")
    if label in spec.vocabulary:
        return [
            f"hint: {name} is not defined: a part is not a variable; get it first with"
            f' scene.one("{label}") (one part) or scene.find("{label}") (all of them)'
        ]
    defined = re.search(rf"\blet\s+{re.escape(name)}\s+be\s+([^.;:]+)", rule_text, re.I)
    if defined:
        return [
            f"hint: {name} is the rule's own name for {defined.group(1).strip()}: compute it in"
            f" check() before using it (a mean is sum(...) / len(...) over the parts)"
        ]
    if name.islower() and len(name) > 2:  # a variable never set, or a made-up function
        close = difflib.get_close_matches(name, ruleapi.__all__, n=1, cutoff=0.7)
        better = f" (did you mean {close[0]}?)" if close else ""
        return [
            f"hint: {name} is not defined{better}: set a variable before using it; the only"
            f" functions are {', '.join(ruleapi.__all__)}, everything else is a method or"
            " value of scene or of a component (for 'within N% of' a size compare"
            " abs(a - b) <= N / 100 * size)"
        ]
    return []


def _invented_accessors(text: str, code: str) -> list[tuple[str, str, list[str]]]:
    """``v = part.X()`` where X does not exist, then ``v.Y`` with Y a real component name.

    Seen: ``rect = label.region()`` then ``rect.angle``, where ``label.angle`` was there all
    along. Returns (part, X, [Y...]) for each such invented accessor named in an error.
    """
    missing = set(re.findall(r"(?:Component|Region|Group) has no attribute '(\w+)'", text))
    if not missing:
        return []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    real = {n for n in dir(Component) if not n.startswith("_")}
    via: dict[str, tuple[str, str]] = {}  # v -> (part, X)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if isinstance(value, ast.Call):
                value = value.func
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Attribute)
                and value.attr in missing
                and isinstance(value.value, ast.Name)
            ):
                via[target.id] = (value.value.id, value.attr)
    wanted: dict[tuple[str, str], list[str]] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in via
            and node.attr in real
        ):
            names = wanted.setdefault(via[node.value.id], [])
            if node.attr not in names:
                names.append(node.attr)
    return [(part, f"{name}()", names) for (part, name), names in wanted.items()]


def unguarded_ones(messages: Sequence[str], code: str) -> tuple[list[str], list[str]]:
    """What can be None on the lines where an error says "is None", and is not tested.

    Returns:
        Variables bound by ``.one(...)`` used there and never tested (``x is None``, ``x is
        not None``, ``not x``, ``if x``), and inline ``scene.one("L")`` calls there, as text.
    """
    lines = set()
    for m in messages:
        hit = re.search(r"(?:is None\b|'NoneType' object).*?\(line (\d+)\)", m)
        if hit:
            lines.add(int(hit.group(1)))
    if not lines:
        return [], []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [], []
    ones: set[str] = set()
    bound: set[int] = set()  # ids of the .one(...) calls assigned to a name
    tested: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and _is_one_call(node.value)
        ):
            ones.add(node.targets[0].id)
            bound.add(id(node.value))
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Name):
            if any(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
                tested.add(node.left.id)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            if isinstance(node.operand, ast.Name):
                tested.add(node.operand.id)
        elif isinstance(node, ast.If | ast.IfExp | ast.While) and isinstance(node.test, ast.Name):
            tested.add(node.test.id)
    used = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name)
        and node.id in ones
        and node.id not in tested
        and node.lineno in lines
    }
    inline = []
    for node in ast.walk(tree):
        if _is_one_call(node) and id(node) not in bound and node.lineno in lines:
            text = ast.unparse(node)
            if text not in inline:
                inline.append(text)
    return sorted(used), inline


def _is_one_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "one"
    )


_RELATIONS = {"above": above, "below": below, "left_of": left_of, "right_of": right_of}


def swapped_relations(code: str, scene: Mapping[str, Any], image: int = 1) -> list[str]:
    """Relations in the code that are False on a normal scene but True the other way round.

    ``divider.is_left_of(tangerine)`` or ``left_of(divider, tangerine)`` where both names hold
    parts of a known label (``x = scene.one("L")``, ``for x in scene.find("L")``...): if the
    relation is False for the scene's first parts of those labels and True with the two
    swapped, the code has them the wrong way round (seen: a rule fired on every normal image
    and three repairs kept the order).

    Args:
        code: Candidate rule code.
        scene: A normal scene (dict) that the code wrongly rejected.
        image: Its number, as the feedback calls it ("normal image 2").

    Returns:
        Hint sentences, one per such relation.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    ones, groups = assigned_labels(tree)
    labels = dict(ones)
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.comprehension) and isinstance(node.target, ast.Name):
            it = node.iter
            label = label_of_call(it) or (groups.get(it.id) if isinstance(it, ast.Name) else None)
            if label is not None:
                labels.setdefault(node.target.id, label)
    s = wrap_scene(scene)
    out: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in _RELATIONS and len(node.args) >= 2:
            name, a, b = func.id, node.args[0], node.args[1]
            shown = "{name}({a}, {b})"
        elif (
            isinstance(func, ast.Attribute)
            and func.attr.startswith("is_")
            and func.attr[3:] in _RELATIONS
            and node.args
        ):
            name, a, b = func.attr[3:], func.value, node.args[0]
            shown = "{a}.is_{name}({b})"
        else:
            continue
        if not (isinstance(a, ast.Name) and isinstance(b, ast.Name)):
            continue
        la, lb = labels.get(a.id), labels.get(b.id)
        if la is None or lb is None or la == lb:
            continue
        ca, cb = s.one(la), s.one(lb)
        if ca is None or cb is None:
            continue
        rel = _RELATIONS[name]
        if not rel(ca, cb) and rel(cb, ca):
            here = shown.format(name=name, a=a.id, b=b.id)
            there = shown.format(name=name, a=b.id, b=a.id)
            hint = (
                f"hint: line {node.lineno}: on normal image {image} {here} is False and {there}"
                f" is True ({a.id} is a {la}, {b.id} a {lb}): swap the two parts"
            )
            if hint not in out:
                out.append(hint)
    return out
