"""Features for perception: per-pixel (for the segmenter) and per-instance (for naming).

Pixel features describe colour and texture at several scales; instance features describe a
masked region's colour, shape, size and position. Nothing here knows about any product:
the stages weight the features by what separates the references' labels or values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

PIXEL_SIGMAS: tuple[float, ...] = (2.0, 5.0, 12.0)
"""Gaussian scales (working-resolution pixels) of the smoothed colour channels."""

COLOR_FEATURES: tuple[str, ...] = (
    "L_mean",
    "a_mean",
    "b_mean",
    "L_std",
    "a_std",
    "b_std",
    "L_p10",
    "a_p10",
    "b_p10",
    "L_p90",
    "a_p90",
    "b_p90",
    "chroma_mean",
)
"""Colour features of an instance (CIE Lab statistics under the mask)."""

SHAPE_FEATURES: tuple[str, ...] = ("aspect", "solidity", "extent", "fill")
"""Scale-free shape features of an instance."""

SIZE_FEATURES: tuple[str, ...] = (
    "log_area",
    "major_len",
    "minor_len",
    "feret",
    "bbox_w",
    "bbox_h",
    "sqrt_area",
)
"""Size features of an instance (pixels)."""

POSITION_FEATURES: tuple[str, ...] = ("rel_cx", "rel_cy", "rel_w", "rel_h")
"""Position of an instance in a frame box (its parent's box, else the image)."""

ALL_FEATURES: tuple[str, ...] = COLOR_FEATURES + SHAPE_FEATURES + SIZE_FEATURES + POSITION_FEATURES

LENGTH_FEATURES: tuple[str, ...] = (
    "axis_len",
    "major_len",
    "minor_len",
    "feret",
    "bbox_w",
    "bbox_h",
    "sqrt_area",
)
"""Features measured in pixels of length (candidates for ``unit: px`` attributes)."""


def to_lab(image: np.ndarray) -> np.ndarray:
    """``HWC uint8`` RGB -> ``HWC float32`` CIE Lab (L in 0..100, a and b about -128..127)."""
    return cv2.cvtColor(image.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2Lab)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def pixel_feature_names(sigmas: Sequence[float] = PIXEL_SIGMAS, fine: bool = False) -> list[str]:
    """Names of the columns of :func:`pixel_features` (``fine``: with the fine texture)."""
    names = ["L", "a", "b"]
    for s in sigmas:
        names += [f"L_s{s:g}", f"a_s{s:g}", f"b_s{s:g}"]
    names += ["L_std", "grad", "L_local"]
    names += ["grad_s2", "dog_fine", "ridge", "coherence_s3"]
    if fine:
        names.append("fine_texture")
    return names


FINE_SIGMA = 1.0
"""Scale (full-resolution pixels) of the high-pass filter behind :func:`fine_texture`."""


def fine_texture(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Texture finer than the working resolution (paper grain, print), at working resolution.

    The image's grey level minus its slight blur (:data:`FINE_SIGMA`, full-resolution
    pixels) is squared, averaged down to ``size`` and its root divided by the local mean
    grey (plus a floor that keeps dark noise small), so it does not follow the lighting;
    its logarithm is taken relative to the image's median, so a blur or a noise level
    that affects the whole image alike does not move it either. Grainy paper and a smooth
    liquid of the same colour differ here, while downsampling erases the difference from
    every other feature.

    Args:
        image: ``HWC uint8`` RGB at full resolution.
        size: ``(width, height)`` of the working resolution.

    Returns:
        ``HW float32`` map of ``log(1 + 100 x relative high-pass amplitude)`` minus its
        median.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    d = grey - cv2.GaussianBlur(grey, (0, 0), sigmaX=FINE_SIGMA, sigmaY=FINE_SIGMA)
    energy = cv2.resize(d * d, size, interpolation=cv2.INTER_AREA)
    mean = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    energy = _blur(energy, 1.0)
    mean = _blur(mean, 2.0)
    out = np.log1p(100.0 * np.sqrt(np.maximum(energy, 0.0)) / (mean + 20.0))
    # relative to the image's typical level: blur or sensor noise that changes every
    # pixel's fine detail alike (a shift in this log scale) leaves the map unchanged
    out -= float(np.median(out[::2, ::2]))
    return out.astype(np.float32)


def pixel_features(
    image: np.ndarray,
    sigmas: Sequence[float] = PIXEL_SIGMAS,
    fine: np.ndarray | None = None,
) -> np.ndarray:
    """Per-pixel colour and texture features of an image at working resolution.

    Columns (see :func:`pixel_feature_names`): Lab lightly smoothed; Lab smoothed at each
    of ``sigmas``; local standard deviation of L; gradient magnitude of L; L minus its wide
    average (local contrast, steadier under uneven light); then texture, which tells apart
    parts of the same colour as what lies around them (grey on grey): the standard
    deviation of L at a wider scale, the gradient magnitude averaged at two scales (edge
    density), two differences of Gaussians (fine detail, blob-sized contrast) and the
    largest Hessian eigenvalue magnitude (ridges and grooves); and the coherence of the
    structure tensor at two integration scales (1 where edges share one direction, as along
    a bar; near 0 where they turn, as around a ring).

    Args:
        image: ``HWC uint8`` RGB.
        sigmas: Gaussian scales in pixels (default :data:`PIXEL_SIGMAS`).
        fine: Optional :func:`fine_texture` map of the full-resolution image (same height
            and width as ``image``), appended as the last column.

    Returns:
        ``HWF float32`` array.
    """
    lab = to_lab(image)
    base = _blur(lab, 0.7)
    feats = [base]
    for s in sigmas:
        feats.append(_blur(lab, s))
    lum = base[:, :, 0]
    mu = _blur(lum, 2.0)
    sq = _blur(lum * lum, 2.0)
    std = np.sqrt(np.maximum(sq - mu * mu, 0.0))
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)
    grad = np.sqrt(gx * gx + gy * gy)
    local = lum - _blur(lum, max(sigmas, default=6.0) * 2.0)
    l1, l3 = _blur(lum, 1.0), _blur(lum, 3.0)
    l2 = _blur(lum, 2.0)
    hxx = cv2.Sobel(l2, cv2.CV_32F, 2, 0, ksize=3)
    hyy = cv2.Sobel(l2, cv2.CV_32F, 0, 2, ksize=3)
    hxy = cv2.Sobel(l2, cv2.CV_32F, 1, 1, ksize=3)
    ridge = 0.5 * np.abs(hxx + hyy) + np.sqrt(0.25 * (hxx - hyy) ** 2 + hxy * hxy)
    texture = [
        std,
        grad,
        local,
        _blur(grad, 2.0),
        l1 - l3,
        ridge,
    ]
    jxx, jyy, jxy = gx * gx, gy * gy, gx * gy
    for s_int in (3.0,):
        a, b, c = _blur(jxx, s_int), _blur(jyy, s_int), _blur(jxy, s_int)
        texture.append(np.sqrt((a - b) ** 2 + 4.0 * c * c) / (a + b + 1e-3))
    if fine is not None:
        if fine.shape != lum.shape:
            raise ValueError("pixel_features: fine texture map and image differ in size")
        texture.append(fine)
    feats.append(np.stack(texture, axis=2))
    return np.concatenate(feats, axis=2).astype(np.float32, copy=False)


