"""What a normal scene really shows about the parts a rule names, for the repair prompt.

:func:`scene_facts` lists the measurements and relations of those parts in the normal scene a
candidate wrongly rejected, so the model can see which comparison is wrong;
:func:`mentioned_labels` finds the parts a rule's text names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

from logicode.codegen.names import attribute_names
from logicode.ruleapi import wrap_scene
from logicode.ruleapi.geometry import above, below, inside, left_of, right_of
from logicode.spec import CategorySpec


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
