"""The scene API that rule code calls: small, pure, read-only, documented for small models.

A compiled rule is Python source defining ``def check(scene):`` that returns a list of
:func:`violation` dicts (empty = the rule holds). The sandbox imports this module in a
clean worker, injects the names of ``__all__`` into each rule's globals and passes
``wrap_scene(scene_dict)`` as ``scene``.

Design rules (the sandbox relies on them):

* pure standard library at import time (no numpy/pydantic), no mutable module state;
* every object handed to rule code is immutable (``__slots__``, assignment raises) and
  exposes only plain values: numbers, strings, tuples, fresh lists and dicts, or other
  objects of this module; private state lives in ``_``-names that RestrictedPython's
  ``safer_getattr`` refuses;
* no ground truth, metadata, file paths or masks reach rule code: only the image size,
  the category and per-component geometry, colour and attributes.

The docstrings are the prompt: :func:`api_reference` renders the API section of the code
generation prompt from the signatures and docstrings (``python -m logicode.ruleapi``). Keep
every summary line short and every ``Example:`` valid rule code.

Modules: ``objects`` (Scene, Region, Component), ``geometry`` (relations, numbers),
``colors`` (colour tests), ``reference`` (the prompt renderer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from logicode.ruleapi.colors import color_distance, color_is, same_color
from logicode.ruleapi.geometry import (
    above,
    approx,
    below,
    between,
    distance,
    inside,
    iou,
    left_of,
    overlaps,
    ratio,
    right_of,
)
from logicode.ruleapi.objects import Box as Box
from logicode.ruleapi.objects import Component, Region, Scene, grid
from logicode.ruleapi.reference import api_reference as api_reference

__all__ = (
    "violation",
    "above",
    "below",
    "left_of",
    "right_of",
    "inside",
    "overlaps",
    "distance",
    "iou",
    "grid",
    "color_is",
    "same_color",
    "color_distance",
    "approx",
    "between",
    "ratio",
)

# __all__ is what the sandbox injects into rule globals. Not in it, on purpose: the classes
# (rule code gets instances, never constructors), wrap_scene (the sandbox's entry point) and
# api_reference (the prompt builder's).

SCENE_IS_IMMUTABLE = True
"""Tells the sandbox that a wrapped scene is read-only and copies its input, so one wrapped
scene may be shared by every rule evaluated on it (rules still get fresh globals)."""


def violation(message: str, *evidence: Any) -> dict[str, Any]:
    """A rule failure: message plus the components that show it (components or ids).

    Example:
        return [violation(f"{len(nuts)} nuts, expected 2", *nuts)]
    """
    ids: list[str] = []
    for item in _flatten_evidence(evidence):
        if isinstance(item, Component):
            ids.append(item.id)
        elif isinstance(item, str):
            ids.append(item)
        elif isinstance(item, (Region, Scene, int, float)) or item is None:
            continue  # no component to point at (a measured number, the whole scene)
        else:
            raise TypeError(
                f"violation(): evidence must be components or component ids, "
                f"got {type(item).__name__}"
            )
    return {"message": str(message), "evidence": list(dict.fromkeys(ids))}


def wrap_scene(scene: Mapping[str, Any] | Any) -> Scene:
    """Build the read-only :class:`Scene` passed to ``check(scene)`` from a scene dict.

    Only the image size, the category and per-component geometry, colour and attributes are
    carried over; ground truth, metadata, file paths and masks are not. The input is copied,
    never kept, so rule code cannot reach or change it.

    Args:
        scene: A decoded scene JSON object (as validated by :mod:`logicode.scene`); an object
            with ``model_dump()`` (a pydantic ``Scene``) is accepted too.

    Raises:
        TypeError: If ``scene`` is not a mapping.
        KeyError: If a component lacks ``id``, ``label`` or ``bbox``.

    """
    if not isinstance(scene, Mapping) and hasattr(scene, "model_dump"):
        scene = scene.model_dump(mode="json")
    return Scene(scene)


def _flatten_evidence(items: Iterable[Any]) -> Iterable[Any]:
    for item in items:
        if isinstance(item, (list, tuple, set, frozenset)):
            yield from _flatten_evidence(item)
        else:
            yield item
