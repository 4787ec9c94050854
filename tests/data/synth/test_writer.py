from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from logicode.data.synth import available_categories, generate_dataset
from logicode.data.synth.writer import MANIFEST, defect_schedule, is_synth_dataset
from logicode.errors import DatasetError, LogicodeError
from logicode.scene import file_sha256, load_scene
from logicode.spec import load_spec

CAT = "juice_bottle"
SPEC = load_spec(CAT)
ARGS: dict[str, Any] = dict(n_train=1, n_val=1, n_good=1, n_logical=3, seed=3)
PERTURB = "view=0.1,light=0.2"


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("synth") / "a"
    summary = generate_dataset(CAT, root, perturb=PERTURB, workers=1, **ARGS)
    return root, summary


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_layout_and_summary(ds: tuple[Path, dict[str, Any]]) -> None:
    root, summary = ds
    expected = [
        "train/good/000.png",
        "validation/good/000.png",
        "test/good/000.png",
        "test/logical_anomalies/000.png",
        "test/logical_anomalies/002.png",
        "ground_truth/logical_anomalies/000/000.png",
        "ground_truth/logical_anomalies/002/000.png",
        "scenes/train/good/000.json",
        "scenes/test/logical_anomalies/002.json",
        "defects_config.json",
        MANIFEST,
    ]
    for rel in expected:
        assert (root / rel).is_file(), rel
    assert not (root / "test/logical_anomalies/003.png").exists()
    assert not list(root.rglob("*.tmp"))
    assert len(list(root.rglob("*.png"))) == 6 + 3
    assert summary["category"] == CAT and summary["root"] == str(root)
    assert summary["counts"] == {
        "train/good": 1,
        "validation/good": 1,
        "test/good": 1,
        "test/logical_anomalies": 3,
    }
    assert sum(summary["defects"].values()) == 3
    assert set(summary["defects"]) == set(defect_schedule(tuple(_gen_defects()), 3, 3))
    for name, kind in summary["defect_types"].items():
        assert kind == SPEC.defect(name).anomaly_type.value
    assert summary["seconds"] > 0
    manifest = json.loads((root / MANIFEST).read_text())
    assert manifest["category"] == CAT and manifest["seed"] == 3 and manifest["complete"]
    assert manifest["counts"] == summary["counts"]
    assert manifest["perturbation"] == {"blur": 0.0, "light": 0.2, "view": 0.1}
    assert manifest["logicode_version"]
    assert is_synth_dataset(root)


def _gen_defects() -> tuple[str, ...]:
    from logicode.data.synth import get_generator

    return tuple(get_generator(CAT).defects)


def test_defects_config_like_the_real_dataset(ds: tuple[Path, dict[str, Any]]) -> None:
    root, _ = ds
    config = json.loads((root / "defects_config.json").read_text())
    assert [c["defect_name"] for c in config] == [d.name for d in SPEC.defects]
    assert [c["pixel_value"] for c in config] == list(range(255, 255 - len(config), -1))
    for c in config:
        assert set(c) == {
            "defect_name",
            "pixel_value",
            "saturation_threshold",
            "relative_saturation",
        }
        assert isinstance(c["relative_saturation"], bool)
        assert c["saturation_threshold"] > 0
    by_name = {c["defect_name"]: c for c in config}
    assert by_name["missing_top_label"]["saturation_threshold"] == 70400
    assert by_name["missing_top_label"]["relative_saturation"] is False


def test_ground_truth_masks_carry_the_defect_pixel_value(ds: tuple[Path, dict[str, Any]]) -> None:
    root, _ = ds
    config = json.loads((root / "defects_config.json").read_text())
    value = {c["defect_name"]: c["pixel_value"] for c in config}
    for i in range(3):
        scene = load_scene(root / f"scenes/test/logical_anomalies/{i:03d}.json")
        (defect,) = scene.label.defects
        gt = cv2.imread(str(root / f"ground_truth/logical_anomalies/{i:03d}/000.png"), -1)
        assert gt.dtype == np.uint8 and gt.shape == (1600, 800)
        assert set(np.unique(gt).tolist()) == {0, value[defect]}
        assert (gt > 0).sum() > 500


