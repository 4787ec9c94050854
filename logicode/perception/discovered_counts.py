"""Bring the components of one label to the count a person gives (``count: N`` in ``labels:``).

Touching regions of one label make one component, which joins parts of one colour that
touch (walls meeting walls, a nut on a screw); stray fragments of a part make extra ones.
When the user says a normal product holds ``N`` of a label, :func:`fit_count` turns the
pieces of one reference image into ``N``: too few, and the label's own regions become the
pieces (fragments joined to a touching piece or dropped, the touching ones then merged,
smallest first, into the neighbour they share most border with, down to ``N``), and if
they are still too few the largest piece, when it is about twice the others or more, is
cut by a watershed on its distance transform; too many, and the smallest piece joins the
nearest other piece until ``N`` remain. Nothing here knows any product.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from logicode.perception.splits import split_blob
from logicode.scene import Scene

_EIGHT = np.ones((3, 3), bool)


def _area(m: np.ndarray) -> int:
    return int(np.count_nonzero(m))


def _merge_smallest_touching(pieces: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Merge the smallest piece that touches another into the one sharing most border."""
    pieces = list(pieces)
    while len(pieces) > n:
        order = sorted(range(len(pieces)), key=lambda i: _area(pieces[i]))
        merged = False
        for i in order:
            ring = ndi.binary_dilation(pieces[i], _EIGHT) & ~pieces[i]
            shared = [(_area(ring & p), j) for j, p in enumerate(pieces) if j != i]
            best, j = max(shared)
            if best > 0:
                pieces[j] = pieces[j] | pieces[i]
                del pieces[i]
                merged = True
                break
        if not merged:
            break
    return pieces


def _merge_nearest(pieces: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Join the smallest piece to the nearest other piece until ``n`` remain."""
    pieces = list(pieces)
    while len(pieces) > max(n, 1):
        i = min(range(len(pieces)), key=lambda k: _area(pieces[k]))
        dist = ndi.distance_transform_edt(~pieces[i])
        j = min((k for k in range(len(pieces)) if k != i), key=lambda k: dist[pieces[k]].min())
        pieces[j] = pieces[j] | pieces[i]
        del pieces[i]
    return pieces


def _cut_largest(pieces: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Cut the largest pieces by a distance-transform watershed until ``n`` (or no progress)."""
    pieces = list(pieces)
    while len(pieces) < n:
        i = max(range(len(pieces)), key=lambda k: _area(pieces[k]))
        big = pieces[i]
        rest = [p for k, p in enumerate(pieces) if k != i]
        typical = float(np.median([_area(p) for p in rest])) if rest else _area(big) / n
        k = min(n - len(rest), int(round(_area(big) / max(typical, 1.0))))
        if k < 2:
            break  # the largest is one instance: the regions allow no more
        parts = split_blob(big, k, size=2.0 * np.sqrt(max(typical, 1.0) / np.pi))
        if len(parts) < 2:
            break
        pieces = rest + parts
    return pieces


SPECK = 0.25
"""A piece under this share of the median piece is a fragment, not an instance."""


def _absorb_specks(pieces: list[np.ndarray]) -> list[np.ndarray]:
    """Pieces without fragments (under :data:`SPECK` x the median area).

    A fragment joins the touching piece sharing most border, or is dropped.
    """
    if len(pieces) < 3:
        return pieces
    floor = SPECK * float(np.median([_area(p) for p in pieces]))
    big = [p for p in pieces if _area(p) >= floor]
    for p in pieces:
        if _area(p) >= floor or not big:
            continue
        ring = ndi.binary_dilation(p, _EIGHT) & ~p
        best, j = max((_area(ring & q), k) for k, q in enumerate(big))
        if best > 0:
            big[j] = big[j] | p
    return big


def fit_count(pieces: list[np.ndarray], regions: list[np.ndarray], n: int) -> list[np.ndarray]:
    """The components of one label in one image, brought to ``n`` where possible.

    Args:
        pieces: The components as built from the label's regions (``HW bool`` each).
        regions: The label's regions in this image (``HW bool`` each, disjoint).
        n: How many a normal product holds.

    Returns:
        ``n`` masks where the regions allow it (otherwise as close as they allow).
    """
    if n <= 0 or not pieces or len(pieces) == n:
        return pieces
    if len(pieces) > n:
        return _merge_nearest(pieces, n)
    covered = np.any(pieces, axis=0)
    own = _absorb_specks([r & covered for r in regions if (r & covered).any()])
    if len(own) > n:
        own = _merge_smallest_touching(own, n)
    if len(own) > n:
        own = _merge_nearest(own, n)
    best = own if len(own) > len(pieces) else pieces
    # what the pieces hold beyond the label's regions (included parts) joins its nearest
    extra = covered & ~np.any(best, axis=0)
    if extra.any():
        labels = np.zeros(covered.shape, np.int32)
        for k, p in enumerate(best, start=1):
            labels[p] = k
        _, (iy, ix) = ndi.distance_transform_edt(labels == 0, return_indices=True)
        nearest = labels[iy, ix]
        best = [p | (extra & (nearest == k)) for k, p in enumerate(best, start=1)]
    return _cut_largest(best, n) if len(best) < n else best


def fixed_counts(scenes: list[Scene], vocabulary: list[str]) -> dict[str, int]:
    """Label -> its count when it is the same (and not 0) in every scene (``count:``)."""
    out = {}
    for lab in vocabulary:
        seen = {s.counts().get(lab, 0) for s in scenes}
        if len(seen) == 1 and min(seen) > 0:
            out[lab] = seen.pop()
    return out