def _crop(mask: np.ndarray) -> tuple[slice, slice] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def shape_measures(mask: np.ndarray) -> dict[str, float]:
    """Shape and size measures of a (cropped) ``HW bool`` mask.

    Returns:
        ``area``, ``major_len`` and ``minor_len`` (lengths of a uniform rectangle with the
        mask's second moments), ``aspect`` (minor/major), ``solidity`` (area / convex hull
        area), ``extent`` (area / box area), ``fill`` (area / area with holes filled),
        ``feret`` (largest distance between hull points), ``axis_len`` (extent along the
        major axis: the pixels projected on it, end to end; a wide part's Feret diameter
        is its diagonal), ``bbox_w``, ``bbox_h``.
    """
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    area = float(np.count_nonzero(m))
    h, w = m.shape
    ys, xs = np.nonzero(m)
    if area < 2:
        return {
            "area": area,
            "major_len": 1.0,
            "minor_len": 1.0,
            "aspect": 1.0,
            "solidity": 1.0,
            "extent": 1.0,
            "fill": 1.0,
            "feret": 1.0,
            "axis_len": 1.0,
            "bbox_w": float(w),
            "bbox_h": float(h),
        }
    cov = np.cov(np.stack([xs.astype(np.float64), ys.astype(np.float64)]))
    evals = np.clip(np.linalg.eigvalsh(cov), 0.0, None)
    ax = np.linalg.eigh(cov)[1][:, 1]
    proj = xs * float(ax[0]) + ys * float(ax[1])
    axis_len = float(proj.max() - proj.min()) + 1.0
    major = math.sqrt(12.0 * float(evals[1]) + 1.0)
    minor = math.sqrt(12.0 * float(evals[0]) + 1.0)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    pts = np.concatenate(contours, axis=0) if contours else np.zeros((0, 1, 2), np.int32)
    hull = cv2.convexHull(pts) if len(pts) >= 3 else pts
    hull_area = float(cv2.contourArea(hull)) if len(hull) >= 3 else area
    filled = np.zeros(m.shape, np.uint8)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    filled_area = float(np.count_nonzero(filled | m))
    hp = hull.reshape(-1, 2).astype(np.float64)
    if len(hp) >= 2:
        d = hp[:, None, :] - hp[None, :, :]
        feret = float(np.sqrt((d * d).sum(axis=2)).max()) + 1.0
    else:
        feret = 1.0
    return {
        "area": area,
        "major_len": major,
        "minor_len": minor,
        "aspect": minor / major if major > 0 else 1.0,
        "solidity": min(1.0, area / max(hull_area + 0.5 * len(hp), 1.0)),
        "extent": area / float(h * w),
        "fill": area / max(filled_area, 1.0),
        "feret": feret,
        "axis_len": axis_len,
        "bbox_w": float(w),
        "bbox_h": float(h),
    }


