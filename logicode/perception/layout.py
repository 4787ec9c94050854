"""Fixed layouts: labels whose instances sit at the same places in every reference.

The walls of a grid are found from the references' positions; parts that lie anywhere
(screws in a bag) have none.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from logicode.perception.base import Reference

LAYOUT_SAME = 0.25
"""A label whose instances in every reference lie within this times the layout's spacing
of one in every other reference has a fixed layout (see :func:`fixed_layout`)."""


LAYOUT_FAR = 0.4
"""A region of a fixed-layout label farther than this times the spacing from every
reference position is no instance of it (see ``ClassicalSegmenter._off_layout``)."""


def _relative_centroids(masks: Sequence[np.ndarray], frame: np.ndarray) -> np.ndarray:
    """Centroids of ``masks`` as fractions of the box of ``frame`` (``n x 2``: x, y)."""
    ys, xs = np.nonzero(frame)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    out = []
    for m in masks:
        my, mx = np.nonzero(m)
        out.append(
            ((mx.mean() + 0.5 - x0) / max(x1 - x0, 1), (my.mean() + 0.5 - y0) / max(y1 - y0, 1))
        )
    return np.array(out, np.float64).reshape(-1, 2)


def fixed_layout(
    refs: Sequence[Reference], labels: Sequence[str], parent: dict[str, str | None]
) -> dict[str, tuple[np.ndarray, float]]:
    """Labels whose instances sit at the same places in every reference (walls of a grid).

    Positions are centroids relative to the box of the parent's one instance (every
    reference shows exactly one parent and at least two of the label). The layout's
    spacing is the median distance from an instance to its nearest neighbour in the same
    reference; the layout is fixed when every instance of every reference has one in
    every other reference within :data:`LAYOUT_SAME` x that spacing. Parts that lie
    anywhere (screws in a bag) have no fixed layout.

    Returns:
        ``label -> (all reference positions, spacing)`` for the fixed labels.
    """
    out: dict[str, tuple[np.ndarray, float]] = {}
    if len(refs) < 2:
        return out
    for lab in labels:
        par = parent.get(lab)
        if par is None:
            continue
        per_ref = []
        for ref in refs:
            labs = ref.labels()
            frames = [m for m, x in zip(ref.masks(), labs, strict=True) if x == par]
            mine = [m for m, x in zip(ref.masks(), labs, strict=True) if x == lab and m.any()]
            if len(frames) != 1 or len(mine) < 2 or not frames[0].any():
                break
            per_ref.append(_relative_centroids(mine, frames[0]))
        else:
            nearest = []
            for pts in per_ref:
                d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
                np.fill_diagonal(d, np.inf)
                nearest.append(d.min(axis=1))
            spacing = float(np.median(np.concatenate(nearest)))
            if spacing <= 0:
                continue
            worst = max(
                float(np.linalg.norm(a[:, None] - b[None], axis=2).min(axis=1).max())
                for i, a in enumerate(per_ref)
                for j, b in enumerate(per_ref)
                if i != j
            )
            if worst <= LAYOUT_SAME * spacing:
                out[lab] = (np.concatenate(per_ref), spacing)
    return out
