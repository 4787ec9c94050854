"""RAD-style robustness perturbations of test images: blur, uneven light, small view change.

A :class:`Perturbation` holds three strengths in ``0..1`` (0 = off). :func:`apply` perturbs an
image and warps every mask with the same geometry, so ground truth (part masks, anomaly
masks) stays aligned with the pixels. The writer applies it to test images only and records
the strengths in each scene's ``meta``.

* ``blur``: Gaussian blur, sigma = ``strength * 0.006 * max(height, width)`` pixels
  (about 10 px at full strength on a 1600 px image).
* ``light``: uneven illumination: a linear gain gradient of up to ``+-60 %`` across the image,
  a bright spot (up to ``+50 %``) and a vignette (corners down to ``-40 %``), all scaled by the
  strength.
* ``view``: a random perspective warp; each image corner moves by up to
  ``strength * 0.05 * min(height, width)`` pixels in x and y (about 40 px at full strength
  on an 800 px wide image).

Example:
    >>> p = parse_perturb("blur=0.5,light=0.3,view=0.2")
    >>> p.blur, p.light, p.view
    (0.5, 0.3, 0.2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

import cv2
import numpy as np

from logicode.data.synth.base import Part, Sample
from logicode.errors import LogicodeError

BLUR_SIGMA_PER_PIXEL = 0.006
"""Blur sigma at strength 1, as a fraction of the image's larger side."""

VIEW_SHIFT_FRACTION = 0.05
"""Largest corner shift of the view warp at strength 1, as a fraction of the smaller side."""

LIGHT_GRADIENT = 0.6
LIGHT_SPOT = 0.5
LIGHT_VIGNETTE = 0.4


@dataclass(frozen=True)
class Perturbation:
    """Strengths (``0..1``, 0 = off) of the three perturbations.

    Attributes:
        blur: Gaussian blur strength.
        light: Uneven illumination strength.
        view: Perspective (viewpoint) warp strength.
    """

    blur: float = 0.0
    light: float = 0.0
    view: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise LogicodeError(f"perturbation {f.name}: expected a number, got {value!r}")
            if not (0.0 <= float(value) <= 1.0) or math.isnan(float(value)):
                raise LogicodeError(f"perturbation {f.name}={value}: strength must lie in 0..1")

    @property
    def is_identity(self) -> bool:
        """True when every strength is 0 (nothing to do)."""
        return self.blur == 0 and self.light == 0 and self.view == 0

    def to_dict(self) -> dict[str, float]:
        """Strengths as a plain dict (for scene ``meta`` and manifests)."""
        return {k: float(v) for k, v in asdict(self).items()}

    def __str__(self) -> str:
        return ",".join(f"{k}={v:g}" for k, v in self.to_dict().items() if v)


def parse_perturb(text: str) -> Perturbation:
    """Parse ``"blur=0.5,light=0.3,view=0.2"`` (any subset, any order).

    Raises:
        LogicodeError: On an unknown key, a repeated key, a value that is not a number, or a
            strength outside ``0..1``; the message says which and what is allowed.
    """
    known = [f.name for f in fields(Perturbation)]
    if not text or not text.strip():
        raise LogicodeError(
            "--perturb is empty; give e.g. 'blur=0.5,light=0.3,view=0.2' "
            f"(keys: {', '.join(known)})"
        )
    values: dict[str, float] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, raw = item.partition("=")
        key = key.strip().lower()
        if not sep:
            raise LogicodeError(f"--perturb item {item!r} is not key=value (e.g. 'blur=0.5')")
        if key not in known:
            raise LogicodeError(
                f"--perturb: unknown perturbation {key!r}; known: {', '.join(known)}"
            )
        if key in values:
            raise LogicodeError(f"--perturb: {key!r} is given twice")
        try:
            value = float(raw.strip())
        except ValueError:
            raise LogicodeError(
                f"--perturb: {key}={raw.strip()!r} is not a number (use a strength in 0..1)"
            ) from None
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            raise LogicodeError(f"--perturb: {key}={value:g} is out of range; use 0..1")
        values[key] = value
    if not values:
        raise LogicodeError("--perturb has no key=value item; e.g. 'blur=0.5'")
    return Perturbation(**values)


