"""Optional SAM / open_clip adapters: clear errors without the packages, plumbing with them.

The plumbing tests build randomly initialised models (no weights are downloaded) and only
run where ``segment_anything`` / ``open_clip`` and ``torch`` are installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import perception_toy as toy
import pytest

from logicode.perception.base import Reference, Region
from logicode.perception.clip import ClipLabeler, masked_crop
from logicode.perception.sam import OptionalDependencyError, SamSegmenter

HAS_SAM = importlib.util.find_spec("segment_anything") is not None
HAS_CLIP = importlib.util.find_spec("open_clip") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _refs() -> list[Reference]:
    return [Reference(*toy.draw(t, seed=i), f"r{i}") for i, t in enumerate(toy.REFERENCE_TOYS)]


@pytest.mark.skipif(HAS_SAM, reason="segment_anything is installed")
def test_sam_without_package_is_a_one_line_error(tmp_path: Path) -> None:
    seg = SamSegmenter(tmp_path / "sam.pth")
    with pytest.raises(OptionalDependencyError, match=r"pip install 'logicode\[sam\]'"):
        seg.fit(_refs(), toy.spec())


@pytest.mark.skipif(HAS_CLIP, reason="open_clip is installed")
def test_clip_without_package_is_a_one_line_error(tmp_path: Path) -> None:
    lab = ClipLabeler(tmp_path / "clip.bin")
    with pytest.raises(OptionalDependencyError, match="logicode\\[clip\\]"):
        lab.fit(_refs(), toy.spec())


def test_masked_crop_greys_out_the_rest() -> None:
    image = np.full((20, 20, 3), 200, np.uint8)
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:10] = True
    mask[5, 14] = True
    crop = masked_crop(image, mask, margin=0.0)
    assert crop.shape == (10, 10, 3)
    assert (crop[0, 0] == 200).all() and (crop[2, 8] == 128).all()


@pytest.mark.skipif(not (HAS_SAM and HAS_TORCH), reason="segment_anything/torch not installed")
def test_sam_plumbing_with_a_random_model() -> None:  # pragma: no cover - optional
    from segment_anything import sam_model_registry

    model = sam_model_registry["vit_b"](checkpoint=None)
    seg = SamSegmenter(None, model=model, points_per_side=4)
    seg.fit(_refs(), toy.spec())
    regions = seg.segment(toy.draw(toy.TEST_TOYS[0])[0])
    assert all(isinstance(r, Region) and r.mask.shape == (toy.H, toy.W) for r in regions)


@pytest.mark.skipif(not (HAS_CLIP and HAS_TORCH), reason="open_clip/torch not installed")
def test_clip_plumbing_with_a_random_model() -> None:  # pragma: no cover - optional
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    lab = ClipLabeler(None, model=model, preprocess=preprocess)
    lab.fit(_refs(), toy.spec())
    image, scene = toy.draw(toy.TEST_TOYS[0])
    mask = np.zeros((toy.H, toy.W), bool)
    mask[40:60, 40:60] = True
    out = lab.label(image, [Region(mask=mask, candidates=("dot", "tag"))])
    assert out and out[0].label in ("dot", "tag")
