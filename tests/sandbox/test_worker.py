"""The worker's evaluator, run in this process (no OS lockdown): results, output checks, state."""

from __future__ import annotations

import json
import signal
import types
from collections.abc import Iterator
from typing import Any

import pytest

import sandbox.demo_api as demo
from sandbox.limits import Limits
from sandbox.worker import Evaluator, decode_scene, describe, one_line

SCENE = {
    "image": {"width": 100, "height": 100},
    "category": "demo",
    "components": [
        {"id": "c1", "label": "cap", "bbox": [10, 10, 20, 20], "color": {"name": "red"}},
        {"id": "c2", "label": "label", "bbox": [10, 50, 30, 70], "color": {"name": "white"}},
    ],
}


@pytest.fixture
def ev() -> Iterator[Evaluator]:
    evaluator = Evaluator(demo, Limits(wall_s=0.5, max_violations=5, max_message_chars=50))
    old = signal.signal(signal.SIGALRM, evaluator.timer.on_signal)
    yield evaluator
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def run(ev: Evaluator, source: str, scenes: list[Any] | None = None) -> list[list[Any]]:
    ev.load("p", {"r": source})
    raws = [s if isinstance(s, bytes) else json.dumps(s).encode() for s in (scenes or [SCENE])]
    out: list[dict[str, Any]] = []
    ev.evaluate("p", None, raws, out.append)
    assert [m["i"] for m in out] == list(range(len(raws)))
    return [m["r"][0] for m in out]


def body(*lines: str) -> str:
    return "def check(scene):\n" + "".join(f"    {line}\n" for line in lines)


def test_pass_and_fail_with_evidence(ev: Evaluator) -> None:
    assert run(ev, body("return []")) == [["p"]]
    assert run(ev, body("return ()")) == [["p"]]
    fail = run(ev, body("return [violation('two', *scene.find('cap', 'label'))]"))
    assert fail == [["f", [["two", ["c1", "c2"]]]]]
    counted = run(ev, body("n = count(scene, 'cap')", "return [violation(f'{n} cap')]"))
    assert counted == [["f", [["1 cap", []]]]]


@pytest.mark.parametrize(
    ("ret", "fragment"),
    [
        ("None", "must return a list of violations ([] when the rule holds), got None"),
        ("True", "got bool"),
        ("{'message': 'x'}", "got dict"),
        ("['x']", "violation 0 is a str, not a dict"),
        ("[violation('x')] * 6", "returned 6 violations; the limit is 5"),
        ("[violation('x' * 51)]", "message has 51 characters; the limit is 50"),
        ("[{'message': 'x', 'evidence': [], 'extra': 1}]", "unexpected keys ['extra']"),
        ("[{'message': 1}]", "message must be a str, got int"),
        ("[{'message': 'x', 'evidence': 'c1'}]", "evidence must be a list"),
        ("[{'message': 'x', 'evidence': [1]}]", "evidence must be component ids"),
        ("[{'message': chr(55296)}]", "not valid text"),
    ],
)
def test_output_that_is_not_a_list_of_violations_is_an_output_error(
    ev: Evaluator, ret: str, fragment: str
) -> None:
    [wire] = run(ev, body(f"return {ret}"))
    assert wire[:2] == ["e", "output"]
    assert fragment in wire[2]


def test_exception_names_type_message_and_rule_line(ev: Evaluator) -> None:
    [wire] = run(ev, body("x = 1", "return x / 0"))
    assert wire == ["e", "exception", "ZeroDivisionError: division by zero (line 3)"]
    [wire] = run(ev, body("return {}['missing']"))
    assert wire == ["e", "exception", "KeyError: 'missing' (line 2)"]
    [wire] = run(ev, body("raise ValueError(list(range(100000)))"))
    assert wire[1] == "exception" and len(wire[2]) < 300 and "..." in wire[2]


def test_api_errors_point_at_the_calling_rule_line(ev: Evaluator) -> None:
    [wire] = run(
        ev, body("a = scene.one('nothing')", "return [violation('x')] if above(a, a) else []")
    )
    assert wire[1] == "exception" and "AttributeError" in wire[2] and wire[2].endswith("(line 3)")


def test_wall_clock_timer_stops_a_loop_and_the_evaluator_goes_on(ev: Evaluator) -> None:
    [wire] = run(ev, body("while True:", "    pass"))
    assert wire == ["e", "timeout", "the rule ran longer than 0.5 s (wall clock)"]
    assert run(ev, body("return []")) == [["p"]]


