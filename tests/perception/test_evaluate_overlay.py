"""Scene scoring against ground truth, and overlay drawing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import perception_toy as toy
from PIL import Image

from logicode.perception.evaluate import iou_matrix, score_scene, summarise
from logicode.perception.overlay import draw_overlay, save_overlay
from logicode.scene import Scene


def _without(scene: Scene, label: str) -> Scene:
    data = scene.model_copy(deep=True)
    data.components = [c for c in data.components if c.label != label]
    return data


def test_perfect_prediction_scores_one() -> None:
    _, truth = toy.draw(toy.TEST_TOYS[0])
    s = score_scene(truth, truth, toy.spec().vocabulary)
    assert s.counts_exact and s.mean_iou == 1.0
    assert s.label_correct == s.label_pairs == len(truth.components)
    assert s.attr_correct == s.attr_total > 0


def test_missing_and_renamed_components_are_counted() -> None:
    _, truth = toy.draw(toy.TEST_TOYS[0])
    pred = _without(truth, "tag")
    s = score_scene(pred, truth, toy.spec().vocabulary)
    assert not s.counts_exact and s.count_errors == {"tag": (0, 1)}
    assert s.iou_by_label["tag"] == [0.0]
    renamed = truth.model_copy(deep=True)
    dot = next(c for c in renamed.components if c.label == "dot")
    dot.attributes["tone"] = "cool" if dot.attributes["tone"] == "warm" else "warm"
    bar = next(c for c in renamed.components if c.label == "bar")
    bar.label = "tag"
    s = score_scene(renamed, truth, toy.spec().vocabulary)
    assert s.label_correct == s.label_pairs - 1
    assert s.attr_correct == s.attr_total - 1  # the flipped tone (the renamed bar has no pair)
    report = summarise([s, score_scene(truth, truth, toy.spec().vocabulary)])
    assert report["counts_exact"] == 0.5 and report["images"] == 2


def test_iou_matrix() -> None:
    a = np.zeros((10, 10), bool)
    a[0:5, 0:5] = True
    b = np.zeros((10, 10), bool)
    b[0:5, 0:10] = True
    m = iou_matrix([a], [a, b, ~b])
    assert np.allclose(m, [[1.0, 0.5, 0.0]])


def test_overlay_draws_every_component(tmp_path: Path) -> None:
    image, truth = toy.draw(toy.TEST_TOYS[0])
    pic = draw_overlay(image, truth, toy.spec().vocabulary)
    assert pic.shape == image.shape and pic.dtype == np.uint8
    assert np.mean(pic != image) > 0.05
    empty = draw_overlay(
        image, _without(_without(_without(_without(truth, "tray"), "dot"), "bar"), "tag")
    )
    assert np.array_equal(empty, image)
    save_overlay(image, truth, tmp_path / "o" / "x.png", max_side=100)
    small = np.asarray(Image.open(tmp_path / "o" / "x.png"))
    assert max(small.shape[:2]) == 100