INSTANCE_MAX_PIXELS = 40_000
"""Instances larger than this are measured on a downsampled crop (colour statistics do not
change; lengths and areas are scaled back)."""


def instance_features(
    image: np.ndarray,
    mask: np.ndarray,
    frame: Sequence[float] | None = None,
    *,
    max_pixels: int | None = INSTANCE_MAX_PIXELS,
    box: Sequence[int] | None = None,
) -> dict[str, float]:
    """Colour, shape, size and position features of one masked instance.

    Args:
        image: ``HWC uint8`` RGB image.
        mask: ``HW bool`` mask of the instance (same height and width), not empty.
        frame: ``(x0, y0, x1, y1)`` box the position is measured in (e.g. the parent
            component's box); default the whole image.
        max_pixels: Measure on a crop downsampled to about this many mask pixels (None:
            full resolution).
        box: The mask's ``(x0, y0, x1, y1)`` box if known (saves a scan of the image).

    Returns:
        A value for every name in :data:`ALL_FEATURES`.
    """
    if box is not None:
        ys, xs = slice(int(box[1]), int(box[3])), slice(int(box[0]), int(box[2]))
    else:
        found = _crop(mask)
        if found is None:
            raise ValueError("instance_features: empty mask")
        ys, xs = found
    h, w = mask.shape
    fx0, fy0, fx1, fy1 = frame if frame is not None else (0.0, 0.0, float(w), float(h))
    return crop_features(
        image[ys, xs],
        mask[ys, xs],
        (xs.start, ys.start),
        (fx0, fy0, fx1, fy1),
        max_pixels=max_pixels,
    )


