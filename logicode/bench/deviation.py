"""How far a scene is from the normal reference scenes: a generic, bounded tie-breaker score.

LogiBench's image anomaly score (see :mod:`logicode.bench.metrics`) has a *major* term from
the rules and a *minor* term from this module. The rules decide the verdict; on their own
they give most images the same score (0, or one violation), so the AUROC is mostly ties.
The minor term orders the images within a tie by how unusual their scene is compared with
the normal reference scenes of the category, using nothing but the scene format (no category
knowledge):

* **Component features** (:func:`component_features`): centroid ``x / W`` and ``y / H``,
  size ``sqrt(area / (W H))``, box aspect ``log(w / h)`` and mean colour ``r, g, b / 255``.
  Each feature is scaled by its standard deviation over the reference components of the
  same label (:data:`FEATURE_FLOORS` bounds it below, so identical references do not divide
  by zero).
* **Scene distance** (:meth:`ReferenceModel.distance`) between a scene and one reference:
  per label, components are paired by the assignment of least cost
  (``scipy.optimize.linear_sum_assignment``); a pair costs the root mean square of its
  scaled feature differences (at most ``2 * missing_cost``), plus ``attribute_cost`` per
  categorical attribute whose values differ; each component left without a partner (a
  missing or extra part) costs ``missing_cost``. The distance is the sum over labels.
* **Deviation** (:meth:`ReferenceModel.deviation`): the distance to the *nearest* reference
  (normal scenes can differ from each other, e.g. several juice types, so only the closest
  one is a fair comparison), divided by the typical nearest-neighbour distance among the
  references themselves (the median over references of the distance to the nearest *other*
  reference, leave-one-out). 1 means "as far as normal references are from each other".
* **Bounded term** (:func:`bounded`): ``d / (1 + d)`` in ``[0, 1)``, monotone, so the minor
  term never reaches the weight of one violation.

The constants were fixed before measuring and not tuned on evaluation images: a missing
or extra part and a changed attribute each cost :data:`MISSING_COST` = 4, about three
times the expected cost of pairing two normal parts (the root mean square of the difference
of two independent normal values is ``sqrt(2) ~ 1.4`` standard deviations).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from logicode.spec import CategorySpec

FEATURES = ("cx", "cy", "size", "aspect", "r", "g", "b")
"""Names of the per-component features, in order."""

FEATURE_FLOORS = np.array([0.01, 0.01, 0.01, 0.05, 0.02, 0.02, 0.02])
"""Smallest standard deviation of each feature (1 % of the image for positions and size,
0.05 in log aspect, 2 % of the colour range)."""

MISSING_COST = 4.0
"""Cost of a component without a partner (missing or extra part)."""

ATTRIBUTE_COST = 4.0
"""Cost of one categorical attribute whose value differs between paired components."""

APPEARANCE = np.array([name in ("r", "g", "b") for name in FEATURES])
"""Features that describe a component's look (its colour) rather than its placement."""

CATCH_ALL_VALUES = frozenset({"unknown", "other", "none"})
"""Enum values meaning "none of the known ones" (the naming convention of
:data:`logicode.perception.attributes.CATCH_ALL_VALUES`): never a normal variant."""

VARIANT_MIN_SEEN = 2
"""Distinct allowed values the references must show of an attribute before the values they
miss count as normal variants (:func:`unseen_variants`)."""

Allowed = dict[str, dict[str, frozenset[str]]]
"""Per label, per enum attribute: the values the spec allows (catch-all values left out)."""


def allowed_values(spec: CategorySpec) -> Allowed:
    """The enum values a category's spec lists for each label and attribute.

    Catch-all values (:data:`CATCH_ALL_VALUES`) are left out: they name an unknown kind, not
    a product.

    Args:
        spec: The category spec.

    Returns:
        ``{label: {attribute: values}}`` for every enum attribute.
    """
    out: Allowed = {}
    for comp in spec.components:
        for attr in comp.attributes:
            if attr.type == "enum" and attr.values:
                values = frozenset(v for v in attr.values if v.lower() not in CATCH_ALL_VALUES)
                out.setdefault(comp.label, {})[attr.name] = values
    return out


def _scene_size(scene: Mapping[str, Any]) -> tuple[float, float]:
    image = scene.get("image") or {}
    w = float(image.get("width") or 0)
    h = float(image.get("height") or 0)
    if w <= 0 or h <= 0:
        raise ValueError("scene image has no width/height; cannot normalise its components")
    return w, h


