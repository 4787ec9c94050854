"""Geometry helpers of the rule API: relations between boxes and numeric tests.

Pure functions on anything with public ``bbox`` and ``center`` (scene, Region, Component) or
on plain ``(x0, y0, x1, y1)`` tuples; no dependency on the object classes.
"""

from __future__ import annotations

import math
from typing import Any


def above(a: Any, b: Any) -> bool:
    """True if a's centre is higher in the image than b's (smaller y); numbers are y values.

    Example:
        if not above(cap, label):
            return [violation("cap must be above the label", cap, label)]
    """
    return _coord(a, 5, "above", "a") < _coord(b, 5, "above", "b")


def below(a: Any, b: Any) -> bool:
    """True if a's centre is lower in the image than b's (larger y); numbers are y values."""
    return _coord(a, 5, "below", "a") > _coord(b, 5, "below", "b")


def left_of(a: Any, b: Any) -> bool:
    """True if a's centre is left of b's (smaller x); numbers are x values."""
    return _coord(a, 4, "left_of", "a") < _coord(b, 4, "left_of", "b")


def right_of(a: Any, b: Any) -> bool:
    """True if a's centre is right of b's (larger x); numbers are x values."""
    return _coord(a, 4, "right_of", "a") > _coord(b, 4, "right_of", "b")


def inside(a: Any, b: Any, tol: float | None = None) -> bool:
    """True if a's box lies within b's box, allowing tol px (default 5% of b's size).

    Example:
        strays = [s for s in scene.find("sticker") if not inside(s, lid)]
    """
    al, at, ar, ab, _, _ = _geom(a, "inside", "a")
    bl, bt, br, bb, _, _ = _geom(b, "inside", "b")
    tx = 0.05 * (br - bl) if tol is None else float(tol)
    ty = 0.05 * (bb - bt) if tol is None else float(tol)
    return al >= bl - tx and ar <= br + tx and at >= bt - ty and ab <= bb + ty


def overlaps(a: Any, b: Any) -> bool:
    """True if the boxes of a and b intersect."""
    al, at, ar, ab, _, _ = _geom(a, "overlaps", "a")
    bl, bt, br, bb, _, _ = _geom(b, "overlaps", "b")
    return min(ar, br) > max(al, bl) and min(ab, bb) > max(at, bt)


def distance(a: Any, b: Any) -> float:
    """Distance in px between the centres of a and b."""
    ga, gb = _geom(a, "distance", "a"), _geom(b, "distance", "b")
    return math.hypot(ga[4] - gb[4], ga[5] - gb[5])


def iou(a: Any, b: Any) -> float:
    """Intersection over union of the boxes of a and b, 0..1."""
    al, at, ar, ab, _, _ = _geom(a, "iou", "a")
    bl, bt, br, bb, _, _ = _geom(b, "iou", "b")
    inter = max(0.0, min(ar, br) - max(al, bl)) * max(0.0, min(ab, bb) - max(at, bt))
    union = (ar - al) * (ab - at) + (br - bl) * (bb - bt) - inter
    return inter / union if union > 0 else 0.0


def approx(a: float, b: float, tol: float) -> bool:
    """True if numbers a and b differ by at most tol.

    Example:
        if not approx(label.x, lid.x, 0.05 * lid.width): ...
    """
    return abs(float(a) - float(b)) <= float(tol)


def between(value: float, lo: float, hi: float) -> bool:
    """True if lo <= value <= hi."""
    return float(lo) <= float(value) <= float(hi)


def ratio(a: float, b: float) -> float:
    """Divide a by b without ZeroDivisionError (inf if b is 0, 1.0 if both are 0).

    Example:
        if not between(ratio(big.area, small.area), 1.5, 3): ...
    """
    a, b = float(a), float(b)
    if b == 0:
        return 1.0 if a == 0 else math.copysign(math.inf, a)
    return a / b


# --- private helpers -------------------------------------------------------------------------


def _geom(obj: Any, fn: str, arg: str) -> tuple[float, float, float, float, float, float]:
    """(left, top, right, bottom, x, y) of an API object or an (x0, y0, x1, y1) tuple."""
    box, center = getattr(obj, "bbox", None), getattr(obj, "center", None)
    if isinstance(box, tuple) and isinstance(center, tuple):
        return (*box, *center)
    if isinstance(obj, (tuple, list)) and len(obj) == 4 and all(_is_number(v) for v in obj):
        left, top, right, bottom = (float(v) for v in obj)
        return (left, top, right, bottom, (left + right) / 2, (top + bottom) / 2)
    if obj is None:
        raise TypeError(
            f"{fn}(): {arg} is None, the component is missing; check that it exists first "
            f"(scene.one() returns None when there is none)"
        )
    if isinstance(obj, (list, tuple)):
        raise TypeError(
            f"{fn}(): {arg} is a {type(obj).__name__} of {len(obj)} items; pass one component "
            f"(e.g. scene.one(label) or a loop over scene.find(label))"
        )
    raise TypeError(f"{fn}(): {arg} must be a component or region, got {type(obj).__name__}")


def _coord(obj: Any, index: int, fn: str, arg: str) -> float:
    """A plain number as it is, else the centre x (index 4) or y (index 5) of a box."""
    if _is_number(obj):
        return float(obj)
    return _geom(obj, fn, arg)[index]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


def _major_length(width: float, height: float, angle: float, area: float) -> float:
    """Major-axis length of a part from its box, angle and area (no mask decoding).

    Two shape models bracket real parts: an ellipse with axes L >= t at angle a has
    w^2 + h^2 = L^2 + t^2 and w^2 - h^2 = (L^2 - t^2) cos(2a); a rectangle L x t has
    w + h = (L + t)(|cos a| + |sin a|) and w - h = (L - t)(|cos a| - |sin a|). Near 45 degrees,
    where the difference equation degenerates, the area (pi/4 L t, resp. L t) replaces it.
    The mean of the two estimates is within ~12% for elongated masks (ellipse, capsule,
    rectangle; measured in tests/test_ruleapi.py).
    """
    s = width * width + height * height
    c2 = math.cos(math.radians(2.0 * angle))
    if abs(c2) >= 0.5:
        l2 = (s + (width * width - height * height) / c2) / 2.0
    else:
        p = 4.0 * area / math.pi
        l2 = (s + math.sqrt(max(s * s - 4.0 * p * p, 0.0))) / 2.0
    ellipse = math.sqrt(max(l2, 0.0))
    ac, as_ = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    total = (width + height) / (ac + as_)
    if abs(ac - as_) > 0.5:
        diff = (width - height) / (ac - as_)
    else:
        diff = math.sqrt(max(total * total - 4.0 * area, 0.0))
    rectangle = (total + diff) / 2.0
    return min((ellipse + rectangle) / 2.0, math.sqrt(s))