def crop_features(
    patch: np.ndarray,
    m: np.ndarray,
    origin: tuple[int, int],
    frame: tuple[float, float, float, float],
    *,
    max_pixels: int | None = INSTANCE_MAX_PIXELS,
) -> dict[str, float]:
    """Features of an instance given its cropped pixels and mask (see instance_features).

    Args:
        patch: ``hwC uint8`` RGB crop around the instance.
        m: ``hw bool`` mask in the crop.
        origin: ``(x, y)`` of the crop's top-left pixel in the image.
        frame: Box the position is measured in, image coordinates.
        max_pixels: Downsample the crop when the mask has more pixels than this.
    """
    area_full = float(np.count_nonzero(m))
    if area_full == 0:
        raise ValueError("crop_features: empty mask")
    ys0, xs0 = np.nonzero(m)
    cy = origin[1] + float(ys0.mean())
    cx = origin[0] + float(xs0.mean())
    f = 1.0
    if max_pixels is not None and area_full > max_pixels:
        f = math.sqrt(max_pixels / area_full)
        size = (max(int(round(m.shape[1] * f)), 1), max(int(round(m.shape[0] * f)), 1))
        f = 0.5 * (size[0] / m.shape[1] + size[1] / m.shape[0])
        patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
        mf = cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        m = mf >= 0.5
        if not m.any():
            m = mf >= mf.max()
    lab = to_lab(patch)
    px = lab[m].astype(np.float64)
    out: dict[str, float] = {}
    means = px.mean(axis=0)
    stds = px.std(axis=0)
    p10 = np.percentile(px, 10, axis=0)
    p90 = np.percentile(px, 90, axis=0)
    for i, ch in enumerate("Lab"):
        out[f"{ch}_mean"] = float(means[i])
        out[f"{ch}_std"] = float(stds[i])
        out[f"{ch}_p10"] = float(p10[i])
        out[f"{ch}_p90"] = float(p90[i])
    out["chroma_mean"] = float(np.sqrt(px[:, 1] ** 2 + px[:, 2] ** 2).mean())
    sm = shape_measures(m)
    for k in ("aspect", "solidity", "extent", "fill"):
        out[k] = sm[k]
    for k in ("major_len", "minor_len", "feret", "axis_len", "bbox_w", "bbox_h"):
        out[k] = sm[k] / f
    out["log_area"] = math.log(max(area_full, 1.0))
    out["sqrt_area"] = math.sqrt(area_full)
    fx0, fy0, fx1, fy1 = frame
    fw, fh = max(fx1 - fx0, 1.0), max(fy1 - fy0, 1.0)
    out["rel_cx"] = (cx + 0.5 - fx0) / fw
    out["rel_cy"] = (cy + 0.5 - fy0) / fh
    out["rel_w"] = out["bbox_w"] / fw
    out["rel_h"] = out["bbox_h"] / fh
    return out


SHARPNESS_SIGMAS: tuple[float, float] = (1.0, 3.0)
"""Fine and coarse scales (pixels) of :func:`sharpness`."""


