from __future__ import annotations

import numpy as np
import pytest

from logicode.data.synth import kit
from logicode.data.synth.base import Part, Sample
from logicode.data.synth.perturb import Perturbation, apply, apply_to_sample, parse_perturb
from logicode.errors import LogicodeError

H, W = 240, 160


def scene_image() -> tuple[np.ndarray, list[np.ndarray]]:
    """A textured image with two shapes, each painted white, and their masks."""
    rng = np.random.default_rng(0)
    img = kit.canvas(rng, H, W, (40.0, 40.0, 40.0), texture=8.0, grain=8)
    a = kit.rect_mask((H, W), (60, 80), (50, 70), 10)
    b = kit.ellipse_mask((H, W), (110, 170), (30, 20))
    kit.paint(img, a, (250, 250, 250))
    kit.paint(img, b, (250, 250, 250))
    return kit.finish(img), [a, b]


def test_parse_full_and_partial() -> None:
    p = parse_perturb("blur=0.5, light=0.3,view=0.2")
    assert (p.blur, p.light, p.view) == (0.5, 0.3, 0.2)
    q = parse_perturb("VIEW=1")
    assert (q.blur, q.light, q.view) == (0.0, 0.0, 1.0)
    assert q.to_dict() == {"blur": 0.0, "light": 0.0, "view": 1.0}
    assert str(p) == "blur=0.5,light=0.3,view=0.2"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("fog=0.3", "unknown perturbation 'fog'"),
        ("blur=abc", "not a number"),
        ("blur=1.5", "out of range"),
        ("light=-0.1", "out of range"),
        ("blur", "not key=value"),
        ("blur=0.1,blur=0.2", "given twice"),
        ("", "empty"),
        ("view=nan", "out of range"),
    ],
)
def test_parse_errors_are_one_clear_line(text: str, needle: str) -> None:
    with pytest.raises(LogicodeError) as exc:
        parse_perturb(text)
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg


def test_dataclass_rejects_out_of_range() -> None:
    with pytest.raises(LogicodeError, match="0..1"):
        Perturbation(blur=2.0)


def test_strength_zero_is_identity() -> None:
    img, masks = scene_image()
    out, out_masks = apply(img, masks, np.random.default_rng(1), Perturbation())
    assert out is img
    assert all(a is b for a, b in zip(out_masks, masks, strict=True))


@pytest.mark.parametrize("kind", ["blur", "light", "view"])
def test_each_perturbation_changes_the_image(kind: str) -> None:
    img, masks = scene_image()
    out, out_masks = apply(img, masks, np.random.default_rng(1), Perturbation(**{kind: 0.5}))
    assert out.shape == img.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - img.astype(int)).mean()
    assert diff > 1.0
    if kind != "view":  # photometric changes leave the masks alone
        assert all(np.array_equal(a, b) for a, b in zip(out_masks, masks, strict=True))


def test_stronger_blur_blurs_more() -> None:
    img, masks = scene_image()

    def sharpness(x: np.ndarray) -> float:
        g = x.astype(float).mean(axis=2)
        return float(np.abs(np.diff(g, axis=1)).mean())

    weak, _ = apply(img, masks, np.random.default_rng(1), Perturbation(blur=0.2))
    strong, _ = apply(img, masks, np.random.default_rng(1), Perturbation(blur=0.8))
    assert sharpness(img) > sharpness(weak) > sharpness(strong)


def test_light_is_uneven() -> None:
    flat = np.full((H, W, 3), 128, np.uint8)
    out, _ = apply(flat, [], np.random.default_rng(3), Perturbation(light=1.0))
    g = out.astype(float).mean(axis=2)
    assert g.max() - g.min() > 60


def test_view_warp_keeps_masks_aligned_with_pixels() -> None:
    img, masks = scene_image()
    out, out_masks = apply(img, masks, np.random.default_rng(5), Perturbation(view=1.0))
    bright = out.astype(float).mean(axis=2) > 150
    union = out_masks[0] | out_masks[1]
    assert not np.array_equal(union, masks[0] | masks[1])  # it did move
    iou = (bright & union).sum() / (bright | union).sum()
    assert iou > 0.95
    for m_before, m_after in zip(masks, out_masks, strict=True):
        assert abs(int(m_after.sum()) - int(m_before.sum())) < 0.25 * m_before.sum()


def test_view_warp_is_the_same_for_every_mask_and_seeded() -> None:
    img, masks = scene_image()
    same = [masks[0], masks[0].copy()]
    _, warped = apply(img, same, np.random.default_rng(9), Perturbation(view=0.7))
    assert np.array_equal(warped[0], warped[1])
    a, _ = apply(img, masks, np.random.default_rng(9), Perturbation(view=0.7, light=0.4))
    b, _ = apply(img, masks, np.random.default_rng(9), Perturbation(view=0.7, light=0.4))
    c, _ = apply(img, masks, np.random.default_rng(10), Perturbation(view=0.7, light=0.4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_apply_to_sample_warps_parts_and_anomaly_mask() -> None:
    img, masks = scene_image()
    sample = Sample(
        image=img,
        parts=[Part("a", masks[0]), Part("b", masks[1], {"k": 1})],
        defect="d",
        anomaly_type="position",
        reason="r",
        anomaly_mask=masks[1].copy(),
    )
    out = apply_to_sample(sample, np.random.default_rng(2), Perturbation(view=0.8, blur=0.1))
    assert out is not sample and sample.image is img
    assert [p.label for p in out.parts] == ["a", "b"]
    assert out.parts[1].attributes == {"k": 1}
    assert np.array_equal(out.anomaly_mask, out.parts[1].mask)
    assert not np.array_equal(out.parts[0].mask, masks[0])
    assert out.defect == "d" and out.reason == "r"
