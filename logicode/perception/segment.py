"""Classical segmenter: a per-pixel classifier learned from the references, then instances.

How it works (every number comes from the references, none from a product):

1. **Layers.** Components may nest (a label on a bottle, a pin in a compartment). For each
   reference, every pixel is given the label of the *smallest* component covering it (its
   "own" pixels); pixels outside every component are background. A label's *parent* is the
   smallest label whose masks cover most of its masks; *descendants* follow.
2. **Pixel classifier.** A small MLP (:mod:`logicode.perception.classifier`) learns the
   layer of each pixel from colour and texture features at several scales
   (:func:`logicode.perception.features.pixel_features`), at a working resolution chosen
   from the image size and the thinnest component. Training pixels come from the references
   and from randomly relit, blurred and noisy copies of them (robustness).
3. **Groups.** Labels that the classifier confuses with each other (held-out pixels) and
   that share a parent form one group; a group's regions are named later by the labeler.
4. **Instances.** For each group, the pixels of its labels and their descendants form a
   mask; its connected components are cleaned (specks dropped, fragments of one instance
   merged, holes filled where the references' masks have none, over-large non-convex blobs
   split by a distance-transform watershed) and kept when enough of their pixels are the
   group's own. Each becomes a :class:`~logicode.perception.base.Region` upsampled to the
   image's full resolution.
5. **Counts.** What the references show decides how a blob is counted: a label shown once
   per image as many loose pieces (a scattered amount) is one region of every piece the
   classifier is sure of; a straight strip one bar wide holds as many bars as its length
   (bars whose references have a shape along their length, a head, hold one long bar or
   two end to end as their width profiles say); bars across or against each other are
   split along their lines; a network of bars is cut at its junctions; regions of a label
   the references always show at the same places (walls of a grid) are dropped where no
   reference has one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from scipy import ndimage as ndi

from logicode.perception.base import Reference, Region
from logicode.perception.classifier import MLPClassifier
from logicode.perception.features import fine_texture, pixel_features, shape_measures
from logicode.perception.threads import single_blas_thread
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)

BACKGROUND = "__background__"

COLOUR_COLUMNS = slice(0, 3)
"""Columns of :func:`pixel_features` used as a pixel's colour (lightly smoothed Lab)."""


BAR_ASPECT = 0.35
"""Labels whose reference masks all have a minor / major axis ratio at most this are bars
(walls, screws): a network of them is cut at its junctions, and a piece thinner than the
bars is not one of them."""

CONVEX = 0.98
"""A compact label whose reference masks (holes filled) all have at least this solidity is
convex: its regions with a ragged outline (solidity under RAGGED) get their convex hull."""

RAGGED = 0.93
"""A region of a convex label less solid than this has a ragged outline (see CONVEX)."""

FINE_MAX_SCALE = 0.6
"""Texture finer than the working resolution is measured only at or below this scale."""

CORE_PROB = 0.9
"""Pixels whose group probability is at least this are *sure* (see ``_confident_parts``)."""

CORE_ONE = 1.4
"""A single sure piece of a convex label (see ``_confident_parts``) whose convex hull is at
most this times the largest reference area is one instance even when its shape is off."""

CORE_MIN = 0.1
"""A blob of a convex label that fits no instance (its hull when ragged) and whose sure
pixels cover less than this times the smallest reference area is no instance: a patch the
classifier hesitated on (a bright reflection next to a label of the same colour)."""

SCATTERED_PIECES = 5
"""A label shown once per image whose reference masks have at least this many connected
pieces (median) is a scattered amount (see :attr:`LabelStats.scattered`)."""

LAYOUT_SAME = 0.25
"""A label whose instances in every reference lie within this times the layout's spacing
of one in every other reference has a fixed layout (see :func:`fixed_layout`)."""

LAYOUT_FAR = 0.4
"""A region of a fixed-layout label farther than this times the spacing from every
reference position is no instance of it (see ``ClassicalSegmenter._off_layout``)."""

TRUNK_OPEN = 0.3
"""A blob of bars is opened by a disc of this times the narrowest bar's width to find its
trunk without thin rims (see :func:`bar_trunk`)."""

PROFILE_BINS = 24
"""Bins of a bar's width profile along its length (see :func:`width_profile`)."""

RIM_HULL = 1.25
"""A blob split into two pieces, neither of them a whole instance, whose convex hull is at
most this times the largest reference instance (holes filled) is one instance with the
rim of another part stuck to it."""

RING_MORE = 0.75
"""A blob of rings holds one instance more than its filled outline says when its own
pixels hold at least this share of one more instance (see ``_instances_in``)."""

PROFILE_SHAPED = 0.1
"""Bars whose reference width profiles differ from a uniform one by at least this (mean
absolute difference of widths relative to their mean) have a shape along their length
(a head) that tells one long bar from two short ones end to end."""

SLENDER = 0.12
"""Labels whose reference masks all have a minor / major axis ratio at most this are thin
strips (walls, cables): judged by length and width rather than area."""


@dataclass
class LabelStats:
    """What the references say about one label (areas and lengths in full-res pixels)."""

    label: str
    areas: list[float] = field(default_factory=list)
    ferets: list[float] = field(default_factory=list)
    minors: list[float] = field(default_factory=list)
    solidity: list[float] = field(default_factory=list)
    """Solidity of the mask with its holes filled (a ring counts as a disc)."""
    fill: list[float] = field(default_factory=list)
    own: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    aspects: list[float] = field(default_factory=list)
    """Minor / major axis length of each mask."""
    widths: list[float] = field(default_factory=list)
    """Minor axis length (second moments) of each mask."""
    hull_areas: list[float] = field(default_factory=list)
    """Area of each mask with its holes filled."""
    occluded: list[float] = field(default_factory=list)
    """Share of each mask's hole pixels covered by another component in front of it (one
    that does not hold the mask): 1 for a liquid seen around the labels stuck on its glass,
    0 for a ring's own hole (what shows through it holds the ring)."""
    pieces: list[int] = field(default_factory=list)
    """Connected pieces (8-connected) of each mask."""
    piece_areas: list[float] = field(default_factory=list)
    """Area of every connected piece of every mask."""
    profiles: list[np.ndarray] = field(default_factory=list)
    """Width profile (:func:`mask_profile`) of each bar-shaped mask (minor / major axis
    ratio at most :data:`BAR_ASPECT`): where a bar is wide or narrow along its length."""

    @property
    def scattered(self) -> bool:
        """True when the label is an amount of many loose things, shown once per image.

        Its reference masks are one region each (never two in an image) made of at least
        :data:`SCATTERED_PIECES` separate pieces in the median (all almonds of a mix
        together): an image shows it as a scatter of small pieces, however few.
        """
        return (
            bool(self.pieces)
            and max(self.counts, default=0) <= 1
            and float(np.median(self.pieces)) >= SCATTERED_PIECES
        )

    def median_piece(self) -> float:
        """Median area of one connected piece of the references' masks."""
        return float(np.median(self.piece_areas)) if self.piece_areas else 0.0

    @property
    def occludable(self) -> bool:
        """True when the references' masks have holes, mostly where other parts cover them.

        Without those parts in front, an instance is its holes-filled outline.
        """
        return not self.solid and bool(self.occluded) and float(np.median(self.occluded)) >= 0.8

    def max_area(self) -> float:
        """Largest reference area (holes filled for an occludable label)."""
        vals = self.hull_areas if self.occludable else self.areas
        return float(max(vals)) if vals else 0.0

    @property
    def solid(self) -> bool:
        """True when the references' masks have (almost) no holes."""
        return bool(self.fill) and float(np.median(self.fill)) >= 0.985

    def median_area(self) -> float:
        """Median instance area."""
        return float(np.median(self.areas)) if self.areas else 0.0


@dataclass
class SegmenterParams:
    """Tunable constants of :class:`ClassicalSegmenter` (defaults suit most products).

    Attributes:
        target_pixels: Working-resolution pixel budget (speed).
        max_pixels: Hard cap on working-resolution pixels.
        min_detail_px: The thinnest label should span at least this many working pixels.
        augmentations: Relit/blurred copies of each reference used for training pixels.
        samples_per_class: Training pixels per class per (augmented) reference.
        confusion_merge: Held-out confusion (the larger direction) above which two sibling
            labels form a group.
        prob_sigma: Smoothing of the class probability maps (working pixels).
        sigmas: Scales of the smoothed colour features (working pixels).
        close: Close small gaps in a group's mask before finding instances.
        confusion_join: Held-out confusion above which touching partial regions of two
            sibling labels may be joined (see ``_merge_siblings``).
        max_open: Largest radius (working pixels) of the opening that cuts thin strips off
            a group's mask (the radius is a tenth of the label's thinnest reference width).
        novelty: Find regions of colours no reference shows (e.g. a juice of a new colour)
            and offer them to the labeler as the surrounding part's children.
        novelty_min: Smallest colour distance (CIE Lab) that counts as new.
        novelty_factor: A colour is new beyond this factor times the 99.5th percentile
            distance of the references' own pixels to their nearest colour prototype.
        fine_texture: Add texture finer than the working resolution (measured on the
            full-resolution image, :func:`~logicode.perception.features.fine_texture`) to
            the pixel features: grainy paper and a smooth liquid of one colour differ. Off
            by default: it makes the classifier lean on detail that a blurred image loses
            (synthetic benchmarks under blur lost 10-20 points of exact counts).
        seed: Random seed (sampling, augmentation, classifier).
    """

    target_pixels: int = 120_000
    max_pixels: int = 400_000
    min_detail_px: float = 8.0
    augmentations: int = 3
    samples_per_class: int = 1500
    confusion_merge: float = 0.12
    prob_sigma: float = 1.0
    sigmas: tuple[float, ...] = (2.0, 5.0, 12.0)
    close: bool = False
    confusion_join: float = 0.04
    max_open: int = 3
    novelty: bool = True
    novelty_min: float = 14.0
    novelty_factor: float = 1.5
    fine_texture: bool = False
    seed: int = 0


def exclusive_layers(masks: Sequence[np.ndarray], class_of: Sequence[int]) -> np.ndarray:
    """Pixel -> class index of the smallest component covering it (0 = background).

    Args:
        masks: ``HW bool`` component masks.
        class_of: Class index (>= 1) of each component.

    Returns:
        ``HW int32`` map.
    """
    if not masks:
        raise ValueError("exclusive_layers: no masks")
    out = np.zeros(masks[0].shape, np.int32)
    areas = [int(np.count_nonzero(m)) for m in masks]
    for i in sorted(range(len(masks)), key=lambda k: -areas[k]):
        out[masks[i]] = class_of[i]
    return out


def _gain_field(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx /= max(w - 1, 1)
    yy /= max(h - 1, 1)
    ang = rng.uniform(0, 2 * math.pi)
    grad = (xx - 0.5) * math.cos(ang) + (yy - 0.5) * math.sin(ang)
    field_ = 1.0 + rng.uniform(-0.6, 0.6) * grad
    cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.15, 0.5)
    field_ += rng.uniform(-0.3, 0.4) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    vig = ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / 0.5
    field_ -= rng.uniform(0, 0.35) * vig
    field_ *= rng.uniform(0.8, 1.2)
    return np.clip(field_, 0.3, 1.8)


