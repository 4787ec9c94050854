"""Optional segmenter: Segment Anything (SAM) with a checkpoint the user provides.

Install ``pip install 'logicode[sam]'`` (``segment-anything``, ``torch``, ``torchvision``) and
download a SAM checkpoint yourself (e.g. ``sam_vit_b_01ec64.pth``); nothing is downloaded at
run time. The checkpoint is loaded with ``torch.load(..., weights_only=True)`` and its
SHA-256 is recorded in every scene's ``meta.perception.segmenter``.

SAM proposes class-agnostic masks (its automatic mask generator); masks whose area lies far
outside every reference component's area are dropped, and the labeler names the rest
(regions come without candidate labels, so the labeler may also reject them as background).

Usage::

    logicode annotate imgs/ -c juice_bottle -r refs/ -o out/ --segmenter sam
        --sam-checkpoint ~/models/sam_vit_b_01ec64.pth --sam-model vit_b
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from logicode.errors import LogicodeError
from logicode.perception.base import Reference, Region
from logicode.scene import file_sha256
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)


class OptionalDependencyError(LogicodeError):
    """An optional perception stage needs a package or a checkpoint that is missing."""


def require_module(module: str, extra: str) -> Any:
    """Import an optional module, or raise :class:`OptionalDependencyError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise OptionalDependencyError(
            f"{module} is not installed; install it with pip install 'logicode[{extra}]'"
        ) from None


def load_state_dict(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint's tensors safely (``weights_only=True``, on the CPU).

    Raises:
        OptionalDependencyError: torch is missing or the file is absent or not a state dict.
    """
    torch = require_module("torch", "sam")
    path = Path(path)
    if not path.is_file():
        raise OptionalDependencyError(f"{path}: checkpoint file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise OptionalDependencyError(f"{path}: not a loadable checkpoint ({exc})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise OptionalDependencyError(f"{path}: checkpoint is not a state dict")
    return state


class SamSegmenter:
    """Class-agnostic SAM masks as regions (see module docstring).

    Args:
        checkpoint: SAM checkpoint file (``.pth``); None only with ``model`` given.
        model_type: ``vit_b``, ``vit_l`` or ``vit_h`` (must match the checkpoint).
        points_per_side: Density of SAM's automatic prompts.
        model: An already built SAM module (tests pass a randomly initialised one).
    """

    name = "sam"

    def __init__(
        self,
        checkpoint: str | Path | None,
        model_type: str = "vit_b",
        *,
        points_per_side: int = 16,
        model: Any = None,
    ) -> None:
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.model_type = model_type
        self.points_per_side = points_per_side
        self._model = model
        self._generator: Any = None
        self.sha256: str | None = None
        self.area_range: tuple[float, float] = (0.0, float("inf"))

    def _build(self) -> Any:
        sam_pkg = require_module("segment_anything", "sam")
        if self._model is None:
            if self.checkpoint is None:
                raise OptionalDependencyError("SAM needs a checkpoint file (--sam-checkpoint)")
            registry = sam_pkg.sam_model_registry
            if self.model_type not in registry:
                raise OptionalDependencyError(
                    f"unknown SAM model type {self.model_type!r}; use one of {sorted(registry)}"
                )
            model = registry[self.model_type](checkpoint=None)
            model.load_state_dict(load_state_dict(self.checkpoint))
            self.sha256 = file_sha256(self.checkpoint)
            self._model = model
        self._model.eval()
        return sam_pkg.SamAutomaticMaskGenerator(self._model, points_per_side=self.points_per_side)

    def fit(self, refs: Sequence[Reference], spec: CategorySpec) -> None:
        """Load the model and learn the plausible region areas from the references."""
        areas = [float(np.count_nonzero(m)) for r in refs for m in r.masks() if m.any()]
        if areas:
            self.area_range = (0.3 * min(areas), 2.0 * max(areas))
        self._generator = self._build()

    def segment(self, image: np.ndarray) -> list[Region]:
        """SAM's masks of the image whose area fits the references."""
        if self._generator is None:
            raise RuntimeError("SamSegmenter: call fit() first")
        lo, hi = self.area_range
        out = []
        for m in self._generator.generate(image):
            seg = np.asarray(m["segmentation"], bool)
            area = float(seg.sum())
            if lo <= area <= hi:
                score = float(m.get("predicted_iou", 1.0))
                out.append(Region(mask=seg, score=min(max(score, 0.0), 1.0)))
        return out

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta``."""
        return {
            "name": self.name,
            "model_type": self.model_type,
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "sha256": self.sha256,
        }
