"""Mechanical fixes of a broken candidate, tried before asking the model again.

Some mistakes have exactly one fix that needs no judgement, and a small model often fails to
apply it even when the feedback spells it out (seen: "write juice.attr('juice') instead",
then the same wrong name three times). The compiler applies these fixes itself and
validates the result like any other candidate; the transcript records them as ``autofix``
steps. Everything here is generic: the fixes come from the error texts of the scene API and
from the category spec's names, never from knowledge of a product.

Fixes:

* ``x.attr("top_edge")``, a name the label's attributes lack that means a component value,
  -> ``x.top``;
* ``x.attr("kind")`` on a part whose label has a single attribute -> ``x.attr("<that one>")``
  (the label's variable as :func:`~logicode.codegen.names.unknown_attributes` infers it),
  except where the code orders it or computes with it and that attribute is no number
  (seen: ``liquid.attr("fill") < 16`` made ``liquid.attr("juice") < 16``);
* ``x.top_edge`` where the scene API answered "has no attribute 'top_edge' (did you mean
  'top'?)" -> ``x.top``, on the lines the errors name (a call only where the suggested
  method takes as many arguments: a made-up method is often not the suggested one; never a
  method named without a call; ``x.top_edge()`` -> ``x.top`` where the suggestion is a value);
* ``comp.region.contains(pin)``, an accessor the API lacks before a method of every box ->
  ``comp.contains(pin)`` (a component is its own box), also through a variable
  (``b = comp.region`` then only ``b.contains(...)``-like calls -> ``b = comp``);
* a label literal that is no label but close to one (``"compartments"`` for
  ``"compartment"``), or one word of exactly one label (``"icon"`` for ``"fruit_icon"``)
  -> that label; the only label literal that is no label, where the rule
  names exactly one label the code does not use -> that label (``"bolt"``, copied from a
  worked example, for the ``"bottle"`` the rule is about);
* ``xs is None`` where ``xs = scene.find(...)`` (never None: an empty group) -> ``not xs``
  (``xs is not None`` -> ``xs``);
* ``if divider is None: return []`` where the rule's own words require the part ("exactly
  one divider") and the candidate said nothing when it was removed -> the early return
  reports the absence (``return [violation("there is no divider")]``);
* a part that may be missing, assigned at the top level of ``check`` and used without a
  test where an error says it is None -> ``if x is None: return []`` after its assignment, or
  ``if scene.one("L") is None: return []`` before an assignment that reads it inline (the
  rule about that part's presence reports it; where this rule's words require the part, the
  fix above turns the return into a violation);
* ``p.centroid not in scene.find("L")`` (a point is never one of the parts) ->
  ``not any(holder.contains(p.centroid) for holder in scene.find("L"))`` (``holder`` or the
  first of ``holder1``, ``holder2``... the code does not use).
"""

from __future__ import annotations

import ast
import difflib
import inspect
import re
from collections.abc import Sequence

from logicode.codegen.facts import mentioned_labels
from logicode.codegen.hints import unguarded_ones
from logicode.codegen.names import (
    assigned_labels,
    attr_receivers,
    attribute_names,
    label_literals,
    label_of_call,
    unknown_label_literals,
)
from logicode.ruleapi.objects import Box, Component, Group, Region, Scene
from logicode.spec import CategorySpec

_SUGGESTION = re.compile(
    r"has no attribute '(\w+)' \(did you mean '(\w+)'\?\).*?\(line (\d+)\)", re.S
)


