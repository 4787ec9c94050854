"""Per-label attributes the category spec declares, learned from the references' values.

For every ``(label, attribute)`` of the spec, :class:`ReferenceAttributes` collects the
references' components of that label that carry the attribute, with their instance features
(colour, shape, size, and position in the box of the component that holds them):

* ``enum``, ``bool`` and ``string``: weighted nearest prototype on colour and shape features
  (:mod:`logicode.perception.prototypes`). A sample far from every prototype gets the
  enum's catch-all value when the spec has one the references never use (``unknown``,
  ``other``, ``none``), so an unseen variant is reported rather than forced into a known one.
  With ``imagenet_features=True`` (the ``vision`` extra) the features also include the
  first principal axes of the references' EfficientNet-Lite0 embeddings of the masked crop
  (:mod:`logicode.perception.imagenet`); the Fisher weights decide whether they count.
* ``number``: a line ``value = a * feature + b``, or a proportion ``value = a * feature``
  (steadier when the references' values vary little), on the one measured feature that
  predicts the references' values best (leave-one-out), among lengths (the centre-line
  length of a curved part included), area and relative position (for an attribute with
  ``unit: px``, a proportion on an extent: :data:`PX_FEATURES`);
  when every reference has the same value, ``value = v * feature / mean(feature)`` on the
  steadiest feature (an extent for ``unit: px``), except that a unitless integer value
  that every reference's mask shows as that many separate pieces (:data:`PARTS_FEATURE`)
  is that count: the references say "one" and their masks are in one piece, so a mask in
  two pieces reads two. Values are rounded when all reference values are integers.

A proportion on an extent is then calibrated to the outlines the segmenter draws
(:meth:`ReferenceAttributes.calibrate`): the references' annotated masks and the masks
the segmenter finds on the same reference images give the ratio of their extents, and
the slope is multiplied by it (perceived outlines run a few pixels outside the annotated
ones; a length measured on them would be read a few percent long). Blur moves outlines
too, so the ratio is also measured on blurred copies of the references and an image
gets the ratio of its own sharpness (:func:`~logicode.perception.features.sharpness`).

Attributes no reference carries are left out (an enum with a catch-all value gets it).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from logicode.perception.base import Reference, Region
from logicode.perception.evaluate import iou_matrix
from logicode.perception.features import (
    COLOR_FEATURES,
    LENGTH_FEATURES,
    POSITION_FEATURES,
    SHAPE_FEATURES,
    augmented_features,
    instance_features,
    part_count,
    path_length,
    sharpness,
    vector,
)
from logicode.perception.imagenet import Projection
from logicode.perception.label import MAX_AUGMENTED, containing_boxes
from logicode.perception.prototypes import PrototypeModel
from logicode.spec import AttributeSpec, CategorySpec

logger = logging.getLogger(__name__)

CATCH_ALL_VALUES: tuple[str, ...] = ("unknown", "other", "none")
"""Enum values that mean "none of the known ones" (a naming convention, not a product)."""

ENUM_FEATURES: tuple[str, ...] = COLOR_FEATURES + SHAPE_FEATURES
SIDES: tuple[str, ...] = ("left", "right", "top", "bottom")
CONTACT_FEATURES: tuple[str, ...] = tuple(
    f"{side}_touch_{k}" for side in SIDES for k in ("dx", "dy", "rel_x", "rel_y")
)
"""Where a part touches its neighbours: for the neighbour touched furthest to each side of
the part's centroid, the contact's offset from that neighbour's box corner (pixels and
fraction of the box). Absent when nothing touches on that side."""
PATH_FEATURE = "path_len"
"""Length along the centre line (:func:`path_length`), measured for labels with numbers."""
PARTS_FEATURE = "parts"
"""Number of separate pieces of the mask (:func:`part_count`), measured for labels with
numbers."""
PART_CLOSE = 0.001
"""Closing radius of :func:`part_count`, as a fraction of the image diagonal (at least one
pixel): gaps narrower than about twice this do not separate pieces."""
NUMBER_FEATURES: tuple[str, ...] = (
    *LENGTH_FEATURES,
    PATH_FEATURE,
    PARTS_FEATURE,
    "log_area",
    *POSITION_FEATURES,
    *CONTACT_FEATURES,
)
ENUM_REJECT = 1.0
"""Reject factor of enum prototypes (see :meth:`PrototypeModel.fit`)."""
IMAGENET_DIMS = 8
"""Principal axes of the references' EfficientNet-Lite0 embeddings an enum model may use
(``imagenet_features=True``; fewer with fewer references)."""
EMBEDDING_KEY = "_imagenet"
"""Key of a region's embedding in its feature dict during :meth:`~ReferenceAttributes.estimate`."""


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


