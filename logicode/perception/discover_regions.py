"""Regions of unannotated reference images, described and clustered across the images.

The steps behind :func:`logicode.perception.discover.discover`, each a small function:

1. every image is reduced to a working resolution and cut into SLIC superpixels;
2. the superpixels of *all* images are clustered by mean CIE Lab colour into colour classes
   (k-means; the fewest classes whose colour spread is within a tolerance), so one part
   gets the same class in every image;
3. the connected pieces of each class in each image are the *regions* (pieces smaller
   than a floor are absorbed into the neighbour they share most border with);
4. each region is described by its colour, size, shape and position in the product's
   box (the box of everything that is not the background colour class);
5. the regions of each colour class are split into groups (k-means on standardised
   descriptors, the number of groups chosen by the silhouette, preferring more groups
   when the scores are close: a part split over two clusters costs the user one more
   name, two parts in one cluster cannot be named at all).

Nothing here knows any product; every threshold is in :class:`DiscoverParams`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi

from logicode.perception.discover_shapes import split_by_width
from logicode.perception.features import shape_measures, to_lab
from logicode.perception.resample import resize_image

logger = logging.getLogger(__name__)

DESCRIPTOR_NAMES: tuple[str, ...] = (
    "L",
    "a",
    "b",
    "L_std",
    "log_area",
    "aspect",
    "solidity",
    "extent",
    "fill",
    "rel_cx",
    "rel_cy",
    "rel_w",
    "rel_h",
    "border",
)
"""Columns of :func:`describe_regions`."""

STRIP_CLASS = 1000
"""Added to the colour class of a strip (:mod:`logicode.perception.discover_shapes`)."""

_WEIGHTS = {
    "L": 1.5,
    "a": 1.5,
    "b": 1.5,
    "L_std": 0.5,
    "log_area": 1.0,
    "aspect": 0.7,
    "solidity": 0.7,
    "extent": 0.5,
    "fill": 0.5,
    "rel_cx": 3.0,
    "rel_cy": 3.0,
    "rel_w": 0.5,
    "rel_h": 0.5,
    "border": 1.0,
}


@dataclass(frozen=True)
class DiscoverParams:
    """Settings of region discovery (defaults suit MVTec-LOCO-like photographs).

    Attributes:
        work_side: Longer side (pixels) of the working resolution.
        superpixel_px: Mean superpixel area at working resolution.
        compactness: SLIC compactness (higher: squarer superpixels, lower: follow colour).
        colour_tol: Colour classes are added until the mean over the classes of the RMS
            Lab distance of their superpixels to their centre is at most this (about 2.3
            is a just-noticeable difference).
        max_colours: Most colour classes.
        min_region_px: Regions smaller than this (working pixels) join a neighbour.
        max_clusters: Most clusters of regions (the closest are merged above it).
        max_splits: Most clusters the regions of one colour class are split into.
        min_silhouette: A colour class's regions are split only when the silhouette of
            the split reaches this (0: always split 4 or more regions; measured best,
            since a cluster mixing two parts cannot be named while a part split over
            two clusters only costs one more name).
        prefer_more: Take the most clusters whose silhouette is at least this share of
            the best silhouette.
        thin_radius: Regions are split into thick bodies and thin strips (narrower
            than ``2*thin_radius+1`` working pixels, long, cut at their junctions) by
            :func:`logicode.perception.discover_shapes.split_by_width` (0: no split).
        strip_splits: Most clusters the strips of one colour class are split into (strips
            of one colour are told apart by position only: walls inside, frame at the rim).
        seed: Random seed of the k-means runs.
    """

    work_side: int = 400
    superpixel_px: float = 40.0
    compactness: float = 10.0
    colour_tol: float = 6.0
    max_colours: int = 24
    min_region_px: int = 12
    max_clusters: int = 60
    max_splits: int = 6
    min_silhouette: float = 0.0
    prefer_more: float = 0.9
    thin_radius: int = 6
    strip_splits: int = 12
    seed: int = 0


def work_size(shape: tuple[int, int], side: int) -> tuple[int, int]:
    """``(width, height)`` of the working resolution of an image of ``(h, w)`` ``shape``."""
    h, w = shape
    f = min(1.0, side / max(h, w))
    return max(int(round(w * f)), 1), max(int(round(h * f)), 1)


def superpixels(image: np.ndarray, params: DiscoverParams) -> tuple[np.ndarray, np.ndarray]:
    """SLIC superpixels of a working-resolution RGB image.

    Returns:
        ``HW int32`` superpixel index map (0..n-1) and ``(n, 4)`` features per superpixel:
        mean L, a, b and the standard deviation of L.
    """
    from skimage.segmentation import slic

    h, w = image.shape[:2]
    n = max(int(h * w / params.superpixel_px), 8)
    sp = slic(
        image,
        n_segments=n,
        compactness=params.compactness,
        start_label=0,
        channel_axis=-1,
        enforce_connectivity=True,
    ).astype(np.int32)
    lab = to_lab(image).reshape(-1, 3).astype(np.float64)
    idx = sp.ravel()
    m = int(idx.max()) + 1
    cnt = np.maximum(np.bincount(idx, minlength=m), 1).astype(np.float64)
    mean = np.stack([np.bincount(idx, lab[:, c], m) / cnt for c in range(3)], axis=1)
    sq = np.bincount(idx, lab[:, 0] ** 2, m) / cnt
    std = np.sqrt(np.maximum(sq - mean[:, 0] ** 2, 0.0))
    return sp, np.concatenate([mean, std[:, None]], axis=1)


def kmeans(x: np.ndarray, k: int, seed: int, attempts: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic k-means (OpenCV, k-means++ start) -> ``(labels, centres)``."""
    cv2.setRNGSeed(seed)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 60, 1e-4)
    _, lab, ctr = cv2.kmeans(x.astype(np.float32), k, None, crit, attempts, cv2.KMEANS_PP_CENTERS)
    return lab.ravel().astype(np.int64), ctr.astype(np.float64)


