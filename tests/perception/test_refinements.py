"""Region refinements: fine texture, occluded holes, sure cores, oversized single parts."""

from __future__ import annotations

import numpy as np

from logicode.perception.base import Region
from logicode.perception.features import fine_texture, pixel_feature_names, pixel_features
from logicode.perception.label import PrototypeLabeler
from logicode.perception.segment import (
    BACKGROUND,
    Blob,
    ClassicalSegmenter,
    LabelStats,
    occluded_share,
    split_blob,
    split_lines,
    straighter,
)


def _square_stats(label: str, side: int, n: int = 3) -> LabelStats:
    """Reference statistics of ``n`` solid squares of ``side`` pixels."""
    a = float(side * side)
    return LabelStats(
        label,
        areas=[a] * n,
        ferets=[side * 1.414 + 1] * n,
        minors=[float(side)] * n,
        solidity=[1.0] * n,
        fill=[1.0] * n,
        own=[1.0] * n,
        counts=[1] * n,
        aspects=[1.0] * n,
        widths=[float(side)] * n,
        hull_areas=[a] * n,
        occluded=[0.0] * n,
    )


def _segmenter(stats: dict[str, LabelStats]) -> ClassicalSegmenter:
    seg = ClassicalSegmenter()
    seg.scale = 1.0
    seg.stats = stats
    seg.classes = [BACKGROUND, *stats]
    seg.parent = dict.fromkeys(stats)
    return seg


def test_fine_texture_tells_grain_from_smooth_and_ignores_light() -> None:
    rng = np.random.default_rng(0)
    img = np.full((200, 400, 3), 180, np.float32)
    img[:, 200:] += rng.normal(0, 12, (200, 200, 3))  # grainy paper, same mean colour
    img = np.clip(img, 0, 255).astype(np.uint8)
    fine = fine_texture(img, (100, 50))
    assert fine.shape == (50, 100)
    smooth, grain = float(fine[10:40, 10:40].mean()), float(fine[10:40, 60:90].mean())
    assert grain > smooth + 1.0
    dim = fine_texture((img.astype(np.float32) * 0.5).astype(np.uint8), (100, 50))
    assert abs(float(dim[10:40, 60:90].mean()) - grain) < 0.35 * grain  # lighting barely counts
    small = np.ascontiguousarray(img[::4, ::4])
    feats = pixel_features(small, fine=fine)
    assert feats.shape[2] == len(pixel_feature_names(fine=True)) == len(pixel_feature_names()) + 1


def test_holes_covered_by_parts_in_front_are_occlusions() -> None:
    liquid = np.zeros((60, 60), bool)
    liquid[5:55, 5:55] = True
    label = np.zeros_like(liquid)
    label[20:35, 15:45] = True
    liquid &= ~label  # seen around the label stuck in front of it
    assert occluded_share(liquid, [liquid, label]) == 1.0
    ring = np.zeros_like(liquid)
    ring[20:40, 20:40] = True
    ring[26:34, 26:34] = False
    tray = np.ones_like(liquid)  # what shows through the ring holds it: no occlusion
    assert occluded_share(ring, [tray, ring]) == 0.0
    assert occluded_share(tray, [tray, ring]) == 0.0  # no hole at all
    st = LabelStats("liquid", areas=[1000.0], hull_areas=[1600.0], fill=[0.62], occluded=[1.0])
    assert st.occludable and st.max_area() == 1600.0
    st.occluded = [0.0]
    assert not st.occludable and st.max_area() == 1000.0


def test_sure_core_trims_a_label_and_drops_a_hesitant_patch() -> None:
    seg = _segmenter({"tag": _square_stats("tag", 30)})
    prob = np.zeros((100, 100, 2), np.float32)
    prob[..., 0] = 1.0
    # a 30 x 30 label the classifier is sure of, with a 30 x 20 patch above it it is not
    prob[40:70, 30:60, 1], prob[20:40, 30:60, 1] = 0.97, 0.7
    prob[..., 0] -= prob[..., 1]
    blob = Blob(30, 20, np.ones((50, 30), bool))
    assert not seg._fits(blob, "tag")
    parts = seg._confident_parts(blob, ("tag",), prob, [1], 900.0)
    assert parts is not None and len(parts) == 1
    x0, y0, x1, y1 = parts[0].box()
    assert abs(y0 - 40) <= 2 and abs(y1 - 70) <= 2 and x0 == 30 and x1 == 60
    patch = Blob(30, 20, np.ones((20, 30), bool))
    assert seg._confident_parts(patch, ("tag",), prob, [1], 900.0) == []
    # two sure labels side by side in one blob are two instances
    prob[40:70, 62:92, 1], prob[40:70, 62:92, 0] = 0.97, 0.03
    prob[40:70, 60:62, 1], prob[40:70, 60:62, 0] = 0.6, 0.4
    pair = Blob(30, 40, np.ones((30, 62), bool))
    parts = seg._confident_parts(pair, ("tag",), prob, [1], 900.0)
    assert parts is not None and len(parts) == 2


