"""The worked examples of the code generation prompt are right: they run in the sandbox and
judge a hand-built scene of their (made-up) product the way their rule says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import sandbox
from logicode.codegen.examples import parse_examples
from logicode.prompts import load_template


def _examples() -> list[tuple[str, str]]:
    _, examples = parse_examples(load_template("codegen/examples.md").text)
    assert len(examples) >= 8, "the examples file lost its examples"
    return [(e.rule, e.code) for e in examples]


def comp(cid: str, label: str, box: tuple[float, float, float, float], **extra: Any) -> dict:
    x0, y0, x1, y1 = box
    c = {
        "id": cid,
        "label": label,
        "bbox": list(box),
        "area": (x1 - x0) * (y1 - y0),
        "centroid": [(x0 + x1) / 2, (y0 + y1) / 2],
    }
    c.update(extra)
    return c


def tray_scene(**changes: Any) -> dict:
    """A normal tray: lid centred in the upper third, 2 nuts, 6 cups (2 x 3) with stickers."""
    comps = [
        comp("t", "tray", (100, 100, 700, 700), color={"rgb": [120, 120, 120], "name": "gray"}),
        comp(
            "l",
            "lid",
            (350, 120, 450, 220),
            attributes={"kind": "cherry"},
            color={"rgb": [200, 30, 30], "name": "red"},
        ),
        comp("j", "jam", (360, 130, 440, 150), attributes={"flavour": "cherry"}),
        comp("s0", "sticker", (380, 240, 420, 260), attributes={"kind": "cherry"}),
        comp("n1", "nut", (120, 650, 150, 680)),
        comp("n2", "nut", (170, 650, 200, 680)),
        comp("w", "washer", (600, 650, 640, 690)),
        comp("b1", "bolt", (500, 660, 600, 670), color={"rgb": [128, 128, 128], "name": "gray"}),
        comp("b2", "bolt", (500, 680, 585, 690), color={"rgb": [128, 128, 128], "name": "gray"}),
        comp("k1", "crumb", (150, 400, 170, 420)),
        comp("k2", "crumb", (200, 420, 220, 440)),
    ]
    for r in range(2):  # one cup in each cell of a 2 x 3 grid over the tray
        for c in range(3):
            x0, y0 = 100 + c * 200, 100 + r * 300
            comps.append(comp(f"cup{r}{c}", "cup", (x0 + 60, y0 + 110, x0 + 140, y0 + 190)))
    scene = {
        "schema_version": "1.0",
        "category": "tray",
        "image": {"width": 800, "height": 800},
        "components": comps,
    }
    for cid, fields in changes.items():
        for c in scene["components"]:
            if c["id"] == cid:
                if fields is None:
                    scene["components"].remove(c)
                else:
                    c.update(fields)
    return scene


@pytest.fixture(scope="module")
def results() -> Iterator[list[dict]]:
    pairs = _examples()
    scenes = {
        "normal": tray_scene(),
        "no_tray": tray_scene(t=None),
        "one_nut": tray_scene(n2=None),
        "crumb_right": tray_scene(k2={"bbox": [600, 420, 620, 440], "centroid": [610, 430]}),
        "no_long_bolt": tray_scene(b2={"bbox": [500, 680, 540, 690], "centroid": [520, 685]}),
        "sticker_unknown": tray_scene(s0={"attributes": {"kind": None}}),
        "lid_high": tray_scene(l={"bbox": [350, 101, 450, 201], "centroid": [400, 151]}),
        "lid_orange": tray_scene(l={"color": {"rgb": [240, 140, 20], "name": "orange"}}),
        "apricot_jam": tray_scene(j={"attributes": {"flavour": "apricot"}}),
    }
    with sandbox.SandboxPool(api_module="logicode.ruleapi", workers=1) as pool:
        pack = pool.load_pack({f"r{i}": code for i, (_, code) in enumerate(pairs)})
        out = pool.evaluate(pack, list(scenes.values()))
    yield [
        dict(zip(scenes, (r[f"r{i}"]["status"] for r in out), strict=True))
        for i in range(len(pairs))
    ]


def test_every_example_holds_on_a_normal_scene_and_never_raises(results):
    for i, by_scene in enumerate(results):
        assert by_scene["normal"] == "pass", (i, by_scene)
        assert "error" not in by_scene.values(), (i, by_scene)


def test_examples_fire_on_what_their_rule_forbids(results):
    rules = [text for text, _ in _examples()]
    verdicts = dict(zip(rules, results, strict=True))
    nuts = next(v for t, v in verdicts.items() if t.startswith("There are exactly two nuts"))
    assert nuts["one_nut"] == "fail"
    crumbs = next(v for t, v in verdicts.items() if t.startswith("If there are crumbs"))
    assert crumbs["crumb_right"] == "fail"
    bolts = next(v for t, v in verdicts.items() if "Exactly one bolt is long" in t)
    assert bolts["no_long_bolt"] == "fail"
    stickers = next(v for t, v in verdicts.items() if t.startswith("Every sticker lies in"))
    assert stickers["sticker_unknown"] == "fail"
    lid = next(v for t, v in verdicts.items() if t.startswith("The lid is centred"))
    assert lid["lid_high"] == "fail"  # only its top edge is out of range
    colour = next(v for t, v in verdicts.items() if t.startswith("The jam's flavour decides"))
    assert colour["lid_orange"] == "fail" and colour["apricot_jam"] == "fail"