def colour_classes(
    colours: np.ndarray, weights: np.ndarray, params: DiscoverParams
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster superpixel Lab colours into the fewest classes within ``colour_tol``.

    Classes are added until the spread of a class (the pixel-weighted RMS distance of its
    superpixels' colours to its centre), averaged over the classes, is within the
    tolerance; averaging over classes rather than pixels keeps a small part from hiding
    in the class of a large one.

    Args:
        colours: ``(n, 3)`` Lab means.
        weights: ``(n,)`` pixel counts (the spread is pixel-weighted).
        params: Tolerance, cap and seed.

    Returns:
        ``(n,)`` class of each superpixel and ``(k, 3)`` class centres.
    """
    best: tuple[np.ndarray, np.ndarray] | None = None
    for k in range(2, params.max_colours + 1):
        if k > len(colours):
            break
        lab, ctr = kmeans(colours, k, params.seed)
        d2 = ((colours - ctr[lab]) ** 2).sum(axis=1) * weights
        wk = np.maximum(np.bincount(lab, weights, minlength=k), 1e-9)
        rms = float(np.sqrt(np.bincount(lab, d2, minlength=k) / wk).mean())
        best = (lab, ctr)
        if rms <= params.colour_tol:
            break
    if best is None:
        return np.zeros(len(colours), np.int64), colours[:1].copy()
    return best


def _absorb_small(regions: np.ndarray, n: int, min_px: int) -> np.ndarray:
    """Merge regions under ``min_px`` pixels into the neighbour sharing most border."""
    sizes = np.bincount(regions.ravel(), minlength=n)
    for r in np.argsort(sizes):
        if sizes[r] == 0 or sizes[r] >= min_px:
            continue
        ys, xs = np.nonzero(regions == r)
        if ys.size == 0:
            continue
        y0, y1 = max(int(ys.min()) - 1, 0), int(ys.max()) + 2
        x0, x1 = max(int(xs.min()) - 1, 0), int(xs.max()) + 2
        crop = regions[y0:y1, x0:x1]
        m = crop == r
        ring = ndi.binary_dilation(m) & ~m
        neigh = crop[ring]
        if neigh.size == 0:
            continue
        target = int(np.bincount(neigh).argmax())
        crop[m] = target
        sizes[target] += sizes[r]
        sizes[r] = 0
    _, inv = np.unique(regions, return_inverse=True)
    return inv.reshape(regions.shape).astype(np.int32)


def split_regions(classes: np.ndarray, min_px: int) -> np.ndarray:
    """Connected pieces (8-connected) of each class of an ``HW`` class map -> region map."""
    out = np.full(classes.shape, -1, np.int32)
    n = 0
    for c in np.unique(classes):
        lab, k = ndi.label(classes == c, structure=np.ones((3, 3), bool))
        sel = lab > 0
        out[sel] = lab[sel] - 1 + n
        n += k
    return _absorb_small(out, n, min_px)


def _region_classes(region_map: np.ndarray, class_map: np.ndarray) -> np.ndarray:
    region_class = np.zeros(int(region_map.max()) + 1, np.int64)
    region_class[region_map.ravel()] = class_map.ravel()
    return region_class


def background_class(class_maps: list[np.ndarray], n_classes: int) -> int:
    """The colour class covering most of the images' borders (the backdrop)."""
    counts = np.zeros(n_classes, np.int64)
    for m in class_maps:
        border = np.concatenate([m[0], m[-1], m[:, 0], m[:, -1]])
        counts += np.bincount(border, minlength=n_classes)
    return int(counts.argmax())


def product_box(region_map: np.ndarray, bg_regions: np.ndarray) -> tuple[float, ...]:
    """``(x0, y0, x1, y1)`` box of everything not in a background region (whole image if none)."""
    fg = ~np.isin(region_map, bg_regions)
    h, w = region_map.shape
    if not fg.any():
        return 0.0, 0.0, float(w), float(h)
    rows = np.flatnonzero(fg.any(axis=1))
    cols = np.flatnonzero(fg.any(axis=0))
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


def describe_regions(
    image: np.ndarray, region_map: np.ndarray, frame: tuple[float, ...]
) -> np.ndarray:
    """One row of :data:`DESCRIPTOR_NAMES` per region of a working-resolution image."""
    lab = to_lab(image)
    h, w = region_map.shape
    fx0, fy0, fx1, fy1 = frame
    fw, fh = max(fx1 - fx0, 1.0), max(fy1 - fy0, 1.0)
    n = int(region_map.max()) + 1
    rows = []
    objs = ndi.find_objects(region_map + 1)
    for r in range(n):
        sl = objs[r]
        if sl is None:
            rows.append(np.zeros(len(DESCRIPTOR_NAMES)))
            continue
        m = region_map[sl] == r
        px = lab[sl][m]
        sm = shape_measures(m)
        ys, xs = np.nonzero(m)
        cx = sl[1].start + float(xs.mean())
        cy = sl[0].start + float(ys.mean())
        border = float(sl[0].start == 0 or sl[1].start == 0 or sl[0].stop == h or sl[1].stop == w)
        rows.append(
            np.array(
                [
                    float(px[:, 0].mean()),
                    float(px[:, 1].mean()),
                    float(px[:, 2].mean()),
                    float(px[:, 0].std()),
                    math.log(sm["area"] / (h * w)),
                    sm["aspect"],
                    sm["solidity"],
                    sm["extent"],
                    sm["fill"],
                    (cx - fx0) / fw,
                    (cy - fy0) / fh,
                    sm["bbox_w"] / fw,
                    sm["bbox_h"] / fh,
                    border,
                ]
            )
        )
    return np.stack(rows) if rows else np.zeros((0, len(DESCRIPTOR_NAMES)))


def standardise(x: np.ndarray) -> np.ndarray:
    """Z-scored, weighted descriptors (columns with no spread become 0)."""
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 1e-9, sd, 1.0)
    wts = np.array([_WEIGHTS[n] for n in DESCRIPTOR_NAMES])
    return z * wts


def silhouette(x: np.ndarray, labels: np.ndarray, max_n: int = 2500, seed: int = 0) -> float:
    """Mean silhouette coefficient (Euclidean); a sample of ``max_n`` points if larger."""
    n = len(x)
    idx = np.arange(n)
    if n > max_n:
        idx = np.sort(np.random.default_rng(seed).choice(n, max_n, replace=False))
    xs, ls = x[idx], labels[idx]
    d = np.sqrt(np.maximum(((xs[:, None, :] - xs[None, :, :]) ** 2).sum(axis=2), 0.0))
    ks = np.unique(ls)
    if len(ks) < 2:
        return -1.0
    mean_to = np.stack([d[:, ls == k].mean(axis=1) for k in ks], axis=1)
    sizes = np.array([(ls == k).sum() for k in ks])
    own = np.searchsorted(ks, ls)
    a = mean_to[np.arange(len(ls)), own] * sizes[own] / np.maximum(sizes[own] - 1, 1)
    mean_to[np.arange(len(ls)), own] = np.inf
    b = mean_to.min(axis=1)
    s = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    s[sizes[own] == 1] = 0.0
    return float(s.mean())


def _split_k(x: np.ndarray, params: DiscoverParams, cap: int) -> tuple[np.ndarray, float]:
    """Best split of one colour class's regions: 1 cluster unless the silhouette is clear."""
    n = len(x)
    best: tuple[np.ndarray, float] = (np.zeros(n, np.int64), 0.0)
    if n < 4 or cap < 2:
        return best
    scores: dict[int, tuple[np.ndarray, float]] = {}
    for k in range(2, min(cap, n - 1) + 1):
        lab, _ = kmeans(x, k, params.seed)
        if len(np.unique(lab)) == k:
            scores[k] = (lab, silhouette(x, lab, seed=params.seed))
    if not scores:
        return best
    top = max(s for _, s in scores.values())
    if top < params.min_silhouette:
        return best
    k = max(k for k, (_, s) in scores.items() if s >= params.prefer_more * top)
    return scores[k]


def _merge_closest(x: np.ndarray, lab: np.ndarray, cap: int) -> np.ndarray:
    """Merge the clusters with the closest centres until at most ``cap`` remain."""
    lab = lab.copy()
    while len(np.unique(lab)) > cap:
        ids = np.unique(lab)
        ctr = np.stack([x[lab == i].mean(axis=0) for i in ids])
        d = ((ctr[:, None, :] - ctr[None, :, :]) ** 2).sum(axis=2)
        d[np.diag_indices(len(ids))] = np.inf
        a, b = np.unravel_index(int(np.argmin(d)), d.shape)
        lab[lab == ids[b]] = ids[a]
    return lab


def cluster_regions(
    x: np.ndarray, colour: np.ndarray, params: DiscoverParams
) -> tuple[np.ndarray, dict[int, float]]:
    """Cluster standardised region descriptors; the number of clusters from the data.

    Regions of one colour class are split further (k-means on all descriptors, 2 to
    ``max_splits`` groups) when the best silhouette reaches ``min_silhouette``; among the
    splits scoring within ``prefer_more`` of the best, the finest wins. Over ``max_clusters``
    clusters, the closest ones are merged.

    Args:
        x: ``(n, d)`` standardised descriptors (:func:`standardise`).
        colour: ``(n,)`` colour class of each region.
        params: Caps, thresholds and seed.

    Returns:
        ``(n,)`` cluster of each region (0..k-1, numbered in order of first appearance)
        and the silhouette of each colour class's chosen split (``{class: score}``).
    """
    n = len(x)
    lab = np.zeros(n, np.int64)
    scores: dict[int, float] = {}
    nxt = 0
    for c in np.unique(colour):
        sel = np.flatnonzero(colour == c)
        cap = params.strip_splits if c >= STRIP_CLASS else params.max_splits
        sub, score = _split_k(x[sel], params, cap)
        lab[sel] = sub + nxt
        nxt += int(sub.max()) + 1
        scores[int(c)] = round(score, 4)
    lab = _merge_closest(x, lab, params.max_clusters)
    order = {c: i for i, c in enumerate(dict.fromkeys(lab.tolist()))}
    out = np.array([order[c] for c in lab], np.int64)
    logger.info("clustered %d regions into %d clusters", n, int(out.max()) + 1 if n else 0)
    return out, scores


def segment_references(
    images: list[np.ndarray], params: DiscoverParams
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Working-resolution region maps of reference images and their descriptors.

    Args:
        images: ``HWC uint8`` RGB images at full resolution.
        params: Discovery settings.

    Returns:
        Region maps (``HW int32`` at working resolution, regions 0..n-1 per image), the
        descriptor rows of each image's regions, and the colour class of each region.
    """
    small = [resize_image(im, work_size(im.shape[:2], params.work_side)) for im in images]
    sps, feats = [], []
    for im in small:
        sp, f = superpixels(im, params)
        sps.append(sp)
        feats.append(f)
    allf = np.concatenate(feats)
    weights = np.concatenate([np.bincount(sp.ravel()).astype(np.float64) for sp in sps])
    cls, ctr = colour_classes(allf[:, :3], weights, params)
    logger.info("%d colour classes over %d superpixels", len(ctr), len(allf))
    class_maps, start = [], 0
    for sp, f in zip(sps, feats, strict=True):
        class_maps.append(cls[start : start + len(f)][sp])
        start += len(f)
    bg = background_class(class_maps, len(ctr))
    maps, descs, colours = [], [], []
    for im, cm in zip(small, class_maps, strict=True):
        rm = split_regions(cm, params.min_region_px)
        bg_regions = np.flatnonzero(_region_classes(rm, cm) == bg)
        rm, strips = split_by_width(rm, params.thin_radius, params.min_region_px, bg_regions)
        region_class = _region_classes(rm, cm)
        # strips are clustered apart from the bodies of their colour
        region_class[sorted(strips)] += STRIP_CLASS
        frame = product_box(rm, np.flatnonzero(region_class == bg))
        maps.append(rm)
        descs.append(describe_regions(im, rm, frame))
        colours.append(region_class)
    return maps, descs, colours
