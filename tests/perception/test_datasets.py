"""Perception on a small synthetic dataset (ground truth) and on real juice_bottle images.

The real-data test reads ``../shared/data/mvtec_loco_juice_bottle`` (or the folder named by
``LOGICODE_JUICE_BOTTLE``) and the LabelMe references in ``examples/juice_bottle/refs``; it
is skipped where the data are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from logicode.data.loco import LocoDataset
from logicode.perception.evaluate import score_scene
from logicode.perception.pipeline import Perception
from logicode.perception.refs import load_references
from logicode.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
REAL = Path(
    os.environ.get(
        "LOGICODE_JUICE_BOTTLE", REPO.parent / "shared" / "data" / "mvtec_loco_juice_bottle"
    )
)
REFS = REPO / "examples" / "juice_bottle" / "refs"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from logicode.data.synth import generate_dataset

    root = tmp_path_factory.mktemp("synth") / "juice_bottle"
    generate_dataset(
        "juice_bottle", root, n_good=3, n_logical=3, n_train=6, n_val=0, seed=1, workers=1
    )
    return root


def test_synthetic_juice_bottle_counts_and_masks(synthetic: Path) -> None:
    spec = load_spec("juice_bottle")
    refs = load_references(synthetic, spec, max_refs=5)
    assert len(refs) == 5
    perception = Perception(spec).fit(refs)
    scores = []
    for item in LocoDataset(synthetic).iter(split="test"):
        scene = perception.describe(item.image())
        scores.append(score_scene(scene, item.scene(), spec.vocabulary))
    exact = sum(s.counts_exact for s in scores) / len(scores)
    assert exact >= 5 / 6, [s.count_errors for s in scores]
    assert min(s.mean_iou for s in scores if s.counts_exact) > 0.85


@pytest.fixture(scope="module")
def real() -> Perception:
    if not REAL.is_dir():
        pytest.skip("real juice_bottle data not available")
    spec = load_spec("juice_bottle")
    refs = load_references(REFS, spec)
    assert {r.attributes()[1].get("juice") for r in refs} >= {"orange", "banana", "cherry"}
    return Perception(spec).fit(refs)


def test_real_juice_bottle_good_images(real: Perception) -> None:
    perception, spec = real, real.spec
    ds = LocoDataset(REAL)
    for name in ("000.png", "001.png"):
        scene = perception.describe_file(ds.get(f"validation/good/{name}").path)
        assert scene.counts() == dict.fromkeys(spec.vocabulary, 1), scene.counts()
        bottle = next(c for c in scene.components if c.label == "bottle")
        liquid = next(c for c in scene.components if c.label == "liquid")
        fill = (liquid.bbox[1] - bottle.bbox[1]) / (bottle.bbox[3] - bottle.bbox[1])
        assert 0.15 < fill < 0.25
        assert liquid.attributes["juice"] in ("orange", "banana", "cherry")


@pytest.mark.parametrize(
    ("image", "want"),
    [
        # a bright juice shoulder above the top label, as sure as the paper of the label
        ("validation/good/003.png", {"top_label": 1, "fruit_icon": 1, "bottom_label": 1}),
        # a banana icon drawn larger than the references' is one icon, not two
        ("validation/good/009.png", {"top_label": 1, "fruit_icon": 1}),
        # no labels: the liquid fills their holes and is one region
        ("test/logical_anomalies/000.png", {"liquid": 1, "top_label": 0, "bottom_label": 0}),
        # no top label: a scrap of icon colour on the bottle is no icon (the bright juice
        # there is still taken for a top label: a known miss without fine texture)
        ("test/logical_anomalies/072.png", {"fruit_icon": 0, "bottom_label": 1}),
    ],
)
def test_real_juice_bottle_hard_cases(real: Perception, image: str, want: dict[str, int]) -> None:
    scene = real.describe_file(LocoDataset(REAL).get(image).path)
    got = scene.counts()
    assert {k: got.get(k, 0) for k in want} == want, got
