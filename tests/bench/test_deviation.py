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
    allowed_values,
    bounded,
    component_features,
    scene_parts,
    unseen_variants,
)
from logicode.spec import load_spec

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


def kinds(*values: str, rgb: tuple[int, int, int] = (0, 0, 0)) -> list[dict[str, Any]]:
    """One reference scene per value: a part of label ``p`` with ``kind`` and a colour."""
    out = []
    for i, v in enumerate(values):
        colour = [min(255, c + 40 * i) for c in rgb]
        out.append(scene(comp("p", 10.0 + i, rgb=colour, attributes={"kind": v})))
    return out


def test_allowed_values_come_from_the_spec_enums_without_catch_all_values():
    spec = load_spec("juice_bottle")
    allowed = allowed_values(spec)
    enums = {
        (c.label, a.name): set(a.values or ())
        for c in spec.components
        for a in c.attributes
        if a.type == "enum"
    }
    assert {(label, k) for label, attrs in allowed.items() for k in attrs} == set(enums)
    for (label, k), values in enums.items():
        assert allowed[label][k] == {v for v in values if v != "unknown"}


def test_unseen_variants_only_for_attributes_that_vary_among_the_references():
    allowed = {"p": {"kind": frozenset({"a", "b", "c"})}}
    two = [scene_parts(s) for s in kinds("a", "b")]
    one = [scene_parts(s) for s in kinds("a", "a")]
    assert unseen_variants(two, allowed) == {"p": {"kind": frozenset({"c"})}}
    assert unseen_variants(one, allowed) == {}  # one value only: another one is an anomaly
    assert unseen_variants(one, allowed, min_seen=1) == {"p": {"kind": frozenset({"b", "c"})}}


def test_an_unseen_allowed_variant_is_compared_by_placement_only():
    allowed = {"p": {"kind": frozenset({"a", "b", "c"})}}
    refs = kinds("a", "b", rgb=(10, 10, 10))
    plain = ReferenceModel.fit(refs)
    aware = ReferenceModel.fit(refs, allowed=allowed)
    # a new kind, in a new colour, where the first reference part is: only the kind is new
    new_kind = scene(comp("p", 10.0, rgb=[250, 0, 0], attributes={"kind": "c"}))
    assert aware.deviation(new_kind) == pytest.approx(0.0)
    assert plain.deviation(new_kind) > 2 * plain.attribute_cost / plain.norm - 1e-9
    # the same part misplaced still deviates: placement is compared
    moved = scene(comp("p", 60.0, rgb=[250, 0, 0], attributes={"kind": "c"}))
    assert aware.deviation(moved) > 1.0
    # a value outside the spec (or a catch-all) is not a variant: full cost
    odd = scene(comp("p", 10.0, rgb=[10, 10, 10], attributes={"kind": "zzz"}))
    assert aware.deviation(odd) == pytest.approx(plain.deviation(odd))
    assert aware.describe()["unseen_variants"] == {"p": {"kind": ["c"]}}
