"""Isolation between rules: what one rule does is never seen by the next one.

Both scene paths are covered: ``sandbox.demo_api`` (frozen data, ``wrap_scene`` per rule) and
``sandbox_probe_api`` (``SCENE_IS_IMMUTABLE``: one wrapped scene shared by the rules).
"""

from __future__ import annotations

import pytest

from sandbox import Limits, SandboxPool

SCENE = {
    "image": {"width": 100, "height": 100},
    "components": [{"id": "c1", "label": "cap", "bbox": [10, 10, 20, 20]}],
}

POISONERS = {
    "set_attr_on_helper": "def check(scene):\n    violation.poisoned = True\n    return []\n",
    "append_to_api_list": "def check(scene):\n    COLORS.append('evil')\n    return []\n",
    "write_api_dict": "def check(scene):\n    TOLERANCE['px'] = -1\n    return []\n",
    "relabel_component": (
        "def check(scene):\n    scene.components[0].label = 'evil'\n    return []\n"
    ),
    "replace_components": "def check(scene):\n    scene.components = ()\n    return []\n",
    "define_global": "stash = ['secret']\ndef check(scene):\n    return []\n",
    "mutable_default": (
        "def check(scene, memo=[]):\n    memo.append(1)\n    return [violation(str(len(memo)))]\n"
    ),
}

READER = """
def check(scene):
    out = []
    if len(COLORS) != 9 or "evil" in COLORS:
        out.append(violation("COLORS was changed"))
    if TOLERANCE["px"] != 5.0:
        out.append(violation("TOLERANCE was changed"))
    if scene.count("cap") != 1 or scene.components[0].label != "cap":
        out.append(violation("the scene was changed"))
    try:
        leaked = stash
        out.append(violation("a global of another rule is visible: " + str(leaked)))
    except NameError:
        pass
    return out
"""


@pytest.mark.parametrize("api", ["sandbox.demo_api", "sandbox_probe_api"])
def test_a_rule_cannot_poison_what_the_next_rule_sees(api: str) -> None:
    # one worker, so every rule runs in the same process, poisoners first
    with SandboxPool(api_module=api, workers=1, limits=Limits(wall_s=2)) as pool:
        pack = pool.load_pack({**POISONERS, "reader": READER})
        results = pool.evaluate(pack, [SCENE] * 3)
    for res in results:
        assert res["reader"]["status"] == "pass", res["reader"]
        for name in (
            "set_attr_on_helper",
            "append_to_api_list",
            "write_api_dict",
            "relabel_component",
            "replace_components",
        ):
            assert res[name]["status"] == "error", (name, res[name])
            assert res[name]["error"]["kind"] == "exception"
        assert res["define_global"]["status"] == "pass"
        # a mutable default is rebuilt for every evaluation: always one item
        assert res["mutable_default"]["violations"][0]["message"] == "1"
