"""Small pieces of the perception front end: classifier, layers, masks, blobs, prototypes."""

from __future__ import annotations

import numpy as np
import pytest

from logicode.perception.classifier import MLPClassifier
from logicode.perception.features import (
    instance_features,
    pixel_feature_names,
    pixel_features,
    shape_measures,
)
from logicode.perception.label import containing_boxes
from logicode.perception.prototypes import PrototypeModel, fisher_weights
from logicode.perception.segment import (
    Blob,
    ClassicalSegmenter,
    LabelStats,
    convex_hull,
    exclusive_layers,
    filled_solidity,
    mean_width,
    merge_fragments,
    split_at_junctions,
    split_blob,
    upsample_mask,
)


def test_mlp_learns_a_nonlinear_boundary_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(4000, 2)).astype(np.float32)
    y = ((x[:, 0] * x[:, 1]) > 0).astype(np.int64)  # XOR of signs: not linearly separable
    a = MLPClassifier(steps=400, seed=3).fit(x, y, 2)
    b = MLPClassifier(steps=400, seed=3).fit(x, y, 2)
    test = rng.uniform(-1, 1, size=(1000, 2)).astype(np.float32)
    truth = (test[:, 0] * test[:, 1]) > 0
    pa = a.predict_proba(test)
    assert np.allclose(pa.sum(axis=1), 1.0, atol=1e-5)
    assert ((pa[:, 1] > 0.5) == truth).mean() > 0.9
    assert np.array_equal(pa, b.predict_proba(test))
    c = MLPClassifier.from_state(a.state())
    assert np.allclose(c.predict_proba(test), pa)


def test_exclusive_layers_give_each_pixel_its_smallest_component() -> None:
    big = np.zeros((10, 10), bool)
    big[1:9, 1:9] = True
    small = np.zeros((10, 10), bool)
    small[3:5, 3:5] = True
    lay = exclusive_layers([small, big], [2, 1])
    assert lay[0, 0] == 0 and lay[1, 1] == 1 and lay[3, 3] == 2 and lay[8, 8] == 1


def test_upsample_mask_keeps_geometry() -> None:
    small = np.zeros((20, 30), bool)
    small[5:10, 6:16] = True
    full = upsample_mask(small, (80, 120))
    ys, xs = np.nonzero(full)
    assert full.shape == (80, 120)
    assert abs(full.sum() - 50 * 16) / (50 * 16) < 0.1
    assert abs((xs.mean() + 0.5) / 4 - 11.0) < 0.3 and abs((ys.mean() + 0.5) / 4 - 7.5) < 0.3


def test_split_blob_separates_two_touching_discs() -> None:
    yy, xx = np.mgrid[0:60, 0:100]
    blob = ((xx - 30) ** 2 + (yy - 30) ** 2 < 400) | ((xx - 62) ** 2 + (yy - 30) ** 2 < 400)
    parts = split_blob(blob, 2, 40.0)
    assert len(parts) == 2
    centres = sorted(float(np.nonzero(p)[1].mean()) for p in parts)
    assert abs(centres[0] - 30) < 4 and abs(centres[1] - 62) < 4


def _ring(yy: np.ndarray, xx: np.ndarray, cx: float, cy: float) -> np.ndarray:
    d2 = (xx - cx) ** 2 + (yy - cy) ** 2
    return (d2 < 20**2) & (d2 >= 9**2)


def test_split_blob_fill_holes_separates_overlapping_rings() -> None:
    yy, xx = np.mgrid[0:60, 0:110]
    blob = _ring(yy, xx, 30, 30) | _ring(yy, xx, 62, 30)
    parts = split_blob(blob, 2, 40.0, fill_holes=True)
    assert len(parts) == 2
    assert not (parts[0] & parts[1]).any() and (parts[0] | parts[1]).sum() == blob.sum()
    centres = sorted(float(np.nonzero(p)[1].mean()) for p in parts)
    assert abs(centres[0] - 30) < 5 and abs(centres[1] - 62) < 5


def test_split_blob_trust_k_falls_back_to_kmeans() -> None:
    yy, xx = np.mgrid[0:40, 0:40]
    blob = (xx - 20) ** 2 + (yy - 20) ** 2 < 15**2  # one distance-transform core
    assert len(split_blob(blob, 2, 15.0)) == 1
    assert len(split_blob(blob, 2, 15.0, trust_k=True)) == 2


