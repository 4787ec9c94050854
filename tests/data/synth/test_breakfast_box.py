"""Breakfast box generator vs. its spec: every rule as plain Python on the ground-truth scene."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from logicode.data.synth import breakfast_box
from logicode.data.synth.base import Sample
from logicode.measure import component_from_mask
from logicode.scene import Component, ImageInfo, Scene
from logicode.spec import CategorySpec, load_spec

GOOD_SEEDS = (0, 1, 2, 3)
DEFECT_SEEDS = (0, 1)  # rendered with seed 100 + s; wrong_ratio: 100 chip-heavy, 101 almond-heavy


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
        category="breakfast_box",
        components=comps,
    )


def of(scene: Scene, *labels: str) -> list[Component]:
    return [c for c in scene.components if c.label in labels]


def one(scene: Scene, label: str) -> Component | None:
    found = of(scene, label)
    return found[0] if len(found) == 1 else None


# --- the spec's rules, one plain check each -------------------------------------------


def one_box(s: Scene) -> bool:
    return len(of(s, "box")) == 1


def one_divider(s: Scene) -> bool:
    box, div = one(s, "box"), of(s, "divider")
    if box is None or len(div) != 1:
        return False
    x0, y0, x1, y1 = box.bbox
    cx, cy = div[0].centroid
    return x0 <= cx <= x1 and y0 <= cy <= y1


def tangerine_count(s: Scene) -> bool:
    return len(of(s, "tangerine")) == 2


def nectarine_count(s: Scene) -> bool:
    return len(of(s, "nectarine")) == 1


def fruit_left(s: Scene) -> bool:
    div = one(s, "divider")
    return div is not None and all(
        f.centroid[0] < div.centroid[0] for f in of(s, "tangerine", "nectarine")
    )


def cereals_present(s: Scene) -> bool:
    return len(of(s, "cereals")) == 1


def banana_chips_present(s: Scene) -> bool:
    return len(of(s, "banana_chips")) == 1


def almonds_present(s: Scene) -> bool:
    return len(of(s, "almonds")) == 1


def cereals_upper_right(s: Scene) -> bool:
    div, box = one(s, "divider"), one(s, "box")
    if div is None or box is None:
        return False
    return all(
        c.centroid[0] > div.centroid[0] and c.centroid[1] < box.centroid[1]
        for c in of(s, "cereals")
    )


def toppings_lower_right(s: Scene) -> bool:
    div, box = one(s, "divider"), one(s, "box")
    if div is None or box is None:
        return False
    return all(
        c.centroid[0] > div.centroid[0] and c.centroid[1] > box.centroid[1]
        for c in of(s, "banana_chips", "almonds")
    )


def cereals_amount(s: Scene) -> bool:
    box = one(s, "box")
    if box is None:
        return False
    return all(0.17 <= c.area / box.area <= 0.30 for c in of(s, "cereals"))


def toppings_ratio(s: Scene) -> bool:
    chips, almonds = of(s, "banana_chips"), of(s, "almonds")
    if not chips or not almonds:
        return True
    ratio = sum(c.area for c in chips) / sum(a.area for a in almonds)
    return 0.5 <= ratio <= 2.0


RULES: dict[str, Callable[[Scene], bool]] = {
    "one_box": one_box,
    "one_divider": one_divider,
    "tangerine_count": tangerine_count,
    "nectarine_count": nectarine_count,
    "fruit_left": fruit_left,
    "cereals_present": cereals_present,
    "banana_chips_present": banana_chips_present,
    "almonds_present": almonds_present,
    "cereals_upper_right": cereals_upper_right,
    "toppings_lower_right": toppings_lower_right,
    "cereals_amount": cereals_amount,
    "toppings_ratio": toppings_ratio,
}


def failing(scene: Scene) -> set[str]:
    return {rid for rid, check in RULES.items() if not check(scene)}


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> CategorySpec:
    return load_spec("breakfast_box")


@pytest.fixture(scope="module")
def gen() -> breakfast_box.BreakfastBoxGenerator:
    return breakfast_box.make()


# --- tests ------------------------------------------------------------------------------


def test_spec_loads_with_a_check_per_rule(spec: CategorySpec) -> None:
    assert spec.category == "breakfast_box"
    assert (spec.image.width, spec.image.height) == (breakfast_box.WIDTH, breakfast_box.HEIGHT)
    assert {r.id for r in spec.rules} == set(RULES)
    assert set(spec.vocabulary) == {
        "box",
        "divider",
        "tangerine",
        "nectarine",
        "cereals",
        "banana_chips",
        "almonds",
    }


def test_generator_defects_are_spec_defects(
    gen: breakfast_box.BreakfastBoxGenerator, spec: CategorySpec
) -> None:
    assert gen.category == "breakfast_box"
    kinds = set()
    for d in gen.defects:
        assert spec.defect(d).anomaly_type.value == breakfast_box.ANOMALY_TYPES[d]
        assert spec.rules_guarding(d), f"no rule guards {d}"
        kinds.add(breakfast_box.ANOMALY_TYPES[d])
    assert kinds >= {"quantity", "size", "position", "matching"}
    assert set(gen.saturation) <= set(gen.defects)


@pytest.mark.parametrize("seed", GOOD_SEEDS)
def test_good_image_passes_every_rule_with_clear_margins(
    gen: breakfast_box.BreakfastBoxGenerator, seed: int
) -> None:
    sample = gen.render(np.random.default_rng(seed))
    assert sample.image.shape == (breakfast_box.HEIGHT, breakfast_box.WIDTH, 3)
    assert sample.image.dtype == np.uint8
    assert sample.defect is None and sample.anomaly_type is None
    assert sample.anomaly_mask is None and sample.reason == ""
    s = scene_of(sample)
    assert failing(s) == set()
    # margins: perception noise must not flip a verdict
    box, div = one(s, "box"), one(s, "divider")
    cereals = one(s, "cereals")
    assert 0.19 <= cereals.area / box.area <= 0.28
    ratio = one(s, "banana_chips").area / one(s, "almonds").area
    assert 0.7 <= ratio <= 1.5
    for f in of(s, "tangerine", "nectarine"):
        assert div.centroid[0] - f.centroid[0] > 100
    assert box.centroid[1] - cereals.centroid[1] > 100
    for t in of(s, "banana_chips", "almonds"):
        assert t.centroid[1] - box.centroid[1] > 100
        assert t.centroid[0] - div.centroid[0] > 100
    items = [p.mask for p in sample.parts if p.label != "box"]
    assert np.sum(items, axis=0).max() == 1, "item masks overlap"
    box_mask = next(p.mask for p in sample.parts if p.label == "box")
    assert not (np.any(items, axis=0) & ~box_mask).any()


# two seeds per defect, one for the fruit-count family (eight variants of the same two rules)
DEFECT_CASES = [
    (d, seed)
    for d in breakfast_box.ANOMALY_TYPES
    for seed in (DEFECT_SEEDS[:1] if d in breakfast_box.FRUIT_COUNTS else DEFECT_SEEDS)
]


@pytest.mark.parametrize(("defect", "seed"), DEFECT_CASES)
def test_defect_breaks_exactly_its_guarding_rules(
    gen: breakfast_box.BreakfastBoxGenerator, spec: CategorySpec, defect: str, seed: int
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
    s = scene_of(sample)
    assert failing(s) == expected
    # margins: the violated quantity is far outside the allowed range
    if defect in ("overflow", "underflow"):
        share = one(s, "cereals").area / one(s, "box").area
        assert share > 0.33 if defect == "overflow" else share < 0.14
    if defect == "wrong_ratio":
        ratio = one(s, "banana_chips").area / one(s, "almonds").area
        assert ratio > 3.0 or ratio < 1 / 3.0


def test_render_is_deterministic(gen: breakfast_box.BreakfastBoxGenerator) -> None:
    a = gen.render(np.random.default_rng(7), "compartments_swapped")
    b = gen.render(np.random.default_rng(7), "compartments_swapped")
    assert np.array_equal(a.image, b.image)
    assert [p.label for p in a.parts] == [p.label for p in b.parts]
    assert all(np.array_equal(p.mask, q.mask) for p, q in zip(a.parts, b.parts, strict=True))
    assert np.array_equal(a.anomaly_mask, b.anomaly_mask)
    c = gen.render(np.random.default_rng(8), "compartments_swapped")
    assert not np.array_equal(a.image, c.image)


def test_unknown_defect_is_refused(gen: breakfast_box.BreakfastBoxGenerator) -> None:
    with pytest.raises(ValueError, match="cannot render"):
        gen.render(np.random.default_rng(0), "mixed_cereals")
