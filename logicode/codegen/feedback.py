"""What the repair prompt tells the model about a broken candidate, beyond the bare failure.

Small models repair better when the feedback names the concrete mistake. Everything here is
generic: the advice comes from the error text and the candidate's code, and the facts come
from the category spec and the failing normal reference, never from knowledge of a product.

* :func:`unknown_attributes` catches ``comp.attr("name")`` calls with a name no component of
  the spec has (the model then compared ``None`` and raised false alarms).
* :func:`hints` adds advice for a few error patterns seen in practice.
* :func:`scene_facts` shows the measurements and relations of the parts a rule talks about in
  the normal scene it wrongly rejected, so the model can see which comparison is wrong.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

from logicode.ruleapi import wrap_scene
from logicode.ruleapi.geometry import above, below, inside, left_of, right_of
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
        "list index out of range",
        "hint: scene.find(label) may be empty; test len(...) before indexing, or use"
        " scene.one(label) and test `is None`",
    ),
)
"""Generic advice added to repair feedback when an error message contains the first text."""


def attribute_names(spec: CategorySpec) -> dict[str, list[str]]:
    """Attribute names of each label that has any, in spec order."""
    return {c.label: [a.name for a in c.attributes] for c in spec.components if c.attributes}


def _attributes_text(spec: CategorySpec) -> str:
    names = attribute_names(spec)
    if not names:
        return "no component has attributes in this category"
    return "; ".join(f"{label}: {', '.join(attrs)}" for label, attrs in names.items())


def _label_of_call(node: ast.AST) -> str | None:
    """``L`` when ``node`` is ``scene.one("L")``, ``scene.find("L")`` or ``...find("L")[i]``."""
    if isinstance(node, ast.Subscript):
        node = node.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("one", "find")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _variable_labels(tree: ast.AST) -> dict[str, str]:
    """Variables bound to components of one label, by name.

    Recognised: ``x = scene.one("L")``, ``x = scene.find("L")[i]``, ``for x in
    scene.find("L")`` and ``xs = scene.find("L"); for x in xs`` (comprehensions too).
    """
    labels: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            label = _label_of_call(node.value)
            if isinstance(target, ast.Name) and label is not None:
                labels[target.id] = label
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.comprehension):
            it = node.iter
            label = _label_of_call(it)
            if label is None and isinstance(it, ast.Name):
                label = labels.get(it.id)
            if label is not None and isinstance(node.target, ast.Name):
                labels.setdefault(node.target.id, label)
    return labels


def unknown_attributes(code: str, spec: CategorySpec) -> str | None:
    """A problem sentence if the code asks ``.attr("name")`` for a name that is not there.

    Two mistakes are caught: a name no label has at all, and a name the component's own label
    lacks, where the code shows which label a variable holds (``x = scene.one("liquid")``
    then ``x.attr("kind")`` when only ``fruit_icon`` has ``kind``).

    Args:
        code: Candidate rule code (unparsable code yields ``None``: the policy reports it).
        spec: The category spec.

    Returns:
        The problem, or ``None`` when every literal attribute name can exist.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    by_label = attribute_names(spec)
    known = {a for attrs in by_label.values() for a in attrs}
    variables = _variable_labels(tree)
    problems: list[str] = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "attr"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            continue
        name = node.args[0].value
        receiver = node.func.value
        label = variables.get(receiver.id) if isinstance(receiver, ast.Name) else None
        if label is not None and label in spec.vocabulary and name not in by_label.get(label, []):
            own = by_label.get(label)
            has = f"its attributes are: {', '.join(own)}" if own else "it has no attributes"
            problem = (
                f"line {node.lineno}: {receiver.id} is a {label}, which has no attribute "
                f"{name!r} ({has}), so attr({name!r}) is always None"
            )
        elif name not in known:
            problem = (
                f"line {node.lineno}: it reads attr({name!r}), which no component has (attr "
                f"returns None for it); the attributes by label are: {_attributes_text(spec)}"
            )
        else:
            continue
        if problem not in problems:
            problems.append(problem)
    return "; ".join(problems) if problems else None


_Y_COMPARISON = re.compile(r"\.y\s*[<>]|[<>]=?\s*[\w.()\[\]]*\.y\b")
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
    if re.search(r"\bNone\b", text) and "'NoneType' object" not in text and ".attr(" in code:
        out.append(
            "hint: a value was None; attr(name) returns None for a name the component lacks. "
            f"Attributes by label: {_attributes_text(spec)}"
        )
    if any(float(p) >= 1000 for p in re.findall(r"(\d+(?:\.\d+)?)\s*%", text)):
        out.append(
            "hint: a value printed as a percentage is over 1000%: it is a pixel position, not a"
            " fraction; for a position as a share of another part's size use"
            " part.relative_to(other): .x/.y for the centre, .top/.bottom/.left/.right for edges"
        )
    if messages and _Y_COMPARISON.search(code) and _VERTICAL_WORDS.search(rule_text):
        out.append(
            "hint: y grows DOWNWARDS, so 'above' or 'upper' means a SMALLER y; use above(a, b)"
            " and below(a, b) (they take components, points or y values) instead of comparing"
            " .y yourself"
        )
    missing = _unguarded_ones(messages, code)
    if missing:
        test = " or ".join(f"{n} is None" for n in missing)
        verb = "comes" if len(missing) == 1 else "come"
        out.append(
            f"hint: {' and '.join(missing)} {verb} from .one(...), which is None when that part"
            f" is missing: right after getting it, add `if {test}: return []` (unless the rule"
            " itself is about that part being present)"
        )
    reports = [m for m in messages if "it reported" in m]
    if reports and re.search(r"\b(above|below|left_of|right_of)\(", code):
        out.append(
            "hint: above(a, b) is True when a is above b (below, left_of, right_of alike): check"
            " the order of the two arguments against the true values shown below"
        )
    if "inside(" in code and any("inside" in m or "within" in m for m in reports):
        out.append(
            "hint: inside(a, b) is True when a lies within b's box: pass the smaller part first"
        )
    return out


