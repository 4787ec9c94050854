"""Runtime guards, builtins and frozen API exports."""

from __future__ import annotations

import types

import pytest

import sandbox.demo_api as demo
from sandbox.guards import (
    MATH,
    SizeLimitError,
    api_exports,
    freeze,
    guarded_getitem,
    guarded_getiter,
    guarded_write,
    make_operators,
    rule_globals,
    safe_builtins,
)


@pytest.fixture
def ops() -> dict:
    return make_operators(max_int_bits=1000, max_sequence=100)


def test_pow_guard_refuses_huge_integers_fast(ops: dict) -> None:
    assert ops["_pow_"](2, 10) == 1024
    assert ops["_pow_"](2.0, 0.5) == pytest.approx(2**0.5)
    assert ops["_pow_"](1, 10**9) == 1
    assert ops["_pow_"](-1, 10**9 + 1) == -1
    assert ops["_pow_"](7, 10**9, 13) == pow(7, 10**9, 13)
    with pytest.raises(SizeLimitError, match="limit is 1000 bits"):
        ops["_pow_"](10, 10**8)
    with pytest.raises(MemoryError):
        ops["pow"](3, 700)


def test_mul_and_shift_guards(ops: dict) -> None:
    assert ops["_mul_"](3, 4) == 12
    assert ops["_mul_"](2.5, 2) == 5.0
    assert ops["_mul_"]("ab", 3) == "ababab"
    assert ops["_mul_"](2, [0]) == [0, 0]
    with pytest.raises(SizeLimitError, match="repeating a sequence"):
        ops["_mul_"]("x", 101)
    with pytest.raises(SizeLimitError, match="repeating a sequence"):
        ops["_mul_"](1000, [1, 2])
    with pytest.raises(SizeLimitError, match="integer product"):
        ops["_mul_"](1 << 600, 1 << 600)
    assert ops["_lshift_"](1, 10) == 1024
    with pytest.raises(SizeLimitError, match="shift"):
        ops["_lshift_"](1, 5000)


def test_inplacevar_uses_the_guards_and_keeps_list_identity(ops: dict) -> None:
    inplace = ops["_inplacevar_"]
    items = [1]
    assert inplace("+=", items, [2]) is items and items == [1, 2]
    assert inplace("-=", 5, 2) == 3
    with pytest.raises(SizeLimitError):
        inplace("**=", 10, 10**6)
    with pytest.raises(SizeLimitError):
        inplace("*=", ["a"], 1000)
    with pytest.raises(ValueError, match="not supported"):
        inplace("?=", 1, 2)


def test_item_iteration_and_write_guards() -> None:
    assert guarded_getitem({"a": 1}, "a") == 1
    assert guarded_getitem([1, 2, 3], slice(1, None)) == [2, 3]
    with pytest.raises(KeyError, match="'__'"):
        guarded_getitem({"__class__": 1}, "__class__")
    assert list(guarded_getiter((1, 2))) == [1, 2]
    with pytest.raises(TypeError, match="module"):
        guarded_getiter(types)
    d: dict = {}
    assert guarded_write(d) is d
    with pytest.raises(TypeError, match="only change the lists and dicts it made"):
        guarded_write(demo.violation)


def test_builtins_are_a_small_safe_set() -> None:
    b = safe_builtins(1000, 100)
    for name in ("len", "sorted", "min", "max", "sum", "isinstance", "math", "ValueError"):
        assert name in b
    for name in (
        "open",
        "getattr",
        "type",
        "eval",
        "exec",
        "__import__",
        "globals",
        "vars",
        "compile",
        "object",
        "super",
        "BaseException",
        "breakpoint",
        "input",
    ):
        assert name not in b
    assert b["_getattr_"].__name__ == "safer_getattr_raise"


def test_getattr_guard_refuses_underscore_and_format() -> None:
    getattr_ = safe_builtins(1000, 100)["_getattr_"]
    assert getattr_("abc", "upper")() == "ABC"
    with pytest.raises(AttributeError):
        getattr_(1, "__class__")
    with pytest.raises(NotImplementedError):
        getattr_("{0.__class__}", "format")
    with pytest.raises(AttributeError):
        getattr_(demo, "no_such_name")


def test_math_namespace_is_read_only_and_limited() -> None:
    assert MATH.sqrt(9) == 3
    assert MATH.pi == pytest.approx(3.14159, rel=1e-4)
    with pytest.raises(AttributeError, match="offers"):
        _ = MATH.factorial
    with pytest.raises(AttributeError, match="read-only"):
        MATH.sqrt = abs


def test_freeze_makes_plain_data_immutable() -> None:
    frozen = freeze({"a": [1, {"b": [2]}], "s": {1}, "t": bytearray(b"x")})
    assert frozen["a"] == (1, {"b": (2,)})
    assert isinstance(frozen["s"], frozenset) and frozen["t"] == b"x"
    with pytest.raises(TypeError):
        frozen["a"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        frozen["a"][1]["b"] = 3


def test_api_exports_freezes_data_and_keeps_functions() -> None:
    exports = api_exports(demo)
    assert set(exports) == set(demo.__all__)
    assert exports["violation"] is demo.violation
    assert exports["COLORS"] == tuple(demo.COLORS) and isinstance(exports["COLORS"], tuple)
    with pytest.raises(TypeError):
        exports["TOLERANCE"]["px"] = 0  # type: ignore[index]
    g = rule_globals(safe_builtins(1000, 100), exports)
    assert g["__name__"] == "rule" and g["find"] is demo.find


def test_api_exports_refuses_modules_and_bad_names() -> None:
    api = types.ModuleType("bad_api")
    api.wrap_scene = lambda d: d  # type: ignore[attr-defined]
    api.os = __import__("os")  # type: ignore[attr-defined]
    api.__all__ = ["os"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="exports the module 'os'"):
        api_exports(api)
    api.__all__ = ["_secret"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="invalid name"):
        api_exports(api)
    del api.wrap_scene  # type: ignore[attr-defined]
    api.__all__ = []  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="wrap_scene"):
        api_exports(api)
