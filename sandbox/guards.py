"""Runtime guards and the globals rule code runs in (used inside workers).

RestrictedPython rewrites attribute, item, iteration and write access into calls of guard
functions (``_getattr_``, ``_getitem_``, ``_getiter_``, ``_write_``...); :mod:`sandbox.policy`
adds ``_pow_``, ``_mul_`` and ``_lshift_``. This module provides them, the small set of
builtins rules get, a read-only ``math`` namespace, and the frozen copy of the trusted API's
exports. Rule code sees nothing else: no modules, no ``__builtins__``, no frames.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from types import CodeType, FrameType, MappingProxyType, ModuleType, TracebackType
from typing import Any

from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)


class SizeLimitError(MemoryError):
    """An operation would build a value larger than the limits allow (a ``memory`` error)."""


class ReadOnlyNamespace:
    """Attribute access to a fixed set of values (e.g. ``math.sqrt``); nothing can be set."""

    __slots__ = ("_name", "_values")

    def __init__(self, name: str, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._values[attr]
        except KeyError:
            offered = ", ".join(sorted(self._values))
            raise AttributeError(
                f"{self._name} has no attribute {attr!r} in rule code; it offers {offered}"
            ) from None

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"{self._name} is read-only")

    def __delattr__(self, attr: str) -> None:
        raise AttributeError(f"{self._name} is read-only")

    def __repr__(self) -> str:
        return f"<{self._name}>"


_MATH_NAMES = (
    "sqrt hypot atan2 atan sin cos tan asin acos degrees radians floor ceil fabs isclose "
    "isfinite isnan isinf log log2 log10 exp copysign dist fsum trunc pi e inf tau nan"
).split()

MATH = ReadOnlyNamespace("math", {n: getattr(math, n) for n in _MATH_NAMES})
"""The ``math`` object rule code gets: float functions only (no factorial, comb, prod...)."""

_BUILTIN_NAMES = (
    "abs all any bool callable chr dict divmod enumerate filter float frozenset hex int "
    "isinstance iter len list map max min next ord range repr reversed round set slice "
    "sorted str sum tuple zip"
).split()

_EXCEPTION_NAMES = (
    "ArithmeticError AssertionError AttributeError Exception IndexError KeyError LookupError "
    "NameError NotImplementedError OverflowError RuntimeError StopIteration TypeError "
    "UnboundLocalError ValueError ZeroDivisionError"
).split()

_OPAQUE_TYPES = (ModuleType, FrameType, CodeType, TracebackType)


def make_operators(max_int_bits: int, max_sequence: int) -> dict[str, Callable[..., Any]]:
    """Size-checked ``**``, ``*`` and ``<<`` (``_pow_``, ``_mul_``, ``_lshift_``, ``pow``).

    Args:
        max_int_bits: Largest integer result, in bits.
        max_sequence: Longest string, list or tuple a repetition may build.

    Returns:
        Guard name -> function, plus ``_inplacevar_`` for augmented assignment of names.

    """

    def too_big(what: str, size: float, limit: int, unit: str) -> SizeLimitError:
        return SizeLimitError(
            f"{what} would make about {size:.0f} {unit}; the limit is {limit} {unit}"
        )

    def guarded_pow(a: Any, b: Any, mod: Any = None) -> Any:
        if mod is None and isinstance(a, int) and isinstance(b, int) and b > 1:
            base = abs(a)
            if base > 1:
                bits = b * math.log2(base)
                if bits > max_int_bits:
                    raise too_big("an integer power (**)", bits, max_int_bits, "bits")
        return pow(a, b) if mod is None else pow(a, b, mod)

    def check_mul(a: Any, b: Any) -> None:
        if isinstance(a, int):
            if isinstance(b, int):
                bits = a.bit_length() + b.bit_length()
                if bits > max_int_bits:
                    raise too_big("an integer product (*)", bits, max_int_bits, "bits")
            elif isinstance(b, (str, bytes, list, tuple)) and a > 0:
                n = len(b) * a
                if n > max_sequence:
                    raise too_big("repeating a sequence (*)", n, max_sequence, "items")
        elif isinstance(b, int) and isinstance(a, (str, bytes, list, tuple)) and b > 0:
            n = len(a) * b
            if n > max_sequence:
                raise too_big("repeating a sequence (*)", n, max_sequence, "items")

    def guarded_mul(a: Any, b: Any) -> Any:
        if type(a) is not float and type(b) is not float:
            check_mul(a, b)
        return a * b

    def guarded_imul(a: Any, b: Any) -> Any:
        check_mul(a, b)
        return operator.imul(a, b)

    def guarded_lshift(a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and b > 0 and a:
            bits = a.bit_length() + b
            if bits > max_int_bits:
                raise too_big("an integer shift (<<)", bits, max_int_bits, "bits")
        return a << b

    inplace: dict[str, Callable[[Any, Any], Any]] = {
        "+=": operator.iadd,
        "-=": operator.isub,
        "*=": guarded_imul,
        "/=": operator.itruediv,
        "//=": operator.ifloordiv,
        "%=": operator.imod,
        "**=": guarded_pow,
        "<<=": guarded_lshift,
        ">>=": operator.irshift,
        "&=": operator.iand,
        "|=": operator.ior,
        "^=": operator.ixor,
        "@=": operator.imatmul,
    }

    def inplacevar(op: str, x: Any, y: Any) -> Any:
        fn = inplace.get(op)
        if fn is None:
            raise ValueError(f"augmented assignment {op!r} is not supported")
        return fn(x, y)

    return {
        "_pow_": guarded_pow,
        "_mul_": guarded_mul,
        "_lshift_": guarded_lshift,
        "_inplacevar_": inplacevar,
        "pow": guarded_pow,
    }


def guarded_getitem(obj: Any, key: Any) -> Any:
    """``obj[key]``, refusing dunder string keys."""
    if type(key) is str and key.startswith("__"):
        raise KeyError(f"{key!r}: keys starting with '__' are not allowed in rule code")
    return obj[key]


def guarded_getiter(obj: Any) -> Any:
    """``iter(obj)``, refusing modules, frames, code and tracebacks."""
    if isinstance(obj, _OPAQUE_TYPES):
        raise TypeError(f"rule code cannot iterate over {type(obj).__name__} objects")
    return iter(obj)


def guarded_write(obj: Any) -> Any:
    """Target of ``x.a = v``, ``x[k] = v`` and ``del``: only lists and dicts may change."""
    if type(obj) is dict or type(obj) is list:
        return obj
    raise TypeError(
        f"rule code can only change the lists and dicts it made, not {type(obj).__name__} objects"
    )


def guarded_apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` for calls that use star arguments."""
    return func(*args, **kwargs)


