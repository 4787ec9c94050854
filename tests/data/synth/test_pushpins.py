"""Pushpins generator vs. its spec: every rule written as plain Python on the ground-truth scene."""

from __future__ import annotations

import colorsys
import statistics
from collections.abc import Callable

import numpy as np
import pytest

from logicode.data.synth import pushpins
from logicode.data.synth.base import Sample
from logicode.measure import component_from_mask
from logicode.scene import Component, ImageInfo, Scene
from logicode.spec import CategorySpec, load_spec

GOOD_SEEDS = (0, 1, 2, 3)
DEFECT_SEEDS = (0, 1)


def scene_of(sample: Sample) -> Scene:
    h, w = sample.image.shape[:2]
    comps = [
        component_from_mask(
            f"c{i}", p.label, p.mask, sample.image, attributes=p.attributes, keep_mask=False
        )
        for i, p in enumerate(sample.parts)
    ]
    return Scene(
        image=ImageInfo(path="synthetic.png", width=w, height=h),
        category="pushpins",
        components=comps,
    )


def of(scene: Scene, label: str) -> list[Component]:
    return [c for c in scene.components if c.label == label]


def inside(c: Component, point: tuple[float, float]) -> bool:
    x0, y0, x1, y1 = c.bbox
    return x0 <= point[0] < x1 and y0 <= point[1] < y1


# --- the spec's rules, one plain check each -------------------------------------------


def one_box(s: Scene) -> bool:
    return len(of(s, "box")) == 1


def compartment_grid(s: Scene) -> bool:
    cells = [(c.attributes.get("row"), c.attributes.get("col")) for c in of(s, "compartment")]
    expected = {(r, c) for r in range(3) for c in range(5)}
    return len(cells) == 15 and set(cells) == expected


def compartments_same_size(s: Scene) -> bool:
    areas = [c.area for c in of(s, "compartment")]
    if not areas:
        return False
    med = statistics.median(areas)
    return all(abs(a - med) <= 0.25 * med for a in areas)


def separator_count(s: Scene) -> bool:
    return len(of(s, "separator")) == 22


def pushpin_count(s: Scene) -> bool:
    return len(of(s, "pushpin")) == 15


def one_pushpin_per_compartment(s: Scene) -> bool:
    pins = of(s, "pushpin")
    return all(sum(inside(c, p.centroid) for p in pins) == 1 for c in of(s, "compartment"))


def pushpins_inside_compartments(s: Scene) -> bool:
    comps = of(s, "compartment")
    return all(any(inside(c, p.centroid) for c in comps) for p in of(s, "pushpin"))


def yellow_heads(s: Scene) -> bool:
    return all(p.color is not None and p.color.name == "yellow" for p in of(s, "pushpin"))


RULES: dict[str, Callable[[Scene], bool]] = {
    "one_box": one_box,
    "compartment_grid": compartment_grid,
    "compartments_same_size": compartments_same_size,
    "separator_count": separator_count,
    "pushpin_count": pushpin_count,
    "one_pushpin_per_compartment": one_pushpin_per_compartment,
    "pushpins_inside_compartments": pushpins_inside_compartments,
    "yellow_heads": yellow_heads,
}


def failing(scene: Scene) -> set[str]:
    return {rid for rid, check in RULES.items() if not check(scene)}


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> CategorySpec:
    return load_spec("pushpins")


@pytest.fixture(scope="module")
def gen() -> pushpins.PushpinsGenerator:
    return pushpins.make()


# --- tests ------------------------------------------------------------------------------


def test_spec_loads_with_a_check_per_rule(spec: CategorySpec) -> None:
    assert spec.category == "pushpins"
    assert (spec.image.width, spec.image.height) == (pushpins.WIDTH, pushpins.HEIGHT)
    assert {r.id for r in spec.rules} == set(RULES)
    assert set(spec.vocabulary) == {"box", "compartment", "separator", "pushpin"}


def test_generator_defects_are_spec_defects(gen: pushpins.PushpinsGenerator, spec: CategorySpec):
    assert gen.category == "pushpins"
    assert gen.defects
    for d in gen.defects:
        assert spec.defect(d).anomaly_type.value == pushpins.ANOMALY_TYPES[d]
        assert spec.rules_guarding(d), f"no rule guards {d}"