def component_features(component: Mapping[str, Any], width: float, height: float) -> np.ndarray:
    """The feature vector of one component (see :data:`FEATURES`).

    Args:
        component: A scene component as a JSON dict (``bbox`` XYXY, ``area``, ``centroid``,
            ``color.rgb``).
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        ``float`` array of length ``len(FEATURES)``.
    """
    x0, y0, x1, y1 = (float(v) for v in component.get("bbox") or (0, 0, 0, 0))
    cx, cy = component.get("centroid") or ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
    area = float(component.get("area") or max(0.0, (x1 - x0) * (y1 - y0)))
    bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    rgb = (component.get("color") or {}).get("rgb") or (0, 0, 0)
    return np.array(
        [
            float(cx) / width,
            float(cy) / height,
            math.sqrt(max(area, 0.0) / (width * height)),
            math.log(bw / bh),
            *(float(v) / 255.0 for v in rgb[:3]),
        ]
    )


@dataclass(frozen=True)
class SceneParts:
    """A scene reduced to what the deviation compares: per label, features and attributes."""

    features: dict[str, np.ndarray]
    attributes: dict[str, list[dict[str, str]]]

    @property
    def labels(self) -> set[str]:
        """Labels present in the scene."""
        return set(self.features)


def scene_parts(scene: Mapping[str, Any]) -> SceneParts:
    """Group a scene's components by label (features and categorical attributes).

    Args:
        scene: A scene as a JSON dict (``Scene.model_dump(mode="json")``).

    Returns:
        The grouped parts.
    """
    w, h = _scene_size(scene)
    feats: dict[str, list[np.ndarray]] = {}
    attrs: dict[str, list[dict[str, str]]] = {}
    for comp in scene.get("components") or []:
        label = str(comp.get("label"))
        feats.setdefault(label, []).append(component_features(comp, w, h))
        values = comp.get("attributes") or {}
        attrs.setdefault(label, []).append(
            {str(k): str(v) for k, v in values.items() if isinstance(v, str | bool | int)}
        )
    return SceneParts({k: np.vstack(v) for k, v in feats.items()}, attrs)


def _attribute_mismatches(
    a: Mapping[str, str], b: Mapping[str, str], skip: frozenset[str] = frozenset()
) -> int:
    return sum(1 for k in set(a) | set(b) if k not in skip and a.get(k) != b.get(k))


def unseen_variants(
    refs: Iterable[SceneParts], allowed: Allowed, min_seen: int = VARIANT_MIN_SEEN
) -> Allowed:
    """Allowed enum values the references never show, for attributes that vary among them.

    An attribute is a *variety* of the product when the normal references show at least
    ``min_seen`` of its allowed values (e.g. several juice kinds); then the other values the
    spec allows are normal variants the references happen to miss. An attribute the
    references always show with one value (e.g. one head colour) has no unseen variants:
    another value there is an anomaly.

    Args:
        refs: The reference scenes' parts.
        allowed: Allowed values per label and attribute (:func:`allowed_values`).
        min_seen: Distinct allowed values the references must show.

    Returns:
        ``{label: {attribute: values}}``, only non-empty entries.
    """
    seen: dict[str, dict[str, set[str]]] = {}
    for ref in refs:
        for label, comps in ref.attributes.items():
            for attrs in comps:
                for k, v in attrs.items():
                    seen.setdefault(label, {}).setdefault(k, set()).add(v)
    out: Allowed = {}
    for label, attrs in allowed.items():
        for k, values in attrs.items():
            shown = seen.get(label, {}).get(k, set()) & values
            missing = values - shown
            if len(shown) >= min_seen and missing:
                out.setdefault(label, {})[k] = frozenset(missing)
    return out


