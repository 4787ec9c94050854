import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from logicode import ruleapi
from logicode.measure import component_from_mask
from logicode.ruleapi import (
    above,
    api_reference,
    approx,
    below,
    between,
    color_distance,
    color_is,
    distance,
    grid,
    inside,
    iou,
    left_of,
    overlaps,
    ratio,
    right_of,
    same_color,
    violation,
    wrap_scene,
)

# --- hand-made scenes ----------------------------------------------------------------------


def comp(cid, label, bbox, *, centroid=None, area=None, angle=0.0, rgb=None, name=None, **attrs):
    x0, y0, x1, y1 = bbox
    d = {
        "id": cid,
        "label": label,
        "score": 0.9,
        "bbox": list(bbox),
        "mask": None,
        "area": area if area is not None else (x1 - x0) * (y1 - y0),
        "centroid": list(centroid or ((x0 + x1) / 2, (y0 + y1) / 2)),
        "orientation": angle,
        "color": None if rgb is None else {"rgb": list(rgb), "name": name or "?"},
        "attributes": attrs,
    }
    return d


def scene_dict(components, width=200, height=400, category="demo", **extra):
    d = {
        "schema_version": "1.0",
        "image": {"path": "/secret/img.png", "width": width, "height": height},
        "category": category,
        "components": components,
        "label": None,
        "meta": {},
    }
    d.update(extra)
    return d


def bottle_scene(
    *, top_y=(60, 120), bottom_y=(150, 180), icon="cherry", juice="cherry", bottles=1, icon_dx=0
):
    """A juice-bottle-like scene drawn with masks and measured by component_from_mask."""
    h, w = 200, 100
    img = np.zeros((h, w, 3), np.uint8)
    parts = []

    def add(cid, label, sl, rgb, **attributes):
        m = np.zeros((h, w), bool)
        m[sl] = True
        img[m] = rgb
        parts.append((cid, label, m, attributes))

    add("b0", "bottle", np.s_[10:195, 20:80], (40, 40, 40))
    if bottles == 2:
        add("b1", "bottle", np.s_[10:60, 85:99], (40, 40, 40))
    liquid_rgb = {"cherry": (180, 20, 30), "orange": (240, 150, 20), "banana": (240, 235, 215)}
    add("l0", "liquid", np.s_[40:195, 22:78], liquid_rgb[juice], juice=juice)
    add("t0", "top_label", np.s_[top_y[0] : top_y[1], 28:72], (245, 245, 245))
    cy = (top_y[0] + top_y[1]) // 2
    add(
        "i0",
        "fruit_icon",
        np.s_[cy - 8 : cy + 8, 42 + icon_dx : 58 + icon_dx],
        (200, 30, 30),
        kind=icon,
    )
    add("m0", "bottom_label", np.s_[bottom_y[0] : bottom_y[1], 32:68], (245, 245, 245))
    comps = [
        component_from_mask(cid, label, m, img, attributes=a, keep_mask=False).model_dump(
            mode="json"
        )
        for cid, label, m, a in parts
    ]
    return scene_dict(comps, width=w, height=h, category="juice_bottle")


# --- scene queries ---------------------------------------------------------------------------


def test_find_sorts_top_to_bottom_then_left_to_right_and_counts():
    s = wrap_scene(
        scene_dict(
            [
                comp("c1", "nut", (100, 300, 120, 320)),
                comp("c2", "nut", (10, 300, 30, 320)),
                comp("c3", "nut", (150, 20, 170, 40)),
                comp("c4", "bolt", (50, 100, 60, 200)),
            ]
        )
    )
    assert [c.id for c in s.find("nut")] == ["c3", "c2", "c1"]
    assert [c.id for c in s.find("nut", "bolt")] == ["c3", "c4", "c2", "c1"]
    assert [c.id for c in s.find(["bolt", "nut"])] == ["c3", "c4", "c2", "c1"]
    assert [c.id for c in s.find()] == [c.id for c in s.components]
    assert s.find("washer") == []
    assert s.count("nut") == 3 and s.count("bolt") == 1 and s.count("washer") == 0
    assert s.labels() == ["bolt", "nut"]
    counts = s.counts()
    assert counts == {"nut": 3, "bolt": 1}
    counts["nut"] = 99
    assert s.counts()["nut"] == 3
    found = s.find("nut")
    found.clear()
    assert s.count("nut") == 3
    assert (s.width, s.height, s.category) == (200, 400, "demo")
    with pytest.raises(TypeError, match=r"got Component; to look inside a part"):
        s.find("nut", s.one("bolt"))


