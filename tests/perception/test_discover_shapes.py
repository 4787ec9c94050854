"""Discovery: regions split by width, and components brought to a user-given count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import perception_toy as toy
import pytest
import yaml

from logicode.perception.discover import CLUSTERS_FILE, REGIONS_FILE, write_yaml
from logicode.perception.discover_shapes import split_at_junctions, split_by_width
from logicode.perception.discovered_counts import fit_count, fixed_counts
from logicode.perception.refs import ReferencesError, load_references
from logicode.scene import Component, ImageInfo, Scene


def _n(region_map: np.ndarray) -> int:
    return len(np.unique(region_map))


def test_a_cross_of_thin_bars_is_cut_at_its_junction() -> None:
    m = np.zeros((61, 61), bool)
    m[29:32, 5:56] = True
    m[5:56, 29:32] = True
    lab = split_at_junctions(m, min_branch=5)
    assert int(lab.max()) == 4  # four arms
    assert (lab[m] > 0).all() and (lab[~m] == 0).all()


def test_thin_walls_and_thick_bodies_become_regions_of_their_own() -> None:
    rmap = np.zeros((80, 120), np.int32)  # region 0: backdrop (skipped)
    rmap[20:50, 10:40] = 1  # a thick square body ...
    rmap[33:36, 40:110] = 1  # ... with a long thin wall (3 px) sticking out
    rmap[55:75, 60:90] = 2  # a thick square alone
    out, strips = split_by_width(rmap, radius=3, min_px=12, skip=np.array([0]))
    assert _n(out) == 4  # backdrop, body, wall, square
    assert strips == {int(out[34, 80])}
    assert len(np.unique(out[20:50, 10:40])) == 1
    assert len(np.unique(out[34, 50:100])) == 1
    assert out[34, 80] != out[30, 20]  # the wall left its body
    assert len(np.unique(out[55:75, 60:90])) == 1  # corners are not strips
    assert (split_by_width(rmap, radius=0, min_px=12)[0] == rmap).all()


def test_fit_count_separates_touching_regions_and_joins_strays() -> None:
    a = np.zeros((40, 40), bool)
    b = np.zeros((40, 40), bool)
    a[5:20, 5:20] = True
    b[5:20, 20:35] = True  # touches a
    joined = a | b
    two = fit_count([joined], [a, b], 2)
    assert len(two) == 2
    assert sorted(int(p.sum()) for p in two) == [225, 225]
    stray = np.zeros((40, 40), bool)
    stray[30:32, 30:32] = True
    assert len(fit_count([a, b, stray], [a, b, stray], 2)) == 2
    assert len(fit_count([a, b], [a, b], 2)) == 2  # already right: unchanged


def test_fit_count_cuts_one_region_holding_two_blobs() -> None:
    yy, xx = np.mgrid[:60, :100]
    m = ((yy - 30) ** 2 + (xx - 30) ** 2 <= 225) | ((yy - 30) ** 2 + (xx - 62) ** 2 <= 225)
    parts = fit_count([m], [m], 2)
    assert len(parts) == 2
    assert all(abs(int(p.sum()) - int(m.sum()) / 2) < 0.15 * m.sum() for p in parts)


def _two_region_dot(tmp_path: Path, labels: dict[str, Any]) -> Path:
    """The toy tray with a dot cut into two touching regions, both named dot."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    image, _ = toy.draw(toy.Toy(dots=[(110, 80, "warm")]), seed=0)
    h, w = image.shape[:2]
    cv2.imwrite(str(tmp_path / "img.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    rmap = np.zeros((h, w), np.int32)
    x0, y0, x1, y1 = toy.TRAY
    rmap[y0:y1, x0:x1] = 1
    yy, xx = np.mgrid[:h, :w]
    dot = (yy - 80) ** 2 + (xx - 110) ** 2 <= 64
    rmap[dot] = 2
    rmap[dot & (xx >= 110)] = 3
    np.savez(tmp_path / REGIONS_FILE, map_0=rmap, cluster_0=np.array([0, 1, 2, 3], np.int32))
    clusters = [
        {"id": 0, "label": "ignore"},
        {"id": 1, "label": "tray"},
        {"id": 2, "label": "dot"},
        {"id": 3, "label": "dot"},
    ]
    write_yaml(tmp_path / CLUSTERS_FILE, toy.spec(), [{"path": "img.png"}], clusters, labels)
    return tmp_path


def test_count_option_keeps_touching_regions_apart(tmp_path: Path) -> None:
    (ref,) = load_references(_two_region_dot(tmp_path / "a", {}), toy.spec())
    assert ref.scene.counts()["dot"] == 1  # touching regions of one label: one component
    (ref,) = load_references(_two_region_dot(tmp_path / "b", {"dot": {"count": 2}}), toy.spec())
    dots = [c for c in ref.scene.components if c.label == "dot"]
    assert len(dots) == 2
    assert {c.bbox[0] >= 109 for c in dots} == {True, False}  # the left and the right half


@pytest.mark.parametrize("bad", [0, -1, "two", True])
def test_bad_count_is_refused(tmp_path: Path, bad: Any) -> None:
    folder = _two_region_dot(tmp_path, {})
    data = yaml.safe_load((folder / CLUSTERS_FILE).read_text())
    data["labels"] = {"dot": {"count": bad}}
    (folder / CLUSTERS_FILE).write_text(yaml.safe_dump(data))
    with pytest.raises(ReferencesError, match="count"):
        load_references(folder, toy.spec())


def _scene(labels: list[str]) -> Scene:
    comps = [
        Component(id=f"c{i}", label=lab, bbox=[0, 0, 1, 1], area=1, centroid=[0.5, 0.5])
        for i, lab in enumerate(labels)
    ]
    return Scene(image=ImageInfo(path="x.png", width=2, height=2), category="toy", components=comps)


def test_fixed_counts_are_the_counts_equal_in_every_scene() -> None:
    scenes = [_scene(["a", "b", "b", "c"]), _scene(["a", "b", "b", "c", "c"])]
    assert fixed_counts(scenes, ["a", "b", "c", "d"]) == {"a": 1, "b": 2}


def test_fit_count_joins_fragments_and_does_not_cut_a_single_instance() -> None:
    a = np.zeros((40, 60), bool)
    b = np.zeros((40, 60), bool)
    c = np.zeros((40, 60), bool)
    speck = np.zeros((40, 60), bool)
    a[5:20, 5:20] = True
    b[5:20, 20:35] = True
    c[22:37, 5:20] = True
    speck[30:32, 40:42] = True  # a fragment touching nothing
    joined = a | b | c | speck
    parts = fit_count([joined], [a, b, c, speck], 3)
    assert sorted(int(p.sum()) for p in parts) == [225, 225, 229]  # a, b, c (+ fragment)
    lone = np.zeros((40, 60), bool)
    lone[5:20, 40:55] = True
    assert len(fit_count([lone], [lone], 3)) == 1  # one instance: nothing to cut


def test_strips_are_clustered_apart_with_their_own_cap() -> None:
    from logicode.perception.discover_regions import STRIP_CLASS, DiscoverParams, cluster_regions

    rng = np.random.default_rng(0)
    centres = np.arange(8)[:, None] * np.array([[5.0, 0.0]])
    x = np.concatenate([c + rng.normal(0, 0.05, (5, 2)) for c in centres])
    lab, _ = cluster_regions(x, np.full(len(x), STRIP_CLASS), DiscoverParams(strip_splits=8))
    assert len(np.unique(lab)) == 8  # eight strip groups (bodies stop at max_splits=6)
    lab, _ = cluster_regions(x, np.zeros(len(x), np.int64), DiscoverParams())
    assert len(np.unique(lab)) <= 6


def test_scattered_label_takes_all_its_pieces(tmp_path: Path) -> None:
    folder = _two_region_dot(tmp_path, {})
    maps = dict(np.load(folder / REGIONS_FILE))
    maps["map_0"][30:36, 30:36] = 3  # a far piece of the dot's second cluster
    np.savez(folder / REGIONS_FILE, **maps)
    data = yaml.safe_load((folder / CLUSTERS_FILE).read_text())
    data["labels"] = {"dot": {"single": True}}
    (folder / CLUSTERS_FILE).write_text(yaml.safe_dump(data))
    (ref,) = load_references(folder, toy.spec())
    (dot,) = [c for c in ref.scene.components if c.label == "dot"]
    assert dot.bbox[0] > 90  # single: the far piece is dropped
    data["labels"] = {"dot": {"single": True, "scattered": True}}
    (folder / CLUSTERS_FILE).write_text(yaml.safe_dump(data))
    (ref,) = load_references(folder, toy.spec())
    (dot,) = [c for c in ref.scene.components if c.label == "dot"]
    assert dot.bbox[0] <= 31 and dot.area == pytest.approx(197 + 36, abs=30)
