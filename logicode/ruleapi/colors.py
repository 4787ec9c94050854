"""Colour helpers of the rule API (names from :mod:`logicode.color`, pure stdlib)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from logicode.color import COLOR_NAMES, color_name
from logicode.color import color_distance as _lab_distance
from logicode.ruleapi.geometry import _is_number
from logicode.ruleapi.objects import Component, _flatten_labels

_COLOR_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "grey": "gray",
        "silver": "gray",
        "violet": "purple",
        "magenta": "pink",
        "golden": "yellow",
        "gold": "yellow",
        "turquoise": "cyan",
    }
)


def color_is(thing: Any, *names: str) -> bool:
    """True if the colour name of a component (or rgb tuple) is one of names.

    Example:
        if not color_is(cap, "red", "orange"):
            return [violation(f"cap is {cap.color}", cap)]
    """
    have = _color_of(thing, "color_is")
    if have is None:
        return False
    return have[0] in {_canonical_color(n) for n in _flatten_labels(names)}


def same_color(a: Any, b: Any, tol: float = 20.0) -> bool:
    """True if a and b have the same colour name or colours within tol (CIELAB distance)."""
    ca, cb = _color_of(a, "same_color"), _color_of(b, "same_color")
    if ca is None or cb is None:
        return False
    if ca[0] == cb[0]:
        return True
    return ca[1] is not None and cb[1] is not None and _lab_distance(ca[1], cb[1]) <= tol


def color_distance(a: Any, b: Any) -> float:
    """Colour difference of a and b in CIELAB units (~2 just visible, >30 clearly different)."""
    ca, cb = _color_of(a, "color_distance"), _color_of(b, "color_distance")
    if ca is None or cb is None or ca[1] is None or cb[1] is None:
        return math.inf
    return _lab_distance(ca[1], cb[1])


# --- private helpers -------------------------------------------------------------------------


def _color_of(thing: Any, fn: str) -> tuple[str, tuple[int, int, int] | None] | None:
    """(name, rgb) of a component or rgb triple; None when the component has no colour."""
    if isinstance(thing, Component):
        if thing.color is None:
            return None
        return (thing.color, thing.rgb)
    if isinstance(thing, (tuple, list)) and len(thing) == 3 and all(_is_number(v) for v in thing):
        rgb = (int(thing[0]), int(thing[1]), int(thing[2]))
        return (color_name(rgb), rgb)
    if thing is None:
        raise TypeError(f"{fn}(): got None, the component is missing; check that it exists first")
    raise TypeError(
        f"{fn}(): expected a component or an (r, g, b) tuple, got {type(thing).__name__}"
    )


def _canonical_color(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"color_is(): colour names must be strings, got {type(name).__name__}")
    key = name.strip().lower()
    for prefix in ("light ", "dark ", "bright ", "pale "):
        key = key.removeprefix(prefix)
    key = _COLOR_ALIASES.get(key, key)
    if key not in COLOR_NAMES:
        raise ValueError(
            f"color_is(): unknown colour {name!r}; use one of {', '.join(COLOR_NAMES)}"
        )
    return key