def test_one_is_none_single_or_largest():
    s = wrap_scene(
        scene_dict(
            [
                comp("small", "nut", (0, 0, 10, 10)),
                comp("big", "nut", (50, 50, 90, 90)),
                comp("lid", "lid", (0, 100, 200, 150)),
            ]
        )
    )
    assert s.one("washer") is None
    assert s.one("lid").id == "lid"
    assert s.one("nut").id == "big"


def test_above_below_use_image_y_growing_downwards():
    s = wrap_scene(
        scene_dict([comp("hi", "a", (10, 20, 30, 60)), comp("lo", "b", (100, 300, 140, 340))])
    )
    hi, lo = s.one("a"), s.one("b")
    assert above(hi, lo) and not above(lo, hi)
    assert below(lo, hi) and not below(hi, lo)
    assert hi.is_above(lo) and lo.is_below(hi) and not lo.is_above(hi)
    assert left_of(hi, lo) and right_of(lo, hi) and not left_of(lo, hi)
    assert hi.is_left_of(lo) and lo.is_right_of(hi)
    # Relations go by centroid, not by list position or box edge.
    tall = wrap_scene(
        scene_dict(
            [
                comp("t", "tall", (0, 0, 10, 400), centroid=(5, 350)),
                comp("s", "short", (20, 100, 30, 110)),
            ]
        )
    )
    assert tall.one("short").is_above(tall.one("tall"))


def test_inside_with_default_and_explicit_tolerance():
    s = wrap_scene(
        scene_dict(
            [
                comp("outer", "box", (100, 100, 200, 200)),
                comp("in", "x", (120, 120, 150, 150)),
                comp("slight", "x", (97, 120, 150, 150)),  # 3 px over, 5% of 100 = 5 px allowed
                comp("far", "x", (90, 120, 150, 150)),  # 10 px over
            ]
        )
    )
    outer = s.one("box")
    by_id = {c.id: c for c in s.components}
    assert inside(by_id["in"], outer) and by_id["in"].is_inside(outer)
    assert inside(by_id["slight"], outer)
    assert not inside(by_id["slight"], outer, tol=0)
    assert not inside(by_id["far"], outer)
    assert inside(by_id["far"], outer, tol=10)
    assert not inside(outer, by_id["in"])
    assert inside(by_id["in"], (100, 100, 200, 200))


def test_overlaps_iou_distance():
    s = wrap_scene(
        scene_dict(
            [
                comp("a", "x", (0, 0, 10, 10)),
                comp("b", "x", (5, 0, 15, 10)),
                comp("c", "x", (10, 0, 20, 10)),
                comp("d", "x", (3, 4, 13, 14)),
            ]
        )
    )
    a, b, c, d = (next(x for x in s.components if x.id == i) for i in "abcd")
    assert overlaps(a, b) and a.overlaps(b)
    assert not overlaps(a, c)  # touching edges do not overlap
    assert iou(a, b) == pytest.approx(50 / 150)
    assert iou(a, c) == 0.0 and iou(a, a) == pytest.approx(1.0)
    assert distance(a, d) == pytest.approx(5.0) and a.distance_to(d) == pytest.approx(5.0)