def test_split_at_junctions_cuts_a_grid_into_bars() -> None:
    grid = np.zeros((64, 94), bool)
    for c in (30, 62):
        grid[:, c : c + 4] = True  # two vertical walls
    grid[30:34, :] = True  # one horizontal wall: 2 junctions, 7 bars
    parts = split_at_junctions(grid, 7, 4.0, 20)
    assert len(parts) == 7
    one_crossing = np.zeros((64, 64), bool)
    one_crossing[30:34, :] = True
    one_crossing[:, 30:34] = True
    assert split_at_junctions(one_crossing, 4, 4.0, 20) == []


def test_split_at_junctions_gives_every_wall_pixel_to_one_bar() -> None:
    # 3 x 3 cells: 2 walls each way, 4 crossings, 12 bars; slightly slanted walls of
    # width 7 (the skeleton's branch points sit off-centre, corners must not leak)
    grid = np.zeros((160, 160), bool)
    yy, xx = np.mgrid[0:160, 0:160]
    for c in (50, 105):
        grid |= np.abs(xx - c - 0.03 * yy) <= 3
        grid |= np.abs(yy - c - 0.03 * xx) <= 3
    parts = split_at_junctions(grid, 12, 7.0, 60)
    assert len(parts) == 12
    total = np.sum(parts, axis=0)
    assert total.max() == 1 and np.array_equal(total.astype(bool), grid)
    assert split_at_junctions(grid, 20, 7.0, 60) == []  # far from the expected count


def test_convex_blob_is_not_split_by_area() -> None:
    st = LabelStats("cell", solidity=[0.99, 1.0])
    merged = Blob(0, 0, np.ones((40, 90), bool))  # two cells with no wall between
    assert ClassicalSegmenter._convex_like(merged, [st])
    yy, xx = np.mgrid[0:40, 0:80]
    discs = ((xx - 20) ** 2 + (yy - 20) ** 2 <= 400) | ((xx - 59) ** 2 + (yy - 20) ** 2 <= 400)
    assert not ClassicalSegmenter._convex_like(Blob(0, 0, discs), [st])
    bent = LabelStats("screw", solidity=[0.7, 0.8])  # a label that is not convex itself
    assert not ClassicalSegmenter._convex_like(merged, [bent])


def test_blob_filled_keeps_large_holes() -> None:
    m = np.ones((30, 30), bool)
    m[5:25, 5:25] = False  # a 400-pixel hole
    b = Blob(0, 0, m)
    assert b.filled().area == 900
    assert b.filled(max_hole=100).area == m.sum()


def test_merge_fragments_joins_pieces_but_not_whole_instances() -> None:
    piece_a = Blob(0, 0, np.ones((10, 4), bool))
    piece_b = Blob(6, 0, np.ones((10, 4), bool))  # together one 10x10 instance
    whole = Blob(40, 0, np.ones((10, 10), bool))
    out = merge_fragments([piece_a, piece_b, whole], min_area=90, max_area=110, max_feret=15)
    assert sorted(b.area for b in out) == [80, 100]
    far = Blob(80, 0, np.ones((10, 4), bool))
    out = merge_fragments([piece_a, far], min_area=90, max_area=110, max_feret=15)
    assert len(out) == 2


def test_containing_boxes_finds_the_smallest_holder() -> None:
    outer = np.zeros((50, 50), bool)
    outer[0:50, 0:50] = True
    mid = np.zeros((50, 50), bool)
    mid[10:40, 10:40] = True
    inner = np.zeros((50, 50), bool)
    inner[20:25, 20:25] = True
    boxes = containing_boxes([outer, mid, inner])
    assert boxes == [None, (0, 0, 50, 50), (10, 10, 40, 40)]


def test_shape_and_instance_features() -> None:
    ring = np.zeros((40, 40), bool)
    yy, xx = np.mgrid[0:40, 0:40]
    d = (xx - 20) ** 2 + (yy - 20) ** 2
    ring[(d < 225) & (d >= 64)] = True
    sm = shape_measures(ring)
    assert sm["fill"] < 0.85 and sm["aspect"] > 0.9
    image = np.zeros((40, 40, 3), np.uint8)
    image[ring] = (200, 30, 30)
    f = instance_features(image, ring)
    assert f["a_mean"] > 40  # red
    assert f["rel_cx"] == pytest.approx(0.5, abs=0.03)
    big = instance_features(image, ring, max_pixels=100)  # measured on a downsampled crop
    assert big["major_len"] == pytest.approx(f["major_len"], rel=0.1)
    assert big["log_area"] == f["log_area"]


