from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from logicode.data.loco import LocoDataset, LocoItem, load_defects_config
from logicode.errors import DatasetError
from logicode.measure import component_from_mask
from logicode.scene import GroundTruth, ImageInfo, Scene

REPO = Path(__file__).resolve().parents[2]
REAL = Path(
    os.environ.get(
        "LOGICODE_JUICE_BOTTLE",
        REPO.parent / "shared" / "data" / "mvtec_loco_juice_bottle",
    )
)

W, H = 8, 6
CONFIG = [
    {"defect_name": "missing_top_label", "pixel_value": 255},
    {"defect_name": "missing_bottom_label", "pixel_value": 254},
    {"defect_name": "swapped_labels", "pixel_value": 253},
    {"defect_name": "contamination", "pixel_value": 238},
]


def _img(path: Path, value: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((H, W, 3), value, np.uint8)).save(path)


def _mask(path: Path, value: int, rows: slice) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    m = np.zeros((H, W), np.uint8)
    m[rows, 1:5] = value
    Image.fromarray(m).save(path)
    return m > 0


def _base(root: Path, config: bool = True) -> None:
    for split, n in (("train", 2), ("validation", 1)):
        for i in range(n):
            _img(root / split / "good" / f"{i:03d}.png")
    _img(root / "test" / "good" / "000.png")
    if config:
        (root / "defects_config.json").write_text(json.dumps(CONFIG))


def real_layout(root: Path) -> Path:
    """Per-defect mask folders, as in the real MVTec LOCO AD."""
    _base(root)
    for i in range(2):
        _img(root / "test" / "logical_anomalies" / f"{i:03d}.png")
    gt = root / "ground_truth" / "logical_anomalies"
    _mask(gt / "000" / "000.png", 255, slice(0, 2))
    _mask(gt / "000" / "001.png", 254, slice(3, 5))
    _mask(gt / "001" / "000.png", 253, slice(1, 3))
    _img(root / "test" / "structural_anomalies" / "000.png")
    _mask(root / "ground_truth" / "structural_anomalies" / "000" / "000.png", 238, slice(2, 6))
    return root


def flat_layout(root: Path, *, labels: bool = True) -> Path:
    """One binary mask per image and labels.json, as in the shared subset."""
    _base(root)
    for i in range(2):
        _img(root / "test" / "logical_anomalies" / f"{i:03d}.png")
        _mask(root / "ground_truth" / "logical_anomalies" / f"{i:03d}.png", 255, slice(i, i + 2))
    if labels:
        data = {
            "test/logical_anomalies/000.png": {
                "defects": ["missing_top_label", "missing_bottom_label"],
                "juice": "orange",
            },
            "test/logical_anomalies/001.png": {"defects": ["swapped_labels"], "juice": None},
            "validation/good/000.png": {"defects": []},
        }
        (root / "labels.json").write_text(json.dumps(data))
    return root


# --- real layout ---------------------------------------------------------------------------


def test_real_layout_counts_and_defects(tmp_path: Path) -> None:
    ds = LocoDataset(real_layout(tmp_path / "juice_bottle"))
    assert len(ds) == 7
    assert ds.counts() == {
        "train/good": 2,
        "validation/good": 1,
        "test/good": 1,
        "test/logical_anomalies": 2,
        "test/structural_anomalies": 1,
    }
    items = {it.rel: it for it in ds}
    a0 = items["test/logical_anomalies/000.png"]
    assert a0.kind == "logical_anomaly" and a0.split == "test" and a0.name == "000"
    assert a0.defects == ["missing_top_label", "missing_bottom_label"]
    assert len(a0.mask_paths) == 2 and a0.scene_path is None
    assert items["test/logical_anomalies/001.png"].defects == ["swapped_labels"]
    assert items["test/structural_anomalies/000.png"].defects == ["contamination"]
    assert items["test/good/000.png"].defects == [] and items["test/good/000.png"].mask_paths == []


