"""The splicing_connectors generator against its spec: every rule as plain Python on the scene."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from logicode.data.synth.base import Sample
from logicode.data.synth.splicing_connectors import make
from logicode.measure import component_from_mask
from logicode.scene import Component, ImageInfo, Scene
from logicode.spec import load_spec

COLOR_OF = {2: "yellow", 3: "blue", 5: "red"}
LENGTH_BAND = (0.37, 0.50)


def to_scene(sample: Sample) -> Scene:
    h, w = sample.image.shape[:2]
    comps = [
        component_from_mask(f"c{i}", p.label, p.mask, sample.image, attributes=p.attributes)
        for i, p in enumerate(sample.parts)
    ]
    return Scene(
        image=ImageInfo(path="synthetic.png", width=w, height=h),
        category="splicing_connectors",
        components=comps,
    )


def of(scene: Scene, label: str) -> list[Component]:
    return [c for c in scene.components if c.label == label]


def r_two_connectors(scene: Scene, slack: float) -> bool:
    cons = of(scene, "connector")
    half = scene.image.width / 2
    return len(cons) == 2 and sorted(c.centroid[0] < half for c in cons) == [False, True]


def r_same_type(scene: Scene, slack: float) -> bool:
    cons = of(scene, "connector")
    return len(cons) != 2 or cons[0].attributes["clamps"] == cons[1].attributes["clamps"]


def r_color(scene: Scene, slack: float) -> bool:
    counts = {c.attributes["clamps"] for c in of(scene, "connector")}
    if len(counts) != 1:
        return True
    want = COLOR_OF.get(int(counts.pop()))
    return all(c.attributes["color"] == want for c in of(scene, "cable"))


def r_plugged(scene: Scene, slack: float) -> bool:
    return all(
        c.attributes["left_clamp"] is not None and c.attributes["right_clamp"] is not None
        for c in of(scene, "cable")
    )


def r_mirrored(scene: Scene, slack: float) -> bool:
    return all(
        c.attributes["left_clamp"] == c.attributes["right_clamp"]
        for c in of(scene, "cable")
        if c.attributes["left_clamp"] is not None and c.attributes["right_clamp"] is not None
    )


def r_length(scene: Scene, slack: float) -> bool:
    w = scene.image.width
    lo, hi = LENGTH_BAND
    return all(
        (lo - slack) * w <= float(c.attributes["length"]) <= (hi + slack) * w
        for c in of(scene, "cable")
    )


CHECKS: dict[str, Callable[[Scene, float], bool]] = {
    "two_connectors": r_two_connectors,
    "one_cable": lambda s, _: len(of(s, "cable")) == 1,
    "known_connector_type": lambda s, _: all(
        c.attributes["clamps"] in (2, 3, 5) for c in of(s, "connector")
    ),
    "same_connector_type": r_same_type,
    "cable_color_matches": r_color,
    "cable_plugged_both_ends": r_plugged,
    "cable_mirrored": r_mirrored,
    "cable_length": r_length,
    "cable_intact": lambda s, _: all(c.attributes["pieces"] == 1 for c in of(s, "cable")),
}

# Good images must pass with the length band narrowed by MARGIN (fraction of the image width),
# anomalies must fail with it widened.
MARGIN = 0.03


def failing(scene: Scene, slack: float) -> set[str]:
    return {rid for rid, check in CHECKS.items() if not check(scene, slack)}


def clamp_at(cable: np.ndarray, connector: np.ndarray, clamps: int) -> int:
    """Clamp index (1 = top) where the cable's visible pixels touch the connector."""
    touch = cv2.dilate(connector.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    ys, _ = np.nonzero(touch & cable)
    cys, _ = np.nonzero(connector)
    top, height = cys.min(), cys.max() - cys.min() + 1
    return int((ys.mean() - top) / (height / clamps)) + 1


@pytest.fixture(scope="module")
def spec():
    return load_spec("splicing_connectors")


@pytest.fixture(scope="module")
def gen():
    return make()


def test_spec_loads_and_checks_cover_rules(spec) -> None:
    assert spec.category == "splicing_connectors"
    assert {r.id for r in spec.rules} == set(CHECKS)
    assert spec.vocabulary == ["connector", "cable"]
    names = [a.name for a in spec.component("cable").attributes]
    assert names == ["color", "left_clamp", "right_clamp", "length", "pieces"]


def test_generator_defects_are_spec_defects(spec, gen) -> None:
    assert gen.category == "splicing_connectors"
    assert set(gen.defects) <= {d.name for d in spec.defects}
    assert len(gen.defects) == len(set(gen.defects)) >= 9


@pytest.mark.parametrize("seed", range(8))
def test_good_images_pass_every_rule_with_margin(gen, seed: int) -> None:
    sample = gen.render(np.random.default_rng(seed))
    assert sample.defect is None and sample.anomaly_mask is None
    assert sample.image.shape == (850, 1700, 3) and sample.image.dtype == np.uint8
    scene = to_scene(sample)
    assert failing(scene, -MARGIN) == set()
    assert scene.counts() == {"connector": 2, "cable": 1}


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize(
    "defect", [None, "wrong_cable_location", "wrong_connector_type_5_2", "cable_color"]
)
def test_cable_attributes_agree_with_pixels(gen, seed: int, defect: str | None) -> None:
    sample = gen.render(np.random.default_rng(300 + seed), defect)
    cons = sorted(
        (p for p in sample.parts if p.label == "connector"),
        key=lambda p: np.nonzero(p.mask)[1].mean(),
    )
    (cable,) = (p for p in sample.parts if p.label == "cable")
    left, right = cons
    assert (
        clamp_at(cable.mask, left.mask, left.attributes["clamps"]) == cable.attributes["left_clamp"]
    )
    assert (
        clamp_at(cable.mask, right.mask, right.attributes["clamps"])
        == cable.attributes["right_clamp"]
    )
    n, _ = cv2.connectedComponents(cable.mask.astype(np.uint8))
    assert n - 1 == cable.attributes["pieces"] == 1
    r, g, b = sample.image[cable.mask].mean(axis=0)
    hue = {"yellow": r > b + 60 and g > b + 60, "blue": b > r + 60, "red": r > g + 60}
    assert hue[cable.attributes["color"]]
    # A 22 px thick tube: its visible area is about thickness x length.
    assert (
        abs(cable.mask.sum() / 22.0 - cable.attributes["length"]) < 0.1 * cable.attributes["length"]
    )


def test_cut_cable_is_two_pieces_in_pixels(gen) -> None:
    sample = gen.render(np.random.default_rng(5), "cable_cut")
    (cable,) = (p for p in sample.parts if p.label == "cable")
    n, _, stats, _ = cv2.connectedComponentsWithStats(cable.mask.astype(np.uint8))
    assert cable.attributes["pieces"] == 2
    assert sum(stats[1:, cv2.CC_STAT_AREA] > 500) == 2


@pytest.mark.parametrize("defect", make().defects)
def test_each_defect_breaks_exactly_its_guarding_rules(spec, gen, defect: str) -> None:
    expected = {r.id for r in spec.rules_guarding(defect)}
    assert expected, f"no rule guards {defect}"
    for seed in range(3):
        sample = gen.render(np.random.default_rng(1000 + seed), defect)
        assert sample.defect == defect
        assert sample.anomaly_type == spec.defect(defect).anomaly_type.value
        assert sample.reason
        assert sample.anomaly_mask is not None and sample.anomaly_mask.any()
        scene = to_scene(sample)
        assert failing(scene, MARGIN) == expected, (defect, seed)
        assert failing(scene, -MARGIN) == expected, (defect, seed)


def test_same_seed_same_sample(gen) -> None:
    a = gen.render(np.random.default_rng(11), "extra_cable")
    b = gen.render(np.random.default_rng(11), "extra_cable")
    assert np.array_equal(a.image, b.image)
    assert [p.attributes for p in a.parts] == [p.attributes for p in b.parts]
    assert all(np.array_equal(p.mask, q.mask) for p, q in zip(a.parts, b.parts, strict=True))
    c = gen.render(np.random.default_rng(12), "extra_cable")
    assert not np.array_equal(a.image, c.image)


def test_unknown_defect_is_refused(gen) -> None:
    with pytest.raises(ValueError, match="unknown splicing_connectors defect"):
        gen.render(np.random.default_rng(0), "no_such_defect")