def test_pixel_features_shape() -> None:
    img = np.zeros((12, 16, 3), np.uint8)
    feats = pixel_features(img)
    assert feats.shape[:2] == (12, 16) and feats.dtype == np.float32
    assert feats.shape[2] == len(pixel_feature_names())


def test_pixel_features_tell_texture_from_flat_grey() -> None:
    img = np.full((64, 128, 3), 128, np.uint8)
    img[:, 64:][:, ::4] = 200  # stripes, about the same mean grey as the left half
    img[:, 64:][:, 2::4] = 56
    feats = pixel_features(img)
    names = pixel_feature_names()
    flat, striped = feats[20:44, 10:40], feats[20:44, 84:114]
    assert (
        abs(flat[..., names.index("L_s12")].mean() - striped[..., names.index("L_s12")].mean()) < 5
    )
    for name in ("grad_s2", "ridge"):
        k = names.index(name)
        assert striped[..., k].mean() > 5 * (flat[..., k].mean() + 1e-3)


def test_fisher_weights_favour_the_separating_feature() -> None:
    rng = np.random.default_rng(1)
    a = np.c_[rng.normal(0, 1, 50), rng.normal(0, 1, 50)]
    b = np.c_[rng.normal(6, 1, 50), rng.normal(0, 1, 50)]
    w = fisher_weights(np.r_[a, b], ["a"] * 50 + ["b"] * 50)
    assert w[0] > 0.9 and w.sum() == pytest.approx(1.0)


def test_prototype_model_predicts_and_rejects() -> None:
    rows = np.array([[0.0, 0.0], [0.2, 0.1], [10.0, 0.0], [10.1, 0.2]])
    m = PrototypeModel.fit(rows, ["a", "a", "b", "b"], ("x", "y"), reject_factor=1.0)
    assert m.predict(np.array([0.5, 0.0]))[0] == "a"
    assert m.predict(np.array([9.0, 0.1]))[0] == "b"
    assert m.predict(np.array([60.0, 0.0]))[0] is None


def test_thin_lines_are_told_from_pieces_of_bars() -> None:
    seg = ClassicalSegmenter()
    seg.scale = 0.5
    bar = LabelStats("wall", aspects=[0.05, 0.06], widths=[15.0, 16.0])
    assert seg._bar_width([bar]) == 7.5
    assert seg._bar_width([LabelStats("nut", aspects=[0.9], widths=[50.0])]) == 0.0
    piece = np.zeros((40, 80), bool)
    piece[15:23, 5:75] = True  # a piece of a wall 8 px wide
    line = np.zeros((80, 80), bool)
    for i in range(5, 75):
        line[i, i - 1 : i + 2] = True  # a diagonal line about 2 px wide
    assert abs(mean_width(piece) - 8) < 1.5
    assert mean_width(line) < 0.6 * seg._bar_width([bar])


def test_merge_fragments_joins_a_widened_strip_cut_in_two_but_not_a_hook() -> None:
    # references: strips 200 px long, 10 wide (area 2000); here blur made them 16 wide
    left = Blob(0, 0, np.ones((16, 90), bool))
    right = Blob(100, 1, np.ones((16, 95), bool))
    strip = (190.0, 0.07)
    merged = merge_fragments([left, right], 2000, 2000, 200, strip)
    assert len(merged) == 1
    assert len(merge_fragments([left, right], 2000, 2000, 200)) == 2  # too much area
    bar = Blob(0, 0, np.ones((200, 10), bool))
    hook = Blob(10, 180, np.ones((20, 25), bool))
    assert len(merge_fragments([bar, hook], 2000, 2000, 200, strip)) == 2


def test_convex_hull_fills_the_bites_of_a_ragged_outline() -> None:
    m = np.zeros((60, 80), bool)
    m[5:55, 5:75] = True
    ragged = m.copy()
    ragged[5:30, 30:45] = False  # a bite from the top edge
    assert filled_solidity(ragged) < 0.93 <= filled_solidity(m)
    hull = convex_hull(Blob(3, 4, ragged))
    assert (hull.x0, hull.y0) == (3, 4) and np.array_equal(hull.mask, m)
