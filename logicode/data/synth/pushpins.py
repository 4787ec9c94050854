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

Point = tuple[float, float]


@dataclass(frozen=True)
class _Frame:
    """Box-local coordinates (origin at the box centre) to image pixels."""

    cx: float
    cy: float
    angle: float

    def to_img(self, p: Point) -> Point:
        t = math.radians(self.angle)
        c, s = math.cos(t), math.sin(t)
        return (self.cx + p[0] * c - p[1] * s, self.cy + p[0] * s + p[1] * c)


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


def _crop_of(points: list[Point], shape: tuple[int, int], pad: int = 4) -> tuple[slice, slice]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    h, w = shape
    x0 = max(0, int(math.floor(min(xs))) - pad)
    y0 = max(0, int(math.floor(min(ys))) - pad)
    x1 = min(w, int(math.ceil(max(xs))) + pad + 1)
    y1 = min(h, int(math.ceil(max(ys))) + pad + 1)
    return slice(y0, y1), slice(x0, x1)


def _poly_full(shape: tuple[int, int], points: list[Point]) -> np.ndarray:
    """Full-size polygon mask, rasterised only in the polygon's bounding crop."""
    ys, xs = _crop_of(points, shape)
    out = np.zeros(shape, bool)
    local = [(x - xs.start, y - ys.start) for x, y in points]
    out[ys, xs] = kit.polygon_mask((ys.stop - ys.start, xs.stop - xs.start), local)
    return out


def _rect_full(shape: tuple[int, int], frame: _Frame, center: Point, size: Point) -> np.ndarray:
    """Full-size mask of a box-local axis-aligned rectangle."""
    pts = kit.rect_points(center, size, 0.0)
    return _poly_full(shape, [frame.to_img(p) for p in pts])


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


def _pin_fits(points: dict[str, list[Point]], frame: _Frame, cell_c: Point, lay: _Layout) -> bool:
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
    rng: np.random.Generator, frame: _Frame, lay: _Layout, cell: tuple[int, int], n: int
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


def _shade_factor(mask: np.ndarray, strength: float) -> np.ndarray:
    """Per-pixel brightness factor darkening towards the border of ``mask`` (crop)."""
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    dmax = max(float(dist.max()), 1.0)
    return 1.0 - strength * (1.0 - np.clip(dist / dmax, 0, 1)) ** 2


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
    ys, xs = _crop_of(pts["cap"] + pts["body"] + pts["needle"], shape, pad=16)
    off = (xs.start, ys.start)
    cshape = (ys.stop - ys.start, xs.stop - xs.start)

    def local(points: list[Point]) -> list[Point]:
        return [(x - off[0], y - off[1]) for x, y in points]

    cap = kit.polygon_mask(cshape, local(pts["cap"]))
    body = kit.polygon_mask(cshape, local(pts["body"]))
    collar = kit.polygon_mask(cshape, local(pts["collar"]))
    needle = kit.polygon_mask(cshape, local(pts["needle"]))
    pin = cap | body | collar | needle
    crop = img[ys, xs]

    # soft shadow cast towards the lower right
    sh = np.zeros(cshape, np.float32)
    sh[6:, 5:] = pin[:-6, :-5]
    sh = cv2.GaussianBlur(sh, (0, 0), 4.0)
    crop *= (1.0 - 0.45 * sh)[..., None]

    head_col = np.asarray(head, np.float32)
    for part, strength in ((cap, 0.35), (body, 0.45)):
        f = _shade_factor(part, strength)
        crop[part] = head_col[None, :] * f[part][:, None]
    ridges = local(pts["ridges"])
    for i in range(0, len(ridges), 2):
        line = kit.polyline_mask(cshape, [ridges[i], ridges[i + 1]], max(1.0, 2.2 * scale))
        line &= body
        crop[line] *= 0.78
    shine = kit.polyline_mask(cshape, local(pts["shine"]), 4.0 * scale) & body
    crop[shine] = crop[shine] * 0.7 + np.asarray((255.0, 246.0, 190.0), np.float32) * 0.3
    metal = collar | needle
    f = _shade_factor(metal, 0.4)
    crop[metal] = np.asarray(_METAL, np.float32)[None, :] * f[metal][:, None]
    crop[pin] += rng.normal(0.0, 3.0, (int(pin.sum()), 1)).astype(np.float32)

    full = np.zeros(shape, bool)
    full[ys, xs] = pin
    return full