def sharpness(image: np.ndarray) -> float:
    """How sharp an image's edges are: about 3 when perfectly sharp, towards 1 as blur grows.

    The strongest gradients (99.5th percentile of the grey level's gradient magnitude)
    after a Gaussian of :data:`SHARPNESS_SIGMAS` ``[0]`` over those after one of
    ``[1]``: a step edge keeps its full height at both, but its slope falls with the
    wider Gaussian the less blurred it is. A ratio of one image's own gradients, it
    changes little with the light or with what the image shows.

    Args:
        image: ``HWC uint8`` RGB.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    peaks = []
    for s in SHARPNESS_SIGMAS:
        b = cv2.GaussianBlur(grey, (0, 0), sigmaX=s, sigmaY=s)
        gx = cv2.Sobel(b, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(b, cv2.CV_32F, 0, 1, ksize=3)
        sq = (gx * gx + gy * gy)[::2, ::2].ravel()  # every other row and column: speed
        k = int(0.995 * (sq.size - 1))
        peaks.append(math.sqrt(float(np.partition(sq, k)[k])) if sq.size else 0.0)
    return peaks[0] / peaks[1] if peaks[1] > 1e-6 else 1.0


PART_MIN_SHARE = 0.03
"""Connected parts smaller than this share of a mask's pixels are noise to
:func:`part_count`."""


def part_count(mask: np.ndarray, close_px: int = 2, min_share: float = PART_MIN_SHARE) -> int:
    """Number of separate pieces of a (cropped) ``HW bool`` mask.

    The mask is first closed with a disc of radius ``close_px`` (slits and pinholes of a
    perceived outline do not split it), then its 8-connected parts holding at least
    ``min_share`` of its pixels are counted (specks are not pieces).

    Args:
        mask: The mask (a crop around it is enough).
        close_px: Radius in pixels of the closing; gaps narrower than about twice this
            are bridged.
        min_share: Smallest share of the mask's pixels a part needs to count.

    Returns:
        The count, 0 for an empty mask.
    """
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    total = int(np.count_nonzero(m))
    if total == 0:
        return 0
    if close_px > 0:
        pad = close_px + 1
        m = cv2.copyMakeBorder(m, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * close_px + 1,) * 2)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, k)
    n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return max(1, int(np.count_nonzero(areas >= min_share * total)))


PATH_MAX_PIXELS = 20_000
"""Masks whose box is larger than this are measured by :func:`path_length` on a
downsampled copy."""


def path_length(mask: np.ndarray) -> float:
    """Length of a (cropped) ``HW bool`` mask along its centre line, end to end.

    The longest shortest path through the mask's skeleton (steps of 1 and sqrt 2) plus the
    mask's mean width (the skeleton stops about half a width short of each end). For a
    curved strip (a cable, a hose) this is its length along its path; for a compact blob
    it is about its diameter.
    """
    m = np.asarray(mask, bool)
    if m.size > PATH_MAX_PIXELS:  # measured on a downsampled copy (speed), scaled back
        f = math.sqrt(PATH_MAX_PIXELS / m.size)
        size = (max(int(m.shape[1] * f), 1), max(int(m.shape[0] * f), 1))
        small = cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
        if np.count_nonzero(small) >= 4:
            f = 0.5 * (size[0] / m.shape[1] + size[1] / m.shape[0])
            return _centre_line(small) / f
    return _centre_line(m)


def _centre_line(m: np.ndarray) -> float:
    """:func:`path_length` at the mask's own resolution."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra
    from skimage.morphology import skeletonize

    area = float(np.count_nonzero(m))
    if area < 4:
        return math.sqrt(area)
    skel = skeletonize(m)
    ys, xs = np.nonzero(skel)
    n = len(ys)
    if n < 2:
        return shape_measures(m)["feret"]
    index = np.full(m.shape, -1, np.int64)
    index[ys, xs] = np.arange(n)
    rows, cols, wts = [], [], []
    h, w = m.shape
    for dy, dx, wt in ((0, 1, 1.0), (1, 0, 1.0), (1, 1, math.sqrt(2.0)), (1, -1, math.sqrt(2.0))):
        y2, x2 = ys + dy, xs + dx
        ok = (y2 >= 0) & (y2 < h) & (x2 >= 0) & (x2 < w)
        j = np.full(n, -1, np.int64)
        j[ok] = index[y2[ok], x2[ok]]
        sel = j >= 0
        rows.append(np.flatnonzero(sel))
        cols.append(j[sel])
        wts.append(np.full(int(sel.sum()), wt))
    r, c, wv = np.concatenate(rows), np.concatenate(cols), np.concatenate(wts)
    graph = coo_matrix((wv, (r, c)), shape=(n, n)).tocsr()
    d0 = dijkstra(graph, directed=False, indices=0)
    far = int(np.argmax(np.where(np.isfinite(d0), d0, -1.0)))
    d1, pred = dijkstra(graph, directed=False, indices=far, return_predecessors=True)
    end = int(np.argmax(np.where(np.isfinite(d1), d1, -1.0)))
    path = [end]
    while path[-1] != far and pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    pts = np.stack([xs[path], ys[path]], axis=1).astype(np.float64)
    k = 5  # a moving average takes out the staircase of 8-connected steps
    if len(pts) > 2 * k:
        kern = np.ones(k) / k
        sm = np.stack([np.convolve(pts[:, i], kern, mode="valid") for i in range(2)], axis=1)
        pts = np.concatenate([pts[:1], sm, pts[-1:]])
    longest = float(np.hypot(*np.diff(pts, axis=0).T).sum())
    width = area / max(longest + 1.0, 1.0)
    return longest + width


