from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from logicode.cli import app

REPO = Path(__file__).resolve().parents[1]
REAL = Path(
    os.environ.get(
        "LOGICODE_JUICE_BOTTLE",
        REPO.parent / "shared" / "data" / "mvtec_loco_juice_bottle",
    )
)


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _dataset(root: Path) -> Path:
    img = np.full((6, 8, 3), 90, np.uint8)
    for rel in ("train/good/000.png", "train/good/001.png", "train/good/002.png"):
        _png(root / rel, img)
    _png(root / "validation/good/000.png", img)
    for i in range(2):
        _png(root / f"test/logical_anomalies/{i:03d}.png", img)
    m = np.zeros((6, 8), np.uint8)
    m[1:3, 1:3] = 253
    _png(root / "ground_truth/logical_anomalies/000/000.png", m)
    m[4:6, 4:6] = 255
    _png(root / "ground_truth/logical_anomalies/001/000.png", m)
    config = [
        {"defect_name": "missing_top_label", "pixel_value": 255},
        {"defect_name": "swapped_labels", "pixel_value": 253},
    ]
    (root / "defects_config.json").write_text(json.dumps(config))
    return root


def _run(*args: str) -> object:
    return CliRunner().invoke(app, ["data", "info", *args])


def test_info_prints_counts(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "juice_bottle")
    result = _run(str(root))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "train/good" in out and "validation/good" in out and "test/logical_anomalies" in out
    assert "swapped_labels" in out and "position" in out  # type from the juice_bottle spec
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 3}
    assert rows["train/good"].split("│")[2].strip() == "3"
    assert rows["test/logical_anomalies"].split("│")[2].strip() == "2"
    assert "test/good" not in out


def test_info_json(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "juice_bottle")
    result = _run(str(root), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["counts"] == {"train/good": 3, "validation/good": 1, "test/logical_anomalies": 2}
    assert info["defects"] == {"missing_top_label": 1, "swapped_labels": 2}
    assert info["category"] == "juice_bottle"


def _assert_one_line_error(result: object, needle: str) -> None:
    assert result.exit_code == 1  # type: ignore[attr-defined]
    err = result.stderr.strip()  # type: ignore[attr-defined]
    assert err.startswith("error:") and needle in err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_info_missing_folder(tmp_path: Path) -> None:
    _assert_one_line_error(_run(str(tmp_path / "nope")), "not found")


def test_info_file_instead_of_folder(tmp_path: Path) -> None:
    f = tmp_path / "data.txt"
    f.write_text("x")
    _assert_one_line_error(_run(str(f)), "is a file")


def test_info_corrupt_defects_config(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "cat")
    (root / "defects_config.json").write_text('[{"defect_name": "x", ')
    _assert_one_line_error(_run(str(root)), "defects_config.json")


def test_info_unknown_pixel_value(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "cat")
    _png(root / "ground_truth/logical_anomalies/000/000.png", np.full((6, 8), 9, np.uint8))
    _assert_one_line_error(_run(str(root)), "pixel value 9")


@pytest.mark.skipif(not (REAL / "labels.json").is_file(), reason=f"real data absent: {REAL}")
def test_info_real_subset() -> None:
    result = _run(str(REAL), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["category"] == "juice_bottle"
    assert info["counts"] == {
        "train/good": 10,
        "validation/good": 20,
        "test/logical_anomalies": 45,
    }
    assert info["defects"]["wrong_juice_type"] >= 1
    assert info["defect_types"]["wrong_juice_type"] == "matching"
    table = _run(str(REAL))
    assert table.exit_code == 0 and "test/logical_anomalies" in table.stdout