CONTACT_GAP = 0.005
"""Parts closer than this fraction of the image diagonal touch."""


def contact_features(
    masks: Sequence[np.ndarray],
    boxes: Sequence[tuple[int, int, int, int] | None],
    i: int,
) -> dict[str, float]:
    """:data:`CONTACT_FEATURES` of mask ``i`` among the masks of one image.

    Neighbours are the other masks that come within :data:`CONTACT_GAP` of it, neither
    holding most of it nor held by it. For each side, the neighbour whose contact lies
    furthest that way from the mask's centroid gives the features.
    """
    bi = boxes[i]
    mi = masks[i]
    if bi is None:
        return {}
    h, w = mi.shape
    gap = max(3, int(round(CONTACT_GAP * math.hypot(h, w))))
    x0, y0 = max(bi[0] - gap, 0), max(bi[1] - gap, 0)
    x1, y1 = min(bi[2] + gap, w), min(bi[3] + gap, h)
    crop = np.ascontiguousarray(mi[y0:y1, x0:x1], dtype=np.uint8)
    area_i = int(np.count_nonzero(crop))
    if area_i == 0:
        return {}
    ys, xs = np.nonzero(crop)
    cx, cy = float(xs.mean()) + x0, float(ys.mean()) + y0
    grown = cv2.dilate(crop, np.ones((2 * gap + 1, 2 * gap + 1), np.uint8)).astype(bool)
    best: dict[str, tuple[float, dict[str, float]]] = {}
    for j, bj in enumerate(boxes):
        if j == i or bj is None:
            continue
        if bj[0] >= x1 or bj[2] <= x0 or bj[1] >= y1 or bj[3] <= y0:
            continue
        mj = masks[j][y0:y1, x0:x1]
        inter = int(np.count_nonzero(mj & (crop > 0)))
        if inter >= CONTAIN_SHARE * area_i:
            continue  # j holds i
        area_j = int(np.count_nonzero(masks[j][bj[1] : bj[3], bj[0] : bj[2]]))
        if area_j and inter >= CONTAIN_SHARE * area_j:
            continue  # i holds j
        ty, tx = np.nonzero(mj & grown)
        if ty.size == 0:
            continue
        px, py = float(tx.mean()) + x0, float(ty.mean()) + y0
        bw, bh = max(bj[2] - bj[0], 1), max(bj[3] - bj[1], 1)
        vals = {
            "dx": px - bj[0],
            "dy": py - bj[1],
            "rel_x": (px - bj[0]) / bw,
            "rel_y": (py - bj[1]) / bh,
        }
        for side, how_far in (
            ("left", cx - px),
            ("right", px - cx),
            ("top", cy - py),
            ("bottom", py - cy),
        ):
            if how_far > 0 and (side not in best or how_far > best[side][0]):
                best[side] = (how_far, vals)
    return {f"{side}_touch_{k}": v for side, (_, vals) in best.items() for k, v in vals.items()}


CONTAIN_SHARE = 0.5
"""A neighbour covering this share of a part's pixels holds it (it is no contact)."""


