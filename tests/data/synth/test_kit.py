"""The shared drawing kit: window-based drawing equals whole-image drawing, painting and camera
steps equal plain numpy references (also on window views), and randomness follows the rng."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from logicode.data.synth import kit

SHAPE = (120, 160)


def full_polygon(shape: tuple[int, int], points: list[tuple[float, float]]) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(points) * 16).astype(np.int32)
    cv2.fillPoly(m, [pts], 1, cv2.LINE_8, 4)
    return m.astype(bool)


def noisy_image(seed: int = 0, shape: tuple[int, int] = SHAPE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((*shape, 3)) * 200 + 20).astype(np.float32)


def blob(shape: tuple[int, int] = SHAPE) -> np.ndarray:
    return kit.ellipse_mask(shape, (70.3, 55.8), (30.0, 18.0), 25.0) | kit.rect_mask(
        shape, (120, 90), (40, 20), -10
    )


# --- rasterising --------------------------------------------------------------------------


def test_window_drawing_equals_whole_image_drawing() -> None:
    rng = np.random.default_rng(3)
    for _ in range(60):
        pts = [(float(x), float(y)) for x, y in rng.uniform(-40, 200, (5, 2))]
        assert np.array_equal(kit.polygon_mask(SHAPE, pts), full_polygon(SHAPE, pts))
        c = (float(rng.uniform(-30, 190)), float(rng.uniform(-30, 150)))
        axes = (float(rng.uniform(1, 50)), float(rng.uniform(1, 50)))
        ang = float(rng.uniform(0, 180))
        ref = np.zeros(SHAPE, np.uint8)
        kit.draw_ellipse(ref, c, axes, ang, 1)
        assert np.array_equal(kit.ellipse_mask(SHAPE, c, axes, ang), ref.astype(bool))
        thick = float(rng.uniform(1, 15))
        ref = np.zeros(SHAPE, np.uint8)
        fixed = np.round(np.asarray(pts) * 16).astype(np.int32)
        cv2.polylines(ref, [fixed], False, 1, max(1, round(thick)), cv2.LINE_8, 4)
        assert np.array_equal(kit.polyline_mask(SHAPE, pts, thick), ref.astype(bool))


def test_masks_outside_the_image_are_empty_and_full_size() -> None:
    m = kit.polygon_mask(SHAPE, [(-50, -50), (-10, -50), (-10, -10)])
    assert m.shape == SHAPE and m.dtype == bool and not m.any()
    assert not kit.ellipse_mask(SHAPE, (500, 500), (20, 20)).any()


def test_rounded_rect_lies_between_the_rect_and_its_inner_rect() -> None:
    outer = kit.rect_mask(SHAPE, (80, 60), (100, 60), 12)
    inner = kit.rect_mask(SHAPE, (80, 60), (100 - 24, 60 - 24), 12)
    rr = kit.rounded_rect_mask(SHAPE, (80, 60), (100, 60), 12.0, 12)
    assert (inner & ~rr).sum() == 0
    assert (rr & ~outer).sum() <= 8
    assert rr.sum() == pytest.approx(100 * 60 - (4 - np.pi) * 12**2, rel=0.03)
    assert outer.sum() - rr.sum() > 100  # the corners are cut


def test_draw_ellipses_match_single_ellipses_and_keep_order() -> None:
    centers = np.array([[50.0, 60.0], [70.0, 60.0]])
    axes = np.array([[25.0, 15.0], [20.0, 12.0]])
    angles = np.array([10.0, 80.0])
    arr = np.zeros(SHAPE, np.uint8)
    kit.draw_ellipses(arr, centers, axes, angles, np.array([1, 2]))
    first = kit.ellipse_mask(SHAPE, (50, 60), (25, 15), 10)
    second = kit.ellipse_mask(SHAPE, (70, 60), (20, 12), 80)
    iou = ((arr == 2) & second).sum() / ((arr == 2) | second).sum()
    assert iou > 0.95
    assert ((arr == 1) & second).sum() <= 4  # the later ellipse lies on top
    assert ((arr > 0) ^ (first | second)).sum() < 0.05 * (first | second).sum()


def test_windows_overlap_blit_and_embed() -> None:
    assert kit.window_of_mask(np.zeros(SHAPE, bool)) is None
    m = np.zeros(SHAPE, bool)
    m[10:20, 30:35] = True
    assert kit.window_of_mask(m) == (slice(10, 20), slice(30, 35))
    assert kit.window_of_mask(m, pad=12) == (slice(0, 32), slice(18, 47))
    win = kit.window_of_points([(30.2, 10.7), (34.5, 19.1)], SHAPE, pad=0)
    assert win == (slice(10, 21), slice(30, 36))
    assert np.array_equal(kit.embed(SHAPE, m[win], win), m)
    assert kit.overlap(SHAPE, -5, 150, (10, 20)) == (
        (slice(0, 5), slice(150, 160)),
        (slice(5, 10), slice(0, 10)),
    )
    assert kit.overlap(SHAPE, 200, 0, (10, 10)) is None
    full = np.zeros(SHAPE, bool)
    kit.blit(full, np.ones((10, 20), bool), -5, 150)
    assert full.sum() == 50 and full[0:5, 150:].all()


def test_frame_rotates_clockwise_on_screen() -> None:
    f = kit.Frame(10.0, 20.0, 90.0)
    assert f.to_img((5.0, 0.0)) == pytest.approx((10.0, 25.0))
    assert kit.Frame(0.0, 0.0, 0.0).to_img((3.0, 4.0)) == (3.0, 4.0)


# --- painting (on window views, so in-place writes are checked too) ----------------------


def test_paint_equals_its_reference_with_and_without_shading() -> None:
    mask = blob()
    for shade, edge in ((0.0, 0.0), (0.5, 0.0), (0.0, 0.3), (0.4, 0.2)):
        img = noisy_image()
        ref = img.copy()
        kit.paint(img, mask, (200.0, 100.0, 50.0), shade=shade, edge=edge)
        dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
        factor = np.ones(SHAPE, np.float32)
        if shade:
            factor *= 1 - shade * (1 - np.clip(dist / dist.max(), 0, 1)) ** 2
        if edge:
            factor *= np.where(dist <= 1.5, 1 - edge, 1)
        ref[mask] = np.float32([200, 100, 50]) * factor[mask][:, None]
        assert np.allclose(img, ref, atol=1e-3), (shade, edge)


def test_paint_noise_follows_the_rng() -> None:
    mask = blob()
    a, b, c = noisy_image(), noisy_image(), noisy_image()
    kit.paint(a, mask, (90.0, 90.0, 90.0), np.random.default_rng(1), noise=4.0)
    kit.paint(b, mask, (90.0, 90.0, 90.0), np.random.default_rng(1), noise=4.0)
    kit.paint(c, mask, (90.0, 90.0, 90.0), np.random.default_rng(2), noise=4.0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 3.0 < float(a[mask][:, 0].std()) < 5.0
    assert np.array_equal(a[~mask], noisy_image()[~mask])


def test_paint_mix_copy_where_adjust_scale_where_blend_on_views() -> None:
    big = noisy_image(1, (300, 200))
    win = (slice(50, 170), slice(20, 180))  # a non-contiguous view of SHAPE
    mask = blob()
    rng = np.random.default_rng(5)
    w1 = rng.random(SHAPE, dtype=np.float32)
    w2 = rng.random(SHAPE, dtype=np.float32)
    gain = rng.random(SHAPE, dtype=np.float32) + 0.5
    offset = rng.random(SHAPE, dtype=np.float32) * 10

    img = big.copy()
    ref = img[win].copy()
    kit.paint_mix(img[win], mask, [w1, w2], [(100.0, 50.0, 0.0), (0.0, 10.0, 20.0)])
    mixed = w1[..., None] * np.float32([100, 50, 0]) + w2[..., None] * np.float32([0, 10, 20])
    ref[mask] = mixed[mask]
    assert np.allclose(img[win], ref, atol=1e-3)
    assert np.array_equal(np.delete(img, np.s_[50:170], axis=0), np.delete(big, np.s_[50:170], 0))

    colored = kit.colorize([w1, w2], [(100.0, 50.0, 0.0), (0.0, 10.0, 20.0)])
    assert colored.dtype == np.float32 and np.allclose(colored, mixed, atol=1e-3)

    img = big.copy()
    kit.adjust(img[win], gain=gain, offset=offset)
    assert np.allclose(img[win], big[win] * gain[..., None] + offset[..., None], atol=1e-3)

    img = big.copy()
    kit.scale_where(img[win], mask, 1.5)
    ref = big[win].copy()
    ref[mask] *= 1.5
    assert np.allclose(img[win], ref, atol=1e-3)

    img = big.copy()
    kit.blend(img[win], mask, (0.0, 100.0, 200.0), 0.25)
    ref = big[win].copy()
    ref[mask] = ref[mask] * 0.75 + np.float32([0, 100, 200]) * 0.25
    assert np.allclose(img[win], ref, atol=1e-3)


def test_cast_shadow_darkens_down_the_offset_only() -> None:
    img = np.full((*SHAPE, 3), 100.0, np.float32)
    mask = np.zeros(SHAPE, bool)
    mask[40:60, 40:60] = True
    kit.cast_shadow(img, mask, offset=(12.0, 12.0), sigma=3.0, strength=0.5, scale=2)
    assert img[65, 65, 0] < 70  # in the shadow, past the object
    assert img[35, 35, 0] == pytest.approx(100.0, abs=0.5)  # on the lit side
    assert img.min() >= 100 * 0.5 - 0.5
    assert np.allclose(img[..., 0], img[..., 2])


# --- background and camera ----------------------------------------------------------------


def test_canvas_is_textured_base_colour_and_seeded() -> None:
    a = kit.canvas(np.random.default_rng(0), 200, 300, (40.0, 80.0, 120.0), texture=6.0, grain=20)
    b = kit.canvas(np.random.default_rng(0), 200, 300, (40.0, 80.0, 120.0), texture=6.0, grain=20)
    c = kit.canvas(np.random.default_rng(0), 200, 300, (40.0, 80.0, 120.0), texture=6.0, swell=5.0)
    assert a.shape == (200, 300, 3) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.mean(axis=(0, 1)) == pytest.approx([40, 80, 120], abs=2.5)
    assert 2.0 < float(a[..., 0].std()) < 6.0
    assert np.allclose(a[..., 1] - a[..., 0], 40.0, atol=1e-3)


def test_finish_without_camera_rounds_and_clips() -> None:
    img = np.array([[[-3.0, 0.4, 0.6], [254.4, 254.6, 400.0]]], np.float32)
    out = kit.finish(img.copy())
    assert out.dtype == np.uint8
    assert out.tolist() == [[[0, 0, 1], [254, 255, 255]]]


def test_finish_lighting_and_blur_equal_the_whole_image_reference() -> None:
    img = kit.canvas(np.random.default_rng(0), 300, 200, (100.0, 120.0, 140.0), texture=30, grain=5)
    before = img.copy()
    out = kit.finish(img, np.random.default_rng(5), light=0.1, vignette=0.1, blur=0.9)
    assert np.array_equal(img, before), "finish must not change its input"
    a, b = np.random.default_rng(5).uniform(-1, 1, 2)
    x = (np.arange(200) + 0.5) / 200 - 0.5
    y = (np.arange(300) + 0.5) / 300 - 0.5
    gain = 1 + 0.2 * (a * x[None] + b * y[:, None]) - 0.2 * (x[None] ** 2 + y[:, None] ** 2)
    ref = cv2.GaussianBlur((img * gain[..., None]).astype(np.float32), (5, 5), 0.9)
    ref = np.clip(np.round(ref), 0, 255)
    assert np.abs(out - ref).max() <= 1
    assert (out != ref).mean() < 0.01


def test_finish_noise_is_seeded_luminance_noise_of_the_asked_sigma() -> None:
    img = np.full((256, 256, 3), 100.3, np.float32)
    a = kit.finish(img, np.random.default_rng(1), noise=3.0).astype(float)
    b = kit.finish(img, np.random.default_rng(1), noise=3.0).astype(float)
    c = kit.finish(img, np.random.default_rng(2), noise=3.0).astype(float)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a[..., 0].std() == pytest.approx(3.0, rel=0.1)
    assert a.mean() == pytest.approx(100.3, abs=0.1)
    assert np.corrcoef(a[..., 0].ravel(), a[..., 2].ravel())[0, 1] > 0.95
    with pytest.raises(ValueError, match="rng"):
        kit.finish(img, None, noise=2.0)


# --- small helpers ---------------------------------------------------------------------------


def test_check_defect_and_jitter() -> None:
    kit.check_defect("pushpins", None, ("a", "b"))
    kit.check_defect("pushpins", "a", ("a", "b"))
    with pytest.raises(ValueError, match="unknown pushpins defect 'c'.*cannot render.*a, b"):
        kit.check_defect("pushpins", "c", ("a", "b"))
    rng = np.random.default_rng(0)
    values = [kit.jitter(rng, 10.0, 2.0) for _ in range(200)]
    assert all(8.0 <= v <= 12.0 for v in values) and max(values) - min(values) > 3.0
