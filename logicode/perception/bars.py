"""Bars (walls, screws, cables): how blobs of them are cut into single bars.

A network of bars is cut at its junctions; bars across or against each other are split
along fitted lines; bars end to end are cut where both pieces match the references' width
profiles; a bar's trunk is found without the thin rims stuck to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from scipy import ndimage as ndi

from logicode.perception.blobs import Blob, crop_to_mask, mean_width
from logicode.perception.features import shape_measures
from logicode.perception.label_stats import LabelStats
from logicode.perception.splits import kmeans_split

TRUNK_OPEN = 0.3
"""A blob of bars is opened by a disc of this times the narrowest bar's width to find its
trunk without thin rims (see :func:`bar_trunk`)."""


PROFILE_BINS = 24
"""Bins of a bar's width profile along its length (see :func:`width_profile`)."""


PROFILE_SHAPED = 0.1
"""Bars whose reference width profiles differ from a uniform one by at least this (mean
absolute difference of widths relative to their mean) have a shape along their length
(a head) that tells one long bar from two short ones end to end."""


def bars_shaped(sts: Sequence[LabelStats]) -> bool:
    """True when the labels' reference bars have a shape along their length.

    Their width profiles (:func:`mask_profile`) differ from a uniform one by at least
    :data:`PROFILE_SHAPED` in the median (a head at one end, a neck): one long bar and
    two short ones end to end then look different.
    """
    profiles = [p for st in sts for p in st.profiles]
    return bool(profiles) and (
        float(np.median([np.abs(p - 1.0).mean() for p in profiles])) >= PROFILE_SHAPED
    )


def split_at_junctions(
    mask: np.ndarray, k: int, width: float, min_area: float, max_area: float | None = None
) -> list[np.ndarray]:
    """Split a network of thin bars (a grid of walls) where the bars meet.

    The mask's skeleton is found; its branch points, grown by 0.8 x the bars' width, are
    cut out, and the 4-connected pieces of at least ``min_area`` pixels are the parts (the
    cut pixels and smaller specks then go to the nearest part). Returns an empty list
    unless the mask has at least two junctions and the cut gives ``k`` parts or one fewer
    or more, so the caller can fall back to :func:`~logicode.perception.splits.split_blob`.
    With ``max_area``, a cut into other numbers of parts is kept too when every part is at
    most that large (no two bars left joined) and there are at least half of ``k``: ``k``
    comes from the mask's area, which blur and light widen, while the parts are counted
    one by one.

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
    for i, m in enumerate(kmeans_split(mask, k)):
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
    the narrowest one (``bar_width``, :func:`mean_width`) is not a bar: the rim of a
    part next to it that the pixel classifier took for bar.
    """
    keep = [q for q in parts if q.area >= min_area or mean_width(q.mask) >= 0.6 * bar_width]
    return keep or parts


def straighter(
    a: list[np.ndarray], b: list[np.ndarray], min_width: float = 0.0
) -> list[np.ndarray]:
    """The split whose parts are thinner bars: ``b`` when they are thinner, else ``a``.

    A split's thickness is its thickest part's minor axis; ``b`` wins when it has as many
    parts as ``a`` and its thickness is less than ``a``'s (a bar crossed by another may be
    two collinear pieces; a watershed gives a bar's end to the bar it touches, whose
    part then is a bent, thicker one), unless one of its parts is narrower than ``min_width``
    (:func:`mean_width`): a bar cut along its length, or two bars end to end cut into
    two side by side, gives strips thinner than any bar.
    """
    if len(b) != len(a) or len(b) < 2:
        return a
    if min_width > 0 and min(mean_width(crop_to_mask(m)) for m in b) < min_width:
        return a

    def thickness(parts: list[np.ndarray]) -> float:
        return max(shape_measures(crop_to_mask(m))["minor_len"] for m in parts)

    return b if thickness(b) < thickness(a) else a