def view_homography(
    height: int, width: int, rng: np.random.Generator, strength: float
) -> np.ndarray:
    """A random perspective warp (3x3) moving each corner by up to the view shift."""
    d = strength * VIEW_SHIFT_FRACTION * min(height, width)
    src = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    dst = src + rng.uniform(-d, d, src.shape).astype(np.float32)
    return cv2.getPerspectiveTransform(src, dst)


def warp_mask(mask: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """Warp an ``HW`` bool mask with ``homography`` (bilinear, then threshold at one half)."""
    h, w = mask.shape
    out = cv2.warpPerspective(
        mask.astype(np.float32),
        homography,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    return out >= 0.5


def light_gain(height: int, width: int, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Multiplicative ``HW`` gain map of uneven illumination (1 everywhere at strength 0)."""
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    ang = rng.uniform(0, 2 * math.pi)
    gain = 1.0 + strength * LIGHT_GRADIENT * (math.cos(ang) * xs + math.sin(ang) * ys)
    sx, sy = rng.uniform(-0.7, 0.7, 2)
    rad = rng.uniform(0.3, 0.6)
    spot = np.exp(-((xs - sx) ** 2 + (ys - sy) ** 2) / (2 * rad * rad))
    gain = gain + strength * LIGHT_SPOT * spot
    gain = gain * (1.0 - strength * LIGHT_VIGNETTE * (xs * xs + ys * ys) / 2.0)
    return np.clip(gain, 0.05, None).astype(np.float32)


def apply(
    image: np.ndarray,
    masks: Sequence[np.ndarray | None],
    rng: np.random.Generator,
    perturbation: Perturbation,
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Perturb an image; warp its masks with the same view change.

    Order: view warp, then uneven light, then blur (geometry, illumination, optics).

    Args:
        image: ``HWC uint8`` RGB image.
        masks: ``HW bool`` masks aligned with ``image`` (None entries pass through).
        rng: Random generator (fixes the warp, light direction and spot).
        perturbation: Strengths.

    Returns:
        The perturbed ``uint8`` image and the masks (warped when ``view > 0``, else the same
        arrays). Strength 0 everywhere returns the inputs unchanged.
    """
    out_masks: list[np.ndarray | None] = list(masks)
    if perturbation.is_identity:
        return image, out_masks
    h, w = image.shape[:2]
    img = image
    if perturbation.view > 0:
        hmat = view_homography(h, w, rng, perturbation.view)
        img = cv2.warpPerspective(
            img, hmat, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        out_masks = [None if m is None else warp_mask(m, hmat) for m in out_masks]
    if perturbation.light > 0:
        gain = light_gain(h, w, rng, perturbation.light)
        img = np.clip(img.astype(np.float32) * gain[..., None], 0, 255).round().astype(np.uint8)
    if perturbation.blur > 0:
        sigma = perturbation.blur * BLUR_SIGMA_PER_PIXEL * max(h, w)
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    return img, out_masks


def apply_to_sample(sample: Sample, rng: np.random.Generator, perturbation: Perturbation) -> Sample:
    """Perturb a rendered sample: its image, every part mask and its anomaly mask.

    A part whose mask the view warp pushes entirely out of the image is dropped (it is no
    longer visible, so the ground truth must not list it).

    Returns:
        A new :class:`Sample` (the input is not changed).
    """
    masks: list[np.ndarray | None] = [p.mask for p in sample.parts]
    masks.append(sample.anomaly_mask)
    image, warped = apply(sample.image, masks, rng, perturbation)
    parts = [
        Part(label=p.label, mask=m, attributes=dict(p.attributes))
        for p, m in zip(sample.parts, warped[:-1], strict=True)
        if m is not None and m.any()
    ]
    return replace(sample, image=image, parts=parts, anomaly_mask=warped[-1])