def autofix(
    code: str,
    errors: Sequence[str],
    spec: CategorySpec,
    must_report: Sequence[str] = (),
    rule_text: str = "",
) -> str | None:
    """The candidate with every mechanical fix applied, or None when none applies.

    Args:
        code: The candidate's code.
        errors: Its error messages (from the references and the counterexamples).
        spec: The category spec (labels and attribute names).
        must_report: Labels whose absence breaks the rule (its words say so) but the
            candidate reported nothing when they were removed.
        rule_text: The rule, to tell which part an unknown label literal stands for.

    Returns:
        The fixed code, or None if nothing changed.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    lines = code.splitlines(keepends=True)
    by_label = attribute_names(spec)
    # 1. attr names the label lacks: a component value by another name (``attr("top_edge")``
    #    -> ``.top``), else the label's single attribute, unless the code compares it as a
    #    number and that attribute is no number (``attr("fill") < 16`` is not the juice kind).
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node, receiver, label in attr_receivers(tree):
        own = by_label.get(label or "", [])
        name = node.args[0].value
        if not receiver or label not in spec.vocabulary or name in own:
            continue
        i = node.lineno - 1
        pattern = rf"\b{re.escape(receiver)}\.attr\(\s*(['\"]){re.escape(name)}\1\s*\)"
        value = component_value_name(name)
        if value is not None:
            lines[i] = re.sub(pattern, f"{receiver}.{value}", lines[i])
        elif len(own) == 1 and not (
            _used_as_number(node, parents) and _attribute_type(spec, label, own[0]) != "number"
        ):
            lines[i] = re.sub(pattern, f'{receiver}.attr("{own[0]}")', lines[i])
    # 2. "did you mean" suggestions of the scene API, on the lines the errors name.
    for err in errors:
        for wrong, right, line in _SUGGESTION.findall(err):
            i = int(line) - 1
            if wrong in spec.vocabulary:  # a part asked for as an attribute: no easy fix
                continue
            if not 0 <= i < len(lines):
                continue
            # An invented accessor before a method every component has (``comp.region
            # .contains(pin)``): the component is that box itself, so the accessor goes.
            hop = re.compile(rf"\.{re.escape(wrong)}(?=\.(\w+)\s*\()")
            hit = hop.search(lines[i])
            if hit and _is_box_method(hit.group(1)):
                lines[i] = hop.sub("", lines[i])
                continue
            alias = re.match(rf"\s*(\w+)\s*=\s*\S.*\.{re.escape(wrong)}\s*$", lines[i])
            if alias and _only_box_methods(code, alias.group(1), i):
                lines[i] = re.sub(rf"\.{re.escape(wrong)}(?=\s*$)", "", lines[i])
                continue
            if not _is_method(right):  # a method named without a call would be a function
                lines[i] = re.sub(rf"\.{re.escape(wrong)}\b(?!\s*\()", f".{right}", lines[i])
                if _is_value(right):  # liquid.top_edge() -> liquid.top (a value, no call)
                    lines[i] = re.sub(rf"\.{re.escape(wrong)}\s*\(\s*\)", f".{right}", lines[i])
            # A call only where the suggested method takes as many arguments (seen right:
            # divider.left_of(t) -> is_left_of(t); wrong: label.region() -> subregion(),
            # which needs four).
            if _calls_fit(tree, i + 1, wrong, right):
                lines[i] = re.sub(rf"\.{re.escape(wrong)}(?=\s*\()", f".{right}", lines[i])
    # 3. label literals close to a label, or standing for the one label the rule names that
    #    the code does not use (seen: "bolt", copied from a worked example, for "bottle").
    unknown = unknown_label_literals(tree, spec.vocabulary)
    known_used = {a.value for _, a in label_literals(tree) if a.value in spec.vocabulary}
    named = [
        label
        for label in mentioned_labels(rule_text, spec.vocabulary, spec)
        if label not in known_used
    ]
    strays = {arg.value for _, arg in unknown}
    for _, arg in unknown:
        close = difflib.get_close_matches(arg.value, spec.vocabulary, n=1, cutoff=0.8)
        if not close:  # a word of exactly one label ("icon" for fruit_icon)
            word = arg.value.lower().removesuffix("s")
            close = [v for v in spec.vocabulary if word in re.split(r"[_\s-]+", v.lower())]
            close = close if len(close) == 1 else []
        if not close and len(strays) == 1 and len(named) == 1:
            close = named
        if close:
            i = arg.lineno - 1
            lines[i] = re.sub(rf"(['\"]){re.escape(arg.value)}\1", f'"{close[0]}"', lines[i])
    # 4. A group tested against None (scene.find never returns None, an empty group instead).
    for name in _groups_tested_for_none(tree):
        for i, line in enumerate(lines):
            line = re.sub(rf"\b{re.escape(name)}\s+is\s+not\s+None\b", name, line)
            lines[i] = re.sub(rf"\b{re.escape(name)}\s+is\s+None\b", f"not {name}", line)
    # 5. An early ``return []`` when a part the rule requires is missing.
    for ret, label in _silent_absences(tree, must_report):
        i = ret.lineno - 1
        lines[i] = re.sub(
            r"return\s*\[\s*\]", f'return [violation("there is no {label}")]', lines[i], count=1
        )
    # 6. A part that may be missing, used without a test at the top level of check().
    for i, guard in _none_guards(tree, errors, code):
        indent = re.match(r"\s*", lines[i]).group(0)
        lines[i] = f"{indent}if {guard} is None:\n{indent}    return []\n" + lines[i]
    # 7. A point tested for membership in a group of parts (never one of them).
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    box = next(f"holder{k or ''}" for k in range(len(taken) + 1) if f"holder{k or ''}" not in taken)
    for node, group in reversed(_points_in_groups(tree)):
        i = node.lineno - 1
        point = ast.get_source_segment(code, node.left)
        negate = "not " if isinstance(node.ops[0], ast.NotIn) else ""
        test = f"{negate}any({box}.contains({point}) for {box} in {group})"
        line = lines[i].encode()  # AST offsets count bytes
        lines[i] = (line[: node.col_offset] + test.encode() + line[node.end_col_offset :]).decode()
    fixed = "".join(lines)
    return fixed if fixed != code else None


def _points_in_groups(tree: ast.AST) -> list[tuple[ast.Compare, str]]:
    """``p.centroid in scene.find("L")`` (or ``not in``, or a name bound to such a group).

    A point is never one of the components, so the test is always False (``in``) or True
    (``not in``; seen: every pushpin reported "not in any compartment"); what is meant is
    that some part's box holds the point. Single-line comparisons only, ordered by position.
    """
    _, groups = assigned_labels(tree)
    out = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.In | ast.NotIn)
            and isinstance(node.left, ast.Attribute)
            and node.left.attr in ("centroid", "center")
            and node.lineno == node.end_lineno
        ):
            continue
        right = node.comparators[0]
        if isinstance(right, ast.Name) and right.id in groups:
            out.append((node, right.id))
        elif label_of_call(right) is not None and not isinstance(right, ast.Subscript):
            out.append((node, ast.unparse(right)))
    return sorted(out, key=lambda item: (item[0].lineno, item[0].col_offset))


def _none_guards(tree: ast.AST, errors: Sequence[str], code: str) -> list[tuple[int, str]]:
    """Where to test for a missing part: (line index, the expression that can be None).

    Only for assignments directly in the body of ``check``, whose value the rest of the
    function reads (a return inside a loop would drop what the loop found; one before an
    ``if`` would also skip the checks after it that need no such part), on the lines where an
    error says something is None: a variable bound by ``.one(...)`` and never tested gets its
    test after its assignment; an inline ``scene.one("L")`` in an assignment's value gets its
    test before it.
    """
    untested, inline = unguarded_ones(errors, code)
    if not untested and not inline:
        return []
    check = next((n for n in getattr(tree, "body", []) if isinstance(n, ast.FunctionDef)), None)
    if check is None:
        return []
    bad_lines = {
        int(n)
        for m in errors
        for n in re.findall(r"(?:is None\b|'NoneType' object).*?\(line (\d+)\)", m)
    }
    out: list[tuple[int, str]] = []
    body = check.body
    for k, stmt in enumerate(body):
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id in untested
            and k + 1 < len(body)
        ):
            out.append((body[k + 1].lineno - 1, stmt.targets[0].id))
        if stmt.lineno in bad_lines and isinstance(stmt, ast.Assign):
            for node in ast.walk(stmt.value):
                text = ast.unparse(node) if isinstance(node, ast.Call) else ""
                if text in inline and (stmt.lineno - 1, text) not in out:
                    out.append((stmt.lineno - 1, text))
    return out


def _silent_absences(tree: ast.AST, labels: Sequence[str]) -> list[tuple[ast.Return, str]]:
    """``if x is None: return []`` (or ``not x``, ``len(x) == 0``) for x a part in ``labels``."""
    ones, _ = assigned_labels(tree)
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.If) and len(node.body) == 1):
            continue
        ret = node.body[0]
        if not (
            isinstance(ret, ast.Return) and isinstance(ret.value, ast.List) and not ret.value.elts
        ):
            continue
        name = _absence_tested(node.test)
        label = ones.get(name or "") or _inline_label(name)
        if label is not None and label in labels:
            out.append((ret, label))
    return out


def _inline_label(text: str | None) -> str | None:
    """The label of an inline ``scene.one("L")`` given as source text."""
    if not text:
        return None
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    return label_of_call(node) if isinstance(node, ast.Call) else None


def _absence_tested(test: ast.expr) -> str | None:
    """The name a test asks to be absent: ``x is None``, ``not x``, ``len(x) == 0``."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand.id if isinstance(test.operand, ast.Name) else None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if not isinstance(right, ast.Constant):
        return None
    if isinstance(op, ast.Is) and right.value is None and isinstance(left, ast.Name):
        return left.id
    if isinstance(op, ast.Is) and right.value is None and label_of_call(left) is not None:
        return ast.unparse(left)
    if (
        isinstance(op, ast.Eq)
        and right.value == 0
        and isinstance(left, ast.Call)
        and isinstance(left.func, ast.Name)
        and left.func.id == "len"
        and len(left.args) == 1
        and isinstance(left.args[0], ast.Name)
    ):
        return left.args[0].id
    return None


