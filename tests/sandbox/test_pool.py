"""The worker pool: results, batching over workers, faults, startup errors, lifecycle."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import (
    Limits,
    SandboxError,
    SandboxPool,
    WorkerStartError,
    check_result,
    run_rules,
)

FAST = Limits(wall_s=0.5, kill_grace_s=0.5, memory_mb=256)

ONE_CAP = """
def check(scene):
    caps = scene.find("cap")
    if len(caps) != 1:
        return [violation(f"expected 1 cap, found {len(caps)}", *caps)]
    return []
"""
CAP_ABOVE_LABEL = """
def check(scene):
    cap, label = scene.one("cap"), scene.one("label")
    if cap is None or label is None:
        return []
    if not above(cap, label):
        return [violation("cap below label", cap, label)]
    return []
"""


def make_scene(caps: int, cap_y: float = 10.0) -> dict[str, Any]:
    comps = [
        {"id": f"cap{i}", "label": "cap", "bbox": [10 * i, cap_y, 10 * i + 8, cap_y + 8]}
        for i in range(caps)
    ]
    comps.append({"id": "lab", "label": "label", "bbox": [0, 50, 30, 60]})
    return {"image": {"width": 100, "height": 100}, "category": "demo", "components": comps}


def expected(scene: dict[str, Any]) -> dict[str, str]:
    caps = [c for c in scene["components"] if c["label"] == "cap"]
    # all caps have the same area: scene.one("cap") is the first in reading order
    above = not caps or caps[0]["bbox"][1] + 4 < 55
    return {"one_cap": "pass" if len(caps) == 1 else "fail", "above": "pass" if above else "fail"}


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(api_module="sandbox.demo_api", workers=2, limits=FAST) as p:
        yield p


def test_verdicts_over_many_scenes_match_the_rules(pool: SandboxPool) -> None:
    rng = random.Random(1)
    scenes = [make_scene(rng.randint(0, 3), rng.choice([10.0, 80.0])) for _ in range(60)]
    pack = pool.load_pack({"one_cap": ONE_CAP, "above": CAP_ABOVE_LABEL})
    results = pool.evaluate(pack, scenes)
    assert len(results) == len(scenes)
    for scene, res in zip(scenes, results, strict=True):
        assert list(res) == ["one_cap", "above"]
        for r in res.values():
            check_result(r)
        assert {k: v["status"] for k, v in res.items()} == expected(scene)
        if res["one_cap"]["status"] == "fail":
            ids = [c["id"] for c in scene["components"] if c["label"] == "cap"]
            assert res["one_cap"]["violations"][0]["evidence"] == ids


def test_scenes_as_dicts_json_text_and_bytes_agree(pool: SandboxPool) -> None:
    pack = pool.load_pack({"one_cap": ONE_CAP})
    scene = make_scene(2)
    text = json.dumps(scene, indent=2)
    results = pool.evaluate(pack, [scene, text, text.encode()])
    assert results[0] == results[1] == results[2]
    assert results[0]["one_cap"]["violations"][0]["message"] == "expected 1 cap, found 2"


def test_bad_scenes_give_input_errors_for_that_scene_only(pool: SandboxPool) -> None:
    pack = pool.load_pack({"one_cap": ONE_CAP})
    bad_dict = {"image": {"width": 1, "height": 1}, "components": [], "x": {1, 2}}
    results = pool.evaluate(pack, [make_scene(1), "{oops", bad_dict, 42, make_scene(1)])  # type: ignore[list-item]
    kinds = [r["one_cap"]["error"]["kind"] if r["one_cap"]["error"] else None for r in results]
    assert kinds == [None, "input", "input", "input", None]
    assert "not valid JSON" in results[1]["one_cap"]["error"]["message"]
    assert "cannot be written as JSON" in results[2]["one_cap"]["error"]["message"]
    assert "must be a dict or JSON text, got int" in results[3]["one_cap"]["error"]["message"]


def test_policy_errors_are_reported_for_every_scene_without_hiding_others(
    pool: SandboxPool,
) -> None:
    pack = pool.load_pack({"bad": "import os\n" + ONE_CAP, "good": ONE_CAP})
    results = pool.evaluate(pack, [make_scene(1), make_scene(3)])
    for res in results:
        assert res["bad"]["status"] == "error" and res["bad"]["error"]["kind"] == "policy"
        assert "line 1: imports are not allowed" in res["bad"]["error"]["message"]
    assert [r["good"]["status"] for r in results] == ["pass", "fail"]


def test_pack_with_only_policy_failures_needs_no_worker(pool: SandboxPool) -> None:
    spawned = pool.spawned
    pack = pool.load_pack({"bad": "def nope(): pass"})
    assert pool.evaluate(pack, [make_scene(1)])[0]["bad"]["error"]["kind"] == "policy"
    assert pool.evaluate(pack, []) == []
    assert pool.spawned == spawned


def test_unknown_and_unloaded_packs(pool: SandboxPool) -> None:
    with pytest.raises(KeyError, match="unknown pack"):
        pool.evaluate("nope", [make_scene(1)])
    pack = pool.load_pack({"one_cap": ONE_CAP})
    pool.evaluate(pack, [make_scene(1)])
    pool.unload_pack(pack)
    with pytest.raises(KeyError):
        pool.evaluate(pack, [make_scene(1)])
    with pytest.raises(ValueError, match="rule ids"):
        pool.load_pack({"": ONE_CAP})


def test_worker_info_reports_the_lockdown(pool: SandboxPool) -> None:
    infos = pool.worker_info()
    assert len(infos) == 2
    for info in infos:
        assert set(info["rlimits"]) >= {"RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE"}
        assert info["rlimits"]["RLIMIT_AS"] == str(256 * 1024 * 1024)
        assert info["network"].startswith(("isolated", "not isolated"))
        assert "violation" in info["api_names"]


@pytest.fixture(scope="module")
def probe_pool() -> Iterator[SandboxPool]:
    with SandboxPool(api_module="sandbox_probe_api", workers=2, limits=FAST) as p:
        yield p


def test_a_crashing_rule_gets_an_error_and_the_others_their_verdicts(
    probe_pool: SandboxPool,
) -> None:
    before = probe_pool.spawned
    pack = probe_pool.load_pack(
        {
            "ok": "def check(scene):\n    return []\n",
            "segv": "def check(scene):\n    crash()\n    return []\n",
            "exit": "def check(scene):\n    exit_now()\n    return []\n",
            "fails": "def check(scene):\n    return [violation('always')]\n",
        }
    )
    results = probe_pool.evaluate(pack, [make_scene(1)] * 3)
    for res in results:
        assert res["ok"]["status"] == "pass"
        assert res["fails"]["violations"] == [{"message": "always", "evidence": []}]
        assert res["segv"]["error"] == {
            "kind": "crash",
            "message": "the worker crashed (SIGSEGV) while running the rule",
        }
        assert res["exit"]["error"]["kind"] == "crash"
        assert "exited unexpectedly (code 0)" in res["exit"]["error"]["message"]
    assert probe_pool.spawned > before
    clean = probe_pool.load_pack({"ok": "def check(scene):\n    return []\n"})
    assert probe_pool.evaluate(clean, [make_scene(1)])[0]["ok"]["status"] == "pass"


def test_a_worker_that_sends_garbage_is_replaced(probe_pool: SandboxPool) -> None:
    pack = probe_pool.load_pack(
        {
            "liar": "def check(scene):\n    corrupt()\n    return []\n",
            "ok": "def check(scene):\n    return [violation('seen')]\n",
        }
    )
    [res] = probe_pool.evaluate(pack, [make_scene(1)])
    assert res["liar"]["error"]["kind"] == "crash"
    assert "invalid message" in res["liar"]["error"]["message"]
    assert res["ok"]["violations"][0]["message"] == "seen"


def test_os_layer_inside_a_real_worker(probe_pool: SandboxPool) -> None:
    names = ["fork", "connect", "open_write", "read_root", "raise_nofile", "uid", "env", "sees_etc"]
    pack = probe_pool.load_pack(
        {n: f"def check(scene):\n    return [violation(probe({n!r}))]\n" for n in names}
    )
    [res] = probe_pool.evaluate(pack, [make_scene(1)])
    said = {n: res[n]["violations"][0]["message"] for n in names}
    for n in ("fork", "connect", "open_write", "read_root", "raise_nofile"):
        assert said[n].startswith("blocked"), (n, said[n])
    info = probe_pool.worker_info()[0]
    if "dropped from root" in info["user"]:
        assert said["uid"] == "allowed: 65534"
    if info["files"].startswith("confined"):
        assert said["sees_etc"] == "allowed: False"  # the root is the empty working folder
    # the environment is empty apart from what Python itself sets (locale coercion)
    assert said["env"] in ("allowed: 0", "allowed: 1")


def test_uncatchable_loop_kills_the_worker_and_is_a_timeout(probe_pool: SandboxPool) -> None:
    before = probe_pool.spawned
    c_loop = "def check(scene):\n    return [violation(str(sum(range(10 ** 15))))]\n"
    pack = probe_pool.load_pack({"loop": c_loop, "ok": "def check(scene):\n    return []\n"})
    [res] = probe_pool.evaluate(pack, [make_scene(1)])
    assert res["loop"]["error"]["kind"] == "timeout"
    assert "worker was killed" in res["loop"]["error"]["message"]
    assert res["ok"]["status"] == "pass"
    assert probe_pool.spawned > before


def test_oversized_scene_is_refused_before_it_is_sent() -> None:
    limits = Limits(max_scene_bytes=400)
    results = run_rules(
        {"one_cap": ONE_CAP},
        [make_scene(1), make_scene(30)],
        api_module="sandbox.demo_api",
        limits=limits,
    )
    assert results[0]["one_cap"]["status"] == "pass"
    assert results[1]["one_cap"]["error"]["kind"] == "input"
    assert "the limit is 400" in results[1]["one_cap"]["error"]["message"]


def test_cpu_limit_stops_a_rule_that_burns_cpu() -> None:
    # a long wall-clock budget, so RLIMIT_CPU (whole seconds) is what stops the loop
    limits = Limits(wall_s=60, kill_grace_s=60, cpu_s=0.1)
    burn = "def check(scene):\n    while True:\n        pass\n"
    [res] = run_rules({"burn": burn}, [make_scene(1)], api_module="sandbox.demo_api", limits=limits)
    assert res["burn"]["error"] == {
        "kind": "timeout",
        "message": "the rule used more than its 0.1 s of CPU time",
    }


def test_startup_failures_are_clear() -> None:
    with pytest.raises(WorkerStartError, match="not found"):
        with SandboxPool(api_module="no_such_module_xyz", workers=1) as p:
            p.evaluate(p.load_pack({"r": ONE_CAP}), [make_scene(1)])
    with pytest.raises(WorkerStartError, match="must define __all__"):
        with SandboxPool(api_module="sandbox.errors", workers=1) as p:
            p.evaluate(p.load_pack({"r": ONE_CAP}), [make_scene(1)])


def test_closed_pool_refuses_work() -> None:
    p = SandboxPool(api_module="sandbox.demo_api", workers=1, limits=FAST)
    p.close()
    p.close()
    with pytest.raises(SandboxError, match="closed"):
        p.load_pack({"r": ONE_CAP})


def test_run_rules_one_shot() -> None:
    results = run_rules(
        {"one_cap": ONE_CAP}, [make_scene(1), make_scene(0)], api_module="sandbox.demo_api"
    )
    assert [r["one_cap"]["status"] for r in results] == ["pass", "fail"]


def test_results_from_a_worker_are_validated() -> None:
    from sandbox.errors import ProtocolError
    from sandbox.results import result_from_wire

    lim = Limits(max_violations=2, max_message_chars=10)
    assert result_from_wire("r", ["p"], lim)["status"] == "pass"
    ok = result_from_wire("r", ["f", [["msg", ["c1"]]]], lim)
    assert ok["violations"] == [{"message": "msg", "evidence": ["c1"]}]
    check_result(ok)
    bad = [
        None,
        [],
        ["p", 1],
        ["f", []],
        ["f", [["m", []]] * 3],
        ["f", [["x" * 11, []]]],
        ["f", [["m", [1]]]],
        ["f", [["\ud800", []]]],
        ["e", "nope", "m"],
        ["e", "crash", 5],
        ["x"],
    ]
    for wire in bad:
        with pytest.raises(ProtocolError):
            result_from_wire("r", wire, lim)
