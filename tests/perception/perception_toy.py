"""A toy product drawn in the tests: a tray holding dots, bars and at most one tag.

Dots are discs whose colour is the ``tone`` attribute (red: warm, green: cool); bars and the
tag share one blue colour and differ only in shape (a bar is long and thin, its ``length``
is an attribute in pixels; the tag is square). Nothing here is known to the perception code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from logicode.measure import component_from_mask
from logicode.scene import ImageInfo, Scene
from logicode.spec import CategorySpec, spec_from_dict

H, W = 160, 220
TRAY = (20, 20, 200, 140)
TONES = {"warm": (205, 45, 40), "cool": (45, 175, 70)}
BLUE = (40, 70, 200)

SPEC: dict[str, Any] = {
    "schema_version": 1,
    "category": "toy_tray",
    "description": "A grey tray with coloured dots, blue bars and a blue tag.",
    "components": [
        {"label": "tray", "description": "The tray."},
        {
            "label": "dot",
            "description": "A round dot.",
            "attributes": [{"name": "tone", "type": "enum", "values": ["warm", "cool", "unknown"]}],
        },
        {
            "label": "bar",
            "description": "A long thin bar.",
            "attributes": [{"name": "length", "type": "number", "unit": "px"}],
        },
        {"label": "tag", "description": "A small square tag."},
    ],
    "defects": [{"name": "missing_tag", "anomaly_type": "quantity"}],
    "rules": [{"id": "one_tag", "text": "There is exactly one tag.", "guards": ["missing_tag"]}],
}


def spec() -> CategorySpec:
    """The toy product's category spec."""
    return spec_from_dict(SPEC, source="toy")


@dataclass
class Toy:
    """What to draw."""

    dots: list[tuple[int, int, str]] = field(default_factory=list)  # cx, cy, tone
    bars: list[tuple[int, int, int]] = field(default_factory=list)  # x, y, length
    tag: tuple[int, int] | None = None  # x, y
    tone_rgb: dict[str, tuple[int, int, int]] = field(default_factory=lambda: dict(TONES))


def draw(toy: Toy, seed: int = 0) -> tuple[np.ndarray, Scene]:
    """Render a toy image and its ground-truth scene."""
    rng = np.random.default_rng(seed)
    img = np.full((H, W, 3), 18, np.float32)
    parts: list[tuple[str, np.ndarray, dict[str, Any]]] = []
    tray = np.zeros((H, W), np.uint8)
    cv2.rectangle(tray, TRAY[:2], (TRAY[2] - 1, TRAY[3] - 1), 1, -1)
    img[tray > 0] = (140, 140, 135)
    parts.append(("tray", tray > 0, {}))
    for cx, cy, tone in toy.dots:
        m = np.zeros((H, W), np.uint8)
        cv2.circle(m, (cx, cy), 8, 1, -1)
        img[m > 0] = toy.tone_rgb.get(tone, (230, 230, 40))
        parts.append(("dot", m > 0, {"tone": tone}))
    for x, y, length in toy.bars:
        m = np.zeros((H, W), np.uint8)
        cv2.rectangle(m, (x, y), (x + length - 1, y + 7), 1, -1)
        img[m > 0] = BLUE
        parts.append(("bar", m > 0, {"length": float(length)}))
    if toy.tag is not None:
        m = np.zeros((H, W), np.uint8)
        x, y = toy.tag
        cv2.rectangle(m, (x, y), (x + 15, y + 15), 1, -1)
        img[m > 0] = BLUE
        parts.append(("tag", m > 0, {}))
    img += rng.normal(0, 3.0, img.shape)
    image = np.clip(img, 0, 255).astype(np.uint8)
    comps = [
        component_from_mask(f"c{i}", lab, m, image, attributes=a)
        for i, (lab, m, a) in enumerate(parts)
    ]
    scene = Scene(
        image=ImageInfo(path="toy.png", width=W, height=H),
        category="toy_tray",
        components=comps,
    )
    return image, scene


REFERENCE_TOYS: list[Toy] = [
    Toy(dots=[(50, 50, "warm"), (150, 105, "cool")], bars=[(60, 110, 40)], tag=(160, 40)),
    Toy(dots=[(120, 60, "cool")], bars=[(40, 40, 30), (90, 110, 50)], tag=(40, 100)),
    Toy(dots=[(60, 60, "warm"), (100, 100, "warm"), (160, 60, "cool")], bars=[(110, 35, 45)]),
]

TEST_TOYS: list[Toy] = [
    Toy(dots=[(45, 45, "cool"), (170, 115, "warm")], bars=[(80, 70, 36)], tag=(150, 40)),
    Toy(dots=[], bars=[(50, 110, 48), (120, 40, 32)], tag=(60, 50)),
    Toy(dots=[(60, 50, "warm"), (100, 50, "cool"), (140, 50, "warm"), (80, 110, "cool")]),
]
