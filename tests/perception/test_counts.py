"""Exact counts: scattered amounts, touching convex parts shown once per reference."""

from __future__ import annotations

import numpy as np

from logicode.perception.segment import BACKGROUND, ClassicalSegmenter, LabelStats


def _segmenter(stats: dict[str, LabelStats]) -> ClassicalSegmenter:
    seg = ClassicalSegmenter()
    seg.scale = 1.0
    seg.stats = stats
    seg.classes = [BACKGROUND, *stats]
    seg.parent = dict.fromkeys(stats)
    return seg


def _stats(label: str, area: float, feret: float, solidity: float, **kw: list) -> LabelStats:
    n = 3
    return LabelStats(
        label,
        areas=[area] * n,
        ferets=[feret] * n,
        minors=[feret / 1.5] * n,
        solidity=[solidity] * n,
        fill=[1.0] * n,
        own=[1.0] * n,
        counts=[1] * n,
        aspects=[0.9] * n,
        widths=[feret / 1.5] * n,
        hull_areas=[area] * n,
        occluded=[0.0] * n,
        **kw,
    )


def _nuts(squares: list[tuple[int, int]], p: float) -> tuple[np.ndarray, np.ndarray]:
    """``pred`` and ``prob`` of 5 x 5 pieces of label 1 at ``squares`` with probability ``p``."""
    pred = np.zeros((200, 200), np.int64)
    prob = np.zeros((200, 200, 2), np.float32)
    prob[..., 0] = 1.0
    for x, y in squares:
        pred[y : y + 5, x : x + 5] = 1
        prob[y : y + 5, x : x + 5] = (1.0 - p, p)
    return pred, prob


def test_a_scattered_amount_is_one_region_however_few_and_far_apart() -> None:
    # references: one region per image made of 12 pieces of about 20 px, 240 px in all
    st = _stats("nuts", 240.0, 60.0, 0.4, pieces=[12, 12, 12], piece_areas=[20.0] * 36)
    assert st.scattered
    seg = _segmenter({"nuts": st})
    # three nuts in far corners: each far smaller than the references' region
    pred, prob = _nuts([(10, 10), (180, 20), (100, 170)], 0.97)
    found = seg._group_regions(("nuts",), pred, prob)
    assert len(found) == 1
    assert found[0][0].area == 75
    # the same pixels, none of them sure: the hesitation at the edges of other things
    pred, prob = _nuts([(10, 10), (180, 20), (100, 170)], 0.7)
    assert seg._group_regions(("nuts",), pred, prob) == []
    # a thin line of sure pixels (where two other things meet) is no nut either
    pred, prob = _nuts([], 0.97)
    pred[100, 20:120] = 1
    prob[100, 20:120] = (0.02, 0.98)
    assert seg._group_regions(("nuts",), pred, prob) == []


def test_a_label_in_few_pieces_or_repeated_is_not_scattered() -> None:
    assert not _stats("cereal", 240.0, 60.0, 0.9, pieces=[1, 2, 3]).scattered
    many = _stats("pins", 240.0, 60.0, 0.9, pieces=[12, 12, 12])
    many.counts = [2, 2, 1]  # several regions per image: instances, not one amount
    assert not many.scattered


def test_touching_convex_parts_shown_once_per_reference_are_split() -> None:
    yy, xx = np.mgrid[0:80, 0:120]
    disc = (xx - 30) ** 2 + (yy - 40) ** 2 <= 400
    two = disc | ((xx - 66) ** 2 + (yy - 40) ** 2 <= 400)  # two discs, a little overlap
    area = float(np.count_nonzero(disc))
    seg = _segmenter({"fruit": _stats("fruit", area, 41.0, 1.0)})
    seg.stats["fruit"].aspects = [1.0] * 3
    pred = two.astype(np.int64)
    prob = np.stack([~two, two], axis=2).astype(np.float32)
    found = seg._group_regions(("fruit",), pred, prob)
    assert len(found) == 2
    assert all(0.8 * area < b.area <= 1.05 * area for b, _, _ in found)
    # a pile (not convex) shown once per reference stays one larger pile
    seg = _segmenter({"pile": _stats("pile", area, 41.0, 0.9)})
    seg.stats["pile"].aspects = [1.0] * 3
    assert len(seg._group_regions(("pile",), pred, prob)) == 1
