"""Nearest-prototype classification with feature weights learned from a few examples.

Used to name regions (which label?) and to estimate enum attributes (which value?). With a
handful of references, which features matter is learned, not chosen: each feature is
weighted by how well it separates the classes (between-class variance over within-class
variance, a Fisher ratio), so position or size are ignored when they do not separate the
classes in the references, and colour dominates when colour is what differs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

WITHIN_FLOOR = 0.05
"""Floor of the within-class variance (in units of the feature's total variance)."""


def fisher_weights(x: np.ndarray, y: Sequence[str]) -> np.ndarray:
    """Per-feature weights ``between / (within + floor)`` on standardised features, sum 1.

    Args:
        x: ``N x F`` standardised features.
        y: Class of each row.

    Returns:
        ``F`` non-negative weights summing to 1 (uniform when nothing separates).
    """
    classes = sorted(set(y))
    ya = np.asarray(y)
    f = x.shape[1]
    if len(classes) < 2:
        return np.full(f, 1.0 / f)
    means = np.stack([x[ya == c].mean(axis=0) for c in classes])
    between = means.var(axis=0)
    within_parts = [x[ya == c].var(axis=0) for c in classes if np.count_nonzero(ya == c) >= 2]
    within = np.mean(within_parts, axis=0) if within_parts else np.zeros(f)
    w = between / (within + WITHIN_FLOOR)
    total = float(w.sum())
    if not math.isfinite(total) or total <= 0:
        return np.full(f, 1.0 / f)
    return w / total


@dataclass
class PrototypeModel:
    """Weighted nearest-prototype classifier over named features.

    Attributes:
        features: Feature names (columns).
        classes: Class names, one per prototype.
        prototypes: ``C x F`` class means (standardised).
        mean, scale: Standardisation (``(x - mean) / scale``).
        weights: Fisher weights per feature.
        reject: Distance beyond which a sample fits no class (``inf``: never).
        examples: ``N x F`` standardised training rows (for nearest-neighbour mode).
        example_classes: Class of each training row.
    """

    features: tuple[str, ...]
    classes: list[str]
    prototypes: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    reject: float = math.inf
    examples: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    example_classes: list[str] = field(default_factory=list)
    spread: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    novelty_cols: list[int] = field(default_factory=list)
    novelty_reject: float = math.inf

    @classmethod
    def fit(
        cls,
        rows: np.ndarray,
        labels: Sequence[str],
        features: Sequence[str],
        *,
        reject_factor: float | None = None,
        novelty_features: Sequence[str] | None = None,
    ) -> PrototypeModel:
        """Fit on ``rows`` (``N x F`` raw features) with class ``labels``.

        Args:
            rows: Raw feature rows.
            labels: Class of each row.
            features: Feature names of the columns.
            reject_factor: When given, samples farther than this factor times the spread of
                the training rows (the larger of 2.5 x the 90th percentile distance of a
                row to its own prototype and half the smallest distance between two
                prototypes) are rejected by :meth:`predict`.
            novelty_features: With ``reject_factor``, also reject a sample whose values of
                these features lie far outside the nearest class's own spread (each feature
                in units of that class's standard deviation, floored at 0.1 of the overall
                one), whether or not those features separate the known classes: a new
                colour differs in a direction the known classes may not.
        """
        rows = np.asarray(rows, np.float64)
        novelty_features = list(novelty_features or [])
        mean = rows.mean(axis=0)
        scale = rows.std(axis=0)
        scale = np.where(scale > 1e-9, scale, 1.0)
        z = (rows - mean) / scale
        classes = sorted(set(labels))
        protos = np.stack([z[np.asarray(labels) == c].mean(axis=0) for c in classes])
        weights = fisher_weights(z, list(labels))
        model = cls(
            tuple(features),
            classes,
            protos,
            mean,
            scale,
            weights,
            examples=z,
            example_classes=list(labels),
        )
        if reject_factor is not None:
            own = np.array(
                [model._dist(z[i], protos[classes.index(lab)]) for i, lab in enumerate(labels)]
            )
            spread = 2.5 * float(np.percentile(own, 90)) if own.size else 0.0
            gaps = [
                model._dist(protos[i], protos[j])
                for i in range(len(classes))
                for j in range(i + 1, len(classes))
            ]
            half_gap = 0.5 * min(gaps) if gaps else 0.0
            model.reject = reject_factor * max(spread, half_gap, 1e-6)
            cols = [i for i, n in enumerate(features) if n in novelty_features]
            if cols:
                ya = np.asarray(labels)
                model.spread = np.stack([np.maximum(z[ya == c].std(axis=0), 0.1) for c in classes])
                model.novelty_cols = cols
                own_n = np.array(
                    [model._novelty(z[i], classes.index(lab)) for i, lab in enumerate(labels)]
                )
                model.novelty_reject = reject_factor * max(
                    2.0 * float(np.percentile(own_n, 99)), 3.0
                )
        return model

    def _novelty(self, z: np.ndarray, k: int) -> float:
        """RMS distance to prototype ``k`` on the novelty features, in class-spread units."""
        cols = self.novelty_cols
        d = (z[cols] - self.prototypes[k][cols]) / self.spread[k][cols]
        return float(math.sqrt(float(np.mean(d * d))))

    def _dist(self, a: np.ndarray, b: np.ndarray) -> float:
        d = a - b
        return float(math.sqrt(float(np.sum(self.weights * d * d))))

    def standardise(self, row: np.ndarray) -> np.ndarray:
        """Raw feature row -> standardised row."""
        return (np.asarray(row, np.float64) - self.mean) / self.scale

    def distances(self, row: np.ndarray, among: Sequence[str] | None = None) -> dict[str, float]:
        """Weighted distance of a raw row to each class prototype (optionally a subset)."""
        z = self.standardise(row)
        out = {}
        for i, c in enumerate(self.classes):
            if among is None or c in among:
                out[c] = self._dist(z, self.prototypes[i])
        return out

    def predict(
        self, row: np.ndarray, among: Sequence[str] | None = None
    ) -> tuple[str | None, float, float]:
        """Nearest class, a confidence in ``[0, 1]`` and the distance.

        Returns:
            ``(class or None if rejected or no class among the candidates, confidence,
            distance)``. Confidence compares the nearest and second-nearest distances.
        """
        d = self.distances(row, among)
        if not d:
            return None, 0.0, math.inf
        ranked = sorted(d.items(), key=lambda kv: kv[1])
        best, dist = ranked[0]
        if dist > self.reject:
            return None, 0.0, dist
        if self.novelty_cols:
            k = self.classes.index(best)
            if self._novelty(self.standardise(row), k) > self.novelty_reject:
                return None, 0.0, dist
        if len(ranked) == 1:
            return best, 1.0, dist
        second = ranked[1][1]
        conf = 1.0 if second <= 0 else min(1.0, max(0.0, (second - dist) / second + 0.5))
        return best, conf, dist
