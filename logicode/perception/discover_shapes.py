"""Splitting colour regions by width: thin strips apart from thick bodies.

A colour region of :mod:`logicode.perception.discover_regions` can hold several parts of
one colour: thin walls joined to the frame they stand in (a grid of separators, a divider
across a tray), or a thin shaft touching a thick body (a screw touching a nut). Both are
told apart by *width*, with nothing known of the product: :func:`split_by_width` opens
each region with a disk (what survives is its thick body, possibly in several pieces) and
keeps what the opening removed as separate regions when it is a long strip (not a corner
or a ragged edge); a strip network (walls meeting walls) is cut at its skeleton's
junctions into one region per branch (:func:`split_at_junctions`).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage as ndi

_EIGHT = np.ones((3, 3), bool)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def split_at_junctions(mask: np.ndarray, min_branch: int) -> np.ndarray:
    """Label map (0: outside, 1..n) of a strip network cut at its skeleton's junctions.

    Args:
        mask: ``HW bool`` strips.
        min_branch: Skeleton branches shorter than this (pixels) are spurs and do not
            make a piece of their own.

    Returns:
        ``HW int32``: every pixel of ``mask`` takes the label of its nearest branch.
    """
    from skimage.morphology import skeletonize

    skel = skeletonize(mask)
    neigh = ndi.convolve(skel.astype(np.uint8), _EIGHT.astype(np.uint8), mode="constant") - 1
    junction = skel & (neigh >= 3)
    branches, n = ndi.label(skel & ~ndi.binary_dilation(junction, _EIGHT), structure=_EIGHT)
    if n == 0:
        return mask.astype(np.int32)
    sizes = np.bincount(branches.ravel(), minlength=n + 1)
    keep = sizes >= min_branch
    keep[0] = False
    if not keep.any():
        return mask.astype(np.int32)
    relabel = np.zeros(n + 1, np.int32)
    relabel[keep] = np.arange(1, int(keep.sum()) + 1)
    seeds = relabel[branches]
    _, (iy, ix) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    return np.where(mask, seeds[iy, ix], 0).astype(np.int32)


def _strips(thin: np.ndarray, radius: int) -> np.ndarray:
    """Pieces of ``thin`` that are long strips (the rest: corners and ragged edges -> 0)."""
    lab, n = ndi.label(thin, structure=_EIGHT)
    if n == 0:
        return thin
    keep = np.zeros(n + 1, bool)
    for k, sl in enumerate(ndi.find_objects(lab), start=1):
        if sl is None:
            continue
        m = lab[sl] == k
        length = max(m.shape)
        area = int(np.count_nonzero(m))
        # long (several widths of the disk) and solid (not a one-pixel fringe)
        keep[k] = length >= 4 * (2 * radius + 1) and area >= 1.5 * length
    return keep[lab]


def split_region(mask: np.ndarray, radius: int, min_px: int) -> tuple[np.ndarray, int]:
    """Label map (0: outside, 1..n) of one region split into thick bodies and thin strips.

    Args:
        mask: ``HW bool`` region.
        radius: Disk radius (pixels) of the opening: strips narrower than ``2*radius+1``
            are thin.
        min_px: Pieces smaller than this are not pieces of their own.

    Returns:
        ``HW int32`` pieces and how many of them are bodies (pieces ``1..bodies``; the
        strips follow); a region without long strips is returned as one body.
    """
    m8 = mask.astype(np.uint8)
    body = cv2.morphologyEx(m8, cv2.MORPH_OPEN, _disk(radius)).astype(bool)
    strips = _strips(mask & ~body, radius)
    if not strips.any():
        return m8.astype(np.int32), 1
    out = np.zeros(mask.shape, np.int32)
    n = 0
    blab, nb = ndi.label(body, structure=_EIGHT)
    for k in range(1, nb + 1):
        piece = blab == k
        if np.count_nonzero(piece) >= min_px:
            n += 1
            out[piece] = n
    bodies = n
    slab = split_at_junctions(strips, min_branch=2 * radius + 1)
    for k in range(1, int(slab.max()) + 1):
        piece = slab == k
        if np.count_nonzero(piece) >= min_px:
            n += 1
            out[piece] = n
    if n <= 1:
        return m8.astype(np.int32), 1
    rest = mask & (out == 0)  # corners, fringes, tiny pieces: the nearest piece
    if rest.any():
        _, (iy, ix) = ndi.distance_transform_edt(out == 0, return_indices=True)
        out[rest] = out[iy[rest], ix[rest]]
    return out, bodies


def split_by_width(
    region_map: np.ndarray, radius: int, min_px: int, skip: np.ndarray | None = None
) -> tuple[np.ndarray, set[int]]:
    """Split every region of a region map into thick bodies and thin strips.

    Args:
        region_map: ``HW int32`` regions 0..n-1.
        radius: Disk radius of :func:`split_region` (0: no split).
        min_px: Smallest piece (pixels).
        skip: Region indices left whole (the backdrop).

    Returns:
        A region map 0..m-1 (``m >= n``; a region's pieces are new regions) and the
        indices of the regions that are strips.
    """
    strips: set[int] = set()
    if radius <= 0:
        return region_map, strips
    out = region_map.copy()
    nxt = int(region_map.max()) + 1
    skipped = set() if skip is None else {int(s) for s in skip}
    for r, sl in enumerate(ndi.find_objects(region_map + 1)):
        if sl is None or r in skipped:
            continue
        pad = (
            slice(max(sl[0].start - 1, 0), sl[0].stop + 1),
            slice(max(sl[1].start - 1, 0), sl[1].stop + 1),
        )
        m = region_map[pad] == r
        if min(m.shape) < 2 * radius + 1 and np.count_nonzero(m) < 4 * min_px:
            continue
        parts, bodies = split_region(m, radius, min_px)
        k = int(parts.max())
        if k <= 1:
            continue
        crop = out[pad]
        if bodies == 0:
            strips.add(r)
        for j in range(2, k + 1):
            crop[parts == j] = nxt
            if j > bodies:
                strips.add(nxt)
            nxt += 1
    return out, strips
