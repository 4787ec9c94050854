"""Per-label attributes the category spec declares, learned from the references' values.

For every ``(label, attribute)`` of the spec, :class:`ReferenceAttributes` collects the
references' components of that label that carry the attribute, with their instance features
(colour, shape, size, and position in the box of the component that holds them):

* ``enum``, ``bool`` and ``string``: weighted nearest prototype on colour and shape features
  (:mod:`logicode.perception.prototypes`). A sample far from every prototype gets the
  enum's catch-all value when the spec has one the references never use (``unknown``,
  ``other``, ``none``), so an unseen variant is reported rather than forced into a known one.
* ``number``: a line ``value = a * feature + b`` on the one measured feature that predicts
  the references' values best (leave-one-out), among lengths, area and relative position;
  when every reference has the same value, ``value = v * feature / mean(feature)`` on the
  steadiest feature. Values are rounded when all reference values are integers.

Attributes no reference carries are left out (an enum with a catch-all value gets it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from logicode.perception.base import Reference, Region
from logicode.perception.features import (
    COLOR_FEATURES,
    LENGTH_FEATURES,
    POSITION_FEATURES,
    SHAPE_FEATURES,
    augmented_features,
    instance_features,
    vector,
)
from logicode.perception.label import MAX_AUGMENTED, containing_boxes
from logicode.perception.prototypes import PrototypeModel
from logicode.spec import AttributeSpec, CategorySpec

logger = logging.getLogger(__name__)

CATCH_ALL_VALUES: tuple[str, ...] = ("unknown", "other", "none")
"""Enum values that mean "none of the known ones" (a naming convention, not a product)."""

ENUM_FEATURES: tuple[str, ...] = COLOR_FEATURES + SHAPE_FEATURES
NUMBER_FEATURES: tuple[str, ...] = (*LENGTH_FEATURES, "log_area", *POSITION_FEATURES)
ENUM_REJECT = 1.0
"""Reject factor of enum prototypes (see :meth:`PrototypeModel.fit`)."""


@dataclass
class NumberModel:
    """``value = slope * feature + intercept``, rounded when ``integer``."""

    feature: str
    slope: float
    intercept: float
    integer: bool

    def predict(self, feats: dict[str, float]) -> float | int:
        """The value for one instance's features."""
        v = self.slope * feats[self.feature] + self.intercept
        return int(round(v)) if self.integer else round(float(v), 3)


def fit_number(rows: list[dict[str, float]], values: list[float]) -> NumberModel:
    """Choose and fit the feature that predicts ``values`` best (see module docstring)."""
    y = np.asarray(values, np.float64)
    integer = all(float(v).is_integer() for v in values)
    if np.ptp(y) == 0 or len(values) < 3:
        best, best_cv = NUMBER_FEATURES[0], math.inf
        for f in NUMBER_FEATURES:
            x = np.array([r[f] for r in rows])
            m = float(np.mean(x))
            if m <= 1e-9:
                continue
            cv = float(np.std(x)) / m
            if cv < best_cv:
                best, best_cv = f, cv
        mx = float(np.mean([r[best] for r in rows]))
        return NumberModel(best, float(np.mean(y)) / mx if mx else 0.0, 0.0, integer)
    best_model, best_err = None, math.inf
    n = len(values)
    for f in NUMBER_FEATURES:
        x = np.array([r[f] for r in rows])
        if np.ptp(x) <= 1e-9:
            continue
        err = 0.0
        for i in range(n):
            keep = np.arange(n) != i
            if np.ptp(x[keep]) <= 1e-9:
                err = math.inf
                break
            a, b = np.polyfit(x[keep], y[keep], 1)
            err += (a * x[i] + b - y[i]) ** 2
        if err < best_err:
            a, b = np.polyfit(x, y, 1)
            best_model, best_err = NumberModel(f, float(a), float(b), integer), err
    if best_model is None:
        return NumberModel(NUMBER_FEATURES[0], 0.0, float(np.mean(y)), integer)
    return best_model


def _catch_all(spec: AttributeSpec, seen: set[str]) -> str | None:
    for v in spec.values or []:
        if v.lower() in CATCH_ALL_VALUES and v not in seen:
            return v
    return None


def region_features(
    image: np.ndarray,
    masks: Sequence[np.ndarray],
    boxes: Sequence[tuple[int, int, int, int] | None] | None = None,
) -> list[dict[str, float]]:
    """Instance features of each mask, positions in the box of the mask that holds it."""
    frames = containing_boxes(masks, boxes)
    boxes = boxes if boxes is not None else [None] * len(masks)
    return [
        instance_features(image, m, frame=f, box=b) if (b is not None or m.any()) else {}
        for m, f, b in zip(masks, frames, boxes, strict=True)
    ]


