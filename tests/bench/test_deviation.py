"""Deviation of a scene from normal reference scenes, against hand-computed values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from logicode.bench.deviation import (
    FEATURE_FLOORS,
    MISSING_COST,
    ReferenceModel,
    bounded,
    component_features,
    scene_parts,
)

W, H = 100, 200


def comp(label: str, cx: float, cy: float = 50.0, **kw: Any) -> dict[str, Any]:
    """A component with a fixed 20x40 box and area 400; centroid and colour as given."""
    return {
        "id": kw.get("id", f"{label}{cx}"),
        "label": label,
        "bbox": kw.get("bbox", [0.0, 0.0, 20.0, 40.0]),
        "area": kw.get("area", 400.0),
        "centroid": [cx, cy],
        "color": {"rgb": kw.get("rgb", [0, 0, 0]), "name": "black"},
        "attributes": kw.get("attributes", {}),
    }


def scene(*components: dict[str, Any]) -> dict[str, Any]:
    return {"image": {"width": W, "height": H}, "components": list(components)}


def test_component_features_by_hand():
    c = comp("a", 20.0, 40.0, bbox=[10, 20, 30, 60], rgb=[255, 0, 51])
    f = component_features(c, W, H)
    expected = [0.2, 0.2, math.sqrt(400 / 20000), math.log(20 / 40), 1.0, 0.0, 0.2]
    assert f == pytest.approx(expected)


def test_scales_are_pooled_std_with_floors():
    model = ReferenceModel.fit([scene(comp("a", 10.0)), scene(comp("a", 30.0))])
    # cx features 0.1 and 0.3: population std 0.1; every other feature is constant
    assert model.scales["a"][0] == pytest.approx(0.1)
    assert model.scales["a"][1:] == pytest.approx(FEATURE_FLOORS[1:])


def test_deviation_by_hand_nearest_reference_over_leave_one_out_norm():
    model = ReferenceModel.fit([scene(comp("a", 10.0)), scene(comp("a", 30.0))])
    # references differ by z = 2 on one of 7 features: RMS sqrt(4 / 7); that is the norm
    pair = math.sqrt(4 / 7)
    assert model.loo == pytest.approx([pair, pair]) and model.norm == pytest.approx(pair)
    # cx = 0.5: z = 2 from the nearest reference (0.3), 4 from the other
    assert model.distance(scene(comp("a", 50.0)), 1) == pytest.approx(pair)
    assert model.distance(scene(comp("a", 50.0)), 0) == pytest.approx(math.sqrt(16 / 7))
    assert model.deviation(scene(comp("a", 50.0))) == pytest.approx(1.0)
    # a reference itself is at deviation 0
    assert model.deviation(scene(comp("a", 10.0))) == pytest.approx(0.0)


def test_missing_extra_parts_and_attribute_changes_cost_by_hand():
    refs = [scene(comp("a", 10.0)), scene(comp("a", 30.0))]
    model = ReferenceModel.fit(refs)
    pair = math.sqrt(4 / 7)
    extra = scene(comp("a", 10.0), comp("b", 10.0))
    assert model.deviation(extra) == pytest.approx(MISSING_COST / pair)
    missing = scene()
    assert model.deviation(missing) == pytest.approx(MISSING_COST / pair)
    changed = scene(comp("a", 10.0, attributes={"kind": "x"}))
    # the reference has no "kind": one differing attribute
    assert model.deviation(changed) == pytest.approx(model.attribute_cost / pair)


def test_far_pairs_cost_at_most_a_missing_and_an_extra_part():
    model = ReferenceModel.fit([scene(comp("a", 10.0)), scene(comp("a", 30.0))])
    far = scene(comp("a", 10.0, rgb=[255, 255, 255]))  # z = 50 on three colour features
    assert model.distance(far, 0) == pytest.approx(2 * MISSING_COST)


def test_parts_are_paired_whatever_their_order():
    a = scene(comp("p", 10.0, id="x"), comp("p", 60.0, id="y"))
    b = scene(comp("p", 60.0, id="y"), comp("p", 10.0, id="x"))
    model = ReferenceModel.fit([a])
    assert model.distance(b, 0) == pytest.approx(0.0)
    assert model.norm == 1.0 and model.loo == []  # one reference: no leave-one-out


def test_scene_parts_group_by_label_and_keep_categorical_attributes():
    parts = scene_parts(
        scene(comp("a", 10.0, attributes={"k": "v", "n": 3, "x": 0.5}), comp("b", 20.0))
    )
    assert parts.labels == {"a", "b"}
    assert parts.features["a"].shape == (1, 7)
    assert parts.attributes["a"] == [{"k": "v", "n": "3"}]


def test_bounded_is_monotone_below_one():
    assert bounded(0.0) == 0.0 and bounded(1.0) == 0.5 and bounded(3.0) == 0.75
    values = [bounded(d) for d in np.linspace(0, 1e6, 50)]
    assert all(b < 1.0 for b in values) and values == sorted(values)


def test_errors_and_no_model():
    with pytest.raises(ValueError, match="no reference"):
        ReferenceModel.fit([])
    with pytest.raises(ValueError, match="width"):
        scene_parts({"image": {}, "components": []})
