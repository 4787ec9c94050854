from __future__ import annotations

import base64
import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from logicode import mask as rle
from logicode.data.importers import coco_to_scenes, labelme_to_scene, parse_attributes
from logicode.errors import ImportFormatError
from logicode.scene import load_scene, scene_from_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LABELME = FIXTURES / "labelme" / "bottle.json"
COCO = FIXTURES / "coco" / "instances.json"
VOCAB = ["top_label", "icon", "liquid", "bottom_label", "bottle"]


def _labelme() -> dict[str, Any]:
    return json.loads(LABELME.read_text())


def _coco() -> dict[str, Any]:
    return json.loads(COCO.read_text())


def _shape_mask(scene: Any, cid: str) -> np.ndarray:
    comp = next(c for c in scene.components if c.id == cid)
    return rle.decode(comp.mask.model_dump())


# --- LabelMe -------------------------------------------------------------------------------


def test_labelme_components() -> None:
    scene = labelme_to_scene(LABELME, category="juice_bottle", vocabulary=VOCAB)
    assert scene.category == "juice_bottle"
    assert scene.image.path == "bottle.png"
    assert (scene.image.width, scene.image.height) == (48, 32)
    # point shape skipped; the two liquid polygons of group_id 1 form one component
    assert scene.labels() == ["top_label", "icon", "liquid", "bottom_label"]
    assert [c.id for c in scene.components] == ["c0", "c1", "c2", "c3"]
    assert scene.meta["source"] == "labelme"
    assert scene.meta["shapes"] == [[0], [1], [2, 3], [4]]


def test_labelme_rectangle_is_pixel_exact() -> None:
    scene = labelme_to_scene(LABELME, category="juice_bottle")
    top = scene.components[0]
    # corners (2, 3) and (11, 8) are pixel centres, both included: 10 x 6 pixels
    assert top.area == 60
    assert top.bbox == (2.0, 3.0, 12.0, 9.0)
    m = _shape_mask(scene, "c0")
    assert m[3:9, 2:12].all() and int(m.sum()) == 60


def test_labelme_circle_polygon_and_mask_shapes() -> None:
    scene = labelme_to_scene(LABELME, category="juice_bottle")
    icon = scene.components[1]
    assert 40 <= icon.area <= 70  # pi * 4^2 ~ 50, with the outline
    assert icon.centroid == pytest.approx((30.5, 8.5), abs=0.3)
    liquid = scene.components[2]
    square = 16 * 14  # polygon with pixel-centre corners 4..19 x 14..27, outline included
    assert liquid.area > square  # plus the second polygon of the group
    assert _shape_mask(scene, "c2")[14:28, 4:20].all()
    bottom = _shape_mask(scene, "c3")
    # the 6x5 crop pasted at (36, 20) has ones at crop rows 1..3 and columns 1..4
    assert int(bottom.sum()) == 12 and bottom[21:24, 37:41].all()


def test_labelme_colours_from_image_next_to_json() -> None:
    scene = labelme_to_scene(LABELME, category="juice_bottle")
    names = {c.label: c.color.name for c in scene.components if c.color}
    assert names["top_label"] == "red"
    assert names["icon"] == "blue"
    assert scene.image.sha256 is not None and len(scene.image.sha256) == 64


def test_labelme_dict_without_image_has_no_colour() -> None:
    scene = labelme_to_scene(_labelme(), category="juice_bottle")
    assert all(c.color is None for c in scene.components)
    assert scene.image.sha256 is None
    assert scene.meta["annotation"] == "<annotation>"


def test_labelme_image_root(tmp_path: Path) -> None:
    shutil.copy(LABELME.with_suffix(".png"), tmp_path / "bottle.png")
    scene = labelme_to_scene(_labelme(), category="juice_bottle", image_root=tmp_path)
    assert scene.components[0].color is not None
    assert scene.components[0].color.name == "red"


def test_labelme_embedded_image_data() -> None:
    data = _labelme()
    data["imageData"] = base64.b64encode(LABELME.with_suffix(".png").read_bytes()).decode()
    scene = labelme_to_scene(data, category="juice_bottle")
    assert scene.components[0].color is not None and scene.components[0].color.name == "red"


def test_labelme_image_size_mismatch(tmp_path: Path) -> None:
    data = _labelme()
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "bottle.png")
    with pytest.raises(ImportFormatError, match="10x10"):
        labelme_to_scene(data, category="juice_bottle", image_root=tmp_path)


def test_labelme_attributes() -> None:
    scene = labelme_to_scene(LABELME, category="juice_bottle")
    icon = scene.components[1]
    assert icon.attributes == {"kind": "cherry", "tilt": 2.5, "checked": True}
    assert scene.components[2].attributes == {"juice": "orange"}
    assert scene.components[0].attributes == {}


def test_labelme_group_attribute_conflict() -> None:
    data = _labelme()
    data["shapes"][3]["description"] = "juice=cherry"
    with pytest.raises(ImportFormatError, match=r"shapes\[3\].*juice") as exc:
        labelme_to_scene(data, category="juice_bottle")
    assert "group_id 1" in str(exc.value)


