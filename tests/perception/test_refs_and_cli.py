"""Reference loading (LabelMe, COCO, scene JSON, synthetic datasets) and the annotate command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import perception_toy as toy
import pytest
import typer
import yaml
from PIL import Image
from typer.testing import CliRunner

from logicode.commands.annotate import annotate, output_paths
from logicode.errors import LogicodeError
from logicode.perception.refs import ReferencesError, load_references, select_diverse
from logicode.scene import load_scene


def _labelme(t: toy.Toy, name: str, folder: Path, seed: int) -> Path:
    image, _ = toy.draw(t, seed=seed)
    Image.fromarray(image).save(folder / f"{name}.png")
    x0, y0, x1, y1 = toy.TRAY
    shapes = [{"label": "tray", "points": [[x0, y0], [x1 - 1, y1 - 1]], "shape_type": "rectangle"}]
    for cx, cy, tone in t.dots:
        shapes.append(
            {
                "label": "dot",
                "points": [[cx, cy], [cx + 8, cy]],
                "shape_type": "circle",
                "description": f"tone={tone}",
            }
        )
    for x, y, n in t.bars:
        shapes.append(
            {
                "label": "bar",
                "points": [[x, y], [x + n - 1, y + 7]],
                "shape_type": "rectangle",
                "description": f"length={n}",
            }
        )
    if t.tag:
        x, y = t.tag
        shapes.append(
            {"label": "tag", "points": [[x, y], [x + 15, y + 15]], "shape_type": "rectangle"}
        )
    doc = {
        "version": "5.5.0",
        "shapes": shapes,
        "imagePath": f"{name}.png",
        "imageHeight": toy.H,
        "imageWidth": toy.W,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture()
def project(tmp_path: Path) -> dict[str, Path]:
    refs = tmp_path / "refs"
    refs.mkdir()
    for i, t in enumerate(toy.REFERENCE_TOYS):
        _labelme(t, f"ref{i}", refs, seed=i)
    spec = tmp_path / "toy_tray.yaml"
    spec.write_text(yaml.safe_dump(toy.SPEC))
    images = tmp_path / "images"
    images.mkdir()
    for i, t in enumerate(toy.TEST_TOYS):
        Image.fromarray(toy.draw(t, seed=50 + i)[0]).save(images / f"img{i}.png")
    return {"refs": refs, "spec": spec, "images": images, "root": tmp_path}


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(annotate)
    return app


def test_load_labelme_references(project: dict[str, Path]) -> None:
    spec = toy.spec()
    refs = load_references(project["refs"], spec)
    assert len(refs) == 3
    assert refs[0].labels().count("dot") == 2
    assert refs[0].attributes()[1] == {"tone": "warm"}
    assert refs[0].image.shape == (toy.H, toy.W, 3)
    assert len(load_references(project["refs"], spec, max_refs=2)) == 2


def test_load_scene_and_coco_references(tmp_path: Path) -> None:
    image, scene = toy.draw(toy.REFERENCE_TOYS[0])
    Image.fromarray(image).save(tmp_path / "toy.png")
    scene.save(tmp_path / "scene.json")
    coco = {
        "images": [{"id": 1, "file_name": "toy.png", "width": toy.W, "height": toy.H}],
        "categories": [{"id": 1, "name": "tray"}, {"id": 2, "name": "tag"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [20, 20, 180, 120]},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [160, 40, 16, 16]},
        ],
    }
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    refs = load_references(tmp_path, toy.spec())
    kinds = sorted(len(r.scene.components) for r in refs)
    assert kinds == [2, len(scene.components)]


def test_reference_errors(tmp_path: Path) -> None:
    with pytest.raises(ReferencesError, match="no reference annotations"):
        load_references(tmp_path, toy.spec())
    with pytest.raises(ReferencesError, match="not found"):
        load_references(tmp_path / "missing", toy.spec())
    image, scene = toy.draw(toy.REFERENCE_TOYS[0])
    Image.fromarray(image).save(tmp_path / "toy.png")
    bad = json.loads(scene.to_json())
    bad["components"][0]["label"] = "wheel"
    (tmp_path / "scene.json").write_text(json.dumps(bad))
    with pytest.raises(LogicodeError, match="wheel"):
        load_references(tmp_path, toy.spec())


def test_select_diverse_covers_attribute_values() -> None:
    scenes = [toy.draw(toy.Toy(dots=[(50, 50, tone)]))[1] for tone in ["warm"] * 4 + ["cool"]]
    chosen = select_diverse(scenes, 2)
    assert 4 in chosen and len(chosen) == 2


def test_output_paths_keep_subfolders_and_refuse_collisions(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.png").write_bytes(b"")
    paths = output_paths([tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"], tmp_path / "o")
    assert paths == [tmp_path / "o" / "a" / "x.json", tmp_path / "o" / "b" / "x.json"]
    with pytest.raises(LogicodeError, match="both be written"):
        output_paths([tmp_path / "a" / "x.png", tmp_path / "a" / "x.png"], tmp_path / "o")


def test_annotate_writes_valid_scenes_and_overlays(project: dict[str, Path]) -> None:
    out = project["root"] / "out"
    (project["images"] / "broken.png").write_bytes(b"not a png")
    result = CliRunner().invoke(
        _app(),
        [
            str(project["images"]),
            "--category",
            str(project["spec"]),
            "--refs",
            str(project["refs"]),
            "--out",
            str(out),
            "--overlay",
        ],
    )
    assert result.exit_code == 1, result.output  # the broken image fails, the batch goes on
    assert "broken.png" in result.output
    vocab = toy.spec().vocabulary
    for i in range(len(toy.TEST_TOYS)):
        scene = load_scene(out / f"img{i}.json", vocabulary=vocab)
        assert (out / scene.image.path).resolve() == (project["images"] / f"img{i}.png").resolve()
        overlay = np.asarray(Image.open(out / f"img{i}.overlay.png"))
        assert overlay.shape == (toy.H, toy.W, 3)
    first = load_scene(out / "img0.json")
    assert first.counts() == {"tray": 1, "dot": 2, "bar": 1, "tag": 1}
    summary = json.loads((out / "annotate_summary.json").read_text())
    assert summary["written"] == 3 and len(summary["failed"]) == 1


def test_annotate_one_line_errors(project: dict[str, Path]) -> None:
    runner = CliRunner()
    args = [str(project["images"]), "--category", str(project["spec"]), "--out", "o"]
    result = runner.invoke(_app(), [*args, "--refs", str(project["root"] / "nope")])
    assert result.exit_code == 1
    assert "not found" in result.output and "Traceback" not in result.output
    result = runner.invoke(_app(), [*args, "--refs", str(project["refs"]), "--segmenter", "sam"])
    assert result.exit_code == 1 and "--sam-checkpoint" in result.output
    result = runner.invoke(
        _app(),
        [
            str(project["images"]),
            "--category",
            "no_such_cat",
            "--refs",
            str(project["refs"]),
            "--out",
            "o",
        ],
    )
    assert result.exit_code == 1 and "unknown category" in result.output


def test_annotate_imagenet_flag_reaches_the_attribute_models(project: dict[str, Path]) -> None:
    pytest.importorskip("efficientnet_lite_pytorch", reason="the vision extra is not installed")
    out = project["root"] / "out_inet"
    args = [str(project["images"]), "--category", str(project["spec"]), "--refs"]
    args += [str(project["refs"]), "--out", str(out), "--json"]
    plain = CliRunner().invoke(_app(), args)
    assert plain.exit_code == 0, plain.output
    summary = json.loads((out / "annotate_summary.json").read_text())
    assert "imagenet" not in summary["perception"]["attributes"]
    result = CliRunner().invoke(_app(), [*args, "--imagenet"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "annotate_summary.json").read_text())
    assert summary["perception"]["attributes"]["imagenet"] == ["dot.tone"]
