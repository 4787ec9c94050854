"""Exact counts: scattered amounts, touching convex parts, bars by length, grid walls."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy import ndimage as ndi
from test_refinements import _segmenter  # tests/perception is on sys.path

from logicode.perception.segment import (
    Blob,
    LabelStats,
    bar_pieces,
    bar_trunk,
    cut_strip,
    fixed_layout,
    mask_profile,
    split_at_junctions,
    straighter,
)


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


def _rod_stats() -> LabelStats:
    """Three reference rods, 8 px wide and 60 px long."""
    return LabelStats(
        "rod",
        areas=[480.0] * 3,
        ferets=[60.5] * 3,
        minors=[8.0] * 3,
        solidity=[1.0] * 3,
        fill=[1.0] * 3,
        own=[1.0] * 3,
        counts=[2] * 3,
        aspects=[0.13] * 3,
        widths=[8.0] * 3,
        hull_areas=[480.0] * 3,
        occluded=[0.0] * 3,
    )


def test_a_straight_strip_one_bar_wide_is_counted_by_its_length() -> None:
    seg = _segmenter({"rod": _rod_stats()})

    def strip(length: int) -> Blob:
        return Blob(0, 0, np.ones((8, length), bool))

    # 1.4 x the longest rod, 1.4 x its area: one longer rod, not two
    assert seg._instances_in(strip(84), ("rod",)) == 1
    assert seg._instances_in(strip(125), ("rod",)) == 2  # two end to end
    cross = np.zeros((60, 60), bool)
    cross[26:34, :] = True
    cross[:, 26:34] = True  # two rods across each other: counted by area
    assert seg._instances_in(Blob(0, 0, cross), ("rod",)) == 2


def test_a_split_of_bars_into_strips_thinner_than_a_bar_is_refused() -> None:
    collinear = [np.zeros((8, 80), bool), np.zeros((8, 80), bool)]
    collinear[0][:, :40], collinear[1][:, 40:] = True, True
    halves = [np.zeros((8, 80), bool), np.zeros((8, 80), bool)]
    halves[0][:4], halves[1][4:] = True, True
    assert straighter(collinear, halves) is halves  # thinner parts win...
    assert straighter(collinear, halves, 0.6 * 8) is collinear  # ...unless thinner than a bar


def test_a_split_off_piece_thinner_than_a_bar_is_no_bar() -> None:
    rod = Blob(0, 0, np.ones((8, 60), bool))
    rim = Blob(0, 20, np.ones((2, 40), bool))  # a thin rim of something else
    assert bar_pieces([rod, rim], 480.0, 8.0) == [rod]
    assert bar_pieces([rim], 480.0, 8.0) == [rim]  # nothing better: kept
    short = Blob(0, 30, np.ones((8, 30), bool))  # a short bar keeps its width
    assert bar_pieces([rod, short], 480.0, 8.0) == [rod, short]


def _grid(k_lines: tuple[int, int] = (2, 3)) -> np.ndarray:
    """A network of walls 6 px wide: ``k_lines`` horizontal and vertical lines."""
    mask = np.zeros((90, 120), bool)
    for i in range(k_lines[0]):
        y = 28 + 30 * i
        mask[y : y + 6, :] = True
    for i in range(k_lines[1]):
        x = 28 + 30 * i
        mask[:, x : x + 6] = True
    return mask


def test_a_grid_cut_into_wall_sized_pieces_is_kept_whatever_the_area_says() -> None:
    grid = _grid()
    assert len(split_at_junctions(grid, 17, 6.0, 50.0)) == 17  # 8 + 9 wall pieces
    # blur widens walls: the area promises 21 pieces; the cut finds 17 of one wall each
    assert split_at_junctions(grid, 21, 6.0, 50.0) == []
    assert len(split_at_junctions(grid, 21, 6.0, 50.0, max_area=300.0)) == 17
    # pieces larger than one wall: walls left joined, no trust in the cut
    assert split_at_junctions(grid, 21, 6.0, 50.0, max_area=100.0) == []


def _ref(walls: list[tuple[int, int]], pins: list[tuple[int, int]], dx: int) -> SimpleNamespace:
    """A reference: a frame shifted by ``dx``, 8 x 8 walls and pins at the given corners."""
    frame = np.zeros((80, 140), bool)
    frame[10:70, 10 + dx : 110 + dx] = True
    masks, labels = [frame], ["frame"]
    for name, spots in (("wall", walls), ("pin", pins)):
        for x, y in spots:
            m = np.zeros((80, 140), bool)
            m[y : y + 8, x + dx : x + dx + 8] = True
            masks.append(m)
            labels.append(name)
    return SimpleNamespace(masks=lambda: masks, labels=lambda: labels)


def test_walls_at_fixed_places_drop_a_wall_sized_region_where_none_ever_is() -> None:
    walls = [(31, 36), (56, 36), (81, 36)]
    refs = [
        _ref(walls, [(20, 20), (60, 50)], 0),
        _ref(walls, [(90, 15), (30, 55)], 10),
        _ref(walls, [(50, 50), (85, 20)], 20),
    ]
    parent = {"frame": None, "wall": "frame", "pin": "frame"}
    layout = fixed_layout(refs, ["frame", "wall", "pin"], parent)
    assert set(layout) == {"wall"}  # the pins lie anywhere
    st = _stats("wall", 64.0, 11.3, 1.0)
    seg = _segmenter({"frame": _stats("frame", 6000.0, 117.0, 1.0), "wall": st})
    seg.parent, seg.layout = parent, layout
    frame = Blob(15, 10, np.ones((60, 100), bool))

    def wall(x: int, y: int, w: int = 8) -> tuple[Blob, tuple[str, ...], float, dict]:
        return (Blob(x, y, np.ones((8, w), bool)), ("wall",), 1.0, {})

    at_home = [wall(46, 36), wall(71, 36), wall(96, 36)]  # the frame moved by 15 px
    on_rim = wall(50, 62)  # a wall-sized piece on the frame's edge
    joined = wall(20, 62, 16)  # twice a wall: not judged
    found = [(frame, ("frame",), 1.0, {}), *at_home, on_rim, joined]
    kept = seg._off_layout(found)
    assert [k[0] for k in kept] == [frame] + [w[0] for w in at_home] + [joined[0]]


def _square(label: str, side: int) -> LabelStats:
    a = float(side * side)
    return _stats(label, a, side * 1.414 + 1, 1.0)


def test_a_new_colour_the_classifier_doubts_the_floor_around_is_placed_by_regions() -> None:
    seg = _segmenter({"cell": _square("cell", 60), "pin": _square("pin", 12)})
    seg.parent = {"cell": None, "pin": "cell"}
    seg.novelty_threshold = 10.0
    pred = np.zeros((100, 160), np.int64)
    pred[10:70, 10:70] = 1  # a cell...
    pred[25:55, 25:55] = 0  # ...whose floor round the new colour looks like background
    novelty = np.zeros((100, 160), np.float32)
    novelty[34:46, 34:46] = 50.0  # a pin head of a colour no reference shows
    novelty[80:92, 120:132] = 50.0  # the same colour on the background, far from any cell
    orphans: list[Blob] = []
    assert seg._novel_regions(pred, novelty, orphans) == []  # the rings say background
    assert len(orphans) == 2
    cell = Blob(10, 10, pred[10:70, 10:70] == 1)  # a ring: its filled outline holds the pin
    placed = seg._inside_regions(orphans, [(cell, ("cell",), 1.0, {})])
    assert len(placed) == 1
    blob, cands = placed[0]
    assert cands == ("pin",) and blob.box() == (34, 34, 46, 46)


def _screw_stats() -> LabelStats:
    """Three reference screws, 14 px wide and 80 px long (working pixels)."""
    st = _rod_stats()
    st.label = "screw"
    st.areas, st.hull_areas = [1120.0] * 3, [1120.0] * 3
    st.ferets, st.minors, st.widths = [80.5] * 3, [14.0] * 3, [14.0] * 3
    st.aspects = [0.18] * 3
    return st


def _screw_with_rim(rim_width: int) -> np.ndarray:
    """A 14 x 100 screw with the outer edge of a ring (``rim_width`` thick) touching it."""
    canvas = np.zeros((90, 130), bool)
    canvas[40:54, 10:110] = True
    yy, xx = np.mgrid[0:90, 0:130]
    r = np.hypot(xx - 60, yy - 22)
    canvas |= (r <= 30) & (r > 30 - rim_width) & (yy > 22)  # the lower half of a ring's rim
    return canvas


def test_a_bar_with_a_thin_rim_stuck_to_it_is_one_bar() -> None:
    seg = _segmenter({"screw": _screw_stats()})
    # a long screw whose side touches the outer rim of a nut (the rim taken for screw):
    # too wide for one strip and over 1.3 x the largest area, yet its trunk is one screw
    with_rim = Blob(0, 0, _screw_with_rim(3))
    assert seg._instances_in(with_rim, ("screw",)) == 1
    # a thick arc is no rim: the old rule (area) stands
    assert seg._instances_in(Blob(0, 0, _screw_with_rim(12)), ("screw",)) == 2


def test_bar_trunk_refuses_two_bars_on_a_thin_bridge() -> None:
    two = np.zeros((40, 200), bool)
    two[10:24, 0:90] = True
    two[10:24, 110:200] = True
    two[16:18, 90:110] = True  # a thin bridge between two bars
    assert bar_trunk(two, 14.0, 1120.0) is None
    assert bar_trunk(np.ones((14, 100), bool), 14.0, 1120.0) is None  # nothing taken off
    trunk = bar_trunk(_screw_with_rim(3), 14.0, 1120.0)
    assert trunk is not None and not trunk[10:30, 30:90].any()  # the rim is gone


def test_arcs_of_one_ring_cut_apart_by_parts_on_top_are_joined() -> None:
    yy, xx = np.mgrid[0:60, 0:200]
    r = np.hypot(xx - 30, yy - 30)
    ring = (r <= 28) & (r > 14)
    area, hull = float(ring.sum()), float((r <= 28).sum())
    st = LabelStats(
        "washer",
        areas=[area] * 3,
        ferets=[57.0] * 3,
        minors=[56.0] * 3,
        solidity=[1.0] * 3,
        fill=[area / hull] * 3,
        own=[1.0] * 3,
        counts=[2] * 3,
        aspects=[1.0] * 3,
        widths=[56.0] * 3,
        hull_areas=[hull] * 3,
        occluded=[0.0] * 3,
    )
    seg = _segmenter({"washer": st})
    band = np.abs(yy - 30) < 16  # parts lying across the ring's top and bottom
    left = Blob(0, 0, ring & band & (xx < 30))
    right = Blob(0, 0, ring & band & (xx >= 30))
    assert not seg._complete(left, ("washer",))
    joined = seg._join_partials([(left, 0.8, {}), (right, 0.9, {})], ("washer",))
    assert len(joined) == 1 and joined[0][0].area == left.area + right.area
    # an arc of another ring far away stays apart
    far = Blob(0, 0, np.roll(ring & band & (xx >= 30), 130, axis=1))
    assert len(seg._join_partials([(left, 0.8, {}), (far, 0.9, {})], ("washer",))) == 2


def _bolt(length: int, head: int = 10) -> np.ndarray:
    """A horizontal bar 6 px wide with a head 12 px wide and ``head`` px long on its left."""
    m = np.zeros((12, length), bool)
    m[3:9, :] = True
    m[:, :head] = True
    return m


def _bolt_stats() -> LabelStats:
    """Three reference bolts, 60 px long, with their width profiles."""
    st = _rod_stats()
    st.label = "bolt"
    st.widths = [7.0] * 3
    st.profiles = [mask_profile(_bolt(60))] * 3
    return st


def test_a_strip_of_two_bars_end_to_end_is_cut_beside_a_head() -> None:
    two = np.concatenate([_bolt(60), _bolt(60)], axis=1)  # a head in the middle
    cut = cut_strip(two, (48.0, 69.0), [mask_profile(_bolt(60))])
    assert cut is not None
    first, second = cut[0]
    assert np.count_nonzero(first) == np.count_nonzero(_bolt(60))  # cut at the head
    assert np.count_nonzero(second[:, 60:70]) == 120  # the head stays whole


def test_a_longer_bar_with_one_head_is_one_bar() -> None:
    seg = _segmenter({"bolt": _bolt_stats()})
    long_one = Blob(0, 0, _bolt(100))  # 1.7 x the longest: one too-long bolt
    two = Blob(0, 0, np.concatenate([_bolt(50), _bolt(50)], axis=1))  # same length
    assert seg._instances_in(long_one, ("bolt",)) == 1
    assert seg._instances_in(two, ("bolt",)) == 2
    # without a shape along their length (plain rods) the length alone counts
    seg.stats["bolt"].profiles = []
    assert seg._instances_in(long_one, ("bolt",)) == 2


def _ring_stats() -> LabelStats:
    st = _stats("nut", 820.0, 44.0, 1.0)
    st.counts, st.aspects = [2] * 3, [1.0] * 3
    st.hull_areas, st.fill = [1300.0] * 3, [820.0 / 1300.0] * 3
    return st


def test_a_ring_with_a_rim_of_another_part_stuck_to_it_is_one() -> None:
    yy, xx = np.mgrid[0:80, 0:80]
    r2 = (xx - 40) ** 2 + (yy - 40) ** 2
    ring = (r2 <= 400) & (r2 > 100)
    ang = np.degrees(np.arctan2(yy - 40, xx - 40))
    rim = (r2 > 21**2) & (r2 <= 26**2) & (np.abs(ang) <= 55)  # a washer's edge beside it
    blob = ring | rim
    seg = _segmenter({"nut": _ring_stats()})
    assert seg._instances_in(Blob(0, 0, blob), ("nut",)) == 2  # larger than any nut
    pred = blob.astype(np.int64)
    prob = np.stack([~blob, blob], axis=2).astype(np.float32)
    found = seg._group_regions(("nut",), pred, prob)
    assert len(found) == 1 and found[0][2].get("one_with_rim")
    # two rings side by side: an outline of two, split in two
    two = np.concatenate([ring, ring], axis=1)
    pred = two.astype(np.int64)
    prob = np.stack([~two, two], axis=2).astype(np.float32)
    assert len(seg._group_regions(("nut",), pred, prob)) == 2


def test_rings_whose_holes_are_broken_open_are_counted_by_their_own_pixels() -> None:
    yy, xx = np.mgrid[0:50, 0:130]
    blob = np.zeros((50, 130), bool)
    for cx in (24, 64, 104):  # three rings in a row, touching
        r2 = (xx - cx) ** 2 + (yy - 25) ** 2
        blob |= (r2 <= 400) & (r2 > 100)
    blob[22:28, 44:84] = False  # a cut through the middle ring opens two holes
    st = _ring_stats()
    st.hull_areas = [1500.0] * 3
    seg = _segmenter({"nut": st})
    filled = np.count_nonzero(ndi.binary_fill_holes(blob)) / 1500.0
    assert round(filled) == 2  # the filled outline alone says two
    assert seg._instances_in(Blob(0, 0, blob), ("nut",)) == 3