def test_labelme_group_id_with_other_label_stays_separate() -> None:
    data = _labelme()
    data["shapes"][0]["group_id"] = 1
    scene = labelme_to_scene(data, category="juice_bottle")
    assert scene.labels() == ["top_label", "icon", "liquid", "bottom_label"]


def test_labelme_label_map_and_vocabulary() -> None:
    data = _labelme()
    scene = labelme_to_scene(
        data,
        category="juice_bottle",
        vocabulary=["top_label", "fruit_icon", "liquid"],
        label_map={"icon": "fruit_icon", "bottom_label": None},
    )
    assert scene.labels() == ["top_label", "fruit_icon", "liquid"]
    with pytest.raises(ImportFormatError, match=r"shapes\[1\] \(icon\).*'icon'.*vocabulary"):
        labelme_to_scene(data, category="juice_bottle", vocabulary=["top_label", "liquid"])


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.pop("imageHeight"), "missing key 'imageHeight'"),
        (lambda d: d.update(imageWidth=0), "positive integers"),
        (lambda d: d.update(imagePath=""), "imagePath"),
        (lambda d: d["shapes"][0].update(shape_type="cuboid"), r"shapes\[0\].*cuboid"),
        (lambda d: d["shapes"][2].update(points=[[1, 1], [2, 2]]), r"shapes\[2\].*3 points"),
        (lambda d: d["shapes"][0].update(points=[[2, 3], [90, 8]]), r"shapes\[0\].*outside"),
        (lambda d: d["shapes"][1].update(points=[[1, "a"], [2, 2]]), r"shapes\[1\].*not \[x, y\]"),
        (lambda d: d["shapes"][0].pop("label"), r"shapes\[0\].*label"),
        (lambda d: d["shapes"][4].update(mask="!!notbase64png"), r"shapes\[4\].*base64"),
    ],
)
def test_labelme_errors(mutate: Any, match: str) -> None:
    data = _labelme()
    mutate(data)
    with pytest.raises(ImportFormatError, match=match) as exc:
        labelme_to_scene(data, category="juice_bottle")
    assert "\n" not in str(exc.value)


def test_labelme_empty_mask_shape() -> None:
    data = _labelme()
    buf = io.BytesIO()
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(buf, format="PNG")
    data["shapes"][4]["mask"] = base64.b64encode(buf.getvalue()).decode()
    with pytest.raises(ImportFormatError, match=r"shapes\[4\].*no pixel"):
        labelme_to_scene(data, category="juice_bottle")


