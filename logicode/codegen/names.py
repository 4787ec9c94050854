"""Which labels and attribute names a candidate's code uses, and those the spec lacks.

Static reading of rule code (no execution), shared by validation, repair hints and autofix:

* :func:`assigned_labels` and :func:`attr_receivers` infer which label a variable holds
  (``x = scene.one("L")``, ``for x in scene.find("L")``, comprehension scopes);
* :func:`unknown_attributes` catches ``comp.attr("name")`` calls with a name no component of
  the spec has (the model then compared ``None`` and raised false alarms);
* :func:`unknown_labels` catches ``scene.find("name")`` calls with a name that is no label;
* :func:`foreign_values` catches enum attributes compared with values the enum lacks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from logicode.codegen.phrases import mentions, plain_words
from logicode.color import COLOR_NAMES
from logicode.spec import CategorySpec


def attribute_names(spec: CategorySpec) -> dict[str, list[str]]:
    """Attribute names of each label that has any, in spec order."""
    return {c.label: [a.name for a in c.attributes] for c in spec.components if c.attributes}


def attributes_text(spec: CategorySpec) -> str:
    """The spec's attribute names by label, as one line for feedback."""
    names = attribute_names(spec)
    if not names:
        return "no component has attributes in this category"
    return "; ".join(f"{label}: {', '.join(attrs)}" for label, attrs in names.items())


def label_of_call(node: ast.AST) -> str | None:
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
                label = label_of_call(node.value)
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
        label = label_of_call(it)
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
                f"returns None for it); the attributes by label are: {attributes_text(spec)}"
            )
        else:
            continue
        if problem not in problems:
            problems.append(problem)
    return "; ".join(problems) if problems else None


def label_literals(tree: ast.AST) -> list[tuple[str, ast.Constant]]:
    """``(method, literal)`` for each string argument of ``.find/.one/.count(...)``."""
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
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ]
    return out


def unknown_label_literals(
    tree: ast.AST, vocabulary: Sequence[str]
) -> list[tuple[str, ast.Constant]]:
    """``(method, literal)`` for each ``.find/.one/.count("name")`` argument that is no label."""
    return [(m, arg) for m, arg in label_literals(tree) if arg.value not in vocabulary]


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


def _string_literals(node: ast.AST) -> list[str]:
    """String constants of a literal or of a literal tuple, list or set."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for elt in node.elts for s in _string_literals(elt)]
    return []


def foreign_values(code: str, spec: CategorySpec) -> list[str]:
    """Problem sentences for enum attributes compared with values the enum does not have.

    ``liquid.attr("juice") in ("red", "milky white")`` where the juice is one of cherry,
    orange, banana or unknown can never match (seen: a small model wrote the colours the
    rule names in brackets instead of the kinds).

    Args:
        code: Candidate rule code (unparsable code yields no sentences).
        spec: The category spec.

    Returns:
        One sentence per attribute read, in order of first use.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    enums = {
        (c.label, a.name): list(a.values or [])
        for c in spec.components
        for a in c.attributes
        if a.type == "enum" and a.values
    }
    reads = {id(node): (receiver, label) for node, receiver, label in attr_receivers(tree)}
    out: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not all(
            isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops
        ):
            continue
        sides = [node.left, *node.comparators]
        for side in sides:
            receiver, label = reads.get(id(side), ("", None))
            name = side.args[0].value if id(side) in reads else None
            values = enums.get((label or "", name or ""))
            if not values:
                continue
            bad = [s for other in sides if other is not side for s in _string_literals(other)]
            bad = [s for s in dict.fromkeys(bad) if s not in values]
            if bad:
                sentence = (
                    f"line {node.lineno}: {receiver}.attr({name!r}) is one of "
                    f"{', '.join(values)}, never {', '.join(repr(b) for b in bad)}: compare it "
                    "with those values (a colour is read with .color or color_is(...))"
                )
                if sentence not in out:
                    out.append(sentence)
    return out


