"""Name regions with vocabulary labels, few-shot, from the references' components.

:class:`PrototypeLabeler` describes every reference component by its colour, shape and size
(:mod:`logicode.perception.features`) and names a region after the nearest label prototype
among the region's candidate labels (all labels when the segmenter gives none), with
feature weights learned from the references (:mod:`logicode.perception.prototypes`).
Position is not used to name: a misplaced part must keep its name.

:func:`containing_boxes` finds, for each of a set of masks, the box of the smallest other
mask that holds it: the frame in which relative positions are measured.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from logicode.perception.base import Reference, Region
from logicode.perception.features import (
    COLOR_FEATURES,
    SHAPE_FEATURES,
    SIZE_FEATURES,
    augmented_features,
    instance_features,
    vector,
)
from logicode.perception.prototypes import PrototypeModel
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)

LABEL_FEATURES: tuple[str, ...] = COLOR_FEATURES + SHAPE_FEATURES + SIZE_FEATURES
"""Features used to name a region (no position)."""

GEOMETRY_FEATURES: tuple[str, ...] = SHAPE_FEATURES + SIZE_FEATURES
"""Features used to name a region of a colour no reference shows (no colour, no position)."""

MAX_AUGMENTED = 12
"""Perturbed copies are made of at most this many reference instances per label (speed)."""

CONTAIN_FRACTION = 0.6
"""A mask is inside another when at least this fraction of its pixels lie in it."""


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def containing_boxes(
    masks: Sequence[np.ndarray],
    boxes: Sequence[tuple[int, int, int, int] | None] | None = None,
) -> list[tuple[int, int, int, int] | None]:
    """For each mask, the box of the smallest larger mask holding most of it (else None).

    Args:
        masks: ``HW bool`` masks of one image.
        boxes: Their ``(x0, y0, x1, y1)`` boxes if known (saves scanning the masks).
    """
    boxes = list(boxes) if boxes is not None else [_box(m) for m in masks]
    areas = [
        int(np.count_nonzero(m[b[1] : b[3], b[0] : b[2]])) if b is not None else 0
        for m, b in zip(masks, boxes, strict=True)
    ]
    out: list[tuple[int, int, int, int] | None] = []
    for i, bi in enumerate(boxes):
        best, best_area = None, None
        if bi is None or areas[i] == 0:
            out.append(None)
            continue
        for j, bj in enumerate(boxes):
            if j == i or bj is None or areas[j] <= areas[i]:
                continue
            x0, y0 = max(bi[0], bj[0]), max(bi[1], bj[1])
            x1, y1 = min(bi[2], bj[2]), min(bi[3], bj[3])
            if x1 <= x0 or y1 <= y0:
                continue
            inter = int(np.count_nonzero(masks[i][y0:y1, x0:x1] & masks[j][y0:y1, x0:x1]))
            if inter >= CONTAIN_FRACTION * areas[i] and (best_area is None or areas[j] < best_area):
                best, best_area = bj, areas[j]
        out.append(best)
    return out


class PrototypeLabeler:
    """Few-shot labeler: weighted nearest prototype on colour, shape and size.

    Args:
        reject_factor: Regions farther than this (in units of the references' spread) from
            every candidate label are dropped; None keeps every region. Applied only to
            regions without candidate labels (e.g. from SAM), where background regions must
            be rejected.
        augmentations: Perturbed copies of each reference component (relit, blurred,
            imperfect mask) that teach the weights which features are unreliable.
        seed: Random seed of the perturbations.
    """

    name = "prototype"

    def __init__(
        self, reject_factor: float | None = 1.5, augmentations: int = 4, seed: int = 0
    ) -> None:
        self.reject_factor = reject_factor
        self.augmentations = augmentations
        self.seed = seed
        self.model: PrototypeModel | None = None
        self.labels: list[str] = []
        self._models: dict[tuple[str, ...], PrototypeModel] = {}
        self._rows: np.ndarray | None = None
        self._row_labels: list[str] = []
        self.max_count: dict[str, int] = {}

    def fit(self, refs: Sequence[Reference], spec: CategorySpec) -> None:
        """Describe every reference component."""
        rng = np.random.default_rng(self.seed)
        rows, labels = [], []
        self.max_count = {}
        for ref in refs:
            for lab in set(ref.labels()):
                self.max_count[lab] = max(self.max_count.get(lab, 0), ref.labels().count(lab))
        for ref in refs:
            for mask, lab in zip(ref.masks(), ref.labels(), strict=True):
                if not mask.any():
                    continue
                rows.append(vector(instance_features(ref.image, mask), LABEL_FEATURES))
                labels.append(lab)
                if labels.count(lab) > MAX_AUGMENTED:
                    continue
                for f in augmented_features(ref.image, mask, None, rng, self.augmentations):
                    rows.append(vector(f, LABEL_FEATURES))
                    labels.append(lab)
        if not rows:
            raise ValueError("PrototypeLabeler.fit: the references have no components")
        self._rows = np.stack(rows)
        self._row_labels = labels
        self.labels = [lab for lab in spec.vocabulary if lab in set(labels)]
        self.model = PrototypeModel.fit(
            self._rows, labels, LABEL_FEATURES, reject_factor=self.reject_factor
        )
        self._models = {}

    def _model_for(
        self, candidates: tuple[str, ...], geometry_only: bool = False
    ) -> PrototypeModel | None:
        """A model fitted on the candidate labels only (weights that separate *them*)."""
        key = (*sorted(candidates), "#geometry" if geometry_only else "#all")
        if key not in self._models:
            if self._rows is None:
                return None
            keep = [i for i, lab in enumerate(self._row_labels) if lab in candidates]
            if not keep:
                return None
            names = GEOMETRY_FEATURES if geometry_only else LABEL_FEATURES
            cols = [LABEL_FEATURES.index(n) for n in names]
            self._models[key] = PrototypeModel.fit(
                self._rows[keep][:, cols],
                [self._row_labels[i] for i in keep],
                names,
            )
        return self._models[key]

    def _pairwise(
        self, feats: dict[str, float], model: PrototypeModel, geometry: bool
    ) -> tuple[str | None, float]:
        """Decide between the two nearest labels with weights that separate those two."""
        d = model.distances(vector(feats, model.features))
        a, b = sorted(d, key=d.__getitem__)[:2]
        pair = self._model_for((a, b), geometry)
        if pair is None:
            return a, 0.5
        best, conf, _ = pair.predict(vector(feats, pair.features))
        return best, conf

    def label(self, image: np.ndarray, regions: list[Region]) -> list[Region]:
        """Name each region; drop regions that fit no label (only without candidates)."""
        if self.model is None:
            raise RuntimeError("PrototypeLabeler: call fit() first")
        kept: list[Region] = []
        shared: dict[tuple[str, ...], list[tuple[Region, dict[str, float]]]] = {}
        for r in regions:
            cands = tuple(c for c in r.candidates if c in self.labels)
            if len(cands) == 1 and not r.meta.get("novel_colour"):
                r.label = cands[0]
                kept.append(r)
                continue
            feats = instance_features(image, r.mask, box=r.bbox())
            row = vector(feats, LABEL_FEATURES)
            if cands:
                geometry = bool(r.meta.get("novel_colour"))
                model = self._model_for(cands, geometry)
                if model is None:
                    continue
                best, conf, _ = model.predict(vector(feats, model.features))
                if len(cands) > 2 and best is not None:
                    best, conf = self._pairwise(feats, model, geometry)
                if best is not None and not geometry:
                    shared.setdefault(cands, []).append(
                        (r, model.distances(vector(feats, model.features)))
                    )
            else:
                best, conf, _ = self.model.predict(row)
            if best is None:
                logger.debug("region dropped: fits no label")
                continue
            r.label = best
            r.score = float(r.score * conf) if cands else float(conf)
            kept.append(r)
        for group in shared.values():
            self._rename_within_counts(group)
        return kept

    def _rename_within_counts(self, group: list[tuple[Region, dict[str, float]]]) -> None:
        """Rename regions of one candidate set so no label exceeds its reference count.

        Regions named independently can all take one name (a top label and a bottom label
        both called bottom label when the view changes their shapes). When a label is given
        to more regions than any reference image shows while another candidate is given to
        fewer, and the regions are no more than the references' counts allow, the names
        are reassigned together: the assignment of the least total prototype distance that
        gives each label at most its reference count. Position plays no part, so swapped
        parts keep their names.
        """
        names = [r.label for r, _ in group]
        labels = sorted({lab for _, d in group for lab in d})
        slots = [lab for lab in labels for _ in range(self.max_count.get(lab, 0))]
        over = any(names.count(lab) > self.max_count.get(lab, 0) for lab in set(names))
        if not over or len(group) > len(slots):
            return
        from scipy.optimize import linear_sum_assignment

        cost = np.array([[d.get(lab, np.inf) for lab in slots] for _, d in group], np.float64)
        cost[~np.isfinite(cost)] = 1e9
        rows, cols = linear_sum_assignment(cost)
        for i, j in zip(rows, cols, strict=True):
            r = group[i][0]
            if r.label != slots[j]:
                logger.debug("renamed a %s region %s (reference counts)", r.label, slots[j])
                r.label = slots[j]

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta``."""
        return {"name": self.name, "labels": list(self.labels)}