@pytest.mark.parametrize("seed", GOOD_SEEDS)
def test_good_image_passes_every_rule_with_clear_margins(
    gen: pushpins.PushpinsGenerator, seed: int
) -> None:
    sample = gen.render(np.random.default_rng(seed))
    assert sample.image.shape == (pushpins.HEIGHT, pushpins.WIDTH, 3)
    assert sample.image.dtype == np.uint8
    assert sample.defect is None and sample.anomaly_type is None
    assert sample.anomaly_mask is None and sample.reason == ""
    scene = scene_of(sample)
    assert failing(scene) == set()
    # margins: perception noise must not flip a verdict
    comps = of(scene, "compartment")
    areas = [c.area for c in comps]
    assert max(areas) / min(areas) < 1.1
    for p in of(scene, "pushpin"):
        x, y = p.centroid
        holders = [c for c in comps if inside(c, p.centroid)]
        assert len(holders) == 1
        x0, y0, x1, y1 = holders[0].bbox
        assert min(x - x0, x1 - x, y - y0, y1 - y) > 40
        r, g, b = (v / 255 for v in p.color.rgb)
        hue = colorsys.rgb_to_hsv(r, g, b)[0] * 360
        assert 46 <= hue <= 62
    masks = [p.mask for p in sample.parts if p.label == "pushpin"]
    total = np.sum(masks, axis=0)
    assert total.max() == 1, "pushpins overlap"
    box = next(p.mask for p in sample.parts if p.label == "box")
    assert not (total.astype(bool) & ~box).any()


@pytest.mark.parametrize("seed", DEFECT_SEEDS)
@pytest.mark.parametrize("defect", list(pushpins.ANOMALY_TYPES))
def test_defect_breaks_exactly_its_guarding_rules(
    gen: pushpins.PushpinsGenerator, spec: CategorySpec, defect: str, seed: int
) -> None:
    sample = gen.render(np.random.default_rng(100 + seed), defect)
    assert sample.defect == defect
    assert sample.anomaly_type == spec.defect(defect).anomaly_type.value
    assert sample.reason and "\n" not in sample.reason
    assert sample.anomaly_mask is not None
    assert sample.anomaly_mask.shape == sample.image.shape[:2]
    assert sample.anomaly_mask.dtype == bool and sample.anomaly_mask.any()
    expected = {r.id for r in spec.rules_guarding(defect)}
    assert expected
    assert failing(scene_of(sample)) == expected


def test_anomaly_mask_covers_the_anomaly(gen: pushpins.PushpinsGenerator) -> None:
    sample = gen.render(np.random.default_rng(5), "color")
    wrong = [
        p for p in sample.parts if p.label == "pushpin" and p.attributes["head_color"] != "yellow"
    ]
    assert len(wrong) == 1
    assert np.array_equal(sample.anomaly_mask, wrong[0].mask)
    sample = gen.render(np.random.default_rng(5), "missing_pushpin")
    pins = [p.mask for p in sample.parts if p.label == "pushpin"]
    assert not (sample.anomaly_mask & np.any(pins, axis=0)).any()


def test_render_is_deterministic(gen: pushpins.PushpinsGenerator) -> None:
    a = gen.render(np.random.default_rng(7), "missing_separator")
    b = gen.render(np.random.default_rng(7), "missing_separator")
    assert np.array_equal(a.image, b.image)
    assert [p.label for p in a.parts] == [p.label for p in b.parts]
    assert all(np.array_equal(p.mask, q.mask) for p, q in zip(a.parts, b.parts, strict=True))
    assert np.array_equal(a.anomaly_mask, b.anomaly_mask)
    c = gen.render(np.random.default_rng(8), "missing_separator")
    assert not np.array_equal(a.image, c.image)


def test_unknown_defect_is_refused(gen: pushpins.PushpinsGenerator) -> None:
    with pytest.raises(ValueError, match="cannot render"):
        gen.render(np.random.default_rng(0), "no_such_defect")