def _read_names(tree: ast.AST) -> set[str]:
    """Names the code reads as ``x.name`` or mentions as string literals (``attr("name")``)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.add(node.value)
    return out


def stated_number_attributes(rule_text: str, spec: CategorySpec) -> list[tuple[str, str]]:
    """(label, attribute) of every number attribute whose name the rule's text uses.

    "Every connector has 2, 3 or 5 clamps" uses ``clamps``; "its left_clamp equals its
    right_clamp" uses both. Only number attributes, and only their exact name (``row`` is
    not used by "between rows"): a rule that names one computes with it, while an enum's
    name is often an ordinary word of the rule ("the bottle contains juice").
    """
    text = " " + " ".join(re.findall(r"[a-z0-9_]+", rule_text.lower())) + " "
    found = []
    for comp in spec.components:
        for a in comp.attributes:
            if a.type != "number":
                continue
            words = {a.name, a.name.replace("_", " ")}
            if any(f" {w} " in text for w in words):
                found.append((comp.label, a.name))
    return found


def named_enum_values(rule_text: str, spec: CategorySpec) -> dict[str, list[tuple[str, str]]]:
    """Enum values the rule names as words, with the (label, attribute) pairs that have them.

    "If there is juice, it is cherry (red), orange (yellow-orange) or banana (milky white)"
    names cherry, orange and banana, values of the liquid's ``juice``. Colour names and
    "unknown" are left out: a colour word is just as often the part's colour.
    """
    words = " " + " ".join(re.findall(r"[a-z0-9_]+", rule_text.lower())) + " "
    out: dict[str, list[tuple[str, str]]] = {}
    for comp in spec.components:
        for a in comp.attributes:
            if a.type != "enum":
                continue
            for v in a.values or []:
                low = v.lower()
                if low in COLOR_NAMES or low in ("unknown", "none", "other"):
                    continue
                if f" {low} " in words:
                    out.setdefault(v, []).append((comp.label, a.name))
    return out


_GENERIC_NAMES = frozenset(
    {
        "kind",
        "type",
        "sort",
        "class",
        "category",
        "variant",
        "color",
        "colour",
        "size",
        "shape",
        "state",
        "status",
        "name",
    }
)
"""Attribute names that are ordinary words for any part's properties ("three kinds sold")."""


def unread_attributes(code: str, rule_text: str, spec: CategorySpec) -> str | None:
    """A sentence when the code never reads a number attribute the rule is about, else None.

    Seen with small models: "Every connector has 2, 3 or 5 clamps" checked by counting the
    connectors; "its pieces attribute is 1" checked by the length of the list. Such code can
    pass every reference and counterexample the compiler has, so it is refused up front.
    An enum attribute counts too when the rule names its values (:func:`named_enum_values`:
    "it is cherry, orange or banana" checked on the liquid's colour names instead of its
    ``juice``); code reading any one attribute that has those values is enough, of the
    ones whose label or name the rule uses where it uses one.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    read = _read_names(tree)
    missing = [(lab, n) for lab, n in stated_number_attributes(rule_text, spec) if n not in read]
    sentences = []
    if missing:
        parts = ", ".join(f"the {lab}'s {n} (c.attr({n!r}))" for lab, n in missing)
        sentences.append(f"the rule is about {parts}, but the code never reads it")
    unread: dict[tuple[tuple[str, str], ...], list[str]] = {}
    words = plain_words(rule_text)

    def named(label: str, name: str) -> bool:
        # A generic attribute name ("kind", "type") says nothing about which part it is.
        return mentions(words, label) or (name not in _GENERIC_NAMES and mentions(words, name))

    for value, pairs in named_enum_values(rule_text, spec).items():
        # Of the parts with the value, the ones the rule names ("Juice ... is cherry" is
        # the liquid's juice, not the fruit icon's kind; seen: code checking the icon).
        pairs = [p for p in pairs if named(*p)] or pairs
        if not any(n in read for _, n in pairs):
            unread.setdefault(tuple(pairs), []).append(value)
    for pairs, values in unread.items():
        owners = " or ".join(f"the {lab}'s {n} (c.attr({n!r}))" for lab, n in pairs)
        what = "reads neither" if len(pairs) > 1 else "never reads it"
        sentences.append(
            f"the rule names {', '.join(values)}: values of {owners}, but the code {what}"
        )
    return "; ".join(sentences) or None
