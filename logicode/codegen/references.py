"""Normal reference scenes for the compiler: from a folder of scene JSON files or a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from logicode.errors import DatasetError
from logicode.scene import load_scene
from logicode.spec import CategorySpec


def reference_files(path: str | Path) -> list[Path]:
    """Scene files to use as references.

    ``path`` may be a scene JSON file, a folder of scene JSON files (searched recursively),
    or an MVTec LOCO style dataset written by logicode (its ``scenes/train/good``).

    Raises:
        DatasetError: If the path does not exist or holds no scene file.
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: reference path not found")
    if p.is_file():
        return [p]
    train = p / "scenes" / "train" / "good"
    root = train if train.is_dir() else p
    files = sorted(f for f in root.rglob("*.json") if f.name not in ("dataset.json", "labels.json"))
    files = [f for f in files if f.name != "defects_config.json"]
    if not files:
        raise DatasetError(f"{p}: no scene JSON files found (expected *.json scenes)")
    return files


def load_references(
    path: str | Path, spec: CategorySpec, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Load, validate and return normal reference scenes as JSON dicts.

    Scenes with a ground-truth label other than ``good`` are refused: references must be
    normal.

    Raises:
        SceneError: A file is not a valid scene of this category's vocabulary.
        DatasetError: No files, or a reference that is labelled anomalous.
    """
    out = []
    for f in reference_files(path)[:limit]:
        scene = load_scene(f, vocabulary=spec.vocabulary)
        if scene.label is not None and scene.label.kind.value != "good":
            raise DatasetError(f"{f}: labelled {scene.label.kind.value}; references must be good")
        out.append(scene.model_dump(mode="json"))
    return out
