"""Splitting a blob that holds several instances.

A watershed on its distance transform (:func:`split_blob`), or k-means on its pixel
coordinates when the transform has too few cores.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage as ndi


def kmeans_split(mask: np.ndarray, k: int) -> list[np.ndarray]:
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
        return kmeans_split(mask, k) if thin or trust_k else [mask]
    markers = np.zeros(mask.shape, np.int32)
    for i, (r, c) in enumerate(peaks, start=1):
        markers[r, c] = i
    ws = watershed(-dist, markers, mask=region)
    parts = [(ws == i) & mask for i in range(1, len(peaks) + 1)]
    parts = [p for p in parts if p.any()]
    share = float(np.count_nonzero(mask)) / k
    if fill_holes and trust_k and min(int(np.count_nonzero(p)) for p in parts) < 0.3 * share:
        return kmeans_split(mask, k)  # a core in a hole: its part holds almost nothing
    return parts
