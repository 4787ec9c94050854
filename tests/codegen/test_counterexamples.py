import numpy as np
import pytest

from logicode.codegen.context import reference_summary, vocabulary_text
from logicode.codegen.counterexamples import Mutation, propose_mutations
from logicode.measure import component_from_mask
from logicode.scene import ImageInfo, Scene, scene_from_dict
from logicode.spec import spec_from_dict

SPEC = spec_from_dict(
    {
        "category": "tray",
        "description": "A tray with a lid and two nuts.",
        "components": [
            {"label": "tray", "description": "The tray."},
            {
                "label": "lid",
                "attributes": [{"name": "kind", "type": "enum", "values": ["round", "square"]}],
            },
            {"label": "nut"},
        ],
        "rules": [{"id": "two_nuts", "text": "There are exactly two nuts."}],
    }
)


def reference() -> dict:
    h, w = 200, 300
    img = np.full((h, w, 3), 90, np.uint8)
    masks = {}
    tray = np.zeros((h, w), bool)
    tray[20:180, 30:270] = True
    lid = np.zeros((h, w), bool)
    lid[40:80, 120:180] = True
    n1 = np.zeros((h, w), bool)
    n1[120:140, 60:80] = True
    n2 = np.zeros((h, w), bool)
    n2[120:140, 200:220] = True
    img[lid] = (200, 30, 30)
    masks = [("tray", tray, {}), ("lid", lid, {"kind": "round"}), ("nut", n1, {}), ("nut", n2, {})]
    comps = [
        component_from_mask(f"c{i}", lab, m, img, attributes=a)
        for i, (lab, m, a) in enumerate(masks)
    ]
    scene = Scene(
        image=ImageInfo(path="x.png", width=w, height=h), category="tray", components=comps
    )
    return scene.model_dump(mode="json")


def test_every_proposed_mutation_is_a_valid_scene_and_changes_it():
    ref = reference()
    muts = propose_mutations(SPEC, ref)
    ops = {m.op for m in muts}
    assert {"remove", "duplicate", "move", "resize", "recolor", "set_attr", "swap", "rotate"} <= ops
    # Every one of a label is removed only where there are several (one nut of two, not the lid).
    assert [m.label for m in muts if m.op == "remove_all"] == ["nut"]
    keys = [m.key() for m in muts]
    assert len(keys) == len(set(keys))
    for m in muts:
        changed = m.apply(ref)
        scene_from_dict(changed, vocabulary=SPEC.vocabulary)
        assert changed != ref
        assert changed["meta"]["mutation"] == m.key()
    assert ref == reference()  # the reference itself is never modified


def test_mutation_semantics():
    ref = reference()
    counts = lambda s, lab: sum(c["label"] == lab for c in s["components"])  # noqa: E731
    assert counts(Mutation("remove", "nut").apply(ref), "nut") == 1
    none = Mutation("remove_all", "nut").apply(ref)
    assert counts(none, "nut") == 0 and counts(none, "lid") == 1
    assert Mutation("remove_all", "nut").describe() == "remove every nut"
    dup = Mutation("duplicate", "nut").apply(ref)
    assert counts(dup, "nut") == 3 and len({c["id"] for c in dup["components"]}) == 5
    moved = Mutation("move", "lid", dy=0.1).apply(ref)
    lid = next(c for c in moved["components"] if c["label"] == "lid")
    assert lid["centroid"][1] == pytest.approx(60.0 + 0.1 * 200)
    assert lid["mask"] is None
    big = Mutation("resize", "lid", factor=1.5).apply(ref)
    lid = next(c for c in big["components"] if c["label"] == "lid")
    assert lid["bbox"][2] - lid["bbox"][0] == pytest.approx(90)
    sq = Mutation("set_attr", "lid", attr="kind", value="square").apply(ref)
    assert (
        next(c for c in sq["components"] if c["label"] == "lid")["attributes"]["kind"] == "square"
    )
    sw = Mutation("swap", "lid", other="nut").apply(ref)
    lid = next(c for c in sw["components"] if c["label"] == "lid")
    assert lid["centroid"] == [70.0, 130.0]
    # Out of the image: not applicable.
    assert Mutation("move", "tray", dx=0.5).apply(ref) is None
    assert Mutation("remove", "bolt").apply(ref) is None
    assert "remove the nut" == Mutation("remove", "nut").describe()
    assert "down by 10% of the image height" in Mutation("move", "lid", dy=0.1).describe()


def test_context_texts():
    text = vocabulary_text(SPEC)
    assert '"lid"' in text and 'c.attr("kind") (one of round, square)' in text
    summary = reference_summary(SPEC, [reference(), reference()])
    assert '"nut": 2 per image' in summary
    assert "kind in {round}" in summary
    assert "2 normal references" in summary
    assert reference_summary(SPEC, []) == "(no reference scenes)"


def test_nullable_attributes_are_also_unset():
    spec = spec_from_dict(
        {
            "category": "tray",
            "components": [
                {"label": "tray"},
                {
                    "label": "lid",
                    "attributes": [
                        {"name": "kind", "type": "enum", "values": ["round", "square"]},
                        {"name": "slot", "type": "number", "nullable": True},
                    ],
                },
                {"label": "nut"},
            ],
            "rules": [{"id": "r", "text": "The lid's slot is set."}],
        }
    )
    ref = reference()
    for c in ref["components"]:
        if c["label"] == "lid":
            c["attributes"]["slot"] = 2
    muts = propose_mutations(spec, ref)
    unset = [m for m in muts if m.op == "set_attr" and m.value is None]
    assert [m.attr for m in unset] == ["slot"]  # kind is not nullable
    # A whole number becomes one more and one less (2 -> 3, 1), not 1.2 and 3.
    assert [m.value for m in muts if m.attr == "slot" and m.value is not None] == [3, 1]
    changed = unset[0].apply(ref)
    lid = next(c for c in changed["components"] if c["label"] == "lid")
    assert lid["attributes"]["slot"] is None
    scene_from_dict(changed, vocabulary=spec.vocabulary)
    assert "None (not set)" in unset[0].describe()
    assert 'c.attr("slot") (number, may be None)' in vocabulary_text(spec)


def test_components_without_colour_or_attributes_are_changed_too():
    """Scenes loaded through the schema carry ``color: None``; hand-made ones may lack
    ``attributes``."""
    ref = reference()
    for c in ref["components"]:
        c["color"] = None
        c.pop("attributes", None)
    muts = propose_mutations(SPEC, ref)
    assert {"set_attr", "recolor", "resize"} <= {m.op for m in muts}
    for m in muts:
        changed = m.apply(ref)
        if changed is not None:
            scene_from_dict(changed, vocabulary=SPEC.vocabulary)
