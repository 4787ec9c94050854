"""Relit, blurred and noisy copies of the references for the pixel classifier.

The segmenter (:mod:`logicode.perception.segment`) learns each pixel's layer from the
references and from such copies of them, so that light and blur do not change its mind.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from logicode.perception.resample import resize_image


def _gain_field(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx /= max(w - 1, 1)
    yy /= max(h - 1, 1)
    ang = rng.uniform(0, 2 * math.pi)
    grad = (xx - 0.5) * math.cos(ang) + (yy - 0.5) * math.sin(ang)
    field_ = 1.0 + rng.uniform(-0.6, 0.6) * grad
    cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.15, 0.5)
    field_ += rng.uniform(-0.3, 0.4) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    vig = ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / 0.5
    field_ -= rng.uniform(0, 0.35) * vig
    field_ *= rng.uniform(0.8, 1.2)
    return np.clip(field_, 0.3, 1.8)


def augment(image: np.ndarray, rng: np.random.Generator, scale: float) -> np.ndarray:
    """A randomly relit, blurred and noisy copy of a working-resolution image."""
    h, w = image.shape[:2]
    img = image.astype(np.float32) * _gain_field(h, w, rng)[:, :, None]
    sigma = rng.uniform(0.0, 8.0) * scale
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
    img += rng.normal(0.0, rng.uniform(0.0, 4.0), img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


NOISE_FIRST = 0.15
"""Share of full-resolution training copies blurred after their sensor noise (no fine
texture left at all, as in an image blurred once saved) rather than before it."""


def augment_full(
    image: np.ndarray, rng: np.random.Generator, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A randomly relit, blurred and noisy full-resolution copy and its working-size version.

    ``size`` is ``(width, height)``. The same changes as :func:`augment`, made at full
    resolution (so texture finer than the working resolution is blurred or drowned in
    sensor noise as a camera would), plus noise at working resolution as :func:`augment`
    adds.
    """
    h, w = image.shape[:2]
    gain = cv2.resize(_gain_field(size[1], size[0], rng), (w, h), interpolation=cv2.INTER_LINEAR)
    img = image.astype(np.float32) * gain[:, :, None]
    sigma = rng.uniform(0.0, 8.0)
    noise = rng.normal(0.0, rng.uniform(0.0, 4.0), img.shape).astype(np.float32)
    noise_first = rng.uniform() < NOISE_FIRST  # a saved image blurred afterwards
    if noise_first:
        img += noise
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
    if not noise_first:
        img += noise
    full = np.clip(img, 0, 255).astype(np.uint8)
    small = resize_image(full, size).astype(np.float32)
    small += rng.normal(0.0, rng.uniform(0.0, 4.0), small.shape).astype(np.float32)
    return full, np.clip(small, 0, 255).astype(np.uint8)
