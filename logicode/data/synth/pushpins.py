"""Synthetic ``pushpins``: a transparent box of 15 compartments, one yellow pushpin in each.

The box (seen from above, 1700x1000) is divided by thin walls (separators) into a grid of
3 rows by 5 columns. A good image holds exactly one pushpin, lying on its side at a random
angle, in each compartment. Logical anomalies (MVTec LOCO AD names): an additional pushpin
in one or two compartments, an empty compartment, a missing separator (two compartments
merged into one) and a pushpin head of the wrong colour.

Ground truth: the ``box`` (its whole footprint), one ``compartment`` per walled cell (its
floor region, attributes ``row``/``col`` of its top-left grid cell), one ``separator`` per
wall piece between two neighbouring compartments, and one ``pushpin`` per pin (head and
needle, attribute ``head_color``). ``box`` and ``compartment`` masks are full extents (the
box is transparent, so what lies in it overlaps them); ``separator`` and ``pushpin`` masks are
visible pixels (they never overlap each other).

Margins against the spec's rules (see the tests): every pin stays at least 8 px inside its
cell, so its centroid lies more than 40 px inside the compartment's box; normal compartments
differ in area by under 10 % (rule: 25 %) while a merged one is twice as large; a yellow pin's
mean hue stays within 46-62 degrees (colour name "yellow" spans 40-70).
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

CATEGORY = "pushpins"
VERSION = "1"
WIDTH, HEIGHT = 1700, 1000
ROWS, COLS = 3, 5

ANOMALY_TYPES: dict[str, str] = {
    "additional_1_pushpin": "quantity",
    "additional_2_pushpins": "quantity",
    "missing_pushpin": "quantity",
    "missing_separator": "quantity",
    "color": "matching",
}
"""Defects this generator renders, with their spec anomaly type."""

_IMG_PX = 1700 * 1000
SATURATION: dict[str, tuple[float, bool]] = {
    "additional_1_pushpin": (round(0.0037059 * _IMG_PX), False),
    "additional_2_pushpins": (round(0.0074118 * _IMG_PX), False),
    "missing_pushpin": (round(0.0037059 * _IMG_PX), False),
}
"""sPRO saturation thresholds of the real ``defects_config.json`` (others: 1.0, relative)."""

_YELLOW = (238.0, 214.0, 46.0)
_WRONG_HEADS: dict[str, tuple[float, float, float]] = {
    "red": (214.0, 40.0, 36.0),
    "blue": (44.0, 86.0, 204.0),
    "green": (46.0, 160.0, 64.0),
}
_METAL = (184.0, 184.0, 186.0)
_PIN_LENGTH = 164.0
_WALL = 14.0
_RIM = 22.0

Point = kit.Point


@dataclass(frozen=True)
class _Layout:
    """Grid geometry in box-local coordinates."""

    outer: tuple[float, float]
    inner: tuple[float, float]
    cell: tuple[float, float]

    def cell_center(self, row: int, col: int) -> Point:
        cw, ch = self.cell
        x = -self.inner[0] / 2 + col * (cw + _WALL) + cw / 2
        y = -self.inner[1] / 2 + row * (ch + _WALL) + ch / 2
        return (x, y)


def _layout(rng: np.random.Generator) -> _Layout:
    ow, oh = kit.jitter(rng, 1584.0, 8.0), kit.jitter(rng, 904.0, 6.0)
    iw, ih = ow - 2 * _RIM, oh - 2 * _RIM
    cw = (iw - (COLS - 1) * _WALL) / COLS
    ch = (ih - (ROWS - 1) * _WALL) / ROWS
    return _Layout(outer=(ow, oh), inner=(iw, ih), cell=(cw, ch))


def _separators(lay: _Layout) -> list[tuple[tuple[int, int], tuple[int, int], Point, Point]]:
    """Wall pieces between neighbouring cells: ``(cell_a, cell_b, centre, size)`` local."""
    cw, ch = lay.cell
    out = []
    for r in range(ROWS):
        for c in range(COLS - 1):
            x, y = lay.cell_center(r, c)
            out.append(((r, c), (r, c + 1), (x + cw / 2 + _WALL / 2, y), (_WALL, ch)))
    for r in range(ROWS - 1):
        for c in range(COLS):
            x, y = lay.cell_center(r, c)
            out.append(((r, c), (r + 1, c), (x, y + ch / 2 + _WALL / 2), (cw, _WALL)))
    return out


def _junctions(lay: _Layout) -> list[Point]:
    cw, ch = lay.cell
    out = []
    for r in range(ROWS - 1):
        for c in range(COLS - 1):
            x, y = lay.cell_center(r, c)
            out.append((x + cw / 2 + _WALL / 2, y + ch / 2 + _WALL / 2))
    return out


def _rect_pts(frame: kit.Frame, center: Point, size: Point) -> list[Point]:
    """Image corners of a box-local axis-aligned rectangle."""
    return [frame.to_img(p) for p in kit.rect_points(center, size)]


def _rect_full(shape: tuple[int, int], frame: kit.Frame, center: Point, size: Point) -> np.ndarray:
    """Full-size mask of a box-local axis-aligned rectangle."""
    return kit.polygon_mask(shape, _rect_pts(frame, center, size))


def _pin_points(mid: Point, phi: float, scale: float) -> dict[str, list[Point]]:
    """Outline polygons of a pin lying on its side, in image coordinates.

    ``u`` runs along the pin from the cap (0) to the needle tip, ``v`` across it.
    """
    t = math.radians(phi)
    ux, uy = math.cos(t), math.sin(t)
    half = _PIN_LENGTH / 2

    def pt(u: float, v: float) -> Point:
        uu, vv = (u - half) * scale, v * scale
        return (mid[0] + uu * ux - vv * uy, mid[1] + uu * uy + vv * ux)

    def poly(uv: list[tuple[float, float]]) -> list[Point]:
        return [pt(u, v) for u, v in uv]

    return {
        "cap": poly([(0, -23), (16, -24), (18, -20), (18, 20), (16, 24), (0, 23)]),
        "body": poly(
            [(18, -19), (68, -13), (75, -17), (84, -17), (84, 17), (75, 17), (68, 13), (18, 19)]
        ),
        "collar": poly([(84, -5), (94, -4.5), (94, 4.5), (84, 5)]),
        "needle": poly([(94, -3.2), (150, -2.6), (_PIN_LENGTH, 0), (150, 2.6), (94, 3.2)]),
        "ridges": [pt(u, v) for u in (30, 40, 50, 60) for v in (-17, 17)],
        "shine": [pt(22, -9), pt(66, -6)],
    }


def _pin_fits(
    points: dict[str, list[Point]], frame: kit.Frame, cell_c: Point, lay: _Layout
) -> bool:
    """Whether every outline point lies inside the cell (box-local), with a margin."""
    t = math.radians(-frame.angle)
    c, s = math.cos(t), math.sin(t)
    hw, hh = lay.cell[0] / 2 - 8, lay.cell[1] / 2 - 8
    for key in ("cap", "body", "collar", "needle"):
        for x, y in points[key]:
            dx, dy = x - frame.cx, y - frame.cy
            lx, ly = dx * c - dy * s - cell_c[0], dx * s + dy * c - cell_c[1]
            if abs(lx) > hw or abs(ly) > hh:
                return False
    return True


def _place_pins(
    rng: np.random.Generator, frame: kit.Frame, lay: _Layout, cell: tuple[int, int], n: int
) -> list[tuple[Point, float, float]]:
    """Random ``(mid, phi, scale)`` for ``n`` (1 or 2) non-touching pins inside ``cell``."""
    if n == 0:
        return []
    cc = lay.cell_center(*cell)
    for _ in range(200):
        phi = float(rng.uniform(0, 360))
        scale = float(rng.uniform(0.95, 1.05))
        if n == 1:
            off = (rng.uniform(-40, 40), rng.uniform(-34, 34))
            specs = [(off, phi, scale)]
        else:
            along = rng.uniform(-14, 14)
            gap = rng.uniform(29, 34)
            t = math.radians(phi)
            nx, ny = -math.sin(t), math.cos(t)
            flip = 180.0 if rng.random() < 0.5 else 0.0
            specs = [
                ((nx * gap + along * math.cos(t), ny * gap + along * math.sin(t)), phi, scale),
                ((-nx * gap, -ny * gap), phi + flip + rng.uniform(-4, 4), scale),
            ]
        out = []
        for (dx, dy), p, sc in specs:
            mid = frame.to_img((cc[0] + dx, cc[1] + dy))
            if not _pin_fits(_pin_points(mid, p, sc), frame, cc, lay):
                break
            out.append((mid, p, sc))
        if len(out) == n:
            return out
    raise RuntimeError(f"could not place {n} pushpins in cell {cell}")  # pragma: no cover


def _draw_pin(
    img: np.ndarray,
    rng: np.random.Generator,
    mid: Point,
    phi: float,
    scale: float,
    head: tuple[float, float, float],
) -> np.ndarray:
    """Draw one pin with its shadow; return its full-size mask."""
    shape = img.shape[:2]
    pts = _pin_points(mid, phi, scale)
    win = kit.window_of_points(pts["cap"] + pts["body"] + pts["needle"], shape, 20)
    off = (win[1].start, win[0].start)
    cshape = kit.window_size(win)

    def local(points: list[Point]) -> list[Point]:
        return [(x - off[0], y - off[1]) for x, y in points]

    cap = kit.polygon_mask(cshape, local(pts["cap"]))
    body = kit.polygon_mask(cshape, local(pts["body"]))
    collar = kit.polygon_mask(cshape, local(pts["collar"]))
    needle = kit.polygon_mask(cshape, local(pts["needle"]))
    pin = cap | body | collar | needle
    crop = img[win]
    # soft shadow cast towards the lower right
    kit.cast_shadow(crop, pin, offset=(5.0, 6.0), sigma=4.0, strength=0.45, scale=2)
    kit.paint(crop, cap, head, shade=0.35)
    kit.paint(crop, body, head, shade=0.45)
    ridges = local(pts["ridges"])
    for i in range(0, len(ridges), 2):
        line = kit.polyline_mask(cshape, [ridges[i], ridges[i + 1]], max(1.0, 2.2 * scale))
        kit.scale_where(crop, line & body, 0.78)
    shine = kit.polyline_mask(cshape, local(pts["shine"]), 4.0 * scale) & body
    crop[shine] = crop[shine] * 0.7 + np.asarray((255.0, 246.0, 190.0), np.float32) * 0.3
    kit.paint(crop, collar | needle, _METAL, shade=0.4)
    crop[pin] += rng.normal(0.0, 3.0, (int(pin.sum()), 1)).astype(np.float32)
    return kit.embed(shape, pin, win)


class PushpinsGenerator:
    """Renderer of the ``pushpins`` category (see the module docstring)."""

    category: str = CATEGORY
    defects: tuple[str, ...] = tuple(ANOMALY_TYPES)
    name: str = "logicode.data.synth.pushpins"
    version: str = VERSION
    saturation: dict[str, tuple[float, bool]] = SATURATION

    def render(self, rng: np.random.Generator, defect: str | None = None) -> Sample:
        """Render one image: good when ``defect`` is None, else that one defect.

        Raises:
            ValueError: If ``defect`` is not one this generator renders.
        """
        kit.check_defect(CATEGORY, defect, ANOMALY_TYPES)
        shape = (HEIGHT, WIDTH)
        frame = kit.Frame(
            kit.jitter(rng, WIDTH / 2, 14.0),
            kit.jitter(rng, HEIGHT / 2, 10.0),
            kit.jitter(rng, 0.0, 1.0),
        )
        lay = _layout(rng)
        cells = [(r, c) for r in range(ROWS) for c in range(COLS)]
        counts = {cell: 1 for cell in cells}
        seps = _separators(lay)
        missing_sep: int | None = None
        wrong_cell: tuple[int, int] | None = None
        wrong_color = ""
        reason = ""
        if defect == "additional_1_pushpin":
            cell = cells[int(rng.integers(len(cells)))]
            counts[cell] = 2
            reason = f"compartment row {cell[0]}, col {cell[1]} holds two pushpins"
        elif defect == "additional_2_pushpins":
            picks = rng.choice(len(cells), 2, replace=False)
            for i in picks:
                counts[cells[int(i)]] = 2
            reason = "two compartments hold two pushpins each"
        elif defect == "missing_pushpin":
            cell = cells[int(rng.integers(len(cells)))]
            counts[cell] = 0
            reason = f"compartment row {cell[0]}, col {cell[1]} is empty"
        elif defect == "missing_separator":
            missing_sep = int(rng.integers(len(seps)))
            a, b = seps[missing_sep][:2]
            reason = f"the wall between compartments {a} and {b} (row, col) is missing"
        elif defect == "color":
            wrong_cell = cells[int(rng.integers(len(cells)))]
            wrong_color = list(_WRONG_HEADS)[int(rng.integers(len(_WRONG_HEADS)))]
            reason = (
                f"the pushpin in row {wrong_cell[0]}, col {wrong_cell[1]} has a {wrong_color} head"
            )

        img = kit.canvas(rng, HEIGHT, WIDTH, (50.0, 52.0, 56.0), texture=5.0, grain=40)
        box = kit.rounded_rect_mask(shape, (frame.cx, frame.cy), lay.outer, 18.0, frame.angle)
        kit.blend(img, box, (92.0, 96.0, 102.0), 0.35)
        inner = _rect_full(shape, frame, (0.0, 0.0), lay.inner)

        # walls: rim, separators (one may be missing) and the junctions between them, drawn
        # in the box's window
        win = kit.window_of_points(_rect_pts(frame, (0.0, 0.0), lay.outer), shape, 4)
        walls = np.ascontiguousarray((box & ~inner)[win]).view(np.uint8)
        offset = (win[1].start, win[0].start)

        def fill(center: Point, size: Point) -> None:
            pts = [(x - offset[0], y - offset[1]) for x, y in _rect_pts(frame, center, size)]
            kit.draw_polygon(walls, pts, 1)

        sep_masks: list[np.ndarray] = []
        missing_mask: np.ndarray | None = None
        for i, (_, _, c, size) in enumerate(seps):
            m = _rect_full(shape, frame, c, size)
            if i == missing_sep:
                missing_mask = m
                continue
            fill(c, size)
            sep_masks.append(m)
        for c in _junctions(lay):
            fill(c, (_WALL, _WALL))
        sub = img[win]
        kit.blend(sub, walls.view(bool), (178.0, 184.0, 190.0), 0.55)
        edge = cv2.morphologyEx(walls, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        kit.scale_where(sub, edge.view(bool), 1.18)

        # compartments (two cells merge where a separator is missing)
        merged: set[tuple[int, int]] = set()
        comp_parts: list[Part] = []
        if missing_sep is not None:
            a, b, c, _ = seps[missing_sep]
            ca, cb = lay.cell_center(*a), lay.cell_center(*b)
            cx, cy = (ca[0] + cb[0]) / 2, (ca[1] + cb[1]) / 2
            w = abs(ca[0] - cb[0]) + lay.cell[0]
            h = abs(ca[1] - cb[1]) + lay.cell[1]
            m = _rect_full(shape, frame, (cx, cy), (w, h))
            comp_parts.append(Part("compartment", m, {"row": a[0], "col": a[1]}))
            merged = {a, b}
        for r, c in cells:
            if (r, c) in merged:
                continue
            m = _rect_full(shape, frame, lay.cell_center(r, c), lay.cell)
            comp_parts.append(Part("compartment", m, {"row": r, "col": c}))
        comp_parts.sort(key=lambda p: (p.attributes["row"], p.attributes["col"]))

        # pushpins
        pin_parts: list[Part] = []
        pins_by_cell: dict[tuple[int, int], list[np.ndarray]] = {}
        for cell in cells:
            for mid, phi, sc in _place_pins(rng, frame, lay, cell, counts[cell]):
                name = wrong_color if cell == wrong_cell else "yellow"
                base = _WRONG_HEADS.get(name, _YELLOW)
                k = float(rng.uniform(0.96, 1.03))
                head = (min(255.0, base[0] * k), min(255.0, base[1] * k), min(255.0, base[2] * k))
                m = _draw_pin(img, rng, mid, phi, sc, head)
                pin_parts.append(Part("pushpin", m, {"head_color": name}))
                pins_by_cell.setdefault(cell, []).append(m)

        anomaly: np.ndarray | None = None
        if defect in ("additional_1_pushpin", "additional_2_pushpins"):
            anomaly = np.zeros(shape, bool)
            for ms in pins_by_cell.values():
                if len(ms) > 1:
                    for m in ms:
                        anomaly |= m
        elif defect == "missing_pushpin":
            empty = next(c for c in cells if counts[c] == 0)
            anomaly = _rect_full(shape, frame, lay.cell_center(*empty), lay.cell)
        elif defect == "missing_separator" and missing_mask is not None:
            anomaly = cv2.dilate(missing_mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        elif defect == "color" and wrong_cell is not None:
            anomaly = pins_by_cell[wrong_cell][0].copy()

        parts = [Part("box", box)]
        parts += comp_parts
        parts += [Part("separator", m) for m in sep_masks]
        parts += pin_parts
        light = float(rng.uniform(0.04, 0.1))
        image = kit.finish(img, rng, light=light, blur=0.8, noise=2.2)
        logger.debug("rendered pushpins defect=%s parts=%d", defect, len(parts))
        return Sample(
            image=image,
            parts=parts,
            defect=defect,
            anomaly_type=ANOMALY_TYPES[defect] if defect else None,
            reason=reason,
            anomaly_mask=anomaly,
        )


def make() -> PushpinsGenerator:
    """Return the ``pushpins`` generator."""
    return PushpinsGenerator()
