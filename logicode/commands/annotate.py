"""``logicode annotate``: write one scene JSON (and optionally an overlay PNG) per image.

Registered in :mod:`logicode.cli` as ``app.command("annotate")(annotate)``. Expected errors
(unknown category, no references, bad options) print one line and exit 1; an unreadable
image prints one line for that image and the batch goes on (exit 1 at the end if any
failed).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from logicode.errors import LogicodeError
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)

SUMMARY_FILE = "annotate_summary.json"
"""Summary written into the output folder (references, stages, failures, timings)."""


class AnnotateError(LogicodeError):
    """Bad arguments of ``logicode annotate`` (no images, unknown stage, missing checkpoint)."""


def output_paths(images: list[Path], out: Path) -> list[Path]:
    """Scene path of each image: its path relative to the images' common folder, ``.json``."""
    parents = [str(p.resolve().parent) for p in images]
    base = Path(os.path.commonpath(parents)) if parents else Path(".")
    paths = []
    for p in images:
        rel = p.resolve().relative_to(base)
        paths.append(out / rel.with_suffix(".json"))
    seen: dict[Path, Path] = {}
    for img, sp in zip(images, paths, strict=True):
        if sp in seen:
            raise AnnotateError(
                f"{img} and {seen[sp]} would both be written to {sp}; rename one of them"
            )
        seen[sp] = img
    return paths


def build_perception(
    category: str | CategorySpec,
    refs: list[Path],
    *,
    max_refs: int,
    segmenter: str = "classical",
    sam_checkpoint: Path | None = None,
    sam_model: str = "vit_b",
    labeler: str = "prototype",
    clip_checkpoint: Path | None = None,
    clip_model: str = "ViT-B-32",
    imagenet: bool = False,
) -> Any:
    """Load the spec and references and fit a :class:`~logicode.perception.pipeline.Perception`.

    Raises:
        SpecError: Unknown category.
        ReferencesError: No usable references.
        AnnotateError: Unknown stage name or a missing checkpoint.
    """
    from logicode.perception.pipeline import Perception
    from logicode.perception.refs import load_references
    from logicode.spec import load_spec

    spec = load_spec(category) if isinstance(category, str) else category
    references = load_references(refs, spec, max_refs=max_refs)
    seg = None
    if segmenter == "sam":
        if sam_checkpoint is None:
            raise AnnotateError("--segmenter sam needs --sam-checkpoint PATH (a SAM .pth file)")
        from logicode.perception.sam import SamSegmenter

        seg = SamSegmenter(sam_checkpoint, model_type=sam_model)
    elif segmenter != "classical":
        raise AnnotateError(f"unknown --segmenter {segmenter!r}; use classical or sam")
    lab = None
    if labeler == "clip":
        if clip_checkpoint is None:
            raise AnnotateError("--labeler clip needs --clip-checkpoint PATH (open_clip weights)")
        from logicode.perception.clip import ClipLabeler

        lab = ClipLabeler(clip_checkpoint, model_name=clip_model)
    elif labeler != "prototype":
        raise AnnotateError(f"unknown --labeler {labeler!r}; use prototype or clip")
    return Perception(spec, segmenter=seg, labeler=lab, imagenet_features=imagenet).fit(references)


