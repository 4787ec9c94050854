"""Synthetic ``splicing_connectors`` (MVTec LOCO AD style): two lever connectors and a cable.

A normal image shows two splicing connectors, one in the left half and one in the right half,
with the same number of clamps (2, 3 or 5 orange levers stacked from top to bottom), joined by
exactly one cable. The cable colour follows the clamp count (2: yellow, 3: blue, 5: red); the
cable enters both connectors at the same clamp index counted from the top (mirror symmetry);
its visible length is fixed (about 43% of the image width).

Ground truth: ``connector`` components carry ``clamps`` (int); ``cable`` components carry
``color`` (yellow/blue/red), ``left_clamp`` / ``right_clamp`` (the 1-based clamp index, from
the top, where the cable enters the left / right connector, or None when that end enters no
connector), ``length`` (px along the cable's path between its ends, a cut included) and
``pieces`` (1, or 2 for a cut cable). Masks are the visible pixels.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from logicode.data.synth import kit
from logicode.data.synth.base import Part, Sample

logger = logging.getLogger(__name__)

CATEGORY = "splicing_connectors"
HEIGHT, WIDTH = 850, 1700

CABLE_COLORS: dict[int, str] = {2: "yellow", 3: "blue", 5: "red"}
"""Cable colour of each clamp count."""
RGB: dict[str, tuple[float, float, float]] = {
    "yellow": (226.0, 194.0, 40.0),
    "blue": (40.0, 92.0, 196.0),
    "red": (200.0, 38.0, 36.0),
}
LENGTH_RANGE = (0.41, 0.45)
"""Normal cable length as a fraction of the image width (spec band 0.37-0.50)."""
SHORT_RANGE = (0.25, 0.29)
"""Too-short cable length as a fraction of the image width."""

TABLE = (134.0, 137.0, 141.0)
HOUSING = (206.0, 208.0, 210.0)
LEVER = (236.0, 122.0, 34.0)
COPPER = (206.0, 128.0, 72.0)

_DEFECTS: dict[str, tuple[str, str]] = {
    "wrong_connector_type_3_2": ("matching", "one connector has 3 clamps, the other 2"),
    "wrong_connector_type_5_2": ("matching", "one connector has 5 clamps, the other 2"),
    "wrong_connector_type_5_3": ("matching", "one connector has 5 clamps, the other 3"),
    "cable_color": ("matching", "the cable colour does not match the connectors' clamp count"),
    "missing_cable": ("quantity", "there is no cable between the connectors"),
    "extra_cable": ("quantity", "a second cable joins the connectors"),
    "missing_connector": ("quantity", "one connector is missing; the cable end lies free"),
    "missing_connector_and_cable": ("quantity", "one connector and the cable are missing"),
    "wrong_cable_location": ("position", "the cable enters the connectors at different clamps"),
    "cable_too_short_t2": ("size", "the cable between the 2-clamp connectors is too short"),
    "cable_too_short_t3": ("size", "the cable between the 3-clamp connectors is too short"),
    "cable_too_short_t5": ("size", "the cable between the 5-clamp connectors is too short"),
    "cable_cut": ("other", "the cable is cut through"),
}


@dataclass
class _Connector:
    """A connector's geometry: centre, rotation and size; ``side`` says where its cable exits."""

    clamps: int
    side: str
    cx: float
    cy: float
    angle: float
    width: float
    pitch: float
    margin: float = 14.0

    @property
    def height(self) -> float:
        return self.clamps * self.pitch + 2 * self.margin

    @property
    def out_dir(self) -> tuple[float, float]:
        """Unit vector leaving the connector through its inner (cable) edge."""
        c, s = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        sign = 1.0 if self.side == "left" else -1.0
        return sign * c, sign * s

    def point(self, u: float, v: float) -> tuple[float, float]:
        """Image point of local ``(u, v)``; ``u`` grows towards the cable edge."""
        c, s = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        u = u if self.side == "left" else -u
        return self.cx + u * c - v * s, self.cy + u * s + v * c

    def entry(self, k: int) -> tuple[float, float]:
        """Where a cable enters clamp ``k`` (1-based, from the top) on the inner edge."""
        v = -self.height / 2 + self.margin + (k - 0.5) * self.pitch
        return self.point(self.width / 2, v)


