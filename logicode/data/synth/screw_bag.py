"""Synthetic ``screw_bag`` (MVTec LOCO AD style): a plastic bag of screws, nuts and washers.

A normal bag holds two washers, two nuts, one long screw and one short screw, lying flat on a
light table inside a transparent bag with wrinkles and reflections. Parts touch and overlap.
Screw lengths are fixed relative to the washers' outer diameter ``D``: the long screw is about
``3.0 D`` and the short one about ``2.0 D`` (head top to tip).

Ground truth: ``screw`` components carry ``length`` (px, head top to tip, measured on the full
screw mask along its major axis, also where another part hides it) and ``washer`` components
carry ``diameter`` (px, outer diameter measured the same way). Part masks are the visible
pixels; the bag mask is the whole bag (it is transparent and lies over the parts).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from logicode.data.synth import kit
from logicode.data.synth.base import Part, Sample

logger = logging.getLogger(__name__)

CATEGORY = "screw_bag"
HEIGHT, WIDTH = 1100, 1600

LONG_RATIO = 3.0
"""Nominal long screw length / washer outer diameter (spec band 2.70-3.30)."""
SHORT_RATIO = 2.0
"""Nominal short screw length / washer outer diameter (spec band 1.75-2.25)."""
RATIO_JITTER = 0.07
TOO_LONG_RATIO = 3.72
TOO_SHORT_RATIO = 2.48
VERY_SHORT_RATIO = 1.32

STEEL = (178.0, 180.0, 184.0)
TABLE = (214.0, 214.0, 210.0)

# defect -> (anomaly_type, reason)
_DEFECTS: dict[str, tuple[str, str]] = {
    "1_additional_long_screw": ("quantity", "the bag holds a second long screw"),
    "1_additional_short_screw": ("quantity", "the bag holds a second short screw"),
    "1_additional_nut": ("quantity", "the bag holds three nuts instead of two"),
    "2_additional_nuts": ("quantity", "the bag holds four nuts instead of two"),
    "1_additional_washer": ("quantity", "the bag holds three washers instead of two"),
    "2_additional_washers": ("quantity", "the bag holds four washers instead of two"),
    "1_missing_long_screw": ("quantity", "the long screw is missing"),
    "1_missing_short_screw": ("quantity", "the short screw is missing"),
    "1_missing_nut": ("quantity", "one of the two nuts is missing"),
    "2_missing_nuts": ("quantity", "both nuts are missing"),
    "1_missing_washer": ("quantity", "one of the two washers is missing"),
    "2_missing_washers": ("quantity", "both washers are missing"),
    "screw_too_long": ("size", "the long screw is too long for the washers"),
    "screw_too_short": ("size", "the long screw is too short, between the short and long sizes"),
    "1_very_short_screw": ("size", "the short screw is much too short"),
    "2_very_short_screws": ("size", "both screws are very short"),
}


@dataclass
class _Item:
    """One part while the scene is laid out (crop geometry relative to its centre)."""

    label: str
    role: str
    mask: np.ndarray
    color: np.ndarray
    radius: float
    measure: float
    cx: int = 0
    cy: int = 0
    extra: bool = False
    drop: bool = False
    odd: bool = False

    @property
    def half(self) -> int:
        return self.mask.shape[0] // 2

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Crop box ``(y0, x0, y1, x1)`` in image pixels."""
        h = self.half
        return self.cy - h, self.cx - h, self.cy + h + 1, self.cx + h + 1

    @property
    def window(self) -> kit.Window:
        """The crop box as image slices."""
        y0, x0, y1, x1 = self.box
        return slice(y0, y1), slice(x0, x1)


# --- measurements ---------------------------------------------------------------------------


