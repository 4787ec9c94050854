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

This module holds the segmenter itself; its pieces live in modules named for what they
are: :mod:`~logicode.perception.label_stats` (what the references say about each label),
:mod:`~logicode.perception.augment` (training copies), :mod:`~logicode.perception.novelty`
(colours no reference shows), :mod:`~logicode.perception.blobs` (blob geometry, fragments),
:mod:`~logicode.perception.splits` (watershed and k-means splits),
:mod:`~logicode.perception.bars` (bars), :mod:`~logicode.perception.layout` (grids) and
:mod:`~logicode.perception.resample` (working and full resolution). Their public names are
importable from here too.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy import ndimage as ndi

from logicode.perception.augment import (
    NOISE_FIRST,
    augment,
    augment_full,
)
from logicode.perception.bars import (
    PROFILE_BINS,
    PROFILE_SHAPED,
    TRUNK_OPEN,
    bar_pieces,
    bar_trunk,
    bars_shaped,
    cut_strip,
    mask_profile,
    profile_misfit,
    split_at_junctions,
    split_lines,
    straighter,
    width_profile,
)
from logicode.perception.base import Reference, Region
from logicode.perception.blobs import (
    Blob,
    blobs_touch,
    box_overlap,
    convex_hull,
    filled_solidity,
    mask_box,
    mean_width,
    merge_fragments,
    shared_pixels,
)
from logicode.perception.classifier import MLPClassifier
from logicode.perception.features import fine_texture, pixel_features, shape_measures
from logicode.perception.label_stats import (
    SCATTERED_PIECES,
    LabelStats,
    exclusive_layers,
    occluded_share,
)
from logicode.perception.layout import (
    LAYOUT_FAR,
    LAYOUT_SAME,
    fixed_layout,
)
from logicode.perception.novelty import (
    LUT_STEP,
    distance_lut,
    lookup_distance,
    nearest_distance,
)
from logicode.perception.resample import (
    resize_image,
    upsample_mask,
    upsample_with_box,
)
from logicode.perception.splits import (
    split_blob,
)
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)

__all__ = [
    "BACKGROUND",
    "BAR_ASPECT",
    "Blob",
    "COLOUR_COLUMNS",
    "CONVEX",
    "CORE_MIN",
    "CORE_ONE",
    "CORE_PROB",
    "ClassicalSegmenter",
    "FINE_MAX_SCALE",
    "LAYOUT_FAR",
    "LAYOUT_SAME",
    "LUT_STEP",
    "LabelStats",
    "NOISE_FIRST",
    "PROFILE_BINS",
    "PROFILE_SHAPED",
    "RAGGED",
    "RIM_HULL",
    "RING_MORE",
    "SCATTERED_PIECES",
    "SLENDER",
    "SegmenterParams",
    "TRUNK_OPEN",
    "augment",
    "augment_full",
    "bar_pieces",
    "bar_trunk",
    "convex_hull",
    "cut_strip",
    "exclusive_layers",
    "fixed_layout",
    "mask_profile",
    "merge_fragments",
    "profile_misfit",
    "split_at_junctions",
    "split_blob",
    "split_lines",
    "straighter",
    "upsample_mask",
    "upsample_with_box",
    "width_profile",
]


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

RIM_HULL = 1.25
"""A blob split into two pieces, neither of them a whole instance, whose convex hull is at
most this times the largest reference instance (holes filled) is one instance with the
rim of another part stuck to it."""

RING_MORE = 0.75
"""A blob of rings holds one instance more than its filled outline says when its own
pixels hold at least this share of one more instance (see ``_instances_in``)."""

SLENDER = 0.12
"""Labels whose reference masks all have a minor / major axis ratio at most this are thin
strips (walls, cables): judged by length and width rather than area."""


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
        self._colour_lut = distance_lut(self.colours)
        d = nearest_distance(lab, self.colours)
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
                st.occluded.append(occluded_share(m, masks))
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
            small = resize_image(ref.image, size)
            lay = resize_image(layer.astype(np.int32), size, nearest=True)
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
        small = resize_image(image, size)
        fine = fine_texture(image, size) if self.uses_fine_texture else None
        feats = pixel_features(small, self.params.sigmas, fine)
        h, w, f = feats.shape
        flat = feats.reshape(-1, f)
        prob = self.clf.predict_proba(flat).reshape(h, w, -1)
        colour = np.ascontiguousarray(flat[:, COLOUR_COLUMNS])
        if self._colour_lut is not None:
            novelty = lookup_distance(colour, self._colour_lut).reshape(h, w)
        else:
            novelty = nearest_distance(colour, self.colours).reshape(h, w)
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
                    inside = max(inside, shared_pixels(blob, h))
            if inside >= 0.5 * blob.area:
                keep.append(item)
            else:
                logger.debug("dropped a %s region outside every %s", group, parents)
                dropped.append((blob, group))
        for blob, group in dropped:
            above = {p for g in group if (p := self.parent.get(g)) is not None}
            for k, (other, og, score, note) in enumerate(keep):
                if above & set(og) and shared_pixels(blob, other):
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
                frames[par] = mask_box(parents[0]) if len(parents) == 1 else None
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
                    if not blobs_touch(bi, bj):
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
            if k == 2 and bars_shaped(sts) and self._end_to_end(blob.mask, sts) is None:
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

        Only bars whose references show a shape along their length (:func:`bars_shaped`: a
        wide end, a narrow neck) tell one long bar from two short ones. The strip's
        best cut into two pieces of a bar's length (:func:`cut_strip`; 0.8 x the
        shortest to 1.15 x the longest reference Feret diameter) is kept when its
        pieces fit the references' profiles better than the whole strip fits them (a
        longer bar keeps one bar's shape, two bars end to end have a wide part inside).

        Returns:
            The two pieces; None when the strip is one bar, when the bars have no
            shape along their length, or when it is wider than 1.25 x the widest bar.
        """
        if not bars_shaped(sts):
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
            if common and blobs_touch(merged, other):
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
                if box_overlap(blob.box(), other.box()) < 0.5 * blob.area:
                    continue
                if shared_pixels(blob, other.filled()) >= 0.5 * blob.area:
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
            if bar_width and blob.area < min_area and mean_width(blob.mask) < 0.6 * bar_width:
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
            judged = convex_hull(blob) if convex and filled_solidity(blob.mask) < RAGGED else blob
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
                if convex and filled_solidity(part.mask) < RAGGED:
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
            boxes = {i: mask_box(found[i][0]) for i in partial}
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
