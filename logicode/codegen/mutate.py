"""Direction edits of a candidate that rejects normal images: relations and comparisons reversed.

The commonest wrong rule a small model writes is right in every respect but one direction:
``divider.is_left_of(tangerine)`` for "the tangerine lies left of the divider", or
``cereal.y <= box.y`` as the violation of "the cereals lie in the upper half" (y grows
downwards). Such code fires on every normal image, and the model tends to keep the direction
through its repairs even when the feedback names the line (seen: three repairs of
``fruit_left`` with the same ``is_left_of`` order; ``cereals_upper_right`` repeating its
``<=``). The compiler therefore tries the candidate with directions reversed, one idea at a
time, before it asks the model again; each edit is validated like any candidate (normal
references, counterexamples, the counts the rule states), so a reversal that is wrong for the
rule is refused like wrong code from the model.

An edit reverses the operands of

* an asymmetric relation: ``left_of(a, b)`` -> ``left_of(b, a)``, ``a.is_above(b)`` ->
  ``b.is_above(a)``, ``inside``/``is_inside``/``contains`` alike;
* an order comparison: ``a < b`` -> ``b < a`` (that is, ``a > b``); never a chain such as
  ``lo < x < hi``, whose reversal can never be true;
* a membership test: ``kind in ("cherry", "orange")`` -> ``kind not in (...)`` and back
  (seen: the allowed values written as the violation's condition).

Sites that do the same thing (the same relation, or comparisons of the same attribute such as
``.y``) are reversed together first, then one by one. Nothing here knows a product.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

#: Relations whose two operands mean different things (function and method forms).
_FUNCTIONS = frozenset({"above", "below", "left_of", "right_of", "inside"})
_METHODS = frozenset({"is_above", "is_below", "is_left_of", "is_right_of", "is_inside", "contains"})
_ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


@dataclass(frozen=True)
class _Site:
    """One place whose operands can be reversed."""

    key: str  # what it does: "is_left_of", "comparison of .centroid/.y" ...
    line: int
    spans: tuple[tuple[int, int], ...]  # byte spans of the operands, in source order
    shown: str  # the original text, for the transcript
    replacement: bytes | None = None  # for a negation: the new text of its one span


def mutants(code: str, limit: int = 8) -> list[tuple[str, str]]:
    """Variants of ``code`` with directions reversed, most plausible first.

    Args:
        code: Candidate rule code.
        limit: The most variants returned.

    Returns:
        ``(description, code)`` pairs; empty when the code does not parse or has no
        relation or order comparison.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    source = code.encode()
    starts = _line_starts(source)
    sites = _sites(tree, source, starts)
    groups: dict[str, list[_Site]] = {}
    for site in sites:
        groups.setdefault(site.key, []).append(site)
    plans: list[tuple[str, list[_Site]]] = []
    for key, members in groups.items():
        if len(members) > 1:
            plans.append((f"reversed every {key}", members))
    for site in sites:
        plans.append((f"reversed {site.shown} (line {site.line})", [site]))
    out: list[tuple[str, str]] = []
    seen = {code}
    for description, chosen in plans:
        edited = _reverse(source, chosen)
        if edited is None or edited in seen:
            continue
        seen.add(edited)
        out.append((description, edited))
        if len(out) >= limit:
            break
    return out


def _line_starts(source: bytes) -> list[int]:
    """Byte offset of the start of each line (index 0 is line 1)."""
    starts = [0]
    for i, ch in enumerate(source):
        if ch == 0x0A:
            starts.append(i + 1)
    return starts


def _span(node: ast.AST, starts: list[int]) -> tuple[int, int] | None:
    """Byte span of a node in the source."""
    end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None:
        return None
    return starts[node.lineno - 1] + node.col_offset, starts[end_line - 1] + end_col


def _sites(tree: ast.AST, source: bytes, starts: list[int]) -> list[_Site]:
    """Every relation call and order comparison, in source order."""
    found: list[_Site] = []
    for node in ast.walk(tree):
        operands: list[ast.AST] = []
        key = ""
        if isinstance(node, ast.Call) and len(node.args) >= 2 and not node.keywords:
            if isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
                operands, key = node.args[:2], node.func.id
        if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _METHODS:
                operands, key = [func.value, node.args[0]], func.attr
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], _ORDER):
            operands = [node.left, node.comparators[0]]
            names = sorted({a.attr for o in operands for a in ast.walk(o) if _is_field(a)})
            key = "comparison of " + ("/".join(f".{n}" for n in names) or "values")
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            negated = {ast.In: b" not in ", ast.NotIn: b" in "}.get(type(node.ops[0]))
            left, right = _span(node.left, starts), _span(node.comparators[0], starts)
            if negated is not None and left is not None and right is not None:
                shown = source[left[0] : right[1]].decode(errors="replace")
                between = ((left[1], right[0]),)
                found.append(_Site("membership test", node.lineno, between, shown, negated))
                continue
        if not operands:
            continue
        spans = [_span(o, starts) for o in operands]
        if any(s is None for s in spans):
            continue
        whole = _span(node, starts)
        if whole is None:
            continue
        shown = source[whole[0] : whole[1]].decode(errors="replace")
        found.append(_Site(key, node.lineno, tuple(s for s in spans if s is not None), shown))
    found.sort(key=lambda s: s.spans[0])
    return found


def _is_field(node: ast.AST) -> bool:
    """An attribute read such as ``c.y`` (not a method being called)."""
    return isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)


def _reverse(source: bytes, sites: list[_Site]) -> str | None:
    """The source with the operands of every site reversed; None where two sites overlap."""
    edits: list[tuple[int, int, bytes]] = []
    for site in sites:
        if site.replacement is not None:
            edits.append((*site.spans[0], site.replacement))
            continue
        texts = [source[a:b] for a, b in site.spans]
        for (a, b), text in zip(site.spans, reversed(texts), strict=True):
            edits.append((a, b, text))
    edits.sort()
    for (_, end, _), (start, _, _) in zip(edits, edits[1:], strict=False):
        if start < end:
            return None
    out = bytearray(source)
    for a, b, text in reversed(edits):
        out[a:b] = text
    try:
        edited = out.decode()
        ast.parse(edited)
    except (UnicodeDecodeError, SyntaxError):
        return None
    return edited