def test_scenes_load_and_describe_their_images(ds: tuple[Path, dict[str, Any]]) -> None:
    root, _ = ds
    scenes = sorted((root / "scenes").rglob("*.json"))
    assert len(scenes) == 6
    for path in scenes:
        scene = load_scene(path, vocabulary=SPEC.vocabulary)
        image = (path.parent / scene.image.path).resolve()
        rel = path.relative_to(root / "scenes").with_suffix(".png")
        assert image == (root / rel).resolve()
        assert scene.image.sha256 == file_sha256(image)
        assert (scene.image.width, scene.image.height) == (800, 1600)
        assert scene.category == CAT
        assert [c.id for c in scene.components] == [f"c{i}" for i in range(len(scene.components))]
        assert all(c.mask is not None and c.color is not None for c in scene.components)
        meta = scene.meta
        assert meta["synthetic"] is True and meta["seed"] == 3
        assert meta["generator"]["name"].endswith(CAT) and meta["generator"]["version"]
        logical = "logical_anomalies" in path.parts
        assert scene.label.kind.value == ("logical_anomaly" if logical else "good")
        if logical:
            assert scene.label.anomaly_type is not None and scene.label.reason
            assert scene.label.defects[0] in {d.name for d in SPEC.defects}
        is_test = path.parts[-3] == "test"
        assert meta["perturbation"] == (
            {"blur": 0.0, "light": 0.2, "view": 0.1} if is_test else None
        )


def test_same_seed_same_bytes_with_workers(ds: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    root, _ = ds
    generate_dataset(CAT, tmp_path / "b", perturb=PERTURB, workers=2, **ARGS)
    a, b = files(root), files(tmp_path / "b")
    a.pop(MANIFEST)
    b.pop(MANIFEST)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_other_seed_other_images(ds: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    root, _ = ds
    generate_dataset(CAT, tmp_path, n_train=1, n_val=0, n_good=0, n_logical=0, seed=4)
    assert (tmp_path / "train/good/000.png").read_bytes() != (
        root / "train/good/000.png"
    ).read_bytes()


def test_refuses_a_foreign_folder_and_deletes_nothing(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "keep.png").write_bytes(b"x")
    with pytest.raises(DatasetError) as exc:
        generate_dataset(CAT, tmp_path, n_train=1, n_val=0, n_good=0, n_logical=0)
    assert "--overwrite" in str(exc.value) and "\n" not in str(exc.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keep.png", "notes.txt", "train"]
    generate_dataset(CAT, tmp_path, n_train=1, n_val=0, n_good=0, n_logical=0, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "train" / "keep.png").read_bytes() == b"x"
    assert (tmp_path / "train/good/000.png").is_file()


def test_refuses_a_file_as_output(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("x")
    with pytest.raises(DatasetError):
        generate_dataset(CAT, target, n_train=1, n_val=0, n_good=0, n_logical=0, overwrite=True)
    assert target.read_text() == "x"


def test_rewriting_a_synth_dataset_drops_its_stale_images_only(tmp_path: Path) -> None:
    generate_dataset(CAT, tmp_path, n_train=2, n_val=0, n_good=0, n_logical=0)
    (tmp_path / "train" / "good" / "README.txt").write_text("user file")
    generate_dataset(CAT, tmp_path, n_train=1, n_val=0, n_good=0, n_logical=0)
    assert sorted(p.name for p in (tmp_path / "train/good").iterdir()) == ["000.png", "README.txt"]
    assert sorted(p.name for p in (tmp_path / "scenes/train/good").iterdir()) == ["000.json"]


def test_unknown_category_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(LogicodeError) as exc:
        generate_dataset("teapot", tmp_path / "x")
    assert "teapot" in str(exc.value) and CAT in str(exc.value)
    assert not (tmp_path / "x").exists()
    assert CAT in available_categories()


def test_negative_counts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="train/good"):
        generate_dataset(CAT, tmp_path, n_train=-1)


def test_defect_schedule_cycles_over_every_defect() -> None:
    defects = ("a", "b", "c", "d", "e")
    sched = defect_schedule(defects, 12, seed=0)
    assert len(sched) == 12
    assert sorted(sched[:5]) == list(defects) and sorted(sched[5:10]) == list(defects)
    assert defect_schedule(defects, 12, seed=0) == sched
    orders = {tuple(defect_schedule(defects, 5, seed=s)) for s in range(6)}
    assert len(orders) > 1
