"""Masks and images between the working resolution and full resolution."""

from __future__ import annotations

import math

import cv2
import numpy as np


def resize_image(image: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """``image`` resized to ``size`` (width, height): area-averaged, or nearest neighbour."""
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(image, size, interpolation=interp)


def upsample_mask(small: np.ndarray, full_shape: tuple[int, int]) -> np.ndarray:
    """Upsample a working-resolution ``HW bool`` mask to ``full_shape`` with smooth edges.

    Pixel centres are aligned exactly; only the mask's box (plus a margin) is resampled.
    """
    return upsample_with_box(small, full_shape)[0]


def upsample_with_box(
    small: np.ndarray, full_shape: tuple[int, int]
) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """:func:`upsample_mask` plus the ``(x0, y0, x1, y1)`` box of the result (None if empty)."""
    fh, fw = full_shape
    sh, sw = small.shape
    fx, fy = fw / sw, fh / sh
    out = np.zeros(full_shape, bool)
    rows = np.flatnonzero(small.any(axis=1))
    if rows.size == 0:
        return out, None
    cols = np.flatnonzero(small.any(axis=0))
    x0, x1 = max(int(cols[0]) - 2, 0), min(int(cols[-1]) + 3, sw)
    y0, y1 = max(int(rows[0]) - 2, 0), min(int(rows[-1]) + 3, sh)
    X0, X1 = int(math.floor(x0 * fx)), min(int(math.ceil(x1 * fx)), fw)
    Y0, Y1 = int(math.floor(y0 * fy)), min(int(math.ceil(y1 * fy)), fh)
    crop = small[y0:y1, x0:x1].astype(np.float32)
    m = np.array(
        [
            [1.0 / fx, 0.0, (X0 + 0.5) / fx - 0.5 - x0],
            [0.0, 1.0 / fy, (Y0 + 0.5) / fy - 0.5 - y0],
        ],
        np.float64,
    )
    up = cv2.warpAffine(
        crop,
        m,
        (X1 - X0, Y1 - Y0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    crop_out = up >= 0.5
    out[Y0:Y1, X0:X1] = crop_out
    r = np.flatnonzero(crop_out.any(axis=1))
    if r.size == 0:  # a one-pixel region can vanish at the 0.5 threshold
        cy = min(int((rows[0] + 0.5) * fy), fh - 1)
        cx = min(int((cols[0] + 0.5) * fx), fw - 1)
        out[cy, cx] = True
        return out, (cx, cy, cx + 1, cy + 1)
    c = np.flatnonzero(crop_out.any(axis=0))
    return out, (X0 + int(c[0]), Y0 + int(r[0]), X0 + int(c[-1]) + 1, Y0 + int(r[-1]) + 1)
