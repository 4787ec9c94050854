"""Shared drawing kit for the synthetic generators.

Images are built as ``HWC float32`` RGB in ``0..255`` and turned into ``uint8`` at the end by
:func:`finish` (which also plays the camera: lighting, blur and sensor noise). Masks are
``HW bool``. Angles are in degrees, positive = clockwise on screen (y grows downwards). Points
are ``(x, y)`` in pixels. All randomness comes from the ``numpy.random.Generator`` passed in, so
a seed fixes every pixel.

Speed: full images are large (up to 1700x1280), so the kit rasterises and paints inside the
bounding window of what it draws, and does whole-image work with OpenCV calls on contiguous
arrays (numpy broadcasting over the colour axis and boolean indexing of colour images are many
times slower at this size).
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

RGB = tuple[float, float, float]
Point = tuple[float, float]
Window = tuple[slice, slice]
"""``(rows, cols)`` slices of an image, e.g. the bounding box of a drawing."""
Points = Sequence[Point] | np.ndarray
"""``[(x, y), ...]`` or an ``(n, 2)`` array."""

_SHIFT = 4  # sub-pixel bits of the OpenCV drawing calls
_ONE = 1 << _SHIFT
_STRIP = 32  # rows processed at a time by whole-image work (temporaries stay in the CPU cache)


# --- coordinates and windows ------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """A rigid object frame: local ``(x, y)`` (origin at the object's centre) to image pixels.

    Attributes:
        cx: Image x of the local origin.
        cy: Image y of the local origin.
        angle: Rotation of the local axes, degrees clockwise on screen.
    """

    cx: float
    cy: float
    angle: float

    def to_img(self, p: Point) -> Point:
        """Image coordinates of the local point ``p`` (also of arrays ``p = (xs, ys)``)."""
        t = math.radians(self.angle)
        c, s = math.cos(t), math.sin(t)
        return (self.cx + p[0] * c - p[1] * s, self.cy + p[0] * s + p[1] * c)


def window_of_points(points: Points, shape: tuple[int, int], pad: float = 4) -> Window:
    """The window enclosing ``points`` plus ``pad`` pixels on every side, clipped to ``shape``.

    Args:
        points: ``[(x, y), ...]`` image points.
        shape: ``(height, width)`` of the image.
        pad: Margin in pixels (e.g. a line's half thickness or an ellipse's semi-axis).

    Returns:
        ``(rows, cols)`` slices; empty when the points lie outside the image.
    """
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    h, w = shape
    x0 = min(max(0, math.floor(min(xs) - pad)), w)
    y0 = min(max(0, math.floor(min(ys) - pad)), h)
    x1 = max(min(w, math.ceil(max(xs) + pad) + 1), x0)
    y1 = max(min(h, math.ceil(max(ys) + pad) + 1), y0)
    return slice(y0, y1), slice(x0, x1)


def window_of_mask(mask: np.ndarray, pad: int = 0) -> Window | None:
    """The bounding window of the True pixels of ``mask`` grown by ``pad``, or None if empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape[:2]
    return (
        slice(max(0, int(rows[0]) - pad), min(h, int(rows[-1]) + 1 + pad)),
        slice(max(0, int(cols[0]) - pad), min(w, int(cols[-1]) + 1 + pad)),
    )


def window_size(win: Window) -> tuple[int, int]:
    """``(height, width)`` of a window."""
    return win[0].stop - win[0].start, win[1].stop - win[1].start


def embed(shape: tuple[int, int], crop: np.ndarray, win: Window) -> np.ndarray:
    """A full-size ``HW bool`` mask holding ``crop`` at window ``win`` (False elsewhere)."""
    out = np.zeros(shape, bool)
    out[win] = crop
    return out


def overlap(
    shape: tuple[int, int], top: int, left: int, size: tuple[int, int]
) -> tuple[Window, Window] | None:
    """Where a ``size`` crop placed with its corner at ``(top, left)`` meets an image.

    Args:
        shape: ``(height, width)`` of the image.
        top: Image row of the crop's first row (may be negative).
        left: Image column of the crop's first column (may be negative).
        size: ``(height, width)`` of the crop.

    Returns:
        ``(image window, crop window)`` of the common part, or None when they do not meet.
    """
    h, w = shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + size[0], h), min(left + size[1], w)
    if y0 >= y1 or x0 >= x1:
        return None
    return (
        (slice(y0, y1), slice(x0, x1)),
        (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left)),
    )