def test_enclosed_scraps_without_any_parent_region_are_dropped() -> None:
    seg = _segmenter({"label": _square_stats("label", 60), "icon": _square_stats("icon", 20)})
    seg.parent = {"label": None, "icon": "label"}
    seg.enclosed = {"label": False, "icon": True}
    pred = np.zeros((100, 100), np.int64)
    whole = Blob(10, 10, np.ones((20, 20), bool))
    scrap = Blob(60, 60, np.ones((6, 8), bool))
    found = [(whole, ("icon",), 0.9, {}), (scrap, ("icon",), 0.6, {})]
    kept = seg._inside_parents(found, pred)
    assert [k[0] for k in kept] == [whole]


def test_names_of_one_candidate_set_respect_the_reference_counts() -> None:
    lab = PrototypeLabeler()
    lab.max_count = {"top": 1, "bottom": 1}
    m = np.zeros((4, 4), bool)

    def region(name: str) -> Region:
        return Region(mask=m, candidates=("top", "bottom"), label=name)

    # both named bottom; the first is nearer to top than the second is
    a, b = region("bottom"), region("bottom")
    lab._rename_within_counts([(a, {"top": 1.0, "bottom": 0.9}), (b, {"top": 3.0, "bottom": 0.5})])
    assert (a.label, b.label) == ("top", "bottom")
    # within the counts (a swap of places is no reason): names are kept
    c, d = region("bottom"), region("top")
    lab._rename_within_counts([(c, {"top": 0.2, "bottom": 0.9}), (d, {"top": 3.0, "bottom": 0.5})])
    assert (c.label, d.label) == ("bottom", "top")
    # more regions than the references ever show: nothing to reassign
    e, f, g = region("top"), region("top"), region("bottom")
    dists = {"top": 0.1, "bottom": 1.0}
    lab._rename_within_counts([(e, dists), (f, dists), (g, dists)])
    assert [r.label for r in (e, f, g)] == ["top", "top", "bottom"]


def test_a_label_never_repeated_in_the_references_is_not_split_by_area() -> None:
    yy, xx = np.mgrid[0:80, 0:120]
    disc = (xx - 30) ** 2 + (yy - 40) ** 2 <= 400
    two = disc | ((xx - 62) ** 2 + (yy - 40) ** 2 <= 400)  # two overlapping discs
    sm_area = float(np.count_nonzero(disc))
    st = LabelStats(
        "pile",
        areas=[sm_area] * 3,
        ferets=[41.0] * 3,
        minors=[40.0] * 3,
        solidity=[0.9] * 3,  # not convex: the sure-core and convex rules stay out
        fill=[1.0] * 3,
        own=[1.0] * 3,
        counts=[1, 1, 1],
        aspects=[1.0] * 3,
        widths=[40.0] * 3,
        hull_areas=[sm_area] * 3,
        occluded=[0.0] * 3,
    )
    seg = _segmenter({"pile": st})
    pred = two.astype(np.int64)
    prob = np.stack([~two, two], axis=2).astype(np.float32)
    assert len(seg._group_regions(("pile",), pred, prob)) == 1  # one larger pile
    st.counts = [2, 2, 1]
    assert len(seg._group_regions(("pile",), pred, prob)) == 2  # two of them, split


def test_a_misshapen_label_region_with_some_sure_pixels_is_kept() -> None:
    seg = _segmenter({"tag": _square_stats("tag", 30)})
    pred = np.zeros((60, 60), np.int64)
    pred[10:30, 10:40] = 1  # 20 x 30: large enough to judge, not square
    prob = np.zeros((60, 60, 2), np.float32)
    prob[..., 0] = 1.0
    prob[10:30, 10:40] = (0.3, 0.7)
    prob[12:22, 12:32] = (0.05, 0.95)  # sure, but less than half a tag
    found = seg._group_regions(("tag",), pred, prob)
    assert len(found) == 1 and found[0][0].area > 550  # (corners rounded by an opening)
    prob[12:22, 12:32] = (0.3, 0.7)  # nothing sure at all: a hesitant patch, no tag
    assert seg._group_regions(("tag",), pred, prob) == []


