"""``logicode bench``: measure the whole system on a dataset (LogiBench).

Registered in :mod:`logicode.cli` as ``app.command("bench")(bench)``. The work is done by
:func:`logicode.bench.runner.run_bench`; this module parses options, shows a progress bar on
stderr and prints the headline figures. Expected errors (unknown dataset or category, bad
scene mode, a rule pack of another category, an output folder used with other settings)
print one line and exit 1; an interrupted run keeps its records and resumes when run again.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from logicode.bench.runner import BenchResult, Progress


@contextmanager
def rich_progress(enabled: bool = True) -> Iterator[Progress | None]:
    """A progress callback drawing one rich progress bar per task on stderr."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def update(task: str, done: int, total: int) -> None:
        if task not in tasks:
            tasks[task] = bars.add_task(task, total=total)
        bars.update(tasks[task], completed=done, total=total)

    with bars:
        yield update


def print_summary(result: BenchResult) -> None:
    """Headline figures per category and overall, rules that did not compile, output paths."""
    from rich.console import Console
    from rich.table import Table

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f}"

    console = Console()
    table = Table(title="LogiBench")
    table.add_column("category", no_wrap=True)
    for col in (
        "images",
        "acc %",
        "AUROC",
        "rules AUROC",
        "F1",
        "codegen",
        "held-out",
        "reasoning",
    ):
        table.add_column(col, justify="right")
    groups = [*result.metrics.categories.values()]
    if len(groups) > 1:
        groups.append(result.metrics.overall)
    for g in groups:
        f = g.figures()
        table.add_row(
            g.name,
            str(g.n_scored) + (f" (+{g.n_error} errors)" if g.n_error else ""),
            pct(f["accuracy"]),
            pct(f["auroc"]),
            pct(f["auroc_rules"]),
            pct(f["f1"]),
            pct(f["codegen_validated"]),
            pct(f["codegen_heldout"]),
            pct(f["reasoning_precision"]),
        )
    console.print(table)
    score = result.run.get("score", {}).get("name", "")
    console.print(
        f"AUROC ranks by the image score {score} (verdict, then rule evidence plus the "
        "scene's deviation from normal references); rules AUROC: the rules' score alone.",
        highlight=False,
    )
    for cat, rules in result.run.get("not_compiled", {}).items():
        for r in rules:
            why = r["reason"][:100]
            console.print(
                f"[yellow]{cat}/{r['id']}: not compiled (never fires)[/yellow]: {why}",
                highlight=False,
            )
    console.print(
        f"metrics: {result.paths['metrics']}  report: {result.paths['report']}  "
        f"({result.run['seconds']:.1f} s, peak RSS {result.run['peak_rss_mb']} MB)",
        highlight=False,
    )


def bench(
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset", "-d", help="synth:CATEGORY, synth:all, or an MVTec LOCO style folder."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (records, packs, reports).")
    ],
    scenes: Annotated[
        str,
        typer.Option(
            "--scenes", help="gt: ground-truth scenes; perceived: the perception pipeline."
        ),
    ] = "gt",
    backend: Annotated[
        str, typer.Option("--backend", help="embedded | openai | transformers")
    ] = "embedded",
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="qwen2.5-coder-1.5b | qwen2.5-coder-0.5b | PATH, or the endpoint's model name.",
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="A compiled rule pack (or a folder of packs named by category) to use "
            "instead of compiling.",
        ),
    ] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="Only these rule ids (repeatable).")
    ] = None,
    n_good: Annotated[
        int, typer.Option("--n-good", min=0, help="Good test images (synthetic).")
    ] = 20,
    n_logical: Annotated[
        int, typer.Option("--n-logical", min=0, help="Logical-anomaly test images (synthetic).")
    ] = 40,
    n_train: Annotated[
        int,
        typer.Option(
            "--n-train",
            min=1,
            help="Good reference (train/good) images (synthetic): the deviation's normal "
            "scenes and the pool of compile and perception references.",
        ),
    ] = 30,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic datasets.")] = 0,
    perception_seed: Annotated[
        int,
        typer.Option(
            "--perception-seed",
            help="Random seed of the perception stages (--scenes perceived); run several to "
            "see how much the figures depend on it.",
        ),
    ] = 0,
    refs: Annotated[
        Path | None,
        typer.Option(
            "--refs",
            help="Annotated normal references (LabelMe, COCO or scene JSON) for perception "
            "and compiling; default: the dataset's train/good scenes or examples/CATEGORY/refs.",
        ),
    ] = None,
    max_refs: Annotated[int, typer.Option("--max-refs", min=1, help="References to use.")] = 5,
    candidates: Annotated[
        int, typer.Option("--candidates", min=1, help="Candidates per rule.")
    ] = 2,
    max_rounds: Annotated[
        int, typer.Option("--max-rounds", min=0, help="Repair rounds per rule.")
    ] = 3,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Sandbox worker processes.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Images per sandbox batch.")
    ] = 16,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print metrics.json to stdout instead of a table.")
    ] = False,
) -> None:
    """Measure rule compilation, perception and verdicts on a dataset (LogiBench)."""
    from logicode.cli import friendly_errors

    @friendly_errors
    def _go() -> None:
        from logicode.bench.report import metrics_document
        from logicode.bench.runner import BenchConfig, run_bench
        from logicode.codegen.compiler import CompileSettings

        cfg = BenchConfig(
            dataset=dataset,
            out=out,
            scenes=scenes,
            backend=backend,
            model=model,
            rules_pack=rules,
            rule_ids=tuple(rule or ()),
            n_good=n_good,
            n_logical=n_logical,
            n_train=n_train,
            seed=seed,
            perception_seed=perception_seed,
            refs=refs,
            max_refs=max_refs,
            compile=CompileSettings(candidates=candidates, max_rounds=max_rounds),
            batch_size=batch_size,
            workers=workers,
            plots=not no_plots,
        )
        with rich_progress(enabled=not as_json) as progress:
            result = run_bench(cfg, progress=progress)
        if as_json:
            doc = metrics_document(result.metrics, run=result.run)
            sys.stdout.write(json.dumps(doc, indent=1, default=str) + "\n")
        else:
            print_summary(result)

    _go()