def axis_extent(mask: np.ndarray) -> float:
    """Extent in pixels of a mask along its major axis (the length of a screw).

    Args:
        mask: ``HW bool`` mask.

    Returns:
        ``max - min + 1`` of the pixel centres projected on the principal axis.
    """
    ys, xs = np.nonzero(mask)
    if xs.size < 2:
        return float(xs.size)
    x = xs - xs.mean()
    y = ys - ys.mean()
    mu20, mu02, mu11 = (x * x).mean(), (y * y).mean(), (x * y).mean()
    theta = 0.5 * math.atan2(2 * mu11, mu20 - mu02)
    p = x * math.cos(theta) + y * math.sin(theta)
    return float(p.max() - p.min() + 1.0)


# --- part shapes (crop centred on the part, local coordinates) ------------------------------


def _grid(half: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    return xx, yy


def _screw(length: float, d_ref: float, angle: float, rng: np.random.Generator) -> _Item:
    """A hex-head screw lying on its side: head, threaded shaft, chamfered tip."""
    d = 0.40 * d_ref
    hw = 0.74 * d_ref
    hl = 0.30 * d_ref
    pitch = 0.085 * d_ref
    half = math.ceil(math.hypot(length / 2, hw / 2)) + 3
    xx, yy = _grid(half)
    c, s_ = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    s = xx * c + yy * s_ + length / 2
    t = -xx * s_ + yy * c
    at = np.abs(t)
    corner = 0.08 * d_ref
    head = (s >= 0) & (s <= hl) & (at <= hw / 2 - 0.7 * np.maximum(0.0, corner - s))
    tooth = 0.5 + 0.5 * np.cos(2 * np.pi * (s + 0.3 * t) / pitch)
    thread_start = hl + 0.12 * d_ref
    r_eff = np.where(s > thread_start, d / 2 - 0.035 * d_ref * (1.0 - tooth), d / 2)
    tip = length - 0.12 * d_ref
    r_eff = np.minimum(r_eff, d / 2 - 0.9 * np.maximum(0.0, s - tip))
    shaft = (s > hl) & (s <= length) & (at <= r_eff)
    mask = head | shaft
    # Shading: cylinder across the shaft with a specular band, facets on the head.
    g = np.sqrt(np.clip(1.0 - (t / (d / 2)) ** 2, 0.0, 1.0))
    spec = np.exp(-((((t / (d / 2)) + 0.35) / 0.2) ** 2))
    val = 0.42 + 0.45 * g + 0.35 * spec
    val = np.where(s > thread_start, val * (0.78 + 0.22 * tooth), val)
    tn = at / (hw / 2)
    head_val = np.where(tn < 0.34, 1.02, np.where(tn < 0.9, 0.74, 0.55))
    head_val = head_val * (0.92 + 0.08 * np.clip(s / hl, 0, 1))
    val = np.where(head, head_val, val)
    color = kit.colorize([val], [np.asarray(STEEL) * rng.uniform(0.95, 1.04)])
    return _Item("screw", "screw", mask, color, length / 2, 0.0)


def _nut(d_ref: float, angle: float, rng: np.random.Generator) -> _Item:
    """A hex nut lying flat, seen from above, with its threaded hole."""
    f = 0.80 * d_ref
    r_hole = 0.26 * d_ref
    half = math.ceil(f / math.sqrt(3)) + 3
    xx, yy = _grid(half)
    proj = []
    for k in range(3):
        a = math.radians(angle + 60 * k)
        proj.append(np.abs(xx * math.cos(a) + yy * math.sin(a)))
    hexd = np.maximum(np.maximum(proj[0], proj[1]), proj[2])
    r = np.hypot(xx, yy)
    mask = (hexd <= f / 2) & (r >= r_hole)
    phi = rng.uniform(0, 2 * np.pi)
    theta = np.arctan2(yy, xx)
    val = 0.86 + 0.12 * np.cos(theta - phi) * np.clip(r / (f / 2), 0, 1)
    val = np.where(r > 0.96 * f / 2, val * 0.72, val)
    val = np.where(hexd > f / 2 - 2.5, val * 0.8, val)
    ring = r < r_hole + 0.06 * d_ref
    val = np.where(ring, 0.5 + 0.1 * np.sin(r * 2.2), val)
    color = kit.colorize([val], [np.asarray(STEEL) * rng.uniform(0.93, 1.02)])
    return _Item("nut", "nut", mask, color, f / 2, 0.0)


def _washer(d_ref: float, rng: np.random.Generator) -> _Item:
    """A flat washer seen from above: a ring with bevelled edges."""
    outer = d_ref / 2
    inner = 0.27 * d_ref
    half = math.ceil(outer) + 3
    xx, yy = _grid(half)
    r = np.hypot(xx, yy)
    mask = (r <= outer) & (r >= inner)
    phi = rng.uniform(0, 2 * np.pi)
    theta = np.arctan2(yy, xx)
    val = 0.84 + 0.14 * np.cos(theta - phi) + 0.025 * np.sin(r * 1.4)
    val = np.where((r > outer - 2.5) | (r < inner + 2.5), val * 0.7, val)
    color = kit.colorize([val], [np.asarray(STEEL) * rng.uniform(0.95, 1.04)])
    return _Item("washer", "washer", mask, color, outer, 0.0)


# --- layout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bag(kit.Frame):
    """The bag: a rectangle of ``w x h`` pixels; its frame maps bag-local ``(u, v)`` to pixels."""

    w: float = 0.0
    h: float = 0.0

    def to_local(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bag-local coordinates of image points (the inverse of ``to_img``)."""
        c, s = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        dx, dy = x - self.cx, y - self.cy
        return dx * c + dy * s, -dx * s + dy * c

    @property
    def interior(self) -> tuple[float, float, float]:
        """Half width, half height and vertical offset of the region parts may occupy."""
        return self.w / 2 - 55, self.h / 2 - 85, 30.0


def _outline(item: _Item) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (from the part centre) of the part's border, subsampled."""
    m = item.mask.astype(np.uint8)
    edge = m & ~cv2.erode(m, np.ones((3, 3), np.uint8)).astype(bool)
    ys, xs = np.nonzero(edge)
    return (xs[::3] - item.half).astype(np.float32), (ys[::3] - item.half).astype(np.float32)


def _overlap(a: _Item, b: _Item) -> int:
    ay0, ax0, ay1, ax1 = a.box
    by0, bx0, by1, bx1 = b.box
    y0, x0, y1, x1 = max(ay0, by0), max(ax0, bx0), min(ay1, by1), min(ax1, bx1)
    if y0 >= y1 or x0 >= x1:
        return 0
    ma = a.mask[y0 - ay0 : y1 - ay0, x0 - ax0 : x1 - ax0]
    mb = b.mask[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]
    return int(np.count_nonzero(ma & mb))


def _place(items: list[_Item], bag: _Bag, rng: np.random.Generator) -> None:
    """Place parts inside the bag; some touch or overlap, none is hidden by more than ~36%.

    Every part overlaps at most two others, each by at most 18% of the smaller part's area.
    The second part always overlaps the first, so a bag never has all parts apart.
    """
    iw, ih, off = bag.interior
    areas = [int(np.count_nonzero(it.mask)) for it in items]
    partners = [0] * len(items)
    placed: list[int] = []
    for i, it in enumerate(items):
        ox, oy = _outline(it)
        want_touch = len(placed) == 1 or (len(placed) > 1 and rng.random() < 0.5)
        fallback: tuple[int, int] | None = None
        done = False
        for attempt in range(200):
            near = bool(placed) and want_touch and attempt < 150
            if near:
                anchor = items[placed[int(rng.integers(len(placed)))]]
                ang = rng.uniform(0, 2 * np.pi)
                dist = (anchor.radius + it.radius) * rng.uniform(0.3, 0.95)
                cx, cy = anchor.cx + dist * math.cos(ang), anchor.cy + dist * math.sin(ang)
            else:
                u = rng.uniform(-0.6 * iw, 0.6 * iw)
                v = rng.uniform(-0.6 * ih, 0.6 * ih) + off
                cx, cy = bag.to_img((u, v))
            it.cx, it.cy = int(round(cx)), int(round(cy))
            pu, pv = bag.to_local(ox + it.cx, oy + it.cy)
            if np.any(np.abs(pu) > iw) or np.any(np.abs(pv - off) > ih):
                continue
            hits = []
            for k in placed:
                ov = _overlap(it, items[k])
                if ov > 0:
                    hits.append(k)
                    if ov > 0.18 * min(areas[i], areas[k]) or partners[k] >= 2:
                        hits = [-1, -1, -1]
                        break
            if len(hits) > 2:
                continue
            if near and not hits:
                fallback = fallback or (it.cx, it.cy)
                continue
            done = True
            break
        if not done:
            if fallback is None:
                raise RuntimeError("screw_bag layout failed: no room for a part in the bag")
            it.cx, it.cy = fallback
            hits = []
        for k in hits:
            partners[k] += 1
            partners[i] += 1
        placed.append(i)


# --- image ----------------------------------------------------------------------------------


def _bag_polygon(bag: _Bag, rng: np.random.Generator) -> list[tuple[float, float]]:
    hw, hh = bag.w / 2, bag.h / 2
    pts: list[tuple[float, float]] = []
    corners = [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
    for k in range(4):
        (u0, v0), (u1, v1) = corners[k], corners[(k + 1) % 4]
        for f in np.linspace(0, 1, 7)[:-1]:
            u, v = u0 + (u1 - u0) * f, v0 + (v1 - v0) * f
            j = rng.uniform(-3, 3) if 0 < f else 0.0
            nu, nv = (0.0, j) if v0 == v1 else (j, 0.0)
            pts.append(bag.to_img((u + nu, v + nv)))
    return pts


def _bag_overlay(
    img: np.ndarray, bag: _Bag, poly: list[tuple[float, float]], rng: np.random.Generator
) -> None:
    """Lay the transparent bag over the scene: haze, seal, outline, wrinkles and glare."""
    h, w = img.shape[:2]
    q = 4
    sh, sw = h // q, w // q
    alpha = np.zeros((sh, sw), np.float32)
    pts = np.round(np.asarray(poly) / q * 16).astype(np.int32)
    cv2.fillPoly(alpha, [pts], 1.0, cv2.LINE_AA, 4)
    sheen = np.zeros((sh, sw), np.float32)
    cv2.polylines(sheen, [pts], True, -2.5, 2, cv2.LINE_AA, 4)
    inner = np.round((np.asarray(poly) - [bag.cx, bag.cy]) * 0.985 + [bag.cx, bag.cy])
    cv2.polylines(sheen, [np.round(inner / q * 16).astype(np.int32)], True, 2.0, 1, cv2.LINE_AA, 4)
    # Heat seal: striped band along the top edge.
    for k in range(6):
        v = -bag.h / 2 + 8 + k * 9
        a = bag.to_img((-bag.w / 2 + 6, v))
        b = bag.to_img((bag.w / 2 - 6, v))
        p = np.round(np.asarray([a, b]) / q * 16).astype(np.int32)
        cv2.polylines(sheen, [p], False, 1.6 if k % 2 else -1.2, 1, cv2.LINE_AA, 4)
    # Wrinkles: bent bright ridges with a shadow beside them.
    for _ in range(int(rng.integers(9, 16))):
        u = rng.uniform(-bag.w / 2 + 30, bag.w / 2 - 30)
        v = rng.uniform(-bag.h / 2 + 60, bag.h / 2 - 30)
        ang = rng.uniform(0, np.pi)
        seg = []
        for _k in range(int(rng.integers(3, 6))):
            seg.append(bag.to_img((u, v)))
            ang += rng.uniform(-0.5, 0.5)
            step = rng.uniform(40, 110)
            u = float(np.clip(u + step * math.cos(ang), -bag.w / 2 + 10, bag.w / 2 - 10))
            v = float(np.clip(v + step * math.sin(ang), -bag.h / 2 + 10, bag.h / 2 - 10))
        p = np.asarray(seg)
        broad = rng.random() < 0.35
        val, thick = (0.9, 4) if broad else (2.2, 1)
        cv2.polylines(sheen, [np.round(p / q * 16).astype(np.int32)], False, val, thick, 16, 4)
        p2 = np.round((p + [3.0, 4.0]) / q * 16).astype(np.int32)
        cv2.polylines(sheen, [p2], False, -1.4, 1, cv2.LINE_AA, 4)
    # Glare: a few large soft reflections.
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = bag.to_img(
            (rng.uniform(-bag.w / 3, bag.w / 3), rng.uniform(-bag.h / 3, bag.h / 3))
        )
        axes = (int(rng.uniform(40, 140) / q), int(rng.uniform(8, 30) / q))
        cv2.ellipse(sheen, (int(cx / q), int(cy / q)), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    sheen = cv2.GaussianBlur(sheen, (0, 0), 1.1) * alpha
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.8)
    gain = cv2.resize(1.0 - 0.07 * alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    add = cv2.resize(8.0 * alpha + 28.0 * sheen, (w, h), interpolation=cv2.INTER_LINEAR)
    kit.adjust(img, gain=gain, offset=add)


# --- generator ------------------------------------------------------------------------------


def _ratio(rng: np.random.Generator, nominal: float) -> float:
    return nominal + rng.uniform(-RATIO_JITTER, RATIO_JITTER)


class ScrewBagGenerator:
    """Procedural renderer of ``screw_bag`` images and their logical anomalies."""

    category: str = CATEGORY
    defects: tuple[str, ...] = tuple(_DEFECTS)

    def __init__(self, height: int = HEIGHT, width: int = WIDTH) -> None:
        """Create a generator for images of ``height x width`` pixels (nominal 1100x1600)."""
        self.height = height
        self.width = width

    def render(self, rng: np.random.Generator, defect: str | None = None) -> Sample:
        """Render one image: a good one when ``defect`` is None, else that defect only.

        Raises:
            ValueError: If ``defect`` is not a defect this generator renders.
        """
        kit.check_defect(CATEGORY, defect, _DEFECTS)
        h, w = self.height, self.width
        scale = min(h / HEIGHT, w / WIDTH)
        d_ref = rng.uniform(114, 122) * scale
        items = self._items(rng, defect, d_ref)
        bag = _Bag(  # keywords in the order of the random draws
            cx=w / 2 + rng.uniform(-30, 30) * scale,
            cy=h / 2 + rng.uniform(-20, 20) * scale,
            w=rng.uniform(1210, 1290) * scale,
            h=rng.uniform(870, 930) * scale,
            angle=rng.uniform(-3, 3),
        )
        order = rng.permutation(len(items))
        _place([items[k] for k in order], bag, rng)
        shown = [it for it in items if not it.drop]
        z = rng.permutation(len(shown))
        stack = [shown[k] for k in z]  # bottom first

        poly = _bag_polygon(bag, rng)

        # Visible masks, top of the stack first.
        covered = np.zeros((h, w), bool)
        visible: dict[int, np.ndarray] = {}
        for it in reversed(stack):
            vis = it.mask & ~covered[it.window]
            covered[it.window] |= it.mask
            visible[id(it)] = vis

        img = kit.canvas(rng, h, w, TABLE, texture=2.1, grain=12, swell=3.0, swell_grain=200)
        offset = (4.0 * rng.uniform(1.5, 3.0), 4.0 * rng.uniform(1.5, 3.0))
        kit.cast_shadow(img, covered, offset=offset, sigma=10.0, strength=0.28, scale=4)
        for it in stack:
            kit.copy_where(img[it.window], it.color, it.mask)
        _bag_overlay(img, bag, poly, rng)
        image = kit.finish(img, rng, light=0.06, vignette=0.10, blur=0.7, noise=2.6)

        parts = [Part("bag", kit.polygon_mask((h, w), poly), {})]
        for it in sorted(shown, key=lambda i: ("screw", "nut", "washer").index(i.label)):
            attrs: dict[str, float] = {}
            if it.label == "screw":
                attrs["length"] = round(it.measure, 1)
            elif it.label == "washer":
                attrs["diameter"] = round(it.measure, 1)
            parts.append(Part(it.label, kit.embed((h, w), visible[id(it)], it.window), attrs))

        if defect is None:
            return Sample(image=image, parts=parts)
        region = np.zeros((h, w), bool)
        for it in items:
            if it.drop or it.extra or it.odd:
                region[it.window] |= it.mask
        anomaly_type, reason = _DEFECTS[defect]
        return Sample(
            image=image,
            parts=parts,
            defect=defect,
            anomaly_type=anomaly_type,
            reason=reason,
            anomaly_mask=region,
        )

    def _items(self, rng: np.random.Generator, defect: str | None, d_ref: float) -> list[_Item]:
        """The parts of the bag for ``defect`` (dropped ones are laid out but not drawn)."""
        long_r, short_r = _ratio(rng, LONG_RATIO), _ratio(rng, SHORT_RATIO)
        odd_long = odd_short = False
        if defect == "screw_too_long":
            long_r, odd_long = TOO_LONG_RATIO + rng.uniform(-0.06, 0.06), True
        elif defect == "screw_too_short":
            long_r, odd_long = TOO_SHORT_RATIO + rng.uniform(-0.04, 0.04), True
        elif defect == "1_very_short_screw":
            short_r, odd_short = VERY_SHORT_RATIO + rng.uniform(-0.05, 0.05), True
        elif defect == "2_very_short_screws":
            long_r, odd_long = VERY_SHORT_RATIO + rng.uniform(-0.05, 0.05), True
            short_r, odd_short = VERY_SHORT_RATIO + rng.uniform(-0.05, 0.05), True

        def screw(ratio: float) -> _Item:
            return _screw(ratio * d_ref, d_ref, rng.uniform(0, 360), rng)

        items = [
            _washer(d_ref, rng),
            _washer(d_ref, rng),
            _nut(d_ref, rng.uniform(0, 60), rng),
            _nut(d_ref, rng.uniform(0, 60), rng),
        ]
        long_s, short_s = screw(long_r), screw(short_r)
        long_s.odd, short_s.odd = odd_long, odd_short
        items += [long_s, short_s]
        n_extra = {"1_additional_washer": 1, "2_additional_washers": 2}.get(defect or "", 0)
        items += [_washer(d_ref, rng) for _ in range(n_extra)]
        n_extra = {"1_additional_nut": 1, "2_additional_nuts": 2}.get(defect or "", 0)
        items += [_nut(d_ref, rng.uniform(0, 60), rng) for _ in range(n_extra)]
        if defect == "1_additional_long_screw":
            items.append(screw(_ratio(rng, LONG_RATIO)))
        elif defect == "1_additional_short_screw":
            items.append(screw(_ratio(rng, SHORT_RATIO)))
        for it in items[6:]:
            it.extra = True
        drops = {
            "1_missing_washer": [0],
            "2_missing_washers": [0, 1],
            "1_missing_nut": [2],
            "2_missing_nuts": [2, 3],
            "1_missing_long_screw": [4],
            "1_missing_short_screw": [5],
        }.get(defect or "", [])
        for k in drops:
            items[k].drop = True
        for it in items:
            it.measure = axis_extent(it.mask)
        return items


def make() -> ScrewBagGenerator:
    """The ``screw_bag`` generator (nominal 1600x1100 images)."""
    return ScrewBagGenerator()
