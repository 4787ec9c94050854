import json

import numpy as np
import pytest

from logicode.errors import SceneError
from logicode.measure import component_from_mask
from logicode.scene import (
    SCHEMA_FILE,
    GroundTruth,
    ImageInfo,
    Scene,
    generate_schema,
    load_scene,
    load_schema,
    scene_from_dict,
    scene_from_json,
)


def make_scene() -> Scene:
    h, w = 40, 60
    img = np.zeros((h, w, 3), np.uint8)
    img[5:15, 5:25] = (200, 20, 20)
    a = np.zeros((h, w), bool)
    a[5:15, 5:25] = True
    b = np.zeros((h, w), bool)
    b[20:35, 30:50] = True
    return Scene(
        image=ImageInfo(path="img.png", width=w, height=h, sha256="ab" * 32),
        category="demo",
        components=[
            component_from_mask("c0", "cap", a, img, score=0.9, attributes={"kind": "x"}),
            component_from_mask("c1", "body", b, img, attributes={"n": 3, "ok": True}),
        ],
        label=GroundTruth(
            kind="logical_anomaly", anomaly_type="quantity", defects=["extra_cap"], reason="r"
        ),
        meta={"source": "test", "nested": {"a": [1, 2]}},
    )


def test_round_trip_is_lossless(tmp_path):
    scene = make_scene()
    again = scene_from_json(scene.to_json())
    assert again == scene
    assert again.model_dump() == scene.model_dump()
    path = tmp_path / "s.json"
    scene.save(path)
    assert load_scene(path) == scene
    assert not list(tmp_path.glob("*.tmp"))


def test_shipped_schema_matches_models():
    # The schema file in the package is what readers validate against: it must not drift.
    assert load_schema() == json.loads(json.dumps(generate_schema()))
    assert SCHEMA_FILE.startswith("scene-1.0")


def _bad(mutate):
    data = json.loads(make_scene().to_json())
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["components"][0].__setitem__("area", "big"), "components[0].area"),
        (lambda d: d["components"][0].__setitem__("score", 1.5), "components[0].score"),
        (lambda d: d["components"][1].__setitem__("bbox", [0, 0, 61, 10]), "outside the 60x40"),
        (lambda d: d["components"][1].__setitem__("bbox", [10, 0, 5, 10]), "x0<=x1"),
        (lambda d: d["components"][0]["mask"].__setitem__("size", [10, 10]), "mask.size"),
        (lambda d: d["components"][1].__setitem__("id", "c0"), "duplicate component id"),
        (lambda d: d["image"].__setitem__("width", 0), "image.width"),
        (lambda d: d["image"].__setitem__("sha256", "xyz"), "image.sha256"),
        (lambda d: d.pop("category"), "'category' is a required property"),
        (lambda d: d.__setitem__("schema_version", "9.9"), "schema_version"),
        (lambda d: d["components"][0].__setitem__("colour", "red"), "components[0]"),
        (lambda d: d["label"].__setitem__("kind", "weird"), "label.kind"),
        (lambda d: d["label"].__setitem__("anomaly_type", "color"), "label.anomaly_type"),
        (lambda d: d["components"][0]["color"].__setitem__("rgb", [0, 0, 300]), "rgb"),
    ],
)
def test_invalid_scenes_name_the_field(mutate, fragment):
    with pytest.raises(SceneError) as exc:
        scene_from_dict(_bad(mutate))
    assert fragment in str(exc.value)
    assert "\n" not in str(exc.value)


def test_good_label_cannot_carry_defects():
    data = json.loads(make_scene().to_json())
    data["label"] = {"kind": "good", "defects": ["x"]}
    with pytest.raises(SceneError, match="good"):
        scene_from_dict(data)


def test_unknown_label_against_vocabulary():
    data = json.loads(make_scene().to_json())
    with pytest.raises(SceneError, match=r"components\[1\].label: 'body' is not in"):
        scene_from_dict(data, vocabulary=["cap"])
    assert scene_from_dict(data, vocabulary=["cap", "body"]).counts() == {"cap": 1, "body": 1}


def test_load_errors_start_with_the_path(tmp_path):
    missing = tmp_path / "none.json"
    with pytest.raises(SceneError, match="none.json: cannot read"):
        load_scene(missing)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(SceneError, match="broken.json: not valid JSON"):
        load_scene(broken)
    with pytest.raises(SceneError, match="must be a JSON object"):
        scene_from_json("[1, 2]")
