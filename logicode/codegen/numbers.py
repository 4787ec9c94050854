"""The numbers a rule states, and code that ignores them or bounds a value from one side twice.

Static reading of rule code (no execution), part of validation. Both checks refuse code that
can pass every reference and counterexample the compiler has and still be wrong (seen with a
0.5B model):

* :func:`unused_numbers`: "its top edge lies between 16% and 24% of the bottle's height"
  checked by "the liquid is below the top label"; "yellow for 2 clamps, blue for 3, red for
  5" checked without 5. Every number the rule states (outside brackets, which explain) must
  appear among the code's numeric constants, in one of the forms code writes it in
  (numbers in brackets that give the rule in pixels restate it and are left out).
* :func:`one_sided_ranges`: ``0.5 > r and r < 2.0`` (meant: r outside 0.5 to 2.0) is true only
  when r is below 0.5: two bounds of one value, both from above or both from below, joined
  by ``and`` or ``or``.

Measured on the 285 distinct validated codes recorded by the benchmark runs of sessions 1-9
(1.5B and 0.5B, specs and rephrased rules), both checks together: 9 of the 40 that were wrong
on held-out scenes are refused, and 5 of the 245 right ones, all codes that ignore part of
the rule the held-out scenes happened not to test (a compartment count for "3 rows of 5
columns", exact equality for "within 8% of the mean").
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(\s?%|\s+percent\b)?(?!\w)")
_BRACKETS = re.compile(r"\([^()]*\)")
_OTHER_UNIT = re.compile(r"\b(?:pixels?|px)\b", re.I)


@dataclass(frozen=True)
class StatedNumber:
    """One number written in digits in a rule's text.

    Attributes:
        text: As written ("16%", "2.25", "5").
        value: Its value (16.0 for "16%").
        percent: Written as a percentage.
    """

    text: str
    value: float
    percent: bool

    def primary(self) -> set[float]:
        """Its own values: the number, and a percentage's fraction."""
        return {self.value, self.value / 100} if self.percent else {self.value}

    def forms(self) -> set[float]:
        """Values code may write it as.

        A percentage as a fraction, as the number, or as 1 plus or minus the fraction ("within
        25% of the median" is ``0.75 * m <= a <= 1.25 * m``); a whole number also one above or
        below ("at least 5" is ``> 4``, "row 0 to 2" is ``range(3)``); a decimal as itself.
        """
        v = self.value
        if self.percent:
            return {v, v / 100, 1 + v / 100, 1 - v / 100}
        if "." not in self.text:
            return {v - 1, v, v + 1}
        return {v}


def stated_numbers(rule_text: str) -> list[StatedNumber]:
    """Numbers in digits in the rule, except 0, restatements in pixels and parts of a sum.

    Brackets that give the rule in pixels restate it ("(for the nominal 1700-pixel-wide
    image, between 629 and 850 pixels)"); other brackets count ("(its centre within 4% of
    the bottle width)"). Two numbers that add up to a third the rule states before them explain it
    ("22 separators: 12 between columns and 10 between rows"; not "2, 3 or 5 clamps").
    """
    text = " ".join(rule_text.split())
    text = _BRACKETS.sub(lambda m: " " if _OTHER_UNIT.search(m.group(0)) else m.group(0), text)
    found = [
        StatedNumber(m.group(0).strip(), float(m.group(1)), bool(m.group(2)))
        for m in _NUMBER.finditer(text)
    ]
    found = [n for n in found if n.value != 0]
    values = [n.value for n in found]
    parts: set[int] = set()
    for i, a in enumerate(values):
        for j in range(i + 1, len(values)):
            if a + values[j] in values[:i]:  # the total first, then its parts
                parts.update((i, j))
    return [n for k, n in enumerate(found) if k not in parts]


def _code_numbers(tree: ast.AST) -> set[float]:
    return {
        float(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    }


def unused_numbers(code: str, rule_text: str) -> str | None:
    """A sentence naming the numbers of the rule the code never uses, else None.

    Numbers inside strings (violation messages) do not count: only numeric constants.

    Args:
        code: Candidate rule code (unparsable code yields None: the compiler reports that).
        rule_text: The rule in English.

    Returns:
        The problem sentence for the repair prompt, or None.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    have = _code_numbers(tree)
    stated = stated_numbers(rule_text)

    def within(values: set[float], pool: set[float]) -> bool:
        return any(abs(f - h) < 1e-9 for f in values for h in pool)

    missing = []
    for n in stated:
        # 1 - 60 % is 0.4: not where the rule also states 40 % (seen: "40% to 60% of the
        # height" checked as "at most 0.40 of the height" alone).
        others = {v for m in stated if m != n for v in m.primary()}
        pool = have if not n.percent else {h for h in have if not within({h}, others)}
        if not (within(n.primary(), have) or within(n.forms(), pool)):
            missing.append(n)
    if not missing:
        return None
    named = ", ".join(
        f"{n.text} (write {n.value / 100:g})" if n.percent else n.text for n in missing
    )
    them = "it" if len(missing) == 1 else "them"
    return f"the rule states {named}, but the code never uses {them}"


def _bounds(node: ast.AST) -> list[tuple[str, str]]:
    """(expression, "above" or "below") per value a comparison bounds: ``a < x`` bounds x below."""
    if not isinstance(node, ast.Compare):
        return []
    out = []
    sides = [node.left, *node.comparators]
    for op, left, right in zip(node.ops, sides, sides[1:], strict=False):
        if isinstance(op, ast.Lt | ast.LtE):
            out += [(ast.unparse(left), "above"), (ast.unparse(right), "below")]
        elif isinstance(op, ast.Gt | ast.GtE):
            out += [(ast.unparse(left), "below"), (ast.unparse(right), "above")]
    return out


def one_sided_ranges(code: str) -> list[str]:
    """Sentences for ``and``/``or`` conditions that bound one value twice from the same side.

    ``0.5 > r and r < 2.0`` says twice that r is small; a range test bounds it from both
    sides (``between(r, 0.5, 2.0)``, or its negation for a violation). Only non-constant
    expressions count, each bound must be a plain number, and chained comparisons
    (``0.5 <= r <= 2.0``) are the right form, not this mistake.

    Args:
        code: Candidate rule code (unparsable code yields no sentences).

    Returns:
        One sentence per such condition.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.BoolOp):
            continue
        seen: dict[tuple[str, str], int] = {}
        for value in node.values:
            if not (
                isinstance(value, ast.Compare)
                and len(value.ops) == 1
                and any(
                    isinstance(s, ast.Constant) and isinstance(s.value, int | float)
                    for s in (value.left, *value.comparators)
                )
            ):
                continue
            for expr, side in _bounds(value):
                if not re.fullmatch(r"-?[\d.]+", expr):
                    seen[(expr, side)] = seen.get((expr, side), 0) + 1
        for (expr, side), n in seen.items():
            if n > 1:
                joined = "and" if isinstance(node.op, ast.And) else "or"
                out.append(
                    f"line {node.lineno}: `{ast.unparse(node)}` bounds {expr} from {side} twice"
                    f" (joined by {joined}); a range is bounded from both sides: write"
                    f" `not between({expr}, low, high)` for a value outside low to high"
                )
    return out