def test_real_layout_masks(tmp_path: Path) -> None:
    ds = LocoDataset(real_layout(tmp_path / "cat"))
    item = ds.get("test/logical_anomalies/000.png")
    union = item.mask()
    assert union.shape == (H, W) and union.dtype == bool
    assert int(union.sum()) == 16  # rows 0-1 and 3-4, columns 1-4
    per = item.defect_masks()
    assert set(per) == {"missing_top_label", "missing_bottom_label"}
    assert per["missing_top_label"][0:2, 1:5].all() and int(per["missing_top_label"].sum()) == 8
    assert per["missing_bottom_label"][3:5, 1:5].all()
    assert not (per["missing_top_label"] & per["missing_bottom_label"]).any()
    good = ds.get("test/good/000.png")
    assert not good.mask().any() and good.defect_masks() == {}


def test_info_contract(tmp_path: Path) -> None:
    info = LocoDataset(real_layout(tmp_path / "juice_bottle")).info()
    assert info["category"] == "juice_bottle"
    assert info["root"] == str(tmp_path / "juice_bottle")
    assert info["counts"]["test/logical_anomalies"] == 2
    assert info["defects"] == {
        "contamination": 1,
        "missing_bottom_label": 1,
        "missing_top_label": 1,
        "swapped_labels": 1,
    }
    # types come from prompts/categories/juice_bottle.yaml
    assert info["defect_types"]["swapped_labels"] == "position"
    assert info["defect_types"]["missing_top_label"] == "quantity"
    json.dumps(info)  # JSON-serialisable for `data info --json`


def test_info_unknown_category_has_no_types(tmp_path: Path) -> None:
    info = LocoDataset(real_layout(tmp_path / "no_such_product")).info()
    assert info["category"] == "no_such_product"
    assert "defect_types" not in info
    assert "test/good" in info["counts"]


def test_category_from_prefixed_folder_name(tmp_path: Path) -> None:
    assert LocoDataset(real_layout(tmp_path / "mvtec_loco_juice_bottle")).category == "juice_bottle"
    assert LocoDataset(tmp_path / "mvtec_loco_juice_bottle", category="x").category == "x"


def test_iter_filters(tmp_path: Path) -> None:
    ds = LocoDataset(real_layout(tmp_path / "cat"))
    assert [it.rel for it in ds.iter(split="train")] == ["train/good/000.png", "train/good/001.png"]
    assert len(list(ds.iter(kind="good"))) == 4
    assert len(list(ds.iter(split="test", kind="good"))) == 1
    assert len(list(ds.iter(kind="logical_anomalies"))) == 2
    assert all(isinstance(it, LocoItem) for it in ds)
    with pytest.raises(DatasetError, match="unknown kind"):
        list(ds.iter(kind="broken"))
    with pytest.raises(DatasetError, match="unknown split"):
        list(ds.iter(split="dev"))
    with pytest.raises(KeyError):
        ds.get("test/good/999.png")


def test_item_is_frozen_and_cached(tmp_path: Path) -> None:
    ds = LocoDataset(real_layout(tmp_path / "cat"))
    item = ds.get("test/logical_anomalies/001.png")
    assert ds.get("test/logical_anomalies/001.png") is item
    with pytest.raises(AttributeError):
        item.name = "x"  # type: ignore[misc]
    assert item.image().shape == (H, W, 3) and item.size() == (W, H)


# --- flat layout + labels.json -------------------------------------------------------------


def test_flat_layout_labels_win(tmp_path: Path) -> None:
    ds = LocoDataset(flat_layout(tmp_path / "cat"))
    a0 = ds.get("test/logical_anomalies/000.png")
    assert a0.defects == ["missing_top_label", "missing_bottom_label"]
    assert a0.extra == {"juice": "orange"}
    assert a0.mask_paths == [tmp_path / "cat" / "ground_truth" / "logical_anomalies" / "000.png"]
    assert a0.masks_are_binary()
    assert a0.mask_defects() == ["missing_top_label"]  # what 255 would decode to
    per = a0.defect_masks()  # binarised union mask: every defect gets the union
    assert set(per) == set(a0.defects)
    assert all(np.array_equal(m, a0.mask()) for m in per.values())
    assert ds.get("test/logical_anomalies/001.png").defects == ["swapped_labels"]
    assert ds.get("validation/good/000.png").extra == {}
    assert "test/good" in ds.info()["counts"]