def test_relative_to_subregion_and_halves():
    s = wrap_scene(
        scene_dict(
            [
                comp("tray", "tray", (100, 100, 300, 200)),
                comp("p", "nut", (140, 170, 160, 190)),  # centre (150, 180)
                comp("q", "nut", (240, 110, 260, 130)),  # centre (250, 120)
            ],
            width=400,
        )
    )
    tray, p = s.one("tray"), s.find("nut")[1]
    assert p.id == "p"
    assert p.relative_to(tray) == pytest.approx((0.25, 0.8))
    place = p.relative_to(tray)  # box x 140..160 of 100..300, y 170..190 of 100..200
    assert (place.x, place.y) == pytest.approx((0.25, 0.8))
    assert (place.left, place.top, place.right, place.bottom) == pytest.approx((0.2, 0.7, 0.3, 0.9))
    with pytest.raises(AttributeError):
        place.top = 0.5
    assert s.one("tray").relative_to(s) == pytest.approx((0.5, 0.375))
    left, right = tray.left_half(), tray.right_half()
    assert (left.left, left.right, right.left, right.right) == (100, 200, 200, 300)
    assert [c.id for c in left.find("nut")] == ["p"] and right.count("nut") == 1
    assert tray.top_half().one("nut").id == "q" and tray.bottom_half().one("nut").id == "p"
    assert tray.top_half().one("washer") is None
    sub = tray.subregion(0.2, 0.6, 0.3, 1.0)
    assert (sub.left, sub.top, sub.right, sub.bottom) == pytest.approx((140, 160, 160, 200))
    assert sub.contains(p) and not sub.contains(s.find("nut")[0])
    reg = s.region(230, 100, 270, 140)
    assert reg.count("nut") == 1 and reg.width == 40 and reg.x == 250
    assert s.left_half().one("nut").id == "p" and s.right_half().one("nut").id == "q"


def test_grid_cells_row_major_with_centre_assignment():
    comps = [comp("tray", "tray", (0, 0, 300, 200))]
    # one nut per cell except cell (1, 2), which gets two; cell (0, 1) gets none
    spots = {(0, 0): 1, (0, 2): 1, (1, 0): 1, (1, 1): 1, (1, 2): 2}
    k = 0
    for (r, c), n in spots.items():
        for j in range(n):
            x, y = 100 * c + 30 + 30 * j, 100 * r + 50
            comps.append(comp(f"n{k}", "nut", (x - 5, y - 5, x + 5, y + 5)))
            k += 1
    # a nut centred exactly on the boundary x=100 belongs to the right-hand cell (half-open)
    comps.append(comp("edge", "bolt", (95, 40, 105, 60)))
    s = wrap_scene(scene_dict(comps, width=300, height=200))
    cells = grid(s.one("tray"), 2, 3)
    assert [(c.row, c.col) for c in cells] == [(r, c) for r in range(2) for c in range(3)]
    got = {(c.row, c.col): c.count("nut") for c in cells}
    assert got == {(0, 0): 1, (0, 1): 0, (0, 2): 1, (1, 0): 1, (1, 1): 1, (1, 2): 2}
    assert [c.count("bolt") for c in cells][:2] == [0, 1]
    assert cells[4].left == 100 and cells[4].top == 100 and cells[4].right == 200
    assert [c.count("nut") for c in s.one("tray").grid(2, 3)] == [1, 0, 1, 1, 1, 2]
    assert len(s.grid(4, 1)) == 4 and s.grid(4, 1)[3].bottom == 200
    with pytest.raises(ValueError, match="rows and cols"):
        grid(s, 0, 3)
    # a plain tuple box has no components to count: refuse loudly rather than report 0
    cell = grid((0, 0, 300, 200), 2, 3)[0]
    assert cell.bbox == (0, 0, 100, 100) and cell.center == (50, 50)
    with pytest.raises(ValueError, match="scene.region"):
        cell.count("nut")
    assert s.region(0, 0, 300, 200).grid(2, 3)[0].count("nut") == 1


def test_colour_helpers():
    s = wrap_scene(
        scene_dict(
            [
                comp("r1", "cap", (0, 0, 10, 10), rgb=(200, 30, 30), name="red"),
                comp("r2", "cap", (20, 0, 30, 10), rgb=(170, 20, 25), name="red"),
                comp("o", "cap", (40, 0, 50, 10), rgb=(240, 150, 20), name="orange"),
                comp("g", "cap", (60, 0, 70, 10), rgb=(128, 128, 128), name="gray"),
                comp("n", "cap", (80, 0, 90, 10)),
            ]
        )
    )
    r1, r2, o, g, n = s.find("cap")
    assert r1.color == "red" and r1.rgb == (200, 30, 30) and n.color is None and n.rgb is None
    assert color_is(r1, "red") and not color_is(r1, "orange")
    assert color_is(o, "red", "orange") and color_is(o, ["yellow", "orange"])
    assert color_is(g, "grey") and color_is(r1, "Dark Red")
    assert color_is((10, 200, 30), "green") and not color_is(n, "red")
    with pytest.raises(ValueError, match="unknown colour 'teal'"):
        color_is(r1, "teal")
    assert same_color(r1, r2) and not same_color(r1, o) and not same_color(r1, g)
    assert same_color(r1, (205, 35, 30)) and not same_color(n, r1)
    assert color_distance(r1, r1) == pytest.approx(0.0)
    assert color_distance(r1, o) > 30 and color_distance(n, r1) == math.inf
    with pytest.raises(TypeError, match="missing"):
        color_is(None, "red")
    named_only = wrap_scene(
        scene_dict([dict(comp("x", "cap", (0, 0, 5, 5)), color={"name": "red"})])
    )
    x = named_only.one("cap")
    assert x.color == "red" and x.rgb is None and color_is(x, "red") and same_color(x, r1)
    assert not same_color(x, o) and color_distance(x, r1) == math.inf


