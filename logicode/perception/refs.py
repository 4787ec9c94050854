"""Load reference images with component annotations: the few-shot knowledge of a product.

A references folder holds any mix of:

* LabelMe ``.json`` files (``imagePath`` relative to the JSON file's folder);
* COCO instances ``.json`` files (``file_name`` relative to the JSON file's folder);
* scene ``.json`` files (``image.path`` relative to the scene file's folder);

or it is a synthetic dataset folder written by ``logicode data synth`` (``dataset.json``
inside), whose ``train/good`` ground-truth scenes are used (at most ``max_refs``, chosen to
show as many labels, counts and attribute values as possible: :func:`select_diverse`),
or a folder written by ``logicode refs discover`` whose ``clusters.yaml`` the user has
named (:mod:`logicode.perception.discovered`).
Component labels must belong to the category's vocabulary; per-label attributes (LabelMe
``description`` ``key=value`` pairs, COCO ``attributes``, scene ``attributes``) are what the
attribute estimator learns.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from logicode.data.importers import coco_to_scenes, labelme_to_scene
from logicode.errors import LogicodeError
from logicode.imageio import read_image
from logicode.perception.base import Reference
from logicode.scene import Scene, load_scene
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)

DEFAULT_MAX_REFS = 5
"""Most references used by default (the front end is few-shot)."""


class ReferencesError(LogicodeError):
    """References are missing, unreadable or do not fit the category."""


def _kind(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if "schema_version" in data and "components" in data and "image" in data:
        return "scene"
    if "shapes" in data and "imagePath" in data:
        return "labelme"
    if "images" in data and "annotations" in data and "categories" in data:
        return "coco"
    return None


def _resolve(base: Path, rel: str) -> Path:
    p = Path(rel.replace("\\", "/"))
    if p.is_absolute():
        return p
    cand = base / p
    if cand.is_file():
        return cand
    alt = base / p.name
    return alt if alt.is_file() else cand


def _read(path: Path, source: str) -> np.ndarray:
    try:
        return read_image(path)
    except LogicodeError as exc:
        raise ReferencesError(f"{source}: reference image unreadable: {exc}") from None


def _check(ref: Reference, spec: CategorySpec) -> Reference:
    vocab = set(spec.vocabulary)
    for i, c in enumerate(ref.scene.components):
        if c.label not in vocab:
            raise ReferencesError(
                f"{ref.source}: component {i} label {c.label!r} is not in the "
                f"{spec.category!r} vocabulary {sorted(vocab)}"
            )
    h, w = ref.shape
    if (ref.scene.image.height, ref.scene.image.width) != (h, w):
        raise ReferencesError(
            f"{ref.source}: annotation says {ref.scene.image.width}x{ref.scene.image.height} "
            f"but the image is {w}x{h}"
        )
    return ref


def _from_file(path: Path, spec: CategorySpec) -> list[Reference]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReferencesError(f"{path}: cannot read reference annotation ({exc})") from None
    kind = _kind(data)
    if kind is None:
        logger.info("%s: not an annotation file, skipped", path)
        return []
    out: list[Reference] = []
    if kind == "scene":
        scene = load_scene(path, vocabulary=spec.vocabulary)
        img = _resolve(path.parent, scene.image.path)
        out.append(Reference(_read(img, str(path)), scene, str(path)))
    elif kind == "labelme":
        scene = labelme_to_scene(
            path, category=spec.category, vocabulary=spec.vocabulary, image_root=path.parent
        )
        img = _resolve(path.parent, str(data["imagePath"]))
        out.append(Reference(_read(img, str(path)), scene, str(path)))
    else:
        for scene in coco_to_scenes(
            path, category=spec.category, vocabulary=spec.vocabulary, image_root=path.parent
        ):
            img = _resolve(path.parent, scene.image.path)
            out.append(Reference(_read(img, f"{path}: {scene.image.path}"), scene, str(path)))
    return [_check(r, spec) for r in out]


def _discovery(p: Path) -> bool:
    """A folder named by the user after ``logicode refs discover`` (or its clusters.yaml)."""
    yaml_file = p / "clusters.yaml" if p.is_dir() else p
    return yaml_file.name == "clusters.yaml" and yaml_file.is_file()


def _synthetic_dataset(root: Path) -> bool:
    return (root / "dataset.json").is_file() and (root / "scenes" / "train" / "good").is_dir()


def _traits(scene: Scene) -> set[tuple[str, ...]]:
    """What a scene shows: its labels, label counts and attribute values (for diversity)."""
    out: set[tuple[str, ...]] = set()
    for label, n in scene.counts().items():
        out.add(("label", label))
        out.add(("count", label, str(n)))
    for c in scene.components:
        for key, value in c.attributes.items():
            if isinstance(value, str | bool):
                out.add(("attr", c.label, key, str(value)))
    return out


def select_diverse(scenes: list[Scene], k: int) -> list[int]:
    """Indices of ``k`` scenes that together show the most labels, counts and attribute values.

    Greedy: each step takes the scene adding the most unseen traits (ties: the earliest).
    """
    chosen: list[int] = []
    seen: set[tuple[str, ...]] = set()
    traits = [_traits(s) for s in scenes]
    while len(chosen) < min(k, len(scenes)):
        best = max(
            (i for i in range(len(scenes)) if i not in chosen),
            key=lambda i: (len(traits[i] - seen), -i),
        )
        chosen.append(best)
        seen |= traits[best]
    return sorted(chosen)


def _from_dataset(root: Path, spec: CategorySpec, max_refs: int | None) -> list[Reference]:
    paths = sorted((root / "scenes" / "train" / "good").glob("*.json"))
    scenes = [load_scene(sp, vocabulary=spec.vocabulary) for sp in paths]
    keep = select_diverse(scenes, max_refs) if max_refs is not None else range(len(scenes))
    out = []
    for i in keep:
        sp, scene = paths[i], scenes[i]
        out.append(Reference(_read(_resolve(sp.parent, scene.image.path), str(sp)), scene, str(sp)))
    return [_check(r, spec) for r in out]


def load_references(
    paths: str | Path | Iterable[str | Path],
    spec: CategorySpec,
    *,
    max_refs: int | None = DEFAULT_MAX_REFS,
) -> list[Reference]:
    """Load annotated reference images from folders and/or annotation files.

    Args:
        paths: A references folder (searched recursively for ``.json`` annotations, a
            synthetic dataset folder, or a named discovery folder holding
            ``clusters.yaml``), an annotation file, or several of these.
        spec: The category spec (labels are checked against its vocabulary).
        max_refs: Use at most this many references (the first in name order); None: all.

    Returns:
        References in a stable order (by file name).

    Raises:
        ReferencesError: No annotation found, an unreadable image, a label outside the
            vocabulary, or an annotation that does not match its image.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    refs: list[Reference] = []
    for item in items:
        p = Path(item)
        if not p.exists():
            raise ReferencesError(f"{p}: references folder or file not found")
        if p.is_dir() and _synthetic_dataset(p):
            refs.extend(_from_dataset(p, spec, max_refs))
        elif _discovery(p):
            from logicode.perception.discovered import discovered_references

            refs.extend(discovered_references(p, spec))
        elif p.is_dir():
            for f in sorted(p.rglob("*.json")):
                refs.extend(_from_file(f, spec))
        else:
            refs.extend(_from_file(p, spec))
    if max_refs is not None:
        refs = refs[:max_refs]
    if not refs:
        raise ReferencesError(
            f"no reference annotations found in {', '.join(str(i) for i in items)}; give LabelMe, "
            "COCO or scene JSON files of a few normal images"
        )
    labels = {c.label for r in refs for c in r.scene.components}
    missing = [lab for lab in spec.vocabulary if lab not in labels]
    if missing:
        logger.warning(
            "references annotate no %s; those labels can never be found", ", ".join(missing)
        )
    return refs


def references_digest(refs: Iterable[Reference]) -> str:
    """SHA-256 over the references' annotations and image bytes (a cache key)."""
    h = hashlib.sha256()
    for r in refs:
        h.update(r.scene.model_dump_json(exclude={"meta"}).encode("utf-8"))
        h.update(np.ascontiguousarray(r.image).tobytes())
    return h.hexdigest()


def reference_from_scene(image: np.ndarray, scene: Scene, source: str = "") -> Reference:
    """Wrap an in-memory image and scene as a reference (tests, programmatic use)."""
    return Reference(image=image, scene=scene, source=source)
