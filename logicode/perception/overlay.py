"""Draw a scene over its image: masks tinted, outlines, boxes and labels (a PNG to look at).

Colours follow the label's position in the vocabulary (a fixed palette), so the same label
has the same colour in every overlay of a category.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from logicode import mask as rle
from logicode.scene import Component, Scene

PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (170, 110, 40),
    (255, 225, 25),
)
"""RGB colours by vocabulary index (cycled)."""


def _text(c: Component, keys: int = 3) -> str:
    parts = [c.label]
    for k, v in list(c.attributes.items())[:keys]:
        parts.append(f"{k}={v}")
    return " ".join(parts)


def draw_overlay(
    image: np.ndarray,
    scene: Scene,
    vocabulary: Sequence[str] | None = None,
    *,
    alpha: float = 0.35,
    max_side: int | None = None,
) -> np.ndarray:
    """An ``HWC uint8`` RGB picture of ``scene`` drawn over ``image``.

    Args:
        image: The scene's image.
        scene: The components to draw.
        vocabulary: Label order for colours (default: order of first appearance).
        alpha: Opacity of the mask tint.
        max_side: Downscale the result so its longer side is at most this (None: keep).
    """
    vocab = list(vocabulary) if vocabulary is not None else []
    for c in scene.components:
        if c.label not in vocab:
            vocab.append(c.label)
    out = image.astype(np.float32).copy()
    h, w = image.shape[:2]
    thick = max(1, int(round(max(h, w) / 600)))
    masks = []
    for c in scene.components:
        colour = np.array(PALETTE[vocab.index(c.label) % len(PALETTE)], np.float32)
        if c.mask is not None:
            m = rle.decode(c.mask.model_dump())
            out[m] = (1 - alpha) * out[m] + alpha * colour
            masks.append(m)
        else:
            masks.append(None)
    canvas = np.clip(out, 0, 255).astype(np.uint8)
    font_scale = max(0.4, max(h, w) / 1600)
    for c, m in zip(scene.components, masks, strict=True):
        colour = tuple(int(v) for v in PALETTE[vocab.index(c.label) % len(PALETTE)])
        if m is not None:
            contours, _ = cv2.findContours(
                m.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE
            )
            cv2.drawContours(canvas, contours, -1, colour, thick)
        x0, y0, x1, y1 = (int(round(v)) for v in c.bbox)
        cv2.rectangle(canvas, (x0, y0), (max(x1 - 1, x0), max(y1 - 1, y0)), colour, 1)
        text = _text(c)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thick)
        ty = y0 - 4 if y0 - th - 4 > 0 else min(y0 + th + 4, h - 2)
        tx = min(max(x0, 0), max(w - tw - 2, 0))
        cv2.rectangle(canvas, (tx, ty - th - 2), (tx + tw + 2, ty + base), (0, 0, 0), -1)
        cv2.putText(canvas, text, (tx + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, thick)
    if max_side is not None and max(h, w) > max_side:
        f = max_side / float(max(h, w))
        canvas = cv2.resize(
            canvas, (int(round(w * f)), int(round(h * f))), interpolation=cv2.INTER_AREA
        )
    return canvas


def save_overlay(
    image: np.ndarray,
    scene: Scene,
    path: str | Path,
    vocabulary: Sequence[str] | None = None,
    *,
    max_side: int | None = None,
) -> None:
    """Draw the overlay and write it as PNG to ``path`` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pic = draw_overlay(image, scene, vocabulary, max_side=max_side)
    tmp = path.with_name(path.name + ".tmp.png")
    if not cv2.imwrite(str(tmp), cv2.cvtColor(pic, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")
    tmp.replace(path)
