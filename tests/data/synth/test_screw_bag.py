"""The screw_bag generator against its spec: every rule written as plain Python on the scene."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from logicode.data.synth.base import Sample
from logicode.data.synth.screw_bag import axis_extent, make
from logicode.measure import component_from_mask
from logicode.scene import Component, ImageInfo, Scene
from logicode.spec import load_spec

SHORT = (1.75, 2.25)
LONG = (2.70, 3.30)


def to_scene(sample: Sample) -> Scene:
    h, w = sample.image.shape[:2]
    comps = [
        component_from_mask(f"c{i}", p.label, p.mask, sample.image, attributes=p.attributes)
        for i, p in enumerate(sample.parts)
    ]
    return Scene(
        image=ImageInfo(path="synthetic.png", width=w, height=h),
        category="screw_bag",
        components=comps,
    )


def of(scene: Scene, label: str) -> list[Component]:
    return [c for c in scene.components if c.label == label]


def mean_d(scene: Scene) -> float | None:
    ws = of(scene, "washer")
    return sum(float(c.attributes["diameter"]) for c in ws) / len(ws) if ws else None


def within(x: float, band: tuple[float, float], slack: float) -> bool:
    return band[0] - slack <= x <= band[1] + slack


def count_in(scene: Scene, band: tuple[float, float], slack: float) -> int | None:
    d = mean_d(scene)
    if d is None:
        return None
    return sum(within(float(s.attributes["length"]) / d, band, slack) for s in of(scene, "screw"))


def r_parts_in_bag(scene: Scene, slack: float) -> bool:
    bags = of(scene, "bag")
    if len(bags) != 1:
        return False
    x0, y0, x1, y1 = bags[0].bbox
    return all(
        x0 <= c.centroid[0] <= x1 and y0 <= c.centroid[1] <= y1
        for c in scene.components
        if c.label != "bag"
    )


def r_washers_alike(scene: Scene, slack: float) -> bool:
    ws = of(scene, "washer")
    d = mean_d(scene)
    if len(ws) < 2 or d is None:
        return True
    tol = 0.08 + slack * 0.25
    return all(abs(float(c.attributes["diameter"]) - d) <= tol * d for c in ws)


def r_lengths(scene: Scene, slack: float) -> bool:
    d = mean_d(scene)
    if d is None:
        return True
    return all(
        within(float(s.attributes["length"]) / d, SHORT, slack)
        or within(float(s.attributes["length"]) / d, LONG, slack)
        for s in of(scene, "screw")
    )


def r_one_long(scene: Scene, slack: float) -> bool:
    n = count_in(scene, LONG, slack)
    return n is None or n == 1


def r_one_short(scene: Scene, slack: float) -> bool:
    n = count_in(scene, SHORT, slack)
    return n is None or n == 1


CHECKS: dict[str, Callable[[Scene, float], bool]] = {
    "one_bag": lambda s, _: len(of(s, "bag")) == 1,
    "parts_in_bag": r_parts_in_bag,
    "two_washers": lambda s, _: len(of(s, "washer")) == 2,
    "two_nuts": lambda s, _: len(of(s, "nut")) == 2,
    "two_screws": lambda s, _: len(of(s, "screw")) == 2,
    "washers_alike": r_washers_alike,
    "screw_lengths_allowed": r_lengths,
    "one_long_screw": r_one_long,
    "one_short_screw": r_one_short,
}

# Margins: good images must pass with bands narrowed by MARGIN, anomalies fail with bands widened.
MARGIN = 0.08


def failing(scene: Scene, slack: float) -> set[str]:
    return {rid for rid, check in CHECKS.items() if not check(scene, slack)}


@pytest.fixture(scope="module")
def spec():
    return load_spec("screw_bag")


@pytest.fixture(scope="module")
def gen():
    return make()


def test_spec_loads_and_checks_cover_rules(spec) -> None:
    assert spec.category == "screw_bag"
    assert {r.id for r in spec.rules} == set(CHECKS)
    assert spec.vocabulary == ["bag", "screw", "nut", "washer"]
    assert [a.name for a in spec.component("screw").attributes] == ["length"]
    assert [a.name for a in spec.component("washer").attributes] == ["diameter"]


def test_generator_defects_are_spec_defects(spec, gen) -> None:
    assert gen.category == "screw_bag"
    names = {d.name for d in spec.defects}
    assert set(gen.defects) <= names
    assert len(gen.defects) == len(set(gen.defects)) >= 12


@pytest.mark.parametrize("seed", range(6))
def test_good_images_pass_every_rule_with_margin(gen, seed: int) -> None:
    sample = gen.render(np.random.default_rng(seed))
    assert sample.defect is None and sample.anomaly_mask is None and sample.reason == ""
    assert sample.image.shape == (1100, 1600, 3) and sample.image.dtype == np.uint8
    scene = to_scene(sample)
    assert failing(scene, -MARGIN) == set()
    assert scene.counts() == {"bag": 1, "screw": 2, "nut": 2, "washer": 2}


@pytest.mark.parametrize("seed", range(6))
def test_good_parts_touch_or_overlap(gen, seed: int) -> None:
    sample = gen.render(np.random.default_rng(100 + seed))
    masks = [p.mask.astype(np.uint8) for p in sample.parts if p.label != "bag"]
    kernel = np.ones((5, 5), np.uint8)
    touching = 0
    for i, a in enumerate(masks):
        grown = cv2.dilate(a, kernel).astype(bool)
        touching += sum(bool((grown & b.astype(bool)).any()) for b in masks[i + 1 :])
    assert touching >= 1
    for p in sample.parts:
        assert p.mask.dtype == bool and p.mask.any()


@pytest.mark.parametrize("seed", range(3))
def test_screw_length_agrees_with_visible_mask(gen, seed: int) -> None:
    sample = gen.render(np.random.default_rng(200 + seed))
    for p in sample.parts:
        if p.label == "screw":
            seen = axis_extent(p.mask)
            assert seen <= p.attributes["length"] + 2.0
            assert seen >= 0.6 * p.attributes["length"]
        if p.label == "washer":
            assert 100 <= p.attributes["diameter"] <= 135


@pytest.mark.parametrize("defect", make().defects)
def test_each_defect_breaks_exactly_its_guarding_rules(spec, gen, defect: str) -> None:
    expected = {r.id for r in spec.rules_guarding(defect)}
    assert expected, f"no rule guards {defect}"
    for seed in range(2):
        sample = gen.render(np.random.default_rng(1000 + seed), defect)
        assert sample.defect == defect
        assert sample.anomaly_type == spec.defect(defect).anomaly_type.value
        assert sample.reason
        assert sample.anomaly_mask is not None and sample.anomaly_mask.any()
        scene = to_scene(sample)
        assert failing(scene, MARGIN) == expected, (defect, seed)
        assert failing(scene, -MARGIN) == expected, (defect, seed)


def test_same_seed_same_sample(gen) -> None:
    a = gen.render(np.random.default_rng(7), "1_missing_nut")
    b = gen.render(np.random.default_rng(7), "1_missing_nut")
    assert np.array_equal(a.image, b.image)
    assert [p.label for p in a.parts] == [p.label for p in b.parts]
    assert all(np.array_equal(p.mask, q.mask) for p, q in zip(a.parts, b.parts, strict=True))
    assert np.array_equal(a.anomaly_mask, b.anomaly_mask)
    c = gen.render(np.random.default_rng(8), "1_missing_nut")
    assert not np.array_equal(a.image, c.image)


def test_unknown_defect_is_refused(gen) -> None:
    with pytest.raises(ValueError, match="unknown screw_bag defect"):
        gen.render(np.random.default_rng(0), "no_such_defect")