def test_timeout_is_not_catchable_by_rule_code(ev: Evaluator) -> None:
    source = body("try:", "    while True:", "        pass", "except Exception:", "    return []")
    assert run(ev, source)[0][1] == "timeout"


def test_fresh_globals_for_every_evaluation(ev: Evaluator) -> None:
    source = "seen = []\n" + body("seen.append(1)", "return [violation(str(len(seen)))]")
    wires = run(ev, source, [SCENE, SCENE, SCENE])
    assert [w[1][0][0] for w in wires] == ["1", "1", "1"]


def test_scene_data_is_frozen_and_api_objects_read_only(ev: Evaluator) -> None:
    data = decode_scene(json.dumps(SCENE).encode())
    assert isinstance(data, types.MappingProxyType)
    assert isinstance(data["components"], tuple) and isinstance(
        data["components"][0]["bbox"], tuple
    )
    [wire] = run(ev, body("scene.components[0].label = 'x'", "return []"))
    assert wire[1] == "exception" and "only change the lists and dicts" in wire[2]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object, got tuple"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"components": [{"label": "x"}]}', "rule API cannot read this scene: KeyError"),
        (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    ],
)
def test_bad_scenes_are_input_errors(ev: Evaluator, raw: bytes, fragment: str) -> None:
    [wire] = run(ev, body("return []"), [raw])
    assert wire[:2] == ["e", "input"] and fragment in wire[2]


def test_oversized_scene_is_an_input_error() -> None:
    evaluator = Evaluator(demo, Limits(max_scene_bytes=100))
    evaluator.load("p", {"r": body("return []")})
    out: list[dict[str, Any]] = []
    evaluator.evaluate("p", None, [b" " * 101], out.append)
    assert out[0]["r"][0][:2] == ["e", "input"] and "limit is 100" in out[0]["r"][0][2]


def test_policy_failures_and_unknown_packs(ev: Evaluator) -> None:
    [wire] = run(ev, "import os\n" + body("return []"))
    assert wire[:2] == ["e", "policy"] and "imports are not allowed" in wire[2]
    out: list[dict[str, Any]] = []
    ev.evaluate("nope", ["r"], [b"{}"], out.append)
    assert out[0]["r"][0][:2] == ["e", "crash"]
    ev.load("p2", {"a": body("return []")})
    out.clear()
    ev.evaluate("p2", ["a", "zzz"], [b"{}"], out.append)
    assert out[0]["r"][0] == ["p"] and "not in pack" in out[0]["r"][1][2]


def test_immutable_api_is_wrapped_once_per_scene() -> None:
    calls: list[int] = []
    api = types.ModuleType("shared_api")

    def wrap_scene(data: Any) -> Any:
        calls.append(1)
        return demo.wrap_scene(data)

    api.wrap_scene = wrap_scene  # type: ignore[attr-defined]
    api.violation = demo.violation  # type: ignore[attr-defined]
    api.__all__ = ["violation"]  # type: ignore[attr-defined]
    api.SCENE_IS_IMMUTABLE = True  # type: ignore[attr-defined]
    evaluator = Evaluator(api, Limits())
    evaluator.load("p", {f"r{i}": body("return []") for i in range(3)})
    out: list[dict[str, Any]] = []
    evaluator.evaluate("p", None, [json.dumps(SCENE).encode()] * 2, out.append)
    assert len(calls) == 2 and all(m["r"] == [["p"]] * 3 for m in out)
    api.SCENE_IS_IMMUTABLE = False  # type: ignore[attr-defined]
    calls.clear()
    evaluator = Evaluator(api, Limits())
    evaluator.load("p", {f"r{i}": body("return []") for i in range(3)})
    evaluator.evaluate("p", None, [json.dumps(SCENE).encode()] * 2, out.append)
    assert len(calls) == 6


def test_describe_and_one_line_are_bounded() -> None:
    assert describe(ValueError("a\nb")) == "ValueError: a b"
    assert describe(KeyError("k")) == "KeyError: 'k'"
    assert describe(RuntimeError()) == "RuntimeError"
    assert len(one_line("x" * 1000, 50)) == 50
    assert describe(ValueError(10**5000)).startswith("ValueError:")