def _sdf_box(u: np.ndarray, v: np.ndarray, hw: float, hh: float, r: float) -> np.ndarray:
    """Signed distance to a rounded box of half sizes ``hw, hh`` (negative inside)."""
    qx = np.abs(u) - hw + r
    qy = np.abs(v) - hh + r
    out = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)
    return out - r


def _render_connector(
    con: _Connector, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Mask and colours of a connector in a crop; returns ``(mask, color, y0, x0)``."""
    protrude = 10.0
    cw, hh = con.width, con.height
    c, s = math.cos(math.radians(con.angle)), math.sin(math.radians(con.angle))
    ext_u = cw / 2 + protrude
    half_x = math.ceil(ext_u * abs(c) + hh / 2 * abs(s)) + 3
    half_y = math.ceil(ext_u * abs(s) + hh / 2 * abs(c)) + 3
    icx, icy = int(round(con.cx)), int(round(con.cy))
    yy, xx = np.mgrid[-half_y : half_y + 1, -half_x : half_x + 1].astype(np.float32)
    dx, dy = xx + (icx - con.cx), yy + (icy - con.cy)
    u = dx * c + dy * s
    v = -dx * s + dy * c
    if con.side == "right":
        u = -u
    body = _sdf_box(u, v, cw / 2, hh / 2, 14.0)
    mask = body <= 0
    val = 0.80 + 0.2 * np.clip(-body / 14.0, 0, 1)
    color = kit.colorize([val], [np.asarray(HOUSING) * rng.uniform(0.96, 1.03)])
    top = -hh / 2 + con.margin
    lu0, lu1 = -cw / 2 - protrude, 0.02 * cw
    band = con.pitch / 2 + ext_u * abs(s) + 3
    for k in range(con.clamps):
        vc = top + (k + 0.5) * con.pitch
        # Work on the rows this clamp can reach only.
        yc = vc * c + (con.cy - icy) + half_y
        r0, r1 = max(math.floor(yc - band), 0), min(math.ceil(yc + band) + 1, u.shape[0])
        uu, lv, col = u[r0:r1], v[r0:r1] - vc, color[r0:r1]
        # Metal contact seen through the clear housing, and the wire entry hole.
        slot = (uu > 0.05 * cw) & (uu < 0.36 * cw) & (np.abs(lv) < 0.2 * con.pitch)
        col[slot] = (118.0, 120.0, 124.0)
        hole = _sdf_box(uu - 0.43 * cw, lv, 0.07 * cw, 0.2 * con.pitch, 5.0) <= 0
        col[hole] = (58.0, 58.0, 62.0)
        # Orange lever on the outer side, protruding a little beyond the housing.
        lever_sdf = _sdf_box(uu - (lu0 + lu1) / 2, lv, (lu1 - lu0) / 2, con.pitch / 2 - 7, 9.0)
        lever = lever_sdf <= 0
        ridge = np.where(uu < lu0 + 0.3 * cw, 0.9 + 0.1 * np.cos((uu - lu0) * 0.9), 1.0)
        lval = (0.78 + 0.22 * np.clip(-lever_sdf / 8.0, 0, 1)) * ridge
        col[lever] = np.asarray(LEVER, np.float32) * lval[lever][:, None]
        mask[r0:r1] |= lever
    return mask, color, icy - half_y, icx - half_x


def _bezier(
    p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, n: int = 160
) -> np.ndarray:
    """``n`` points ``(x, y)`` of the cubic Bezier curve with control points ``p0..p3``."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    a, b, c, d = (np.asarray(p, np.float64) for p in (p0, p1, p2, p3))
    return (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t**2 * c + t**3 * d


def _path_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def _cable_path(
    left: _Connector, right: _Connector, k_left: int, k_right: int, bow: float
) -> np.ndarray:
    """Path of a cable from clamp ``k_left`` of ``left`` to clamp ``k_right`` of ``right``."""
    a, b = np.asarray(left.entry(k_left)), np.asarray(right.entry(k_right))
    span = float(np.linalg.norm(b - a))
    oa, ob = np.asarray(left.out_dir), np.asarray(right.out_dir)
    h = 0.35 * span
    return _bezier(a, a + oa * h + [0, bow], b + ob * h + [0, bow], b)


@dataclass
class _Cable:
    color: str
    k_left: int
    k_right: int
    path: np.ndarray
    cut: bool = False
    extra: bool = False
    mask: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))
    copper: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))
    gap: tuple[float, float] | None = None


