"""Read an MVTec LOCO AD category folder (real, a developer subset, or synthetic).

Layout (the real dataset)::

    <root>/
      train/good/000.png ...
      validation/good/000.png ...
      test/good/ ... test/logical_anomalies/ ... test/structural_anomalies/ ...
      ground_truth/logical_anomalies/000/000.png 001.png ...   one mask per defect
      ground_truth/structural_anomalies/000/000.png ...
      defects_config.json      [{"defect_name", "pixel_value", ...}, ...]

Also accepted:

* the flat ground-truth variant ``ground_truth/<kind>/000.png`` (one mask per image);
* ``labels.json`` mapping image paths relative to the root (``test/logical_anomalies/000.png``)
  to ``{"defects": [...], ...}``; the other keys of an entry become ``LocoItem.extra``;
* synthetic datasets: ``dataset.json`` (with ``category``) and ground-truth scenes
  ``scenes/<split>/<kind>/000.json`` next to each image ``<split>/<kind>/000.png``.

Defect names of an image come, in this order, from its ``labels.json`` entry, from its mask
pixel values mapped through ``defects_config.json``, or from its scene's ``label.defects``.
One exception: a *flat* mask whose only non-zero value is 255 may be a binarised union mask
rather than a coded one, so when the image also has a scene with a label the scene wins.
(The shared developer subset of juice_bottle has such binarised 0/255 masks: its defect
names come from ``labels.json``; decoding 255 would always read ``missing_top_label``.)

Masks and defect lists are read lazily, per image, and cached.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from logicode.errors import DatasetError, LogicodeError
from logicode.imageio import IMAGE_SUFFIXES, image_size, read_image, read_mask

logger = logging.getLogger(__name__)

SPLIT_FOLDERS: tuple[tuple[str, str], ...] = (
    ("train", "good"),
    ("validation", "good"),
    ("test", "good"),
    ("test", "logical_anomalies"),
    ("test", "structural_anomalies"),
)
"""The ``<split>/<folder>`` pairs of an MVTec LOCO category, in reporting order."""

KIND_OF_FOLDER: dict[str, str] = {
    "good": "good",
    "logical_anomalies": "logical_anomaly",
    "structural_anomalies": "structural_anomaly",
}
"""Image folder name -> item kind (the values of :class:`logicode.scene.LabelKind`)."""

FOLDER_OF_KIND: dict[str, str] = {v: k for k, v in KIND_OF_FOLDER.items()}

DEFECTS_CONFIG = "defects_config.json"
LABELS_FILE = "labels.json"
DATASET_FILE = "dataset.json"


# --- small readers -------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not valid JSON (not UTF-8 text)") from None


def load_defects_config(path: str | Path) -> dict[int, str]:
    """Read an MVTec LOCO ``defects_config.json`` as ``{pixel_value: defect_name}``.

    Raises:
        DatasetError: Naming the file and the first malformed entry.
    """
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON list of defect entries")
    codes: dict[int, str] = {}
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise DatasetError(f"{path}: entry [{i}] is not an object")
        name = entry.get("defect_name")
        value = entry.get("pixel_value")
        if not isinstance(name, str) or not name:
            raise DatasetError(f"{path}: entry [{i}] has no string 'defect_name'")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 255:
            raise DatasetError(
                f"{path}: entry [{i}] ({name}) needs an integer 'pixel_value' in 1..255, "
                f"got {value!r}"
            )
        if value in codes:
            raise DatasetError(
                f"{path}: entry [{i}] ({name}) reuses pixel_value {value} of {codes[value]!r}"
            )
        if name in codes.values():
            raise DatasetError(f"{path}: entry [{i}]: defect_name {name!r} appears twice")
        codes[value] = name
    return codes


def _load_labels(path: Path, known_defects: set[str] | None) -> dict[str, dict[str, Any]]:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object mapping image paths to entries")
    out: dict[str, dict[str, Any]] = {}
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise DatasetError(f"{path}: entry {key!r} is not an object")
        defects = entry.get("defects", [])
        if not isinstance(defects, list) or not all(isinstance(d, str) for d in defects):
            raise DatasetError(f"{path}: entry {key!r}: 'defects' must be a list of names")
        if known_defects is not None:
            unknown = [d for d in defects if d not in known_defects]
            if unknown:
                raise DatasetError(
                    f"{path}: entry {key!r}: defects {unknown} are not in {DEFECTS_CONFIG}"
                )
        out[key.replace("\\", "/").removeprefix("./")] = entry
    return out


def _mask_values(path: Path) -> set[int]:
    """Non-zero pixel values of a mask file."""
    try:
        arr = read_mask(path)
    except LogicodeError as exc:
        raise DatasetError(str(exc)) from None
    counts = np.bincount(arr.ravel(), minlength=256)
    return {int(v) for v in np.flatnonzero(counts) if v != 0}


# --- items ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocoItem:
    """One image of a LOCO category folder with its ground truth.

    Attributes:
        path: Image file.
        split: ``train``, ``validation`` or ``test``.
        kind: ``good``, ``logical_anomaly`` or ``structural_anomaly``.
        name: File stem, e.g. ``"000"``.
        defects: Defect names (empty for good images).
        mask_paths: Ground-truth mask files (empty for good images).
        scene_path: Ground-truth scene JSON of a synthetic dataset, or None.
        extra: The other keys of the image's ``labels.json`` entry (e.g. ``juice``).
    """

    path: Path
    split: str
    kind: str
    name: str
    defects: list[str] = field(default_factory=list)
    mask_paths: list[Path] = field(default_factory=list)
    scene_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    codes: Mapping[int, str] = field(default_factory=dict, repr=False, compare=False)
    """``defects_config.json`` as ``{pixel_value: defect_name}`` (empty when absent)."""

    @property
    def folder(self) -> str:
        """The image folder name (``good``, ``logical_anomalies``, ...)."""
        return FOLDER_OF_KIND[self.kind]

    @property
    def rel(self) -> str:
        """Path relative to the category root, as used by ``labels.json``."""
        return f"{self.split}/{self.folder}/{self.path.name}"

    @property
    def is_anomaly(self) -> bool:
        """True for logical and structural anomalies."""
        return self.kind != "good"

    def image(self) -> np.ndarray:
        """The image as ``HWC uint8`` RGB."""
        return read_image(self.path)

    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the image, from its header."""
        return image_size(self.path)

    def _read_masks(self) -> list[np.ndarray]:
        w, h = self.size()
        out = []
        for p in self.mask_paths:
            try:
                m = read_mask(p)
            except LogicodeError as exc:
                raise DatasetError(str(exc)) from None
            if m.shape != (h, w):
                raise DatasetError(
                    f"{p}: mask is {m.shape[1]}x{m.shape[0]} but image {self.rel} is {w}x{h}"
                )
            out.append(m)
        return out

    def mask(self) -> np.ndarray:
        """Union of the anomaly masks as ``HW bool`` (all False without masks)."""
        w, h = self.size()
        out = np.zeros((h, w), dtype=bool)
        for m in self._read_masks():
            out |= m > 0
        return out

    def masks_are_binary(self) -> bool:
        """True when the only non-zero mask value is 255 (a binarised mask or a 255 code)."""
        values: set[int] = set()
        for p in self.mask_paths:
            values |= _mask_values(p)
        return values == {255}

    def mask_defects(self) -> list[str] | None:
        """Defect names decoded from the mask pixel values through ``defects_config.json``.

        Returns:
            Names in ``defects_config.json`` order, or None when there are no masks or no
            defects config.

        Raises:
            DatasetError: A mask pixel value is not in ``defects_config.json``.
        """
        if not self.mask_paths or not self.codes:
            return None
        found: set[str] = set()
        for p in self.mask_paths:
            for v in sorted(_mask_values(p)):
                if v not in self.codes:
                    raise DatasetError(
                        f"{p}: pixel value {v} is not a pixel_value of {DEFECTS_CONFIG} "
                        f"(known: {sorted(self.codes)})"
                    )
                found.add(self.codes[v])
        return [n for n in self.codes.values() if n in found]

    def defect_masks(self) -> dict[str, np.ndarray]:
        """``{defect: HW bool}`` region of each defect of this image.

        When the masks code the defects (their decoded names equal :attr:`defects`) each
        defect gets its own pixels. Otherwise (binarised masks, as in the shared juice_bottle
        subset, or no defects config) every defect maps to the union mask.
        """
        if not self.defects:
            return {}
        masks = self._read_masks()
        decoded = self.mask_defects() if self.codes else None
        if decoded is not None and set(decoded) == set(self.defects):
            w, h = self.size()
            out = {d: np.zeros((h, w), dtype=bool) for d in self.defects}
            for m in masks:
                for value, name in self.codes.items():
                    if name in out:
                        out[name] |= m == value
            return out
        union = self.mask()
        return {d: union.copy() for d in self.defects}

    def scene(self) -> Any:
        """The ground-truth :class:`~logicode.scene.Scene`, or None without a scene file."""
        if self.scene_path is None:
            return None
        from logicode.scene import load_scene

        return load_scene(self.scene_path)


