"""What the references say about each label, and each reference pixel's layer.

:class:`LabelStats` holds the areas, lengths, widths, holes, pieces and width profiles of
a label's reference masks; :func:`exclusive_layers` gives every pixel the label of the
smallest component covering it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

SCATTERED_PIECES = 5
"""A label shown once per image whose reference masks have at least this many connected
pieces (median) is a scattered amount (see :attr:`LabelStats.scattered`)."""


@dataclass
class LabelStats:
    """What the references say about one label (areas and lengths in full-res pixels)."""

    label: str
    areas: list[float] = field(default_factory=list)
    ferets: list[float] = field(default_factory=list)
    minors: list[float] = field(default_factory=list)
    solidity: list[float] = field(default_factory=list)
    """Solidity of the mask with its holes filled (a ring counts as a disc)."""
    fill: list[float] = field(default_factory=list)
    own: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    aspects: list[float] = field(default_factory=list)
    """Minor / major axis length of each mask."""
    widths: list[float] = field(default_factory=list)
    """Minor axis length (second moments) of each mask."""
    hull_areas: list[float] = field(default_factory=list)
    """Area of each mask with its holes filled."""
    occluded: list[float] = field(default_factory=list)
    """Share of each mask's hole pixels covered by another component in front of it (one
    that does not hold the mask): 1 for a liquid seen around the labels stuck on its glass,
    0 for a ring's own hole (what shows through it holds the ring)."""
    pieces: list[int] = field(default_factory=list)
    """Connected pieces (8-connected) of each mask."""
    piece_areas: list[float] = field(default_factory=list)
    """Area of every connected piece of every mask."""
    profiles: list[np.ndarray] = field(default_factory=list)
    """Width profile (:func:`~logicode.perception.bars.mask_profile`) of each bar-shaped
    mask (minor / major axis ratio at most :data:`~logicode.perception.segment.BAR_ASPECT`):
    where a bar is wide or narrow along its length."""

    @property
    def scattered(self) -> bool:
        """True when the label is an amount of many loose things, shown once per image.

        Its reference masks are one region each (never two in an image) made of at least
        :data:`SCATTERED_PIECES` separate pieces in the median (all almonds of a mix
        together): an image shows it as a scatter of small pieces, however few.
        """
        return (
            bool(self.pieces)
            and max(self.counts, default=0) <= 1
            and float(np.median(self.pieces)) >= SCATTERED_PIECES
        )

    def median_piece(self) -> float:
        """Median area of one connected piece of the references' masks."""
        return float(np.median(self.piece_areas)) if self.piece_areas else 0.0

    @property
    def occludable(self) -> bool:
        """True when the references' masks have holes, mostly where other parts cover them.

        Without those parts in front, an instance is its holes-filled outline.
        """
        return not self.solid and bool(self.occluded) and float(np.median(self.occluded)) >= 0.8

    def max_area(self) -> float:
        """Largest reference area (holes filled for an occludable label)."""
        vals = self.hull_areas if self.occludable else self.areas
        return float(max(vals)) if vals else 0.0

    @property
    def solid(self) -> bool:
        """True when the references' masks have (almost) no holes."""
        return bool(self.fill) and float(np.median(self.fill)) >= 0.985

    def median_area(self) -> float:
        """Median instance area."""
        return float(np.median(self.areas)) if self.areas else 0.0


def exclusive_layers(masks: Sequence[np.ndarray], class_of: Sequence[int]) -> np.ndarray:
    """Pixel -> class index of the smallest component covering it (0 = background).

    Args:
        masks: ``HW bool`` component masks.
        class_of: Class index (>= 1) of each component.

    Returns:
        ``HW int32`` map.
    """
    if not masks:
        raise ValueError("exclusive_layers: no masks")
    out = np.zeros(masks[0].shape, np.int32)
    areas = [int(np.count_nonzero(m)) for m in masks]
    for i in sorted(range(len(masks)), key=lambda k: -areas[k]):
        out[masks[i]] = class_of[i]
    return out


def occluded_share(mask: np.ndarray, masks: Sequence[np.ndarray]) -> float:
    """Share of a mask's hole pixels covered by other masks that do not hold it.

    Args:
        mask: ``HW bool`` mask of one component.
        masks: All component masks of the image (``mask`` among them).

    Returns:
        0 when the mask has no hole.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return 0.0
    cols = np.flatnonzero(mask.any(axis=0))
    ys, xs = slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)
    crop = mask[ys, xs]
    hole = ndi.binary_fill_holes(crop) & ~crop
    n_hole = int(np.count_nonzero(hole))
    if n_hole == 0:
        return 0.0
    area = int(np.count_nonzero(crop))
    front = np.zeros(crop.shape, bool)
    for other in masks:
        if other is mask:
            continue
        o = other[ys, xs]
        if not o.any() or int(np.count_nonzero(o & crop)) >= 0.6 * area:
            continue  # empty here, or it holds the mask (a parent shows through a ring)
        front |= o
    return float(np.count_nonzero(front & hole)) / n_hole
