"""Synthetic juice_bottle images (MVTec LOCO AD style, nominal 800x1600).

A clear glass bottle (cap thread, neck, shoulder, body, thick base) stands on a near-black
textured background. Juice (cherry: dark red, orange: yellow-orange, banana: milky white)
fills it to about 20 % of the bottle's height below its top (in the neck). A square cream and
orange paper label sits in the upper body with a printed fruit icon (cherry, orange, banana;
a green pear is the "unknown" fruit); a smaller label reading "100% Juice" sits near the base.
Geometry follows the real images (measured on ``train/good``): bottle about 1360 px high and
388 px wide, top label 244 px square centred at about 53 % of the height, bottom label
244x118 px at about 85 %.

Part masks (labels from ``prompts/categories/juice_bottle.yaml``):

* ``bottle``: full extent, the whole glass silhouette (the labels and the juice lie on it or
  in it, so the other masks overlap it).
* ``liquid``: visible pixels only, the juice region minus what the labels cover (the fill line
  and colour are read from it). Attribute ``juice``: cherry, orange, banana or unknown.
* ``top_label``: full extent of the paper, icon included (the icon is printed on it).
* ``fruit_icon``: visible pixels of the printed fruit. Attribute ``kind``.
* ``bottom_label``: full extent of the paper.

Every defect moves its measurable quantity well outside the range the spec's rules allow (for
example the fill line of a normal bottle is drawn at 19-21 % of the height, the rule allows
16-24 %, "too much" is drawn at 6-12 %), so perception noise cannot flip the verdict.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from logicode.data.synth import kit
from logicode.data.synth.base import Part, Sample

CATEGORY = "juice_bottle"
VERSION = "1"

WIDTH, HEIGHT = 800, 1600

BOTTLE_H = 1360.0
BODY_HALF = 194.0
NECK_HALF = 114.0
THREAD_HALF = 127.0
THREAD_END = 0.072
NECK_END = 0.33
BODY_START = 0.43
TOP_LABEL_SIZE = 244.0
BOTTOM_LABEL_SIZE = (244.0, 118.0)

JUICES = ("cherry", "orange", "banana")
JUICE_RGB: dict[str, tuple[float, float, float]] = {
    "cherry": (150.0, 38.0, 36.0),
    "orange": (238.0, 184.0, 52.0),
    "banana": (228.0, 224.0, 202.0),
}
ODD_JUICE_RGB: tuple[tuple[float, float, float], ...] = (
    (45.0, 85.0, 205.0),  # blue
    (75.0, 170.0, 55.0),  # green
    (115.0, 45.0, 155.0),  # purple
)

# Normal ranges drawn for good images (the spec rules allow wider ones).
FILL_GOOD = (0.19, 0.21)
FILL_TOO_MUCH = (0.06, 0.12)
FILL_NOT_ENOUGH = (0.30, 0.45)
TOP_T_GOOD = (0.515, 0.545)
BOTTOM_T_GOOD = (0.845, 0.865)
LABEL_DU_GOOD = 0.012  # horizontal offset, fraction of the bottle width
LABEL_TILT_GOOD = 0.5  # degrees
ICON_OFFSET_GOOD = 0.025  # fraction of the label size
ICON_RADIUS = 0.26  # fraction of the label width

DEFECTS: dict[str, tuple[str, str]] = {
    "missing_top_label": ("quantity", "The top label is missing."),
    "missing_bottom_label": ("quantity", "The bottom label is missing."),
    "swapped_labels": ("position", "The bottom label sits above the top label."),
    "misplaced_label_top": ("position", "The top label is {how}."),
    "misplaced_label_bottom": ("position", "The bottom label is {how}."),
    "rotated_label": ("position", "The {which} label is rotated by {angle:.0f} degrees."),
    "empty_bottle": ("quantity", "The bottle holds no juice."),
    "wrong_fill_level_too_much": (
        "size",
        "The juice reaches {level:.0%} of the bottle height from the top (too full).",
    ),
    "wrong_fill_level_not_enough": (
        "size",
        "The juice only reaches {level:.0%} of the bottle height from the top (not full).",
    ),
    "misplaced_fruit_icon": ("position", "The fruit icon is off centre on the top label."),
    "missing_fruit_icon": ("quantity", "The top label carries no fruit icon."),
    "unknown_fruit_icon": ("matching", "The icon shows a pear, a fruit that is not sold."),
    "wrong_juice_type": ("matching", "A {icon} icon on a bottle of {juice} juice."),
    "juice_color": ("matching", "The juice is {color}, a colour no product has."),
}
"""Defects this generator renders: anomaly type and reason template."""

SATURATION: dict[str, tuple[float, bool]] = {
    "missing_top_label": (70400.0, False),
    "missing_bottom_label": (32700.0, False),
    "swapped_labels": (140800.0, False),
    "misplaced_label_top": (70400.0, False),
    "misplaced_label_bottom": (32700.0, False),
    "wrong_juice_type": (4500.0, False),
}
"""sPRO saturation thresholds of the real ``defects_config.json`` (others: 1.0, relative)."""


@dataclass
class LabelPose:
    """Where a label sits, in bottle coordinates.

    Attributes:
        present: Whether the label is on the bottle.
        t: Centre height, fraction of the bottle height from its top.
        du: Horizontal offset of the centre, fraction of the bottle width.
        tilt: Rotation relative to the bottle, degrees (clockwise on screen).
        size: ``(width, height)`` in pixels.
    """

    present: bool
    t: float
    du: float
    tilt: float
    size: tuple[float, float]


@dataclass
class Layout:
    """Everything random about one bottle, before drawing."""

    scale: float
    cx: float
    top: float
    theta: float
    juice: str | None
    juice_rgb: tuple[float, float, float]
    icon: str | None
    icon_offset: tuple[float, float]
    fill: float
    top_label: LabelPose
    bottom_label: LabelPose

    @property
    def height(self) -> float:
        """Bottle height in pixels."""
        return BOTTLE_H * self.scale


# --- bottle geometry ----------------------------------------------------------------------


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def outer_half_width(t: float, scale: float = 1.0) -> float:
    """Half width (px) of the bottle silhouette at relative height ``t`` (0 top, 1 base)."""
    if t < THREAD_END:
        lip = min(1.0, t / 0.008)
        ridge = 2.5 * abs(math.sin(math.pi * t / 0.0155))
        w = (THREAD_HALF - 9 * (1 - lip) ** 2) - ridge
    elif t < NECK_END:
        w = NECK_HALF + 2.0 * (t - THREAD_END) / (NECK_END - THREAD_END)
    elif t < BODY_START:
        w = (
            NECK_HALF
            + 2.0
            + (BODY_HALF - NECK_HALF - 2.0) * _smoothstep((t - NECK_END) / (BODY_START - NECK_END))
        )
    else:
        w = BODY_HALF + 1.5 * (t - BODY_START) / (1 - BODY_START)
    return w * scale


def _profile(scale: float, inner: bool) -> list[tuple[float, float]]:
    """Right-hand profile ``[(u, v)]`` from top to bottom (``u`` half width, ``v`` depth)."""
    h = BOTTLE_H * scale
    pts: list[tuple[float, float]] = []
    if inner:
        v0, v1, radius = 6.0 * scale, h - 34.0 * scale, 16.0 * scale
    else:
        v0, v1, radius = 0.0, h, 22.0 * scale
    for v in np.linspace(v0, v1 - radius, 240):
        t = float(v) / h
        w = outer_half_width(t, scale)
        if inner:
            w -= (12.0 if t < BODY_START else 9.5) * scale
        pts.append((w, float(v)))
    w_end = pts[-1][0]
    for a in np.linspace(0.0, math.pi / 2, 10)[1:]:
        pts.append((w_end - radius + radius * math.cos(a), v1 - radius + radius * math.sin(a)))
    return pts


class _Frame:
    """Bottle coordinates ``(u, v)`` (px from the centre line, px from the top) to image."""

    def __init__(self, lay: Layout) -> None:
        self.cx = lay.cx
        self.cy = lay.top + lay.height / 2
        self.h = lay.height
        t = math.radians(lay.theta)
        self.c, self.s = math.cos(t), math.sin(t)

    def __call__(self, u: float, v: float) -> tuple[float, float]:
        dv = v - self.h / 2
        return (self.cx + u * self.c - dv * self.s, self.cy + u * self.s + dv * self.c)

    def shifted(self, dx: float, dy: float) -> _Frame:
        """The same frame with image coordinates offset by ``(dx, dy)`` (for a crop)."""
        out = copy.copy(self)
        out.cx, out.cy = self.cx + dx, self.cy + dy
        return out

    def outline(self, right: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Closed outline from a right-hand profile (mirrored for the left side)."""
        pts = [self(u, v) for u, v in right]
        pts += [self(-u, v) for u, v in reversed(right)]
        return pts


