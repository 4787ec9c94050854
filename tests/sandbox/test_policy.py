"""Static policy: the AST allowlist and RestrictedPython compile (no execution here)."""

from __future__ import annotations

import pytest

from sandbox import CompiledRule, PolicyError, compile_rule
from sandbox.policy import DENIED_ATTRIBUTES, RULE_FILENAME, check_tree

GOOD = """
def helper(parts):
    return [p for p in parts if p.area > 10]

def check(scene):
    caps = helper(scene.find("cap"))
    counts = {}
    for c in scene.components:
        counts[c.label] = counts.get(c.label, 0) + 1
    n = 0
    n += len(caps)
    if n != 1:
        return [violation(f"{n} caps", *caps)]
    return []
"""


def problems(source: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        compile_rule(source)
    return info.value.problems


def test_good_rule_compiles_to_restricted_code() -> None:
    rule = compile_rule(GOOD)
    assert isinstance(rule, CompiledRule)
    assert rule.source == GOOD
    assert rule.code.co_filename == RULE_FILENAME
    names = set(rule.code.co_names)
    for fn in rule.code.co_consts:
        if hasattr(fn, "co_names"):
            names |= set(fn.co_names)
    # attribute, item, iteration and in-place operations all go through the guards
    assert {"_getattr_", "_getiter_", "_inplacevar_"} <= names


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("import os\ndef check(scene):\n    return []\n", "line 1: imports are not allowed"),
        ("from os import path\ndef check(scene):\n    return []\n", "imports are not allowed"),
        ("class A:\n    pass\ndef check(scene):\n    return []\n", "classes are not allowed"),
        ("def check(scene):\n    global x\n    return []\n", "global is not allowed"),
        ("def check(scene):\n    yield 1\n", "generator functions"),
        ("def check(scene):\n    with scene:\n        pass\n    return []\n", "with statements"),
        ("async def check(scene):\n    return []\n", "async code"),
        (
            "def check(scene):\n    try:\n        pass\n    except:\n        pass\n",
            "bare `except:`",
        ),
        ("def check(scene):\n    return scene.__class__\n", '"__class__" is not allowed'),
        ("def check(scene):\n    return scene._scene\n", '"_scene" is not allowed'),
        ("def check(scene):\n    return (x for x in ()).gi_frame\n", '"gi_frame" is not allowed'),
        ("def check(scene):\n    return '{}'.format(1)\n", "use an f-string"),
        ("def check(scene):\n    return open('/etc/passwd')\n", '"open" is not available'),
        ("def check(scene):\n    return type(scene)\n", "use isinstance()"),
        ("def check(scene):\n    print(scene)\n    return []\n", "print is not available"),
        ("def check(scene):\n    return getattr(scene, 'x')\n", "getattr() is not available"),
        ("@exec\ndef check(scene):\n    return []\n", "decorators are not allowed"),
        ("def check(scene, _getattr_=None, /):\n    return []\n", 'parameter "_getattr_"'),
        (
            "def check(scene):\n    return []\ncheck = 1\ndef other(x, *, _write_=1):\n    pass\n",
            'parameter "_write_"',
        ),
        ("def check(scene):\n    return f(_x=1)\n", 'keyword argument "_x"'),
        ("def check(scene):\n    match scene:\n        case _:\n            pass\n", "match"),
        ("def nothing(scene):\n    return []\n", "must define `def check(scene):`"),
        ("def check():\n    return []\n", "exactly one argument"),
        ("def check(scene):\n    return [\n", "SyntaxError"),
        ("def check(scene):\n    except_me = BaseException\n    return []\n", '"BaseException"'),
    ],
)
def test_policy_rejects_with_line_and_reason(source: str, fragment: str) -> None:
    found = problems(source)
    assert any(fragment in p for p in found), found


def test_try_star_is_rejected() -> None:
    source = "def check(scene):\n    try:\n        pass\n    except* ValueError:\n        pass\n"
    assert any("except*" in p or "SyntaxError" in p for p in problems(source))


def test_every_problem_is_reported_in_source_order() -> None:
    source = "import os\nimport sys\ndef check(scene):\n    return scene.__dict__\n"
    found = problems(source)
    assert [p.split(":")[0] for p in found] == ["line 1", "line 2", "line 4"]
    with pytest.raises(PolicyError) as info:
        compile_rule(source)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("rule code breaks the sandbox policy: line 1:")


def test_names_bound_by_the_rule_itself_are_allowed() -> None:
    # "type" and "id" are not provided as builtins, but a rule may use them as variables
    compile_rule("def check(scene):\n    type = 'cap'\n    id = 3\n    return [type, id]\n")


def test_augmented_assignment_of_items_is_rewritten_not_rejected() -> None:
    compile_rule(
        "def check(scene):\n    d = {}\n    d['a'] += 1\n    d[scene.x] *= 2\n    return []\n"
    )
    found = problems("def check(scene):\n    d = {}\n    d[f()] += 1\n    return []\n")
    assert any("Augmented assignment" in p and "d[k] = d[k] + 1" in p for p in found)


def test_restrictedpython_layer_still_runs_after_our_checks() -> None:
    # "printed" passes our allowlist (unbound names are only refused if known dangerous)
    # but RestrictedPython reserves it.
    assert any(
        "printed" in p for p in problems("def check(scene):\n    printed = 1\n    return []\n")
    )


def test_size_limits() -> None:
    with pytest.raises(PolicyError, match="the limit is 100"):
        compile_rule("def check(scene):\n    return []\n" + "#" * 200, max_source_chars=100)
    nested = "def check(scene):\n    return " + "[" * 80 + "]" * 80 + "\n"
    with pytest.raises(PolicyError, match="nested too deeply"):
        compile_rule(nested)
    # far deeper than the parser allows: a PolicyError, never a crash of the caller
    with pytest.raises(PolicyError):
        compile_rule("def check(scene):\n    return " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(PolicyError, match="str"):
        compile_rule(b"def check(scene): return []")  # type: ignore[arg-type]


def test_denied_attributes_cover_frame_and_format_escapes() -> None:
    for name in ("gi_frame", "tb_frame", "f_globals", "f_back", "format", "format_map", "mro"):
        assert name in DENIED_ATTRIBUTES


def test_check_tree_returns_empty_for_good_code() -> None:
    import ast

    assert check_tree(ast.parse(GOOD)) == []