_VALUE_SUFFIXES = ("_edge", "_side", "_coordinate", "_coord", "_position", "_pos", "_px", "_value")
_VALUE_ALIASES = {"center_x": "x", "centre_x": "x", "center_y": "y", "centre_y": "y"}


def component_value_name(name: str) -> str | None:
    """The component value an invented attribute name means, or None.

    Example:
        >>> component_value_name("top_edge"), component_value_name("centre_y")
        ('top', 'y')
        >>> component_value_name("fill") is None
        True
    """
    key = name.lower()
    for suffix in _VALUE_SUFFIXES:
        key = key.removesuffix(suffix)
    key = _VALUE_ALIASES.get(key, key)
    member = inspect.getattr_static(Component, key, None) if not key.startswith("_") else None
    if member is None or inspect.isfunction(member) or key in ("id", "label", "bbox"):
        return None
    return key


def _used_as_number(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """The value is ordered against something or used in arithmetic."""
    parent = parents.get(node)
    if isinstance(parent, ast.BinOp | ast.UnaryOp):
        return True
    return isinstance(parent, ast.Compare) and any(
        isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in parent.ops
    )


def _attribute_type(spec: CategorySpec, label: str | None, name: str) -> str | None:
    """The declared type of a label's attribute (``number``, ``enum``...), or None."""
    if label is None:
        return None
    for attr in spec.component(label).attributes:
        if attr.name == name:
            return attr.type
    return None


def _is_box_method(name: str) -> bool:
    """A method every component and region has (``contains``, ``is_inside``...)."""
    return not name.startswith("_") and inspect.isfunction(inspect.getattr_static(Box, name, None))


def _api_member(name: str) -> object | None:
    """What the scene API's objects have under ``name`` (first found), or None."""
    for cls in (Component, Region, Scene, Group):
        member = inspect.getattr_static(cls, name, None)
        if member is not None:
            return member
    return None


def _is_method(name: str) -> bool:
    """The API name is a method (to be called), not a value."""
    return inspect.isfunction(_api_member(name))


def _only_box_methods(code: str, name: str, assigned_at: int) -> bool:
    """Every use of ``name`` after its assignment line calls a method every box has."""
    uses = [
        m
        for n, line in enumerate(code.splitlines())
        if n != assigned_at
        for m in re.finditer(rf"\b{re.escape(name)}\b(\.(\w+)\s*\()?", line)
    ]
    return bool(uses) and all(m.group(2) and _is_box_method(m.group(2)) for m in uses)


def _is_value(name: str) -> bool:
    """The API name is a value that components have (a property or a field), not a method."""
    member = _api_member(name)
    return member is not None and not inspect.isfunction(member)


def _calls_fit(tree: ast.AST, lineno: int, wrong: str, right: str) -> bool:
    """Every call ``.wrong(...)`` on the line passes as many arguments as API ``right`` takes."""
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == wrong
        and node.lineno == lineno
    ]
    if not calls:
        return False
    for cls in (Component, Region, Scene, Group):
        method = getattr(cls, right, None)
        if callable(method):
            break
    else:
        return False
    try:
        params = list(inspect.signature(method).parameters.values())[1:]  # without self
    except (TypeError, ValueError):
        return False
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return False
    need = sum(1 for p in params if p.default is p.empty)
    return all(need <= len(c.args) <= len(params) and not c.keywords for c in calls)


def _groups_tested_for_none(tree: ast.AST) -> list[str]:
    """Names bound only to ``....find(...)`` (a group) that the code compares with None."""
    values: dict[str, set[bool]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                v = node.value
                is_find = (
                    isinstance(v, ast.Call)
                    and isinstance(v.func, ast.Attribute)
                    and v.func.attr == "find"
                )
                values.setdefault(target.id, set()).add(is_find)
        elif isinstance(node, ast.For | ast.comprehension) and isinstance(node.target, ast.Name):
            values.setdefault(node.target.id, set()).add(False)
    groups = {n for n, kinds in values.items() if kinds == {True}}
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Name)
            and node.left.id in groups
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Is | ast.IsNot)
            and isinstance(node.comparators[0], ast.Constant)
            and node.comparators[0].value is None
            and node.left.id not in out
        ):
            out.append(node.left.id)
    return out