PX_SLOPES: tuple[float, float] = (0.5, 2.0)
"""Slopes a proportion for a ``unit: px`` attribute may have (see :func:`fit_number`)."""
PX_FEATURES: tuple[str, ...] = ("axis_len", "feret", PATH_FEATURE)
"""Extents: where a mask's outline lies, end to end, whichever way the part turns (the
candidates for a ``unit: px`` attribute). Moment lengths (``major_len``, ``minor_len``,
``sqrt_area``) also depend on how the pixels spread inside the outline, which a ring or a
part with a missing piece inside changes without changing its size; box sides change
when the part turns."""

CALIBRATE_IOU = 0.5
"""A perceived region and an annotated component of a reference pair up for
:meth:`ReferenceAttributes.calibrate` when their masks overlap by at least this IoU."""
CALIBRATE_MIN = 3
"""Pairs needed before a proportion is calibrated."""
CALIBRATE_RANGE: tuple[float, float] = (0.85, 1.15)
"""Calibration ratios outside this range are not applied (the segmenter then misses more
than an outline's offset: the pairs would say nothing about how it draws outlines)."""
CALIBRATE_BLURS: tuple[float, ...] = (0.0, 0.001, 0.002, 0.003)
"""Gaussian blurs (sigma, fraction of the image diagonal) of the reference copies the
calibration is measured on (0: the references as they are). Steps of 0.001 follow how
the ratio bends; the last is about the strongest blur perception is meant to cope with
(a heavier one makes the segmenter merge or lose parts of the references, and its ratio
then says little about a test image blurred less)."""

NAMED_TOLERANCE = 0.1
"""A feature named like the attribute wins when its error is this close (see
:func:`fit_number`)."""

MASK_JITTER: tuple[int, ...] = (-3, -1, 2)
"""Erosions (negative) and dilations (pixels) of reference masks used to see how much a
number feature moves when a mask's outline is a little off (as perceived masks are)."""


