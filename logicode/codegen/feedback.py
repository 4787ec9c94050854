"""What the repair prompt tells the model about a broken candidate, beyond the bare failure.

Small models repair better when the feedback names the concrete mistake. Everything here is
generic: the advice comes from the error text and the candidate's code, and the facts come
from the category spec and the failing normal reference, never from knowledge of a product.

* :func:`unknown_attributes` catches ``comp.attr("name")`` calls with a name no component of
  the spec has (the model then compared ``None`` and raised false alarms).
* :func:`unknown_labels` catches ``scene.find("name")`` calls with a name that is no label.
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


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def assigned_labels(tree: ast.AST) -> tuple[dict[str, str], dict[str, str]]:
    """Names assigned one component (``x = scene.one("L")``) or one label's group, by name.

    A name assigned more than once with different values is left out (its label is unsure).
    """
    seen: dict[str, set[str | None]] = {}
    groups: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                label = _label_of_call(node.value)
                seen.setdefault(target.id, set()).add(label)
                if label is not None and not isinstance(node.value, ast.Subscript):
                    groups[target.id] = label
    single = {n: next(iter(ls)) for n, ls in seen.items() if len(ls) == 1}
    ones = {n: label for n, label in single.items() if label is not None}
    return ones, {n: g for n, g in groups.items() if n in ones}


def attr_receivers(tree: ast.AST) -> list[tuple[ast.Call, str, str | None]]:
    """Every literal ``name.attr("x")`` call with its receiver's name and label (if known).

    Labels follow the code's scopes: a loop or comprehension variable has the label of what
    it iterates over (``for x in scene.find("L")``, ``for x in xs`` after ``xs =
    scene.find("L")``) inside that loop or comprehension only, so one name reused for two
    labels in two comprehensions is judged right in each.
    """
    ones, groups = assigned_labels(tree)
    found: list[tuple[ast.Call, str, str | None]] = []

    def iter_label(it: ast.AST) -> str | None:
        label = _label_of_call(it)
        if label is None and isinstance(it, ast.Name):
            label = groups.get(it.id)
        return label

    def bind(
        env: dict[str, str | None], target: ast.AST, label: str | None
    ) -> dict[str, str | None]:
        if isinstance(target, ast.Name):
            return {**env, target.id: label}
        return env

    def visit(node: ast.AST, env: dict[str, str | None]) -> None:
        if isinstance(node, ast.For):
            visit(node.iter, env)
            inner = bind(env, node.target, iter_label(node.iter))
            for child in node.body:
                visit(child, inner)
            for child in node.orelse:
                visit(child, env)
            return
        if isinstance(node, _COMPREHENSIONS):
            inner = env
            for gen in node.generators:
                visit(gen.iter, inner)
                inner = bind(inner, gen.target, iter_label(gen.iter))
                for cond in gen.ifs:
                    visit(cond, inner)
            elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for child in elts:
                visit(child, inner)
            return
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "attr"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            receiver = node.func.value
            name = receiver.id if isinstance(receiver, ast.Name) else ""
            found.append((node, name, env.get(name) if name else None))
        for child in ast.iter_child_nodes(node):
            visit(child, env)

    visit(tree, dict(ones))
    return found


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
    problems: list[str] = []
    for node, receiver, label in attr_receivers(tree):
        name = node.args[0].value
        if label is not None and label in spec.vocabulary and name not in by_label.get(label, []):
            own = by_label.get(label)
            has = f"its attributes are: {', '.join(own)}" if own else "it has no attributes"
            problem = (
                f"line {node.lineno}: {receiver} is a {label}, which has no attribute "
                f"{name!r} ({has}), so attr({name!r}) is always None"
            )
            if own and len(own) == 1:
                problem += f": write {receiver}.attr({own[0]!r}) instead"
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


def unknown_label_literals(
    tree: ast.AST, vocabulary: Sequence[str]
) -> list[tuple[str, ast.Constant]]:
    """``(method, literal)`` for each ``.find/.one/.count("name")`` argument that is no label."""
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("find", "one", "count")
        ):
            out += [
                (node.func.attr, arg)
                for arg in node.args
                if isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and arg.value not in vocabulary
            ]
    return out


def unknown_labels(code: str, spec: CategorySpec) -> str | None:
    """A problem sentence if the code asks ``find/one/count("name")`` for a name no label has.

    Such a call always finds nothing (seen: ``scene.find("left_compart")`` and
    ``scene.find("cup")`` for a product without those labels), so the code never fires or
    fires on every image.

    Args:
        code: Candidate rule code (unparsable code yields ``None``: the policy reports it).
        spec: The category spec.

    Returns:
        The problem, or ``None`` when every literal label is in the vocabulary.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    bad: list[str] = []
    for method, arg in unknown_label_literals(tree, spec.vocabulary):
        call = f"line {arg.lineno}: {method}({arg.value!r})"
        if call not in bad:
            bad.append(call)
    if not bad:
        return None
    return (
        f"{'; '.join(bad)} asks for a label this product does not have, so it finds nothing;"
        f" the labels are: {', '.join(spec.vocabulary)}"
    )


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
    if re.search(r"\bNone\b", text) and "'NoneType' object" not in text and ".attr(" in code:
        out.append(
            "hint: a value was None; attr(name) returns None for a name the component lacks. "
            f"Attributes by label: {_attributes_text(spec)}"
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
    missing, inline = _unguarded_ones(messages, code)
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


def _unguarded_ones(messages: Sequence[str], code: str) -> tuple[list[str], list[str]]:
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
            label = _label_of_call(it) or (groups.get(it.id) if isinstance(it, ast.Name) else None)
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
