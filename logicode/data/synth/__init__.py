"""Synthetic MVTec LOCO style datasets with ground-truth scenes, rendered procedurally.

Each category has one module here (``logicode/data/synth/<category>.py``) exposing
``make() -> CategoryGenerator`` (see :mod:`logicode.data.synth.base`); its spec is
``prompts/categories/<category>.yaml``. :func:`generate_dataset` writes a whole dataset.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from logicode.errors import LogicodeError

if TYPE_CHECKING:
    from logicode.data.synth.base import CategoryGenerator

CATEGORIES: tuple[str, ...] = (
    "breakfast_box",
    "juice_bottle",
    "pushpins",
    "screw_bag",
    "splicing_connectors",
)
"""Categories with a synthetic generator (the five MVTec LOCO AD categories)."""


def available_categories() -> list[str]:
    """Categories whose generator module is installed."""
    return [c for c in CATEGORIES if importlib.util.find_spec(f"{__name__}.{c}") is not None]


def get_generator(category: str) -> CategoryGenerator:
    """Return the generator of ``category``.

    Raises:
        LogicodeError: If no generator exists for that category.
    """
    if category not in available_categories():
        known = ", ".join(available_categories()) or "none"
        raise LogicodeError(f"no synthetic generator for category {category!r}; known: {known}")
    module = importlib.import_module(f"{__name__}.{category}")
    return module.make()


def generate_dataset(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Write a synthetic dataset; see :func:`logicode.data.synth.writer.generate_dataset`."""
    from logicode.data.synth.writer import generate_dataset as _generate

    return _generate(*args, **kwargs)