def safe_builtins(max_int_bits: int, max_sequence: int) -> dict[str, Any]:
    """The ``__builtins__`` dict of rule code: safe builtins, exceptions, ``math`` and guards.

    Args:
        max_int_bits: See :func:`make_operators`.
        max_sequence: See :func:`make_operators`.

    Returns:
        A new dict (one per worker; rule code cannot reach it).

    """
    import builtins

    out: dict[str, Any] = {"None": None, "True": True, "False": False}
    for name in _BUILTIN_NAMES + _EXCEPTION_NAMES:
        out[name] = getattr(builtins, name)
    out["math"] = MATH
    out.update(make_operators(max_int_bits, max_sequence))
    out.update(
        {
            "_getattr_": safer_getattr_raise,
            "_getitem_": guarded_getitem,
            "_getiter_": guarded_getiter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": guarded_write,
            "_apply_": guarded_apply,
        }
    )
    return out


def freeze(value: Any) -> Any:
    """Deep read-only copy of plain data: lists become tuples, dicts mapping proxies, sets frozen.

    Other objects (functions, classes, numbers, strings) are returned as they are.
    """
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, (dict, MappingProxyType)):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (set, frozenset)):
        return frozenset(freeze(v) for v in value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def api_exports(module: ModuleType) -> dict[str, Any]:
    """The names a trusted API module offers rule code: its ``__all__``, data frozen.

    Args:
        module: The imported API module; it must define ``__all__`` and ``wrap_scene``.

    Returns:
        Name -> value to inject into every rule's globals.

    Raises:
        TypeError: If the module lacks ``__all__``/``wrap_scene`` or exports a module.
        ValueError: If an exported name starts with ``_``.

    """
    names = getattr(module, "__all__", None)
    if not isinstance(names, (list, tuple)):
        raise TypeError(f"API module {module.__name__} must define __all__ as a list of names")
    if not callable(getattr(module, "wrap_scene", None)):
        raise TypeError(f"API module {module.__name__} must define wrap_scene(scene_dict)")
    out: dict[str, Any] = {}
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"API module {module.__name__} exports an invalid name {name!r}")
        value = getattr(module, name)
        if isinstance(value, ModuleType):
            raise TypeError(
                f"API module {module.__name__} exports the module {value.__name__!r} as "
                f"{name!r}; export functions instead"
            )
        out[name] = freeze(value)
    return out


def rule_globals(builtins: dict[str, Any], exports: Mapping[str, Any]) -> dict[str, Any]:
    """Template globals of a rule; copy it (``dict.copy``) for every evaluation.

    Args:
        builtins: From :func:`safe_builtins`.
        exports: From :func:`api_exports`.

    Returns:
        ``{"__builtins__": builtins, "__name__": "rule", **exports}``.

    """
    out: dict[str, Any] = {"__builtins__": builtins, "__name__": "rule"}
    out.update(exports)
    return out