def test_numeric_helpers():
    assert approx(10, 12, 2) and not approx(10, 12.5, 2)
    assert between(0.5, 0, 1) and between(1, 0, 1) and not between(1.01, 0, 1)
    assert ratio(6, 3) == 2 and ratio(0, 0) == 1.0
    assert ratio(1, 0) == math.inf and ratio(-1, 0) == -math.inf


def test_component_fields_from_measured_masks():
    from logicode.data.synth.kit import rect_mask

    h, w = 300, 300
    img = np.zeros((h, w, 3), np.uint8)
    rows = []
    for i, (angle, length) in enumerate([(0, 200), (30, 160), (45, 120), (90, 220), (-60, 180)]):
        m = rect_mask((h, w), (150, 150), (length, 16), angle)
        c = component_from_mask(f"s{i}", "rod", m, img, attributes={"tags": ["a", "b"]})
        rows.append((angle, length, c.model_dump(mode="json")))
    s = wrap_scene(scene_dict([r[2] for r in rows], width=w, height=h))
    by_id = {c.id: c for c in s.components}
    for i, (angle, length, d) in enumerate(rows):
        c = by_id[f"s{i}"]
        assert c.length == pytest.approx(length, rel=0.12), (angle, c.length)
        assert (c.x, c.y) == pytest.approx(tuple(d["centroid"]))
        assert c.area == d["area"] and c.angle == d["orientation"]
        assert c.width == d["bbox"][2] - d["bbox"][0]
        assert c.color == "black" and c.rgb == (0, 0, 0)
        expected_tilt = min(abs(angle) % 90, 90 - abs(angle) % 90)
        assert c.tilt == pytest.approx(expected_tilt, abs=1.5)
        assert c.attr("tags") == ("a", "b") and c.attr("nope") is None
        assert c.attr("nope", 7) == 7
    explicit = wrap_scene(scene_dict([comp("x", "rod", (0, 0, 50, 10), length=42.5)]))
    assert explicit.one("rod").length == 42.5


@pytest.mark.parametrize("shape", ["ellipse", "capsule", "rectangle"])
def test_length_estimate_without_mask_within_12_percent(shape):
    from logicode.data.synth.kit import ellipse_mask, rect_mask, rounded_rect_mask

    worst = 0.0
    for length, thick in [(200, 20), (160, 40), (120, 16)]:
        for angle in range(0, 180, 7):
            if shape == "ellipse":
                m = ellipse_mask((300, 300), (150, 150), (length / 2, thick / 2), angle)
            elif shape == "capsule":
                m = rounded_rect_mask((300, 300), (150, 150), (length, thick), thick / 2, angle)
            else:
                m = rect_mask((300, 300), (150, 150), (length, thick), angle)
            try:
                d = component_from_mask("s", "rod", m, keep_mask=False).model_dump(mode="json")
            except ValueError:  # measure.py can round an angle up to 90.0, which Scene rejects
                continue
            got = wrap_scene(scene_dict([d], width=300, height=300)).one("rod").length
            worst = max(worst, abs(got / length - 1))
    assert worst <= 0.12, worst


# --- safety -----------------------------------------------------------------------------------