def _paint_tube(
    img: np.ndarray, mask: np.ndarray, color: tuple[float, float, float], rng: np.random.Generator
) -> None:
    """Paint a round cable: darker towards its border, with a lit ridge along its middle."""
    kit.paint(img, mask, color, rng, shade=0.55, noise=2.0)
    win = kit.window_of_mask(mask, pad=1)
    if win is None:
        return
    crop = img[win]
    dist = cv2.distanceTransform(mask[win].view(np.uint8), cv2.DIST_L2, 3)
    hi = dist > 0.75 * float(dist.max())
    crop[hi] = np.minimum(crop[hi] * 1.18 + 18.0, 255.0)


def _plan(rng: np.random.Generator, d: str) -> tuple[int, int, str, int, int]:
    """Clamp counts (left, right), cable colour and clamp indices (left, right) for defect ``d``."""
    if d.startswith("wrong_connector_type_"):
        a, b = (int(x) for x in d.rsplit("_", 2)[-2:])
        n_left, n_right = (a, b) if rng.random() < 0.5 else (b, a)
        color = CABLE_COLORS[(n_left, n_right)[int(rng.integers(2))]]
    else:
        n = int(d[-1]) if d.startswith("cable_too_short_t") else int(rng.choice([2, 3, 5]))
        n_left = n_right = n
        color = CABLE_COLORS[n]
    if d == "cable_color":
        color = str(rng.choice([c for c in RGB if c != color]))
    k_left = int(rng.integers(1, min(n_left, n_right) + 1))
    k_right = k_left
    if d == "wrong_cable_location":
        k_right = int(rng.choice([k for k in range(1, n_right + 1) if k != k_left]))
    return n_left, n_right, color, k_left, k_right


def _layout(
    rng: np.random.Generator,
    shape: tuple[int, int],
    counts: tuple[int, int],
    clamps: tuple[int, int],
    target: float,
) -> tuple[_Connector, _Connector, float]:
    """Place both connectors so the cable between ``clamps`` has length ``target``.

    Returns:
        The left and right connectors and the cable's bow (vertical sag) in pixels.
    """
    h, w = shape
    scale = min(h / HEIGHT, w / WIDTH)
    bow = rng.uniform(-70, 70) * scale
    cw, pitch = 200.0 * scale, 64.0 * scale
    mid_x = w / 2 + rng.uniform(-40, 40) * scale
    cy = h / 2 + rng.uniform(-35, 35) * scale
    left = _Connector(counts[0], "left", 0, cy + rng.uniform(-8, 8), rng.uniform(-3, 3), cw, pitch)
    right = _Connector(
        counts[1], "right", 0, cy + rng.uniform(-8, 8), rng.uniform(-3, 3), cw, pitch
    )
    gap = target
    for _ in range(7):
        left.cx = mid_x - gap / 2 - cw / 2
        right.cx = mid_x + gap / 2 + cw / 2
        gap *= target / _path_length(_cable_path(left, right, clamps[0], clamps[1], bow))
    left.cx = mid_x - gap / 2 - cw / 2
    right.cx = mid_x + gap / 2 + cw / 2
    return left, right, bow


def _cable_attributes(cab: _Cable, drop_side: str | None) -> dict[str, object]:
    return {
        "color": cab.color,
        "left_clamp": cab.k_left if drop_side != "left" else None,
        "right_clamp": cab.k_right if drop_side != "right" else None,
        "length": round(_path_length(cab.path), 1),
        "pieces": 2 if cab.cut else 1,
    }