def _blend(img: np.ndarray, mask: np.ndarray, color: tuple[float, float, float], a: float) -> None:
    """Alpha-blend ``color`` over ``mask`` (transparent plastic), working in its bounding crop."""
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if ys.size == 0:
        return
    sy, sx = slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)
    sub = img[sy, sx]
    mixed = sub * np.float32(1.0 - a)
    mixed += np.asarray(color, np.float32) * np.float32(a)
    np.copyto(sub, mixed, where=mask[sy, sx, None])


def _noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Zero-mean sensor noise of standard deviation ``sigma`` (triangular, fast to draw)."""
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = rng.integers(0, 256, shape, dtype=np.uint8)
    out = cv2.subtract(a, b, dtype=cv2.CV_32F)
    out *= np.float32(sigma / 104.5)
    return out.reshape(shape)


def _canvas(
    rng: np.random.Generator,
    h: int,
    w: int,
    base: tuple[float, float, float],
    texture: float,
    grain: int,
) -> np.ndarray:
    """A dark textured background: ``base`` with smooth blotches of ``texture`` grey levels."""
    small = rng.standard_normal((h // grain + 2, w // grain + 2), dtype=np.float32)
    tex = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    tex *= np.float32(texture)
    return cv2.merge([tex + np.float32(b) for b in base])


def _finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lighting gradient, optical blur, sensor noise, then ``uint8`` (fast full-image pass)."""
    h, w = img.shape[:2]
    a, b = rng.uniform(-1.0, 1.0, 2) * 2.0 * rng.uniform(0.04, 0.1)
    gain = (1.0 + b * (np.arange(h, dtype=np.float32) / h - 0.5))[:, None] + (
        a * (np.arange(w, dtype=np.float32) / w - 0.5)
    )[None, :]
    img *= gain[..., None]
    img = kit.soften(img, 0.8)
    img += _noise(rng, (h, w), 2.2)[..., None]
    np.clip(img, 0.0, 255.0, out=img)
    img += 0.5
    return img.astype(np.uint8)


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
        if defect is not None and defect not in ANOMALY_TYPES:
            raise ValueError(
                f"pushpins cannot render defect {defect!r}; choose one of {list(ANOMALY_TYPES)}"
            )
        shape = (HEIGHT, WIDTH)
        frame = _Frame(
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

        img = _canvas(rng, HEIGHT, WIDTH, (50.0, 52.0, 56.0), texture=5.0, grain=40)
        box_pts = [frame.to_img(p) for p in kit.rect_points((0, 0), lay.outer, 0.0)]
        box = kit.rounded_rect_mask(shape, (frame.cx, frame.cy), lay.outer, 18.0, frame.angle)
        _blend(img, box, (92.0, 96.0, 102.0), 0.35)
        inner = _rect_full(shape, frame, (0.0, 0.0), lay.inner)
        rim = box & ~inner

        # walls: rim, separators (one may be missing) and the junctions between them
        walls = rim.copy()
        sep_masks: list[np.ndarray] = []
        missing_mask: np.ndarray | None = None
        for i, (_, _, c, size) in enumerate(seps):
            m = _rect_full(shape, frame, c, size)
            if i == missing_sep:
                missing_mask = m
                continue
            walls |= m
            sep_masks.append(m)
        for c in _junctions(lay):
            walls |= _rect_full(shape, frame, c, (_WALL, _WALL))
        _blend(img, walls, (178.0, 184.0, 190.0), 0.55)
        ys, xs = _crop_of(box_pts, shape)
        edge = cv2.morphologyEx(walls[ys, xs].astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3)))
        img[ys, xs][edge.astype(bool)] *= 1.18

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
        image = _finish(img, rng)
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