def test_objects_are_read_only_and_detached_from_input():
    d = scene_dict([comp("a", "nut", (0, 0, 10, 10), kind=["x"])])
    s = wrap_scene(d)
    c = s.one("nut")
    with pytest.raises(AttributeError, match="read-only"):
        c.x = 5
    with pytest.raises(AttributeError, match="read-only"):
        c.new_field = 1
    with pytest.raises(AttributeError, match="read-only"):
        del c.label
    with pytest.raises(AttributeError, match="read-only"):
        s.components = ()
    with pytest.raises(AttributeError, match="read-only"):
        s.left_half().row = 3
    assert isinstance(s.components, tuple)
    d["components"][0]["bbox"][0] = 99
    d["components"][0]["attributes"]["kind"].append("y")
    d["category"] = "other"
    assert c.left == 0 and c.attr("kind") == ("x",) and s.category == "demo"
    assert c.bbox == (0, 0, 10, 10) and c.center == (5, 5)
    with pytest.raises(AttributeError):
        c.bbox = (1, 2, 3, 4)


def test_scene_exposes_no_ground_truth_meta_or_paths():
    d = scene_dict(
        [comp("a", "nut", (0, 0, 10, 10))],
        label={"kind": "logical_anomaly", "anomaly_type": "quantity", "defects": ["x"]},
        meta={"source": "gt"},
    )
    s = wrap_scene(d)
    public = {n for n in dir(s) if not n.startswith("_")}
    assert not public & {"label", "meta", "image", "path", "mask"}
    assert "/secret" not in repr(s)
    comp_public = {n for n in dir(s.one("nut")) if not n.startswith("_")}
    assert "mask" not in comp_public and "attributes" not in comp_public


def test_wrap_scene_accepts_pydantic_scene_and_rejects_garbage():
    from logicode.scene import scene_from_dict

    data = bottle_scene()
    s = wrap_scene(scene_from_dict(data))
    assert s.count("bottle") == 1 and s.one("liquid").attr("juice") == "cherry"
    with pytest.raises(TypeError, match="mapping"):
        wrap_scene(["not", "a", "scene"])


def test_helpful_errors_for_missing_components():
    s = wrap_scene(scene_dict([comp("a", "nut", (0, 0, 10, 10))]))
    with pytest.raises(TypeError, match="missing"):
        above(s.one("lid"), s.one("nut"))
    with pytest.raises(TypeError, match="pass one component"):
        inside(list(s.find("nut")), s)
    with pytest.raises(TypeError, match="must be a component or region, got dict"):
        above({"bbox": [0, 0, 1, 1]}, s.one("nut"))


def test_violation_shape():
    s = wrap_scene(
        scene_dict([comp("a", "nut", (0, 0, 10, 10)), comp("b", "nut", (0, 20, 10, 30))])
    )
    a, b = s.find("nut")
    v = violation("two nuts", a, "b", [a, b], None, s.left_half())
    assert v == {"message": "two nuts", "evidence": ["a", "b"]}
    assert json.loads(json.dumps(v)) == v
    assert violation(42) == {"message": "42", "evidence": []}
    # A measured number or the scene itself points at no component: left out, not an error
    # (small models pass them; the verdict does not depend on the evidence).
    assert violation("too low", a, 0.21, 3, s, s.height) == {
        "message": "too low",
        "evidence": ["a"],
    }
    with pytest.raises(TypeError, match="evidence"):
        violation("bad", {"id": "a"})


# --- rule code as the model writes it ---------------------------------------------------------

RULES = {
    "one_bottle": """
        def check(scene):
            bottles = scene.find("bottle")
            if len(bottles) != 1:
                return [violation(f"expected 1 bottle, found {len(bottles)}", *bottles)]
            return []
    """,
    "labels_order": """
        def check(scene):
            top = scene.one("top_label")
            bottom = scene.one("bottom_label")
            if top is None or bottom is None:
                return []
            if not below(bottom, top):
                return [violation("bottom label is not below the top label", bottom, top)]
            return []
    """,
    "icon_matches_juice": """
        def check(scene):
            icon = scene.one("fruit_icon")
            liquid = scene.one("liquid")
            if icon is None or liquid is None:
                return []
            if icon.attr("kind") != liquid.attr("juice"):
                return [violation(f"{icon.attr('kind')} icon on {liquid.attr('juice')} juice",
                                  icon, liquid)]
            return []
    """,
    "icon_centred": """
        def check(scene):
            out = []
            label = scene.one("top_label")
            for icon in scene.find("fruit_icon"):
                rx, ry = icon.relative_to(label)
                if not (between(rx, 0.4, 0.6) and between(ry, 0.4, 0.6)):
                    out.append(violation("icon off centre", icon, label))
            return out
    """,
    "juice_colour": """
        def check(scene):
            liquid = scene.one("liquid")
            if liquid is not None and not color_is(liquid, "red", "orange", "white"):
                return [violation(f"juice is {liquid.color}", liquid)]
            return []
    """,
}