def _unguarded_ones(messages: Sequence[str], code: str) -> list[str]:
    """Variables bound by ``.one(...)`` used on the lines where an error says "is None"."""
    lines = set()
    for m in messages:
        hit = re.search(r"(?:is None\b|'NoneType' object).*?\(line (\d+)\)", m)
        if hit:
            lines.add(int(hit.group(1)))
    if not lines:
        return []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    ones = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "one"
        ):
            ones.add(node.targets[0].id)
    used = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id in ones and node.lineno in lines
    }
    return sorted(used)


def mentioned_labels(
    text: str, vocabulary: Sequence[str], spec: CategorySpec | None = None, most: int = 4
) -> list[str]:
    """Labels of the vocabulary that a rule's text talks about, in vocabulary order.

    A label is mentioned when its words appear (``top_label`` as "top label"), when its last
    word appears on its own outside another label's phrase ("every label" mentions
    ``top_label`` and ``bottom_label``, "the top label" mentions only ``top_label``), or when
    the name of one of its attributes appears ("the juice" mentions the label whose attribute
    is ``juice``; needs ``spec``).
    """
    joined = " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "
    phrases = {}
    for label in vocabulary:
        parts = [p for p in re.split(r"[_\s-]+", label.lower()) if p]
        if parts:
            phrases[label] = parts
    found = set()
    rest = joined
    for label, parts in phrases.items():
        pattern = rf" {re.escape(' '.join(parts))}s? "
        if re.search(pattern, joined):
            found.add(label)
            rest = re.sub(pattern, " ", rest)
    for label, parts in phrases.items():
        if re.search(rf" {re.escape(parts[-1])}s? ", rest):
            found.add(label)
    if spec is not None:
        for label, attrs in attribute_names(spec).items():
            if any(re.search(rf" {re.escape(a.lower())}s? ", joined) for a in attrs):
                found.add(label)
    return [label for label in vocabulary if label in found][:most]


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 10 else f"{v:.2f}"


def scene_facts(
    scene: Mapping[str, Any], labels: Sequence[str], *, per_label: int = 2
) -> list[str]:
    """Measurements and pairwise relations of the named parts in one scene, as short lines.

    Args:
        scene: A scene dict (as the sandbox gets it).
        labels: Labels to describe.
        per_label: Most components described per label.

    Returns:
        Lines such as ``"top_label c2: box x 300..500, y 600..800 (w 200, h 200), centre
        (400, 700), tilt 0.5"``, then ``"inside(fruit_icon, top_label) = True"``...
    """
    s = wrap_scene(scene)
    lines = [f"image {s.width:.0f} x {s.height:.0f} px"]
    firsts = {}
    for label in labels:
        comps = list(s.find(label))
        if not comps:
            lines.append(f"{label}: none")
            continue
        firsts[label] = comps[0]
        head = f"{label}: {len(comps)} found" if len(comps) > 1 else None
        if head:
            lines.append(head)
        for c in comps[:per_label]:
            attrs = ", ".join(f"{k}={c.attr(k)}" for k in sorted(c._attrs))  # noqa: SLF001
            lines.append(
                f"{label} {c.id}: box x {_fmt(c.left)}..{_fmt(c.right)}, y {_fmt(c.top)}.."
                f"{_fmt(c.bottom)} (w {_fmt(c.width)}, h {_fmt(c.height)}), centre "
                f"({_fmt(c.x)}, {_fmt(c.y)}), tilt {_fmt(c.tilt)}"
                + (f", colour {c.color}" if c.color else "")
                + (f", {attrs}" if attrs else "")
            )
    for a, b in combinations(firsts, 2):
        ca, cb = firsts[a], firsts[b]
        line = (
            f"inside({a}, {b}) = {inside(ca, cb)}, inside({b}, {a}) = {inside(cb, ca)}, "
            f"above({a}, {b}) = {above(ca, cb)}, below({a}, {b}) = {below(ca, cb)}, "
            f"left_of({a}, {b}) = {left_of(ca, cb)}, right_of({a}, {b}) = {right_of(ca, cb)}"
        )
        for small, big, ns, nb in ((ca, cb, a, b), (cb, ca, b, a)):
            if inside(small, big):
                p = small.relative_to(big)
                line += (
                    f", {ns}.relative_to({nb}) = (rx={p.x:.2f}, ry={p.y:.2f}, "
                    f".top={p.top:.2f}, .bottom={p.bottom:.2f})"
                )
        lines.append(line)
    return lines