def _anomaly_region(
    d: str,
    con_masks: dict[str, np.ndarray],
    cables: list[_Cable],
    occl: np.ndarray,
    drop_side: str | None,
    scale: float,
) -> np.ndarray:
    """Ground-truth region of defect ``d`` (where it is, or where the missing thing would be)."""
    cable = cables[0].mask
    if d.startswith("wrong_connector_type_"):
        return con_masks["left"] | con_masks["right"]
    if d == "extra_cable":
        return cables[1].mask & ~occl
    if d in ("missing_connector", "missing_connector_and_cable"):
        region = con_masks[drop_side or "left"].copy()
        if d == "missing_connector_and_cable":
            region |= cable
        return region
    if d == "cable_cut":
        gx, gy = cables[0].gap or (0.0, 0.0)
        return kit.ellipse_mask(occl.shape, (gx, gy), (45 * scale, 45 * scale))
    return cable & ~occl


class SplicingConnectorsGenerator:
    """Procedural renderer of ``splicing_connectors`` images and their logical anomalies."""

    category: str = CATEGORY
    defects: tuple[str, ...] = tuple(_DEFECTS)

    def __init__(self, height: int = HEIGHT, width: int = WIDTH) -> None:
        """Create a generator for images of ``height x width`` pixels (nominal 850x1700)."""
        self.height = height
        self.width = width

    def render(self, rng: np.random.Generator, defect: str | None = None) -> Sample:
        """Render one image: a good one when ``defect`` is None, else that defect only.

        Raises:
            ValueError: If ``defect`` is not a defect this generator renders.
        """
        kit.check_defect(CATEGORY, defect, _DEFECTS)
        h, w = self.height, self.width
        shape = (h, w)
        scale = min(h / HEIGHT, w / WIDTH)
        d = defect or ""
        n_left, n_right, color, k_left, k_right = _plan(rng, d)
        frac = SHORT_RANGE if d.startswith("cable_too_short_t") else LENGTH_RANGE
        left, right, bow = _layout(
            rng, shape, (n_left, n_right), (k_left, k_right), rng.uniform(*frac) * w
        )
        cables = [_Cable(color, k_left, k_right, _cable_path(left, right, k_left, k_right, bow))]
        if d == "extra_cable":
            k2 = int(rng.choice([k for k in range(1, n_left + 1) if k != k_left]))
            cables.append(_Cable(color, k2, k2, _cable_path(left, right, k2, k2, bow), extra=True))
        cables[0].cut = d == "cable_cut"
        drop_side = None
        if d in ("missing_connector", "missing_connector_and_cable"):
            drop_side = "left" if rng.random() < 0.5 else "right"
        drop_cable = d in ("missing_cable", "missing_connector_and_cable")

        # Masks (amodal); connectors lie on top of the cable ends.
        con_masks: dict[str, np.ndarray] = {}
        con_draw: dict[str, tuple[np.ndarray, np.ndarray, int, int]] = {}
        for con in (left, right):
            m, col, y0, x0 = _render_connector(con, rng)
            full = np.zeros(shape, bool)
            kit.blit(full, m, y0, x0)
            con_masks[con.side] = full
            con_draw[con.side] = (m, col, y0, x0)
        for cab in cables:
            _cable_raster(shape, cab, left, right, drop_side, 22.0 * scale, rng)
        shown_cons = [c for c in (left, right) if c.side != drop_side]
        shown_cables = [] if drop_cable else cables
        occl = np.zeros(shape, bool)
        for con in shown_cons:
            occl |= con_masks[con.side]
        union = occl.copy()
        for cab in shown_cables:
            union |= cab.mask

        # Image.
        img = kit.canvas(rng, h, w, TABLE, texture=2.3, grain=10, swell=4.0, swell_grain=180)
        offset = (4.0 * rng.uniform(1.5, 3.0), 4.0 * rng.uniform(1.5, 3.0))
        kit.cast_shadow(img, union, offset=offset, sigma=10.0, strength=0.35, scale=4)
        for cab in shown_cables:
            _paint_tube(img, cab.mask & ~cab.copper, RGB[cab.color], rng)
            kit.paint(img, cab.copper, COPPER, rng, noise=6.0)
        for con in shown_cons:
            m, col, y0, x0 = con_draw[con.side]
            both = kit.overlap(shape, y0, x0, m.shape)
            if both is not None:
                kit.copy_where(img[both[0]], col[both[1]], m[both[1]])
        image = kit.finish(img, rng, light=0.07, vignette=0.12, blur=0.7, noise=2.6)

        # Ground truth.
        parts = [Part("connector", con_masks[c.side], {"clamps": c.clamps}) for c in shown_cons]
        parts += [
            Part("cable", cab.mask & ~occl, _cable_attributes(cab, drop_side))
            for cab in shown_cables
        ]
        if defect is None:
            return Sample(image=image, parts=parts)
        anomaly_type, reason = _DEFECTS[defect]
        return Sample(
            image=image,
            parts=parts,
            defect=defect,
            anomaly_type=anomaly_type,
            reason=reason,
            anomaly_mask=_anomaly_region(d, con_masks, cables, occl, drop_side, scale),
        )