def jittered_masks(mask: np.ndarray) -> list[np.ndarray]:
    """Copies of a full-image mask eroded or dilated by :data:`MASK_JITTER` pixels."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return []
    cols = np.flatnonzero(mask.any(axis=0))
    pad = max(abs(r) for r in MASK_JITTER) + 1
    h, w = mask.shape
    y0, y1 = max(int(rows[0]) - pad, 0), min(int(rows[-1]) + pad + 1, h)
    x0, x1 = max(int(cols[0]) - pad, 0), min(int(cols[-1]) + pad + 1, w)
    crop = np.ascontiguousarray(mask[y0:y1, x0:x1], dtype=np.uint8)
    out = []
    for r in MASK_JITTER:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(r) + 1,) * 2)
        m = cv2.dilate(crop, k) if r > 0 else cv2.erode(crop, k)
        if m.any():
            full = np.zeros_like(mask, dtype=bool)
            full[y0:y1, x0:x1] = m.astype(bool)
            out.append(full)
    return out


def fit_number(
    rows: list[dict[str, float]],
    values: list[float],
    jittered: Sequence[tuple[dict[str, float], float]] = (),
    name: str = "",
    unit: str | None = None,
) -> NumberModel:
    """Choose and fit the feature that predicts ``values`` best (see module docstring).

    Args:
        rows: Features of the references' instances.
        values: Their values.
        jittered: ``(features, value)`` of the same instances with slightly eroded or
            dilated masks; a model's mean squared error on them is added to its
            leave-one-out error, so features that a slightly-off outline moves a lot
            (area, for a thin part) lose to steadier ones (lengths).
        name: The attribute's name: a feature named with one of its words (``right`` in
            ``right_clamp``) is preferred when its error is within twice the best or
            within (:data:`NAMED_TOLERANCE` x the values' spread) squared, which decides
            between features the references cannot tell apart (their left and right ends
            always agree).
        unit: The attribute's unit. A ``px`` attribute is a length in image pixels: it
            is measured, not guessed, so only proportions ``value = a * feature`` on an
            extent (:data:`PX_FEATURES`) with ``a`` in :data:`PX_SLOPES` compete when
            there is one. A line with an intercept may be shallow and predict about the
            references' mean whatever the part's size: it wins on the references when
            their values vary little (the jittered outlines move every true measurement)
            and then misses every part that is larger or smaller.
    """
    words = set(name.lower().split("_")) - {""}
    y = np.asarray(values, np.float64)
    integer = all(float(v).is_integer() for v in values)
    if np.ptp(y) == 0 and integer and unit is None and rows:
        if all(r.get(PARTS_FEATURE) == y[0] for r in rows):
            return NumberModel(PARTS_FEATURE, 1.0, 0.0, True)
    if np.ptp(y) == 0 or len(values) < 3:
        best, best_cv = NUMBER_FEATURES[0], math.inf
        usable = [f for f in NUMBER_FEATURES if all(f in r for r in rows)]
        if unit == "px" and any(f in PX_FEATURES for f in usable):
            usable = [f for f in usable if f in PX_FEATURES]
        for f in usable:
            if f in CONTACT_FEATURES or f == PARTS_FEATURE:
                # (a contact may be missing on an image: no value then; a count of
                # pieces is steady but no size: it is the value or nothing, see above)
                continue
            x = np.array([r[f] for r in rows])
            m = float(np.mean(x))
            if m <= 1e-9:
                continue
            cv = float(np.std(x)) / m
            if cv < best_cv:
                best, best_cv = f, cv
        mx = float(np.mean([r[best] for r in rows]))
        return NumberModel(best, float(np.mean(y)) / mx if mx else 0.0, 0.0, integer)
    best_model: NumberModel | None = None
    candidates: list[tuple[float, bool, NumberModel]] = []
    n = len(values)
    for f in NUMBER_FEATURES:
        if any(f not in r for r in rows):
            continue
        x = np.array([r[f] for r in rows])
        if np.ptp(x) <= 1e-9:
            continue
        jit = [(r[f], v) for r, v in jittered if f in r]
        named = bool(words & set(f.split("_")))
        for through_zero in (True, False):
            err = _loo_error(x, y, through_zero) / n
            a, b = _line(x, y, through_zero)
            if jit:
                err += float(np.mean([(a * xj + b - vj) ** 2 for xj, vj in jit]))
            if math.isfinite(err):
                candidates.append((err, named, NumberModel(f, a, b, integer)))
    if unit == "px":
        lo, hi = PX_SLOPES
        measured = [
            c
            for c in candidates
            if c[2].feature in PX_FEATURES and c[2].intercept == 0.0 and lo <= c[2].slope <= hi
        ]
        candidates = measured or candidates
    if candidates:
        best_err = min(c[0] for c in candidates)
        good_enough = max(2.0 * best_err, (NAMED_TOLERANCE * float(np.std(y))) ** 2)
        named_ok = [c for c in candidates if c[1] and c[0] <= good_enough]
        best_model = min(named_ok or candidates, key=lambda c: c[0])[2]
    if best_model is None:
        return NumberModel(NUMBER_FEATURES[0], 0.0, float(np.mean(y)), integer)
    return best_model


def _line(x: np.ndarray, y: np.ndarray, through_zero: bool) -> tuple[float, float]:
    """Least-squares ``(slope, intercept)``; with ``through_zero`` the intercept is 0."""
    if through_zero:
        den = float(np.dot(x, x))
        return (float(np.dot(x, y)) / den if den > 0 else 0.0), 0.0
    a, b = np.polyfit(x, y, 1)
    return float(a), float(b)


def _loo_error(x: np.ndarray, y: np.ndarray, through_zero: bool) -> float:
    """Leave-one-out squared error of :func:`_line` (inf when a fold is degenerate)."""
    err = 0.0
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        if not through_zero and np.ptp(x[keep]) <= 1e-9:
            return math.inf
        a, b = _line(x[keep], y[keep], through_zero)
        err += (a * x[i] + b - y[i]) ** 2
    return err


def _catch_all(spec: AttributeSpec, seen: set[str]) -> str | None:
    for v in spec.values or []:
        if v.lower() in CATCH_ALL_VALUES and v not in seen:
            return v
    return None


def region_features(
    image: np.ndarray,
    masks: Sequence[np.ndarray],
    boxes: Sequence[tuple[int, int, int, int] | None] | None = None,
    wanted: Sequence[bool] | None = None,
) -> list[dict[str, float]]:
    """Instance features of each mask, positions in the box of the mask that holds it.

    ``wanted`` (one flag per mask) skips the masks whose features nobody needs (their
    entry is empty); every mask still counts as a box that may hold another.
    """
    frames = containing_boxes(masks, boxes)
    boxes = boxes if boxes is not None else [None] * len(masks)
    wanted = wanted if wanted is not None else [True] * len(masks)
    return [
        instance_features(image, m, frame=f, box=b) if w and (b is not None or m.any()) else {}
        for m, f, b, w in zip(masks, frames, boxes, wanted, strict=True)
    ]


class ReferenceAttributes:
    """Attribute estimator learned from the references (see module docstring).

    Args:
        augmentations: Perturbed copies per reference sample (nuisance rows of enums).
        seed: Random seed of the perturbations.
        imagenet_features: Add EfficientNet-Lite0 features to the enum models (needs the
            ``vision`` extra; off by default).
        imagenet_dims: Principal axes of the embeddings kept per enum model.
    """

    name = "reference"

    def __init__(
        self,
        augmentations: int = 6,
        seed: int = 0,
        *,
        imagenet_features: bool = False,
        imagenet_dims: int = IMAGENET_DIMS,
    ) -> None:
        self.augmentations = augmentations
        self.seed = seed
        self.imagenet_features = imagenet_features
        self.imagenet_dims = imagenet_dims
        self.embedder: Any = None
        self.projections: dict[tuple[str, str], Any] = {}
        self.enum_features: dict[tuple[str, str], tuple[str, ...]] = {}
        self.enums: dict[tuple[str, str], tuple[PrototypeModel | None, str | None]] = {}
        self.numbers: dict[tuple[str, str], NumberModel] = {}
        self.fallback: dict[tuple[str, str], Any] = {}
        self.calibration: dict[tuple[str, str], list[tuple[float, float]]] = {}
        self._types: dict[tuple[str, str], str] = {}

    def fit(self, refs: Sequence[Reference], spec: CategorySpec) -> None:
        """Learn one model per ``(label, attribute)`` of the spec that references carry."""
        wanted = {(c.label, a.name): a for c in spec.components for a in c.attributes}
        samples: dict[tuple[str, str], list[tuple[dict[str, float], Any]]] = {k: [] for k in wanted}
        nuisance: dict[tuple[str, str], list[tuple[dict[str, float], Any]]] = {
            k: [] for k in wanted
        }
        rng = np.random.default_rng(self.seed)
        # embeddings of the enum samples and of their nuisance rows, when switched on
        emb_rng = np.random.default_rng([self.seed, 1])
        embeds: dict[tuple[str, str], list[np.ndarray]] = {k: [] for k in wanted}
        emb_nuisance: dict[tuple[str, str], list[np.ndarray]] = {k: [] for k in wanted}
        embedder = self._embedder() if self.imagenet_features else None
        for ref in refs:
            if not any(c.label == lab for c in ref.scene.components for lab, _ in wanted):
                continue
            masks = ref.masks()
            frames = containing_boxes(masks)
            ref_boxes = [box_of(m) for m in masks]
            plain: dict[int, dict[str, float]] = {}
            measured: dict[int, tuple[dict[str, float], list[dict[str, float]]]] = {}
            for ci, (comp, m, fr) in enumerate(
                zip(ref.scene.components, masks, frames, strict=True)
            ):
                for (lab, name), aspec in wanted.items():
                    value = comp.attributes.get(name)
                    if comp.label != lab or value is None or not m.any():
                        continue
                    if ci not in plain:
                        plain[ci] = instance_features(ref.image, m, fr)
                    feats = dict(plain[ci])
                    if aspec.type == "number":
                        if ci not in measured:
                            contact = contact_features(masks, ref_boxes, ci)
                            extra = {
                                **contact,
                                PATH_FEATURE: _path_of(m),
                                PARTS_FEATURE: _parts_of(m),
                            }
                            jit = []
                            for mj in jittered_masks(m):
                                fj = instance_features(ref.image, mj, fr)
                                jit.append(
                                    {
                                        **fj,
                                        **contact,
                                        PATH_FEATURE: _path_of(mj),
                                        PARTS_FEATURE: _parts_of(mj),
                                    }
                                )
                            measured[ci] = (extra, jit)
                        extra, jit = measured[ci]
                        feats.update(extra)
                        if isinstance(value, int | float) and not isinstance(value, bool):
                            nuisance[(lab, name)] += [(dict(fj), value) for fj in jit]
                    samples[(lab, name)].append((feats, value))
                    if embedder is not None and aspec.type != "number":
                        embeds[(lab, name)].append(embedder.embed(ref.image, [m])[0])
                    if aspec.type != "number" and len(samples[(lab, name)]) <= MAX_AUGMENTED:
                        aug = augmented_features(ref.image, m, fr, rng, self.augmentations)
                        for f in aug:
                            nuisance[(lab, name)].append((f, value))
                        if embedder is not None:
                            emb_nuisance[(lab, name)].extend(
                                embedder.embed_perturbed(ref.image, m, emb_rng, len(aug))
                            )
        self.enums, self.numbers, self.fallback = {}, {}, {}
        self.calibration = {}
        self.projections, self.enum_features = {}, {}
        for key, aspec in wanted.items():
            data = samples[key]
            if aspec.type == "number":
                data = [(f, v) for f, v in data if isinstance(v, int | float)]
                if data:
                    self.numbers[key] = fit_number(
                        [f for f, _ in data],
                        [v for _, v in data],
                        nuisance[key],
                        key[1],
                        aspec.unit,
                    )
                continue
            seen = {str(v) for _, v in data}
            catch = _catch_all(aspec, seen) if aspec.type == "enum" else None
            if not data:
                if catch is not None:
                    self.fallback[key] = catch
                continue
            everything = data + nuisance[key]
            names = ENUM_FEATURES
            if embeds[key] and len(data) >= 2:
                proj = Projection(np.stack(embeds[key]), self.imagenet_dims)
                self.projections[key] = proj
                names = ENUM_FEATURES + proj.names
                for (f, _), e in zip(everything, [*embeds[key], *emb_nuisance[key]], strict=True):
                    f.update(proj.features(e))
            self.enum_features[key] = names
            rows = np.stack([vector(f, names) for f, _ in everything])
            labels = [str(v) for _, v in everything]
            if len(seen) == 1 and catch is None:
                self.enums[key] = (None, labels[0])
                continue
            model = PrototypeModel.fit(
                rows,
                labels,
                names,
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

    def calibrate(
        self,
        refs: Sequence[Reference],
        perceive: Callable[[np.ndarray], list[Region]],
    ) -> None:
        """Rescale proportions on extents to the outlines the segmenter draws.

        For every number model ``value = a * extent`` (:data:`PX_FEATURES`), the
        references' annotated components of its label are paired with the regions of that
        label that ``perceive`` finds on the same images (IoU at least
        :data:`CALIBRATE_IOU`, best first); the median ratio of the annotated extent to
        the perceived one is the calibration. It is measured on the references as they
        are and on copies blurred by each of :data:`CALIBRATE_BLURS`, each with the
        copies' mean :func:`~logicode.perception.features.sharpness`; a level counts
        with at least :data:`CALIBRATE_MIN` pairs and a ratio in :data:`CALIBRATE_RANGE`.
        :meth:`estimate` multiplies ``a`` by the ratio at the image's sharpness
        (interpolated, the nearest level's beyond them). Nothing is perceived when no
        model is such a proportion.

        Args:
            refs: The references :meth:`fit` learned from.
            perceive: Labelled regions of an image (the segmenter and labeler fitted on
                the same references), before attributes.
        """
        self.calibration = {}
        keys = [
            k
            for k, m in self.numbers.items()
            if m.feature in PX_FEATURES and m.intercept == 0.0 and m.slope != 0.0
        ]
        if not keys:
            return
        labels = {lab for lab, _ in keys}
        used = [r for r in refs if any(c.label in labels for c in r.scene.components)]
        lo, hi = CALIBRATE_RANGE
        for blur in CALIBRATE_BLURS:
            ratios: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
            sharp = []
            for ref in used:
                image = ref.image
                if blur > 0:
                    sigma = blur * math.hypot(*image.shape[:2])
                    image = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)
                sharp.append(sharpness(image))
                regions = perceive(image)
                masks = ref.masks()
                for key in keys:
                    ratios[key] += _extent_ratios(ref, masks, image, regions, key, self.numbers)
            level = float(np.mean(sharp)) if sharp else 0.0
            for key, rs in ratios.items():
                ratio = float(np.median(rs)) if len(rs) >= CALIBRATE_MIN else math.nan
                if lo <= ratio <= hi:
                    self.calibration.setdefault(key, []).append((level, ratio))
                else:
                    logger.info("attributes: %s.%s calibration %s skipped", *key, ratio)
        for curve in self.calibration.values():
            curve.sort()
        logger.info(
            "attributes: calibrated %s",
            {
                f"{lab}.{n}": [(round(x, 3), round(r, 4)) for x, r in c]
                for (lab, n), c in self.calibration.items()
            },
        )

    def estimate(self, image: np.ndarray, regions: list[Region]) -> None:
        """Fill ``attributes`` of every labelled region in place."""
        keys = set(self.enums) | set(self.numbers) | set(self.fallback)
        if not keys:
            return
        with_keys = {lab for lab, _ in keys}
        feats = region_features(
            image,
            [r.mask for r in regions],
            [r.bbox() for r in regions],
            [r.label in with_keys for r in regions],
        )
        embedded = {lab for lab, _ in self.projections}
        if embedded:
            which = [i for i, r in enumerate(regions) if r.label in embedded and feats[i]]
            if which:
                rows = self._embedder().embed(image, [regions[i].mask for i in which])
                for i, e in zip(which, rows, strict=True):
                    feats[i][EMBEDDING_KEY] = e  # type: ignore[assignment]
        needs: dict[str, set[str]] = {}
        for (lab, _), num in self.numbers.items():
            needs.setdefault(lab, set()).add(num.feature)
        masks = [r.mask for r in regions]
        numbers = dict(self.numbers)
        if self.calibration:
            sharp = sharpness(image)
            for key, curve in self.calibration.items():
                ratio = float(np.interp(sharp, [x for x, _ in curve], [r for _, r in curve]))
                numbers[key] = dataclasses.replace(numbers[key], slope=numbers[key].slope * ratio)
        boxes: list[tuple[int, int, int, int] | None] = [
            r.bbox() if r.label is not None else None for r in regions
        ]
        for i, (r, f) in enumerate(zip(regions, feats, strict=True)):
            if r.label is None or not f:
                continue
            need = needs.get(r.label, set())
            if PATH_FEATURE in need:
                f[PATH_FEATURE] = _path_of(r.mask, r.bbox())
            if PARTS_FEATURE in need:
                f[PARTS_FEATURE] = _parts_of(r.mask, r.bbox())
            if need & set(CONTACT_FEATURES):
                f.update(contact_features(masks, boxes, i))
            for lab, name in sorted(keys):
                if lab != r.label:
                    continue
                key = (lab, name)
                if key in numbers:
                    num = numbers[key]
                    # a contact feature is absent when nothing touches on that side
                    r.attributes[name] = num.predict(f) if num.feature in f else None
                elif key in self.enums:
                    model, catch = self.enums[key]
                    if model is None:
                        r.attributes[name] = _typed(catch, self._types.get(key))
                        continue
                    fk = f
                    if key in self.projections:
                        fk = {**f, **self.projections[key].features(f[EMBEDDING_KEY])}
                    best, _, _ = model.predict(vector(fk, self.enum_features[key]))
                    value = best if best is not None else catch
                    r.attributes[name] = _typed(value, self._types.get(key))
                else:
                    r.attributes[name] = self.fallback[key]

    def _embedder(self) -> Any:
        """The (lazily built) ImageNet embedder; raises when the extra is missing."""
        if self.embedder is None:
            from logicode.perception.imagenet import ImagenetEmbedder

            self.embedder = ImagenetEmbedder()
        return self.embedder

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta``."""
        return {
            "name": self.name,
            **(
                {"imagenet": sorted(f"{lab}.{n}" for lab, n in self.projections)}
                if self.imagenet_features
                else {}
            ),
            "enums": sorted(f"{lab}.{n}" for lab, n in self.enums),
            "numbers": {f"{lab}.{n}": m.feature for (lab, n), m in self.numbers.items()},
            "calibration": {
                f"{lab}.{n}": [[round(x, 3), round(r, 4)] for x, r in c]
                for (lab, n), c in sorted(self.calibration.items())
            },
        }


def box_of(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The tight box ``(x0, y0, x1, y1)`` of a mask (exclusive ends), or None when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _path_of(mask: np.ndarray, box: Sequence[int] | None = None) -> float:
    """:func:`path_length` of a full-image mask, measured on its box."""
    if box is None:
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            return 0.0
        box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    x0, y0, x1, y1 = (int(v) for v in box)
    return path_length(mask[y0:y1, x0:x1])


def _extent_ratios(
    ref: Reference,
    masks: Sequence[np.ndarray],
    image: np.ndarray,
    regions: Sequence[Region],
    key: tuple[str, str],
    numbers: dict[tuple[str, str], NumberModel],
) -> list[float]:
    """Annotated over perceived extent of each IoU pair of one reference (see calibrate)."""
    lab, name = key
    feature = numbers[key].feature
    truth = [
        m
        for c, m in zip(ref.scene.components, masks, strict=True)
        if c.label == lab and c.attributes.get(name) is not None and m.any()
    ]
    found = [r.mask for r in regions if r.label == lab and r.mask.any()]
    if not truth or not found:
        return []
    out = []
    iou = iou_matrix(found, truth)
    while iou.size and iou.max() >= CALIBRATE_IOU:
        i, j = np.unravel_index(int(np.argmax(iou)), iou.shape)
        iou[i, :] = -1.0
        iou[:, j] = -1.0
        seen = _extent(image, found[i], feature)
        if seen > 0:
            out.append(_extent(ref.image, truth[j], feature) / seen)
    return out


def _extent(image: np.ndarray, mask: np.ndarray, feature: str) -> float:
    """One extent (:data:`PX_FEATURES`) of a full-image mask, measured as :meth:`estimate` does."""
    if feature == PATH_FEATURE:
        return _path_of(mask)
    return float(instance_features(image, mask, box=box_of(mask)).get(feature, 0.0))


def _parts_of(mask: np.ndarray, box: Sequence[int] | None = None) -> float:
    """:func:`part_count` of a full-image mask, measured on its box."""
    box = box if box is not None else box_of(mask)
    if box is None:
        return 0.0
    x0, y0, x1, y1 = (int(v) for v in box)
    close = max(1, int(round(PART_CLOSE * math.hypot(*mask.shape[:2]))))
    return float(part_count(mask[y0:y1, x0:x1], close_px=close))


def _typed(value: Any, kind: str | None) -> Any:
    if kind == "bool" and isinstance(value, str):
        return value.lower() in ("true", "yes", "1")
    return value