def augmented_features(
    image: np.ndarray,
    mask: np.ndarray,
    frame: Sequence[float] | None,
    rng: np.random.Generator,
    n: int,
) -> list[dict[str, float]]:
    """Features of ``n`` perturbed copies of an instance: nuisance variation, for weighting.

    Each copy is relit (gain and gradient), maybe blurred and noised, and its mask is
    eroded or dilated by a few pixels and may lose a band on one side (an imperfect
    segmentation). Features that these perturbations move are the ones a few-shot model
    should trust least.
    """
    box = _crop(mask)
    if box is None:
        return []
    h, w = mask.shape
    ys, xs = box
    pad = max(4, int(0.05 * max(ys.stop - ys.start, xs.stop - xs.start)))
    y0, y1 = max(ys.start - pad, 0), min(ys.stop + pad, h)
    x0, x1 = max(xs.start - pad, 0), min(xs.stop + pad, w)
    patch0 = image[y0:y1, x0:x1].astype(np.float32)
    m0 = np.ascontiguousarray(mask[y0:y1, x0:x1], dtype=np.uint8)
    fr = tuple(frame) if frame is not None else (0.0, 0.0, float(w), float(h))
    size = math.sqrt(float(np.count_nonzero(m0)))
    out = []
    for _ in range(n):
        ph, pw = patch0.shape[:2]
        yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
        ang = rng.uniform(0, 2 * math.pi)
        g = rng.uniform(0.75, 1.25) * (
            1.0
            + rng.uniform(-0.3, 0.3)
            * ((xx / max(pw, 1) - 0.5) * math.cos(ang) + (yy / max(ph, 1) - 0.5) * math.sin(ang))
        )
        patch = patch0 * g[:, :, None]
        sigma = rng.uniform(0.0, 2.5)
        if sigma > 0.3:
            patch = cv2.GaussianBlur(patch, (0, 0), sigmaX=sigma, sigmaY=sigma)
        patch = np.clip(patch + rng.normal(0, 2.0, patch.shape), 0, 255).astype(np.uint8)
        r = int(round(rng.uniform(-1.0, 1.0) * max(1.0, 0.02 * size)))
        m = m0
        if r != 0:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(r) + 1,) * 2)
            m = cv2.dilate(m0, k) if r > 0 else cv2.erode(m0, k)
        m = m.astype(bool)
        if rng.uniform() < 0.5:
            rows = np.flatnonzero(m.any(axis=1))
            cols = np.flatnonzero(m.any(axis=0))
            if rows.size > 4 and cols.size > 4:
                side = int(rng.integers(4))
                frac = rng.uniform(0.0, 0.2)
                m = m.copy()
                if side == 0:
                    m[: rows[0] + int(frac * rows.size)] = False
                elif side == 1:
                    m[rows[-1] + 1 - int(frac * rows.size) :] = False
                elif side == 2:
                    m[:, : cols[0] + int(frac * cols.size)] = False
                else:
                    m[:, cols[-1] + 1 - int(frac * cols.size) :] = False
        if not m.any():
            continue
        out.append(crop_features(patch, m, (x0, y0), fr))
    return out


def vector(feats: dict[str, float], names: Sequence[str]) -> np.ndarray:
    """The values of ``names`` from a feature dict, as a float64 vector."""
    return np.array([feats[n] for n in names], dtype=np.float64)
