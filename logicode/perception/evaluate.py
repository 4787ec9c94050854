"""Compare a perceived scene with a ground-truth scene: counts, instance IoU, labels, attributes.

Definitions (per image):

* **counts exact**: for every label of the vocabulary, the scene has as many components of
  that label as the ground truth.
* **instance IoU**: within each label, predicted and true components are paired by maximum
  total IoU (Hungarian); every true component scores the IoU of its partner (0 without
  one); the image's value is the mean over its true components.
* **label accuracy**: predicted and true components are paired regardless of label (IoU at
  least 0.5); the share of pairs whose labels agree.
* **attribute accuracy**: over same-label pairs, the share of true attribute values the
  prediction reproduces (numbers within 5% or 1 unit, whichever is larger).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from logicode import mask as rle
from logicode.scene import Component, Scene

MATCH_IOU = 0.5
"""IoU needed to pair components for label accuracy."""


def component_mask(c: Component, shape: tuple[int, int]) -> np.ndarray:
    """``HW bool`` mask of a component (its box when it has no mask)."""
    if c.mask is not None:
        return rle.decode(c.mask.model_dump())
    m = np.zeros(shape, bool)
    x0, y0, x1, y1 = (int(round(v)) for v in c.bbox)
    m[max(y0, 0) : y1, max(x0, 0) : x1] = True
    return m


def iou_matrix(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """IoU of every pair of masks ``a[i]``, ``b[j]`` (boxes first, for speed)."""
    out = np.zeros((len(a), len(b)))
    boxes_a = [rle.bbox_xyxy(m) for m in a]
    boxes_b = [rle.bbox_xyxy(m) for m in b]
    area_a = [int(np.count_nonzero(m)) for m in a]
    area_b = [int(np.count_nonzero(m)) for m in b]
    for i, (ma, ba) in enumerate(zip(a, boxes_a, strict=True)):
        for j, (mb, bb) in enumerate(zip(b, boxes_b, strict=True)):
            x0, y0 = int(max(ba[0], bb[0])), int(max(ba[1], bb[1]))
            x1, y1 = int(min(ba[2], bb[2])), int(min(ba[3], bb[3]))
            if x1 <= x0 or y1 <= y0:
                continue
            inter = int(np.count_nonzero(ma[y0:y1, x0:x1] & mb[y0:y1, x0:x1]))
            union = area_a[i] + area_b[j] - inter
            out[i, j] = inter / union if union else 0.0
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= max(1.0, 0.05 * abs(float(b)))
    return a == b


@dataclass
class ImageScore:
    """Scores of one image (see the module docstring)."""

    counts_exact: bool
    count_errors: dict[str, tuple[int, int]] = field(default_factory=dict)
    ious: list[float] = field(default_factory=list)
    iou_by_label: dict[str, list[float]] = field(default_factory=dict)
    label_pairs: int = 0
    label_correct: int = 0
    attr_total: int = 0
    attr_correct: int = 0
    attr_by_key: dict[str, list[bool]] = field(default_factory=dict)

    @property
    def mean_iou(self) -> float:
        """Mean IoU over the true components (1.0 for an image with none)."""
        return float(np.mean(self.ious)) if self.ious else 1.0


def score_scene(pred: Scene, truth: Scene, vocabulary: Iterable[str]) -> ImageScore:
    """Score a perceived scene against the ground truth of the same image."""
    vocab = list(vocabulary)
    shape = (truth.image.height, truth.image.width)
    pc, tc = pred.counts(), truth.counts()
    errors = {
        lab: (pc.get(lab, 0), tc.get(lab, 0)) for lab in vocab if pc.get(lab, 0) != tc.get(lab, 0)
    }
    pmasks = [component_mask(c, shape) for c in pred.components]
    tmasks = [component_mask(c, shape) for c in truth.components]
    score = ImageScore(counts_exact=not errors, count_errors=errors)
    for lab in vocab:
        ti = [i for i, c in enumerate(truth.components) if c.label == lab]
        pi = [i for i, c in enumerate(pred.components) if c.label == lab]
        if not ti:
            continue
        vals = [0.0] * len(ti)
        if pi:
            m = iou_matrix([tmasks[i] for i in ti], [pmasks[j] for j in pi])
            rows, cols = linear_sum_assignment(-m)
            for r, c in zip(rows, cols, strict=True):
                vals[r] = float(m[r, c])
                if m[r, c] > 0:
                    t, p = truth.components[ti[r]], pred.components[pi[c]]
                    for key, value in t.attributes.items():
                        if value is None:
                            continue
                        ok = _same(p.attributes.get(key), value)
                        score.attr_total += 1
                        score.attr_correct += int(ok)
                        score.attr_by_key.setdefault(f"{lab}.{key}", []).append(ok)
        score.ious.extend(vals)
        score.iou_by_label[lab] = vals
    if tmasks and pmasks:
        m = iou_matrix(tmasks, pmasks)
        rows, cols = linear_sum_assignment(-m)
        for r, c in zip(rows, cols, strict=True):
            if m[r, c] >= MATCH_IOU:
                score.label_pairs += 1
                score.label_correct += int(truth.components[r].label == pred.components[c].label)
    return score


def summarise(scores: Sequence[ImageScore]) -> dict[str, Any]:
    """Aggregate image scores: shares, means and per-label / per-attribute figures."""
    n = len(scores)
    if n == 0:
        return {"images": 0}
    pairs = sum(s.label_pairs for s in scores)
    attr_total = sum(s.attr_total for s in scores)
    by_label: dict[str, list[float]] = {}
    by_attr: dict[str, list[bool]] = {}
    errors: dict[str, int] = {}
    for s in scores:
        for lab, v in s.iou_by_label.items():
            by_label.setdefault(lab, []).extend(v)
        for k, v in s.attr_by_key.items():
            by_attr.setdefault(k, []).extend(v)
        for lab in s.count_errors:
            errors[lab] = errors.get(lab, 0) + 1
    all_ious = [v for s in scores for v in s.ious]
    return {
        "images": n,
        "counts_exact": sum(s.counts_exact for s in scores) / n,
        "instance_miou": float(np.mean(all_ious)) if all_ious else 1.0,
        "label_accuracy": (sum(s.label_correct for s in scores) / pairs) if pairs else None,
        "attribute_accuracy": (
            sum(s.attr_correct for s in scores) / attr_total if attr_total else None
        ),
        "iou_by_label": {k: round(float(np.mean(v)), 4) for k, v in sorted(by_label.items())},
        "attribute_accuracy_by_key": {
            k: round(float(np.mean(v)), 4) for k, v in sorted(by_attr.items())
        },
        "count_errors_by_label": dict(sorted(errors.items())),
    }
