"""Worked examples of the code-generation prompt, and the ones most like a given rule.

The examples live in ``prompts/codegen/examples.md`` (a made-up product): a heading, then
pairs of ``Rule: <text>`` and a fenced ``check(scene)``. A capable model reads them all once
in the system prompt (cached across the rules of a category). A small one copies best from
an example of the same shape placed right next to the rule it must write, and loses track in
a long prompt; :func:`similar_examples` picks those by the words of the rules (TF-IDF cosine
over words, numbers and percentages folded to one token each, so "between 16% and 24%"
matches "between 2% and 10%" whatever the product).

Example:
    >>> rule_tokens("Its top lies between 16% and 24% of the bottle height, 2 of them.")
    ['top', 'lies', 'between', '<pct>', '<pct>', 'bottle', 'height', '<n>', 'them']
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_PAIR = re.compile(r"^Rule: (.*?)\n```python\n(.*?)```", re.S | re.M)
_TOKEN = re.compile(r"\d+(?:\.\d+)?%|\d+(?:\.\d+)?|[a-z]+")
_STOP = frozenset(
    "a an the of is are be in on to and or it its this that with as by for at from".split()
)


@dataclass(frozen=True)
class WorkedExample:
    """One rule of the made-up product and the code that checks it."""

    rule: str
    code: str

    def text(self) -> str:
        """The example as the prompt shows it."""
        return f"Rule: {self.rule}\n```python\n{self.code}```"


def parse_examples(text: str) -> tuple[str, list[WorkedExample]]:
    """Split an examples file into its heading (text before the first rule) and examples."""
    first = _PAIR.search(text)
    heading = text[: first.start()].strip() if first else text.strip()
    pairs = [WorkedExample(" ".join(r.split()), c) for r, c in _PAIR.findall(text)]
    return heading, pairs


def rule_tokens(text: str) -> list[str]:
    """Words of a rule, lower case, numbers as ``<n>`` and percentages as ``<pct>``."""
    out = []
    for tok in _TOKEN.findall(text.lower()):
        if tok.endswith("%"):
            out.append("<pct>")
        elif tok[0].isdigit():
            out.append("<n>")
        elif tok not in _STOP:
            out.append(tok)
    return out


def similar_examples(rule: str, examples: Sequence[WorkedExample], k: int) -> list[WorkedExample]:
    """The ``k`` examples whose rules share the most (IDF-weighted) words with ``rule``.

    Ties keep the file's order; the result is in the file's order too, so that the prompt
    reads like the full list with some examples left out.
    """
    if k <= 0 or not examples:
        return []
    docs = [Counter(rule_tokens(e.rule)) for e in examples]
    df = Counter(t for d in docs for t in d)
    n = len(docs)

    def weights(counts: Counter[str]) -> dict[str, float]:
        return {t: c * math.log((1 + n) / (1 + df.get(t, 0))) + c for t, c in counts.items()}

    def norm(w: dict[str, float]) -> float:
        return math.sqrt(sum(v * v for v in w.values())) or 1.0

    q = weights(Counter(rule_tokens(rule)))
    qn = norm(q)
    scores = []
    for i, d in enumerate(docs):
        w = weights(d)
        dot = sum(v * w.get(t, 0.0) for t, v in q.items())
        scores.append((-dot / (qn * norm(w)), i))
    chosen = sorted(i for _, i in sorted(scores)[:k])
    return [examples[i] for i in chosen]