def test_labelme_bad_file(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(ImportFormatError, match="not valid JSON"):
        labelme_to_scene(p, category="c")
    with pytest.raises(ImportFormatError, match="cannot read"):
        labelme_to_scene(tmp_path / "missing.json", category="c")


def test_labelme_round_trip(tmp_path: Path) -> None:
    scene = labelme_to_scene(LABELME, category="juice_bottle", vocabulary=VOCAB)
    assert scene_from_json(scene.to_json(), vocabulary=VOCAB) == scene
    scene.save(tmp_path / "s.json")
    assert load_scene(tmp_path / "s.json") == scene


def test_parse_attributes() -> None:
    assert parse_attributes("kind=cherry\nn=3, ok=false; note") == {
        "kind": "cherry",
        "n": 3,
        "ok": False,
    }
    assert parse_attributes(None, {"plain": True, "a=1": True, "b=2": False}) == {"a": 1}
    assert parse_attributes("1bad=3; x = 'quoted'") == {"x": "quoted"}


# --- COCO ----------------------------------------------------------------------------------


def test_coco_scenes() -> None:
    scenes = coco_to_scenes(COCO, category="juice_bottle")
    assert [s.image.path for s in scenes] == ["images/a.png", "images/b.png", "images/none.png"]
    a, b, none = scenes
    assert a.labels() == ["top_label", "fruit_icon", "liquid"]
    assert a.meta["coco_annotation_ids"] == [10, 11, 12]
    assert a.meta["coco_image_id"] == 1
    assert b.labels() == ["top_label", "fruit_icon"]
    assert none.components == []
    assert a.components[1].attributes == {"kind": "cherry", "occluded": False}
    assert b.components[0].attributes == {"iscrowd": True}
    assert b.components[1].score == 0.75


def test_coco_colours_from_json_folder() -> None:
    a, b, none = coco_to_scenes(COCO, category="juice_bottle")
    assert a.components[0].color is not None and a.components[0].color.name == "white"
    assert b.components[0].color is not None and b.components[0].color.name == "red"
    assert a.image.sha256 is not None and none.image.sha256 is None


def test_coco_dict_and_image_root() -> None:
    data = _coco()
    scenes = coco_to_scenes(data, category="c")
    assert scenes[0].components[0].color is None
    scenes = coco_to_scenes(data, category="c", image_root=COCO.parent)
    assert scenes[0].components[0].color is not None


def test_coco_box_and_rle_exact() -> None:
    a, b, _ = coco_to_scenes(COCO, category="c")
    top = _shape_mask(a, "c0")
    assert int(top.sum()) == 80 and top[4:12, 5:15].all()  # compressed RLE
    crowd = _shape_mask(b, "c0")
    assert int(crowd.sum()) == 7 * 17 and crowd[2:9, 3:20].all()  # uncompressed RLE
    box = _shape_mask(b, "c1")
    assert int(box.sum()) == 30 and box[10:16, 22:27].all()  # bbox [22, 10, 5, 6]
    assert b.components[1].bbox == (22.0, 10.0, 27.0, 16.0)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_coco_agrees_with_pycocotools() -> None:
    cm = pytest.importorskip("pycocotools.mask")
    data = _coco()
    images = {im["id"]: im for im in data["images"]}
    scenes = {s.meta["coco_image_id"]: s for s in coco_to_scenes(data, category="c")}
    for ann in data["annotations"]:
        img = images[ann["image_id"]]
        h, w = img["height"], img["width"]
        seg = ann["segmentation"]
        scene = scenes[ann["image_id"]]
        cid = f"c{scene.meta['coco_annotation_ids'].index(ann['id'])}"
        ours = _shape_mask(scene, cid)
        if isinstance(seg, dict):
            ref_rle = cm.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else seg
            ref = cm.decode(ref_rle).astype(bool)
            assert np.array_equal(ours, ref), ann["id"]
        elif seg:
            ref = cm.decode(cm.merge(cm.frPyObjects(seg, h, w))).astype(bool)
            diff = int((ours ^ ref).sum())
            assert abs(int(ours.sum()) - int(ref.sum())) <= 0.05 * ref.sum() + 2, ann["id"]
            assert diff <= 0.1 * ref.sum() + 2, (ann["id"], diff)
            iou = (ours & ref).sum() / (ours | ref).sum()
            assert iou > 0.9, ann["id"]


def test_coco_rectangle_polygon_exact_area() -> None:
    cm = pytest.importorskip("pycocotools.mask")
    poly = [10.0, 10.0, 30.0, 10.0, 30.0, 20.0, 10.0, 20.0]
    data = {
        "images": [{"id": 1, "file_name": "x.png", "width": 50, "height": 40}],
        "categories": [{"id": 1, "name": "box"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [poly]}],
    }
    comp = coco_to_scenes(data, category="c")[0].components[0]
    ref = cm.area(cm.merge(cm.frPyObjects([poly], 40, 50)))
    assert comp.area == float(ref) == 200.0
    assert comp.bbox == (10.0, 10.0, 30.0, 20.0)


def _bad(mutate: Any) -> dict[str, Any]:
    data = copy.deepcopy(_coco())
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.pop("images"), "missing key 'images'"),
        (lambda d: d["images"][0].pop("width"), r"images\[0\]: missing key 'width'"),
        (lambda d: d["categories"][0].pop("name"), r"categories\[0\]: missing key 'name'"),
        (lambda d: d["annotations"][0].pop("image_id"), "annotation id 10: missing key"),
        (lambda d: d["annotations"][1].update(image_id=99), "annotation id 11: image_id 99"),
        (lambda d: d["annotations"][2].update(category_id=7), "annotation id 12: category_id 7"),
        (
            lambda d: d["annotations"][1].update(segmentation=[[1, 1, 60, 1, 30, 10]]),
            "annotation id 11: segmentation.0. lies outside",
        ),
        (
            lambda d: d["annotations"][1].update(segmentation=[[1, 1, 6, 1]]),
            "annotation id 11: .*at least 3",
        ),
        (
            lambda d: d["annotations"][3]["segmentation"].update(size=[5, 5]),
            "annotation id 20: RLE size",
        ),
        (
            lambda d: d["annotations"][3]["segmentation"].update(counts=[1, 2, 3]),
            "annotation id 20: invalid RLE",
        ),
        (lambda d: d["annotations"][4].pop("bbox"), "annotation id 21: no segmentation"),
        (lambda d: d["annotations"][4].update(bbox=[25, 10, 10, 6]), "annotation id 21: bbox"),
        (lambda d: d["annotations"][4].update(id=20), "annotation id 20: duplicate"),
        (lambda d: d["annotations"][4].update(score=3), "annotation id 21: score"),
    ],
)
def test_coco_errors(mutate: Any, match: str) -> None:
    with pytest.raises(ImportFormatError, match=match) as exc:
        coco_to_scenes(_bad(mutate), category="c")
    assert "\n" not in str(exc.value)


def test_coco_vocabulary() -> None:
    with pytest.raises(ImportFormatError, match=r"annotation id 12: label 'liquid'"):
        coco_to_scenes(COCO, category="c", vocabulary=["top_label", "fruit_icon"])


def test_coco_round_trip(tmp_path: Path) -> None:
    for i, scene in enumerate(coco_to_scenes(COCO, category="juice_bottle")):
        assert scene_from_json(scene.to_json()) == scene
        scene.save(tmp_path / f"{i}.json")
        assert load_scene(tmp_path / f"{i}.json") == scene