def run_rule(name, data):
    g = {name: getattr(ruleapi, name) for name in ruleapi.__all__}
    exec(textwrap.dedent(RULES[name]), g)
    return g["check"](wrap_scene(data))


@pytest.mark.parametrize(
    ("rule", "bad"),
    [
        ("one_bottle", {"bottles": 2}),
        ("labels_order", {"top_y": (150, 185), "bottom_y": (70, 100)}),
        ("icon_matches_juice", {"icon": "banana"}),
        ("icon_centred", {"icon_dx": 12}),
        ("juice_colour", {"juice": "orange"}),
    ],
)
def test_rules_pass_good_and_fail_bad_scenes(rule, bad):
    assert run_rule(rule, bottle_scene()) == []
    got = run_rule(rule, bottle_scene(**bad))
    if rule == "juice_colour":  # orange juice is a good colour too: the rule must still pass
        assert got == []
        return
    assert len(got) == 1 and got[0]["message"] and got[0]["evidence"]
    ids = {c["id"] for c in bottle_scene(**bad)["components"]}
    assert set(got[0]["evidence"]) <= ids


def test_juice_colour_rule_fails_on_an_unknown_colour():
    data = bottle_scene()
    liquid = next(c for c in data["components"] if c["label"] == "liquid")
    liquid["color"] = {"rgb": [40, 60, 200], "name": "blue"}
    got = run_rule("juice_colour", data)
    assert got == [{"message": "juice is blue", "evidence": ["l0"]}]


def test_rules_run_under_restricted_python():
    pytest.importorskip("RestrictedPython")
    from RestrictedPython import compile_restricted, safe_globals
    from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
    from RestrictedPython.Guards import (
        full_write_guard,
        guarded_iter_unpack_sequence,
        guarded_unpack_sequence,
        safer_getattr,
    )

    def run(src, data):
        g = dict(safe_globals)
        g.update(
            _getattr_=safer_getattr,
            _getitem_=default_guarded_getitem,
            _getiter_=default_guarded_getiter,
            _iter_unpack_sequence_=guarded_iter_unpack_sequence,
            _unpack_sequence_=guarded_unpack_sequence,
            _write_=full_write_guard,
        )
        g.update({name: getattr(ruleapi, name) for name in ruleapi.__all__})
        exec(compile_restricted(textwrap.dedent(src), "<rule>", "exec"), g)
        return g["check"](wrap_scene(data))

    for rule, bad in [("icon_centred", {"icon_dx": 12}), ("labels_order", {"bottom_y": (20, 40)})]:
        assert run(RULES[rule], bottle_scene()) == []
        assert len(run(RULES[rule], bottle_scene(**bad))) == 1
    # private state stays out of reach, and writes are refused
    with pytest.raises(SyntaxError, match='"_scene"'):
        run("def check(scene):\n    return scene.one('bottle')._scene\n", bottle_scene())
    c = wrap_scene(bottle_scene()).one("bottle")
    for name in ("_scene", "_attrs", "__class__"):
        with pytest.raises(AttributeError):
            safer_getattr(c, name)
    with pytest.raises(TypeError):
        run("def check(scene):\n    scene.one('bottle').x = 1\n", bottle_scene())


# --- the prompt section -------------------------------------------------------------------------


def test_api_reference_covers_all_names_and_fits_the_budget():
    text = api_reference()
    for name in ruleapi.__all__:
        assert f"- {name}(" in text, name
    for member in ("scene.find(", "scene.count(", "scene.one(", "c.attr(", "box.contains("):
        assert member in text
    for attribute in ("c.x", "c.tilt", "c.length", "c.color", "box.left", "region.row", "g.area"):
        assert attribute in text
    assert len(text) <= 7000, len(text)
    assert "y grows DOWNWARDS" in text
    full = api_reference("markdown")
    assert len(full) >= len(text) and "- violation(" in full
    with pytest.raises(ValueError, match="style"):
        api_reference("html")


