"""Attack suite: hostile rule code must be blocked with a clear error, and the pool must
still serve a clean rule correctly afterwards (on every worker)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import Limits, SandboxPool, check_result

LIMITS = Limits(wall_s=0.5, kill_grace_s=0.5, memory_mb=256)

SCENE_OK = {
    "image": {"width": 100, "height": 100},
    "category": "demo",
    "components": [{"id": "c1", "label": "cap", "bbox": [10, 10, 20, 20]}],
}
SCENE_BAD = {**SCENE_OK, "components": []}
CLEAN = """
def check(scene):
    if scene.count("cap") != 1:
        return [violation(f"{scene.count('cap')} caps")]
    return []
"""


def rule(*lines: str, head: str = "") -> str:
    return head + "def check(scene):\n" + "".join(f"    {line}\n" for line in lines)


# (id, source, error kind, fragment of the message)
ATTACKS: list[tuple[str, str, str, str]] = [
    (
        "subclasses_walk",
        rule("return ().__class__.__bases__[0].__subclasses__()"),
        "policy",
        '"__class__" is not allowed',
    ),
    ("mro_walk", rule("return str.mro()[-1]"), "policy", 'attribute "mro" is not allowed'),
    (
        "str_format_attr",
        rule("return ['{0.__class__}'.format(scene)]"),
        "policy",
        "use an f-string",
    ),
    (
        "format_map",
        rule("return ['{s.__class__}'.format_map({'s': scene})]"),
        "policy",
        'attribute "format_map"',
    ),
    (
        "string_formatter",
        rule("return [string.Formatter().format('{0.__class__}', 1)]"),
        "policy",
        '"string" is not available',
    ),
    (
        "unbound_str_format",
        rule("f = str.format", "return [f('{0.__class__}', 1)]"),
        "policy",
        'attribute "format"',
    ),
    (
        "generator_frame",
        rule("g = (x for x in [1])", "return g.gi_frame.f_back.f_globals"),
        "policy",
        '"gi_frame" is not allowed',
    ),
    (
        "traceback_frame",
        rule("try:", "    1 / 0", "except Exception as e:", "    return e.__traceback__.tb_frame"),
        "policy",
        '"__traceback__" is not allowed',
    ),
    (
        "tb_frame_plain_name",
        rule("t = None", "return t.tb_frame.f_globals"),
        "policy",
        '"tb_frame" is not allowed',
    ),
    ("function_globals", rule("return check.__globals__"), "policy", '"__globals__"'),
    (
        "posonly_shadows_guard",
        "def check(scene, _getattr_=None, /):\n    return []\n",
        "policy",
        'parameter "_getattr_"',
    ),
    (
        "lambda_shadows_guard",
        rule("f = lambda _getiter_: _getiter_", "return []"),
        "policy",
        'parameter "_getiter_"',
    ),
    (
        "try_star",
        rule("try:", "    pass", "except* ValueError:", "    pass", "return []"),
        "policy",
        "except*",
    ),
    (
        "decorator_exec",
        "@exec\ndef check(scene):\n    return []\n",
        "policy",
        "decorators are not allowed",
    ),
    (
        "decorator_format",
        '@"{0.__class__}".format\ndef check(scene):\n    return []\n',
        "policy",
        "decorators are not allowed",
    ),
    ("dunder_import", rule("os = __import__('os')", "return []"), "policy", '"__import__"'),
    (
        "import_sys_modules",
        rule("return sys.modules['os']", head="import sys\n"),
        "policy",
        "imports are not allowed",
    ),
    (
        "sys_modules_no_import",
        rule("return sys.modules['os'].system('id')"),
        "policy",
        '"sys" is not available',
    ),
    ("ctypes", rule("return []", head="import ctypes\n"), "policy", "imports are not allowed"),
    (
        "builtins_dict",
        rule("return __builtins__['open']('/etc/passwd')"),
        "policy",
        '"__builtins__"',
    ),
    ("globals_call", rule("return globals()['violation']"), "policy", '"globals"'),
    ("eval_call", rule("return eval('1')"), "policy", '"eval"'),
    ("setattr_helper", rule("setattr(violation, 'x', 1)", "return []"), "policy", '"setattr"'),
    (
        "write_helper_attribute",
        rule("violation.poisoned = True", "return []"),
        "exception",
        "only change the lists and dicts it made, not function",
    ),
    (
        "write_api_list",
        rule("COLORS.append('evil')", "return []"),
        "exception",
        "'tuple' object has no attribute 'append'",
    ),
    ("write_api_dict", rule("TOLERANCE['px'] = 0", "return []"), "exception", "not mappingproxy"),
    (
        "del_time_bomb",
        "class Bomb:\n    def __del__(self):\n        while True:\n            pass\n"
        + rule("b = Bomb()", "return []"),
        "policy",
        "classes are not allowed",
    ),
    ("while_true", rule("while True:", "    pass"), "timeout", "longer than 0.5 s"),
    (
        "timeout_swallowed_by_finally",
        rule(
            "while True:",
            "    try:",
            "        while True:",
            "            pass",
            "    finally:",
            "        continue",
        ),
        "timeout",
        "worker was killed",
    ),
    (
        "c_level_loop",
        rule("return [violation(str(sum(range(10 ** 15))))]"),
        "timeout",
        "worker was killed",
    ),
    ("power_tower", rule("return [violation(str(10 ** 10 ** 8))]"), "memory", "integer power (**)"),
    (
        "power_builtin",
        rule("return [violation(str(pow(10, 10 ** 8)))]"),
        "memory",
        "integer power (**)",
    ),
    (
        "huge_string_repeat",
        rule("s = 'x' * 10 ** 9", "return []"),
        "memory",
        "repeating a sequence",
    ),
    ("huge_list_repeat", rule("s = [0] * 10 ** 9", "return []"), "memory", "repeating a sequence"),
    (
        "huge_list_alloc",
        rule("s = list(range(10 ** 9))", "return []"),
        "memory",
        "ran out of memory (limit 256 MB)",
    ),
    (
        "huge_string_alloc",
        rule("s = 'x'.ljust(10 ** 9)", "return []"),
        "memory",
        "ran out of memory",
    ),
    (
        "string_doubling",
        rule("s = 'x'", "while True:", "    s = s * 2"),
        "memory",
        "repeating a sequence",
    ),
    (
        "huge_format_width",
        rule("return [violation(f'{1:>{10 ** 9}}')]"),
        "memory",
        "ran out of memory",
    ),
    (
        "int_to_huge_str",
        rule("return [violation(str(10 ** 5000))]"),
        "exception",
        "Exceeds the limit (4300 digits)",
    ),
    (
        "unbounded_recursion",
        "def f(n):\n    return f(n + 1)\n" + rule("return f(0)"),
        "exception",
        "RecursionError",
    ),
    (
        "huge_output_count",
        rule("return [violation('x')] * 100000"),
        "output",
        "returned 100000 violations; the limit is 100",
    ),
    (
        "huge_output_message",
        rule("return [violation('x' * 100000)]"),
        "output",
        "message has 100000 characters",
    ),
    ("return_none", rule("return None"), "output", "got None"),
]


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(api_module="sandbox.demo_api", workers=2, limits=LIMITS) as p:
        yield p


def assert_still_serving(pool: SandboxPool) -> None:
    pack = pool.load_pack({"clean": CLEAN})
    scenes = [SCENE_OK, SCENE_BAD, SCENE_OK, SCENE_BAD]
    results = pool.evaluate(pack, scenes)
    assert [r["clean"]["status"] for r in results] == ["pass", "fail", "pass", "fail"]
    assert results[1]["clean"]["violations"] == [{"message": "0 caps", "evidence": []}]
    pool.unload_pack(pack)


def test_attack_suite_is_large_enough() -> None:
    assert len(ATTACKS) >= 25
    assert len({a[0] for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize(
    ("source", "kind", "fragment"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_attack_is_blocked_and_pool_keeps_serving(
    pool: SandboxPool, source: str, kind: str, fragment: str
) -> None:
    pack = pool.load_pack({"attack": source, "clean": CLEAN})
    results = pool.evaluate(pack, [SCENE_OK])
    attack, clean = results[0]["attack"], results[0]["clean"]
    check_result(attack)
    assert attack["status"] == "error", attack
    assert attack["error"]["kind"] == kind, attack["error"]
    assert fragment in attack["error"]["message"], attack["error"]["message"]
    assert "\n" not in attack["error"]["message"]
    # one rule's fault never hides another rule's result
    assert clean["status"] == "pass"
    pool.unload_pack(pack)
    assert_still_serving(pool)


def test_scene_that_is_not_json_is_an_input_error_and_pool_keeps_serving(
    pool: SandboxPool,
) -> None:
    pack = pool.load_pack({"clean": CLEAN})
    results: list[dict[str, Any]] = pool.evaluate(pack, ['{"image": ', "[]", SCENE_OK])
    assert results[0]["clean"]["error"]["kind"] == "input"
    assert "not valid JSON" in results[0]["clean"]["error"]["message"]
    assert "must be a JSON object" in results[1]["clean"]["error"]["message"]
    assert results[2]["clean"]["status"] == "pass"
    assert_still_serving(pool)