def augment(image: np.ndarray, rng: np.random.Generator, scale: float) -> np.ndarray:
    """A randomly relit, blurred and noisy copy of a working-resolution image."""
    h, w = image.shape[:2]
    img = image.astype(np.float32) * _gain_field(h, w, rng)[:, :, None]
    sigma = rng.uniform(0.0, 8.0) * scale
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
    img += rng.normal(0.0, rng.uniform(0.0, 4.0), img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


NOISE_FIRST = 0.15
"""Share of full-resolution training copies blurred after their sensor noise (no fine
texture left at all, as in an image blurred once saved) rather than before it."""


def augment_full(
    image: np.ndarray, rng: np.random.Generator, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A randomly relit, blurred and noisy full-resolution copy and its working-size version.

    ``size`` is ``(width, height)``. The same changes as :func:`augment`, made at full
    resolution (so texture finer than the working resolution is blurred or drowned in
    sensor noise as a camera would), plus noise at working resolution as :func:`augment`
    adds.
    """
    h, w = image.shape[:2]
    gain = cv2.resize(_gain_field(size[1], size[0], rng), (w, h), interpolation=cv2.INTER_LINEAR)
    img = image.astype(np.float32) * gain[:, :, None]
    sigma = rng.uniform(0.0, 8.0)
    noise = rng.normal(0.0, rng.uniform(0.0, 4.0), img.shape).astype(np.float32)
    noise_first = rng.uniform() < NOISE_FIRST  # a saved image blurred afterwards
    if noise_first:
        img += noise
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
    if not noise_first:
        img += noise
    full = np.clip(img, 0, 255).astype(np.uint8)
    small = _resize(full, size).astype(np.float32)
    small += rng.normal(0.0, rng.uniform(0.0, 4.0), small.shape).astype(np.float32)
    return full, np.clip(small, 0, 255).astype(np.uint8)


def _resize(image: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(image, size, interpolation=interp)


def upsample_mask(small: np.ndarray, full_shape: tuple[int, int]) -> np.ndarray:
    """Upsample a working-resolution ``HW bool`` mask to ``full_shape`` with smooth edges.

    Pixel centres are aligned exactly; only the mask's box (plus a margin) is resampled.
    """
    return upsample_with_box(small, full_shape)[0]


def upsample_with_box(
    small: np.ndarray, full_shape: tuple[int, int]
) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """:func:`upsample_mask` plus the ``(x0, y0, x1, y1)`` box of the result (None if empty)."""
    fh, fw = full_shape
    sh, sw = small.shape
    fx, fy = fw / sw, fh / sh
    out = np.zeros(full_shape, bool)
    rows = np.flatnonzero(small.any(axis=1))
    if rows.size == 0:
        return out, None
    cols = np.flatnonzero(small.any(axis=0))
    x0, x1 = max(int(cols[0]) - 2, 0), min(int(cols[-1]) + 3, sw)
    y0, y1 = max(int(rows[0]) - 2, 0), min(int(rows[-1]) + 3, sh)
    X0, X1 = int(math.floor(x0 * fx)), min(int(math.ceil(x1 * fx)), fw)
    Y0, Y1 = int(math.floor(y0 * fy)), min(int(math.ceil(y1 * fy)), fh)
    crop = small[y0:y1, x0:x1].astype(np.float32)
    m = np.array(
        [
            [1.0 / fx, 0.0, (X0 + 0.5) / fx - 0.5 - x0],
            [0.0, 1.0 / fy, (Y0 + 0.5) / fy - 0.5 - y0],
        ],
        np.float64,
    )
    up = cv2.warpAffine(
        crop,
        m,
        (X1 - X0, Y1 - Y0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    crop_out = up >= 0.5
    out[Y0:Y1, X0:X1] = crop_out
    r = np.flatnonzero(crop_out.any(axis=1))
    if r.size == 0:  # a one-pixel region can vanish at the 0.5 threshold
        cy = min(int((rows[0] + 0.5) * fy), fh - 1)
        cx = min(int((cols[0] + 0.5) * fx), fw - 1)
        out[cy, cx] = True
        return out, (cx, cy, cx + 1, cy + 1)
    c = np.flatnonzero(crop_out.any(axis=0))
    return out, (X0 + int(c[0]), Y0 + int(r[0]), X0 + int(c[-1]) + 1, Y0 + int(r[-1]) + 1)


class ClassicalSegmenter:
    """Reference-trained pixel classification followed by instance extraction (no weights).

    Args:
        params: Tunable constants (:class:`SegmenterParams`).
    """

    name = "classical"

    def __init__(self, params: SegmenterParams | None = None) -> None:
        self.params = params or SegmenterParams()
        self.classes: list[str] = []
        self.stats: dict[str, LabelStats] = {}
        self.parent: dict[str, str | None] = {}
        self.enclosed: dict[str, bool] = {}
        self.groups: list[tuple[str, ...]] = []
        self.scale: float = 1.0
        self.clf: MLPClassifier | None = None
        self.confusion: np.ndarray | None = None
        self.colours: np.ndarray = np.zeros((0, 3), np.float32)
        self._colour_lut: np.ndarray | None = None
        self.novelty_threshold: float = math.inf
        self.layout: dict[str, tuple[np.ndarray, float]] = {}

    # --- fitting ------------------------------------------------------------------------

    def descendants(self, label: str) -> set[str]:
        """Labels nested (transitively) inside ``label``."""
        out: set[str] = set()
        frontier = [label]
        while frontier:
            cur = frontier.pop()
            for child, par in self.parent.items():
                if par == cur and child not in out:
                    out.add(child)
                    frontier.append(child)
        return out

    def depth(self, label: str) -> int:
        """Nesting depth of a label (0 = top level)."""
        d, cur = 0, self.parent.get(label)
        while cur is not None and d < 50:
            d, cur = d + 1, self.parent.get(cur)
        return d

    def fit(self, refs: Sequence[Reference], spec: CategorySpec) -> None:
        """Learn layers, hierarchy, working scale, pixel classifier and groups."""
        if not refs:
            raise ValueError("ClassicalSegmenter.fit: no references")
        present = {lab for r in refs for lab in r.labels()}
        labels = [lab for lab in spec.vocabulary if lab in present]
        self.classes = [BACKGROUND, *labels]
        index = {lab: i for i, lab in enumerate(self.classes)}
        layers = self._analyse(refs, labels, index)
        self._choose_scale(refs)
        x, y = self._training_pixels(refs, layers)
        rng = np.random.default_rng(self.params.seed)
        order = rng.permutation(len(y))
        n_val = max(len(y) // 6, 1)
        val, train = order[:n_val], order[n_val:]
        counts = np.bincount(y[train], minlength=len(self.classes)).astype(np.float64)
        w = 1.0 / np.sqrt(np.maximum(counts, 1.0))
        clf = MLPClassifier(seed=self.params.seed)
        clf.fit(x[train], y[train], len(self.classes), sample_weight=w[y[train]])
        pred = clf.predict_proba(x[val]).argmax(axis=1)
        conf = np.zeros((len(self.classes), len(self.classes)))
        np.add.at(conf, (y[val], pred), 1.0)
        conf /= np.maximum(conf.sum(axis=1, keepdims=True), 1.0)
        self.confusion = conf
        # Final classifier on all pixels.
        counts = np.bincount(y, minlength=len(self.classes)).astype(np.float64)
        w = 1.0 / np.sqrt(np.maximum(counts, 1.0))
        self.clf = MLPClassifier(seed=self.params.seed).fit(x, y, len(self.classes), w[y])
        self._fit_colours(x, y)
        self._make_groups(labels, index)
        self.layout = fixed_layout(refs, labels, self.parent)
        logger.info(
            "segmenter: scale %.3f, classes %s, parents %s, groups %s, pixel accuracy %.3f",
            self.scale,
            self.classes,
            self.parent,
            self.groups,
            float(np.mean(np.diag(conf)[1:])) if len(labels) else 0.0,
        )

    def _fit_colours(self, x: np.ndarray, y: np.ndarray) -> None:
        """Colour prototypes of every class (k-means in Lab) and the novelty threshold."""
        lab = np.ascontiguousarray(x[:, COLOUR_COLUMNS], dtype=np.float32)
        centres = []
        cv2.setRNGSeed(self.params.seed)
        for c in range(len(self.classes)):
            pts = lab[y == c]
            if len(pts) == 0:
                continue
            k = int(min(16, max(1, len(pts) // 50)))
            if k == 1:
                centres.append(pts.mean(axis=0, keepdims=True))
                continue
            crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
            _, _, ctr = cv2.kmeans(pts, k, None, crit, 1, cv2.KMEANS_PP_CENTERS)
            centres.append(ctr)
        self.colours = np.concatenate(centres).astype(np.float32)
        self._colour_lut = _distance_lut(self.colours)
        d = _nearest_distance(lab, self.colours)
        p = self.params
        self.novelty_threshold = max(
            p.novelty_min, p.novelty_factor * float(np.percentile(d, 99.5))
        )

    def _analyse(
        self, refs: Sequence[Reference], labels: list[str], index: dict[str, int]
    ) -> list[np.ndarray]:
        self.stats = {lab: LabelStats(lab) for lab in labels}
        cover: dict[tuple[str, str], list[float]] = {}
        layers = []
        for ref in refs:
            masks = ref.masks()
            labs = ref.labels()
            if not masks:
                layers.append(np.zeros(ref.shape, np.int32))
                for st in self.stats.values():
                    st.counts.append(0)
                continue
            layer = exclusive_layers(masks, [index[lab] for lab in labs])
            layers.append(layer)
            unions = {lab: np.zeros(ref.shape, bool) for lab in labels}
            for m, lab in zip(masks, labs, strict=True):
                unions[lab] |= m
            for lab in labels:
                self.stats[lab].counts.append(labs.count(lab))
            for m, lab in zip(masks, labs, strict=True):
                area = float(np.count_nonzero(m))
                if area == 0:
                    continue
                ys, xs = np.nonzero(m)
                sm = shape_measures(m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
                st = self.stats[lab]
                st.areas.append(area)
                st.ferets.append(sm["feret"])
                st.minors.append(min(sm["minor_len"], sm["bbox_w"], sm["bbox_h"]))
                st.solidity.append(sm["solidity"] / max(sm["fill"], 1e-6))
                st.fill.append(sm["fill"])
                st.aspects.append(sm["aspect"])
                st.hull_areas.append(area / max(sm["fill"], 1e-6))
                st.widths.append(sm["minor_len"])
                if sm["aspect"] <= BAR_ASPECT:
                    st.profiles.append(
                        mask_profile(m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
                    )
                st.own.append(float(np.count_nonzero(layer[m] == index[lab])) / area)
                st.occluded.append(_occluded_share(m, masks))
                n_cc, _, cc_stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), 8)
                st.pieces.append(n_cc - 1)
                st.piece_areas.extend(float(a) for a in cc_stats[1:, cv2.CC_STAT_AREA])
                for other in labels:
                    if other != lab:
                        c = float(np.count_nonzero(unions[other][m])) / area
                        cover.setdefault((lab, other), []).append(c)
        self.parent = {}
        for lab in labels:
            best, best_area = None, math.inf
            for other in labels:
                if other == lab:
                    continue
                vals = cover.get((lab, other), [])
                a_other = self.stats[other].median_area()
                if vals and float(np.mean(vals)) >= 0.6 and a_other > self.stats[lab].median_area():
                    if a_other < best_area:
                        best, best_area = other, a_other
            self.parent[lab] = best
        self.enclosed = {
            lab: par is not None and min(cover.get((lab, par), [0.0])) >= 0.9
            for lab, par in self.parent.items()
        }
        return layers

    def _choose_scale(self, refs: Sequence[Reference]) -> None:
        h, w = refs[0].shape
        p = self.params
        s_area = math.sqrt(p.target_pixels / float(h * w))
        minors = [float(np.percentile(st.minors, 10)) for st in self.stats.values() if st.minors]
        s_detail = p.min_detail_px / min(minors) if minors else s_area
        s_cap = math.sqrt(p.max_pixels / float(h * w))
        self.scale = float(min(1.0, s_cap, max(s_area, s_detail)))

    @property
    def uses_fine_texture(self) -> bool:
        """True when the pixel features include :func:`fine_texture`.

        That is when asked for and the working resolution is at most
        :data:`FINE_MAX_SCALE` of the image's (otherwise the working-resolution texture
        features already see the finest detail).
        """
        return self.params.fine_texture and self.scale <= FINE_MAX_SCALE

    def work_size(self, shape: tuple[int, int]) -> tuple[int, int]:
        """``(width, height)`` of the working resolution for an image of ``(h, w)``."""
        h, w = shape
        return max(int(round(w * self.scale)), 8), max(int(round(h * self.scale)), 8)

    def _training_pixels(
        self, refs: Sequence[Reference], layers: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        rng = np.random.default_rng(p.seed)
        xs, ys = [], []
        for ref, layer in zip(refs, layers, strict=True):
            size = self.work_size(ref.shape)
            small = _resize(ref.image, size)
            lay = _resize(layer.astype(np.int32), size, nearest=True)
            grad = cv2.morphologyEx(
                lay.astype(np.float32), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)
            )
            inner = grad == 0
            for a in range(p.augmentations + 1):
                fine = None
                if self.uses_fine_texture:
                    big, img = (ref.image, small) if a == 0 else augment_full(ref.image, rng, size)
                    fine = fine_texture(big, size)
                else:
                    img = small if a == 0 else augment(small, rng, self.scale)
                feats = pixel_features(img, p.sigmas, fine)
                for c in range(len(self.classes)):
                    cls = lay == c
                    n_cls = int(np.count_nonzero(cls))
                    if n_cls == 0:
                        continue
                    core = cls & inner
                    pool = core if np.count_nonzero(core) >= 0.3 * n_cls else cls
                    idx = np.flatnonzero(pool.ravel())
                    if idx.size > p.samples_per_class:
                        idx = rng.choice(idx, p.samples_per_class, replace=False)
                    xs.append(feats.reshape(-1, feats.shape[2])[idx])
                    ys.append(np.full(idx.size, c, np.int64))
        return np.concatenate(xs), np.concatenate(ys)

    def _make_groups(self, labels: list[str], index: dict[str, int]) -> None:
        conf = self.confusion
        pos = {lab: i for i, lab in enumerate(labels)}
        root = list(range(len(labels)))

        def find(i: int) -> int:
            while root[i] != i:
                root[i] = root[root[i]]
                i = root[i]
            return i

        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                if self.parent.get(a) != self.parent.get(b):
                    continue
                ca, cb = index[a], index[b]
                mix = max(conf[ca, cb], conf[cb, ca]) if conf is not None else 0.0
                if mix >= self.params.confusion_merge:
                    root[find(pos[a])] = find(pos[b])
        groups: dict[int, list[str]] = {}
        for lab in labels:
            groups.setdefault(find(pos[lab]), []).append(lab)
        self.groups = sorted(
            (tuple(g) for g in groups.values()), key=lambda g: min(self.depth(x) for x in g)
        )

    # --- inference ----------------------------------------------------------------------

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """Smoothed class probabilities at working resolution, ``h x w x classes``."""
        return self._predict(image)[0]

    def _predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities and colour-novelty distance at working resolution."""
        if self.clf is None:
            raise RuntimeError("ClassicalSegmenter: call fit() first")
        size = self.work_size(image.shape[:2])
        small = _resize(image, size)
        fine = fine_texture(image, size) if self.uses_fine_texture else None
        feats = pixel_features(small, self.params.sigmas, fine)
        h, w, f = feats.shape
        flat = feats.reshape(-1, f)
        prob = self.clf.predict_proba(flat).reshape(h, w, -1)
        colour = np.ascontiguousarray(flat[:, COLOUR_COLUMNS])
        if self._colour_lut is not None:
            novelty = _lookup_distance(colour, self._colour_lut).reshape(h, w)
        else:
            novelty = _nearest_distance(colour, self.colours).reshape(h, w)
        if self.params.prob_sigma > 0:
            s = self.params.prob_sigma
            chans = [
                cv2.GaussianBlur(prob[:, :, i : i + 4], (0, 0), sigmaX=s, sigmaY=s)
                for i in range(0, prob.shape[2], 4)
            ]
            prob = np.concatenate(
                [c if c.ndim == 3 else c[:, :, None] for c in chans], axis=2
            ).astype(np.float32)
        return prob, novelty

    def segment(self, image: np.ndarray) -> list[Region]:
        """Candidate regions of an ``HWC uint8`` RGB image (full-resolution masks)."""
        prob, novelty = self._predict(image)
        pred = prob.argmax(axis=2)
        full = image.shape[:2]
        found: list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]] = []
        novel: list[tuple[Blob, tuple[str, ...]]] = []
        orphans: list[Blob] = []
        if self.params.novelty and math.isfinite(self.novelty_threshold):
            novel = self._novel_regions(pred, novelty, orphans)
        for group in self.groups:
            for blob, score, note in self._group_regions(group, pred, prob):
                found.append((blob, group, score, note))
        novel += self._inside_regions(orphans, found)
        for blob, cands in novel:
            found = self._absorb(found, blob, cands)
        found = self._merge_siblings(found)
        found = self._inside_parents(found, pred)
        found = self._off_layout(found)
        regions: list[Region] = []
        for blob, cands, score, note in found:
            mask, box = upsample_with_box(blob.full(pred.shape), full)
            regions.append(Region(mask=mask, candidates=cands, score=score, meta=note, _box=box))
        return regions

    def _inside_parents(
        self,
        found: list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]],
        pred: np.ndarray,
    ) -> list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]]:
        """Drop regions of enclosed labels found outside every parent region.

        A label the references always show inside its parent is dropped when some parent
        region exists but less than half of the region lies in the convex hull of a parent
        region's own pixels (e.g. a patch
        of icon-like colour on the bottle, outside any label); its pixels leave the parent
        label's regions too (they keep belonging to the labels further up). When no parent
        region exists at all, only regions that look like a whole reference instance
        (:meth:`_complete`) are kept.
        """
        idx = {lab: i for i, lab in enumerate(self.classes)}
        hulls: dict[str, list[Blob]] = {}
        for blob, group, _, _ in found:
            own = np.isin(pred[blob.slices()], [idx[g] for g in group]) & blob.mask
            pts = cv2.findNonZero(own.astype(np.uint8))
            if pts is None or len(pts) < 3:
                continue
            hull = np.zeros(own.shape, np.uint8)
            cv2.fillConvexPoly(hull, cv2.convexHull(pts), 1)
            for g in group:
                hulls.setdefault(g, []).append(Blob(blob.x0, blob.y0, hull.astype(bool)))
        keep = []
        dropped: list[tuple[Blob, tuple[str, ...]]] = []
        for item in found:
            blob, group, _, note = item
            parents = {self.parent.get(g) for g in group}
            if (
                note.get("novel_colour")
                or not all(self.enclosed.get(g, False) for g in group)
                or None in parents
            ):
                keep.append(item)
                continue
            if not any(hulls.get(par or "") for par in parents):
                # no parent region at all: only a region that looks whole is kept (a
                # scrap of icon colour on a bottle without its label is no icon)
                if self._complete(blob, group):
                    keep.append(item)
                else:
                    logger.debug("dropped a partial %s region with no parent region", group)
                continue
            inside = 0
            for par in parents:
                for h in hulls.get(par or "", []):
                    inside = max(inside, _overlap(blob, h))
            if inside >= 0.5 * blob.area:
                keep.append(item)
            else:
                logger.debug("dropped a %s region outside every %s", group, parents)
                dropped.append((blob, group))
        for blob, group in dropped:
            above = {p for g in group if (p := self.parent.get(g)) is not None}
            for k, (other, og, score, note) in enumerate(keep):
                if above & set(og) and _overlap(blob, other):
                    keep[k] = (other.minus(blob), og, score, note)
        return [k for k in keep if k[0].area > 0]

    def _off_layout(
        self, found: list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]]
    ) -> list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]]:
        """Drop regions of a fixed-layout label that lie where no reference has one.

        For a label of :func:`fixed_layout` (walls of a grid), a region the size of one
        reference instance (0.5-1.5 x their areas; a larger one, e.g. two cells joined,
        is not judged) whose centroid, taken relative to the box of the one region of its
        parent, is farther than :data:`LAYOUT_FAR` x the layout's spacing from every
        reference position is no instance (an edge of the parent taken for one).
        """
        layout = getattr(self, "layout", {})
        if not layout:
            return found
        s2 = self.scale * self.scale
        out = []
        frames: dict[str, tuple[int, int, int, int] | None] = {}
        for item in found:
            blob, group, _, _ = item
            lab = group[0] if len(group) == 1 else None
            par = self.parent.get(lab or "")
            if lab not in layout or par is None:
                out.append(item)
                continue
            if par not in frames:
                parents = [b for b, g, _, _ in found if par in g]
                frames[par] = _mask_box(parents[0]) if len(parents) == 1 else None
            frame = frames[par]
            st = self.stats[lab]
            if frame is None or not (
                0.5 * min(st.areas) * s2 <= blob.area <= 1.5 * max(st.areas) * s2
            ):
                out.append(item)
                continue
            x0, y0, x1, y1 = frame
            ys, xs = np.nonzero(blob.mask)
            pos = np.array(
                [
                    (blob.x0 + xs.mean() + 0.5 - x0) / max(x1 - x0, 1),
                    (blob.y0 + ys.mean() + 0.5 - y0) / max(y1 - y0, 1),
                ]
            )
            points, spacing = layout[lab]
            if float(np.linalg.norm(points - pos, axis=1).min()) > LAYOUT_FAR * spacing:
                logger.debug("dropped a %s region where no reference has one", lab)
                continue
            out.append(item)
        return out

    def _merge_siblings(
        self, found: list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]]
    ) -> list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]]:
        """Join touching regions of sibling labels that are pieces of one part.

        When the classifier splits one part between sibling labels it confuses (half a
        washer taken for a nut, a label in an unusual context), the pieces touch, at most
        one of them looks like a whole reference instance of its labels, and their union
        looks like one reference instance of one of the labels (:meth:`_fits`). Such
        pairs are joined, the smallest union first, until none is left. The union keeps
        the labels it fits as candidates; the labeler decides.
        """
        changed = True
        while changed:
            changed = False
            best: tuple[int, int, int, Blob, tuple[str, ...]] | None = None
            complete = [self._complete(b, g) for b, g, _, _ in found]
            for i in range(len(found)):
                for j in range(i + 1, len(found)):
                    bi, gi, _, _ = found[i]
                    bj, gj, _, _ = found[j]
                    if complete[i] and complete[j]:
                        continue
                    if set(gi) == set(gj):
                        continue  # same labels: merge_fragments handles fragments
                    pi = {self.parent.get(g) for g in gi}
                    if not pi & {self.parent.get(g) for g in gj}:
                        continue
                    if set(gi) != set(gj) and not self._confusable(gi, gj):
                        continue
                    area = bi.area + bj.area
                    if best is not None and area >= best[0]:
                        continue
                    if not _touch(bi, bj):
                        continue
                    union = bi.union(bj)
                    fits = tuple(g for g in dict.fromkeys((*gi, *gj)) if self._fits(union, g))
                    if fits:
                        best = (area, i, j, union, fits)
            if best is not None:
                _, i, j, union, fits = best
                (_, _, si, ni), (_, _, sj, nj) = found[i], found[j]
                merged = (union, fits, max(si, sj), {**nj, **ni, "merged": True})
                found = [f for k, f in enumerate(found) if k not in (i, j)] + [merged]
                changed = True
        return found

    def _instances_in(self, blob: Blob, group: tuple[str, ...]) -> int:
        """How many instances of the group's labels a blob holds (1 unless clearly more).

        A blob that looks like one reference instance of a label of the group
        (:meth:`_fits`) is one. Otherwise the count is its area over the references'
        median area (both with holes filled when the labels have holes), rounded
        (touching or overlapping parts hide little of their outline), for rings at
        least their own pixels over the references' median area plus 1 -
        :data:`RING_MORE`, rounded down (a neighbour that breaks a ring's hole open
        leaves it unfilled), and at least 2
        when the blob is larger than any reference instance: filled area over 1.3 x,
        area over 1.3 x or Feret diameter over 1.2 x the references' largest. A blob of
        bars (all labels' reference masks at most :data:`BAR_ASPECT`) whose minor axis is
        at most 1.25 x their widest (one straight strip: none beside or across another)
        holds its Feret diameter over the references' median one, rounded: a longer bar
        is one. The same holds for its trunk
        (:func:`bar_trunk`: the blob opened by a disc of :data:`TRUNK_OPEN` x the
        narrowest bar's width) when that is one such strip and all the opening took off
        is thinner than a bar and smaller than one: the rim of a ring next to the bar
        that the classifier took for bar (a nut's outer edge).
        """
        sts = [self.stats[g] for g in group if self.stats[g].hull_areas]
        if not sts or any(self._fits(blob, g) for g in group):
            return 1
        s2 = self.scale * self.scale
        rings = not all(st.solid for st in sts)
        filled = float(np.count_nonzero(ndi.binary_fill_holes(blob.mask) if rings else blob.mask))
        hulls = [a * s2 for st in sts for a in (st.hull_areas if rings else st.areas)]
        bars = all(st.aspects and max(st.aspects) <= BAR_ASPECT for st in sts)
        widest = max(w for st in sts for w in st.widths) * self.scale
        sm = shape_measures(blob.mask)
        feret = sm["feret"]
        ferets = [f * self.scale for st in sts for f in st.ferets]
        if bars and sm["minor_len"] <= 1.25 * widest:
            # one straight strip one bar wide (none beside or across another): as many
            # bars as its length holds, whatever the area (a longer bar has the area of
            # two short ones), unless its shape along its length is one bar's
            k = max(1, int(round(feret / float(np.median(ferets)))))
            if k == 2 and _shaped(sts) and self._end_to_end(blob.mask, sts) is None:
                return 1
            return k
        if bars:
            narrowest = min(w for st in sts for w in st.widths) * self.scale
            min_area = min(a for st in sts for a in st.areas) * s2
            trunk = bar_trunk(blob.mask, narrowest, min_area)
            if trunk is not None:
                tm = shape_measures(trunk)
                if tm["minor_len"] <= 1.25 * widest:
                    return max(1, int(round(tm["feret"] / float(np.median(ferets)))))
        k = int(round(filled / float(np.median(hulls))))
        if rings:
            # rings whose holes a neighbour breaks open fill less: their own pixels count
            # them too, an instance more when they hold at least RING_MORE of one more
            own = blob.area / float(np.median([a * s2 for st in sts for a in st.areas]))
            k = max(k, int(math.floor(own + 1.0 - RING_MORE)))
        if k < 2:
            areas = [st.max_area() * s2 for st in sts]
            if (
                filled > 1.3 * max(hulls)
                or blob.area > 1.3 * max(areas)
                or feret > 1.2 * max(ferets)
            ):
                k = 2
        return k

    def _end_to_end(self, mask: np.ndarray, sts: Sequence[LabelStats]) -> list[np.ndarray] | None:
        """The two bars of a straight strip one bar wide, end to end, if it holds two.

        Only bars whose references show a shape along their length (:func:`_shaped`: a
        wide end, a narrow neck) tell one long bar from two short ones. The strip's
        best cut into two pieces of a bar's length (:func:`cut_strip`; 0.8 x the
        shortest to 1.15 x the longest reference Feret diameter) is kept when its
        pieces fit the references' profiles better than the whole strip fits them (a
        longer bar keeps one bar's shape, two bars end to end have a wide part inside).

        Returns:
            The two pieces; None when the strip is one bar, when the bars have no
            shape along their length, or when it is wider than 1.25 x the widest bar.
        """
        if not _shaped(sts):
            return None
        profiles = [p for st in sts for p in st.profiles]
        widest = max(w for st in sts for w in st.widths) * self.scale
        if shape_measures(mask)["minor_len"] > 1.25 * widest:
            return None
        ferets = [f * self.scale for st in sts for f in st.ferets]
        cut = cut_strip(mask, (0.8 * min(ferets), 1.15 * max(ferets)), profiles)
        if cut is None or profile_misfit(mask_profile(mask), profiles) <= cut[1]:
            return None
        return cut[0]

    def _confident_parts(
        self,
        blob: Blob,
        group: tuple[str, ...],
        prob: np.ndarray,
        sel: Sequence[int],
        min_area: float,
    ) -> list[Blob] | None:
        """The instances of a convex label in a blob that fits none, from its sure pixels.

        A blob of a convex label (a paper label) that looks like no reference instance
        often is one instance plus a neighbouring patch the classifier hesitated on (a
        bright shoulder of juice next to a label of the same colour). Its pixels where the
        group's probability is at least :data:`CORE_PROB` are opened (3 x 3) and split into
        connected pieces; the convex hull of each piece of at least half the smallest
        reference area that fits a reference instance is one instance.

        When no piece fits but there is exactly one piece, whose hull is at most
        :data:`CORE_ONE` x the largest reference area (too small for two), it is one
        instance with a sure patch stuck to it.

        Returns:
            Those instances; an empty list (the blob is no instance) when the sure pixels
            cover less than :data:`CORE_MIN` x the smallest reference area (real parts,
            even blurred or half hidden, keep more); None (keep the blob as it is) when
            no piece qualifies.
        """
        core = self._sure_pixels(blob, group, prob, sel)
        if np.count_nonzero(core) < CORE_MIN * min_area:
            return []
        n, lab_map, stats, _ = cv2.connectedComponentsWithStats(core.astype(np.uint8), 8)
        grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        out, big = [], []
        for i in range(1, n):
            if stats[i, cv2.CC_STAT_AREA] < 0.5 * min_area:
                continue
            hull = convex_hull(Blob(blob.x0, blob.y0, lab_map == i))
            # the border the classifier is less sure of (blur) is given back
            near = cv2.dilate(hull.mask.astype(np.uint8), grow).astype(bool)
            part = Blob(blob.x0, blob.y0, hull.mask | (near & blob.mask)).tight()
            big.append(part)
            if any(self._fits(hull.tight(), g) for g in group):
                out.append(part)
        if not out and len(big) == 1:
            # one sure piece too large or mis-shapen for an instance, yet too small for
            # two: one instance with a patch the classifier is sure of stuck to it
            max_area = max(self.stats[g].max_area() for g in group) * self.scale**2
            hull_area = float(np.count_nonzero(convex_hull(big[0]).mask))
            if hull_area <= CORE_ONE * max_area:
                return big
        return out or None

    def _sure_pixels(
        self, blob: Blob, group: tuple[str, ...], prob: np.ndarray, sel: Sequence[int]
    ) -> np.ndarray:
        """A blob's pixels where the group's probability is at least :data:`CORE_PROB`.

        They are opened by a disc of a twentieth of the group's narrowest reference width
        (at least one pixel), which cuts off thin bridges to patches next to a part.
        Returns a crop-sized mask.
        """
        ys, xs = blob.slices()
        p = prob[ys, xs][:, :, list(sel)].sum(axis=2)
        core = (blob.mask & (p >= CORE_PROB)).astype(np.uint8)
        widths = [w for g in group for w in self.stats[g].widths]
        r = max(1, int(round(0.05 * min(widths) * self.scale))) if widths else 1
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        return cv2.morphologyEx(core, cv2.MORPH_OPEN, disc).astype(bool)

    def _bar_width(self, sts: Sequence[LabelStats]) -> float:
        """Narrowest reference width (working pixels) when every label is a thin bar, else 0.

        A label is a thin bar when all its reference masks have a minor / major axis ratio
        of at most :data:`BAR_ASPECT`.
        """
        if not sts or not all(
            st.aspects and st.widths and max(st.aspects) <= BAR_ASPECT for st in sts
        ):
            return 0.0
        return min(w for st in sts for w in st.widths) * self.scale

    @staticmethod
    def _convex_like(blob: Blob, sts: Sequence[LabelStats]) -> bool:
        """True when a large blob is as convex as a single instance (no notch or neck).

        Parts that touch or cross leave notches where their outlines meet; a blob of a
        convex label that shows none (solidity at least 0.97 and at least the references'
        lowest minus 0.02) is one larger part, e.g. two cells merged where a wall is
        missing, and is not split by area.
        """
        sol = [v for st in sts for v in st.solidity]
        if not sol:
            return False
        lowest = min(sol)
        if lowest < 0.9:
            return False  # the label itself is not convex: a convex blob says nothing
        sm = shape_measures(blob.mask)
        solidity = sm["solidity"] / max(sm["fill"], 1e-6)
        return solidity >= max(0.97, lowest - 0.02)

    def _fits(self, blob: Blob, label: str, tol: float = 1.0) -> bool:
        """True when a region could be one whole-or-partial reference instance of ``label``.

        Its area is at most 1.2 x the largest reference area (times 1 + 2 / the narrowest
        reference width in working pixels: an outline a pixel too far out), its Feret
        diameter at most
        1.15 x the largest reference Feret diameter, and, for regions of at least half the
        smallest reference area, its shape like the references': the solidity of its filled
        mask at least their lowest minus 0.06, its aspect ratio within theirs +- 0.1 and
        its width at most 1.25 x their widest. ``tol`` widens the size limits. Thin labels
        (minor / major axis ratio at most :data:`SLENDER`) have no area limit and a width limit of
        1.5 x (their outline, widened by blur, adds area all along their length).
        """
        st = self.stats.get(label)
        if st is None or not st.areas:
            return False
        s2 = self.scale * self.scale
        # a thin part (a cable, a wall) is judged by its length and width, not its area,
        # which a blurred or lit edge widens in proportion to the length
        thin = bool(st.aspects) and max(st.aspects) <= SLENDER
        # an outline one working pixel too far out widens a part of width w by 2 / w
        narrowest = min(st.widths) * self.scale if st.widths else math.inf
        widen = 1.0 + 2.0 / max(narrowest, 2.0)
        if not thin and blob.area > 1.2 * tol * widen * st.max_area() * s2:
            return False
        x0, y0, x1, y1 = blob.box()
        max_feret = 1.15 * tol * max(st.ferets) * self.scale
        if math.hypot(x1 - x0, y1 - y0) > math.sqrt(2.0) * max_feret:
            return False
        sm = shape_measures(blob.mask)
        if sm["feret"] > max_feret:
            return False
        if blob.area < 0.5 * min(st.areas) * s2 or not st.solidity:
            return True
        if st.aspects and not min(st.aspects) - 0.1 <= sm["aspect"] <= max(st.aspects) + 0.1:
            return False
        if st.widths and sm["minor_len"] > (1.5 if thin else 1.25) * max(st.widths) * self.scale:
            return False
        return sm["solidity"] / max(sm["fill"], 1e-6) >= min(st.solidity) - 0.06

    def _complete(self, blob: Blob, group: tuple[str, ...]) -> bool:
        """True when a region looks like a whole reference instance of one of its labels."""
        s2 = self.scale * self.scale
        return any(
            blob.area >= 0.75 * min(self.stats[g].areas) * s2 and self._fits(blob, g)
            for g in group
            if self.stats.get(g) is not None and self.stats[g].areas
        )

    def _confusable(self, a: tuple[str, ...], b: tuple[str, ...]) -> bool:
        """True when the pixel classifier mixes up some label of ``a`` with one of ``b``."""
        if self.confusion is None:
            return False
        idx = {lab: i for i, lab in enumerate(self.classes)}
        conf = self.confusion
        return any(
            max(conf[idx[x], idx[y]], conf[idx[y], idx[x]]) >= self.params.confusion_join
            for x in a
            for y in b
        )

    def _absorb(
        self,
        found: list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]],
        blob: Blob,
        cands: tuple[str, ...],
    ) -> list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]]:
        """Add a new-colour blob, merged with touching regions that may be the same part.

        A part drawn partly in a new colour (a new icon with a known outline) shows up as a
        new-colour blob next to a small regular region of a candidate label; they are one
        part when the union is no larger than that label's largest reference instance.
        """
        s2 = self.scale * self.scale
        keep = []
        merged = blob
        names = set(cands)
        for other, group, score, note in found:
            common = names & set(group)
            if common and _touch(merged, other):
                limit = max(a for g in common for a in self.stats[g].areas) * s2 * 1.25
                union = merged.union(other)
                if union.area <= limit:
                    merged, names = union, common
                    continue
            keep.append((other, group, score, note))
        ordered = tuple(c for c in cands if c in names)
        keep.append((merged, ordered, 0.5, {"novel_colour": True}))
        return keep

    def _inside_regions(
        self,
        orphans: list[Blob],
        found: list[tuple[Blob, tuple[str, ...], float, dict[str, Any]]],
    ) -> list[tuple[Blob, tuple[str, ...]]]:
        """New-colour blobs the pixel classes gave no place, placed by the regions found.

        A colour no reference shows can make the classifier doubt the pixels round it too
        (the floor round a pin's head of a new colour taken for background), so the blob
        seemed to lie on the background and fitted nothing there. When at least half of
        it lies in the filled outline of a region found, the smallest such region is the
        part around it, and its candidates are that part's children of a fitting size.
        """
        s2 = self.scale * self.scale
        out = []
        for blob in orphans:
            best: tuple[int, tuple[str, ...]] | None = None
            for other, group, _, _ in found:
                if best is not None and other.area >= best[0]:
                    continue
                if _box_overlap(blob.box(), other.box()) < 0.5 * blob.area:
                    continue
                if _overlap(blob, other.filled()) >= 0.5 * blob.area:
                    best = (other.area, group)
            if best is None:
                continue
            cands = tuple(
                lab
                for lab, st in self.stats.items()
                if self.parent.get(lab) in best[1]
                and st.areas
                and 0.25 * min(st.areas) * s2 <= blob.area <= 4.0 * max(st.areas) * s2
            )
            if cands:
                out.append((blob, cands))
        return out

    def _novel_regions(
        self, pred: np.ndarray, novelty: np.ndarray, orphans: list[Blob] | None = None
    ) -> list[tuple[Blob, tuple[str, ...]]]:
        """Blobs of colours no reference shows, with the labels they may be.

        A blob's candidates are the children of the label around it (top-level labels on
        background, and the labels it touches there) whose reference areas fit the blob's.
        Its pixels are handed to the surrounding label in ``pred`` (in place), so that
        label's region stays whole. Blobs on the background that fit nothing there are
        added to ``orphans`` (see :meth:`_inside_regions`).
        """
        novel = (novelty > self.novelty_threshold).astype(np.uint8)
        novel = cv2.morphologyEx(novel, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        s2 = self.scale * self.scale
        all_areas = [a * s2 for st in self.stats.values() for a in st.areas]
        if not all_areas or not novel.any():
            return []
        n, lab_map, stats, _ = cv2.connectedComponentsWithStats(novel, 8)
        out = []
        ring_k = np.ones((7, 7), np.uint8)
        for i in range(1, n):
            area = float(stats[i, cv2.CC_STAT_AREA])
            if area < 0.3 * min(all_areas):
                continue
            x, y, w, h = (int(v) for v in stats[i, :4])
            y0, y1 = max(y - 4, 0), min(y + h + 4, pred.shape[0])
            x0, x1 = max(x - 4, 0), min(x + w + 4, pred.shape[1])
            blob_big = lab_map[y0:y1, x0:x1] == i
            ring = cv2.dilate(blob_big.astype(np.uint8), ring_k).astype(bool) & ~blob_big
            ring &= novel[y0:y1, x0:x1] == 0
            around = pred[y0:y1, x0:x1][ring]
            if around.size == 0:
                continue
            outer = int(np.bincount(around, minlength=len(self.classes)).argmax())
            parent = self.classes[outer] if outer > 0 else None
            # on the background, a new-colour patch touching a part may be part of it (a
            # pin with a head of a new colour, its needle found beside it)
            touching = (
                {self.classes[c] for c in np.unique(around) if c > 0} if outer == 0 else set()
            )
            cands = tuple(
                lab
                for lab, st in self.stats.items()
                if (self.parent.get(lab) == parent or lab in touching)
                and st.areas
                and 0.25 * min(st.areas) * s2 <= area <= 4.0 * max(st.areas) * s2
            )
            if not cands:
                if outer == 0 and orphans is not None:
                    orphans.append(Blob(x, y, lab_map[y : y + h, x : x + w] == i))
                continue
            blob = Blob(x, y, lab_map[y : y + h, x : x + w] == i)
            pred[y : y + h, x : x + w][blob.mask] = outer
            out.append((blob, cands))
        return out

    def _group_regions(
        self, group: tuple[str, ...], pred: np.ndarray, prob: np.ndarray
    ) -> list[tuple[Blob, float, dict[str, Any]]]:
        s2 = self.scale * self.scale
        idx = {lab: i for i, lab in enumerate(self.classes)}
        own = [idx[g] for g in group]
        allc = set(own)
        for g in group:
            allc |= {idx[d] for d in self.descendants(g) if d in idx}
        sts = [self.stats[g] for g in group]
        areas = [a * s2 for st in sts for a in st.areas]
        ferets = [f * self.scale for st in sts for f in st.ferets]
        if not areas:
            return []
        if all(st.scattered for st in sts):
            return self._scattered_region(group, np.isin(pred, list(allc)), prob, own)
        min_area, med_area = min(areas), float(np.median(areas))
        max_area = max(st.max_area() for st in sts) * s2  # holes filled when occludable
        max_feret = max(ferets)
        min_own = min(o for st in sts for o in st.own)
        solid = all(st.solid for st in sts)
        mask = np.isin(pred, list(allc))
        own_px = np.isin(pred, own)
        minors = [m * self.scale for st in sts for m in st.minors]
        r_open = min(self.params.max_open, int(0.1 * min(minors))) if minors else 0
        if r_open >= 1:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r_open + 1,) * 2)
            mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, k).astype(bool)
        r_close = int(round(0.02 * math.sqrt(med_area)))
        if r_close >= 1 and self.params.close:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r_close + 1,) * 2)
            mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, k).astype(bool)
        n, lab_map, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
        blobs: list[Blob] = []
        for i in range(1, n):
            if stats[i, cv2.CC_STAT_AREA] >= 0.05 * min_area:
                x, y, w, h = (int(v) for v in stats[i, :4])
                blobs.append(Blob(x, y, lab_map[y : y + h, x : x + w] == i))
        thin = all(st.aspects and max(st.aspects) <= SLENDER for st in sts)
        strip = (min(ferets), max(a for st in sts for a in st.aspects)) if thin else None
        blobs = merge_fragments(blobs, min_area, max_area, max_feret, strip)
        out = []
        sel = sorted(allc)
        bar_width = self._bar_width(sts)
        # every reference mask convex and compact: a ragged outline (bites where the
        # classifier hesitated) is replaced by its convex hull
        convex = solid and all(
            st.solidity and min(st.solidity) >= CONVEX and min(st.aspects) > BAR_ASPECT
            for st in sts
        )
        # labels the references never show more than once in an image: a large blob of
        # them is one large instance (a pile, an amount), not several to split by area,
        # unless they are convex parts and every piece of the split looks like a whole one
        single = sum(max(st.counts, default=0) for st in sts) <= 1
        for blob in blobs:
            if blob.area < 0.3 * min_area:
                continue
            if bar_width and blob.area < min_area and _mean_width(blob.mask) < 0.6 * bar_width:
                continue  # a piece of a bar keeps the bar's width; a thinner line is not one
            if solid:
                blob = blob.filled(max_area)
            ys, xs = blob.slices()
            own_ratio = float(np.count_nonzero(own_px[ys, xs] & blob.mask)) / blob.area
            if own_ratio < 0.3 * min_own:
                continue
            parts = [blob]
            note: dict[str, Any] = {}
            core = None
            # a ragged region of a convex label becomes its hull below: judge the hull
            judged = convex_hull(blob) if convex and _solidity(blob.mask) < RAGGED else blob
            if convex and not any(self._fits(judged, g) for g in group):
                core = self._confident_parts(blob, group, prob, sel, min_area)
                if core == []:
                    continue  # no instance: a patch the classifier hesitated on
            if core is not None:
                parts, note = core, {"confident_core": len(core)}
            k_parts = 1 if core is not None else self._instances_in(blob, group)
            if k_parts >= 2 and solid and self._convex_like(blob, sts):
                k_parts = 1
                note = {"convex_whole": True}
            if k_parts >= 2:
                size = math.sqrt(float(np.median([a for st in sts for a in st.hull_areas])) * s2)
                pieces: list[np.ndarray] = []
                if k_parts >= 4 and all(
                    st.aspects and st.widths and max(st.aspects) <= BAR_ASPECT for st in sts
                ):  # a network of thin bars (walls of a grid): cut where they meet
                    width = max(m for st in sts for m in st.widths) * self.scale
                    pieces = split_at_junctions(
                        blob.mask, k_parts, width, 0.5 * min_area, 1.5 * max_area
                    )
                if not pieces:
                    pieces = split_blob(
                        blob.mask, k_parts, size, fill_holes=not solid, trust_k=True
                    )
                if k_parts < 4 and all(
                    st.aspects and max(st.aspects) <= BAR_ASPECT for st in sts
                ):  # bars across or along each other: straight pieces beat round ones
                    widest = max(w for st in sts for w in st.widths) * self.scale
                    lines = split_lines(blob.mask, k_parts, width=widest)
                    pieces = straighter(pieces, lines, 0.6 * bar_width)
                    ends = self._end_to_end(blob.mask, sts) if k_parts == 2 else None
                    if ends:  # two bars end to end: cut where both look like bars
                        pieces = ends
                parts = [Blob(blob.x0, blob.y0, m).tight() for m in pieces]
                if bar_width:
                    parts = bar_pieces(parts, min_area, bar_width)
                # a split-off scrap far smaller than any instance is no instance
                parts = [q for q in parts if q.area >= 0.3 * min_area] or parts
                note = {"split_into": len(parts)}
                if (
                    len(parts) == 2
                    and not bar_width
                    and np.count_nonzero(convex_hull(blob).mask)
                    <= RIM_HULL * max(max(st.hull_areas) for st in sts) * s2
                    and not any(self._complete(q, group) for q in parts)
                ):
                    # the outline of one instance, split into two pieces neither of
                    # which looks whole: one instance with a rim of another part stuck
                    # to it (a nut against a washer's edge), not two
                    parts, note = [blob], {"one_with_rim": True}
                if single and not (convex and all(self._complete(q, group) for q in parts)):
                    # never more than one in a reference: a larger one (a pile), not
                    # several, unless the label is a convex part and each piece looks
                    # like a whole instance of it (two fruit touching)
                    parts, note = [blob], {"single_in_references": True}
            for part in parts:
                ys, xs = part.slices()
                score = float(prob[ys, xs][part.mask][:, sel].sum(axis=1).mean())
                if convex and _solidity(part.mask) < RAGGED:
                    part = convex_hull(part)
                out.append((part, min(max(score, 0.0), 1.0), dict(note)))
        return self._join_partials(out, group)

    def _join_partials(
        self, found: list[tuple[Blob, float, dict[str, Any]]], group: tuple[str, ...]
    ) -> list[tuple[Blob, float, dict[str, Any]]]:
        """Join pieces of one instance that something lying across it cut apart.

        A part lying on a ring cuts it into pieces that may not touch (a washer under
        another washer and a nut shows two arcs, their outline far from the references').
        Two regions of the group that each look like less than a whole instance
        (:meth:`_complete`) are joined when their union has the size of one instance of a
        label of the group: its area at most 1.2 x the largest reference area, its Feret
        diameter at most 1.15 x the largest reference one, and its convex hull at least
        0.6 x the smallest reference area with holes filled. The smallest union first,
        until none is left.
        """
        sts = [self.stats[g] for g in group if self.stats.get(g) and self.stats[g].areas]
        if len(found) < 2 or not sts:
            return found
        # quick bounds (any label of the group): a union larger or longer is no instance
        most = 1.2 * max(st.max_area() for st in sts) * self.scale**2
        longest = 1.15 * max(f for st in sts for f in st.ferets) * self.scale
        found = list(found)
        whole = [self._complete(b, group) for b, _, _ in found]
        while True:
            partial = [i for i in range(len(found)) if not whole[i]]
            boxes = {i: _mask_box(found[i][0]) for i in partial}
            best: tuple[int, int, int, Blob] | None = None
            for a, i in enumerate(partial):
                for j in partial[a + 1 :]:
                    bi, bj = found[i][0], found[j][0]
                    area = bi.area + bj.area
                    if area > most or (best is not None and area >= best[0]):
                        continue
                    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes[i], boxes[j]
                    side = max(max(ax1, bx1) - min(ax0, bx0), max(ay1, by1) - min(ay0, by0))
                    if side > longest + 1:
                        continue
                    union = bi.union(bj)
                    if any(self._one_size(union, g) for g in group):
                        best = (area, i, j, union)
            if best is None:
                return found
            _, i, j, union = best
            score = max(found[i][1], found[j][1])
            note = {**found[j][2], **found[i][2], "joined": True}
            found = [f for k, f in enumerate(found) if k not in (i, j)] + [(union, score, note)]
            whole = [w for k, w in enumerate(whole) if k not in (i, j)] + [
                self._complete(union, group)
            ]

    def _one_size(self, blob: Blob, label: str) -> bool:
        """True when a blob has the size of one reference instance (see ``_join_partials``)."""
        st = self.stats.get(label)
        if st is None or not st.areas or not st.hull_areas:
            return False
        s2 = self.scale * self.scale
        if blob.area > 1.2 * st.max_area() * s2:
            return False
        if shape_measures(blob.mask)["feret"] > 1.15 * max(st.ferets) * self.scale:
            return False
        return float(np.count_nonzero(convex_hull(blob).mask)) >= 0.6 * min(st.hull_areas) * s2

    def _scattered_region(
        self, group: tuple[str, ...], mask: np.ndarray, prob: np.ndarray, own: Sequence[int]
    ) -> list[tuple[Blob, float, dict[str, Any]]]:
        """The one region of a scattered amount (:attr:`LabelStats.scattered`), if any.

        Its things may be few and far apart (a few almonds in a mix of chips), each far
        smaller than the references' whole region, so neither size nor distance joins
        them: every connected piece of the group's mask that holds a pixel the classifier
        is sure of (probability at least :data:`CORE_PROB`, opened by 3 x 3 so that thin
        lines where two other things meet drop out) belongs to it. There is none when
        those sure pixels cover less than the references' median piece (the edges of
        other things the classifier hesitates on give a few unsure pixels, no sure
        ones).
        """
        p = prob[:, :, list(own)].sum(axis=2)
        sure = (mask & (p >= CORE_PROB)).astype(np.uint8)
        # thin lines of sure pixels (where two other things meet) are no things
        sure = cv2.morphologyEx(sure, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
        s2 = self.scale * self.scale
        need = min(self.stats[g].median_piece() for g in group) * s2
        n_sure = int(np.count_nonzero(sure))
        if n_sure == 0 or n_sure < need:
            return []
        _, lab_map, _, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
        ids = np.unique(lab_map[sure])
        region = np.isin(lab_map, ids[ids > 0])
        blob = Blob(0, 0, region).tight()
        ys, xs = blob.slices()
        score = float(p[ys, xs][blob.mask].mean())
        return [(blob, min(max(score, 0.0), 1.0), {"scattered": True, "sure": n_sure})]

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta``."""
        return {
            "name": self.name,
            "scale": round(self.scale, 4),
            "groups": [list(g) for g in self.groups],
            "parents": dict(self.parent),
        }


@dataclass
class Blob:
    """A connected region at working resolution: its box's top-left corner and crop mask."""

    x0: int
    y0: int
    mask: np.ndarray

    @property
    def area(self) -> int:
        """Number of pixels."""
        return int(np.count_nonzero(self.mask))

    def box(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` of the crop."""
        h, w = self.mask.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h

    def slices(self) -> tuple[slice, slice]:
        """Row and column slices of the crop in the image."""
        h, w = self.mask.shape
        return slice(self.y0, self.y0 + h), slice(self.x0, self.x0 + w)

    def full(self, shape: tuple[int, int]) -> np.ndarray:
        """The mask pasted into an all-False image of ``shape``."""
        out = np.zeros(shape, bool)
        ys, xs = self.slices()
        out[ys, xs] = self.mask
        return out

    def filled(self, max_hole: float | None = None) -> Blob:
        """The blob with its holes filled (only holes of at most ``max_hole`` pixels)."""
        full = ndi.binary_fill_holes(self.mask)
        if max_hole is None:
            return Blob(self.x0, self.y0, full)
        holes, n = ndi.label(full & ~self.mask)
        if n == 0:
            return self
        sizes = np.bincount(holes.ravel(), minlength=n + 1)
        small = sizes <= max_hole
        small[0] = False
        return Blob(self.x0, self.y0, self.mask | small[holes])

    def tight(self) -> Blob:
        """The blob cropped to its pixels."""
        rows = np.flatnonzero(self.mask.any(axis=1))
        cols = np.flatnonzero(self.mask.any(axis=0))
        if rows.size == 0:
            return self
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        return Blob(self.x0 + c0, self.y0 + r0, self.mask[r0:r1, c0:c1])

    def minus(self, other: Blob) -> Blob:
        """This blob without the pixels of ``other`` (cropped to what is left)."""
        ax0, ay0, ax1, ay1 = self.box()
        bx0, by0, bx1, by1 = other.box()
        m = self.mask.copy()
        x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
        if x1 > x0 and y1 > y0:
            m[y0 - ay0 : y1 - ay0, x0 - ax0 : x1 - ax0] &= ~other.mask[
                y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0
            ]
        return Blob(self.x0, self.y0, m).tight()

    def union(self, other: Blob) -> Blob:
        """The union of two blobs."""
        ax0, ay0, ax1, ay1 = self.box()
        bx0, by0, bx1, by1 = other.box()
        x0, y0, x1, y1 = min(ax0, bx0), min(ay0, by0), max(ax1, bx1), max(ay1, by1)
        m = np.zeros((y1 - y0, x1 - x0), bool)
        m[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] |= self.mask
        m[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] |= other.mask
        return Blob(x0, y0, m)


def _shaped(sts: Sequence[LabelStats]) -> bool:
    """True when the labels' reference bars have a shape along their length.

    Their width profiles (:func:`mask_profile`) differ from a uniform one by at least
    :data:`PROFILE_SHAPED` in the median (a head at one end, a neck): one long bar and
    two short ones end to end then look different.
    """
    profiles = [p for st in sts for p in st.profiles]
    return bool(profiles) and (
        float(np.median([np.abs(p - 1.0).mean() for p in profiles])) >= PROFILE_SHAPED
    )


def _mask_box(blob: Blob) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of a blob's pixels in image coordinates."""
    rows = np.flatnonzero(blob.mask.any(axis=1))
    cols = np.flatnonzero(blob.mask.any(axis=0))
    if rows.size == 0:
        return blob.box()
    return (
        blob.x0 + int(cols[0]),
        blob.y0 + int(rows[0]),
        blob.x0 + int(cols[-1]) + 1,
        blob.y0 + int(rows[-1]) + 1,
    )


def _relative_centroids(masks: Sequence[np.ndarray], frame: np.ndarray) -> np.ndarray:
    """Centroids of ``masks`` as fractions of the box of ``frame`` (``n x 2``: x, y)."""
    ys, xs = np.nonzero(frame)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    out = []
    for m in masks:
        my, mx = np.nonzero(m)
        out.append(
            ((mx.mean() + 0.5 - x0) / max(x1 - x0, 1), (my.mean() + 0.5 - y0) / max(y1 - y0, 1))
        )
    return np.array(out, np.float64).reshape(-1, 2)


def fixed_layout(
    refs: Sequence[Reference], labels: Sequence[str], parent: dict[str, str | None]
) -> dict[str, tuple[np.ndarray, float]]:
    """Labels whose instances sit at the same places in every reference (walls of a grid).

    Positions are centroids relative to the box of the parent's one instance (every
    reference shows exactly one parent and at least two of the label). The layout's
    spacing is the median distance from an instance to its nearest neighbour in the same
    reference; the layout is fixed when every instance of every reference has one in
    every other reference within :data:`LAYOUT_SAME` x that spacing. Parts that lie
    anywhere (screws in a bag) have no fixed layout.

    Returns:
        ``label -> (all reference positions, spacing)`` for the fixed labels.
    """
    out: dict[str, tuple[np.ndarray, float]] = {}
    if len(refs) < 2:
        return out
    for lab in labels:
        par = parent.get(lab)
        if par is None:
            continue
        per_ref = []
        for ref in refs:
            labs = ref.labels()
            frames = [m for m, x in zip(ref.masks(), labs, strict=True) if x == par]
            mine = [m for m, x in zip(ref.masks(), labs, strict=True) if x == lab and m.any()]
            if len(frames) != 1 or len(mine) < 2 or not frames[0].any():
                break
            per_ref.append(_relative_centroids(mine, frames[0]))
        else:
            nearest = []
            for pts in per_ref:
                d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
                np.fill_diagonal(d, np.inf)
                nearest.append(d.min(axis=1))
            spacing = float(np.median(np.concatenate(nearest)))
            if spacing <= 0:
                continue
            worst = max(
                float(np.linalg.norm(a[:, None] - b[None], axis=2).min(axis=1).max())
                for i, a in enumerate(per_ref)
                for j, b in enumerate(per_ref)
                if i != j
            )
            if worst <= LAYOUT_SAME * spacing:
                out[lab] = (np.concatenate(per_ref), spacing)
    return out


def merge_fragments(
    blobs: list[Blob],
    min_area: float,
    max_area: float,
    max_feret: float,
    strip: tuple[float, float] | None = None,
) -> list[Blob]:
    """Merge fragments of one instance: pieces smaller than any reference instance.

    A piece under 80% of the smallest reference area joins the nearest neighbour (box
    gap) with which the union's Feret diameter stays within 1.15 x the largest reference
    one and its area within 1.25 x the largest reference area; repeated until nothing
    changes. (A part hidden in its middle by another shows up as two such pieces.)

    For thin strips (``strip``: the references' shortest Feret diameter and largest
    minor / major axis ratio) blur widens pieces, so length stands for area: a piece
    shorter than 80% of the shortest reference is a fragment, and a union has no area
    limit but must stay as slender as one (axis ratio at most 1.25 x the references' + 0.005).
    """
    min_feret = strip[0] if strip is not None else None
    blobs = list(blobs)
    changed = True
    while changed and len(blobs) > 1:
        changed = False
        info = [(*b.box(), b.area) for b in blobs]
        for i in sorted(range(len(blobs)), key=lambda k: info[k][4]):
            a = info[i]
            short = min_feret is not None and (
                math.hypot(a[2] - a[0], a[3] - a[1]) < 0.8 * min_feret
                or shape_measures(blobs[i].mask)["feret"] < 0.8 * min_feret
            )
            if a[4] >= 0.8 * min_area and not short:
                continue
            near = []
            for j, b in enumerate(info):
                if j == i or (min_feret is None and a[4] + b[4] > 1.25 * max_area):
                    continue
                x0, y0 = min(a[0], b[0]), min(a[1], b[1])
                x1, y1 = max(a[2], b[2]), max(a[3], b[3])
                if math.hypot(x1 - x0, y1 - y0) > 1.15 * math.sqrt(2.0) * max_feret:
                    continue
                gx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
                gy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
                near.append((math.hypot(gx, gy), j))
            for _, j in sorted(near):
                union = blobs[j].union(blobs[i])
                sm = shape_measures(union.mask)
                if strip is not None and sm["aspect"] > 1.25 * strip[1] + 0.005:
                    continue
                if sm["feret"] <= 1.15 * max_feret:
                    blobs[j] = union
                    del blobs[i]
                    changed = True
                    break
            if changed:
                break
    return blobs


def convex_hull(blob: Blob) -> Blob:
    """The blob's convex hull (same crop box; the hull never leaves it)."""
    pts = cv2.findNonZero(blob.mask.astype(np.uint8))
    if pts is None or len(pts) < 3:
        return blob
    hull = np.zeros(blob.mask.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(pts), 1)
    return Blob(blob.x0, blob.y0, hull.astype(bool) | blob.mask)


def _solidity(mask: np.ndarray) -> float:
    """Solidity of a mask with its holes filled."""
    sm = shape_measures(mask)
    return sm["solidity"] / max(sm["fill"], 1e-6)


def _occluded_share(mask: np.ndarray, masks: Sequence[np.ndarray]) -> float:
    """Share of a mask's hole pixels covered by other masks that do not hold it.

    Args:
        mask: ``HW bool`` mask of one component.
        masks: All component masks of the image (``mask`` among them).

    Returns:
        0 when the mask has no hole.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return 0.0
    cols = np.flatnonzero(mask.any(axis=0))
    ys, xs = slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)
    crop = mask[ys, xs]
    hole = ndi.binary_fill_holes(crop) & ~crop
    n_hole = int(np.count_nonzero(hole))
    if n_hole == 0:
        return 0.0
    area = int(np.count_nonzero(crop))
    front = np.zeros(crop.shape, bool)
    for other in masks:
        if other is mask:
            continue
        o = other[ys, xs]
        if not o.any() or int(np.count_nonzero(o & crop)) >= 0.6 * area:
            continue  # empty here, or it holds the mask (a parent shows through a ring)
        front |= o
    return float(np.count_nonzero(front & hole)) / n_hole


def _mean_width(mask: np.ndarray) -> float:
    """Width of a strip-like mask: the smaller of its minor axis and area / Feret diameter."""
    sm = shape_measures(mask)
    return min(sm["minor_len"], sm["area"] / max(sm["feret"], 1.0))


def _overlap(a: Blob, b: Blob) -> int:
    """Number of pixels two blobs share."""
    ax0, ay0, ax1, ay1 = a.box()
    bx0, by0, bx1, by1 = b.box()
    x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
    if x1 <= x0 or y1 <= y0:
        return 0
    ma = a.mask[y0 - ay0 : y1 - ay0, x0 - ax0 : x1 - ax0]
    mb = b.mask[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]
    return int(np.count_nonzero(ma & mb))


def _box_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    """Pixels two ``(x0, y0, x1, y1)`` boxes share."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def _box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """IoU of two ``(x0, y0, x1, y1)`` boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def _touch(a: Blob, b: Blob, gap: int = 2) -> bool:
    """True when two blobs overlap or lie within ``gap`` pixels of each other."""
    ax0, ay0, ax1, ay1 = a.box()
    bx0, by0, bx1, by1 = b.box()
    if ax0 > bx1 + gap or bx0 > ax1 + gap or ay0 > by1 + gap or by0 > ay1 + gap:
        return False
    x0, y0 = min(ax0, bx0) - gap, min(ay0, by0) - gap
    x1, y1 = max(ax1, bx1) + gap, max(ay1, by1) + gap
    ma = np.zeros((y1 - y0, x1 - x0), np.uint8)
    mb = np.zeros_like(ma)
    ma[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = a.mask
    mb[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = b.mask
    ma = cv2.dilate(ma, np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    return bool(np.any(ma & mb))


LUT_STEP = 2.0
"""Bin size (Lab units) of the colour-novelty lookup table."""

_LUT_MIN = np.array([0.0, -128.0, -128.0], np.float32)
_LUT_SHAPE = (51, 129, 129)


def _distance_lut(centres: np.ndarray) -> np.ndarray:
    """Distance to the nearest centre at every Lab bin centre (a lookup table)."""
    axes = [_LUT_MIN[i] + LUT_STEP * np.arange(_LUT_SHAPE[i], dtype=np.float32) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return _nearest_distance(grid, centres).reshape(_LUT_SHAPE)


def _lookup_distance(points: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Distance to the nearest colour centre, read from :func:`_distance_lut`'s table."""
    idx = np.rint((points - _LUT_MIN) / LUT_STEP).astype(np.int32)
    for i, n in enumerate(_LUT_SHAPE):
        np.clip(idx[:, i], 0, n - 1, out=idx[:, i])
    return lut[idx[:, 0], idx[:, 1], idx[:, 2]]


def _nearest_distance(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Euclidean distance of each point (``N x 3``) to its nearest centre (``M x 3``)."""
    if len(centres) == 0:
        return np.full(len(points), np.inf, np.float32)
    p2 = np.einsum("ij,ij->i", points, points)[:, None]
    c2 = np.einsum("ij,ij->i", centres, centres)[None, :]
    out = np.empty(len(points), np.float32)
    step = 1 << 16
    with single_blas_thread():
        for s in range(0, len(points), step):
            d2 = p2[s : s + step] + c2 - 2.0 * points[s : s + step] @ centres.T
            out[s : s + step] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def _kmeans_split(mask: np.ndarray, k: int) -> list[np.ndarray]:
    """Split a blob into ``k`` parts by k-means on its pixel coordinates (deterministic)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 2 * k:
        return [mask]
    pts = np.stack([xs, ys], axis=1).astype(np.float32)
    cv2.setRNGSeed(0)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.1)
    _, lab, _ = cv2.kmeans(pts, k, None, crit, 3, cv2.KMEANS_PP_CENTERS)
    out = []
    for i in range(k):
        m = np.zeros(mask.shape, bool)
        sel = lab.ravel() == i
        m[ys[sel], xs[sel]] = True
        if m.any():
            out.append(m)
    return out


def split_at_junctions(
    mask: np.ndarray, k: int, width: float, min_area: float, max_area: float | None = None
) -> list[np.ndarray]:
    """Split a network of thin bars (a grid of walls) where the bars meet.

    The mask's skeleton is found; its branch points, grown by 0.8 x the bars' width, are
    cut out, and the 4-connected pieces of at least ``min_area`` pixels are the parts (the
    cut pixels and smaller specks then go to the nearest part). Returns an empty list
    unless the mask has at least two junctions and the cut gives ``k`` parts or one fewer
    or more, so the caller can fall back to :func:`split_blob`. With ``max_area``, a cut
    into other numbers of parts is kept too when every part is at most that large (no
    two bars left joined) and there are at least half of ``k``: ``k`` comes from the
    mask's area, which blur and light widen, while the parts are counted one by one.

    Args:
        mask: ``HW bool`` blob.
        k: Expected number of parts.
        width: Largest width of one bar (pixels).
        min_area: Smallest area of a part (pixels).
        max_area: Largest area of one part (pixels), if known.
    """
    from skimage.morphology import skeletonize

    skel = skeletonize(mask)
    nb = ndi.convolve(skel.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant")
    branch = skel & (nb >= 4)
    if not branch.any():
        return []
    r = max(int(math.ceil(0.8 * width)), 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    cut = cv2.dilate(branch.astype(np.uint8), disc).astype(bool)
    if ndi.label(cut)[1] < 2:
        return []  # one crossing (two bars across each other) is not a network
    # 4-connected pieces: a bar must not leak round a crossing through one corner pixel
    labels, n = ndi.label(mask & ~cut)
    if n == 0:
        return []
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = np.flatnonzero(sizes >= min_area)
    keep = keep[keep > 0]
    if abs(len(keep) - k) > 1 and (
        max_area is None or len(keep) < 0.5 * k or float(sizes[keep].max()) > max_area
    ):
        return []
    # the cut pixels (and specks) go to the nearest kept piece
    seeds = np.where(np.isin(labels, keep), labels, 0)
    _, (iy, ix) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    owner = np.where(mask, seeds[iy, ix], 0)
    return [owner == i for i in keep]


def split_lines(
    mask: np.ndarray, k: int, iterations: int = 12, width: float = 0.0
) -> list[np.ndarray]:
    """Split a blob into ``k`` straight bars (k-lines clustering of its pixels).

    Each pixel is given to the nearest of ``k`` lines and each line is refitted (principal
    axis of its pixels), a few rounds, from two starts: k-means on the pixel coordinates,
    and the ``k`` strongest distinct lines of a Hough transform of the mask; the result
    with the smaller squared distance to its lines wins. Bars that cross come apart along
    their lengths, where a watershed cuts across them.

    With a bar ``width``, the pixels where two bars' bands meet (a crossing, a corner)
    then go whole to one bar (:func:`_settle_crossings`): the nearest line cuts them
    into wedges, a bar's end under the other one takes a piece of it.

    Args:
        mask: ``HW bool`` blob.
        k: Number of bars.
        iterations: Assignment and refitting rounds.
        width: Width of the widest bar (pixels); 0 leaves the crossings as they are.

    Returns:
        The non-empty parts (fewer than ``k`` when a line loses every pixel).
    """
    ys, xs = np.nonzero(mask)
    if k < 2 or len(xs) < 4 * k:
        return [mask]
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    starts = []
    lab0 = np.zeros(len(xs), np.int64)
    for i, m in enumerate(_kmeans_split(mask, k)):
        lab0[m[ys, xs]] = i
    starts.append(lab0)
    lines = _hough_lines(mask, k)
    if len(lines) == k:
        starts.append(np.argmin(np.stack([_line_distance(pts, *ln) for ln in lines]), axis=0))
    best, best_cost = starts[0], math.inf
    for lab in starts:
        for _ in range(iterations):
            dists = []
            for i in range(k):
                sel = pts[lab == i]
                if len(sel) < 2:
                    dists.append(np.full(len(pts), np.inf))
                    continue
                c = sel.mean(axis=0)
                _, _, vt = np.linalg.svd(sel - c, full_matrices=False)
                dists.append(_line_distance(pts, c, vt[0]))
            d = np.stack(dists)
            new = np.argmin(d, axis=0)
            cost = float(np.sum(np.min(d, axis=0) ** 2))
            if np.array_equal(new, lab):
                break
            lab = new
        if cost < best_cost:
            best, best_cost = lab, cost
    if width > 0:
        best = _settle_crossings(pts, best, k, width)
    out = []
    for i in range(k):
        m = np.zeros(mask.shape, bool)
        m[ys[best == i], xs[best == i]] = True
        if m.any():
            out.append(m)
    return _give_back_scraps(out, width * width) if width > 0 else out


def _give_back_scraps(parts: list[np.ndarray], max_area: float) -> list[np.ndarray]:
    """Give each part's small loose pieces to the part they touch most.

    A piece of a part (4-connected) other than its largest, smaller than ``max_area``,
    is a wedge the nearest line cut off where two bars meet: it goes to the other part
    along whose edge it lies longest (none touching: it stays).
    """
    parts = [p.copy() for p in parts]
    ring = np.ones((3, 3), np.uint8)
    for i in range(len(parts)):
        lab, n = ndi.label(parts[i])
        if n < 2:
            continue
        sizes = np.bincount(lab.ravel(), minlength=n + 1)
        sizes[0] = 0
        for c in range(1, n + 1):
            if c == int(np.argmax(sizes)) or sizes[c] >= max_area:
                continue
            piece = lab == c
            edge = cv2.dilate(piece.astype(np.uint8), ring).astype(bool) & ~piece
            touch = [np.count_nonzero(edge & q) if j != i else 0 for j, q in enumerate(parts)]
            if max(touch) == 0:
                continue
            j = int(np.argmax(touch))
            parts[i] &= ~piece
            parts[j] |= piece
    return [p for p in parts if p.any()]


def _fit_line(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and direction (principal axis) of points ``N x 2``."""
    c = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    return c, vt[0]


def width_profile(t: np.ndarray, lo: float, hi: float, bins: int = PROFILE_BINS) -> np.ndarray:
    """A bar's widths along its length, relative to their mean.

    Args:
        t: Position of each of the bar's pixels along its axis.
        lo: Where the bar starts on the axis.
        hi: Where it ends.
        bins: Number of equal stretches of the length.

    Returns:
        The pixel count of each stretch over their mean (``bins`` values).
    """
    counts, _ = np.histogram(t, bins=bins, range=(lo, max(hi, lo + 1.0)))
    mean = float(counts.mean())
    return counts / mean if mean > 0 else counts.astype(np.float64)


def mask_profile(mask: np.ndarray, bins: int = PROFILE_BINS) -> np.ndarray:
    """:func:`width_profile` of a mask along its major axis."""
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    if len(pts) < 3:
        return np.ones(bins)
    c, d = _fit_line(pts)
    t = (pts - c) @ d
    return width_profile(t, float(t.min()), float(t.max()), bins)


def profile_misfit(profile: np.ndarray, refs: Sequence[np.ndarray]) -> float:
    """Mean absolute difference to the closest reference profile, either way round."""
    return min(
        min(float(np.abs(profile - r).mean()), float(np.abs(profile[::-1] - r).mean()))
        for r in refs
    )


def cut_strip(
    mask: np.ndarray, lengths: tuple[float, float], profiles: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], float] | None:
    """Cut a straight strip of two bars end to end where both pieces look like bars.

    Every cut across the strip's axis that leaves two pieces of a bar's length (within
    ``lengths``) is tried; the pieces' width profiles (:func:`width_profile`) are
    compared with the references' (:func:`profile_misfit`): the cut whose worse piece
    fits best wins (a bar with a wide end is cut next to that end, not through it).

    Args:
        mask: ``HW bool`` strip.
        lengths: Shortest and longest length of one bar along its axis (pixels).
        profiles: The references' bar profiles.

    Returns:
        The two pieces and the misfit of the worse one, or None when no cut leaves two
        pieces of a bar's length (or there are no profiles).
    """
    ys, xs = np.nonzero(mask)
    if not profiles or len(xs) < 8:
        return None
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    c, d = _fit_line(pts)
    t = (pts - c) @ d
    t0, t1 = float(t.min()), float(t.max())
    lo, hi = lengths
    best: tuple[float, float] | None = None
    for cut in np.arange(math.ceil(t0 + lo), math.floor(t0 + hi) + 1.0):
        if not lo <= t1 - cut <= hi:
            continue
        a, b = t < cut, t >= cut
        misfit = max(
            profile_misfit(width_profile(t[a], t0, cut), profiles),
            profile_misfit(width_profile(t[b], cut, t1), profiles),
        )
        if best is None or misfit < best[1]:
            best = (float(cut), misfit)
    if best is None:
        return None
    out = []
    for sel in (t < best[0], t >= best[0]):
        m = np.zeros(mask.shape, bool)
        m[ys[sel], xs[sel]] = True
        out.append(m)
    return out, best[1]


def _settle_crossings(pts: np.ndarray, lab: np.ndarray, k: int, width: float) -> np.ndarray:
    """Give the pixels where two bars' bands overlap whole to the bar that goes through.

    For each pair of bars, the pixels within half ``width`` of both lines (where they
    cross or meet) go all to the bar whose line has the blob's pixels on both sides of
    them (at least ``width`` x ``width`` / 2 on each side, beyond a quarter ``width``)
    when the other bar's line has not: the bar that goes on stays one piece, the one
    that ends there ends at its edge. The nearest line alone cuts the overlap into
    wedges and gives a bar ending there a piece of the other one. When both bars or
    neither go through (two bars across each other, a corner), nothing changes.
    """
    lab = lab.copy()
    half, margin, enough = 0.5 * width, 0.25 * width, 0.5 * width * width
    for i in range(k):
        for j in range(i + 1, k):
            si, sj = lab == i, lab == j
            if np.count_nonzero(si) < 3 or np.count_nonzero(sj) < 3:
                continue
            lines = [_fit_line(pts[si]), _fit_line(pts[sj])]
            di, dj = (_line_distance(pts, *ln) for ln in lines)
            both = (si | sj) & (di <= half) & (dj <= half)
            if not both.any():
                continue
            through = []
            for (c, d), near in zip(lines, (di <= half, dj <= half), strict=True):
                t = (pts - c) @ d
                lo, hi = float(t[both].min()) - margin, float(t[both].max()) + margin
                through.append(
                    np.count_nonzero(near & (t < lo)) >= enough
                    and np.count_nonzero(near & (t > hi)) >= enough
                )
            if through[0] != through[1]:
                lab[both] = i if through[0] else j
    return lab


def _line_distance(pts: np.ndarray, centre: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Distance of each point (``N x 2``, x then y) to a line through ``centre``."""
    normal = np.array([-direction[1], direction[0]], np.float64)
    normal /= max(float(np.hypot(*normal)), 1e-9)
    return np.abs((pts - centre) @ normal)


def _hough_lines(mask: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to ``k`` distinct strong lines of a mask: ``(point, direction)`` pairs.

    Lines closer than 15 degrees in angle and a fifth of the mask's smaller side in offset
    to a stronger one are the same line.
    """
    m = mask.astype(np.uint8)
    thresh = max(int(0.2 * max(m.shape)), 5)
    found = cv2.HoughLines(m, 1, np.pi / 90, thresh)
    if found is None:
        return []
    near = 0.2 * min(m.shape)
    out: list[tuple[float, float]] = []
    for rho, theta in found[:, 0, :]:
        same = False
        for r0, t0 in out:
            dt = abs(float(theta) - t0)
            dt = min(dt, math.pi - dt)
            if dt < math.radians(15) and abs(abs(float(rho)) - abs(r0)) < near:
                same = True
                break
        if not same:
            out.append((float(rho), float(theta)))
        if len(out) == k:
            break
    lines = []
    for rho, theta in out:
        c, s_ = math.cos(theta), math.sin(theta)
        lines.append((np.array([rho * c, rho * s_]), np.array([-s_, c])))
    return lines


def bar_trunk(mask: np.ndarray, bar_width: float, min_area: float) -> np.ndarray | None:
    """The one bar-wide trunk of a blob of bars, without thin rims stuck to it.

    The blob is opened by a disc of radius :data:`TRUNK_OPEN` x ``bar_width`` (at least
    one pixel): what a bar keeps, a thin rim (the edge of a ring the classifier took for
    bar) loses. The trunk is the largest piece left.

    Args:
        mask: ``HW bool`` blob.
        bar_width: Narrowest reference width of one bar (pixels).
        min_area: Smallest reference area of one bar (pixels).

    Returns:
        The trunk (crop-sized mask), or None when the opening took nothing off, left no
        piece of at least half ``min_area``, left two such pieces (bars joined by a thin
        bridge), or took off a piece that is no rim: at least ``min_area`` or, at its
        widest, wider than 0.6 x ``bar_width``.
    """
    r = max(1, int(round(TRUNK_OPEN * bar_width)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    m = mask.astype(np.uint8)
    opened = cv2.morphologyEx(m, cv2.MORPH_OPEN, disc)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(opened, 8)
    big = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 0.5 * min_area]
    if len(big) != 1:
        return None
    trunk = lab == big[0]
    rest = mask & ~trunk
    if not rest.any():
        return None
    n_r, _, stats_r, _ = cv2.connectedComponentsWithStats(rest.astype(np.uint8), 8)
    if n_r > 1 and int(stats_r[1:, cv2.CC_STAT_AREA].max()) >= min_area:
        return None
    # widest point of any piece taken off: twice its largest distance to its edge (the
    # pieces are apart, so one transform of them all serves)
    depth = 2.0 * float(ndi.distance_transform_edt(np.pad(rest, 1)).max())
    return None if depth > 0.6 * bar_width else trunk


def bar_pieces(parts: list[Blob], min_area: float, bar_width: float) -> list[Blob]:
    """The pieces of a split blob of bars that can be bars (all of them if none can).

    A piece smaller than the smallest reference bar (``min_area``) and thinner than 0.6 x
    the narrowest one (``bar_width``, :func:`_mean_width`) is not a bar: the rim of a
    part next to it that the pixel classifier took for bar.
    """
    keep = [q for q in parts if q.area >= min_area or _mean_width(q.mask) >= 0.6 * bar_width]
    return keep or parts


def straighter(
    a: list[np.ndarray], b: list[np.ndarray], min_width: float = 0.0
) -> list[np.ndarray]:
    """The split whose parts are thinner bars: ``b`` when they are thinner, else ``a``.

    A split's thickness is its thickest part's minor axis; ``b`` wins when it has as many
    parts as ``a`` and its thickness is less than ``a``'s (a bar crossed by another may be
    two collinear pieces; a watershed gives a bar's end to the bar it touches, whose
    part then is a bent, thicker one), unless one of its parts is narrower than ``min_width``
    (:func:`_mean_width`): a bar cut along its length, or two bars end to end cut into
    two side by side, gives strips thinner than any bar.
    """
    if len(b) != len(a) or len(b) < 2:
        return a
    if min_width > 0 and min(_mean_width(_tight(m)) for m in b) < min_width:
        return a

    def thickness(parts: list[np.ndarray]) -> float:
        return max(shape_measures(_tight(m))["minor_len"] for m in parts)

    return b if thickness(b) < thickness(a) else a


def _tight(mask: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def split_blob(
    mask: np.ndarray, k: int, size: float, *, fill_holes: bool = False, trust_k: bool = False
) -> list[np.ndarray]:
    """Split a blob into ``k`` parts by a watershed on its distance transform.

    Args:
        mask: ``HW bool`` blob.
        k: Wanted number of parts.
        size: Typical instance diameter (pixels); seeds are at least ``size/3`` apart.
        fill_holes: Compute the distance transform and watershed on the mask with its
            holes filled (rings such as washers then have one core each), then keep
            only the mask's own pixels in each part.
        trust_k: The caller is sure the blob holds ``k`` instances: a blob with too few
            distance-transform cores is split by k-means on its pixel coordinates
            whatever its thickness (crossing bars, overlapping rings).

    Returns:
        The parts, each non-empty. When the distance transform has fewer than ``k`` distinct
        cores, a thin blob (at most 0.6 x ``size`` across, e.g. joined wall pieces)
        is split by k-means on its pixel coordinates; any other blob is kept whole.
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    region = ndi.binary_fill_holes(mask) if fill_holes else mask
    dist = ndi.distance_transform_edt(region)
    peaks = peak_local_max(
        dist, min_distance=max(int(size / 3), 1), num_peaks=k, labels=region.astype(np.int32)
    )
    if len(peaks) < k:
        thin = float(dist.max()) <= 0.3 * size
        return _kmeans_split(mask, k) if thin or trust_k else [mask]
    markers = np.zeros(mask.shape, np.int32)
    for i, (r, c) in enumerate(peaks, start=1):
        markers[r, c] = i
    ws = watershed(-dist, markers, mask=region)
    parts = [(ws == i) & mask for i in range(1, len(peaks) + 1)]
    parts = [p for p in parts if p.any()]
    share = float(np.count_nonzero(mask)) / k
    if fill_holes and trust_k and min(int(np.count_nonzero(p)) for p in parts) < 0.3 * share:
        return _kmeans_split(mask, k)  # a core in a hole: its part holds almost nothing
    return parts
