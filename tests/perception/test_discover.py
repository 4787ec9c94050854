"""References discovered by clustering: discovery output, naming, loading, errors, accuracy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import perception_toy as toy
import pytest
import yaml

from logicode.data.loco import LocoDataset
from logicode.data.synth import generate_dataset
from logicode.perception.discover import CLUSTERS_FILE, REGIONS_FILE, discover, write_yaml
from logicode.perception.discover_regions import DiscoverParams, silhouette
from logicode.perception.discovered_naming import name_from_scenes
from logicode.perception.evaluate import score_scene, summarise
from logicode.perception.pipeline import Perception
from logicode.perception.refs import ReferencesError, load_references
from logicode.spec import load_spec

CATEGORY = "splicing_connectors"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("disc") / "data"
    generate_dataset(CATEGORY, root, n_good=3, n_logical=3, n_train=5, n_val=0, seed=3, workers=1)
    return root


@pytest.fixture(scope="module")
def discovered(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = load_spec(CATEGORY)
    annotated = load_references(dataset, spec, max_refs=5)
    images = [dataset / "train" / "good" / f"{Path(r.source).stem}.png" for r in annotated]
    out = tmp_path_factory.mktemp("disc") / "found"
    found = discover(images, spec, out=out)
    raw = (out / CLUSTERS_FILE).read_text()
    named = name_from_scenes(out, [r.scene for r in annotated], spec)
    return {"out": out, "found": found, "raw": raw, "named": named, "annotated": annotated}


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit(folder: Path, fn: Any) -> None:
    path = folder / CLUSTERS_FILE
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data))


def test_discovery_writes_a_yaml_to_fill_sheets_and_region_maps(
    discovered: dict[str, Any],
) -> None:
    out, found, raw = discovered["out"], discovered["found"], discovered["raw"]
    data = yaml.safe_load(raw)
    assert 2 <= len(data["clusters"]) <= DiscoverParams().max_clusters
    assert all(c["label"] is None for c in data["clusters"])
    for lab in load_spec(CATEGORY).vocabulary:
        assert f"#   {lab}" in raw  # the vocabulary, in the header comment
    assert "includes" in raw and "fill_holes" in raw and "ignore" in raw
    for c in data["clusters"]:
        sheet = cv2.imread(str(out / c["sheet"]))
        assert sheet is not None and sheet.shape[0] > 100
        assert c["regions"] >= 1 and 1 <= c["images_with"] <= 5
    assert len(list(out.glob("overview_*.png"))) == 5
    maps = np.load(out / REGIONS_FILE)
    for i, n in enumerate(found.regions):
        assert maps[f"map_{i}"].max() + 1 == n == len(maps[f"cluster_{i}"])
    # image paths are relative to the folder, so the folder can be named elsewhere later
    assert not Path(data["images"][0]["path"]).is_absolute()


def test_named_clusters_rebuild_the_references(discovered: dict[str, Any]) -> None:
    named = discovered["named"]
    assert named["ignored"] >= 1  # the backdrop
    assert set(named["labels"].values()) >= set(load_spec(CATEGORY).vocabulary)
    refs = load_references(discovered["out"], load_spec(CATEGORY))
    assert len(refs) == 5
    truth = discovered["annotated"]
    scores = [
        score_scene(r.scene, t.scene, load_spec(CATEGORY).vocabulary)
        for r, t in zip(refs, truth, strict=True)
    ]
    summary = summarise(scores)
    assert summary["counts_exact"] >= 0.8, [s.count_errors for s in scores]
    assert summary["instance_miou"] > 0.7


def test_perception_fitted_on_discovered_references(
    discovered: dict[str, Any], dataset: Path
) -> None:
    spec = load_spec(CATEGORY)
    perception = Perception(spec).fit(load_references(discovered["out"], spec))
    scores = [
        score_scene(perception.describe(item.image()), item.scene(), spec.vocabulary)
        for item in LocoDataset(dataset).iter(split="test")
    ]
    assert len(scores) == 6
    assert sum(s.counts_exact for s in scores) >= 4, [s.count_errors for s in scores]


def test_max_clusters_caps_the_clusters(dataset: Path, tmp_path: Path) -> None:
    images = sorted((dataset / "train" / "good").glob("*.png"))[:3]
    found = discover(images, load_spec(CATEGORY), out=tmp_path / "d", max_clusters=3)
    assert 1 <= len(found.clusters) <= 3


def test_unnamed_and_unknown_labels_are_one_line_errors(
    discovered: dict[str, Any], tmp_path: Path
) -> None:
    spec = load_spec(CATEGORY)
    folder = _copy(discovered["out"], tmp_path / "a")

    def unname(d: dict[str, Any]) -> None:
        d["clusters"][1]["label"] = None

    _edit(folder, unname)
    with pytest.raises(ReferencesError, match="cluster 1 has no label") as exc:
        load_references(folder, spec)
    assert CLUSTERS_FILE in str(exc.value) and "\n" not in str(exc.value)

    def unknown(d: dict[str, Any]) -> None:
        d["clusters"][1]["label"] = "sprocket"

    _edit(folder, unknown)
    with pytest.raises(ReferencesError, match="'sprocket' is not in") as exc:
        load_references(folder / CLUSTERS_FILE, spec)  # the YAML file itself works too
    assert "\n" not in str(exc.value)


def test_bad_attributes_and_options_are_refused(discovered: dict[str, Any], tmp_path: Path) -> None:
    spec = load_spec(CATEGORY)
    named = discovered["named"]["labels"]
    cid = next(c for c, lab in named.items() if lab == "connector")
    folder = _copy(discovered["out"], tmp_path / "b")

    def bad_attr(d: dict[str, Any]) -> None:
        next(c for c in d["clusters"] if c["id"] == cid)["attributes"] = {"colour": "red"}

    _edit(folder, bad_attr)
    with pytest.raises(ReferencesError, match=f"cluster {cid} .connector. has attribute"):
        load_references(folder, spec)
    folder = _copy(discovered["out"], tmp_path / "c")

    def bad_include(d: dict[str, Any]) -> None:
        d["labels"]["connector"] = {"includes": ["lid"]}

    _edit(folder, bad_include)
    with pytest.raises(ReferencesError, match="includes"):
        load_references(folder, spec)


def test_ignored_clusters_are_left_out(discovered: dict[str, Any], tmp_path: Path) -> None:
    spec = load_spec(CATEGORY)
    before = load_references(discovered["out"], spec)
    folder = _copy(discovered["out"], tmp_path / "d")

    def ignore_cables(d: dict[str, Any]) -> None:
        for c in d["clusters"]:
            if c["label"] == "cable":
                c["label"] = "ignore"

    _edit(folder, ignore_cables)
    after = load_references(folder, spec)
    assert any(c.label == "cable" for r in before for c in r.scene.components)
    assert not any(c.label == "cable" for r in after for c in r.scene.components)
    assert [len(r.scene.components) for r in after] != [len(r.scene.components) for r in before]


def test_missing_files_are_reported(discovered: dict[str, Any], tmp_path: Path) -> None:
    spec = load_spec(CATEGORY)
    folder = _copy(discovered["out"], tmp_path / "e")
    (folder / REGIONS_FILE).unlink()
    with pytest.raises(ReferencesError, match="region maps"):
        load_references(folder, spec)
    folder = _copy(discovered["out"], tmp_path / "f")

    def moved(d: dict[str, Any]) -> None:
        d["images"][2]["path"] = "nowhere/002.png"

    _edit(folder, moved)
    with pytest.raises(ReferencesError, match="nowhere/002.png not found"):
        load_references(folder, spec)


def _ring_discovery(tmp_path: Path, labels: dict[str, Any]) -> Path:
    """A hand-made discovery of the toy tray: a grey ring (cluster 0) around a dot (1)."""
    image, _ = toy.draw(toy.Toy(dots=[(110, 80, "warm")]), seed=0)
    h, w = image.shape[:2]
    cv2.imwrite(str(tmp_path / "img.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    rmap = np.zeros((h, w), np.int32)  # region 0: backdrop
    x0, y0, x1, y1 = toy.TRAY
    rmap[y0:y1, x0:x1] = 1  # region 1: the tray floor around the dot
    yy, xx = np.mgrid[:h, :w]
    rmap[(yy - 80) ** 2 + (xx - 110) ** 2 <= 64] = 2  # region 2: the dot
    np.savez(tmp_path / REGIONS_FILE, map_0=rmap, cluster_0=np.array([0, 1, 2], np.int32))
    clusters = [
        {"id": 0, "label": "ignore"},
        {"id": 1, "label": "tray"},
        {"id": 2, "label": "dot", "attributes": {"tone": "warm"}},
    ]
    write_yaml(tmp_path / CLUSTERS_FILE, toy.spec(), [{"path": "img.png"}], clusters, labels)
    return tmp_path


@pytest.mark.parametrize(
    ("options", "tray_area"),
    [
        ({}, 180 * 120 - 197),  # the floor only: the dot is a hole
        ({"tray": {"fill_holes": True}}, 180 * 120),
        ({"tray": {"includes": ["dot"]}}, 180 * 120),
    ],
)
def test_nesting_options_make_the_parent_whole(
    tmp_path: Path, options: dict[str, Any], tray_area: int
) -> None:
    folder = _ring_discovery(tmp_path, options)
    (ref,) = load_references(folder, toy.spec())
    by_label = {c.label: c for c in ref.scene.components}
    assert by_label["tray"].area == pytest.approx(tray_area, abs=40)
    assert by_label["dot"].area == pytest.approx(197, abs=30)  # still a dot of its own
    assert by_label["dot"].attributes == {"tone": "warm"}


def test_silhouette_prefers_the_true_groups() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(3, 0.1, (20, 2))])
    good = np.repeat([0, 1], 20)
    bad = np.tile([0, 1], 20)
    assert silhouette(x, good) > 0.9
    assert silhouette(x, bad) < 0.1


def test_single_keeps_the_largest_piece_and_its_near_pieces(tmp_path: Path) -> None:
    folder = _ring_discovery(tmp_path, {})
    maps = dict(np.load(folder / REGIONS_FILE))
    rmap = maps["map_0"]
    rmap[30:34, 30:34] = 2  # a stray speck named dot, far from the dot
    rmap[80, 121:123] = 2  # a sliver just beside the dot (a gap of two pixels)
    np.savez(folder / REGIONS_FILE, **maps)
    (ref,) = load_references(folder, toy.spec())
    assert ref.scene.counts()["dot"] == 3  # by default every piece is a component

    def single(d: dict[str, Any]) -> None:
        d["labels"] = {"dot": {"single": True}}

    _edit(folder, single)
    (ref,) = load_references(folder, toy.spec())
    (dot,) = [c for c in ref.scene.components if c.label == "dot"]
    assert dot.area == pytest.approx(197 + 2, abs=30)
    assert dot.bbox[2] >= 122  # the sliver joined, the speck (top left) did not
    assert dot.bbox[0] > 90


def test_attributes_come_from_the_clusters_that_give_them(tmp_path: Path) -> None:
    folder = _ring_discovery(tmp_path, {})
    maps = dict(np.load(folder / REGIONS_FILE))
    rmap = maps["map_0"]
    yy, xx = np.mgrid[: rmap.shape[0], : rmap.shape[1]]
    rmap[((yy - 80) ** 2 + (xx - 110) ** 2 <= 64) & (xx >= 108)] = 3  # most of the dot
    maps["cluster_0"] = np.array([0, 1, 2, 3], np.int32)
    np.savez(folder / REGIONS_FILE, **maps)

    def split_dot(d: dict[str, Any]) -> None:
        d["clusters"].append({"id": 3, "label": "dot", "attributes": {}})

    _edit(folder, split_dot)
    (ref,) = load_references(folder, toy.spec())
    (dot,) = [c for c in ref.scene.components if c.label == "dot"]
    assert dot.area == pytest.approx(197, abs=30)  # both clusters' regions: one dot
    assert dot.attributes == {"tone": "warm"}  # from the smaller cluster, the only one to say
