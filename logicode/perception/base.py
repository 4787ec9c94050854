"""The small interfaces between the perception stages, and the data they pass around.

A :class:`Reference` is one annotated image of a normal product. A :class:`Region` is a
candidate component: a full-resolution mask plus what the segmenter already knows (the
labels it may carry, a confidence). Stages are :class:`Segmenter`, :class:`Labeler` and
:class:`AttributeEstimator`; each is fitted on the references and the category spec, then
applied to one image at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from logicode import mask as rle
from logicode.scene import Scene
from logicode.spec import CategorySpec


@dataclass
class Reference:
    """One annotated reference image.

    Attributes:
        image: ``HWC uint8`` RGB image.
        scene: Its annotation as a scene (labels, attributes, masks or boxes).
        source: Where it came from (annotation file), for messages and provenance.
    """

    image: np.ndarray
    scene: Scene
    source: str = ""
    _masks: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the image."""
        return int(self.image.shape[0]), int(self.image.shape[1])

    def masks(self) -> list[np.ndarray]:
        """``HW bool`` mask of every component (its box when the scene has no mask)."""
        if self._masks is None:
            h, w = self.shape
            out = []
            for c in self.scene.components:
                if c.mask is not None:
                    out.append(rle.decode(c.mask.model_dump()))
                else:
                    m = np.zeros((h, w), dtype=bool)
                    x0, y0, x1, y1 = (int(round(v)) for v in c.bbox)
                    m[max(y0, 0) : y1, max(x0, 0) : x1] = True
                    out.append(m)
            self._masks = out
        return self._masks

    def labels(self) -> list[str]:
        """Component labels, in scene order."""
        return [c.label for c in self.scene.components]

    def attributes(self) -> list[dict[str, Any]]:
        """Component attributes, in scene order."""
        return [dict(c.attributes) for c in self.scene.components]


@dataclass
class Region:
    """A candidate component found in an image.

    Attributes:
        mask: ``HW bool`` mask at the image's full resolution.
        candidates: Labels the segmenter considers possible (empty: any label).
        score: Confidence in ``[0, 1]``.
        label: The label given by the labeler (None until labelled, or rejected).
        attributes: Per-label attributes, filled by the attribute estimator.
        meta: Free notes of the stages (e.g. ``{"split_from": 2}``).
    """

    mask: np.ndarray
    candidates: tuple[str, ...] = ()
    score: float = 1.0
    label: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    _box: tuple[int, int, int, int] | None = field(default=None, repr=False)

    def bbox(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` pixel box of the mask (x1, y1 exclusive; cached)."""
        if self._box is None:
            x0, y0, x1, y1 = rle.bbox_xyxy(self.mask)
            self._box = int(x0), int(y0), int(x1), int(y1)
        return self._box

    def crop(self) -> tuple[slice, slice, np.ndarray]:
        """Row slice, column slice and the mask cropped to its box."""
        x0, y0, x1, y1 = self.bbox()
        ys, xs = slice(y0, y1), slice(x0, x1)
        return ys, xs, self.mask[ys, xs]

    @property
    def area(self) -> int:
        """Number of mask pixels."""
        return int(np.count_nonzero(self.crop()[2]))


@runtime_checkable
class Segmenter(Protocol):
    """Proposes candidate regions."""

    name: str

    def fit(self, refs: Sequence[Reference], spec: CategorySpec) -> None:
        """Learn whatever the segmenter needs from the references."""
        ...

    def segment(self, image: np.ndarray) -> list[Region]:
        """Candidate regions of an ``HWC uint8`` RGB image."""
        ...

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta`` (name, parameters, checkpoint sha256, ...)."""
        ...


@runtime_checkable
class Labeler(Protocol):
    """Names regions with vocabulary labels."""

    name: str

    def fit(self, refs: Sequence[Reference], spec: CategorySpec) -> None:
        """Learn the labels' appearance from the references."""
        ...

    def label(self, image: np.ndarray, regions: list[Region]) -> list[Region]:
        """Set ``label`` (and ``score``) of each region; return the ones that are kept."""
        ...

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta``."""
        ...


@runtime_checkable
class AttributeEstimator(Protocol):
    """Fills the per-label attributes the spec declares."""

    name: str

    def fit(self, refs: Sequence[Reference], spec: CategorySpec) -> None:
        """Learn attribute values from the references."""
        ...

    def estimate(self, image: np.ndarray, regions: list[Region]) -> None:
        """Fill ``attributes`` of every labelled region in place."""
        ...

    def info(self) -> dict[str, Any]:
        """Provenance for ``scene.meta``."""
        ...
