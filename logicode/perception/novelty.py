"""Colour novelty: the distance of a colour to the nearest colour the references show.

Read from a lookup table over CIE Lab (:func:`distance_lut`) for speed.
"""

from __future__ import annotations

import numpy as np

from logicode.perception.threads import single_blas_thread

LUT_STEP = 2.0
"""Bin size (Lab units) of the colour-novelty lookup table."""


_LUT_MIN = np.array([0.0, -128.0, -128.0], np.float32)


_LUT_SHAPE = (51, 129, 129)


def distance_lut(centres: np.ndarray) -> np.ndarray:
    """Distance to the nearest centre at every Lab bin centre (a lookup table)."""
    axes = [_LUT_MIN[i] + LUT_STEP * np.arange(_LUT_SHAPE[i], dtype=np.float32) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return nearest_distance(grid, centres).reshape(_LUT_SHAPE)


def lookup_distance(points: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Distance to the nearest colour centre, read from :func:`distance_lut`'s table."""
    idx = np.rint((points - _LUT_MIN) / LUT_STEP).astype(np.int32)
    for i, n in enumerate(_LUT_SHAPE):
        np.clip(idx[:, i], 0, n - 1, out=idx[:, i])
    return lut[idx[:, 0], idx[:, 1], idx[:, 2]]


def nearest_distance(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Euclidean distance of each point (``N x 3``) to its nearest centre (``M x 3``)."""
    if len(centres) == 0:
        return np.full(len(points), np.inf, np.float32)
    p2 = np.einsum("ij,ij->i", points, points)[:, None]
    c2 = np.einsum("ij,ij->i", centres, centres)[None, :]
    out = np.empty(len(points), np.float32)
    step = 1 << 16
    with single_blas_thread():
        for s in range(0, len(points), step):
            d2 = p2[s : s + step] + c2 - 2.0 * points[s : s + step] @ centres.T
            out[s : s + step] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out