@dataclass
class ReferenceModel:
    """The normal reference scenes of a category, ready to measure deviations.

    Build it with :meth:`fit`. Attributes are as fitted; ``missing_cost`` and
    ``attribute_cost`` default to :data:`MISSING_COST` and :data:`ATTRIBUTE_COST`.
    """

    references: list[SceneParts]
    scales: dict[str, np.ndarray]
    norm: float = 1.0
    missing_cost: float = MISSING_COST
    attribute_cost: float = ATTRIBUTE_COST
    loo: list[float] = field(default_factory=list)
    unseen: Allowed = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        scenes: Iterable[Mapping[str, Any]],
        *,
        missing_cost: float = MISSING_COST,
        attribute_cost: float = ATTRIBUTE_COST,
        allowed: Allowed | None = None,
        min_seen: int = VARIANT_MIN_SEEN,
    ) -> ReferenceModel:
        """Fit on normal reference scenes (JSON dicts).

        Args:
            scenes: Normal scenes of one category (at least one).
            missing_cost: Cost of a missing or extra component.
            attribute_cost: Cost of a differing categorical attribute.
            allowed: Enum values the spec allows (:func:`allowed_values`); with it, a
                component showing an allowed variant the references never show
                (:func:`unseen_variants`) is compared by placement only (no colour, no
                cost for that attribute). ``None``: every difference counts.
            min_seen: See :func:`unseen_variants`.

        Returns:
            The model.

        Raises:
            ValueError: No reference scene.
        """
        refs = [scene_parts(s) for s in scenes]
        if not refs:
            raise ValueError("no reference scene to measure deviations against")
        labels = set().union(*(r.labels for r in refs))
        scales = {}
        for label in labels:
            pooled = np.vstack([r.features[label] for r in refs if label in r.features])
            std = pooled.std(axis=0) if len(pooled) > 1 else np.zeros(len(FEATURES))
            scales[label] = np.maximum(std, FEATURE_FLOORS)
        unseen = unseen_variants(refs, allowed, min_seen) if allowed else {}
        model = cls(refs, scales, 1.0, missing_cost, attribute_cost, unseen=unseen)
        if len(refs) > 1:
            model.loo = [
                min(model._distance(r, o) for j, o in enumerate(refs) if j != i)
                for i, r in enumerate(refs)
            ]
            model.norm = max(float(np.median(model.loo)), 1e-9)
        return model

    def _scale(self, label: str) -> np.ndarray:
        return self.scales.get(label, FEATURE_FLOORS)

    def _unseen_in(self, label: str, attrs: Mapping[str, str]) -> frozenset[str]:
        """The attributes of a component whose value is an unseen allowed variant."""
        variants = self.unseen.get(label)
        if not variants:
            return frozenset()
        return frozenset(k for k, v in attrs.items() if v in variants.get(k, ()))

    def _distance(self, a: SceneParts, b: SceneParts) -> float:
        from scipy.optimize import linear_sum_assignment

        total = 0.0
        for label in a.labels | b.labels:
            fa = a.features.get(label)
            fb = b.features.get(label)
            na = 0 if fa is None else len(fa)
            nb = 0 if fb is None else len(fb)
            total += self.missing_cost * abs(na - nb)
            if na == 0 or nb == 0:
                continue
            assert fa is not None and fb is not None
            z = (fa[:, None, :] - fb[None, :, :]) / self._scale(label)
            aa, ab = a.attributes[label], b.attributes[label]
            skips = [self._unseen_in(label, x) for x in aa]
            novel = np.array([bool(sk) for sk in skips])[:, None]
            keep = np.where(novel, ~APPEARANCE[None, :], True)
            zz = np.where(keep[:, None, :], z * z, 0.0)
            cost = np.sqrt(zz.sum(axis=2) / keep.sum(axis=1)[:, None])
            mism = np.array(
                [
                    [_attribute_mismatches(x, y, sk) for y in ab]
                    for x, sk in zip(aa, skips, strict=True)
                ],
                dtype=float,
            )
            cost = np.minimum(cost, 2.0 * self.missing_cost) + self.attribute_cost * mism
            rows, cols = linear_sum_assignment(cost)
            total += float(cost[rows, cols].sum())
        return total

    def distance(self, scene: Mapping[str, Any], index: int) -> float:
        """Distance (unnormalised) between ``scene`` and reference ``index``."""
        return self._distance(scene_parts(scene), self.references[index])

    def deviation(self, scene: Mapping[str, Any]) -> float:
        """Normalised distance of ``scene`` to its nearest reference (>= 0; see the module)."""
        parts = scene_parts(scene)
        nearest = min(self._distance(parts, r) for r in self.references)
        return nearest / self.norm

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: reference count, normaliser and costs (for ``metrics.json``)."""
        return {
            "references": len(self.references),
            "norm": round(self.norm, 6),
            "missing_cost": self.missing_cost,
            "attribute_cost": self.attribute_cost,
            "unseen_variants": {
                label: {k: sorted(v) for k, v in attrs.items()}
                for label, attrs in sorted(self.unseen.items())
            },
        }


def bounded(deviation: float) -> float:
    """``d / (1 + d)``: a deviation mapped monotonically into ``[0, 1)``."""
    d = max(0.0, float(deviation))
    return d / (1.0 + d)
