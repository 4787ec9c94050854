"""Blobs (connected regions at working resolution) and their geometry.

:class:`Blob` and what the segmenter measures and does with blobs and masks: convex
hulls, widths, overlaps, contacts, and the merging of fragments of one instance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi

from logicode.perception.features import shape_measures


@dataclass
class Blob:
    """A connected region at working resolution: its box's top-left corner and crop mask."""

    x0: int
    y0: int
    mask: np.ndarray

    @property
    def area(self) -> int:
        """Number of pixels."""
        return int(np.count_nonzero(self.mask))

    def box(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` of the crop."""
        h, w = self.mask.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h

    def slices(self) -> tuple[slice, slice]:
        """Row and column slices of the crop in the image."""
        h, w = self.mask.shape
        return slice(self.y0, self.y0 + h), slice(self.x0, self.x0 + w)

    def full(self, shape: tuple[int, int]) -> np.ndarray:
        """The mask pasted into an all-False image of ``shape``."""
        out = np.zeros(shape, bool)
        ys, xs = self.slices()
        out[ys, xs] = self.mask
        return out

    def filled(self, max_hole: float | None = None) -> Blob:
        """The blob with its holes filled (only holes of at most ``max_hole`` pixels)."""
        full = ndi.binary_fill_holes(self.mask)
        if max_hole is None:
            return Blob(self.x0, self.y0, full)
        holes, n = ndi.label(full & ~self.mask)
        if n == 0:
            return self
        sizes = np.bincount(holes.ravel(), minlength=n + 1)
        small = sizes <= max_hole
        small[0] = False
        return Blob(self.x0, self.y0, self.mask | small[holes])

    def tight(self) -> Blob:
        """The blob cropped to its pixels."""
        rows = np.flatnonzero(self.mask.any(axis=1))
        cols = np.flatnonzero(self.mask.any(axis=0))
        if rows.size == 0:
            return self
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        return Blob(self.x0 + c0, self.y0 + r0, self.mask[r0:r1, c0:c1])

    def minus(self, other: Blob) -> Blob:
        """This blob without the pixels of ``other`` (cropped to what is left)."""
        ax0, ay0, ax1, ay1 = self.box()
        bx0, by0, bx1, by1 = other.box()
        m = self.mask.copy()
        x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
        if x1 > x0 and y1 > y0:
            m[y0 - ay0 : y1 - ay0, x0 - ax0 : x1 - ax0] &= ~other.mask[
                y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0
            ]
        return Blob(self.x0, self.y0, m).tight()

    def union(self, other: Blob) -> Blob:
        """The union of two blobs."""
        ax0, ay0, ax1, ay1 = self.box()
        bx0, by0, bx1, by1 = other.box()
        x0, y0, x1, y1 = min(ax0, bx0), min(ay0, by0), max(ax1, bx1), max(ay1, by1)
        m = np.zeros((y1 - y0, x1 - x0), bool)
        m[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] |= self.mask
        m[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] |= other.mask
        return Blob(x0, y0, m)


def mask_box(blob: Blob) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of a blob's pixels in image coordinates."""
    rows = np.flatnonzero(blob.mask.any(axis=1))
    cols = np.flatnonzero(blob.mask.any(axis=0))
    if rows.size == 0:
        return blob.box()
    return (
        blob.x0 + int(cols[0]),
        blob.y0 + int(rows[0]),
        blob.x0 + int(cols[-1]) + 1,
        blob.y0 + int(rows[-1]) + 1,
    )


def merge_fragments(
    blobs: list[Blob],
    min_area: float,
    max_area: float,
    max_feret: float,
    strip: tuple[float, float] | None = None,
) -> list[Blob]:
    """Merge fragments of one instance: pieces smaller than any reference instance.

    A piece under 80% of the smallest reference area joins the nearest neighbour (box
    gap) with which the union's Feret diameter stays within 1.15 x the largest reference
    one and its area within 1.25 x the largest reference area; repeated until nothing
    changes. (A part hidden in its middle by another shows up as two such pieces.)

    For thin strips (``strip``: the references' shortest Feret diameter and largest
    minor / major axis ratio) blur widens pieces, so length stands for area: a piece
    shorter than 80% of the shortest reference is a fragment, and a union has no area
    limit but must stay as slender as one (axis ratio at most 1.25 x the references' + 0.005).
    """
    min_feret = strip[0] if strip is not None else None
    blobs = list(blobs)
    changed = True
    while changed and len(blobs) > 1:
        changed = False
        info = [(*b.box(), b.area) for b in blobs]
        for i in sorted(range(len(blobs)), key=lambda k: info[k][4]):
            a = info[i]
            short = min_feret is not None and (
                math.hypot(a[2] - a[0], a[3] - a[1]) < 0.8 * min_feret
                or shape_measures(blobs[i].mask)["feret"] < 0.8 * min_feret
            )
            if a[4] >= 0.8 * min_area and not short:
                continue
            near = []
            for j, b in enumerate(info):
                if j == i or (min_feret is None and a[4] + b[4] > 1.25 * max_area):
                    continue
                x0, y0 = min(a[0], b[0]), min(a[1], b[1])
                x1, y1 = max(a[2], b[2]), max(a[3], b[3])
                if math.hypot(x1 - x0, y1 - y0) > 1.15 * math.sqrt(2.0) * max_feret:
                    continue
                gx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
                gy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
                near.append((math.hypot(gx, gy), j))
            for _, j in sorted(near):
                union = blobs[j].union(blobs[i])
                sm = shape_measures(union.mask)
                if strip is not None and sm["aspect"] > 1.25 * strip[1] + 0.005:
                    continue
                if sm["feret"] <= 1.15 * max_feret:
                    blobs[j] = union
                    del blobs[i]
                    changed = True
                    break
            if changed:
                break
    return blobs


def convex_hull(blob: Blob) -> Blob:
    """The blob's convex hull (same crop box; the hull never leaves it)."""
    pts = cv2.findNonZero(blob.mask.astype(np.uint8))
    if pts is None or len(pts) < 3:
        return blob
    hull = np.zeros(blob.mask.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(pts), 1)
    return Blob(blob.x0, blob.y0, hull.astype(bool) | blob.mask)


def filled_solidity(mask: np.ndarray) -> float:
    """Solidity of a mask with its holes filled."""
    sm = shape_measures(mask)
    return sm["solidity"] / max(sm["fill"], 1e-6)


def mean_width(mask: np.ndarray) -> float:
    """Width of a strip-like mask: the smaller of its minor axis and area / Feret diameter."""
    sm = shape_measures(mask)
    return min(sm["minor_len"], sm["area"] / max(sm["feret"], 1.0))


def shared_pixels(a: Blob, b: Blob) -> int:
    """Number of pixels two blobs share."""
    ax0, ay0, ax1, ay1 = a.box()
    bx0, by0, bx1, by1 = b.box()
    x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
    if x1 <= x0 or y1 <= y0:
        return 0
    ma = a.mask[y0 - ay0 : y1 - ay0, x0 - ax0 : x1 - ax0]
    mb = b.mask[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]
    return int(np.count_nonzero(ma & mb))


def box_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    """Pixels two ``(x0, y0, x1, y1)`` boxes share."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def _box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """IoU of two ``(x0, y0, x1, y1)`` boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def blobs_touch(a: Blob, b: Blob, gap: int = 2) -> bool:
    """True when two blobs overlap or lie within ``gap`` pixels of each other."""
    ax0, ay0, ax1, ay1 = a.box()
    bx0, by0, bx1, by1 = b.box()
    if ax0 > bx1 + gap or bx0 > ax1 + gap or ay0 > by1 + gap or by0 > ay1 + gap:
        return False
    x0, y0 = min(ax0, bx0) - gap, min(ay0, by0) - gap
    x1, y1 = max(ax1, bx1) + gap, max(ay1, by1) + gap
    ma = np.zeros((y1 - y0, x1 - x0), np.uint8)
    mb = np.zeros_like(ma)
    ma[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = a.mask
    mb[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = b.mask
    ma = cv2.dilate(ma, np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    return bool(np.any(ma & mb))


def crop_to_mask(mask: np.ndarray) -> np.ndarray:
    """The mask cut to the rows and columns that hold any of its pixels."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
