"""What a synthetic category generator returns, and the protocol it implements.

One module per category under ``logicode/data/synth/`` renders images procedurally with the
shared drawing kit (:mod:`logicode.data.synth.kit`). A generator knows how to draw its
product and its logical anomalies; the writer (:mod:`logicode.data.synth.writer`) turns
samples into the MVTec LOCO folder layout plus ground-truth scene JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass
class Part:
    """One ground-truth component of a rendered image.

    Attributes:
        label: Vocabulary name from the category spec.
        mask: ``HW bool`` visible pixels of the component (after occlusion).
        attributes: Per-label attributes named in the spec (e.g. ``{"kind": "cherry"}``).
    """

    label: str
    mask: np.ndarray
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sample:
    """One rendered image with its ground truth.

    Attributes:
        image: ``HWC uint8`` RGB image.
        parts: Ground-truth components.
        defect: Defect name from the spec, or None for a good image.
        anomaly_type: The defect's anomaly type (quantity/size/position/matching/other).
        reason: One-line human explanation of the defect ("" for good images).
        anomaly_mask: ``HW bool`` region of the anomaly (for ``ground_truth/``), or None.
    """

    image: np.ndarray
    parts: list[Part]
    defect: str | None = None
    anomaly_type: str | None = None
    reason: str = ""
    anomaly_mask: np.ndarray | None = None


class CategoryGenerator(Protocol):
    """A procedural renderer of one product category.

    Attributes:
        category: Category name; its spec is ``prompts/categories/<category>.yaml``.
        defects: Defect names (from the spec) this generator can render.
    """

    category: str
    defects: tuple[str, ...]

    def render(self, rng: np.random.Generator, defect: str | None = None) -> Sample:
        """Render one image: a good one when ``defect`` is None, else that defect only."""
        ...
