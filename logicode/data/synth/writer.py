"""Write a synthetic category as an MVTec LOCO AD folder plus one ground-truth scene per image.

Layout written under ``root`` (``NNN`` = zero-padded index)::

    train/good/NNN.png                      validation/good/NNN.png
    test/good/NNN.png                       test/logical_anomalies/NNN.png
    ground_truth/logical_anomalies/NNN/000.png   uint8: 0 background, the defect's pixel_value
    defects_config.json                     as in the real dataset (pixel values 255, 254, ...)
    scenes/<split>/<kind>/NNN.json          ground-truth Scene of each image
    dataset.json                            manifest (category, seed, counts, perturbation, ...)

Every image has its own random stream, ``np.random.SeedSequence([seed, split_id, index])``, so
a seed gives byte-identical images and scenes whatever the number of worker processes.
Perturbations (:mod:`logicode.data.synth.perturb`) touch test images only.

The writer knows nothing about categories: it asks the registry for the generator and the
spec for the vocabulary and defect list.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import multiprocessing
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from logicode import __version__
from logicode.data.synth.base import Sample
from logicode.data.synth.perturb import Perturbation, apply_to_sample, parse_perturb
from logicode.errors import DatasetError
from logicode.measure import component_from_mask
from logicode.scene import GroundTruth, ImageInfo, LabelKind, Scene
from logicode.spec import CategorySpec, load_spec

log = logging.getLogger(__name__)

MANIFEST = "dataset.json"
"""Manifest file name; its ``format`` field marks a folder as a logicode synthetic dataset."""

FORMAT = "logicode-synth"
FORMAT_VERSION = 1

PNG_COMPRESSION = 1
"""cv2 PNG compression level (0-9): low, for speed."""


@dataclass(frozen=True)
class Split:
    """One image folder of the layout."""

    split: str
    kind: str
    split_id: int
    good: bool

    @property
    def key(self) -> str:
        """``split/kind``, e.g. ``test/logical_anomalies``."""
        return f"{self.split}/{self.kind}"


SPLITS: tuple[Split, ...] = (
    Split("train", "good", 0, True),
    Split("validation", "good", 1, True),
    Split("test", "good", 2, True),
    Split("test", "logical_anomalies", 3, False),
)

_INDEX_FILE = re.compile(r"^\d{3,}\.(png|json)(\.tmp)?$")


@dataclass(frozen=True)
class _Job:
    category: str
    root: str
    split: Split
    index: int
    seed: int
    defect: str | None
    perturbation: Perturbation | None


# --- small helpers ------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _write_json(path: Path, obj: Any) -> None:
    _write_atomic(path, (json.dumps(obj, indent=1) + "\n").encode("utf-8"))


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an ``HWC uint8`` RGB image or ``HW uint8`` mask (fast, deterministic)."""
    arr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION]
    params += [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
    ok, buf = cv2.imencode(".png", arr, params)
    if not ok:
        raise DatasetError("could not encode a PNG image (opencv imencode failed)")
    return buf.tobytes()


def image_seed(seed: int, split_id: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of one image."""
    return np.random.SeedSequence([seed, split_id, index])


def defect_schedule(defects: tuple[str, ...] | list[str], n: int, seed: int) -> list[str]:
    """Defects of ``n`` logical images: each cycle is a seeded shuffle of all ``defects``."""
    out: list[str] = []
    cycle = 0
    while len(out) < n:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1000, cycle]))
        out.extend(defects[i] for i in rng.permutation(len(defects)))
        cycle += 1
    return out[:n]


def defects_config(spec: CategorySpec, saturation: dict[str, Any] | None = None) -> list[dict]:
    """``defects_config.json`` entries of a spec, pixel values 255, 254, ... in spec order.

    Args:
        spec: Category spec.
        saturation: Optional ``{defect: (threshold, relative)}`` (the generator's
            ``saturation`` attribute); a defect without one gets ``(1.0, True)``: the sPRO
            metric saturates when the whole region is covered.
    """
    saturation = saturation or {}
    out = []
    for i, d in enumerate(spec.defects):
        threshold, relative = saturation.get(d.name, (1.0, True))
        out.append(
            {
                "defect_name": d.name,
                "pixel_value": 255 - i,
                "saturation_threshold": threshold,
                "relative_saturation": bool(relative),
            }
        )
    return out


def generator_info(generator: Any) -> dict[str, str]:
    """Name and version of a generator, for scene meta and the manifest."""
    return {
        "name": str(getattr(generator, "name", type(generator).__module__)),
        "version": str(getattr(generator, "version", "0")),
    }


def scene_from_sample(
    sample: Sample,
    category: str,
    *,
    image_path: str = "image.png",
    image_sha256: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Scene:
    """Ground-truth :class:`Scene` of a rendered sample (components ``c0, c1, ...``).

    Args:
        sample: Rendered sample.
        category: Category name.
        image_path: ``image.path`` to record (relative to the scene file's folder).
        image_sha256: SHA-256 of the written image file, if any.
        meta: Free metadata.
    """
    h, w = sample.image.shape[:2]
    components = [
        component_from_mask(
            f"c{i}", part.label, part.mask, sample.image, attributes=part.attributes
        )
        for i, part in enumerate(p for p in sample.parts if p.mask.any())
    ]
    if sample.defect is None:
        label = GroundTruth(kind=LabelKind.good)
    else:
        label = GroundTruth(
            kind=LabelKind.logical_anomaly,
            anomaly_type=sample.anomaly_type,
            defects=[sample.defect],
            reason=sample.reason,
        )
    return Scene(
        image=ImageInfo(path=image_path, width=w, height=h, sha256=image_sha256),
        category=category,
        components=components,
        label=label,
        meta=dict(meta or {}),
    )


@functools.lru_cache(maxsize=8)
def _context(category: str) -> tuple[Any, CategorySpec]:
    from logicode.data.synth import get_generator

    return get_generator(category), load_spec(category)


def _worker_init() -> None:
    cv2.setNumThreads(1)


def render_job(job: _Job) -> dict[str, Any]:
    """Render, perturb and write one image with its scene (and ground-truth mask)."""
    generator, spec = _context(job.category)
    root = Path(job.root)
    name = f"{job.index:03d}"
    render_ss, perturb_ss = image_seed(job.seed, job.split.split_id, job.index).spawn(2)
    sample = generator.render(np.random.default_rng(render_ss), job.defect)
    if job.defect is not None and sample.defect != job.defect:
        raise DatasetError(
            f"{job.category} generator returned defect {sample.defect!r} for {job.defect!r}"
        )
    perturbation = job.perturbation if job.split.split == "test" else None
    if perturbation is not None and not perturbation.is_identity:
        sample = apply_to_sample(sample, np.random.default_rng(perturb_ss), perturbation)
    png = encode_png(sample.image)
    image_path = root / job.split.split / job.split.kind / f"{name}.png"
    _write_atomic(image_path, png)
    sha = hashlib.sha256(png).hexdigest()
    if job.defect is not None:
        pixel_value = 255 - [d.name for d in spec.defects].index(job.defect)
        gt = np.zeros(sample.image.shape[:2], np.uint8)
        if sample.anomaly_mask is None or not sample.anomaly_mask.any():
            log.warning("%s %s: no anomaly region for %s", job.split.key, name, job.defect)
        else:
            gt[sample.anomaly_mask] = pixel_value
        _write_atomic(root / "ground_truth" / job.split.kind / name / "000.png", encode_png(gt))
    scene_path = root / "scenes" / job.split.split / job.split.kind / f"{name}.json"
    meta = {
        "synthetic": True,
        "seed": job.seed,
        "split": job.split.key,
        "index": job.index,
        "generator": generator_info(generator),
        "perturbation": perturbation.to_dict() if perturbation is not None else None,
    }
    if job.defect is not None and sample.anomaly_type is None:
        sample.anomaly_type = spec.defect(job.defect).anomaly_type.value
    scene = scene_from_sample(
        sample,
        job.category,
        image_path=os.path.relpath(image_path, scene_path.parent).replace(os.sep, "/"),
        image_sha256=sha,
        meta=meta,
    )
    scene.check_vocabulary(spec.vocabulary)
    scene.save(scene_path)
    return {"split": job.split.key, "index": job.index, "defect": job.defect}


# --- folder safety --------------------------------------------------------------------------


def is_synth_dataset(root: Path) -> bool:
    """True if ``root`` holds a manifest written by this writer."""
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def _clean_previous(root: Path) -> int:
    """Delete the files a previous synth run wrote (index-named images, masks, scenes)."""
    removed = 0
    dirs: list[Path] = []
    for sp in SPLITS:
        for folder in (root / sp.split / sp.kind, root / "scenes" / sp.split / sp.kind):
            dirs.append(folder)
            if folder.is_dir():
                for f in folder.iterdir():
                    if f.is_file() and _INDEX_FILE.match(f.name):
                        f.unlink()
                        removed += 1
        if not sp.good:
            gt = root / "ground_truth" / sp.kind
            if gt.is_dir():
                for sub in gt.iterdir():
                    if sub.is_dir() and re.fullmatch(r"\d{3,}", sub.name):
                        for f in sub.iterdir():
                            if f.is_file() and f.name in ("000.png", "000.png.tmp"):
                                f.unlink()
                                removed += 1
                        if not any(sub.iterdir()):
                            sub.rmdir()
            dirs.append(gt)
    for d in dirs:
        for p in (d, d.parent):
            if p.is_dir() and p != root and not any(p.iterdir()):
                p.rmdir()
    return removed


def _prepare_root(root: Path, overwrite: bool) -> None:
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root} is a file; give a folder for the dataset")
    if root.is_dir() and any(root.iterdir()):
        if is_synth_dataset(root):
            n = _clean_previous(root)
            log.info("replacing a previous synthetic dataset in %s (%d files removed)", root, n)
        elif not overwrite:
            raise DatasetError(
                f"{root} is not empty and is not a logicode synthetic dataset; choose an empty "
                "folder or pass --overwrite (same-name files are replaced, nothing is deleted)"
            )
    root.mkdir(parents=True, exist_ok=True)


# --- main entry -------------------------------------------------------------------------------


def generate_dataset(
    category: str,
    out: str | Path,
    *,
    n_good: int = 20,
    n_logical: int = 20,
    n_train: int = 10,
    n_val: int = 5,
    seed: int = 0,
    perturb: Perturbation | str | None = None,
    progress: Callable[[int, int], None] | None = None,
    overwrite: bool = False,
    workers: int | None = None,
) -> dict[str, Any]:
    """Render a synthetic MVTec LOCO AD style dataset of one category.

    Args:
        category: Category with a generator (see :func:`logicode.data.synth.available_categories`).
        out: Output folder (created). A folder holding a previous synthetic dataset is
            replaced; any other non-empty folder is refused unless ``overwrite``.
        n_good: Good test images.
        n_logical: Logical anomaly test images (defects cycle over all the generator renders).
        n_train: Good training images.
        n_val: Good validation images.
        seed: Random seed; the same seed gives byte-identical files.
        perturb: Perturbation (or its text form) applied to test images only.
        progress: Called as ``progress(done, total)`` after each image.
        overwrite: Write into a non-empty folder that is not a synthetic dataset (replacing
            same-name files, deleting nothing).
        workers: Worker processes; default ``min(2, cpu count)`` (1 for tiny datasets).

    Returns:
        Summary: ``category``, ``root``, ``counts`` per ``split/kind``, ``defects`` (images per
        defect), ``defect_types``, ``seconds``.

    Raises:
        LogicodeError: Unknown category (the message lists the known ones).
        DatasetError: Refused output folder, negative counts, or a category with no defects
            asked for logical anomalies.
    """
    from logicode.data.synth import get_generator

    start = time.perf_counter()
    generator = get_generator(category)
    spec = load_spec(category)
    counts_in = {"train/good": n_train, "validation/good": n_val, "test/good": n_good}
    counts_in["test/logical_anomalies"] = n_logical
    for key, n in counts_in.items():
        if n < 0:
            raise DatasetError(f"image count for {key} must be >= 0, got {n}")
    if isinstance(perturb, str):
        perturb = parse_perturb(perturb)
    spec_defects = {d.name for d in spec.defects}
    gen_defects = tuple(generator.defects)
    unknown = [d for d in gen_defects if d not in spec_defects]
    if unknown:
        raise DatasetError(f"{category} generator renders defects {unknown} not in its spec")
    if n_logical and not gen_defects:
        raise DatasetError(f"{category} generator renders no logical anomalies; use --n-logical 0")

    root = Path(out)
    _prepare_root(root, overwrite)
    info = generator_info(generator)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "category": category,
        "seed": seed,
        "counts": counts_in,
        "perturbation": perturb.to_dict() if perturb is not None else None,
        "generator": info,
        "logicode_version": __version__,
        "complete": False,
    }
    _write_json(root / MANIFEST, manifest)
    _write_json(
        root / "defects_config.json",
        defects_config(spec, getattr(generator, "saturation", None)),
    )

    schedule = defect_schedule(gen_defects, n_logical, seed)
    jobs: list[_Job] = []
    for sp in SPLITS:
        for i in range(counts_in[sp.key]):
            defect = None if sp.good else schedule[i]
            jobs.append(_Job(category, str(root), sp, i, seed, defect, perturb))

    total = len(jobs)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if total >= 8 else 1
    done = 0
    results: list[dict[str, Any]] = []
    if workers <= 1:
        for job in jobs:
            results.append(render_job(job))
            done += 1
            if progress:
                progress(done, total)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init) as pool:
            futures = [pool.submit(render_job, job) for job in jobs]
            try:
                for fut in as_completed(futures):
                    results.append(fut.result())
                    done += 1
                    if progress:
                        progress(done, total)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    defects: dict[str, int] = {}
    for r in results:
        if r["defect"] is not None:
            defects[r["defect"]] = defects.get(r["defect"], 0) + 1
    defect_types = {name: spec.defect(name).anomaly_type.value for name in defects}
    seconds = time.perf_counter() - start
    manifest.update(defects=dict(sorted(defects.items())), complete=True)
    _write_json(root / MANIFEST, manifest)
    log.info("%s: %d images in %.1f s", category, total, seconds)
    return {
        "category": category,
        "root": str(root),
        "counts": counts_in,
        "defects": dict(sorted(defects.items())),
        "defect_types": defect_types,
        "seconds": round(seconds, 3),
    }
