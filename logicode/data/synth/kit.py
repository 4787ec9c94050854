"""Shared drawing kit for the synthetic generators.

Images are built as ``HWC float32`` RGB in ``0..255`` and turned into ``uint8`` at the end by
:func:`finish`. Masks are ``HW bool``. Angles are in degrees, positive = clockwise on screen
(y grows downwards). Points are ``(x, y)`` in pixels. All randomness comes from the
``numpy.random.Generator`` passed in, so a seed fixes every pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

RGB = tuple[float, float, float]


def canvas(
    rng: np.random.Generator,
    height: int,
    width: int,
    base: RGB,
    *,
    texture: float = 6.0,
    grain: int = 24,
) -> np.ndarray:
    """A textured background: ``base`` colour with smooth blotches of ``texture`` amplitude.

    Args:
        rng: Random generator.
        height: Image height in pixels.
        width: Image width in pixels.
        base: Mean RGB colour.
        texture: Amplitude (grey levels) of the low-frequency texture.
        grain: Size in pixels of the texture blotches.

    Returns:
        ``HWC float32`` image.
    """
    small = rng.normal(0.0, 1.0, (max(2, height // grain), max(2, width // grain), 1))
    tex = cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    img = np.empty((height, width, 3), np.float32)
    img[:] = np.asarray(base, np.float32)
    img += texture * tex[..., None] if tex.ndim == 2 else texture * tex
    return img


def ellipse_mask(
    shape: tuple[int, int],
    center: tuple[float, float],
    axes: tuple[float, float],
    angle: float = 0.0,
) -> np.ndarray:
    """Filled ellipse with semi-axes ``axes = (ax, ay)`` rotated by ``angle`` degrees."""
    m = np.zeros(shape, np.uint8)
    cv2.ellipse(
        m,
        (round(center[0] * 16), round(center[1] * 16)),
        (max(1, round(axes[0] * 16)), max(1, round(axes[1] * 16))),
        angle,
        0,
        360,
        1,
        -1,
        cv2.LINE_8,
        4,
    )
    return m.astype(bool)


def polygon_mask(shape: tuple[int, int], points: Sequence[tuple[float, float]]) -> np.ndarray:
    """Filled polygon through ``points`` ``[(x, y), ...]``."""
    m = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(points, np.float64) * 16).astype(np.int32)
    cv2.fillPoly(m, [pts], 1, cv2.LINE_8, 4)
    return m.astype(bool)


def rect_points(
    center: tuple[float, float], size: tuple[float, float], angle: float = 0.0
) -> list[tuple[float, float]]:
    """Corners of a rectangle of ``size = (w, h)`` centred at ``center``, rotated by ``angle``."""
    cx, cy = center
    w, h = size
    t = np.deg2rad(angle)
    c, s = np.cos(t), np.sin(t)
    out = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        out.append((cx + dx * c - dy * s, cy + dx * s + dy * c))
    return out


def rect_mask(
    shape: tuple[int, int],
    center: tuple[float, float],
    size: tuple[float, float],
    angle: float = 0.0,
) -> np.ndarray:
    """Filled rectangle of ``size = (w, h)`` centred at ``center`` rotated by ``angle``."""
    return polygon_mask(shape, rect_points(center, size, angle))


def rounded_rect_mask(
    shape: tuple[int, int],
    center: tuple[float, float],
    size: tuple[float, float],
    radius: float,
    angle: float = 0.0,
) -> np.ndarray:
    """Rectangle with rounded corners of ``radius`` pixels."""
    w, h = size
    r = max(0.0, min(radius, w / 2, h / 2))
    m = rect_mask(shape, center, (w - 2 * r, h), angle) | rect_mask(
        shape, center, (w, h - 2 * r), angle
    )
    t = np.deg2rad(angle)
    c, s = np.cos(t), np.sin(t)
    for dx in (-w / 2 + r, w / 2 - r):
        for dy in (-h / 2 + r, h / 2 - r):
            p = (center[0] + dx * c - dy * s, center[1] + dx * s + dy * c)
            m |= ellipse_mask(shape, p, (r, r))
    return m


def polyline_mask(
    shape: tuple[int, int], points: Sequence[tuple[float, float]], thickness: float
) -> np.ndarray:
    """A thick open curve through ``points`` (round joints), e.g. a cable."""
    m = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(points, np.float64) * 16).astype(np.int32)
    cv2.polylines(m, [pts], False, 1, max(1, round(thickness)), cv2.LINE_8, 4)
    return m.astype(bool)


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
    """Paint ``mask`` of ``img`` in place with ``color``.

    Args:
        img: ``HWC float32`` image, changed in place.
        mask: ``HW bool`` region.
        color: RGB colour.
        rng: Random generator (needed when ``noise > 0``).
        shade: Strength (0..1) of a darkening towards the region's border (a 3-D look).
        noise: Standard deviation of per-pixel colour noise.
        edge: Darkening (0..1) of a thin outline along the border.
    """
    if not mask.any():
        return
    col = np.asarray(color, np.float32)
    if shade > 0 or edge > 0:
        dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
        ys, xs = np.nonzero(mask)
        dmax = max(float(dist[ys, xs].max()), 1.0)
        factor = np.ones(xs.shape, np.float32)
        if shade > 0:
            factor *= 1.0 - shade * (1.0 - np.clip(dist[ys, xs] / dmax, 0, 1)) ** 2
        if edge > 0:
            factor *= np.where(dist[ys, xs] <= 1.5, 1.0 - edge, 1.0)
        img[ys, xs] = col[None, :] * factor[:, None]
    else:
        img[mask] = col
    if noise > 0 and rng is not None:
        n = int(mask.sum())
        img[mask] += rng.normal(0.0, noise, (n, 1)).astype(np.float32)


def lighting(img: np.ndarray, rng: np.random.Generator, strength: float = 0.1) -> np.ndarray:
    """Multiply by a smooth random illumination gradient of relative ``strength``."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b = rng.uniform(-1, 1, 2)
    g = (a * (xx / w - 0.5) + b * (yy / h - 0.5)) * 2 * strength
    return img * (1.0 + g)[..., None]


def sensor_noise(img: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    """Add Gaussian sensor noise of ``sigma`` grey levels."""
    return img + rng.normal(0.0, sigma, img.shape).astype(np.float32)


def soften(img: np.ndarray, sigma: float = 0.8) -> np.ndarray:
    """Slight optical blur so edges are not perfectly sharp."""
    if sigma <= 0:
        return img
    return cv2.GaussianBlur(img, (0, 0), sigma)


def finish(img: np.ndarray) -> np.ndarray:
    """Clip to ``0..255`` and convert to ``HWC uint8``."""
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def jitter(rng: np.random.Generator, value: float, spread: float) -> float:
    """``value`` plus a uniform random offset in ``[-spread, spread]``."""
    return float(value + rng.uniform(-spread, spread))