def test_every_docstring_example_is_valid_rule_code():
    examples = []
    for line_block in api_reference().split("\n- ")[1:]:
        lines = line_block.splitlines()[1:]
        body = [ln[4:] for ln in lines if ln.startswith("    ")]
        if body:
            examples.append("\n".join(body))
    assert len(examples) >= 10
    for ex in examples:
        src = (
            "def check(scene):\n    out = []\n" + textwrap.indent(ex, "    ") + "\n    return out\n"
        )
        compile(src, "<example>", "exec")


def test_module_is_pure_stdlib_and_prints_its_reference():
    code = (
        "import sys, logicode.ruleapi as r;"
        "heavy = ('numpy', 'pydantic', 'jsonschema', 'yaml', 'cv2');"
        "heavy = [m for m in heavy if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    out = subprocess.run(
        [sys.executable, "-m", "logicode.ruleapi"], capture_output=True, text=True, check=True
    )
    assert out.stdout == api_reference()


def test_find_returns_a_group_that_acts_as_the_union_of_its_members():
    s = wrap_scene(
        scene_dict(
            [
                comp("a", "crumb", (0, 0, 10, 10)),  # area 100, centre (5, 5)
                comp("b", "crumb", (20, 20, 40, 40)),  # area 400, centre (30, 30)
                comp("c", "lid", (0, 0, 100, 100)),
            ]
        )
    )
    crumbs = s.find("crumb")
    assert len(crumbs) == 2 and [c.id for c in crumbs] == ["a", "b"]
    assert crumbs.area == 500.0
    assert crumbs.center == pytest.approx((25.0, 25.0))  # area-weighted: (5*100 + 30*400) / 500
    assert crumbs.bbox == (0.0, 0.0, 40.0, 40.0) and crumbs.width == 40.0
    assert inside(crumbs, s.one("lid")) and above(crumbs, s.one("lid"))
    assert violation("x", crumbs)["evidence"] == ["a", "b"]
    assert s.find("nothing").area == 0.0
    with pytest.raises(ValueError, match="group is empty"):
        _ = s.find("nothing").x
    with pytest.raises(AttributeError, match="it is a list"):
        crumbs.attr("kind")


def test_contains_accepts_components_and_points_on_every_box():
    s = wrap_scene(
        scene_dict([comp("a", "cup", (0, 0, 50, 50)), comp("b", "pin", (10, 10, 20, 20))])
    )
    cup, pin = s.one("cup"), s.one("pin")
    assert cup.contains(pin) and not pin.contains(cup)
    assert cup.contains((49, 1)) and not cup.contains((50, 1))
    assert s.left_half().contains(pin)


def test_relations_take_plain_coordinates():
    s = wrap_scene(scene_dict([comp("a", "nut", (0, 0, 10, 10))]))
    nut = s.one("nut")
    assert above(nut, 6.0) and not above(nut, 4.0) and above(3, 4)
    assert left_of(nut, 6) and right_of(nut, 4) and below(nut, 4)


def test_missing_attributes_name_what_exists():
    s = wrap_scene(scene_dict([comp("a", "nut", (0, 0, 10, 10))]))
    with pytest.raises(AttributeError, match=r"no attribute 'region' \(did you mean 'subregion'"):
        _ = s.one("nut").region
    with pytest.raises(AttributeError, match="it has: "):
        _ = s.left_half().nope


def test_points_parts_inside_a_part_and_its_own_attributes():
    s = wrap_scene(
        scene_dict(
            [
                comp("c", "compartment", (0, 0, 50, 50)),
                comp("p", "pin", (10, 10, 20, 20), kind="flat"),
                comp("q", "pin", (60, 10, 70, 20)),
            ]
        )
    )
    box, pin = s.one("compartment"), s.find("pin")[0]
    assert pin.center.x == 15.0 and pin.centroid == pin.center == (15.0, 15.0)
    x, y = pin.center
    assert (x, y) == (15.0, 15.0)
    assert [c.id for c in box.find("pin")] == ["p"] and box.count() == 1  # never itself
    assert box.one("pin") is pin and s.find("pin").centroid.y == 15.0
    assert pin.kind == pin.attr("kind") == "flat"
    with pytest.raises(AttributeError, match=r"'kine' \(did you mean 'kind'\?\); its own"):
        _ = pin.kine
    with pytest.raises(AttributeError, match=r"'top_edge' \(did you mean 'top'\?\)"):
        _ = pin.top_edge
    with pytest.raises(AttributeError, match="carries no attributes of its own"):
        _ = s.find("pin")[1].kind
