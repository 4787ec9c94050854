"""The juice_bottle generator against its spec.

Each rule of ``prompts/categories/juice_bottle.yaml`` is written below as a plain Python check
on the ground-truth scene, following the rule text literally (box centres, heights as a
fraction of the bottle box, a rule about an absent part holds trivially). Good images must
pass every check; an image of a defect must fail exactly the rules whose ``guards`` name it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from logicode import mask as rle
from logicode.data.synth import get_generator
from logicode.data.synth.perturb import Perturbation, apply_to_sample
from logicode.data.synth.writer import scene_from_sample
from logicode.scene import Component, Scene
from logicode.spec import load_spec

SPEC = load_spec("juice_bottle")
GEN = get_generator("juice_bottle")
KNOWN = {"cherry", "orange", "banana"}


# --- measurements on a scene --------------------------------------------------------------


def comps(scene: Scene, label: str) -> list[Component]:
    return [c for c in scene.components if c.label == label]


def centre(c: Component) -> tuple[float, float]:
    x0, y0, x1, y1 = c.bbox
    return ((x0 + x1) / 2, (y0 + y1) / 2)


def decoded(c: Component) -> np.ndarray:
    assert c.mask is not None
    return rle.decode(c.mask.model_dump())


def point_in(c: Component, p: tuple[float, float]) -> bool:
    m = decoded(c)
    x, y = int(p[0]), int(p[1])
    return 0 <= y < m.shape[0] and 0 <= x < m.shape[1] and bool(m[y, x])


def in_box(c: Component, p: tuple[float, float]) -> bool:
    x0, y0, x1, y1 = c.bbox
    return x0 <= p[0] <= x1 and y0 <= p[1] <= y1


def tilt_deg(c: Component) -> float:
    """Rotation of the component's rectangle from the image axes (0..45 degrees)."""
    m = decoded(c).astype(np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    angle = cv2.minAreaRect(max(contours, key=cv2.contourArea))[2] % 90.0
    return min(angle, 90.0 - angle)


def the_bottle(scene: Scene) -> Component:
    (b,) = comps(scene, "bottle")
    return b


def rel_height(scene: Scene, y: float) -> float:
    x0, y0, x1, y1 = the_bottle(scene).bbox
    return (y - y0) / (y1 - y0)


def centred_x(scene: Scene, c: Component, tol: float) -> bool:
    x0, _, x1, _ = the_bottle(scene).bbox
    return abs(centre(c)[0] - (x0 + x1) / 2) <= tol * (x1 - x0)


# --- the spec's rules as checks ------------------------------------------------------------


def one_bottle(s: Scene) -> bool:
    return len(comps(s, "bottle")) == 1


def bottle_filled(s: Scene) -> bool:
    liquids = comps(s, "liquid")
    if len(liquids) != 1:
        return False
    inside = decoded(liquids[0]) & decoded(the_bottle(s))
    return inside.sum() >= 0.98 * liquids[0].area


def fill_level(s: Scene) -> bool:
    return all(0.16 <= rel_height(s, c.bbox[1]) <= 0.24 for c in comps(s, "liquid"))


def known_juice(s: Scene) -> bool:
    return all(c.attributes.get("juice") in KNOWN for c in comps(s, "liquid"))


def label_present(label: str) -> Callable[[Scene], bool]:
    def check(s: Scene) -> bool:
        found = comps(s, label)
        return len(found) == 1 and point_in(the_bottle(s), centre(found[0]))

    return check


def labels_order(s: Scene) -> bool:
    top, bottom = comps(s, "top_label"), comps(s, "bottom_label")
    if len(top) != 1 or len(bottom) != 1:
        return True
    return centre(bottom[0])[1] > centre(top[0])[1]


def label_placed(label: str, lo: float, hi: float) -> Callable[[Scene], bool]:
    def check(s: Scene) -> bool:
        return all(
            centred_x(s, c, 0.04) and lo <= rel_height(s, centre(c)[1]) <= hi
            for c in comps(s, label)
        )

    return check


def labels_upright(s: Scene) -> bool:
    return all(tilt_deg(c) <= 3.0 for c in comps(s, "top_label") + comps(s, "bottom_label"))


def icon_present(s: Scene) -> bool:
    top, icons = comps(s, "top_label"), comps(s, "fruit_icon")
    return len(top) == 1 and len(icons) == 1 and in_box(top[0], centre(icons[0]))


def icon_centred(s: Scene) -> bool:
    top = comps(s, "top_label")
    if len(top) != 1:
        return True
    x0, y0, x1, y1 = top[0].bbox
    lx, ly = centre(top[0])
    for icon in comps(s, "fruit_icon"):
        ix, iy = centre(icon)
        if abs(ix - lx) > 0.10 * (x1 - x0) or abs(iy - ly) > 0.10 * (y1 - y0):
            return False
    return True


def icon_known(s: Scene) -> bool:
    return all(c.attributes.get("kind") in KNOWN for c in comps(s, "fruit_icon"))


def icon_matches_juice(s: Scene) -> bool:
    icons, liquids = comps(s, "fruit_icon"), comps(s, "liquid")
    if not icons or not liquids:
        return True
    juices = {c.attributes.get("juice") for c in liquids}
    return all(
        i.attributes.get("kind") in KNOWN and juices == {i.attributes.get("kind")} for i in icons
    )


CHECKS: dict[str, Callable[[Scene], bool]] = {
    "one_bottle": one_bottle,
    "bottle_filled": bottle_filled,
    "fill_level": fill_level,
    "known_juice": known_juice,
    "top_label_present": label_present("top_label"),
    "bottom_label_present": label_present("bottom_label"),
    "labels_order": labels_order,
    "top_label_placed": label_placed("top_label", 0.40, 0.60),
    "bottom_label_placed": label_placed("bottom_label", 0.75, 0.92),
    "labels_upright": labels_upright,
    "icon_present": icon_present,
    "icon_centred": icon_centred,
    "icon_known": icon_known,
    "icon_matches_juice": icon_matches_juice,
}


def failing(scene: Scene) -> set[str]:
    return {rule for rule, check in CHECKS.items() if not check(scene)}


def render_scene(seed: int, defect: str | None) -> Scene:
    sample = GEN.render(np.random.default_rng(seed), defect)
    return scene_from_sample(sample, "juice_bottle")


# --- tests --------------------------------------------------------------------------------


def test_checks_cover_exactly_the_spec_rules() -> None:
    assert set(CHECKS) == {r.id for r in SPEC.rules}


def test_generator_defects_are_spec_defects_with_guarding_rules() -> None:
    assert GEN.category == "juice_bottle"
    assert len(GEN.defects) >= 14
    spec_defects = {d.name for d in SPEC.defects}
    for defect in GEN.defects:
        assert defect in spec_defects
        assert SPEC.rules_guarding(defect), f"no spec rule guards {defect}"


@pytest.mark.parametrize("seed", range(6))
def test_good_images_pass_every_rule(seed: int) -> None:
    scene = render_scene(seed, None)
    assert scene.label is not None and scene.label.kind.value == "good"
    scene.check_vocabulary(SPEC.vocabulary)
    assert failing(scene) == set()
    assert scene.counts() == {
        "bottle": 1,
        "liquid": 1,
        "top_label": 1,
        "fruit_icon": 1,
        "bottom_label": 1,
    }


@pytest.mark.parametrize("defect", GEN.defects)
def test_defect_fails_exactly_its_guarding_rules(defect: str) -> None:
    expected = {r.id for r in SPEC.rules_guarding(defect)}
    assert expected
    for seed in range(3):
        sample = GEN.render(np.random.default_rng(100 + seed), defect)
        assert sample.defect == defect
        assert sample.anomaly_type == SPEC.defect(defect).anomaly_type.value
        assert sample.reason and "\n" not in sample.reason
        assert sample.anomaly_mask is not None and sample.anomaly_mask.sum() > 500
        scene = scene_from_sample(sample, "juice_bottle")
        assert failing(scene) == expected, f"{defect} seed {seed}: {sample.reason}"


@pytest.mark.parametrize("seed", range(3))
def test_good_images_pass_under_mild_perturbation(seed: int) -> None:
    mild = Perturbation(blur=0.3, light=0.3, view=0.2)
    sample = GEN.render(np.random.default_rng(200 + seed), None)
    perturbed = apply_to_sample(sample, np.random.default_rng(seed), mild)
    assert not np.array_equal(perturbed.image, sample.image)
    assert failing(scene_from_sample(perturbed, "juice_bottle")) == set()


def test_render_is_deterministic_and_varies_with_seed() -> None:
    a = GEN.render(np.random.default_rng(7), "swapped_labels")
    b = GEN.render(np.random.default_rng(7), "swapped_labels")
    c = GEN.render(np.random.default_rng(8), "swapped_labels")
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.anomaly_mask, b.anomaly_mask)
    assert not np.array_equal(a.image, c.image)
    assert a.image.shape == (1600, 800, 3) and a.image.dtype == np.uint8


