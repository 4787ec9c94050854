from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from logicode.cli import app
from logicode.scene import load_scene

runner = CliRunner()
TINY = ["--n-train", "1", "--n-val", "0", "--n-good", "1", "--n-logical", "1"]


def test_data_synth_writes_a_dataset_and_prints_json(tmp_path: Path) -> None:
    out = tmp_path / "jb"
    args = ["data", "synth", "-c", "juice_bottle", "-o", str(out), *TINY, "--seed", "5"]
    result = runner.invoke(app, [*args, "--perturb", "blur=0.2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["category"] == "juice_bottle"
    assert summary["counts"]["test/logical_anomalies"] == 1
    assert sum(summary["defects"].values()) == 1
    scene = load_scene(out / "scenes/test/good/000.json")
    assert scene.meta["perturbation"]["blur"] == 0.2 and scene.meta["seed"] == 5
    # a previous synthetic dataset may be replaced without --overwrite
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "train/good" in again.stdout


def test_unknown_category_is_one_line_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "synth", "-c", "teapot", "-o", str(tmp_path / "x")])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "teapot" in lines[0] and "juice_bottle" in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_bad_perturb_is_one_line_exit_1(tmp_path: Path) -> None:
    for bad, needle in (("fog=1", "fog"), ("blur=2", "out of range"), ("blur=x", "number")):
        result = runner.invoke(
            app, ["data", "synth", "-c", "juice_bottle", "-o", str(tmp_path), "--perturb", bad]
        )
        assert result.exit_code == 1, bad
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and needle in lines[0], result.output
        assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_foreign_folder_needs_overwrite(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    args = ["data", "synth", "-c", "juice_bottle", "-o", str(tmp_path), *TINY, "--n-logical", "0"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and "--overwrite" in refused.output
    assert "Traceback" not in refused.output
    ok = runner.invoke(app, [*args, "--overwrite"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "mine.txt").read_text() == "keep"
    assert (tmp_path / "train/good/000.png").is_file()
