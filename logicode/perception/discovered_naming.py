"""Naming a discovery from ground-truth scenes of its images (the simulated user).

:func:`name_from_scenes` fills a ``clusters.yaml`` the way a careful person would: it is how
the tests and ``benchmarks/perception.py synthetic --refs-route clusters`` simulate the user.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy import ndimage as ndi

from logicode import mask as rle
from logicode.perception.discover import CLUSTERS_FILE, IGNORE, write_yaml
from logicode.perception.discovered import _EIGHT, _load_maps, _read_yaml
from logicode.perception.discovered_counts import fixed_counts
from logicode.scene import Component, Scene
from logicode.spec import CategorySpec


def _innermost(scene: Scene, shape: tuple[int, int]) -> tuple[np.ndarray, list[Component]]:
    """Index of the smallest ground-truth component covering each working pixel (-1: none)."""
    out = np.full(shape, -1, np.int32)
    best = np.full(shape, np.inf)
    for k, c in enumerate(scene.components):
        if c.mask is None:
            continue
        m = rle.decode(c.mask.model_dump()).astype(np.uint8)
        m = cv2.resize(m, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
        sel = m & (c.area < best)
        out[sel] = k
        best[sel] = c.area
    return out, list(scene.components)


def _hierarchy(scenes: list[Scene]) -> dict[str, set[str]]:
    """Label -> labels whose ground-truth parts lie mostly inside one of its parts."""
    inside: dict[str, set[str]] = {}
    for s in scenes:
        masks = [rle.decode(c.mask.model_dump()) if c.mask else None for c in s.components]
        for a, ma in zip(s.components, masks, strict=True):
            for b, mb in zip(s.components, masks, strict=True):
                if a is b or ma is None or mb is None or a.label == b.label:
                    continue
                if b.area < a.area and np.count_nonzero(ma & mb) >= 0.8 * b.area:
                    inside.setdefault(a.label, set()).add(b.label)
    return inside


SCATTERED = 5
"""Connected pieces of a one-per-product label's masks that make it ``scattered``."""


def _scattered(scenes: list[Scene], label: str) -> bool:
    """Whether the label's ground-truth masks are in :data:`SCATTERED` pieces or more."""
    for s in scenes:
        for c in s.components:
            if c.label == label and c.mask is not None:
                if ndi.label(rle.decode(c.mask.model_dump()), structure=_EIGHT)[1] < SCATTERED:
                    return False
    return True


def name_from_scenes(folder: Path, scenes: list[Scene], spec: CategorySpec) -> dict[str, Any]:
    """Name every cluster of a discovery from ground-truth scenes of its images (simulated user).

    A cluster takes the label owning most of its pixels (each pixel belongs to the
    smallest ground-truth component covering it), or ``ignore`` when most of its pixels
    belong to none; its attributes are the majority string/bool values of the components
    it overlaps. A label whose parts hold parts of other labels ``includes`` them; a
    label found exactly once in every scene is ``single`` (and ``scattered`` when its
    masks are in :data:`SCATTERED` pieces or more), one found exactly ``N > 1``
    times in every scene has ``count: N``.

    Args:
        folder: The discovery folder (its ``clusters.yaml`` is rewritten).
        scenes: One ground-truth scene per discovered image, in the YAML's order.
        spec: The category spec.

    Returns:
        ``{"clusters": n, "ignored": n_ignored, "labels": {cluster id: label}}``.
    """
    yaml_path = folder / CLUSTERS_FILE
    data = _read_yaml(yaml_path)
    arrays = _load_maps(folder, yaml_path, data)
    pixels: dict[int, Counter[int | str]] = {}
    values: dict[int, dict[str, Counter[Any]]] = {}
    for i, scene in enumerate(scenes):
        rmap, clusters = arrays[f"map_{i}"], arrays[f"cluster_{i}"]
        inner, comps = _innermost(scene, rmap.shape)
        cmap = clusters[rmap]
        for c in np.unique(cmap).tolist():
            sel = inner[cmap == c]
            cnt = pixels.setdefault(c, Counter())
            for k, n in zip(*np.unique(sel, return_counts=True), strict=True):
                cnt[comps[k].label if k >= 0 else IGNORE] += int(n)
                if k >= 0:
                    vals = values.setdefault(c, {})
                    for key, v in comps[k].attributes.items():
                        if isinstance(v, str | bool):
                            vals.setdefault(f"{comps[k].label}.{key}", Counter())[v] += int(n)
    labels: dict[int, str] = {}
    for entry in data["clusters"]:
        cid = entry["id"]
        label = pixels[cid].most_common(1)[0][0] if pixels.get(cid) else IGNORE
        entry["label"] = label
        labels[cid] = str(label)
        attrs = {}
        for key, cnt in values.get(cid, {}).items():
            lab, name = key.split(".", 1)
            if lab == label:
                attrs[name] = cnt.most_common(1)[0][0]
        entry["attributes"] = attrs
    inside = _hierarchy(scenes)
    fixed = fixed_counts(scenes, spec.vocabulary)
    opts: dict[str, dict[str, Any]] = {}
    for lab in spec.vocabulary:
        opts[lab] = {
            "includes": sorted(inside.get(lab, set())),
            "fill_holes": bool(inside.get(lab)),
            "single": fixed.get(lab) == 1,
        }
        if fixed.get(lab) == 1 and _scattered(scenes, lab):
            opts[lab]["scattered"] = True
        if fixed.get(lab, 1) > 1:
            opts[lab]["count"] = fixed[lab]
    write_yaml(yaml_path, spec, data["images"], data["clusters"], opts)
    ignored = sum(1 for v in labels.values() if v == IGNORE)
    return {"clusters": len(labels), "ignored": ignored, "labels": labels}
