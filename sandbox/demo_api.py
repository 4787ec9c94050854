"""A tiny trusted scene API for testing and benchmarking the sandbox on its own.

The product uses ``logicode.ruleapi``; this module mirrors a small part of it (``scene.find``,
``scene.count``, ``scene.one``, component ``x``/``y``/``color``, :func:`violation`,
:func:`above`, :func:`left_of`) so the same simple rules run against both. Like any API given
to the sandbox it is pure: objects are read-only and built fresh by :func:`wrap_scene`.
``COLORS`` and ``TOLERANCE`` are deliberately plain mutable data: the sandbox must freeze them
so that no rule can change what the next rule sees.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "violation",
    "find",
    "count",
    "above",
    "left_of",
    "distance",
    "same_color",
    "COLORS",
    "TOLERANCE",
]

COLORS = ["black", "gray", "white", "red", "orange", "yellow", "green", "blue", "purple"]
TOLERANCE = {"px": 5.0}


class _ReadOnly:
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} objects are read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} objects are read-only")


class Part(_ReadOnly):
    """One component: id, label, centre x/y, width, height, area and colour name."""

    __slots__ = ("id", "label", "x", "y", "width", "height", "area", "color")

    def __init__(self, data: Mapping[str, Any]) -> None:
        x0, y0, x1, y1 = (float(v) for v in data["bbox"])
        cx, cy = data.get("centroid") or ((x0 + x1) / 2, (y0 + y1) / 2)
        color = data.get("color") or {}
        values = {
            "id": str(data["id"]),
            "label": str(data["label"]),
            "x": float(cx),
            "y": float(cy),
            "width": x1 - x0,
            "height": y1 - y0,
            "area": float(data.get("area", (x1 - x0) * (y1 - y0))),
            "color": color.get("name") if isinstance(color, Mapping) else None,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"Part({self.id!r}, {self.label!r})"


class DemoScene(_ReadOnly):
    """The scene: width, height, category and a tuple of parts sorted top-down."""

    __slots__ = ("width", "height", "category", "components")

    def __init__(self, data: Mapping[str, Any]) -> None:
        image = data.get("image") or {}
        parts = sorted((Part(c) for c in data.get("components") or ()), key=lambda p: (p.y, p.x))
        object.__setattr__(self, "width", float(image.get("width", 0)))
        object.__setattr__(self, "height", float(image.get("height", 0)))
        object.__setattr__(self, "category", str(data.get("category", "")))
        object.__setattr__(self, "components", tuple(parts))

    def find(self, *labels: str) -> list[Part]:
        """Parts with any of these labels (all parts if none)."""
        return [p for p in self.components if not labels or p.label in labels]

    def count(self, *labels: str) -> int:
        """Number of parts with any of these labels."""
        return len(self.find(*labels))

    def one(self, *labels: str) -> Part | None:
        """The largest part with these labels, or None."""
        parts = self.find(*labels)
        return max(parts, key=lambda p: p.area) if parts else None


def wrap_scene(data: Mapping[str, Any]) -> DemoScene:
    """Build the read-only scene object passed to ``check(scene)``."""
    if not isinstance(data, Mapping):
        raise TypeError(f"a scene must be a mapping, got {type(data).__name__}")
    return DemoScene(data)


def violation(message: str, *parts: Any) -> dict[str, Any]:
    """A rule failure with the parts (or part ids) that show it."""
    ids = [p.id if isinstance(p, Part) else str(p) for p in parts if p is not None]
    return {"message": str(message), "evidence": ids}


def find(scene: DemoScene, label: str) -> list[Part]:
    """Same as ``scene.find(label)``."""
    return scene.find(label)


def count(scene: DemoScene, label: str) -> int:
    """Same as ``scene.count(label)``."""
    return scene.count(label)


def above(a: Part, b: Part) -> bool:
    """True if a's centre is higher in the image than b's."""
    return a.y < b.y


def left_of(a: Part, b: Part) -> bool:
    """True if a's centre is left of b's."""
    return a.x < b.x


def distance(a: Part, b: Part) -> float:
    """Distance between the centres of a and b in pixels."""
    return math.hypot(a.x - b.x, a.y - b.y)


def same_color(a: Part, b: Part) -> bool:
    """True if a and b have the same colour name."""
    return a.color is not None and a.color == b.color