class ReferenceAttributes:
    """Attribute estimator learned from the references (see module docstring)."""

    name = "reference"

    def __init__(self, augmentations: int = 6, seed: int = 0) -> None:
        self.augmentations = augmentations
        self.seed = seed
        self.enums: dict[tuple[str, str], tuple[PrototypeModel | None, str | None]] = {}
        self.numbers: dict[tuple[str, str], NumberModel] = {}
        self.fallback: dict[tuple[str, str], Any] = {}
        self._types: dict[tuple[str, str], str] = {}

    def fit(self, refs: Sequence[Reference], spec: CategorySpec) -> None:
        """Learn one model per ``(label, attribute)`` of the spec that references carry."""
        wanted = {(c.label, a.name): a for c in spec.components for a in c.attributes}
        samples: dict[tuple[str, str], list[tuple[dict[str, float], Any]]] = {k: [] for k in wanted}
        nuisance: dict[tuple[str, str], list[tuple[dict[str, float], Any]]] = {
            k: [] for k in wanted
        }
        rng = np.random.default_rng(self.seed)
        for ref in refs:
            if not any(c.label == lab for c in ref.scene.components for lab, _ in wanted):
                continue
            masks = ref.masks()
            frames = containing_boxes(masks)
            for comp, m, fr in zip(ref.scene.components, masks, frames, strict=True):
                for (lab, name), aspec in wanted.items():
                    value = comp.attributes.get(name)
                    if comp.label != lab or value is None or not m.any():
                        continue
                    samples[(lab, name)].append((instance_features(ref.image, m, fr), value))
                    if aspec.type != "number" and len(samples[(lab, name)]) <= MAX_AUGMENTED:
                        for f in augmented_features(ref.image, m, fr, rng, self.augmentations):
                            nuisance[(lab, name)].append((f, value))
        self.enums, self.numbers, self.fallback = {}, {}, {}
        for key, aspec in wanted.items():
            data = samples[key]
            if aspec.type == "number":
                data = [(f, v) for f, v in data if isinstance(v, int | float)]
                if data:
                    self.numbers[key] = fit_number([f for f, _ in data], [v for _, v in data])
                continue
            seen = {str(v) for _, v in data}
            catch = _catch_all(aspec, seen) if aspec.type == "enum" else None
            if not data:
                if catch is not None:
                    self.fallback[key] = catch
                continue
            everything = data + nuisance[key]
            rows = np.stack([vector(f, ENUM_FEATURES) for f, _ in everything])
            labels = [str(v) for _, v in everything]
            if len(seen) == 1 and catch is None:
                self.enums[key] = (None, labels[0])
                continue
            model = PrototypeModel.fit(
                rows,
                labels,
                ENUM_FEATURES,
                reject_factor=ENUM_REJECT if catch is not None else None,
                novelty_features=COLOR_FEATURES,
            )
            self.enums[key] = (model, catch)
        self._types = {k: a.type for k, a in wanted.items()}
        logger.info(
            "attributes: enums %s, numbers %s",
            sorted(self.enums),
            {k: (m.feature, round(m.slope, 3)) for k, m in self.numbers.items()},
        )

    def estimate(self, image: np.ndarray, regions: list[Region]) -> None:
        """Fill ``attributes`` of every labelled region in place."""
        keys = set(self.enums) | set(self.numbers) | set(self.fallback)
        if not keys:
            return
        feats = region_features(image, [r.mask for r in regions], [r.bbox() for r in regions])
        for r, f in zip(regions, feats, strict=True):
            if r.label is None or not f:
                continue
            for lab, name in sorted(keys):
                if lab != r.label:
                    continue
                key = (lab, name)
                if key in self.numbers:
                    r.attributes[name] = self.numbers[key].predict(f)
                elif key in self.enums:
                    model, catch = self.enums[key]
                    if model is None:
                        r.attributes[name] = _typed(catch, self._types.get(key))
                        continue
                    best, _, _ = model.predict(vector(f, ENUM_FEATURES))
                    value = best if best is not None else catch
                    r.attributes[name] = _typed(value, self._types.get(key))
                else:
                    r.attributes[name] = self.fallback[key]

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta``."""
        return {
            "name": self.name,
            "enums": sorted(f"{lab}.{n}" for lab, n in self.enums),
            "numbers": {f"{lab}.{n}": m.feature for (lab, n), m in self.numbers.items()},
        }


def _typed(value: Any, kind: str | None) -> Any:
    if kind == "bool" and isinstance(value, str):
        return value.lower() in ("true", "yes", "1")
    return value