def test_juices_have_their_colour_names() -> None:
    seen: dict[str, set[str]] = {}
    for seed in range(12):
        scene = render_scene(300 + seed, None)
        (liquid,) = comps(scene, "liquid")
        assert liquid.color is not None
        seen.setdefault(str(liquid.attributes["juice"]), set()).add(liquid.color.name)
    assert set(seen) == KNOWN
    assert seen["cherry"] <= {"red"}
    assert seen["orange"] <= {"orange", "yellow"}
    assert seen["banana"] <= {"white", "gray"}


def _real_root() -> Path:
    env = os.environ.get("LOGICODE_JUICE_BOTTLE")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    return repo.parent / "shared" / "data" / "mvtec_loco_juice_bottle"


def test_bottle_geometry_matches_real_images() -> None:
    root = _real_root()
    files = sorted((root / "train" / "good").glob("*.png"))[:5]
    if not files:
        pytest.skip(f"real juice_bottle data not found at {root}")
    heights, widths = [], []
    for f in files:
        grey = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        rows = np.nonzero((grey > 40).sum(axis=1) > 20)[0]
        cols = np.nonzero((grey[rows.min() + 600 : rows.max() - 100] > 40).sum(axis=0) > 100)[0]
        heights.append(rows.max() - rows.min())
        widths.append(cols.max() - cols.min())
    bottle = the_bottle(render_scene(0, None))
    x0, y0, x1, y1 = bottle.bbox
    assert abs((y1 - y0) - np.median(heights)) / np.median(heights) < 0.04
    assert abs((x1 - x0) - np.median(widths)) / np.median(widths) < 0.06
