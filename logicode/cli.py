"""The ``logicode`` command line (typer).

Every command turns a :class:`~logicode.errors.LogicodeError` into one red line on stderr
and exit code 1 (2 for usage errors, from typer); tracebacks are for bugs only.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from logicode import __version__
from logicode.errors import LogicodeError

app = typer.Typer(
    name="logicode",
    help="Find logical anomalies in product images from rules written in plain English.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(
    help="Datasets: synthetic generation and MVTec LOCO folders.", no_args_is_help=True
)
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Decorate a command so expected errors print one line and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LogicodeError as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/yellow]: finished outputs are kept")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        console.print(f"logicode {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """Find logical anomalies in product images from rules written in plain English."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def print_summary(summary: dict[str, Any], title: str) -> None:
    """Print a dataset summary (counts per split and per defect) as two tables."""
    table = Table(title=title)
    table.add_column("split")
    table.add_column("images", justify="right")
    for split, n in summary.get("counts", {}).items():
        table.add_row(split, str(n))
    console.print(table)
    defects = summary.get("defects", {})
    if defects:
        dt = Table(title="anomalous images by defect")
        dt.add_column("defect")
        dt.add_column("type")
        dt.add_column("images", justify="right")
        types = summary.get("defect_types", {})
        for name, n in sorted(defects.items()):
            dt.add_row(name, types.get(name, ""), str(n))
        console.print(dt)


@data_app.command("synth")
@friendly_errors
def data_synth(
    category: Annotated[str, typer.Option("--category", "-c", help="Category name or 'all'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (one per category).")],
    n_good: Annotated[int, typer.Option("--n-good", min=0, help="Good test images.")] = 20,
    n_logical: Annotated[
        int, typer.Option("--n-logical", min=0, help="Logical anomaly test images.")
    ] = 20,
    n_train: Annotated[int, typer.Option("--n-train", min=0, help="Good training images.")] = 10,
    n_val: Annotated[int, typer.Option("--n-val", min=0, help="Good validation images.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same images).")] = 0,
    perturb: Annotated[
        str | None,
        typer.Option(
            "--perturb",
            help="RAD-style perturbations, e.g. 'blur=0.5,light=0.3,view=0.2' (strengths in 0..1).",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Write into a non-empty folder that is not a synthetic dataset "
            "(same-name files are replaced, nothing is deleted).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Generate a synthetic MVTec LOCO style dataset with ground-truth scenes."""
    from logicode.data.synth import available_categories, generate_dataset
    from logicode.data.synth.perturb import parse_perturb

    spec = parse_perturb(perturb) if perturb else None
    cats = available_categories() if category == "all" else [category]
    results = []
    for cat in cats:
        root = out / cat if category == "all" else out
        with console.status(f"rendering {cat}...", spinner="dots") as status:

            def progress(done: int, total: int, _cat: str = cat, _status: Any = status) -> None:
                _status.update(f"rendering {_cat}: {done}/{total}")

            summary = generate_dataset(
                cat,
                root,
                n_good=n_good,
                n_logical=n_logical,
                n_train=n_train,
                n_val=n_val,
                seed=seed,
                perturb=spec,
                progress=progress,
                overwrite=overwrite,
            )
        results.append(summary)
        if not as_json:
            print_summary(summary, f"{cat}: {summary['root']} ({summary['seconds']:.1f} s)")
    if as_json:
        sys.stdout.write(json.dumps(results if category == "all" else results[0], indent=1) + "\n")


@data_app.command("info")
@friendly_errors
def data_info(
    root: Annotated[Path, typer.Argument(help="An MVTec LOCO style category folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Count images per split and per defect in an MVTec LOCO style folder."""
    from logicode.data.loco import LocoDataset

    summary = LocoDataset(root).info()
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    else:
        print_summary(summary, f"{summary.get('category', root.name)}: {root}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
