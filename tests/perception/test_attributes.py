"""Number attributes: centre-line length, contacts, steady feature choice, px extents."""

from __future__ import annotations

import copy
import dataclasses
import math

import cv2
import numpy as np
import perception_toy as toy
import pytest

from logicode.perception.attributes import (
    CALIBRATE_BLURS,
    PARTS_FEATURE,
    PATH_FEATURE,
    PX_FEATURES,
    PX_SLOPES,
    ReferenceAttributes,
    box_of,
    contact_features,
    fit_number,
    jittered_masks,
    region_features,
)
from logicode.perception.base import Reference, Region
from logicode.perception.evaluate import component_mask
from logicode.perception.features import part_count, path_length, sharpness
from logicode.spec import spec_from_dict


def _strip(points: np.ndarray, width: int, shape: tuple[int, int]) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.polylines(m, [points.astype(np.int32)], False, 1, thickness=width)
    return m.astype(bool)


def test_path_length_follows_a_curved_strip() -> None:
    t = np.linspace(0, 600, 3000)
    pts = np.stack([40 + t, 200 + 120 * np.sin(t / 60)], axis=1)
    along = float(np.hypot(*np.diff(pts, axis=0).T).sum())
    m = _strip(pts, 12, (400, 700))
    assert abs(path_length(m) - along) < 0.04 * along
    ys, xs = np.nonzero(m)
    assert xs.max() - xs.min() < 0.8 * along  # the straight extent is much shorter
    small = np.zeros((60, 60), bool)
    small[10:50, 25:35] = True
    assert abs(path_length(small) - 40) <= 4


def test_contact_features_locate_the_touch_on_each_side() -> None:
    shape = (200, 400)
    left = np.zeros(shape, bool)
    left[20:180, 20:100] = True
    right = np.zeros(shape, bool)
    right[40:160, 300:380] = True
    bar = np.zeros(shape, bool)
    bar[95:105, 100:300] = True  # touches left at y=100 (80 below its top), right at 60
    masks = [left, right, bar]
    boxes = [box_of(m) for m in masks]
    f = contact_features(masks, boxes, 2)
    assert abs(f["left_touch_dy"] - 80) <= 2 and abs(f["right_touch_dy"] - 60) <= 2
    assert abs(f["left_touch_rel_y"] - 0.5) < 0.02
    alone = contact_features([left, bar], [boxes[0], boxes[2]], 1)
    assert "left_touch_dy" in alone and "right_touch_dy" not in alone


def test_fit_number_prefers_steady_and_named_features() -> None:
    rng = np.random.default_rng(0)
    values = [710.0, 720.0, 735.0, 750.0, 765.0]
    rows, jit = [], []
    for v in values:
        base = {
            "feret": v + rng.normal(0, 1),
            "sqrt_area": 0.18 * v,  # exact on the references, but moves with the outline
            "left_touch_dy": v / 10 + 3,
            "right_touch_dy": v / 10 + rng.normal(0, 0.05),
        }
        rows.append(base)
        for d in (-2, 2):
            jit.append(({**base, "sqrt_area": 0.18 * v * (1 + 0.1 * d)}, v))
    assert fit_number(rows, values).feature == "sqrt_area"
    assert fit_number(rows, values, jit).feature in ("feret", "left_touch_dy", "right_touch_dy")
    named = fit_number(rows, values, jit, "right_length")
    assert named.feature == "right_touch_dy"
    assert abs(named.predict({"right_touch_dy": 74.0}) - 740) < 5


def test_jittered_masks_erode_and_dilate() -> None:
    m = np.zeros((50, 50), bool)
    m[20:30, 10:40] = True
    areas = sorted(int(j.sum()) for j in jittered_masks(m))
    assert areas[0] < m.sum() < areas[-1]
    assert PATH_FEATURE == "path_len"


