"""Colour names for mean RGB colours, from hue, saturation and value.

The names are the basic ones a quality engineer writes in a rule ("the cable is red"):
``black, gray, white, red, orange, yellow, green, cyan, blue, purple, pink, brown``.
"""

from __future__ import annotations

import colorsys

COLOR_NAMES: tuple[str, ...] = (
    "black",
    "gray",
    "white",
    "red",
    "orange",
    "yellow",
    "green",
    "cyan",
    "blue",
    "purple",
    "pink",
    "brown",
)

# Hue bands in degrees (upper bound exclusive) for saturated colours.
_HUES: tuple[tuple[float, str], ...] = (
    (15.0, "red"),
    (40.0, "orange"),
    (70.0, "yellow"),
    (160.0, "green"),
    (195.0, "cyan"),
    (255.0, "blue"),
    (290.0, "purple"),
    (335.0, "pink"),
    (360.0, "red"),
)


def color_name(rgb: tuple[int, int, int] | list[int]) -> str:
    """Name the colour of an RGB triple (0-255 per channel).

    Example:
        >>> color_name((200, 30, 30))
        'red'
        >>> color_name((245, 245, 240))
        'white'

    """
    r, g, b = (max(0, min(255, int(round(c)))) / 255.0 for c in rgb)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    hue = h * 360.0
    if v < 0.2:
        return "black"
    if s < 0.18 or (s < 0.3 and v > 0.85):
        if v > 0.8:
            return "white"
        return "gray"
    if 15.0 <= hue < 45.0 and v < 0.6:
        return "brown"
    for upper, name in _HUES:
        if hue < upper:
            return name
    return "red"


def color_distance(
    a: tuple[int, int, int] | list[int], b: tuple[int, int, int] | list[int]
) -> float:
    """Euclidean distance of two RGB colours in CIELAB (about 2.3 = just noticeable)."""
    la, lb = _lab(a), _lab(b)
    return sum((x - y) ** 2 for x, y in zip(la, lb, strict=True)) ** 0.5


def _lab(rgb: tuple[int, int, int] | list[int]) -> tuple[float, float, float]:
    def lin(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(float(c)) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)