def test_a_new_colour_patch_on_the_background_may_belong_to_the_part_it_touches() -> None:
    seg = _segmenter({"tray": _square_stats("tray", 50), "pin": _square_stats("pin", 12)})
    seg.parent = {"tray": None, "pin": "tray"}
    seg.novelty_threshold = 10.0
    pred = np.zeros((60, 60), np.int64)
    pred[20:40, 30:33] = 2  # the pin's needle, found
    novelty = np.zeros((60, 60), np.float32)
    novelty[22:34, 18:30] = 50.0  # its head, a colour no reference shows
    found = seg._novel_regions(pred, novelty)
    assert len(found) == 1 and "pin" in found[0][1]
    pred[20:40, 30:33] = 0  # touching nothing: only top-level labels of a fitting size
    assert all("pin" not in c for _, c in seg._novel_regions(pred, novelty))


def test_crossing_bars_come_apart_along_their_lengths() -> None:
    import cv2

    a = np.zeros((120, 120), np.uint8)
    b = np.zeros_like(a)
    cv2.line(a, (10, 20), (110, 100), 1, 9)
    cv2.line(b, (10, 100), (110, 20), 1, 9)
    x = (a | b).astype(bool)
    lines = split_lines(x, 2)
    assert len(lines) == 2
    for part in lines:  # each part is (almost) one bar
        share = max(
            np.count_nonzero(part & a.astype(bool)), np.count_nonzero(part & b.astype(bool))
        )
        assert share >= 0.85 * np.count_nonzero(part)
    round_ = split_blob(x, 2, 40.0, trust_k=True)
    assert straighter(round_, lines) is lines
    # bars side by side: a watershed split is as thin, and is kept
    side = np.zeros((60, 120), bool)
    side[10:20, 10:110] = side[21:31, 10:110] = True
    side[20, 10:110] = True
    halves = [side & (np.arange(60)[:, None] <= 20), side & (np.arange(60)[:, None] > 20)]
    assert straighter(halves, split_lines(side, 2)) is halves


def _seven() -> tuple[np.ndarray, np.ndarray]:
    """A bar (``a``) with the end of another one (``b``) against it, like a 7."""
    import cv2

    a = np.zeros((110, 130), np.uint8)
    b = np.zeros_like(a)
    cv2.line(a, (10, 15), (115, 15), 1, 11)
    cv2.line(b, (95, 21), (80, 100), 1, 11)
    return a.astype(bool), b.astype(bool) & ~a.astype(bool)


def test_a_bar_ending_against_another_takes_none_of_it() -> None:
    a, b = _seven()
    x = a | b
    for width, most in ((0.0, 0.95), (11.0, 1.0)):
        parts = split_lines(x, 2, width=width)
        assert len(parts) == 2
        pa = max(parts, key=lambda p: np.count_nonzero(p & a))
        pb = next(p for p in parts if p is not pa)
        kept = np.count_nonzero(pa & a) / np.count_nonzero(a)
        if width:  # the overlap of the two bands goes whole to the bar that goes on
            assert kept >= 0.99 and np.count_nonzero(pb & a) <= 0.01 * np.count_nonzero(a)
        else:  # the nearest line alone gives the ending bar a wedge of the other
            assert kept < most


def test_crossing_bars_keep_no_loose_wedges() -> None:
    import cv2
    from scipy import ndimage as ndi

    # two bars meeting at a sharp corner (a V): the nearest line leaves wedges of one
    # bar inside the other, which go back to the bar they lie in
    a = np.zeros((120, 90), np.uint8)
    b = np.zeros_like(a)
    cv2.line(a, (10, 10), (45, 110), 1, 11)
    cv2.line(b, (80, 10), (45, 110), 1, 11)
    x = (a | b).astype(bool)
    pieces = [ndi.label(p)[1] for p in split_lines(x, 2)]
    assert max(pieces) > 1  # the nearest line alone leaves a loose wedge
    for part in split_lines(x, 2, width=11.0):
        assert ndi.label(part)[1] == 1  # one piece each


def test_straighter_takes_the_thinner_split() -> None:
    straight = [np.zeros((40, 80), bool), np.zeros((40, 80), bool)]
    straight[0][2:12, :], straight[1][20:30, :] = True, True
    bent = [straight[0].copy(), straight[1].copy()]
    bent[0][12:15, 60:] = True  # one part took a strip of something beside it
    assert straighter(bent, straight) is straight
    assert straighter(straight, bent) is straight