# --- dataset -------------------------------------------------------------------------------


def _guess_category(folder_name: str) -> str:
    """Category of a folder: its name, or the known category it ends with."""
    try:
        from logicode.spec import list_categories

        known = list_categories()
    except LogicodeError:
        known = []
    if folder_name in known:
        return folder_name
    matches = [c for c in known if folder_name.endswith("_" + c) or folder_name.startswith(c + "_")]
    return max(matches, key=len) if matches else folder_name


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _mask_files(root: Path, folder: str, stem: str) -> list[Path]:
    gt = root / "ground_truth" / folder
    out: list[Path] = []
    sub = gt / stem
    if sub.is_dir():
        out.extend(_images_in(sub))
    for p in (gt / f"{stem}{s}" for s in (".png", ".bmp", ".tif", ".tiff")):
        if p.is_file():
            out.append(p)
    return out


class LocoDataset:
    """An MVTec LOCO AD style category folder.

    Args:
        root: The category folder (it holds ``train/`` and/or ``test/``).
        category: Category name; default: ``dataset.json``'s ``category``, else the folder
            name (or the known category it ends with, e.g. ``mvtec_loco_juice_bottle`` ->
            ``juice_bottle``).

    Raises:
        DatasetError: Missing root, not a LOCO folder, or a malformed ``defects_config.json``,
            ``labels.json`` or ``dataset.json``.

    Example:
        >>> ds = LocoDataset("data/juice_bottle")  # doctest: +SKIP
        >>> [it.defects for it in ds.iter(kind="logical_anomaly")][:1]  # doctest: +SKIP
        [['missing_top_label', 'missing_bottom_label']]
    """

    def __init__(self, root: str | Path, *, category: str | None = None) -> None:
        self.root = Path(root)
        if not self.root.exists():
            raise DatasetError(f"{self.root}: dataset folder not found")
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: is a file; give an MVTec LOCO category folder")
        if not (self.root / "train").is_dir() and not (self.root / "test").is_dir():
            raise DatasetError(
                f"{self.root}: not an MVTec LOCO category folder (no train/ or test/ inside)"
            )
        self.meta: dict[str, Any] = {}
        meta_path = self.root / DATASET_FILE
        if meta_path.is_file():
            meta = _read_json(meta_path)
            if not isinstance(meta, dict):
                raise DatasetError(f"{meta_path}: expected a JSON object")
            self.meta = meta
        cfg_path = self.root / DEFECTS_CONFIG
        self.codes: dict[int, str] = load_defects_config(cfg_path) if cfg_path.is_file() else {}
        labels_path = self.root / LABELS_FILE
        known = set(self.codes.values()) if self.codes else None
        self.labels: dict[str, dict[str, Any]] = (
            _load_labels(labels_path, known) if labels_path.is_file() else {}
        )
        meta_cat = self.meta.get("category")
        self.category: str = category or (
            meta_cat if isinstance(meta_cat, str) and meta_cat else _guess_category(self.root.name)
        )
        self._entries: list[tuple[str, str, Path]] = self._scan()
        self._cache: dict[Path, LocoItem] = {}
        seen = {f"{s}/{f}/{p.name}" for s, f, p in self._entries}
        for key in self.labels:
            if key not in seen:
                logger.warning("%s: entry %r names no image of the dataset", labels_path, key)

    def __repr__(self) -> str:
        return f"LocoDataset({str(self.root)!r}, category={self.category!r}, n={len(self)})"

    def _scan(self) -> list[tuple[str, str, Path]]:
        entries: list[tuple[str, str, Path]] = []
        for split in ("train", "validation", "test"):
            split_dir = self.root / split
            if not split_dir.is_dir():
                continue
            for sub in sorted(p for p in split_dir.iterdir() if p.is_dir()):
                if (split, sub.name) not in SPLIT_FOLDERS:
                    logger.warning("%s: unknown folder, skipped", sub)
                    continue
            for s, folder in SPLIT_FOLDERS:
                if s == split and (split_dir / folder).is_dir():
                    entries.extend((split, folder, p) for p in _images_in(split_dir / folder))
        return entries

    def folders(self) -> list[str]:
        """The ``<split>/<folder>`` image folders present, in reporting order."""
        return [f"{s}/{f}" for s, f in SPLIT_FOLDERS if (self.root / s / f).is_dir()]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LocoItem]:
        return self.iter()

    def _item(self, split: str, folder: str, path: Path) -> LocoItem:
        item = self._cache.get(path)
        if item is None:
            item = self._build(split, folder, path)
            self._cache[path] = item
        return item

    def _build(self, split: str, folder: str, path: Path) -> LocoItem:
        kind = KIND_OF_FOLDER[folder]
        rel = f"{split}/{folder}/{path.name}"
        entry = self.labels.get(rel)
        extra = {k: v for k, v in (entry or {}).items() if k != "defects"}
        scene = self.root / "scenes" / split / folder / f"{path.stem}.json"
        scene_path = scene if scene.is_file() else None
        masks = _mask_files(self.root, folder, path.stem) if kind != "good" else []
        item = LocoItem(
            path=path,
            split=split,
            kind=kind,
            name=path.stem,
            mask_paths=masks,
            scene_path=scene_path,
            extra=extra,
            codes=self.codes,
        )
        defects = self._defects(item, entry)
        if kind == "good" and defects:
            raise DatasetError(f"{rel}: a good image lists defects {defects}")
        return dataclasses.replace(item, defects=defects)

    def _scene_defects(self, item: LocoItem) -> list[str] | None:
        if item.scene_path is None:
            return None
        data = _read_json(item.scene_path)
        label = data.get("label") if isinstance(data, dict) else None
        if not isinstance(label, dict):
            return None
        defects = label.get("defects", [])
        if not isinstance(defects, list) or not all(isinstance(d, str) for d in defects):
            raise DatasetError(f"{item.scene_path}: label.defects must be a list of names")
        return list(defects)

    def _defects(self, item: LocoItem, entry: dict[str, Any] | None) -> list[str]:
        if entry is not None and "defects" in entry:
            return list(entry["defects"])
        decoded = item.mask_defects()
        if decoded is not None:
            flat = all(p.parent.name == item.folder for p in item.mask_paths)
            if flat and item.masks_are_binary():
                from_scene = self._scene_defects(item)
                if from_scene is not None:
                    return from_scene
            return decoded
        from_scene = self._scene_defects(item)
        if from_scene is not None:
            return from_scene
        if item.is_anomaly:
            logger.debug("%s: no defect names (no labels.json entry, masks or scene)", item.rel)
        return []

    def iter(self, split: str | None = None, kind: str | None = None) -> Iterator[LocoItem]:
        """Iterate over the images, optionally of one split and/or kind.

        Args:
            split: ``train``, ``validation`` or ``test``.
            kind: ``good``, ``logical_anomaly`` or ``structural_anomaly`` (the folder names
                ``logical_anomalies``/``structural_anomalies`` are accepted too).

        Raises:
            DatasetError: Unknown split or kind; a malformed mask or scene.
        """
        if split is not None and split not in ("train", "validation", "test"):
            raise DatasetError(f"unknown split {split!r}; use train, validation or test")
        folder = None
        if kind is not None:
            folder = FOLDER_OF_KIND.get(kind, kind)
            if folder not in KIND_OF_FOLDER:
                raise DatasetError(
                    f"unknown kind {kind!r}; use good, logical_anomaly or structural_anomaly"
                )
        for s, f, p in self._entries:
            if (split is None or s == split) and (folder is None or f == folder):
                yield self._item(s, f, p)

    def get(self, rel: str) -> LocoItem:
        """The item of an image path relative to the root (``test/logical_anomalies/000.png``).

        Raises:
            KeyError: No such image.
        """
        rel = rel.replace("\\", "/").removeprefix("./")
        for s, f, p in self._entries:
            if f"{s}/{f}/{p.name}" == rel:
                return self._item(s, f, p)
        raise KeyError(rel)

    def counts(self) -> dict[str, int]:
        """Number of images per ``<split>/<folder>`` present."""
        out = {k: 0 for k in self.folders()}
        for s, f, _ in self._entries:
            out[f"{s}/{f}"] += 1
        return out

    def defect_counts(self) -> dict[str, int]:
        """Number of anomalous images per defect name."""
        out: dict[str, int] = {}
        for item in self.iter(split="test"):
            for d in dict.fromkeys(item.defects):
                out[d] = out.get(d, 0) + 1
        return dict(sorted(out.items()))

    def info(self) -> dict[str, Any]:
        """Summary: ``category``, ``root``, ``counts``, ``defects`` and ``defect_types``.

        ``defect_types`` maps defect names to anomaly types when the category's spec
        (``prompts/categories/<category>.yaml``) is known and names them.
        """
        defects = self.defect_counts()
        summary: dict[str, Any] = {
            "category": self.category,
            "root": str(self.root),
            "counts": self.counts(),
            "defects": defects,
        }
        types = self._defect_types(defects)
        if types:
            summary["defect_types"] = types
        return summary

    def _defect_types(self, defects: Mapping[str, int]) -> dict[str, str]:
        from logicode.spec import load_spec

        try:
            spec = load_spec(self.category)
        except LogicodeError as exc:
            logger.info("no spec for category %r: %s", self.category, exc)
            return {}
        out: dict[str, str] = {}
        for name in defects:
            try:
                out[name] = spec.defect(name).anomaly_type.value
            except KeyError:
                continue
        return out