def _cable_raster(
    shape: tuple[int, int],
    cab: _Cable,
    left: _Connector,
    right: _Connector,
    drop_side: str | None,
    thick: float,
    rng: np.random.Generator,
) -> None:
    """Set the cable's amodal masks: insulation (ends hidden in connectors) and bare copper.

    A free end (its connector missing) shows a short copper core; a cut cable is split in two
    pieces around a random point, the far piece pushed a little aside, copper at both cut ends.
    """
    path = cab.path
    la, lb = np.asarray(left.out_dir), np.asarray(right.out_dir)
    inside = 0.3 * left.width
    tip = 28.0 * thick / 22.0
    insulation = np.zeros(shape, bool)
    copper = np.zeros(shape, bool)
    core = 0.45 * thick
    if cab.cut:
        cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
        sc = rng.uniform(0.35, 0.65) * cum[-1]
        g = 16.0 * thick / 22.0
        ic = int(np.searchsorted(cum, sc))
        cab.gap = (float(path[ic, 0]), float(path[ic, 1]))
        tangent = path[min(ic + 1, len(path) - 1)] - path[max(ic - 1, 0)]
        tangent = tangent / max(float(np.linalg.norm(tangent)), 1e-6)
        normal = np.array([-tangent[1], tangent[0]])
        shift = rng.choice([-1.0, 1.0]) * rng.uniform(5, 9) * thick / 22.0
        piece_a = path[cum < sc - g]
        piece_b = path[cum > sc + g].copy()
        decay = np.clip(1.0 - (cum[cum > sc + g] - sc) / 160.0, 0.0, 1.0)
        piece_b += normal[None, :] * (shift * decay)[:, None]
        pieces = [
            np.vstack([[path[0] - la * inside], piece_a]),
            np.vstack([piece_b, [path[-1] - lb * inside]]),
        ]
        copper |= kit.polyline_mask(shape, np.array([piece_a[-1], piece_a[-1] + tangent * 9]), core)
        copper |= kit.polyline_mask(shape, np.array([piece_b[0], piece_b[0] - tangent * 9]), core)
    else:
        head = [path[0] - la * inside] if drop_side != "left" else []
        tail = [path[-1] - lb * inside] if drop_side != "right" else []
        pieces = [np.vstack([*head, path, *tail])]
        if drop_side == "left":
            copper |= kit.polyline_mask(shape, np.array([path[0], path[0] - la * tip]), core)
        if drop_side == "right":
            copper |= kit.polyline_mask(shape, np.array([path[-1], path[-1] - lb * tip]), core)
    for piece in pieces:
        insulation |= kit.polyline_mask(shape, piece, thick)
    cab.mask = insulation | copper
    cab.copper = copper & ~insulation


def make() -> SplicingConnectorsGenerator:
    """The ``splicing_connectors`` generator (nominal 1700x850 images)."""
    return SplicingConnectorsGenerator()