def test_flat_coded_masks_without_labels(tmp_path: Path) -> None:
    root = flat_layout(tmp_path / "cat", labels=False)
    _mask(root / "ground_truth" / "logical_anomalies" / "001.png", 253, slice(0, 3))
    ds = LocoDataset(root)
    assert ds.get("test/logical_anomalies/000.png").defects == ["missing_top_label"]
    assert ds.get("test/logical_anomalies/001.png").defects == ["swapped_labels"]


def test_labels_agree_with_coded_masks(tmp_path: Path) -> None:
    root = real_layout(tmp_path / "cat")
    labels = {
        "test/logical_anomalies/000.png": {
            "defects": ["missing_top_label", "missing_bottom_label"]
        },
        "test/logical_anomalies/001.png": {"defects": ["swapped_labels"]},
    }
    (root / "labels.json").write_text(json.dumps(labels))
    for item in LocoDataset(root).iter(kind="logical_anomaly"):
        assert set(item.mask_defects() or []) == set(item.defects)


# --- synthetic datasets --------------------------------------------------------------------


def _scene(defects: list[str]) -> Scene:
    m = np.zeros((H, W), bool)
    m[1:4, 2:6] = True
    kind = "logical_anomaly" if defects else "good"
    return Scene(
        image=ImageInfo(path="x.png", width=W, height=H),
        category="juice_bottle",
        components=[component_from_mask("c0", "bottle", m)],
        label=GroundTruth(kind=kind, anomaly_type="position" if defects else None, defects=defects),
    )


def test_synthetic_scenes(tmp_path: Path) -> None:
    root = flat_layout(tmp_path / "synth_out", labels=False)
    (root / "dataset.json").write_text(json.dumps({"category": "juice_bottle", "seed": 0}))
    _scene(["swapped_labels"]).save(root / "scenes" / "test" / "logical_anomalies" / "000.json")
    _scene([]).save(root / "scenes" / "train" / "good" / "000.json")
    ds = LocoDataset(root)
    assert ds.category == "juice_bottle"
    a0 = ds.get("test/logical_anomalies/000.png")
    assert a0.scene_path == root / "scenes" / "test" / "logical_anomalies" / "000.json"
    # binary flat mask + scene label: the scene names the defect, not pixel value 255
    assert a0.defects == ["swapped_labels"]
    assert a0.scene().label.defects == ["swapped_labels"]
    assert ds.get("train/good/000.png").scene_path is not None
    assert ds.get("train/good/001.png").scene_path is None
    assert ds.get("train/good/001.png").scene() is None
    # no scene for 001: the mask is decoded
    assert ds.get("test/logical_anomalies/001.png").defects == ["missing_top_label"]
    assert ds.info()["category"] == "juice_bottle"


def test_scene_only_defects(tmp_path: Path) -> None:
    root = tmp_path / "cat"
    _img(root / "test" / "logical_anomalies" / "000.png")
    _scene(["wrong_juice_type"]).save(root / "scenes" / "test" / "logical_anomalies" / "000.json")
    ds = LocoDataset(root)
    assert ds.get("test/logical_anomalies/000.png").defects == ["wrong_juice_type"]
    assert ds.info()["counts"] == {"test/logical_anomalies": 1}


# --- errors --------------------------------------------------------------------------------


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        LocoDataset(tmp_path / "nope")


def test_file_root(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(DatasetError, match="is a file"):
        LocoDataset(f)


def test_not_a_loco_folder(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError, match=r"no train/ or test/"):
        LocoDataset(tmp_path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[{", "not valid JSON"),
        ('{"a": 1}', "JSON list"),
        ('[{"defect_name": "x"}]', "pixel_value"),
        ('[{"defect_name": "x", "pixel_value": 300}]', "pixel_value"),
        ('[{"pixel_value": 3}]', "defect_name"),
        (
            '[{"defect_name": "x", "pixel_value": 3}, {"defect_name": "y", "pixel_value": 3}]',
            "reuses",
        ),
    ],
)
def test_malformed_defects_config(tmp_path: Path, text: str, match: str) -> None:
    root = real_layout(tmp_path / "cat")
    (root / "defects_config.json").write_text(text)
    with pytest.raises(DatasetError, match=match) as exc:
        LocoDataset(root)
    assert "defects_config.json" in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("[1, 2]", "JSON object"),
        ('{"test/logical_anomalies/000.png": 3}', "not an object"),
        ('{"test/logical_anomalies/000.png": {"defects": "x"}}', "list of names"),
        ('{"test/logical_anomalies/000.png": {"defects": ["bogus"]}}', "bogus"),
        ("{oops", "not valid JSON"),
    ],
)
def test_malformed_labels(tmp_path: Path, data: str, match: str) -> None:
    root = flat_layout(tmp_path / "cat")
    (root / "labels.json").write_text(data)
    with pytest.raises(DatasetError, match=match) as exc:
        LocoDataset(root)
    assert "labels.json" in str(exc.value)


