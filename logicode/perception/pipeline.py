"""The perception pipeline: segmenter -> labeler -> attributes -> :class:`Scene`.

Example:
    >>> from logicode.spec import load_spec  # doctest: +SKIP
    >>> spec = load_spec("juice_bottle")  # doctest: +SKIP
    >>> refs = load_references("examples/juice_bottle/refs", spec)  # doctest: +SKIP
    >>> scene = Perception(spec).fit(refs).describe_file("test/000.png")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from logicode.imageio import read_image
from logicode.measure import component_from_mask
from logicode.perception.attributes import ReferenceAttributes
from logicode.perception.base import AttributeEstimator, Labeler, Reference, Region, Segmenter
from logicode.perception.label import PrototypeLabeler
from logicode.perception.segment import ClassicalSegmenter
from logicode.scene import Component, ImageInfo, Scene, file_sha256
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)

PERCEPTION_VERSION = "1"
"""Version of the perception front end, recorded in ``scene.meta['perception']``."""


class Perception:
    """Image -> scene, from a category spec and a few annotated references.

    Args:
        spec: The category spec (vocabulary, per-label attributes).
        segmenter: Region proposer; default :class:`ClassicalSegmenter`.
        labeler: Region namer; default :class:`PrototypeLabeler`.
        attributes: Attribute estimator; default :class:`ReferenceAttributes`.
        imagenet_features: With the default attribute estimator, add EfficientNet-Lite0
            features to its enum models (the ``vision`` extra; off by default).
    """

    def __init__(
        self,
        spec: CategorySpec,
        *,
        segmenter: Segmenter | None = None,
        labeler: Labeler | None = None,
        attributes: AttributeEstimator | None = None,
        imagenet_features: bool = False,
    ) -> None:
        self.spec = spec
        self.segmenter: Segmenter = segmenter or ClassicalSegmenter()
        self.labeler: Labeler = labeler or PrototypeLabeler()
        self.attributes: AttributeEstimator = attributes or ReferenceAttributes(
            imagenet_features=imagenet_features
        )
        self.refs: list[str] = []
        self.fit_seconds = 0.0

    def fit(self, refs: Sequence[Reference]) -> Perception:
        """Fit every stage on the references; returns self."""
        if not refs:
            raise ValueError("Perception.fit: no references")
        t0 = time.perf_counter()
        self.segmenter.fit(refs, self.spec)
        self.labeler.fit(refs, self.spec)
        self.attributes.fit(refs, self.spec)
        calibrate = getattr(self.attributes, "calibrate", None)
        if callable(calibrate):
            calibrate(refs, self.named_regions)
        self.refs = [r.source for r in refs]
        self.fit_seconds = time.perf_counter() - t0
        logger.info("perception fitted on %d references in %.2f s", len(refs), self.fit_seconds)
        return self

    def named_regions(self, image: np.ndarray) -> list[Region]:
        """Regions named with a label of the vocabulary, before attributes (any order)."""
        regions = self.segmenter.segment(image)
        regions = self.labeler.label(image, regions)
        vocab = self.spec.vocabulary
        regions = [r for r in regions if r.label in vocab and r.mask.any()]
        regions = drop_outside_parent(
            regions,
            getattr(self.segmenter, "parent", {}),
            getattr(self.segmenter, "enclosed", {}),
        )
        return regions

    def regions(self, image: np.ndarray) -> list[Region]:
        """Labelled regions with attributes, in scene order (vocabulary, then top-left)."""
        regions = self.named_regions(image)
        self.attributes.estimate(image, regions)
        vocab = self.spec.vocabulary
        keyed = []
        for r in regions:
            rows, cols, crop = r.crop()
            ys, xs = np.nonzero(crop)
            cy, cx = rows.start + float(ys.mean()), cols.start + float(xs.mean())
            keyed.append(((vocab.index(r.label or ""), cy, cx), r))
        keyed.sort(key=lambda kv: kv[0])
        return [r for _, r in keyed]

    def describe(
        self,
        image: np.ndarray,
        *,
        image_path: str = "image.png",
        sha256: str | None = None,
    ) -> Scene:
        """The scene of an ``HWC uint8`` RGB image.

        Args:
            image: The pixels.
            image_path: Value of ``scene.image.path`` (relative to where the scene is saved).
            sha256: SHA-256 of the image file, if known.
        """
        t0 = time.perf_counter()
        regions = self.regions(image)
        components: list[Component] = []
        for i, r in enumerate(regions):
            components.append(
                component_from_mask(
                    f"c{i}",
                    r.label or "",
                    r.mask,
                    image,
                    score=min(max(r.score, 0.0), 1.0),
                    attributes=r.attributes,
                )
            )
        h, w = image.shape[:2]
        return Scene(
            image=ImageInfo(path=image_path, width=w, height=h, sha256=sha256),
            category=self.spec.category,
            components=components,
            meta={"perception": self.info(seconds=time.perf_counter() - t0)},
        )

    def describe_file(self, path: str | Path, *, scene_dir: str | Path | None = None) -> Scene:
        """Read an image file and describe it.

        Args:
            path: The image file.
            scene_dir: Folder the scene will be saved in; ``image.path`` is made relative to
                it (absolute when on another drive). Default: the image's own folder.

        Raises:
            ImageError: The image is missing, corrupt or unreadable.
        """
        path = Path(path)
        image = read_image(path)
        base = Path(scene_dir) if scene_dir is not None else path.parent
        try:
            rel = os.path.relpath(path.resolve(), base.resolve())
        except ValueError:
            rel = str(path.resolve())
        return self.describe(image, image_path=Path(rel).as_posix(), sha256=file_sha256(path))

    def info(self, seconds: float | None = None) -> dict[str, Any]:
        """Provenance of the scenes this pipeline writes."""
        out: dict[str, Any] = {
            "version": PERCEPTION_VERSION,
            "segmenter": self.segmenter.info(),
            "labeler": self.labeler.info(),
            "attributes": self.attributes.info(),
            "references": list(self.refs),
        }
        if seconds is not None:
            out["seconds"] = round(seconds, 3)
        return out


def _shared(a: Region, b: Region) -> int:
    """Pixels two regions share."""
    ax0, ay0, ax1, ay1 = a.bbox()
    bx0, by0, bx1, by1 = b.bbox()
    x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
    if x1 <= x0 or y1 <= y0:
        return 0
    return int(np.count_nonzero(a.mask[y0:y1, x0:x1] & b.mask[y0:y1, x0:x1]))


def drop_outside_parent(
    regions: list[Region],
    parent: dict[str, str | None],
    enclosed: dict[str, bool],
) -> list[Region]:
    """Drop named regions of an enclosed label that lie on a part other than its parent.

    A label the references always show inside its parent (an icon on a top label) is
    dropped, once named, when most of its pixels lie on a region named otherwise (a
    sibling of the parent, e.g. the print on a bottom label) and on no region of the
    parent's label. Regions on nothing are kept (nothing to judge by), and so are all
    when no region is named as the parent (then the naming itself is in doubt).
    """
    out = []
    named = {r.label for r in regions}
    for r in regions:
        par = parent.get(r.label or "")
        if par is None or not enclosed.get(r.label or "", False) or par not in named:
            out.append(r)  # (no region named as the parent: the naming is in doubt)
            continue
        area = max(int(np.count_nonzero(r.crop()[2])), 1)
        on_parent = on_other = 0
        for o in regions:
            if o is r or o.label == r.label:
                continue
            shared = _shared(r, o)
            if o.label == par:
                on_parent = max(on_parent, shared)
            elif parent.get(o.label or "") == parent.get(par):
                on_other = max(on_other, shared)  # a sibling of the parent
        if on_other >= 0.5 * area and on_parent < 0.5 * area:
            logger.debug("dropped a %s region on a part that is not its %s", r.label, par)
            continue
        out.append(r)
    return out
