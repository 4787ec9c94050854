"""Synthetic ``breakfast_box`` images (MVTec LOCO AD style, nominal 1600x1280).

A light plastic tray seen from above on a dark background, split by one divider into a
narrower left compartment and a wider right one. The left compartment holds two tangerines
and one nectarine; the right one holds cereals (granola clusters) in its upper part and a mix
of banana chips and almonds in its lower part, the two touching.

Part masks (labels from ``prompts/categories/breakfast_box.yaml``):

* ``box``: full extent, the whole tray footprint (everything else lies on it).
* ``divider``: the wall between the two compartments.
* ``tangerine`` / ``nectarine``: visible pixels of one fruit each.
* ``cereals``, ``banana_chips``, ``almonds``: one region each, the visible pixels of all
  clusters, chips or nuts together (so their areas measure amounts).

Margins against the spec's rules (measured on the rendered masks, see the tests): normal
cereals cover about 21-25 % of the box area (rule: 16-30 %), overflow about 36 % and underflow
about 10 %; banana chips cover about 0.8-1.3 times the almonds' area (rule: 0.5-2.0),
wrong_ratio at least 4 times or at most 0.2 times; placements keep centroids more than 100 px
away from the lines the rules draw.
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

CATEGORY = "breakfast_box"
VERSION = "1"
WIDTH, HEIGHT = 1600, 1280

FRUIT_COUNTS: dict[str, tuple[int, int]] = {
    "nectarines_2_tangerine_1": (2, 1),
    "nectarine_1_tangerine_1": (1, 1),
    "nectarines_0_tangerines_2": (0, 2),
    "nectarines_0_tangerines_3": (0, 3),
    "nectarines_3_tangerines_0": (3, 0),
    "nectarines_0_tangerine_1": (0, 1),
    "nectarines_0_tangerines_0": (0, 0),
    "nectarines_0_tangerines_4": (0, 4),
}
"""Fruit-count defects: ``(nectarines, tangerines)``; a normal box has ``(1, 2)``."""

ANOMALY_TYPES: dict[str, str] = {
    "missing_almonds": "quantity",
    "missing_bananas": "quantity",
    "missing_toppings": "quantity",
    "missing_cereals": "quantity",
    "missing_cereals_and_toppings": "quantity",
    **dict.fromkeys(FRUIT_COUNTS, "quantity"),
    "compartments_swapped": "position",
    "overflow": "size",
    "underflow": "size",
    "wrong_ratio": "matching",
}
"""Defects this generator renders, with their spec anomaly type."""

_IMG_PX = WIDTH * HEIGHT
SATURATION: dict[str, tuple[float, bool]] = {
    "nectarines_2_tangerine_1": (round(0.0488770 * _IMG_PX), False),
    "nectarine_1_tangerine_1": (round(0.0411621 * _IMG_PX), False),
    "nectarines_0_tangerines_2": (round(0.0488770 * _IMG_PX), False),
    "nectarines_0_tangerines_3": (round(0.0488770 * _IMG_PX), False),
    "nectarines_3_tangerines_0": (round(0.0977539 * _IMG_PX), False),
    "nectarines_0_tangerine_1": (round(0.0900391 * _IMG_PX), False),
    "nectarines_0_tangerines_0": (round(0.1312012 * _IMG_PX), False),
    "nectarines_0_tangerines_4": (round(0.0823242 * _IMG_PX), False),
}
"""sPRO saturation thresholds of the real ``defects_config.json`` (others: 1.0, relative)."""

_RIM = 34.0
_DIVIDER = 30.0
_LEFT_W = 560.0
_CEREAL_FILL = {"normal": (0.50, 0.56), "overflow": (0.78, 0.82), "underflow": (0.24, 0.28)}
_TANGERINE_R = (124.0, 132.0)
_NECTARINE_R = (138.0, 146.0)
_CEREAL_RGB = (
    (168.0, 112.0, 56.0),
    (192.0, 142.0, 76.0),
    (142.0, 92.0, 46.0),
    (206.0, 162.0, 98.0),
    (120.0, 76.0, 38.0),
)

Point = kit.Point


@dataclass(frozen=True)
class _Layout:
    """Tray geometry in box-local coordinates."""

    outer: tuple[float, float]
    inner: tuple[float, float]

    @property
    def left(self) -> tuple[float, float, float, float]:
        """Left compartment interior ``(x0, y0, x1, y1)``."""
        x0, y0 = -self.inner[0] / 2, -self.inner[1] / 2
        return (x0, y0, x0 + _LEFT_W, -y0)

    @property
    def divider(self) -> tuple[float, float, float, float]:
        x0 = self.left[2]
        return (x0, -self.inner[1] / 2, x0 + _DIVIDER, self.inner[1] / 2)

    @property
    def right(self) -> tuple[float, float, float, float]:
        return (self.divider[2], -self.inner[1] / 2, self.inner[0] / 2, self.inner[1] / 2)


def _rect_pts(r: tuple[float, float, float, float]) -> list[Point]:
    x0, y0, x1, y1 = r
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


# --- the tray ------------------------------------------------------------------------------


def _draw_tray(
    img: np.ndarray, rng: np.random.Generator, frame: kit.Frame, lay: _Layout
) -> tuple[np.ndarray, np.ndarray]:
    """Paint the tray (in its bounding window); return the ``box`` and ``divider`` masks."""
    shape = img.shape[:2]
    outline = [frame.to_img(p) for p in kit.rounded_rect_points((0.0, 0.0), lay.outer, 26.0)]
    win = kit.window_of_points(outline, shape, 2)
    y0, x0 = win[0].start, win[1].start
    cshape = kit.window_size(win)

    def local(points: list[Point]) -> list[Point]:
        return [(px - x0, py - y0) for px, py in points]

    def rect(r: tuple[float, float, float, float]) -> np.ndarray:
        return kit.polygon_mask(cshape, local([frame.to_img(p) for p in _rect_pts(r)]))

    b_c = kit.polygon_mask(cshape, local(outline))
    f_c = rect(lay.left) | rect(lay.right)
    d_c = rect(lay.divider)
    tone = float(rng.uniform(-8, 8))
    wall = (214.0 + tone, 213.0 + tone, 207.0 + tone)
    # brightness relative to the wall colour (computed at quarter resolution): the floor is
    # darker, more so near the walls (ambient occlusion), with a faint plastic texture
    small = (cshape[1] // 4, cshape[0] // 4)
    f_s = cv2.resize(f_c.view(np.uint8), small, interpolation=cv2.INTER_NEAREST)
    dist = cv2.distanceTransform(f_s, cv2.DIST_L2, 3) * 4.0
    tex = cv2.resize(
        rng.standard_normal((small[1] // 12 + 2, small[0] // 12 + 2), dtype=np.float32),
        small,
        interpolation=cv2.INTER_CUBIC,
    )
    g_s = 0.915 * (1.0 - 0.22 * np.exp(-dist / 22.0)) * (1.0 + 0.015 * tex)
    g = cv2.resize(g_s.astype(np.float32), (cshape[1], cshape[0]), interpolation=cv2.INTER_LINEAR)
    gain = g  # walls: 1 (the wall colour itself)
    gain[~f_c] = 1.0
    # a thin dark outline around the tray, a lit edge along the divider
    kernel = np.ones((3, 3), np.uint8)
    edge = cv2.morphologyEx(b_c.view(np.uint8), cv2.MORPH_GRADIENT, kernel) > 0
    gain[edge] *= 0.75
    d_edge = cv2.morphologyEx(d_c.view(np.uint8), cv2.MORPH_GRADIENT, kernel) > 0
    gain[d_edge & d_c] *= 1.06
    kit.paint_mix(img[win], b_c, [gain], [wall])
    return kit.embed(shape, b_c, win), kit.embed(shape, d_c, win)


# --- fruit ------------------------------------------------------------------------------------


def _place_fruit(rng: np.random.Generator, lay: _Layout, radii: list[float]) -> list[Point]:
    """Box-local centres of fruits of ``radii`` inside the left compartment, barely touching."""
    x0, y0, x1, y1 = lay.left
    for _ in range(400):
        centres: list[Point] = []
        ok = True
        for r in radii:
            m = r * 1.04 + 6
            for _ in range(60):
                p = (rng.uniform(x0 + m, x1 - m), rng.uniform(y0 + m, y1 - m))
                if all(
                    math.dist(p, q) >= 0.97 * (r + rq)
                    for q, rq in zip(centres, radii, strict=False)
                ):
                    centres.append(p)
                    break
            else:
                ok = False
                break
        if ok:
            return centres
    raise RuntimeError(f"could not place {len(radii)} fruits")  # pragma: no cover


def _draw_fruit(
    img: np.ndarray,
    rng: np.random.Generator,
    center: Point,
    radius: float,
    angle: float,
    kind: str,
) -> np.ndarray:
    """Draw one fruit (shadow, skin, texture, highlight); return its full-size mask."""
    shape = img.shape[:2]
    ax = (radius * float(rng.uniform(1.0, 1.05)), radius * float(rng.uniform(0.95, 1.0)))
    win = kit.window_of_points([center], shape, radius * 1.1 + 30)
    sub = img[win]
    ch, cw = sub.shape[:2]
    c = (center[0] - win[1].start, center[1] - win[0].start)
    m8 = np.zeros((ch, cw), np.uint8)
    kit.draw_ellipse(m8, c, ax, angle, 1)
    mask = m8.view(bool)
    kit.cast_shadow(sub, mask, offset=(12.0, 16.0), sigma=12.0, strength=0.5, scale=4)

    # radial shading and the specular highlight are separable in x and y
    xs = np.arange(cw, dtype=np.float32)
    ys = np.arange(ch, dtype=np.float32)
    rr = np.sqrt((((ys - c[1]) / ax[1]) ** 2)[:, None] + (((xs - c[0]) / ax[0]) ** 2)[None, :])
    shade = 1.0 - 0.42 * np.minimum(rr, 1.0) ** 3
    fine = cv2.GaussianBlur(rng.standard_normal((ch, cw), dtype=np.float32), (0, 0), 1.3)
    hx, hy = c[0] - 0.35 * ax[0], c[1] - 0.4 * ax[1]
    s2 = np.float32(2 * (0.22 * radius) ** 2)
    spec = np.outer(np.exp(-((ys - hy) ** 2) / s2), np.exp(-((xs - hx) ** 2) / s2))
    white = (55.0, 55.0, 55.0)
    if kind == "tangerine":
        k = float(rng.uniform(0.95, 1.04))
        light = shade * (1.0 + 0.09 * fine)
        weights, colors = [light, spec], [(236.0 * k, 126.0 * k, 26.0 * k), white]
    else:
        blotch = rng.normal(0, 1, (5, 5)).astype(np.float32)
        blotch = cv2.resize(blotch, (cw, ch), interpolation=cv2.INTER_CUBIC)
        t = np.clip(blotch * 0.3 + 0.3, 0, 1) ** 1.5
        light = shade * (1.0 + 0.04 * fine)
        red, to_gold = (172.0, 36.0, 40.0), (56.0, 104.0, 12.0)  # gold: (228, 140, 52)
        weights, colors = [light, light * t, spec], [red, to_gold, white]
    kit.paint_mix(sub, mask, weights, colors)
    # the stem scar near the middle
    t = rng.uniform(0, 2 * math.pi)
    sc = (c[0] + 0.15 * radius * math.cos(t), c[1] + 0.15 * radius * math.sin(t))
    stem = (96.0, 88.0, 40.0) if kind == "tangerine" else (110.0, 60.0, 36.0)
    kit.draw_ellipse(sub, sc, (7.0, 6.0), float(rng.uniform(0, 180)), stem)
    return kit.embed(shape, mask, win)


# --- cereals and toppings ------------------------------------------------------------------


def _boundary(rng: np.random.Generator, lay: _Layout, fill: float) -> tuple[float, float, float]:
    """A wavy line ``y = y0 + fill * h + amp * sin(freq * x + phase)`` (parameters)."""
    _, y0, _, y1 = lay.right
    return (y0 + fill * (y1 - y0), float(rng.uniform(10, 22)), float(rng.uniform(0, 2 * math.pi)))


def _line_y(b: tuple[float, float, float], x: float) -> float:
    base, amp, phase = b
    return base + amp * math.sin(x / 95.0 + phase)


def _draw_cereals(
    img: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    frame: kit.Frame,
    lay: _Layout,
    line: tuple[float, float, float],
) -> None:
    """Granola clusters in the right compartment above ``line``; label 1 in ``labels``."""
    x0, y0, x1, _ = lay.right
    area = (x1 - x0) * (line[0] - y0)
    n = int(area / 300)
    xs = rng.uniform(x0, x1, n)
    ys = rng.uniform(y0, y0 + (line[0] - y0 + line[1]), n)
    a1 = rng.uniform(9, 20, n)
    a2 = a1 * rng.uniform(0.6, 0.95, n)
    angs = rng.uniform(0, 180, n)
    cols = rng.integers(0, len(_CEREAL_RGB), n)
    tone = rng.uniform(0.9, 1.08, n)
    base, amp, phase = line
    keep = (
        (ys <= base + amp * np.sin(xs / 95.0 + phase))
        & (xs - a1 >= x0 + 3)
        & (xs + a1 <= x1 - 3)
        & (ys - a1 >= y0 + 3)
    )
    xs, ys, a1, a2, angs, cols, tone = (v[keep] for v in (xs, ys, a1, a2, angs, cols, tone))
    centers = np.stack(frame.to_img((xs, ys)), axis=1)  # to_img maps arrays too
    col = np.asarray(_CEREAL_RGB)[cols] * tone[:, None]
    outer = np.stack([a1 + 2.0, a2 + 2.0], axis=1)
    angs = angs + frame.angle
    # each cluster: a dark rim, then its colour on top (interleaved so later ones cover it)
    kit.draw_ellipses(
        img,
        np.repeat(centers, 2, axis=0),
        np.stack([outer, np.stack([a1, a2], axis=1)], axis=1).reshape(-1, 2),
        np.repeat(angs, 2),
        np.stack([col * 0.55, col], axis=1).reshape(-1, 3),
    )
    kit.draw_ellipses(labels, centers, outer, angs, 1)


def _draw_toppings(
    img: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    frame: kit.Frame,
    lay: _Layout,
    line: tuple[float, float, float],
    n_chips: int,
    n_almonds: int,
) -> None:
    """Banana chips (label 2) and almonds (label 3), mixed, below ``line``."""
    x0, _, x1, y1 = lay.right
    kinds = np.array([2] * n_chips + [3] * n_almonds, np.int64)
    rng.shuffle(kinds)
    top = line[0] - line[1]
    # layers of each item: (scale of the semi-axes, extra pixels, colour)
    chip = ((1.0, 1.5, (176.0, 150.0, 92.0)), (1.0, 0.0, (238.0, 220.0, 158.0)))
    chip += ((0.45, 0.0, (214.0, 190.0, 128.0)), (0.22, 0.0, (226.0, 204.0, 142.0)))
    almond = ((1.0, 1.5, (82.0, 46.0, 24.0)), (1.0, 0.0, (156.0, 96.0, 54.0)))
    paint: list[tuple[Point, Point, float, tuple[float, ...]]] = []
    label: list[tuple[Point, Point, float, int]] = []
    for k in kinds:
        if k == 2:
            r = float(rng.uniform(29, 36))
            ax = (r, r * float(rng.uniform(0.9, 1.0)))
        else:
            ax = (float(rng.uniform(29, 35)), float(rng.uniform(16, 20)))
        for _ in range(20):
            x = float(rng.uniform(x0 + ax[0] + 3, x1 - ax[0] - 3))
            y = float(rng.uniform(top, y1 - ax[0] - 3))
            if y >= _line_y(line, x) + 4:
                break
        else:
            continue
        p = frame.to_img((x, y))
        ang = float(rng.uniform(0, 180))
        v = float(rng.uniform(0.93, 1.05) if k == 2 else rng.uniform(0.9, 1.08))
        for f, extra, col in chip if k == 2 else almond:
            paint.append((p, (ax[0] * f + extra, ax[1] * f + extra), ang, _scaled(col, v)))
        if k == 3:  # the almond's lighter ridge
            ridge = (ax[0] * 0.7, ax[1] * 0.3)
            paint.append((p, ridge, ang, _scaled((174.0, 112.0, 64.0), v)))
        label.append((p, (ax[0] + 1.5, ax[1] + 1.5), ang, int(k)))
    for arr, items in ((img, paint), (labels, label)):
        if items:
            centers, axes, angles, values = zip(*items, strict=True)
            kit.draw_ellipses(arr, np.array(centers), np.array(axes), np.array(angles), values)


def _scaled(color: tuple[float, ...], v: float) -> tuple[float, ...]:
    """``color`` times ``v``."""
    return tuple(c * v for c in color)


def _topping_counts(
    rng: np.random.Generator, band_area: float, defect: str | None
) -> tuple[int, int]:
    """Numbers of banana chips and almonds for a band of ``band_area`` px (box-local)."""
    full = band_area / 1700.0  # items that fill the band about once
    chips = int(full * rng.uniform(0.40, 0.46))
    almonds = int(full * rng.uniform(0.66, 0.74))
    if defect == "wrong_ratio":
        if rng.random() < 0.5:
            chips, almonds = int(full * 0.9), int(full * 0.08)
        else:
            chips, almonds = int(full * 0.07), int(full * 1.4)
    elif defect == "missing_almonds":
        chips, almonds = int(full * 0.7), 0
    elif defect == "missing_bananas":
        chips, almonds = 0, int(full * 1.1)
    elif defect in ("missing_toppings", "missing_cereals_and_toppings"):
        chips, almonds = 0, 0
    return chips, almonds


# --- the generator --------------------------------------------------------------------------


class BreakfastBoxGenerator:
    """Renderer of the ``breakfast_box`` category (see the module docstring)."""

    category: str = CATEGORY
    defects: tuple[str, ...] = tuple(ANOMALY_TYPES)
    name: str = "logicode.data.synth.breakfast_box"
    version: str = VERSION
    saturation: dict[str, tuple[float, bool]] = SATURATION

    def render(self, rng: np.random.Generator, defect: str | None = None) -> Sample:
        """Render one image: good when ``defect`` is None, else that one defect.

        Raises:
            ValueError: If ``defect`` is not one this generator renders.
        """
        kit.check_defect(CATEGORY, defect, ANOMALY_TYPES)
        shape = (HEIGHT, WIDTH)
        swapped = defect == "compartments_swapped"
        frame = kit.Frame(
            kit.jitter(rng, WIDTH / 2, 16.0),
            kit.jitter(rng, HEIGHT / 2, 14.0),
            kit.jitter(rng, 180.0 if swapped else 0.0, 1.5),
        )
        ow, oh = kit.jitter(rng, 1440.0, 10.0), kit.jitter(rng, 1120.0, 10.0)
        lay = _Layout(outer=(ow, oh), inner=(ow - 2 * _RIM, oh - 2 * _RIM))

        img = kit.canvas(rng, HEIGHT, WIDTH, (30.0, 30.0, 33.0), texture=4.0, grain=48)
        box, divider = _draw_tray(img, rng, frame, lay)
        parts: list[Part] = [Part("box", box), Part("divider", divider)]

        # fruit
        n_nect, n_tang = FRUIT_COUNTS.get(defect or "", (1, 2))
        kinds = ["nectarine"] * n_nect + ["tangerine"] * n_tang
        order = rng.permutation(len(kinds))
        kinds = [kinds[i] for i in order]
        radii = [
            float(rng.uniform(*(_NECTARINE_R if k == "nectarine" else _TANGERINE_R))) for k in kinds
        ]
        fruit: list[Part] = []
        for k, r, p in zip(kinds, radii, _place_fruit(rng, lay, radii), strict=True):
            ang = float(rng.uniform(0, 180))
            m = _draw_fruit(img, rng, frame.to_img(p), r, ang, k)
            for f in fruit:
                f.mask &= ~m
            fruit.append(Part(k, m))
        parts += fruit

        # cereals and toppings
        _, ry0, _, ry1 = lay.right
        normal_line = _boundary(rng, lay, float(rng.uniform(*_CEREAL_FILL["normal"])))
        line = normal_line
        if defect in ("overflow", "underflow"):
            line = _boundary(rng, lay, float(rng.uniform(*_CEREAL_FILL[defect])))
        labels = np.zeros(shape, np.uint8)
        if defect not in ("missing_cereals", "missing_cereals_and_toppings"):
            _draw_cereals(img, labels, rng, frame, lay, line)
        top_line = line if defect == "overflow" else normal_line
        band = (lay.right[2] - lay.right[0]) * (ry1 - top_line[0])
        chips, almonds = _topping_counts(rng, band, defect)
        _draw_toppings(img, labels, rng, frame, lay, top_line, chips, almonds)
        for value, label in ((1, "cereals"), (2, "banana_chips"), (3, "almonds")):
            m = labels == value
            if m.any():
                parts.append(Part(label, m))

        anomaly = self._anomaly_mask(defect, shape, frame, lay, parts, labels, normal_line, line)
        light = float(rng.uniform(0.04, 0.1))
        image = kit.finish(img, rng, light=light, blur=0.9, noise=2.4)
        logger.debug("rendered breakfast_box defect=%s parts=%d", defect, len(parts))
        return Sample(
            image=image,
            parts=parts,
            defect=defect,
            anomaly_type=ANOMALY_TYPES[defect] if defect else None,
            reason=_reason(defect, n_nect, n_tang, chips, almonds) if defect else "",
            anomaly_mask=anomaly,
        )

    @staticmethod
    def _anomaly_mask(
        defect: str | None,
        shape: tuple[int, int],
        frame: kit.Frame,
        lay: _Layout,
        parts: list[Part],
        labels: np.ndarray,
        normal_line: tuple[float, float, float],
        line: tuple[float, float, float],
    ) -> np.ndarray | None:
        if defect is None:
            return None
        x0, y0, x1, y1 = lay.right

        def region(
            top: tuple[float, float, float] | float, bottom: tuple[float, float, float] | float
        ) -> np.ndarray:
            xs = np.linspace(x0, x1, 24)
            up = [(x, top if isinstance(top, float) else _line_y(top, x)) for x in xs]
            lo = [
                (x, bottom if isinstance(bottom, float) else _line_y(bottom, x)) for x in xs[::-1]
            ]
            return kit.polygon_mask(shape, [frame.to_img(p) for p in up + lo])

        if defect in FRUIT_COUNTS:
            n_nect, n_tang = FRUIT_COUNTS[defect]
            out = np.zeros(shape, bool)
            over = {"nectarine": n_nect > 1, "tangerine": n_tang > 2}
            for p in parts:
                if over.get(p.label, False):
                    out |= p.mask
            if n_nect < 1 or n_tang < 2:
                left = kit.polygon_mask(shape, [frame.to_img(p) for p in _rect_pts(lay.left)])
                for p in parts:
                    if p.label in ("nectarine", "tangerine"):
                        left &= ~p.mask
                out |= left
            return out
        if defect == "compartments_swapped":
            return kit.polygon_mask(
                shape, [frame.to_img(p) for p in _rect_pts((*lay.left[:2], *lay.right[2:]))]
            )
        if defect == "missing_cereals":
            return region(y0, normal_line)
        if defect in ("missing_almonds", "missing_bananas", "missing_toppings", "wrong_ratio"):
            return region(normal_line, y1)
        if defect == "missing_cereals_and_toppings":
            return region(y0, y1)
        if defect == "overflow":
            return (labels == 1) & region(normal_line, y1)
        return region(line, normal_line)  # underflow: where cereals should be


def _reason(defect: str, n_nect: int, n_tang: int, chips: int, almonds: int) -> str:
    if defect in FRUIT_COUNTS:
        return (
            f"the left compartment holds {n_nect} nectarine(s) and {n_tang} tangerine(s) "
            "instead of 1 and 2"
        )
    return {
        "missing_almonds": "the topping mix has no almonds",
        "missing_bananas": "the topping mix has no banana chips",
        "missing_toppings": "there are no banana chips and no almonds",
        "missing_cereals": "the right compartment has no cereals",
        "missing_cereals_and_toppings": "the right compartment is empty",
        "compartments_swapped": "the fruit lie in the right compartment, cereals on the left",
        "overflow": "there is far too much cereal",
        "underflow": "there is far too little cereal",
        "wrong_ratio": (
            "far more banana chips than almonds"
            if chips > almonds
            else "far more almonds than banana chips"
        ),
    }[defect]


def make() -> BreakfastBoxGenerator:
    """Return the ``breakfast_box`` generator."""
    return BreakfastBoxGenerator()
