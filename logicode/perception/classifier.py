"""A small multilayer perceptron in NumPy, for per-pixel classification.

Fast to train on a few hundred thousand pixels (seconds on one core) and to apply to a
whole image (one matrix product per layer). Deterministic for a given seed. No weights are
shipped: it is trained from the references every time (or loaded from a cache file).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from logicode.perception.threads import single_blas_thread

logger = logging.getLogger(__name__)


@dataclass
class MLPClassifier:
    """Softmax classifier with ReLU hidden layers, trained with Adam on cross-entropy.

    Attributes:
        hidden: Sizes of the hidden layers.
        steps: Optimisation steps.
        batch: Mini-batch size.
        lr: Adam learning rate (decayed linearly to 10% over the steps).
        weight_decay: L2 penalty on the weights.
        seed: Random seed (initialisation and batches).
    """

    hidden: tuple[int, ...] = (48, 48)
    steps: int = 700
    batch: int = 1024
    lr: float = 3e-3
    weight_decay: float = 1e-5
    seed: int = 0
    weights: list[np.ndarray] = field(default_factory=list, repr=False)
    biases: list[np.ndarray] = field(default_factory=list, repr=False)
    mean: np.ndarray | None = field(default=None, repr=False)
    scale: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_classes(self) -> int:
        """Number of output classes (0 before fitting)."""
        return int(self.biases[-1].shape[0]) if self.biases else 0

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        n_classes: int,
        sample_weight: np.ndarray | None = None,
    ) -> MLPClassifier:
        """Train on ``x`` (``N x F``) with integer labels ``y`` in ``0..n_classes-1``."""
        rng = np.random.default_rng(self.seed)
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y, dtype=np.int64)
        n, f = x.shape
        if n == 0:
            raise ValueError("MLPClassifier.fit: no training samples")
        self.mean = x.mean(axis=0)
        self.scale = 1.0 / np.maximum(x.std(axis=0), 1e-3)
        xs = (x - self.mean) * self.scale
        sw = (
            np.ones(n, np.float32)
            if sample_weight is None
            else np.asarray(sample_weight, np.float32) / float(np.mean(sample_weight))
        )
        sizes = [f, *self.hidden, n_classes]
        self.weights = [
            (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32)
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        self.biases = [np.zeros(b, np.float32) for b in sizes[1:]]
        batch = min(self.batch, n)
        with single_blas_thread():
            self._adam(xs, y, sw, rng, batch)
        return self

    def _adam(
        self,
        xs: np.ndarray,
        y: np.ndarray,
        sw: np.ndarray,
        rng: np.random.Generator,
        batch: int,
    ) -> None:
        n = xs.shape[0]
        params = self.weights + self.biases
        m1 = [np.zeros_like(p) for p in params]
        m2 = [np.zeros_like(p) for p in params]
        b1, b2, eps = 0.9, 0.999, 1e-8
        for step in range(1, self.steps + 1):
            idx = rng.integers(0, n, size=batch)
            grads = self._grads(xs[idx], y[idx], sw[idx])
            lr = self.lr * (1.0 - 0.9 * step / self.steps)
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                m1[i] = b1 * m1[i] + (1 - b1) * g
                m2[i] = b2 * m2[i] + (1 - b2) * g * g
                mh = m1[i] / (1 - b1**step)
                vh = m2[i] / (1 - b2**step)
                p -= (lr * mh / (np.sqrt(vh) + eps)).astype(np.float32)

    def _grads(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> list[np.ndarray]:
        acts = [x]
        h = x
        nl = len(self.weights)
        for i in range(nl):
            h = h @ self.weights[i] + self.biases[i]
            if i < nl - 1:
                h = np.maximum(h, 0.0)
            acts.append(h)
        logits = acts[-1]
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        n = x.shape[0]
        d = p
        d[np.arange(n), y] -= 1.0
        d *= (w / n)[:, None]
        gw: list[np.ndarray] = [np.empty(0)] * nl
        gb: list[np.ndarray] = [np.empty(0)] * nl
        for i in range(nl - 1, -1, -1):
            gw[i] = acts[i].T @ d + self.weight_decay * self.weights[i]
            gb[i] = d.sum(axis=0)
            if i > 0:
                d = (d @ self.weights[i].T) * (acts[i] > 0)
        return gw + gb

    def predict_proba(self, x: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
        """Class probabilities, ``N x n_classes`` float32."""
        if not self.weights or self.mean is None or self.scale is None:
            raise RuntimeError("MLPClassifier: call fit() first")
        x = np.asarray(x, dtype=np.float32)
        out = np.empty((x.shape[0], self.n_classes), np.float32)
        with single_blas_thread():
            self._forward(x, out, chunk)
        return out

    def _forward(self, x: np.ndarray, out: np.ndarray, chunk: int) -> None:
        nl = len(self.weights)
        for s in range(0, x.shape[0], chunk):
            h = (x[s : s + chunk] - self.mean) * self.scale
            for i in range(nl):
                h = h @ self.weights[i] + self.biases[i]
                if i < nl - 1:
                    np.maximum(h, 0.0, out=h)
            h -= h.max(axis=1, keepdims=True)
            np.exp(h, out=h)
            h /= h.sum(axis=1, keepdims=True)
            out[s : s + chunk] = h

    def state(self) -> dict[str, np.ndarray]:
        """Arrays to save (``np.savez``) and restore with :meth:`from_state`."""
        if self.mean is None or self.scale is None:
            raise RuntimeError("MLPClassifier: call fit() first")
        out = {"mean": self.mean, "scale": self.scale}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out[f"w{i}"] = w
            out[f"b{i}"] = b
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> MLPClassifier:
        """Rebuild a fitted classifier from :meth:`state`."""
        n = sum(1 for k in state if k.startswith("w"))
        obj = cls(hidden=tuple(int(state[f"w{i}"].shape[1]) for i in range(n - 1)))
        obj.weights = [np.asarray(state[f"w{i}"], np.float32) for i in range(n)]
        obj.biases = [np.asarray(state[f"b{i}"], np.float32) for i in range(n)]
        obj.mean = np.asarray(state["mean"], np.float32)
        obj.scale = np.asarray(state["scale"], np.float32)
        return obj