def test_region_features_skip_unwanted_masks_but_keep_them_as_frames() -> None:
    from logicode.perception.attributes import region_features

    image = np.full((40, 60, 3), 100, np.uint8)
    frame = np.zeros((40, 60), bool)
    frame[5:35, 5:55] = True
    part = np.zeros((40, 60), bool)
    part[10:20, 10:30] = True
    feats = region_features(image, [frame, part], wanted=[False, True])
    assert feats[0] == {}
    full = region_features(image, [frame, part])
    assert feats[1] == full[1] and full[0]  # positions still in the frame's box


def test_fit_number_measures_a_px_attribute_with_an_extent() -> None:
    # the references' values vary little; jittered outlines move every length by +-6 px,
    # so a shallow line that predicts about their mean wins on them without a unit
    rng = np.random.default_rng(1)
    values = [117.0, 117.0, 119.0, 119.0, 121.0, 121.0, 121.0, 121.0, 121.0, 121.0]
    rows, jit = [], []
    for v in values:
        base = {
            "feret": v + 1.5 + rng.normal(0, 0.3),
            "major_len": v,  # exact on the references, but a moment, not an extent
            "minor_len": v - 8 + rng.normal(0, 3.0),
        }
        rows.append(base)
        for d in (-6.0, -2.0, 4.0):
            jit.append(({k: x + d for k, x in base.items()}, v))
    free = fit_number(rows, values, jit, "diameter")
    assert free.intercept != 0.0 and free.slope < PX_SLOPES[0]  # about the mean
    px = fit_number(rows, values, jit, "diameter", "px")
    assert px.feature in PX_FEATURES and px.feature != "major_len"
    assert px.intercept == 0.0
    # a part a tenth smaller than every reference is measured, not pulled to the mean
    assert px.predict({"feret": 110.0}) == pytest.approx(108.6, abs=1.0)
    # with no extent among the features, the unit changes nothing
    moments = [{k: r[k] for k in ("major_len", "minor_len")} for r in rows]
    jit_m = [({k: f[k] for k in ("major_len", "minor_len")}, v) for f, v in jit]
    assert fit_number(moments, values, jit_m, "diameter", "px") == fit_number(
        moments, values, jit_m, "diameter"
    )


def test_reference_attributes_measure_px_lengths_the_references_barely_vary() -> None:
    # bars of 40-42 px on the references: without the spec's unit a position fits them
    # as well as a length does; a 30 px bar must still read about 30
    refs = []
    for i, t in enumerate(toy.REFERENCE_TOYS):
        bars = [(x, y, 40 + (i + j) % 3) for j, (x, y, _) in enumerate(t.bars)]
        refs.append(Reference(*toy.draw(dataclasses.replace(t, bars=bars), seed=i)))
    model = ReferenceAttributes()
    model.fit(refs, toy.spec())
    num = model.numbers[("bar", "length")]
    assert num.feature in PX_FEATURES and num.intercept == 0.0
    image, scene = toy.draw(toy.Toy(bars=[(60, 60, 30)]), seed=3)
    bar = next(c for c in scene.components if c.label == "bar")
    mask = component_mask(bar, image.shape[:2])
    feats = region_features(image, [mask])[0]
    assert num.predict(feats) == pytest.approx(30, abs=2)


def test_fit_number_scales_an_extent_when_every_reference_has_one_px_value() -> None:
    rows = [
        {
            "feret": 122.0 + d,
            "minor_len": 100.0 + 0.1 * d,
            "bbox_w": 121.0 + 2 * d,
            "axis_len": 121.0 + 3 * d,
        }
        for d in (-1.0, 0.0, 1.0)
    ]
    assert fit_number(rows, [121.0] * 3).feature == "minor_len"  # the steadiest
    px = fit_number(rows, [121.0] * 3, unit="px")
    assert px.feature == "feret" and px.intercept == 0.0
    assert px.predict({"feret": 110.0}) == pytest.approx(109.1, abs=0.5)


def test_part_count_bridges_slits_and_ignores_specks() -> None:
    m = np.zeros((40, 200), bool)
    m[15:25, 10:90] = True
    m[15:25, 110:190] = True  # a 20 px gap: two pieces
    assert part_count(m) == 2
    m[15:25, 90:110] = True
    m[15:25, 100] = False  # a one-pixel slit is no cut
    m[2, 2] = True  # a speck is no piece
    assert part_count(m) == 1
    assert part_count(np.zeros((5, 5), bool)) == 0


