"""Measure a component from its mask: box, area, centroid, orientation, mean colour.

Orientation is the major-axis angle of elongated shapes and the rectangle angle of compact
ones (see :func:`orientation_deg`).

Shared by every producer of scenes (synthetic ground truth, importers, perception), so a
component's geometry means the same thing whoever wrote it.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from logicode import mask as rle
from logicode.color import color_name
from logicode.scene import Color, Component, Rle


def _angle(mu20: float, mu02: float, mu11: float) -> float:
    theta = round(0.5 * math.degrees(math.atan2(2 * mu11, mu20 - mu02)), 3)
    # Fold into [-90, 90) after rounding, so that 89.9996 cannot become 90.0.
    return round(((theta + 90.0) % 180.0) - 90.0, 3)


COMPACT_RATIO = 1.5
"""Below this ratio of principal axes a shape has no clear major axis (squares, discs)."""


def _axis_ratio(mu20: float, mu02: float, mu11: float) -> float:
    half_sum = 0.5 * (mu20 + mu02)
    root = math.sqrt(max(0.25 * (mu20 - mu02) ** 2 + mu11**2, 0.0))
    small = half_sum - root
    return math.inf if small <= 0 else math.sqrt((half_sum + root) / small)


def _rect_angle(mask_u8: np.ndarray) -> float:
    """Angle of the minimum-area rectangle's edge nearest horizontal, in ``[-45, 45)``."""
    contours, _ = cv2.findContours(mask_u8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return 0.0
    angle = float(cv2.minAreaRect(max(contours, key=cv2.contourArea))[2]) % 90.0
    if angle >= 45.0:
        angle -= 90.0
    return round(angle, 3) + 0.0


def _orientation(m: dict[str, float], mask_u8: np.ndarray) -> float:
    if m["m00"] < 2:
        return 0.0
    if _axis_ratio(m["mu20"], m["mu02"], m["mu11"]) < COMPACT_RATIO:
        return _rect_angle(mask_u8)
    return _angle(m["mu20"], m["mu02"], m["mu11"])


def orientation_deg(mask: np.ndarray) -> float:
    """Orientation of a mask in degrees, in ``[-90, 90)`` (0 = horizontal, +y down).

    For an elongated shape (principal axes ratio >= :data:`COMPACT_RATIO`) it is the angle of
    the major axis. A compact shape (a square label, a disc) has no stable major axis, so its
    orientation is the angle of its minimum-area rectangle's edge nearest horizontal, in
    ``[-45, 45)``: a square rotated by 5 degrees reads 5, not an arbitrary diagonal.
    """
    mask_u8 = np.ascontiguousarray(mask, dtype=np.uint8)
    return _orientation(cv2.moments(mask_u8, binaryImage=True), mask_u8)


def component_from_mask(
    id: str,
    label: str,
    mask: np.ndarray,
    image: np.ndarray | None = None,
    *,
    score: float = 1.0,
    attributes: dict[str, Any] | None = None,
    keep_mask: bool = True,
) -> Component:
    """Build a :class:`Component` with every measurement taken from ``mask``.

    Args:
        id: Component id, unique in its scene.
        label: Vocabulary name.
        mask: ``HW bool`` array, True on the component (must not be empty).
        image: Optional ``HWC uint8`` RGB image for the mean colour.
        score: Confidence in ``[0, 1]``.
        attributes: Extra per-label attributes.
        keep_mask: Store the RLE mask in the component.

    Raises:
        ValueError: If the mask is empty or its shape differs from the image's.

    """
    mask = np.asarray(mask, dtype=bool)
    if image is not None and image.shape[:2] != mask.shape:
        raise ValueError(f"mask shape {mask.shape} differs from image shape {image.shape[:2]}")
    x0, y0, bw, bh = cv2.boundingRect(mask.view(np.uint8))
    if bw == 0 or bh == 0:
        raise ValueError(f"component {id!r} ({label}) has an empty mask")
    x1, y1 = x0 + bw, y0 + bh
    crop = mask[y0:y1, x0:x1]
    crop_u8 = np.ascontiguousarray(crop.view(np.uint8))
    m = cv2.moments(crop_u8, binaryImage=True)
    area = m["m00"]
    cx, cy = m["m10"] / area, m["m01"] / area
    orientation = _orientation(m, crop_u8)
    color = None
    if image is not None:
        patch = np.ascontiguousarray(image[y0:y1, x0:x1])
        mean = cv2.mean(patch, mask=crop_u8)[: patch.shape[2] if patch.ndim == 3 else 1]
        rgb = tuple(int(round(float(v))) for v in (mean if len(mean) == 3 else mean * 3))
        color = Color(rgb=rgb, name=color_name(rgb))
    h, w = mask.shape
    return Component(
        id=id,
        label=label,
        score=float(score),
        bbox=(float(x0), float(y0), float(x1), float(y1)),
        mask=Rle(**rle.encode_crop(crop, x0, y0, h, w)) if keep_mask else None,
        area=float(area),
        centroid=(round(cx + x0 + 0.5, 3), round(cy + y0 + 0.5, 3)),
        orientation=orientation,
        color=color,
        attributes=dict(attributes or {}),
    )
