"""Optional labeler: open_clip embeddings, zero-shot from the spec plus few-shot prototypes.

Install ``pip install 'logicode[clip]'`` (``open_clip_torch``, ``torch``, ``torchvision``) and
give a weights file you downloaded (``--clip-checkpoint``, with ``--clip-model`` naming its
architecture, e.g. ``ViT-B-32``); nothing is downloaded at run time.

Each label gets a text embedding of ``"a photo of a <label words>: <spec description>"`` and,
when the references show it, the mean image embedding of its reference crops. A region is
embedded from its box crop with the pixels outside its mask greyed out, and named after the
most similar label among its candidates (the average of the text and image similarities).
Regions without candidates (e.g. from SAM) are dropped when their image similarity to the
best label is below the lowest one seen among the references' own components.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from logicode.perception.base import Reference, Region
from logicode.perception.sam import OptionalDependencyError, load_state_dict, require_module
from logicode.scene import file_sha256
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)


def masked_crop(image: np.ndarray, mask: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """The mask's box (plus a margin) with pixels outside the mask set to mid grey."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    my, mx = int((y1 - y0) * margin), int((x1 - x0) * margin)
    y0, y1, x0, x1 = max(y0 - my, 0), min(y1 + my, h), max(x0 - mx, 0), min(x1 + mx, w)
    crop = image[y0:y1, x0:x1].copy()
    crop[~mask[y0:y1, x0:x1]] = 128
    return crop


class ClipLabeler:
    """Names regions with open_clip (see module docstring).

    Args:
        checkpoint: open_clip weights file; None only with ``model`` given.
        model_name: open_clip architecture of the checkpoint.
        model, preprocess, tokenizer: Already built open_clip parts (tests pass a randomly
            initialised model).
    """

    name = "clip"

    def __init__(
        self,
        checkpoint: str | Path | None,
        model_name: str = "ViT-B-32",
        *,
        model: Any = None,
        preprocess: Any = None,
        tokenizer: Any = None,
    ) -> None:
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.model_name = model_name
        self._model, self._preprocess, self._tokenizer = model, preprocess, tokenizer
        self.sha256: str | None = None
        self.labels: list[str] = []
        self.text: np.ndarray | None = None
        self.protos: dict[str, np.ndarray] = {}
        self.floor = -1.0

    def _build(self) -> None:
        open_clip = require_module("open_clip", "clip")
        if self._model is None:
            if self.checkpoint is None:
                raise OptionalDependencyError("the clip labeler needs --clip-checkpoint PATH")
            model, _, preprocess = open_clip.create_model_and_transforms(self.model_name)
            model.load_state_dict(load_state_dict(self.checkpoint))
            self.sha256 = file_sha256(self.checkpoint)
            self._model, self._preprocess = model, preprocess
        if self._tokenizer is None:
            self._tokenizer = open_clip.get_tokenizer(self.model_name)
        self._model.eval()

    def _embed_images(self, crops: list[np.ndarray]) -> np.ndarray:
        torch = require_module("torch", "clip")
        from PIL import Image

        batch = torch.stack([self._preprocess(Image.fromarray(c)) for c in crops])
        with torch.no_grad():
            f = self._model.encode_image(batch).float()
        f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        return f.numpy()

    def fit(self, refs: Sequence[Reference], spec: CategorySpec) -> None:
        """Embed the label prompts and the references' component crops."""
        torch = require_module("torch", "clip")
        self._build()
        self.labels = list(spec.vocabulary)
        prompts = [
            f"a photo of a {c.label.replace('_', ' ')}: {c.description}".strip()
            for c in spec.components
        ]
        with torch.no_grad():
            t = self._model.encode_text(self._tokenizer(prompts)).float()
        self.text = (t / t.norm(dim=-1, keepdim=True).clamp_min(1e-8)).numpy()
        crops, names = [], []
        for r in refs:
            for m, lab in zip(r.masks(), r.labels(), strict=True):
                if m.any():
                    crops.append(masked_crop(r.image, m))
                    names.append(lab)
        if crops:
            emb = self._embed_images(crops)
            for lab in set(names):
                p = emb[[i for i, n in enumerate(names) if n == lab]].mean(axis=0)
                self.protos[lab] = p / max(float(np.linalg.norm(p)), 1e-8)
            own = [float(emb[i] @ self.protos[n]) for i, n in enumerate(names)]
            self.floor = min(own) - 0.05

    def label(self, image: np.ndarray, regions: list[Region]) -> list[Region]:
        """Name each region; drop candidate-less regions unlike every reference part."""
        if self.text is None:
            raise RuntimeError("ClipLabeler: call fit() first")
        if not regions:
            return []
        emb = self._embed_images([masked_crop(image, r.mask) for r in regions])
        kept = []
        for r, e in zip(regions, emb, strict=True):
            cands = [c for c in (r.candidates or tuple(self.labels)) if c in self.labels]
            scores = {}
            for c in cands:
                s = float(e @ self.text[self.labels.index(c)])
                if c in self.protos:
                    s = 0.5 * s + 0.5 * float(e @ self.protos[c])
                scores[c] = s
            if not scores:
                continue
            best = max(scores, key=scores.__getitem__)
            if (
                not r.candidates
                and best in self.protos
                and float(e @ self.protos[best]) < self.floor
            ):
                continue
            r.label = best
            kept.append(r)
        return kept

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta``."""
        return {
            "name": self.name,
            "model": self.model_name,
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "sha256": self.sha256,
        }