def test_a_count_every_reference_shows_as_its_pieces_reads_the_pieces() -> None:
    # every reference bar is one piece with pieces = 1; a bar cut in two reads 2
    spec_dict = copy.deepcopy(toy.SPEC)
    bar = next(c for c in spec_dict["components"] if c["label"] == "bar")
    bar["attributes"].append({"name": "pieces", "type": "number"})
    refs = []
    for i, t in enumerate(toy.REFERENCE_TOYS):
        ref = Reference(*toy.draw(t, seed=i))
        for c in ref.scene.components:
            if c.label == "bar":
                c.attributes["pieces"] = 1
        refs.append(ref)
    model = ReferenceAttributes()
    model.fit(refs, spec_from_dict(spec_dict, source="toy"))
    assert model.numbers[("bar", "pieces")].feature == PARTS_FEATURE
    image, scene = toy.draw(toy.Toy(bars=[(40, 60, 60), (120, 100, 40)]), seed=5)
    masks = [component_mask(c, image.shape[:2]) for c in scene.components if c.label == "bar"]
    cut = masks[0].copy()
    cut[:, 68:76] = False  # an 8 px gap across the first bar
    regions = [Region(mask=cut, label="bar"), Region(mask=masks[1], label="bar")]
    model.estimate(image, regions)
    assert [r.attributes["pieces"] for r in regions] == [2, 1]


def test_a_constant_count_the_masks_do_not_show_keeps_the_steady_proportion() -> None:
    # the references say 2 while their masks are one piece each: no count model
    rows = [{"parts": 1.0, "feret": 50.0 + d, "axis_len": 49.0 + 5 * d} for d in (-1, 0, 1)]
    model = fit_number(rows, [2, 2, 2])
    assert model.feature == "feret"
    assert model.predict({"feret": 50.0, "parts": 2.0}) == 2


def test_sharpness_falls_with_blur_not_with_light() -> None:
    image, _ = toy.draw(toy.REFERENCE_TOYS[0], seed=1)
    sharp = sharpness(image)
    dim = np.clip(image.astype(np.float32) * 0.6, 0, 255).astype(np.uint8)
    assert abs(sharpness(dim) - sharp) < 0.1 * sharp
    assert sharpness(cv2.GaussianBlur(image, (0, 0), 2.0)) < 0.8 * sharp


def _blue_things(image: np.ndarray) -> list[Region]:
    """A stand-in segmenter: bluish pixels (a low threshold: blur widens what it finds)."""
    img = image.astype(np.float32)
    n, lab = cv2.connectedComponents((img[:, :, 2] - img[:, :, 0] > 12).astype(np.uint8))
    out = []
    for i in range(1, n):
        m = lab == i
        ys, xs = np.nonzero(m)
        w, h = np.ptp(xs) + 1, np.ptp(ys) + 1
        out.append(Region(mask=m, label="bar" if max(w, h) > 2 * min(w, h) else "tag"))
    return out


def test_lengths_on_a_blurred_image_get_the_calibration_of_its_blur() -> None:
    refs = [Reference(*toy.draw(t, seed=i)) for i, t in enumerate(toy.REFERENCE_TOYS)]
    model = ReferenceAttributes()
    model.fit(refs, toy.spec())
    model.calibrate(refs, _blue_things)
    curve = model.calibration[("bar", "length")]
    assert len(curve) == len(CALIBRATE_BLURS) and curve[0][1] < curve[-1][1]
    image, _ = toy.draw(toy.Toy(bars=[(40, 40, 34), (60, 100, 52)], tag=(160, 40)), seed=9)
    sigma = CALIBRATE_BLURS[-1] * math.hypot(*image.shape[:2])
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)
    regions = [r for r in _blue_things(blurred) if r.label == "bar"]
    model.estimate(blurred, regions)
    lengths = sorted(r.attributes["length"] for r in regions)
    assert lengths == pytest.approx([34, 52], abs=1.0)
