"""Counterexamples: normal reference scenes changed in one way (remove, add, move, ...).

A compiled rule must pass every normal reference and must react to the changes its English
text forbids. This module derives changed scenes from references, generically: the changes
are built from the category vocabulary, the attributes the spec declares and the colours
and positions seen in the reference, never from knowledge of a particular product.

Scenes here are plain JSON dicts (what the sandbox consumes). A changed scene drops the
masks of the components it touches (their geometry no longer matches the mask) and stays
valid against the scene schema: a change that would push a box outside the image is not
applicable and yields None.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from logicode.spec import CategorySpec

Op = Literal[
    "remove", "remove_all", "duplicate", "move", "resize", "recolor", "set_attr", "swap", "rotate"
]

# Representative RGB per colour name (for recolouring).
COLOR_RGB: dict[str, tuple[int, int, int]] = {
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "white": (240, 240, 240),
    "red": (200, 30, 30),
    "orange": (240, 140, 20),
    "yellow": (235, 215, 40),
    "green": (40, 160, 60),
    "cyan": (40, 200, 210),
    "blue": (40, 60, 200),
    "purple": (140, 40, 180),
    "pink": (240, 110, 180),
    "brown": (120, 70, 30),
}


@dataclass(frozen=True)
class Mutation:
    """One change to a scene.

    Attributes:
        op: Kind of change.
        label: Label of the component changed (the first one in reading order).
        other: Second label for ``swap``.
        dx: Horizontal move as a fraction of the image width (``move``).
        dy: Vertical move as a fraction of the image height (``move``; positive = down).
        factor: Scale of width and height (``resize``).
        color: New colour name (``recolor``).
        attr: Attribute name (``set_attr``).
        value: New attribute value (``set_attr``).
        angle: Degrees added to the orientation (``rotate``).
        index: Which component of that label, in reading order (top-to-bottom, left-to-right).
    """

    op: Op
    label: str
    other: str | None = None
    dx: float = 0.0
    dy: float = 0.0
    factor: float = 1.0
    color: str | None = None
    attr: str | None = None
    value: Any = None
    angle: float = 0.0
    index: int = 0

    def key(self) -> str:
        """Short stable identifier, e.g. ``move:top_label:dx=0.00:dy=0.15``."""
        parts = [self.op, self.label]
        if self.other:
            parts.append(self.other)
        if self.op == "move":
            parts.append(f"dx={self.dx:+.2f}:dy={self.dy:+.2f}")
        elif self.op == "resize":
            parts.append(f"x{self.factor:g}")
        elif self.op == "recolor":
            parts.append(str(self.color))
        elif self.op == "set_attr":
            parts.append(f"{self.attr}={self.value}")
        elif self.op == "rotate":
            parts.append(f"{self.angle:+g}deg")
        if self.index:
            parts.append(f"#{self.index}")
        return ":".join(parts)

    def describe(self) -> str:
        """The change in plain English (shown to the language model and in reports)."""
        which = f"the {self.label}" if not self.index else f"{self.label} number {self.index + 1}"
        if self.op == "remove":
            return f"remove {which}"
        if self.op == "remove_all":
            return f"remove every {self.label}"
        if self.op == "duplicate":
            return f"add a second copy of {which} next to it"
        if self.op == "move":
            moves = []
            if self.dx:
                moves.append(
                    f"{'right' if self.dx > 0 else 'left'} by {abs(self.dx):.0%} of the image width"
                )
            if self.dy:
                moves.append(
                    f"{'down' if self.dy > 0 else 'up'} by {abs(self.dy):.0%} of the image height"
                )
            return f"move {which} " + " and ".join(moves)
        if self.op == "resize":
            return f"make {which} {self.factor:g} times as wide and as high"
        if self.op == "recolor":
            return f"make {which} {self.color}"
        if self.op == "set_attr":
            if self.value is None:
                return f"set {self.attr} of {which} to None (not set)"
            return f"set {self.attr} of {which} to {self.value!r}"
        if self.op == "swap":
            return f"swap the positions of the {self.label} and the {self.other}"
        return f"rotate {which} by {self.angle:g} degrees"

    def apply(self, scene: dict[str, Any]) -> dict[str, Any] | None:
        """Return a changed deep copy of ``scene``, or None if the change does not apply."""
        out = copy.deepcopy(scene)
        comps = out.get("components", [])
        targets = _reading_order([c for c in comps if c.get("label") == self.label])
        if len(targets) <= self.index:
            return None
        target = targets[self.index]
        w, h = out["image"]["width"], out["image"]["height"]
        if self.op == "remove":
            comps.remove(target)
        elif self.op == "remove_all":
            out["components"] = [c for c in comps if c.get("label") != self.label]
        elif self.op == "duplicate":
            twin = copy.deepcopy(target)
            twin["id"] = _fresh_id(comps)
            bw = twin["bbox"][2] - twin["bbox"][0]
            bh = twin["bbox"][3] - twin["bbox"][1]
            for dx, dy in ((bw * 1.1, 0), (-bw * 1.1, 0), (0, bh * 1.1), (0, -bh * 1.1)):
                if _shift(twin, dx, dy, w, h, dry_run=True):
                    _shift(twin, dx, dy, w, h)
                    break
            else:
                return None
            comps.append(twin)
        elif self.op == "move":
            if not _shift(target, self.dx * w, self.dy * h, w, h):
                return None
        elif self.op == "resize":
            if not _scale(target, self.factor, w, h):
                return None
        elif self.op == "recolor":
            rgb = COLOR_RGB[str(self.color)]
            target["color"] = {"rgb": list(rgb), "name": self.color}
        elif self.op == "set_attr":
            target["attributes"] = {**(target.get("attributes") or {}), str(self.attr): self.value}
        elif self.op == "swap":
            others = _reading_order([c for c in comps if c.get("label") == self.other])
            if not others:
                return None
            b = others[0]
            ax, ay = target["centroid"]
            bx, by = b["centroid"]
            if not (_shift(target, bx - ax, by - ay, w, h) and _shift(b, ax - bx, ay - by, w, h)):
                return None
        elif self.op == "rotate":
            angle = ((target.get("orientation", 0.0) + self.angle + 90.0) % 180.0) - 90.0
            target["orientation"] = round(angle, 3)
            target["mask"] = None
        out.setdefault("meta", {})["mutation"] = self.key()
        out["label"] = None
        return out


def _reading_order(comps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(comps, key=lambda c: (c["centroid"][1], c["centroid"][0]))


def _fresh_id(comps: list[dict[str, Any]]) -> str:
    ids = {c["id"] for c in comps}
    n = len(comps)
    while f"c{n}" in ids:
        n += 1
    return f"c{n}"


def _shift(
    c: dict[str, Any], dx: float, dy: float, w: int, h: int, *, dry_run: bool = False
) -> bool:
    x0, y0, x1, y1 = c["bbox"]
    nb = [x0 + dx, y0 + dy, x1 + dx, y1 + dy]
    if nb[0] < 0 or nb[1] < 0 or nb[2] > w or nb[3] > h:
        return False
    if not dry_run:
        c["bbox"] = [round(v, 3) for v in nb]
        c["centroid"] = [round(c["centroid"][0] + dx, 3), round(c["centroid"][1] + dy, 3)]
        c["mask"] = None
    return True


def _scale(c: dict[str, Any], f: float, w: int, h: int) -> bool:
    x0, y0, x1, y1 = c["bbox"]
    cx, cy = c["centroid"]
    nb = [cx + (x0 - cx) * f, cy + (y0 - cy) * f, cx + (x1 - cx) * f, cy + (y1 - cy) * f]
    if nb[0] < 0 or nb[1] < 0 or nb[2] > w or nb[3] > h:
        return False
    c["bbox"] = [round(v, 3) for v in nb]
    c["area"] = round(c["area"] * f * f, 3)
    if isinstance((c.get("attributes") or {}).get("length"), (int, float)):
        c["attributes"]["length"] = round(c["attributes"]["length"] * f, 3)
    c["mask"] = None
    return True


def propose_mutations(spec: CategorySpec, reference: dict[str, Any]) -> list[Mutation]:
    """A generic catalogue of one-step changes for a reference scene.

    For every label present: remove it (and remove every one of it, where there are several:
    code that divides by their number must not fail then), duplicate it, move it clearly in
    each direction, shrink and enlarge it, recolour it to a colour no reference component of
    that label has, rotate it, set each declared attribute to other values (a whole number
    one more and one less, other numbers 0.6 and 1.5 times as large, and None where the spec
    declares it nullable); and swap the positions of every pair of different labels (where
    both still fit in the image).

    Args:
        spec: The category spec (vocabulary and declared attributes).
        reference: A normal scene as a JSON dict.

    Returns:
        Mutations that apply to ``reference`` (each yields a valid changed scene).
    """
    present = [c for c in reference.get("components", []) if c.get("label") in spec.vocabulary]
    labels = sorted({c["label"] for c in present}, key=spec.vocabulary.index)
    out: list[Mutation] = []
    for label in labels:
        mine = _reading_order([c for c in present if c["label"] == label])
        first = mine[0]
        out.append(Mutation("remove", label))
        if len(mine) > 1:
            out.append(Mutation("remove_all", label))
        out.append(Mutation("duplicate", label))
        for dx, dy in ((0.15, 0.0), (-0.15, 0.0), (0.0, 0.12), (0.0, -0.12)):
            out.append(Mutation("move", label, dx=dx, dy=dy))
        out += [Mutation("resize", label, factor=0.6), Mutation("resize", label, factor=1.5)]
        out.append(Mutation("rotate", label, angle=25.0))
        seen = {(c.get("color") or {}).get("name") for c in present if c["label"] == label}
        for name in ("red", "blue", "green", "white", "yellow"):
            if name not in seen:
                out.append(Mutation("recolor", label, color=name))
                break
        for attr in spec.component(label).attributes:
            current = (first.get("attributes") or {}).get(attr.name)
            if attr.type == "enum":
                out += [
                    Mutation("set_attr", label, attr=attr.name, value=v)
                    for v in attr.values or []
                    if v != current
                ]
            elif attr.type == "number" and type(current) is int:  # a whole number, not a bool
                out += [
                    Mutation("set_attr", label, attr=attr.name, value=v)
                    for v in (current + 1, current - 1)
                    if v >= 0
                ]
            elif attr.type == "number" and isinstance(current, (int, float)):
                out += [
                    Mutation("set_attr", label, attr=attr.name, value=round(current * f, 3))
                    for f in (0.6, 1.5)
                ]
            elif attr.type == "bool" and isinstance(current, bool):
                out.append(Mutation("set_attr", label, attr=attr.name, value=not current))
            if attr.nullable and current is not None:
                out.append(Mutation("set_attr", label, attr=attr.name, value=None))
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            out.append(Mutation("swap", a, other=b))
    return [m for m in out if m.apply(reference) is not None]