# --- labels and icons -----------------------------------------------------------------------


def _rounded_outline(
    img: np.ndarray, box: tuple[float, float, float, float], r: float, color: tuple, thick: int
) -> None:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    r = int(round(r))
    for p, q in (
        ((x0 + r, y0), (x1 - r, y0)),
        ((x0 + r, y1), (x1 - r, y1)),
        ((x0, y0 + r), (x0, y1 - r)),
        ((x1, y0 + r), (x1, y1 - r)),
    ):
        cv2.line(img, p, q, color, thick, cv2.LINE_AA)
    for (cx, cy), start in (
        ((x0 + r, y0 + r), 180),
        ((x1 - r, y0 + r), 270),
        ((x1 - r, y1 - r), 0),
        ((x0 + r, y1 - r), 90),
    ):
        cv2.ellipse(img, (cx, cy), (r, r), 0, start, start + 90, color, thick, cv2.LINE_AA)


def _paper(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Cream-to-orange paper with a printed rounded frame (``HWC float32``)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.clip(0.55 * xx / w + 0.55 * (1 - yy / h) + rng.normal(0, 0.03), 0, 1)
    orange = np.array([kit.jitter(rng, 242, 5), kit.jitter(rng, 158, 10), 48], np.float32)
    cream = np.array([252, kit.jitter(rng, 226, 6), kit.jitter(rng, 120, 15)], np.float32)
    img = orange[None, None] * (1 - t[..., None]) + cream[None, None] * t[..., None]
    speck = cv2.resize(rng.normal(0, 1, (h // 3 + 1, w // 3 + 1)).astype(np.float32), (w, h))
    img += 5.0 * speck[..., None]
    inset = 0.075 * min(w, h)
    _rounded_outline(
        img, (inset, inset, w - 1 - inset, h - 1 - inset), 0.14 * min(w, h), (70, 55, 40), 2
    )
    return img


def _icon(kind: str, r: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw a fruit icon of radius ``r`` in its own patch: ``(HWC float32, HW bool mask)``."""
    n = int(math.ceil(2.4 * r))
    shape = (n, n)
    c = (n / 2, n / 2)
    img = np.zeros((n, n, 3), np.float32)
    mask = np.zeros(shape, bool)

    def at(dx: float, dy: float) -> tuple[float, float]:
        return (c[0] + dx * r, c[1] + dy * r)

    def fill(m: np.ndarray, color: tuple[float, float, float], outline: tuple | None) -> None:
        nonlocal mask
        img[m] = color
        if outline is not None:
            inner = cv2.erode(m.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=1)
            img[m & ~inner.astype(bool)] = outline
        mask |= m

    if kind == "cherry":
        stem_w = max(2.0, 0.07 * r)
        joint = at(0.18, -0.85)
        for base, mid in ((at(-0.38, 0.08), at(-0.25, -0.45)), (at(0.4, 0.2), at(0.35, -0.4))):
            fill(kit.polyline_mask(shape, [base, mid, joint], stem_w), (80, 70, 25), None)
        fill(
            kit.ellipse_mask(shape, at(0.45, -0.8), (0.28 * r, 0.11 * r), -25), (60, 140, 40), None
        )
        for dx, dy in ((-0.38, 0.42), (0.4, 0.52)):
            fill(
                kit.ellipse_mask(shape, at(dx, dy), (0.36 * r, 0.36 * r)),
                (205, 28, 36),
                (90, 10, 12),
            )
            hi = kit.ellipse_mask(shape, at(dx - 0.12, dy - 0.12), (0.07 * r, 0.07 * r))
            img[hi] = (250, 210, 210)
    elif kind == "orange":
        fill(
            kit.ellipse_mask(shape, at(0, 0.12), (0.64 * r, 0.64 * r)),
            (242, 138, 22),
            (150, 70, 10),
        )
        dots = kit.ellipse_mask(shape, at(0.2, 0.0), (0.12 * r, 0.12 * r))
        img[dots] = (250, 175, 80)
        fill(kit.polyline_mask(shape, [at(0.0, -0.5), at(0.05, -0.7)], 3), (90, 60, 20), None)
        fill(
            kit.ellipse_mask(shape, at(-0.3, -0.62), (0.34 * r, 0.14 * r), -20),
            (40, 115, 40),
            (20, 60, 20),
        )
    elif kind == "banana":
        for k, ang in enumerate((-38.0, -22.0, -6.0)):
            cen = at(-0.05 + 0.08 * k, 0.05 + 0.02 * k)
            a = math.radians(ang + 90)
            shift = (0.2 * r * math.cos(a), 0.2 * r * math.sin(a))
            outer = kit.ellipse_mask(shape, cen, (0.85 * r, 0.42 * r), ang)
            inner = kit.ellipse_mask(
                shape, (cen[0] - shift[0], cen[1] - shift[1]), (0.8 * r, 0.36 * r), ang
            )
            fill(outer & ~inner, (246, 214, 46), (125, 92, 20))
        fill(kit.ellipse_mask(shape, at(0.62, -0.5), (0.08 * r, 0.08 * r)), (100, 70, 20), None)
    elif kind == "unknown":  # a green pear: no product has it
        body = kit.ellipse_mask(shape, at(0, 0.3), (0.55 * r, 0.52 * r))
        body |= kit.ellipse_mask(shape, at(0, -0.18), (0.34 * r, 0.4 * r))
        fill(body, (132, 190, 52), (60, 100, 20))
        fill(kit.polyline_mask(shape, [at(0, -0.55), at(0.12, -0.85)], 3), (100, 70, 20), None)
        fill(
            kit.ellipse_mask(shape, at(0.3, -0.75), (0.22 * r, 0.09 * r), -30), (40, 120, 40), None
        )
    else:
        raise ValueError(f"unknown icon kind {kind!r}")
    img += rng.normal(0, 3, img.shape).astype(np.float32) * mask[..., None]
    return img, mask


def _label_patch(
    rng: np.random.Generator,
    size: tuple[float, float],
    *,
    text: str | None = None,
    icon: str | None = None,
    icon_offset: tuple[float, float] = (0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray | None]:
    """Render a label: ``(HWC float32 patch, HW bool icon mask in the patch or None)``."""
    w, h = int(round(size[0])), int(round(size[1]))
    img = _paper(rng, w, h)
    icon_mask = None
    if icon is not None:
        ipatch, imask = _icon(icon, ICON_RADIUS * w, rng)
        ys, xs = np.nonzero(imask)
        mx, my = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2  # box centre
        ax = w / 2 + icon_offset[0] * w
        ay = h / 2 + icon_offset[1] * h
        x0, y0 = int(round(ax - mx)), int(round(ay - my))
        n = imask.shape[0]
        # clip the icon patch to the label
        sx0, sy0 = max(0, -x0), max(0, -y0)
        sx1, sy1 = min(n, w - x0), min(n, h - y0)
        icon_mask = np.zeros((h, w), bool)
        sub = imask[sy0:sy1, sx0:sx1]
        icon_mask[y0 + sy0 : y0 + sy1, x0 + sx0 : x0 + sx1] = sub
        region = img[y0 + sy0 : y0 + sy1, x0 + sx0 : x0 + sx1]
        region[sub] = ipatch[sy0:sy1, sx0:sx1][sub]
    if text is not None:
        font = cv2.FONT_HERSHEY_COMPLEX
        (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
        scale = 0.74 * w / tw
        thick = max(1, int(round(2 * scale)))
        (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
        org = (int(round((w - tw) / 2)), int(round((h + th) / 2)))
        cv2.putText(img, text, org, font, scale, (35, 28, 26), thick, cv2.LINE_AA)
    return img, icon_mask


def _place(
    img: np.ndarray,
    patch: np.ndarray,
    masks: list[np.ndarray | None],
    center: tuple[float, float],
    angle: float,
) -> list[np.ndarray | None]:
    """Composite ``patch`` onto ``img`` centred at ``center`` rotated by ``angle`` degrees.

    Returns the patch masks (and, first, the whole patch's mask) warped to image masks.
    """
    ph, pw = patch.shape[:2]
    H, W = img.shape[:2]
    rad = math.hypot(pw, ph) / 2 + 3
    x0, y0 = max(0, int(center[0] - rad)), max(0, int(center[1] - rad))
    x1, y1 = min(W, int(center[0] + rad) + 1), min(H, int(center[1] + rad) + 1)
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), -angle, 1.0)
    m[0, 2] += center[0] - pw / 2 - x0
    m[1, 2] += center[1] - ph / 2 - y0
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(patch, m, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(np.ones((ph, pw), np.float32), m, size, flags=cv2.INTER_LINEAR)
    roi = img[y0:y1, x0:x1]
    roi[:] = roi * (1 - alpha[..., None]) + warped * alpha[..., None]
    out: list[np.ndarray | None] = []
    for pm in [np.ones((ph, pw), bool), *masks]:
        if pm is None:
            out.append(None)
            continue
        wm = cv2.warpAffine(pm.astype(np.float32), m, size, flags=cv2.INTER_LINEAR) >= 0.5
        full = np.zeros((H, W), bool)
        full[y0:y1, x0:x1] = wm
        out.append(full)
    return out


# --- the generator ----------------------------------------------------------------------------


class JuiceBottleGenerator:
    """Procedural renderer of juice bottles and their logical anomalies."""

    category = CATEGORY
    name = "logicode.data.synth.juice_bottle"
    version = VERSION
    defects: tuple[str, ...] = tuple(DEFECTS)
    saturation = SATURATION

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        """Create a generator for images of ``width`` x ``height`` (nominal 800x1600)."""
        self.width = width
        self.height = height

    # layout -------------------------------------------------------------------------------

    def layout(self, rng: np.random.Generator) -> Layout:
        """Sample a normal bottle."""
        s = float(rng.uniform(0.985, 1.015)) * self.height / HEIGHT
        juice = str(rng.choice(JUICES))
        gain = float(rng.uniform(0.95, 1.03))
        rgb = tuple(float(np.clip(c * gain + rng.uniform(-4, 4), 0, 255)) for c in JUICE_RGB[juice])

        def pose(t_range: tuple[float, float], size: tuple[float, float]) -> LabelPose:
            k = float(rng.uniform(0.99, 1.01)) * s
            return LabelPose(
                present=True,
                t=float(rng.uniform(*t_range)),
                du=float(rng.uniform(-LABEL_DU_GOOD, LABEL_DU_GOOD)),
                tilt=float(rng.uniform(-LABEL_TILT_GOOD, LABEL_TILT_GOOD)),
                size=(size[0] * k, size[1] * k),
            )

        return Layout(
            scale=s,
            cx=float(rng.uniform(0.46, 0.53)) * self.width,
            top=float(rng.uniform(108, 125)) * self.height / HEIGHT,
            theta=float(rng.uniform(-0.5, 0.5)),
            juice=juice,
            juice_rgb=rgb,  # type: ignore[arg-type]
            icon=juice,
            icon_offset=(
                float(rng.uniform(-ICON_OFFSET_GOOD, ICON_OFFSET_GOOD)),
                float(rng.uniform(-ICON_OFFSET_GOOD, ICON_OFFSET_GOOD)),
            ),
            fill=float(rng.uniform(*FILL_GOOD)),
            top_label=pose(TOP_T_GOOD, (TOP_LABEL_SIZE, TOP_LABEL_SIZE)),
            bottom_label=pose(BOTTOM_T_GOOD, BOTTOM_LABEL_SIZE),
        )

    def apply_defect(
        self, lay: Layout, defect: str, rng: np.random.Generator
    ) -> tuple[Layout, str]:
        """Change a normal layout into one showing ``defect``; return it and the reason."""
        _, template = DEFECTS[defect]
        fmt: dict[str, object] = {}
        new = replace(lay, top_label=replace(lay.top_label), bottom_label=replace(lay.bottom_label))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        if defect == "missing_top_label":
            new.top_label.present = False
            new.icon = None
        elif defect == "missing_bottom_label":
            new.bottom_label.present = False
        elif defect == "swapped_labels":
            new.top_label.t = float(rng.uniform(0.80, 0.83))
            new.bottom_label.t = float(rng.uniform(*TOP_T_GOOD))
        elif defect in ("misplaced_label_top", "misplaced_label_bottom"):
            pose = new.top_label if defect == "misplaced_label_top" else new.bottom_label
            if rng.random() < 0.5:
                pose.du = sign * float(rng.uniform(0.10, 0.15))
                fmt["how"] = f"shifted to the {'right' if sign > 0 else 'left'}"
            elif defect == "misplaced_label_top":
                pose.t = float(rng.uniform(0.66, 0.69))
                fmt["how"] = "too low, close to the bottom label"
            else:
                pose.t = float(rng.uniform(0.69, 0.71))
                fmt["how"] = "too high, just under the top label"
        elif defect == "rotated_label":
            top = rng.random() < 0.5
            pose = new.top_label if top else new.bottom_label
            pose.tilt = sign * float(rng.uniform(10.0, 25.0))
            fmt.update(which="top" if top else "bottom", angle=abs(pose.tilt))
        elif defect == "empty_bottle":
            new.juice = None
            new.icon = str(rng.choice(JUICES))
        elif defect == "wrong_fill_level_too_much":
            new.fill = float(rng.uniform(*FILL_TOO_MUCH))
            fmt["level"] = new.fill
        elif defect == "wrong_fill_level_not_enough":
            new.fill = float(rng.uniform(*FILL_NOT_ENOUGH))
            fmt["level"] = new.fill
        elif defect == "misplaced_fruit_icon":
            off = sign * float(rng.uniform(0.19, 0.23))
            other = float(rng.uniform(-0.04, 0.04))
            new.icon_offset = (off, other) if rng.random() < 0.5 else (other, off)
        elif defect == "missing_fruit_icon":
            new.icon = None
        elif defect == "unknown_fruit_icon":
            new.icon = "unknown"
        elif defect == "wrong_juice_type":
            new.icon = str(rng.choice([j for j in JUICES if j != lay.juice]))
            fmt.update(icon=new.icon, juice=lay.juice)
        elif defect == "juice_color":
            k = int(rng.integers(len(ODD_JUICE_RGB)))
            new.juice = "unknown"
            new.juice_rgb = ODD_JUICE_RGB[k]
            fmt["color"] = ("blue", "green", "purple")[k]
        else:
            raise ValueError(f"juice_bottle generator cannot render defect {defect!r}")
        return new, template.format(**fmt)

    # drawing ------------------------------------------------------------------------------

    def render(self, rng: np.random.Generator, defect: str | None = None) -> Sample:
        """Render one image: a good bottle, or one showing ``defect`` only."""
        kit.check_defect(CATEGORY, defect, DEFECTS)
        nominal = self.layout(rng)
        lay, reason = (nominal, "") if defect is None else self.apply_defect(nominal, defect, rng)
        shape = (self.height, self.width)
        frame = _Frame(lay)
        bottle = kit.polygon_mask(shape, frame.outline(_profile(lay.scale, inner=False)))
        interior = kit.polygon_mask(shape, frame.outline(_profile(lay.scale, inner=True)))
        ys = np.nonzero(bottle.any(axis=1))[0]
        by0, by1 = int(ys[0]), int(ys[-1]) + 1

        def liquid_region(fill: float) -> np.ndarray:
            y_f = int(math.ceil(by0 + fill * (by1 - by0)))
            m = interior.copy()
            m[:y_f] = False
            return m

        img = self._background(rng)
        liquid_full = liquid_region(lay.fill) if lay.juice is not None else None
        # paint the bottle inside its bounding box only (speed)
        xs = np.nonzero(bottle.any(axis=0))[0]
        ry0, ry1 = max(0, by0 - 4), min(self.height, by1 + 4)
        rx0, rx1 = max(0, int(xs[0]) - 4), min(self.width, int(xs[-1]) + 5)
        roi = (slice(ry0, ry1), slice(rx0, rx1))
        sub, sub_frame = img[roi], frame.shifted(-rx0, -ry0)
        self._glass(sub, rng, lay, sub_frame, bottle[roi], interior[roi])
        if liquid_full is not None:
            self._liquid(sub, lay, sub_frame, liquid_full[roi])
        self._highlights(sub, rng, lay, sub_frame, bottle[roi])

        top_mask = icon_mask = bottom_mask = None
        icon_patch_mask = None
        if lay.top_label.present:
            patch, icon_patch_mask = _label_patch(
                rng, lay.top_label.size, icon=lay.icon, icon_offset=lay.icon_offset
            )
            top_mask, icon_mask = _place(
                img, patch, [icon_patch_mask], *self._label_pose(lay, frame, lay.top_label)
            )
        if lay.bottom_label.present:
            patch, _ = _label_patch(rng, lay.bottom_label.size, text="100% Juice")
            (bottom_mask,) = _place(img, patch, [], *self._label_pose(lay, frame, lay.bottom_label))

        image = kit.finish(img, rng, light=0.05, blur=0.7, noise=1.8)

        parts = [Part("bottle", bottle)]
        if liquid_full is not None:
            visible = liquid_full.copy()
            for m in (top_mask, bottom_mask):
                if m is not None:
                    visible &= ~m
            parts.append(Part("liquid", visible, {"juice": lay.juice}))
        if top_mask is not None:
            parts.append(Part("top_label", top_mask))
        if icon_mask is not None and icon_mask.any() and lay.icon is not None:
            parts.append(Part("fruit_icon", icon_mask & top_mask, {"kind": lay.icon}))
        if bottom_mask is not None:
            parts.append(Part("bottom_label", bottom_mask))

        if defect is None:
            return Sample(image=image, parts=parts)
        region = self._anomaly_region(defect, nominal, lay, frame, liquid_region, parts)
        return Sample(
            image=image,
            parts=parts,
            defect=defect,
            anomaly_type=DEFECTS[defect][0],
            reason=reason,
            anomaly_mask=region,
        )

    def _label_pose(
        self, lay: Layout, frame: _Frame, pose: LabelPose
    ) -> tuple[tuple[float, float], float]:
        u = pose.du * 2 * BODY_HALF * lay.scale
        return frame(u, pose.t * lay.height), lay.theta + pose.tilt

    def _label_rect(self, lay: Layout, frame: _Frame, pose: LabelPose) -> np.ndarray:
        center, angle = self._label_pose(lay, frame, pose)
        return kit.rect_mask((self.height, self.width), center, pose.size, angle)

    def _icon_mask_at(self, lay: Layout, frame: _Frame, kind: str) -> np.ndarray:
        """Where an icon of ``kind`` would be printed on the top label of ``lay``."""
        rng = np.random.default_rng(0)
        patch, imask = _label_patch(rng, lay.top_label.size, icon=kind, icon_offset=lay.icon_offset)
        canvas = np.zeros((self.height, self.width, 3), np.float32)
        _, m = _place(canvas, patch, [imask], *self._label_pose(lay, frame, lay.top_label))
        assert m is not None
        return m

    def _anomaly_region(
        self,
        defect: str,
        nominal: Layout,
        lay: Layout,
        frame: _Frame,
        liquid_region: Callable[[float], np.ndarray],
        parts: list[Part],
    ) -> np.ndarray:
        """The ground-truth anomaly mask of ``defect``."""
        by_label = {p.label: p.mask for p in parts}
        if defect == "missing_top_label":
            return self._label_rect(nominal, frame, nominal.top_label)
        if defect == "missing_bottom_label":
            return self._label_rect(nominal, frame, nominal.bottom_label)
        if defect == "swapped_labels":
            return by_label["top_label"] | by_label["bottom_label"]
        if defect in ("misplaced_label_top", "rotated_label") and (
            defect == "misplaced_label_top" or lay.top_label.tilt != nominal.top_label.tilt
        ):
            return by_label["top_label"] | self._label_rect(nominal, frame, nominal.top_label)
        if defect in ("misplaced_label_bottom", "rotated_label"):
            return by_label["bottom_label"] | self._label_rect(nominal, frame, nominal.bottom_label)
        if defect in ("empty_bottle", "wrong_fill_level_too_much", "wrong_fill_level_not_enough"):
            a = liquid_region(nominal.fill)
            if defect == "empty_bottle":
                return a
            b = liquid_region(lay.fill)
            return a ^ b
        if defect in ("misplaced_fruit_icon", "missing_fruit_icon"):
            expected = self._icon_mask_at(nominal, frame, nominal.icon or "orange")
            return expected | by_label.get("fruit_icon", np.zeros_like(expected))
        if defect in ("unknown_fruit_icon", "wrong_juice_type"):
            return by_label["fruit_icon"]
        if defect == "juice_color":
            return by_label["liquid"]
        raise ValueError(defect)

    # painting steps (on the bottle's region of interest) ------------------------------------

    def _background(self, rng: np.random.Generator) -> np.ndarray:
        img = kit.canvas(rng, self.height, self.width, (10.0, 9.0, 8.0), texture=3.2, grain=5)
        table = int(self.height * 0.93)
        img[table:] += np.linspace(0, 6, self.height - table, dtype=np.float32)[:, None, None]
        return img

    def _glass(
        self,
        img: np.ndarray,
        rng: np.random.Generator,
        lay: Layout,
        frame: _Frame,
        bottle: np.ndarray,
        interior: np.ndarray,
    ) -> None:
        """Tint the glass, brighten its walls and rim, draw the cap thread and thick base."""
        s = lay.scale
        add = np.zeros(bottle.shape, np.float32)
        for k in range(5):
            v = (10 + 13.5 * k) * s
            hw = outer_half_width(v / lay.height, s) - 2
            line = kit.polyline_mask(
                bottle.shape, [frame(-hw, v + 3 * s), frame(hw, v - 3 * s)], 3 * s
            )
            add[line] = 70.0
        base_profile = [
            (outer_half_width(1.0, s) - 6 * s, lay.height - 34 * s),
            (150 * s, lay.height - 4 * s),
        ]
        add[kit.polygon_mask(bottle.shape, frame.outline(base_profile))] += 30.0
        add += 36.0
        add[~interior] += 28.0
        mul = np.full(bottle.shape, 0.6, np.float32)
        inner = cv2.erode(bottle.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        edge = bottle & ~inner
        mul[edge] = 0.0
        add[edge] = 150.0 + 12.0 * rng.standard_normal(int(edge.sum()), dtype=np.float32)
        mul[~bottle] = 1.0
        add[~bottle] = 0.0
        kit.adjust(img, gain=mul, offset=add)

    def _liquid(self, img: np.ndarray, lay: Layout, frame: _Frame, region: np.ndarray) -> None:
        """Paint the juice with a cylindrical shading and a lighter meniscus band."""
        xs = np.arange(img.shape[1], dtype=np.float32)
        u = np.clip(np.abs(xs - frame.cx) / (BODY_HALF * lay.scale), 0, 1)
        shade = np.broadcast_to(1.0 - 0.32 * u**2, region.shape)
        kit.paint_mix(img, region, [shade], [lay.juice_rgb])
        ys = np.nonzero(region.any(axis=1))[0]
        band = slice(ys[0], ys[0] + int(6 * lay.scale))
        top, m = img[band], region[band]
        top[m] = top[m] * 0.8 + 40.0

    def _highlights(
        self,
        img: np.ndarray,
        rng: np.random.Generator,
        lay: Layout,
        frame: _Frame,
        bottle: np.ndarray,
    ) -> None:
        """Vertical specular reflections along the glass, following its profile."""
        layer = np.zeros(bottle.shape, np.float32)
        s = lay.scale
        vs = np.linspace(THREAD_END * lay.height, lay.height - 40 * s, 60)
        for rel, amp, width in ((-0.78, 70.0, 7.0), (0.8, 45.0, 5.0), (-0.45, 22.0, 22.0)):
            pts = [frame(rel * outer_half_width(v / lay.height, s), v) for v in vs]
            m = kit.polyline_mask(bottle.shape, pts, width * s)
            layer[m] = amp * float(rng.uniform(0.8, 1.2))
        layer = cv2.GaussianBlur(layer, (0, 0), 3.0)
        layer[~bottle] = 0.0
        kit.adjust(img, offset=layer)


def make() -> JuiceBottleGenerator:
    """The juice_bottle generator at the nominal MVTec LOCO size (800x1600)."""
    return JuiceBottleGenerator()