def run_annotate(
    images: list[Path],
    *,
    category: str,
    refs: list[Path],
    out: Path,
    overlay: bool = False,
    recursive: bool = False,
    max_refs: int = 5,
    progress: bool = True,
    **stages: Any,
) -> dict[str, Any]:
    """Annotate a batch; the library behind the command (see :func:`annotate`).

    Returns:
        The summary also written to ``out/annotate_summary.json``.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from logicode.imageio import find_images, read_image
    from logicode.perception.overlay import save_overlay

    files = find_images(images, recursive)
    targets = output_paths(files, out)
    err = Console(stderr=True)
    t0 = time.perf_counter()
    perception = build_perception(category, refs, max_refs=max_refs, **stages)
    fit_s = time.perf_counter() - t0
    failures: list[dict[str, str]] = []
    written = 0
    seconds: list[float] = []
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not progress,
    ) as bar:
        task = bar.add_task("annotating", total=len(files))
        for img, target in zip(files, targets, strict=True):
            t1 = time.perf_counter()
            try:
                scene = perception.describe_file(img, scene_dir=target.parent)
                scene.save(target)
                if overlay:
                    save_overlay(
                        read_image(img),
                        scene,
                        target.with_suffix(".overlay.png"),
                        perception.spec.vocabulary,
                    )
                written += 1
                seconds.append(time.perf_counter() - t1)
            except LogicodeError as exc:
                failures.append({"image": str(img), "error": str(exc)})
                err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            except (OSError, ValueError) as exc:
                msg = f"{img}: {type(exc).__name__}: {exc}"
                failures.append({"image": str(img), "error": msg})
                err.print(f"[red]error:[/red] {msg}", highlight=False, soft_wrap=True)
            bar.advance(task)
    summary = {
        "category": category,
        "images": len(files),
        "written": written,
        "failed": failures,
        "fit_seconds": round(fit_s, 3),
        "seconds_per_image": round(sum(seconds) / len(seconds), 3) if seconds else None,
        "perception": perception.info(),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def annotate(
    images: Annotated[
        list[Path], typer.Argument(help="Image files and/or folders of images to annotate.")
    ],
    category: Annotated[
        str, typer.Option("--category", "-c", help="Category name or spec YAML path.")
    ],
    refs: Annotated[
        list[Path],
        typer.Option(
            "--refs",
            "-r",
            help="Reference annotations: a folder of LabelMe/COCO/scene JSON files, or a "
            "synthetic dataset folder (repeatable).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for scene JSON.")],
    overlay: Annotated[
        bool, typer.Option("--overlay", help="Also write <name>.overlay.png per image.")
    ] = False,
    recursive: Annotated[
        bool, typer.Option("--recursive", help="Look for images in sub-folders too.")
    ] = False,
    max_refs: Annotated[
        int, typer.Option("--max-refs", min=1, help="Use at most this many references.")
    ] = 5,
    segmenter: Annotated[
        str, typer.Option("--segmenter", help="classical (default, no weights) or sam.")
    ] = "classical",
    sam_checkpoint: Annotated[
        Path | None, typer.Option("--sam-checkpoint", help="SAM checkpoint (.pth).")
    ] = None,
    sam_model: Annotated[
        str, typer.Option("--sam-model", help="SAM model type: vit_b, vit_l or vit_h.")
    ] = "vit_b",
    labeler: Annotated[
        str, typer.Option("--labeler", help="prototype (default, few-shot) or clip.")
    ] = "prototype",
    clip_checkpoint: Annotated[
        Path | None, typer.Option("--clip-checkpoint", help="open_clip weights file.")
    ] = None,
    clip_model: Annotated[
        str, typer.Option("--clip-model", help="open_clip architecture name.")
    ] = "ViT-B-32",
    imagenet: Annotated[
        bool,
        typer.Option(
            "--imagenet",
            help="Add EfficientNet-Lite0 ImageNet features to the per-label attribute models "
            "(needs the vision extra; measured no gain on the benchmarks, so off by default).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Describe images as scene JSON, learning the product from a few annotated references."""
    from logicode.cli import friendly_errors

    @friendly_errors
    def _go() -> None:
        summary = run_annotate(
            images,
            category=category,
            refs=refs,
            out=out,
            overlay=overlay,
            recursive=recursive,
            max_refs=max_refs,
            progress=not as_json,
            segmenter=segmenter,
            sam_checkpoint=sam_checkpoint,
            sam_model=sam_model,
            labeler=labeler,
            clip_checkpoint=clip_checkpoint,
            clip_model=clip_model,
            imagenet=imagenet,
        )
        if as_json:
            typer.echo(json.dumps(summary, indent=1))
        else:
            from rich.console import Console

            n_fail = len(summary["failed"])
            Console().print(
                f"{summary['written']} scene(s) written to {out}"
                + (f", [red]{n_fail} failed[/red]" if n_fail else "")
                + f" (fit {summary['fit_seconds']:.1f} s, "
                f"{summary['seconds_per_image'] or 0:.2f} s/image)",
                highlight=False,
            )
        if summary["failed"]:
            raise typer.Exit(1)

    _go()