def test_good_image_with_defects_in_labels(tmp_path: Path) -> None:
    root = flat_layout(tmp_path / "cat")
    (root / "labels.json").write_text(
        json.dumps({"validation/good/000.png": {"defects": ["swapped_labels"]}})
    )
    ds = LocoDataset(root)
    with pytest.raises(DatasetError, match="good image"):
        list(ds.iter(split="validation"))


def test_unknown_pixel_value(tmp_path: Path) -> None:
    root = real_layout(tmp_path / "cat")
    _mask(root / "ground_truth" / "logical_anomalies" / "001" / "000.png", 17, slice(0, 1))
    ds = LocoDataset(root)
    with pytest.raises(DatasetError, match="pixel value 17") as exc:
        list(ds.iter(kind="logical_anomaly"))
    assert "001" in str(exc.value)


def test_mask_size_mismatch(tmp_path: Path) -> None:
    root = real_layout(tmp_path / "cat")
    p = root / "ground_truth" / "logical_anomalies" / "001" / "000.png"
    Image.fromarray(np.full((3, 3), 253, np.uint8)).save(p)
    item = LocoDataset(root).get("test/logical_anomalies/001.png")
    with pytest.raises(DatasetError, match="3x3"):
        item.mask()


def test_load_defects_config(tmp_path: Path) -> None:
    p = tmp_path / "defects_config.json"
    p.write_text(json.dumps(CONFIG))
    assert load_defects_config(p) == {
        255: "missing_top_label",
        254: "missing_bottom_label",
        253: "swapped_labels",
        238: "contamination",
    }


# --- the real shared subset ----------------------------------------------------------------

needs_real = pytest.mark.skipif(
    not (REAL / "defects_config.json").is_file(), reason=f"real juice_bottle data absent: {REAL}"
)


@needs_real
def test_real_subset_counts_and_defects() -> None:
    ds = LocoDataset(REAL)
    assert ds.category == "juice_bottle"
    counts = ds.counts()
    assert counts["train/good"] == 10
    assert counts["validation/good"] == 20
    assert counts["test/logical_anomalies"] == 45
    known = set(load_defects_config(REAL / "defects_config.json").values())
    logical = list(ds.iter(kind="logical_anomaly"))
    for item in logical:
        assert item.defects, item.rel
        assert set(item.defects) <= known, item.rel
        assert item.mask_paths, item.rel
    assert all(item.defects == [] for item in ds.iter(kind="good"))
    info = ds.info()
    assert sum(info["defects"].values()) >= 45
    assert set(info["defect_types"]) == set(info["defects"])


@needs_real
def test_real_subset_labels_vs_masks() -> None:
    """labels.json is the defect source; the subset's masks are binarised unions.

    The shared subset stores one 0/255 mask per image (the original per-defect masks, merged
    and binarised), so decoding its pixel values through defects_config.json would name
    ``missing_top_label`` (pixel value 255) for every image. Where masks do code the defect
    (any value other than 255), labels.json and masks must agree.
    """
    ds = LocoDataset(REAL)
    labels = json.loads((REAL / "labels.json").read_text())
    for item in ds.iter(kind="logical_anomaly"):
        assert item.defects == labels[item.rel]["defects"]
        assert item.mask().any(), item.rel
        if item.masks_are_binary():
            # 255 is missing_top_label's code, so such a mask can only agree for that defect
            if item.mask_defects() != item.defects:
                assert item.defects != ["missing_top_label"], item.rel
        else:
            assert set(item.mask_defects() or []) == set(item.defects), item.rel
    binary = [it.rel for it in ds.iter(kind="logical_anomaly") if it.masks_are_binary()]
    assert len(binary) == 45  # the finding documented above
