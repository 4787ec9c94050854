"""Rebuild references from a named discovery folder (``clusters.yaml`` + ``regions.npz``).

:func:`discovered_references` is what :func:`logicode.perception.refs.load_references`
calls for a folder holding ``clusters.yaml``. A component of label ``L`` is a connected
piece of the union of the regions of the clusters named ``L``; with ``includes`` in the
label's options the touching regions of those labels join it, and with ``fill_holes`` (or
``includes``) so does everything it encloses; a piece lying within the box of a larger
piece of its label joins it. A ``single`` label (one per normal product) is one component
per image: its largest piece and the pieces near it (:data:`SINGLE_GAP`); stray pieces
elsewhere are dropped (``scattered``: all its pieces are the one component; ``count``: see
:mod:`logicode.perception.discovered_counts`). Attributes come from the clusters' YAML
``attributes``: for each, the value given by the clusters covering most of the component.

:func:`~logicode.perception.discovered_naming.name_from_scenes` (also importable from here)
fills a ``clusters.yaml`` from ground-truth scenes of the same
images, the way a careful person would: it is how the tests and the benchmark simulate
the user.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import yaml
from scipy import ndimage as ndi

from logicode.imageio import read_image
from logicode.measure import component_from_mask
from logicode.perception.base import Reference
from logicode.perception.discover import CLUSTERS_FILE, FORMAT, IGNORE, REGIONS_FILE
from logicode.perception.discovered_counts import fit_count
from logicode.perception.refs import ReferencesError
from logicode.perception.resample import upsample_mask
from logicode.scene import Component, ImageInfo, Scene, file_sha256
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)

_EIGHT = np.ones((3, 3), bool)
SINGLE_GAP = 4
"""Working-resolution pixels between pieces of a ``single`` label that still join."""


def is_discovery(path: Path) -> bool:
    """Whether ``path`` is a discovery folder or its ``clusters.yaml``."""
    if path.is_dir():
        return (path / CLUSTERS_FILE).is_file()
    return path.name == CLUSTERS_FILE and path.is_file()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        msg = " ".join(str(exc).split())
        raise ReferencesError(f"{path}: cannot read the cluster names ({msg})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ReferencesError(
            f"{path}: not a clusters file of `logicode refs discover` (format {FORMAT!r})"
        )
    for key, kind in (("images", list), ("clusters", list)):
        if not isinstance(data.get(key), kind):
            raise ReferencesError(f"{path}: '{key}' must be a list")
    return data


def _check_attributes(
    path: Path, cid: Any, label: str, attrs: Any, spec: CategorySpec
) -> dict[str, Any]:
    if attrs is None:
        return {}
    if not isinstance(attrs, dict):
        raise ReferencesError(f"{path}: cluster {cid} attributes must be a mapping name: value")
    known = {a.name: a for a in spec.component(label).attributes}
    for name, value in attrs.items():
        a = known.get(str(name))
        if a is None:
            raise ReferencesError(
                f"{path}: cluster {cid} ({label}) has attribute {name!r}; the spec gives "
                f"{label} only {sorted(known) or 'no attributes'}"
            )
        if a.type == "enum" and a.values is not None and str(value) not in a.values:
            raise ReferencesError(
                f"{path}: cluster {cid} ({label}) attribute {name}={value!r} is not one of "
                f"{a.values}"
            )
    return dict(attrs)


def _cluster_names(
    path: Path, data: dict[str, Any], spec: CategorySpec
) -> dict[int, tuple[str, dict[str, Any]]]:
    """Cluster id -> (label, attributes) of every named, non-ignored cluster."""
    vocab = spec.vocabulary
    out: dict[int, tuple[str, dict[str, Any]]] = {}
    for entry in data["clusters"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
            raise ReferencesError(f"{path}: every cluster needs an integer 'id'")
        cid, label = entry["id"], entry.get("label")
        if label is None or label == "":
            raise ReferencesError(
                f"{path}: cluster {cid} has no label; name it with one of {vocab} or "
                f"'{IGNORE}' (see its sheet {entry.get('sheet', '')})"
            )
        if label == IGNORE:
            continue
        if label not in vocab:
            raise ReferencesError(
                f"{path}: cluster {cid} label {label!r} is not in the {spec.category!r} "
                f"vocabulary {vocab}; use one of them or '{IGNORE}'"
            )
        out[cid] = (str(label), _check_attributes(path, cid, label, entry.get("attributes"), spec))
    return out


class LabelOptions(NamedTuple):
    """How the regions of one label make components (``labels:`` in ``clusters.yaml``)."""

    includes: list[str]
    fill_holes: bool
    single: bool
    count: int | None = None
    scattered: bool = False


_OPTION_KEYS = {"includes", "fill_holes", "single", "count", "scattered"}


def _label_options(path: Path, data: dict[str, Any], spec: CategorySpec) -> dict[str, LabelOptions]:
    opts = data.get("labels") or {}
    if not isinstance(opts, dict):
        raise ReferencesError(f"{path}: 'labels' must map labels to options")
    vocab = spec.vocabulary
    out: dict[str, LabelOptions] = {}
    for label, o in opts.items():
        if label not in vocab:
            raise ReferencesError(
                f"{path}: labels: {label!r} is not in the {spec.category!r} vocabulary {vocab}"
            )
        o = o or {}
        if not isinstance(o, dict) or set(o) - _OPTION_KEYS:
            raise ReferencesError(
                f"{path}: labels: {label}: the options are 'includes' (a list of labels), "
                "'fill_holes', 'single' and 'scattered' (true/false), 'count' (a positive "
                "integer)"
            )
        count = o.get("count")
        if count is not None and (
            not isinstance(count, int) or isinstance(count, bool) or count < 1
        ):
            raise ReferencesError(
                f"{path}: labels: {label}: count {count!r} must be a positive integer "
                "(how many a normal product holds)"
            )
        inc = o.get("includes") or []
        bad = [x for x in inc if x not in vocab or x == label] if isinstance(inc, list) else inc
        if not isinstance(inc, list) or bad:
            raise ReferencesError(
                f"{path}: labels: {label}: includes {bad!r} are not other labels of {vocab}"
            )
        out[label] = LabelOptions(
            list(inc),
            bool(o.get("fill_holes", False)),
            bool(o.get("single", False)),
            count,
            bool(o.get("scattered", False)),
        )
    return out


def _components(
    label_masks: dict[str, np.ndarray],
    options: dict[str, LabelOptions],
    label: str,
    regions: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Working-resolution masks of the components of ``label`` (``regions``: its regions)."""
    base = label_masks[label]
    opt = options.get(label, LabelOptions([], False, False))
    union = base.copy()
    for other in opt.includes:
        if other in label_masks:
            union |= label_masks[other]
    pieces, n = ndi.label(union, structure=_EIGHT)
    found = []
    for k in range(1, n + 1):
        m = pieces == k
        if not (m & base).any():
            continue  # an included part not touching this label
        if opt.fill_holes or opt.includes:
            m = ndi.binary_fill_holes(m)
        found.append(m)
    if opt.scattered and found:  # one component of scattered pieces (toppings)
        return [np.any(found, axis=0)]
    if opt.single and found:
        return [_single(found, opt.fill_holes or bool(opt.includes))]
    found = _merge_nested(found)
    if opt.count is not None:
        found = fit_count(found, regions or [], opt.count)
    return found


