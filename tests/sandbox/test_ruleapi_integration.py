"""The sandbox with the product's rule API (``logicode.ruleapi``) imported in its workers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import Limits, SandboxPool, check_result

pytest.importorskip("logicode.ruleapi")


def component(cid: str, label: str, box: list[float], colour: str, rgb: list[int]) -> dict:
    x0, y0, x1, y1 = box
    return {
        "id": cid,
        "label": label,
        "score": 1.0,
        "bbox": box,
        "mask": None,
        "area": (x1 - x0) * (y1 - y0),
        "centroid": [(x0 + x1) / 2, (y0 + y1) / 2],
        "orientation": 0.0,
        "color": {"rgb": rgb, "name": colour},
        "attributes": {"kind": "orange"} if label == "sticker" else {},
    }


def scene(cap_y: float, cap_colour: str = "red", stickers: int = 1) -> dict[str, Any]:
    rgb = {"red": [200, 20, 20], "blue": [20, 20, 200]}[cap_colour]
    comps = [
        component("cap", "cap", [40, cap_y, 60, cap_y + 10], cap_colour, rgb),
        component("body", "bottle", [30, 30, 70, 95], "white", [240, 240, 240]),
    ]
    comps += [
        component(f"s{i}", "sticker", [35 + 10 * i, 60, 43 + 10 * i, 70], "orange", [240, 140, 20])
        for i in range(stickers)
    ]
    return {
        "schema_version": "1.0",
        "image": {"path": "x.png", "width": 100, "height": 100},
        "category": "demo_bottle",
        "components": comps,
        "label": None,
        "meta": {},
    }


RULES = {
    "cap_on_top": """
def check(scene):
    cap = scene.one("cap")
    body = scene.one("bottle")
    if cap is None or body is None:
        return [violation("cap or bottle missing")]
    if not above(cap, body):
        return [violation("the cap must sit above the bottle", cap, body)]
    return []
""",
    "cap_is_red": """
def check(scene):
    cap = scene.one("cap")
    if cap is not None and not color_is(cap, "red"):
        return [violation(f"the cap is {cap.color}", cap)]
    return []
""",
    "one_sticker": """
def check(scene):
    stickers = scene.find("sticker")
    if len(stickers) != 1:
        return [violation(f"{len(stickers)} stickers, expected 1", *stickers)]
    if stickers[0].attr("kind") != "orange":
        return [violation("wrong sticker kind", stickers[0])]
    return []
""",
    "tamper": """
def check(scene):
    scene.find("cap")[0].label = "x"
    return []
""",
}


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(api_module="logicode.ruleapi", workers=2, limits=Limits(wall_s=2)) as p:
        yield p


def test_rules_written_for_the_rule_api_give_the_right_verdicts(pool: SandboxPool) -> None:
    pack = pool.load_pack(RULES)
    scenes = [scene(10), scene(97 - 10, "blue"), scene(10, stickers=2)]
    results = pool.evaluate(pack, scenes)
    for res in results:
        for r in res.values():
            check_result(r)
    statuses = [{k: v["status"] for k, v in res.items() if k != "tamper"} for res in results]
    assert statuses == [
        {"cap_on_top": "pass", "cap_is_red": "pass", "one_sticker": "pass"},
        {"cap_on_top": "fail", "cap_is_red": "fail", "one_sticker": "pass"},
        {"cap_on_top": "pass", "cap_is_red": "pass", "one_sticker": "fail"},
    ]
    assert results[1]["cap_on_top"]["violations"][0]["evidence"] == ["cap", "body"]
    assert results[1]["cap_is_red"]["violations"][0]["message"] == "the cap is blue"
    assert results[2]["one_sticker"]["violations"][0]["evidence"] == ["s0", "s1"]
    for res in results:
        assert res["tamper"]["error"]["kind"] == "exception"


def test_rule_api_exports_are_usable_and_wrap_scene_is_not_given(pool: SandboxPool) -> None:
    names = set(pool.worker_info()[0]["api_names"])
    assert {"violation", "above", "color_is"} <= names
    assert "wrap_scene" not in names
    pack = pool.load_pack({"r": "def check(scene):\n    return [wrap_scene]\n"})
    [res] = pool.evaluate(pack, [scene(10)])
    assert res["r"]["error"]["kind"] == "exception" and "NameError" in res["r"]["error"]["message"]


RULEAPI_POISONERS = {
    "relabel": "def check(scene):\n    scene.components[0].label = 'evil'\n    return []\n",
    "grow_tuple": "def check(scene):\n    scene.components.append(1)\n    return []\n",
    # find() returns a fresh list: appending to it is allowed and must change nothing.
    "grow_find": (
        "def check(scene):\n    scene.find('sticker').append(scene.one('cap'))\n    return []\n"
    ),
    "helper_attr": "def check(scene):\n    above.cache = {}\n    return []\n",
}
RULEAPI_READER = """
def check(scene):
    if scene.count("sticker") != 2 or scene.components[0].label != "cap":
        return [violation("the shared scene was changed")]
    try:
        leaked = above.cache
    except Exception:
        return []
    return [violation("a helper was changed: " + str(leaked))]
"""


def test_shared_ruleapi_scene_cannot_be_poisoned() -> None:
    # logicode.ruleapi declares SCENE_IS_IMMUTABLE, so one wrapped scene serves every rule:
    # writes must fail and the reader must see the scene unchanged.
    with SandboxPool(api_module="logicode.ruleapi", workers=1) as pool:
        pack = pool.load_pack({**RULEAPI_POISONERS, "reader": RULEAPI_READER})
        results = pool.evaluate(pack, [scene(10, stickers=2)] * 3)
    for res in results:
        assert res["reader"]["status"] == "pass", res["reader"]
        for name in ("relabel", "grow_tuple", "helper_attr"):
            assert res[name]["status"] == "error", (name, res[name])
