"""Optional SAM / open_clip adapters: clear errors without the packages, plumbing with them.

The plumbing tests build randomly initialised models (no weights are downloaded), save them
as a user would save a checkpoint and load that file the way a real one is loaded
(``weights_only=True``, sha256 recorded). They run where ``segment_anything`` / ``open_clip``
and ``torch`` are installed (``pip install -e '.[dev,sam,clip]'`` in a venv of their own: the
pair torch 2.14.1 + torchvision 0.29.1); with ``LOGICODE_REQUIRE_ADAPTERS=1`` (CI) a missing
package fails them instead of skipping.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import perception_toy as toy
import pytest

from logicode.perception.base import Reference, Region
from logicode.perception.clip import ClipLabeler, masked_crop
from logicode.perception.sam import OptionalDependencyError, SamSegmenter
from logicode.scene import file_sha256

HAS_SAM = importlib.util.find_spec("segment_anything") is not None
HAS_CLIP = importlib.util.find_spec("open_clip") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None
REQUIRE = os.environ.get("LOGICODE_REQUIRE_ADAPTERS") == "1"


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


@pytest.mark.skipif(
    not (HAS_SAM and HAS_TORCH) and not REQUIRE, reason="segment_anything/torch not installed"
)
def test_sam_plumbing_with_a_random_model(tmp_path: Path) -> None:  # pragma: no cover - optional
    import torch
    from segment_anything import sam_model_registry

    model = sam_model_registry["vit_b"](checkpoint=None)
    seg = SamSegmenter(None, model=model, points_per_side=4)
    seg.fit(_refs(), toy.spec())
    regions = seg.segment(toy.draw(toy.TEST_TOYS[0])[0])
    assert all(isinstance(r, Region) and r.mask.shape == (toy.H, toy.W) for r in regions)
    # A checkpoint file, as a user gives one: loaded with weights_only, its sha256 recorded.
    ckpt = tmp_path / "sam_random.pth"
    torch.save(model.state_dict(), ckpt)
    from_file = SamSegmenter(ckpt, "vit_b", points_per_side=4)
    from_file.fit(_refs(), toy.spec())
    assert from_file.info()["sha256"] == file_sha256(ckpt)
    assert len(from_file.segment(toy.draw(toy.TEST_TOYS[0])[0])) == len(regions)


@pytest.mark.skipif(
    not (HAS_CLIP and HAS_TORCH) and not REQUIRE, reason="open_clip/torch not installed"
)
def test_clip_plumbing_with_a_random_model(tmp_path: Path) -> None:  # pragma: no cover - optional
    import open_clip
    import torch

    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    lab = ClipLabeler(None, model=model, preprocess=preprocess)
    lab.fit(_refs(), toy.spec())
    image, scene = toy.draw(toy.TEST_TOYS[0])
    mask = np.zeros((toy.H, toy.W), bool)
    mask[40:60, 40:60] = True
    out = lab.label(image, [Region(mask=mask, candidates=("dot", "tag"))])
    assert out and out[0].label in ("dot", "tag")
    ckpt = tmp_path / "clip_random.bin"
    torch.save(model.state_dict(), ckpt)
    from_file = ClipLabeler(ckpt, "ViT-B-32")
    from_file.fit(_refs(), toy.spec())
    assert from_file.sha256 == file_sha256(ckpt)
    again = from_file.label(image, [Region(mask=mask, candidates=("dot", "tag"))])
    assert again and again[0].label == out[0].label