def _single(pieces: list[np.ndarray], fill: bool) -> np.ndarray:
    """The largest piece joined by every piece within :data:`SINGLE_GAP` of the group."""
    rest = sorted(pieces, key=lambda m: -int(np.count_nonzero(m)))
    group = rest.pop(0).copy()
    near = ndi.binary_dilation(group, iterations=SINGLE_GAP)
    grown = True
    while grown and rest:
        grown = False
        keep = []
        for m in rest:
            if (m & near).any():
                group |= m
                near |= ndi.binary_dilation(m, iterations=SINGLE_GAP)
                grown = True
            else:
                keep.append(m)
        rest = keep
    return ndi.binary_fill_holes(group) if fill else group


def _box(m: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _merge_nested(pieces: list[np.ndarray]) -> list[np.ndarray]:
    """Join a piece lying within the box of a larger piece of the same label to it.

    (The text printed on a label, cut off from the label by a differently named outline,
    is the same component.)
    """
    pieces = sorted(pieces, key=lambda m: -int(np.count_nonzero(m)))
    kept: list[tuple[np.ndarray, tuple[int, int, int, int]]] = []
    for m in pieces:
        x0, y0, x1, y1 = _box(m)
        host = next(
            (
                i
                for i, (_, b) in enumerate(kept)
                if b[0] <= x0 and b[1] <= y0 and x1 <= b[2] and y1 <= b[3]
            ),
            None,
        )
        if host is None:
            kept.append((m, (x0, y0, x1, y1)))
        else:
            kept[host] = (kept[host][0] | m, kept[host][1])
    return [m for m, _ in kept]


def _image_path(folder: Path, yaml_path: Path, entry: Any) -> Path:
    rel = entry.get("path") if isinstance(entry, dict) else entry
    if not isinstance(rel, str):
        raise ReferencesError(f"{yaml_path}: every image needs a 'path'")
    p = Path(rel)
    p = p if p.is_absolute() else folder / p
    if not p.is_file():
        raise ReferencesError(
            f"{yaml_path}: reference image {rel} not found (relative to {folder})"
        )
    return p


def _load_maps(folder: Path, yaml_path: Path, data: dict[str, Any]) -> Any:
    npz = folder / str(data.get("regions_file", REGIONS_FILE))
    try:
        return np.load(npz)
    except (OSError, ValueError) as exc:
        raise ReferencesError(
            f"{yaml_path}: region maps {npz.name} unreadable ({exc}); run discover again"
        ) from None


def discovered_references(path: Path, spec: CategorySpec) -> list[Reference]:
    """References (image + scene) of a named discovery folder.

    Args:
        path: The folder holding ``clusters.yaml`` and ``regions.npz``, or the YAML file.
        spec: The category spec.

    Raises:
        ReferencesError: An unnamed cluster, a label or attribute outside the spec, bad
            label options, or missing images / region maps.
    """
    yaml_path = path / CLUSTERS_FILE if path.is_dir() else path
    folder = yaml_path.parent
    data = _read_yaml(yaml_path)
    if data.get("category") not in (None, spec.category):
        raise ReferencesError(
            f"{yaml_path}: discovered for {data.get('category')!r}, not {spec.category!r}"
        )
    names = _cluster_names(yaml_path, data, spec)
    options = _label_options(yaml_path, data, spec)
    if not names:
        raise ReferencesError(f"{yaml_path}: every cluster is '{IGNORE}'; name the components")
    arrays = _load_maps(folder, yaml_path, data)
    refs = []
    for i, entry in enumerate(data["images"]):
        img_path = _image_path(folder, yaml_path, entry)
        image = read_image(img_path)
        want = entry.get("sha256") if isinstance(entry, dict) else None
        if want and file_sha256(img_path) != want:
            logger.warning(
                "%s: %s changed since discovery; its regions may not fit", yaml_path, img_path
            )
        try:
            rmap, clusters = arrays[f"map_{i}"], arrays[f"cluster_{i}"]
        except KeyError:
            raise ReferencesError(
                f"{yaml_path}: {REGIONS_FILE} has no region map for image {i}; run discover again"
            ) from None
        source = f"{yaml_path}: {Path(str(entry.get('path', img_path))).name}"
        scene = _scene(image, rmap, clusters, names, options, spec, str(img_path))
        refs.append(Reference(image, scene, source))
    return refs


def _scene(
    image: np.ndarray,
    rmap: np.ndarray,
    clusters: np.ndarray,
    names: dict[int, tuple[str, dict[str, Any]]],
    options: dict[str, LabelOptions],
    spec: CategorySpec,
    image_path: str,
) -> Scene:
    cmap = clusters[rmap]
    label_masks = {}
    for lab in spec.vocabulary:
        ids = [c for c, (name, _) in names.items() if name == lab]
        label_masks[lab] = np.isin(cmap, ids)
    h, w = image.shape[:2]
    comps: list[Component] = []
    for lab in spec.vocabulary:
        if not label_masks[lab].any():
            continue
        ids = [c for c, (name, _) in names.items() if name == lab]
        regions = [rmap == r for r in np.flatnonzero(np.isin(clusters, ids)).tolist()]
        for small in _components(label_masks, options, lab, regions):
            full = upsample_mask(small, (h, w))
            if not full.any():
                continue
            attrs = _vote_attributes(Counter(cmap[small & label_masks[lab]].tolist()), names)
            comps.append(component_from_mask(f"c{len(comps)}", lab, full, image, attributes=attrs))
    return Scene(
        image=ImageInfo(path=image_path, width=w, height=h),
        category=spec.category,
        components=comps,
        meta={"source": "discovered clusters"},
    )


def _vote_attributes(
    pixels: Counter[int], names: dict[int, tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Each attribute: the value of the clusters giving it that cover most of the component."""
    votes: dict[str, Counter[Any]] = {}
    for cid, n in pixels.items():
        for key, value in names.get(cid, ("", {}))[1].items():
            votes.setdefault(key, Counter())[value] += n
    return {key: cnt.most_common(1)[0][0] for key, cnt in votes.items()}


def __getattr__(name: str) -> Any:
    """``name_from_scenes`` lives in :mod:`logicode.perception.discovered_naming`."""
    if name == "name_from_scenes":
        from logicode.perception.discovered_naming import name_from_scenes

        return name_from_scenes
    raise AttributeError(name)