def blit(full: np.ndarray, crop: np.ndarray, top: int, left: int) -> None:
    """OR the mask ``crop`` into ``full`` with its corner at ``(top, left)``, clipped to ``full``.

    ``top`` and ``left`` may be negative or put part of ``crop`` beyond ``full``.
    """
    both = overlap(full.shape[:2], top, left, crop.shape[:2])
    if both is not None:
        full[both[0]] |= crop[both[1]]


def _strips(n: int) -> Iterator[slice]:
    """Row slices of ``_STRIP`` rows covering ``n`` rows (whole-image work goes strip by strip)."""
    for r0 in range(0, n, _STRIP):
        yield slice(r0, r0 + _STRIP)


def _fixed(points: Points, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """Points shifted by ``(dx, dy)`` in OpenCV fixed point (``_SHIFT`` fractional bits)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2) - (dx, dy)
    return np.round(pts * _ONE).astype(np.int32)


# --- rasterising ------------------------------------------------------------------------------


def draw_ellipse(
    arr: np.ndarray,
    center: Point,
    axes: Point,
    angle: float,
    value: float | Sequence[float],
) -> None:
    """Draw a filled ellipse into ``arr`` in place, with sub-pixel precision.

    Args:
        arr: Image or mask (any OpenCV-drawable dtype), changed in place.
        center: ``(x, y)`` centre in ``arr`` pixels.
        axes: Semi-axes ``(ax, ay)`` in pixels.
        angle: Rotation in degrees.
        value: Fill value (a number, or a colour for multi-channel ``arr``).
    """
    cv2.ellipse(
        arr,
        (round(center[0] * _ONE), round(center[1] * _ONE)),
        (max(1, round(axes[0] * _ONE)), max(1, round(axes[1] * _ONE))),
        angle,
        0,
        360,
        value,
        -1,
        cv2.LINE_8,
        _SHIFT,
    )


def draw_polygon(arr: np.ndarray, points: Points, value: float | Sequence[float]) -> None:
    """Draw a filled polygon through ``points`` into ``arr`` in place (sub-pixel precision)."""
    cv2.fillPoly(arr, [_fixed(points)], value, cv2.LINE_8, _SHIFT)


def draw_ellipses(
    arr: np.ndarray,
    centers: np.ndarray,
    axes: np.ndarray,
    angles: np.ndarray,
    values: np.ndarray | float,
    *,
    vertices: int = 24,
) -> None:
    """Draw many filled ellipses into ``arr`` in order, later ones on top (fast).

    Each ellipse is filled as a ``vertices``-gon (within 1 % of its radius for the default),
    computed for all at once; this is several times faster than :func:`draw_ellipse` per
    ellipse on ``float32`` colour images. Draw a mask of the same ellipses with this function
    too, so that it matches the painted pixels exactly.

    Args:
        arr: Image or mask, changed in place.
        centers: ``(n, 2)`` centres ``(x, y)``.
        axes: ``(n, 2)`` semi-axes.
        angles: ``(n,)`` rotations in degrees.
        values: One value for all, ``(n,)`` values or ``(n, channels)`` colours.
        vertices: Polygon vertices per ellipse.
    """
    n = len(angles)
    if n == 0:
        return
    th = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)[None, :]
    t = np.deg2rad(np.asarray(angles, np.float64))[:, None]
    ax = np.maximum(np.asarray(axes, np.float64), 1.0 / _ONE)
    c = np.asarray(centers, np.float64)
    x, y = ax[:, :1] * np.cos(th), ax[:, 1:] * np.sin(th)
    px = c[:, :1] + x * np.cos(t) - y * np.sin(t)
    py = c[:, 1:] + x * np.sin(t) + y * np.cos(t)
    polys = np.round(np.stack([px, py], axis=2) * _ONE).astype(np.int32)
    v_arr = np.asarray(values, np.float64)
    if v_arr.ndim == 0:
        vals: list[float | tuple[float, ...]] = [float(v_arr)] * n
    elif v_arr.ndim == 1:
        vals = v_arr.tolist()
    else:
        vals = [tuple(v) for v in v_arr.tolist()]
    for poly, v in zip(polys, vals, strict=True):
        cv2.fillConvexPoly(arr, poly, v, cv2.LINE_8, _SHIFT)


def _rasterise(
    shape: tuple[int, int],
    points: Points,
    pad: float,
    draw: Callable[[np.ndarray, float, float], None],
) -> np.ndarray:
    """Full-size mask drawn by ``draw(crop, x0, y0)`` in the window around ``points``."""
    win = window_of_points(points, shape, pad)
    crop = np.zeros(window_size(win), np.uint8)
    if crop.size:
        draw(crop, win[1].start, win[0].start)
    return embed(shape, crop.view(bool), win)


def ellipse_mask(
    shape: tuple[int, int],
    center: Point,
    axes: Point,
    angle: float = 0.0,
) -> np.ndarray:
    """Filled ellipse with semi-axes ``axes = (ax, ay)`` rotated by ``angle`` degrees."""

    def draw(crop: np.ndarray, x0: float, y0: float) -> None:
        draw_ellipse(crop, (center[0] - x0, center[1] - y0), axes, angle, 1)

    return _rasterise(shape, [center], max(axes) + 2, draw)


def polygon_mask(shape: tuple[int, int], points: Points) -> np.ndarray:
    """Filled polygon through ``points`` ``[(x, y), ...]``."""

    def draw(crop: np.ndarray, x0: float, y0: float) -> None:
        cv2.fillPoly(crop, [_fixed(points, x0, y0)], 1, cv2.LINE_8, _SHIFT)

    return _rasterise(shape, points, 2, draw)


def polyline_mask(shape: tuple[int, int], points: Points, thickness: float) -> np.ndarray:
    """A thick open curve through ``points`` (round joints), e.g. a cable."""
    thick = max(1, round(thickness))

    def draw(crop: np.ndarray, x0: float, y0: float) -> None:
        cv2.polylines(crop, [_fixed(points, x0, y0)], False, 1, thick, cv2.LINE_8, _SHIFT)

    return _rasterise(shape, points, thick / 2 + 2, draw)


def rect_points(center: Point, size: Point, angle: float = 0.0) -> list[Point]:
    """Corners of a rectangle of ``size = (w, h)`` centred at ``center``, rotated by ``angle``."""
    frame = Frame(center[0], center[1], angle)
    w, h = size
    return [
        frame.to_img(p)
        for p in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
    ]


def rect_mask(
    shape: tuple[int, int],
    center: Point,
    size: Point,
    angle: float = 0.0,
) -> np.ndarray:
    """Filled rectangle of ``size = (w, h)`` centred at ``center`` rotated by ``angle``."""
    return polygon_mask(shape, rect_points(center, size, angle))


def rounded_rect_points(
    center: Point, size: Point, radius: float, angle: float = 0.0, steps: int = 8
) -> list[Point]:
    """Outline of a rectangle with corners rounded by ``radius`` (``steps`` segments each)."""
    frame = Frame(center[0], center[1], angle)
    r = max(0.0, min(radius, size[0] / 2, size[1] / 2))
    hw, hh = size[0] / 2 - r, size[1] / 2 - r
    out: list[Point] = []
    for cx, cy, start in ((hw, hh, 0), (-hw, hh, 90), (-hw, -hh, 180), (hw, -hh, 270)):
        for i in range(steps + 1):
            t = math.radians(start + 90 * i / steps)
            out.append(frame.to_img((cx + r * math.cos(t), cy + r * math.sin(t))))
    return out


def rounded_rect_mask(
    shape: tuple[int, int],
    center: Point,
    size: Point,
    radius: float,
    angle: float = 0.0,
) -> np.ndarray:
    """Rectangle with rounded corners of ``radius`` pixels."""
    return polygon_mask(shape, rounded_rect_points(center, size, radius, angle))


# --- painting ---------------------------------------------------------------------------------


def copy_where(dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> None:
    """``dst[mask] = src[mask]`` in place, fast for colour images (``dst`` may be a window view).

    Args:
        dst: ``HWC`` (or ``HW``) array, changed in place.
        src: Array of the same shape and dtype.
        mask: ``HW bool`` pixels to copy.
    """
    out = cv2.copyTo(src, mask.view(np.uint8), dst)
    if not np.shares_memory(out, dst):  # pragma: no cover - OpenCV wrote a copy
        dst[...] = out


def colorize(weights: Sequence[np.ndarray], colors: Sequence[Sequence[float]]) -> np.ndarray:
    """The colour image ``sum_i weights[i] * colors[i]``.

    E.g. one weight plane (a shading factor) times the object's colour, plus a second plane
    (a highlight) times white. Built channel by channel (several times faster than
    ``cv2.transform`` or numpy broadcasting over the colour axis).

    Args:
        weights: ``HW`` weight planes of one shape.
        colors: One RGB colour per plane.

    Returns:
        ``HWC float32`` image.
    """
    planes = [np.asarray(w, np.float32) for w in weights]
    cols = np.asarray(colors, np.float32).reshape(len(planes), -1)
    channels = []
    for c in range(cols.shape[1]):
        plane = planes[0] * cols[0, c]
        for w, k in zip(planes[1:], cols[1:, c], strict=True):
            plane += w * k
        channels.append(plane)
    return cv2.merge(channels)


def paint_mix(
    img: np.ndarray,
    mask: np.ndarray,
    weights: Sequence[np.ndarray],
    colors: Sequence[Sequence[float]],
) -> None:
    """Paint ``mask`` of ``img`` in place with :func:`colorize` ``(weights, colors)``.

    The workhorse of shaded painting. Works in strips of rows, so no image-sized temporary is
    made.

    Args:
        img: ``HWC float32`` image (or a window of it), changed in place.
        mask: ``HW bool`` pixels to paint, the shape of ``img[..., 0]``.
        weights: At most four ``HW float32`` planes of that shape.
        colors: One RGB colour per plane.
    """
    for rows in _strips(mask.shape[0]):
        copy_where(img[rows], colorize([w[rows] for w in weights], colors), mask[rows])


def _shade_factor(mask: np.ndarray, shade: float = 0.0, edge: float = 0.0) -> np.ndarray:
    """Brightness factor (``HW float32``) that gives a flat region a rounded 3-D look.

    Args:
        mask: ``HW bool`` region (a window is enough if it has a background pixel around it).
        shade: Darkening (0..1) towards the border, quadratic in the distance from the border.
        edge: Extra darkening (0..1) of a thin outline along the border.
    """
    dist = cv2.distanceTransform(mask.view(np.uint8), cv2.DIST_L2, 3)
    factor = np.ones(mask.shape, np.float32)
    if shade > 0:
        dmax = max(float(dist.max()), 1.0)
        factor -= np.float32(shade) * (1.0 - np.minimum(dist / np.float32(dmax), 1.0)) ** 2
    if edge > 0:
        factor[dist <= 1.5] *= np.float32(1.0 - edge)
    return factor


def paint(
    img: np.ndarray,
    mask: np.ndarray,
    color: RGB,
    rng: np.random.Generator | None = None,
    *,
    shade: float = 0.0,
    noise: float = 0.0,
    edge: float = 0.0,
) -> None:
    """Paint ``mask`` of ``img`` in place with ``color`` (working in the mask's window).

    Args:
        img: ``HWC float32`` image, changed in place.
        mask: ``HW bool`` region.
        color: RGB colour.
        rng: Random generator (needed when ``noise > 0``).
        shade: Strength (0..1) of a darkening towards the region's border (a 3-D look).
        noise: Standard deviation of per-pixel colour noise.
        edge: Darkening (0..1) of a thin outline along the border.
    """
    win = window_of_mask(mask, pad=1)
    if win is None:
        return
    sub, m = img[win], mask[win]
    if shade > 0 or edge > 0:
        factor = _shade_factor(m, shade, edge)
    else:
        factor = np.ones(m.shape, np.float32)
    paint_mix(sub, m, [factor], [color])
    if noise > 0 and rng is not None:
        n = int(np.count_nonzero(m))
        sub[m] += rng.normal(0.0, noise, (n, 1)).astype(np.float32)


def blend(img: np.ndarray, mask: np.ndarray, color: RGB, alpha: float) -> None:
    """Alpha-blend ``color`` over ``mask`` of ``img`` in place (tinted transparent material)."""
    win = window_of_mask(mask)
    if win is None:
        return
    sub, m = img[win], mask[win]
    tint = np.empty((min(_STRIP, m.shape[0]), *sub.shape[1:]), np.float32)
    tint[:] = np.asarray(color, np.float32)[: sub.shape[2]] * np.float32(alpha)
    for rows in _strips(m.shape[0]):
        part = sub[rows]
        mixed = cv2.scaleAdd(part, 1.0 - alpha, tint[: part.shape[0]])
        copy_where(part, mixed, m[rows])


def adjust(
    img: np.ndarray, gain: np.ndarray | None = None, offset: np.ndarray | None = None
) -> None:
    """``img = img * gain + offset`` in place, with per-pixel ``HW`` planes for all channels.

    Args:
        img: ``HWC float32`` image (or a window of it), changed in place.
        gain: ``HW`` multiplier (e.g. lighting or a shadow), or None.
        offset: ``HW`` addend (e.g. a reflection), or None.
    """
    channels = img.shape[2]
    for rows in _strips(img.shape[0]):
        sub = img[rows]
        if gain is not None:
            g = np.ascontiguousarray(gain[rows], np.float32)
            cv2.multiply(sub, cv2.merge([g] * channels), dst=sub)
        if offset is not None:
            o = np.ascontiguousarray(offset[rows], np.float32)
            cv2.add(sub, cv2.merge([o] * channels), dst=sub)


def scale_where(img: np.ndarray, mask: np.ndarray, factor: float) -> None:
    """Multiply the ``mask`` pixels of ``img`` by ``factor`` in place (brighten or darken)."""
    win = window_of_mask(mask)
    if win is None:
        return
    sub, m = img[win], mask[win]
    for rows in _strips(m.shape[0]):
        copy_where(sub[rows], sub[rows] * np.float32(factor), m[rows])


def cast_shadow(
    img: np.ndarray,
    mask: np.ndarray,
    *,
    offset: Point,
    sigma: float,
    strength: float,
    scale: int = 1,
) -> None:
    """Darken ``img`` in place under the soft shadow of ``mask`` shifted by ``offset``.

    Args:
        img: ``HWC float32`` image (or a window of it, with ``mask`` the same window).
        mask: ``HW bool`` object casting the shadow.
        offset: ``(dx, dy)`` shift of the shadow in pixels (away from the light).
        sigma: Softness: Gaussian blur of the shadow in pixels.
        strength: Darkening (0..1) where the shadow is full.
        scale: Work at ``1/scale`` resolution (for soft shadows; ``sigma / scale`` should stay
            above about 1).
    """
    pad = math.ceil(max(abs(offset[0]), abs(offset[1])) + 3 * sigma)
    win = window_of_mask(mask, pad)
    if win is None:
        return
    q = max(1, int(scale))
    ch, cw = window_size(win)
    ch, cw = ch // q * q, cw // q * q
    if ch < 2 * q or cw < 2 * q:
        return
    win = (slice(win[0].start, win[0].start + ch), slice(win[1].start, win[1].start + cw))
    shadow = mask[win].view(np.uint8).astype(np.float32)
    size = (cw // q, ch // q)
    if q > 1:
        shadow = cv2.resize(shadow, size, interpolation=cv2.INTER_AREA)
    shift = np.float32([[1, 0, offset[0] / q], [0, 1, offset[1] / q]])
    shadow = cv2.GaussianBlur(cv2.warpAffine(shadow, shift, size), (0, 0), sigma / q)
    factor = 1.0 - np.float32(strength) * np.clip(shadow, 0.0, 1.0)
    if q > 1:
        factor = cv2.resize(factor, (cw, ch), interpolation=cv2.INTER_LINEAR)
    adjust(img[win], gain=factor)


# --- backgrounds and the camera ---------------------------------------------------------------


def canvas(
    rng: np.random.Generator,
    height: int,
    width: int,
    base: RGB,
    *,
    texture: float = 6.0,
    grain: int = 24,
    swell: float = 0.0,
    swell_grain: int = 200,
) -> np.ndarray:
    """A textured background: ``base`` colour with smooth blotches of ``texture`` amplitude.

    The blotches are a random normal grid of ``texture`` standard deviation every ``grain``
    pixels, bilinearly interpolated (the image's standard deviation is about 2/3 of it).

    Args:
        rng: Random generator.
        height: Image height in pixels.
        width: Image width in pixels.
        base: Mean RGB colour.
        texture: Amplitude (grey levels) of the low-frequency texture.
        grain: Size in pixels of the texture blotches.
        swell: Amplitude (grey levels) of an extra large-scale unevenness (0: none).
        swell_grain: Size in pixels of the swell.

    Returns:
        ``HWC float32`` image.
    """
    small = rng.standard_normal((height // grain + 2, width // grain + 2), dtype=np.float32)
    small *= np.float32(texture)
    if swell > 0:
        coarse = rng.standard_normal(
            (height // swell_grain + 2, width // swell_grain + 2), dtype=np.float32
        )
        coarse *= np.float32(swell)
        small += cv2.resize(coarse, small.shape[::-1], interpolation=cv2.INTER_CUBIC)
    small3 = small[..., None] + np.asarray(base, np.float32)
    return cv2.resize(small3, (width, height), interpolation=cv2.INTER_LINEAR)


@functools.cache
def _unit_noise_table() -> np.ndarray:
    """256 standard normal quantiles scaled to unit standard deviation (a noise look-up table)."""
    nd = statistics.NormalDist()
    q = np.array([nd.inv_cdf((k + 0.5) / 256) for k in range(256)])
    return q / q.std()


def _sensor_noise(
    rng: np.random.Generator, height: int, width: int, sigma: float, channels: int = 3
) -> np.ndarray:
    """Zero-mean luminance noise of standard deviation ``sigma`` (the same in every channel).

    Gaussian, quantised to 256 levels: one random byte per pixel through a look-up table, which
    is several times faster than drawing normal variates.

    Returns:
        ``HWC float32`` noise (``HW`` when ``channels == 1``).
    """
    table = (_unit_noise_table() * sigma).astype(np.float32)
    noise = cv2.LUT(rng.integers(0, 256, (height, width), dtype=np.uint8), table)
    return cv2.merge([noise] * channels) if channels > 1 else noise


def finish(
    img: np.ndarray,
    rng: np.random.Generator | None = None,
    *,
    light: float = 0.0,
    vignette: float = 0.0,
    blur: float = 0.0,
    noise: float = 0.0,
) -> np.ndarray:
    """Turn a rendered ``HWC float32`` image into ``uint8``, playing the camera on the way.

    In order: an illumination gain ``1 + 2 light (a x + b y) - 2 vignette (x^2 + y^2)`` (``x, y``
    in ``[-0.5, 0.5]`` across the image, ``a, b`` uniform in ``[-1, 1]``), a slight optical blur,
    luminance sensor noise, then rounding and clipping to ``0..255``.
    The work goes in strips of rows, which is several times faster than whole-image passes.

    Args:
        img: ``HWC float32`` image (``HW`` works too); not changed.
        rng: Random generator; needed when ``light``, ``vignette`` or ``noise`` is set.
        light: Relative strength of the illumination gradient (0: none).
        vignette: Darkening towards the corners (0: none).
        blur: Gaussian blur sigma in pixels (0: none).
        noise: Sensor noise standard deviation in grey levels (0: none).

    Returns:
        ``HWC uint8`` image.

    Raises:
        ValueError: If lighting or noise is asked for without ``rng``.
    """
    if rng is None and (light > 0 or vignette > 0 or noise > 0):
        raise ValueError("finish needs an rng for lighting or noise; pass the generator's rng")
    h, w = img.shape[:2]
    channels = img.shape[2] if img.ndim == 3 else 1
    gx = gy = None
    if rng is not None and (light > 0 or vignette > 0):
        a, b = rng.uniform(-1.0, 1.0, 2)
        x = (np.arange(w) + 0.5) / w - 0.5
        y = (np.arange(h) + 0.5) / h - 0.5
        gx = (2 * light * a * x - 2 * vignette * x * x).astype(np.float32)
        gy = (1.0 + 2 * light * b * y - 2 * vignette * y * y).astype(np.float32)
    # a Gaussian kernel cut at about 2.2 sigma (OpenCV's default of 4 sigma doubles the work
    # for weights below 1 %); ``margin`` rows beyond a strip feed its blur
    margin = math.ceil(2.2 * blur) if blur > 0 else 0
    ksize = (2 * margin + 1, 2 * margin + 1)
    out = np.empty(img.shape, np.uint8)
    for r0 in range(0, h, _STRIP):
        r1 = min(h, r0 + _STRIP)
        a0, a1 = max(0, r0 - margin), min(h, r1 + margin)
        part = img[a0:a1]
        if gx is not None and gy is not None:
            gain = gy[a0:a1, None] + gx[None, :]
            part = cv2.multiply(part, cv2.merge([gain] * channels) if channels > 1 else gain)
        if blur > 0:
            part = cv2.GaussianBlur(part, ksize, blur)
        part = part[r0 - a0 : r1 - a0]
        # the CV_8U output rounds and clips to 0..255 (convertScaleAbs would fold negatives)
        if rng is not None and noise > 0:
            grain = _sensor_noise(rng, r1 - r0, w, noise, channels)
            out[r0:r1] = cv2.add(part, grain, dtype=cv2.CV_8U)
        else:
            out[r0:r1] = cv2.addWeighted(part, 1.0, part, 0.0, 0.0, dtype=cv2.CV_8U)
    return out


def check_defect(category: str, defect: str | None, known: Iterable[str]) -> None:
    """Refuse a defect that a generator does not render.

    Raises:
        ValueError: If ``defect`` is not None and not in ``known``.
    """
    names = list(known)
    if defect is not None and defect not in names:
        raise ValueError(
            f"unknown {category} defect {defect!r}: the generator cannot render it; "
            f"choose one of {', '.join(names)}"
        )


def jitter(rng: np.random.Generator, value: float, spread: float) -> float:
    """``value`` plus a uniform random offset in ``[-spread, spread]``."""
    return float(value + rng.uniform(-spread, spread))
