"""``logicode inspect``: judge images against rules in plain English, explain, and report.

Registered in :mod:`logicode.cli`. The run's files are described in
:mod:`logicode.inspection.record`; the work is done by :mod:`logicode.inspection.runner`.

Exit codes: 0 when every image was inspected (whatever the verdicts), 1 on bad input or when
an image could not be inspected (its error row is kept and the batch goes on), 2 with
``--fail-on-anomaly`` when an image is anomalous and none failed.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from logicode.inspection.record import InspectionError, InspectionRecord

log = logging.getLogger(__name__)

REPORT_KINDS = ("html", "pdf", "json")
EXPLAIN_BACKENDS = ("template", "embedded", "openai", "transformers")


def default_refs(category: str) -> Path | None:
    """The references shipped for a category (``examples/<category>/refs``), if any."""
    from logicode.bench.runner import EXAMPLES_DIR

    folder = EXAMPLES_DIR / category / "refs"
    return folder if folder.is_dir() else None


def resolve_spec(spec: str | None, category: str | None, pack: Path | None) -> Any:
    """The category spec: ``--spec``, else ``--category``, else the pack's category."""
    from logicode.spec import load_spec

    if spec is not None:
        loaded = load_spec(spec)
        if category is not None and category != loaded.category:
            raise InspectionError(
                f"--spec is for {loaded.category!r} but --category says {category!r}"
            )
        return loaded
    if category is not None:
        return load_spec(category)
    if pack is not None:
        from logicode.codegen.pack import RulePack

        return load_spec(RulePack.load(pack).manifest.category)
    raise InspectionError(
        "give the rules: --rules PACK, --spec SPEC, or --rule TEXT with --category"
    )


def summary_table(records: list[InspectionRecord], limit: int = 40) -> Table:
    """A terminal table of verdicts: anomalies and errors first, at most ``limit`` rows."""
    table = Table(title=f"{len(records)} images")
    for col in ("image", "verdict", "score", "violated rules / error", "s"):
        table.add_column(col, overflow="fold")
    order = {"error": 0, "anomaly": 1, "good": 2}
    shown = sorted(records, key=lambda r: order[r.verdict])[:limit]
    style = {"good": "green", "anomaly": "red", "error": "yellow"}
    for r in shown:
        if r.error:
            what = r.error
        else:
            what = ", ".join(o.rule for o in r.rules if o.status != "pass")
        table.add_row(
            escape(r.image_id),
            f"[{style[r.verdict]}]{r.verdict}[/]",
            "" if r.score is None else f"{r.score:.2f}",
            escape(what),
            f"{r.timings.get('total', 0.0):.2f}",
        )
    if len(records) > limit:
        table.caption = f"{len(records) - limit} more good images not shown (see results.jsonl)"
    return table


def inspect(
    images: Annotated[
        list[Path],
        typer.Argument(help="Image files or folders, or scene JSON files.", show_default=False),
    ],
    rules: Annotated[
        Path | None, typer.Option("--rules", help="A compiled rule pack folder.")
    ] = None,
    spec: Annotated[
        str | None,
        typer.Option("--spec", help="Category spec YAML (or a shipped category name)."),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", help="A rule in English (repeatable); needs --spec or --category."),
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="Category (vocabulary) for --rule.")
    ] = None,
    refs: Annotated[
        Path | None,
        typer.Option(
            "--refs",
            help="Annotated normal references (LabelMe, COCO, scene JSON, or a logicode"
            " dataset); default: examples/<category>/refs.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder.")] = Path("inspection"),
    explain: Annotated[
        bool, typer.Option("--explain", help="Explain every verdict (see --explain-backend).")
    ] = False,
    explain_backend: Annotated[
        str, typer.Option("--explain-backend", help="template | embedded | openai | transformers")
    ] = "template",
    explain_model: Annotated[
        str | None, typer.Option("--explain-model", help="Model of the explain backend.")
    ] = None,
    report: Annotated[
        list[str] | None, typer.Option("--report", help="html | pdf | json (repeatable).")
    ] = None,
    jsonl: Annotated[
        str | None,
        typer.Option("--jsonl", help="Also write each record as a JSON line here ('-': stdout)."),
    ] = None,
    fail_on_anomaly: Annotated[
        bool, typer.Option("--fail-on-anomaly", help="Exit 2 when an image is anomalous.")
    ] = False,
    backend: Annotated[
        str, typer.Option("--backend", help="LLM backend compiling English rules.")
    ] = "embedded",
    model: Annotated[
        str | None, typer.Option("--model", help="Model compiling English rules.")
    ] = None,
    candidates: Annotated[int, typer.Option("--candidates", min=1)] = 2,
    max_rounds: Annotated[int, typer.Option("--max-rounds", min=0)] = 3,
    max_refs: Annotated[int, typer.Option("--max-refs", min=1)] = 5,
    recursive: Annotated[bool, typer.Option("--recursive", "-r")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Sandbox workers.")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
) -> None:
    """Inspect images against rules in plain English; explain and report every verdict."""
    err = Console(stderr=True)
    records, job = run_inspect_command(
        images,
        rules=rules,
        spec=spec,
        rule_texts=rule or [],
        category=category,
        refs=refs,
        out=out,
        explain=explain,
        explain_backend=explain_backend,
        explain_model=explain_model,
        reports=report or [],
        jsonl=jsonl,
        backend=backend,
        model=model,
        candidates=candidates,
        max_rounds=max_rounds,
        max_refs=max_refs,
        recursive=recursive,
        workers=workers,
        console=None if quiet else err,
    )
    errors = sum(r.verdict == "error" for r in records)
    anomalies = sum(r.verdict == "anomaly" for r in records)
    if errors:
        raise typer.Exit(1)
    if fail_on_anomaly and anomalies:
        raise typer.Exit(2)


def run_inspect_command(
    images: list[Path],
    *,
    rules: Path | None = None,
    spec: str | None = None,
    rule_texts: list[str] | None = None,
    category: str | None = None,
    refs: Path | None = None,
    out: Path = Path("inspection"),
    explain: bool = False,
    explain_backend: str = "template",
    explain_model: str | None = None,
    reports: list[str] | None = None,
    jsonl: str | None = None,
    backend: str = "embedded",
    model: str | None = None,
    candidates: int = 2,
    max_rounds: int = 3,
    max_refs: int = 5,
    recursive: bool = False,
    workers: int = 1,
    console: Console | None = None,
    chat: Any = None,
    model_info: dict[str, Any] | None = None,
) -> tuple[list[InspectionRecord], Any]:
    """The library behind :func:`inspect` (also used by tests with an injected ``chat``).

    Returns:
        ``(records, job)``.

    Raises:
        LogicodeError: Bad options or inputs (one line each).
    """
    from logicode.codegen.compiler import CompileSettings
    from logicode.inspection.rules import inline_spec, load_pack_for
    from logicode.inspection.runner import InspectJob, collect_inputs

    rule_texts = list(rule_texts or [])
    reports = list(reports or [])
    bad = [k for k in reports if k not in REPORT_KINDS]
    if bad:
        raise InspectionError(f"unknown --report {bad[0]!r}; use {', '.join(REPORT_KINDS)}")
    if explain and explain_backend not in EXPLAIN_BACKENDS:
        raise InspectionError(
            f"unknown --explain-backend {explain_backend!r}; use {', '.join(EXPLAIN_BACKENDS)}"
        )
    given = [n for n, v in (("--rules", rules), ("--rule", rule_texts)) if v]
    if len(given) > 1:
        raise InspectionError("give either --rules PACK or --rule TEXT, not both")
    if rules is None and not rule_texts and spec is None:
        raise InspectionError(
            "give the rules: --rules PACK, --spec SPEC, or --rule TEXT with --category"
        )
    items = collect_inputs(images, recursive=recursive)
    the_spec = resolve_spec(spec, category, rules)
    if rule_texts:
        the_spec = inline_spec(the_spec, rule_texts)
    need_images = any(not it.is_scene for it in items)
    ref_source = refs or default_refs(the_spec.category)
    references = None
    if ref_source is not None and (need_images or rules is None):
        from logicode.perception.refs import load_references

        references = load_references(ref_source, the_spec, max_refs=max_refs)
    if need_images and references is None:
        raise InspectionError(
            f"no reference annotations for {the_spec.category}: give --refs with a few "
            "annotated normal images (LabelMe, COCO or scene JSON)"
        )
    settings = CompileSettings(candidates=candidates, max_rounds=max_rounds)
    if rules is not None:
        pack = load_pack_for(rules, the_spec)
        pack_dir: Path = rules
    else:
        if references is None:
            raise InspectionError(
                "compiling rules needs normal references: give --refs (scene JSON files or "
                "annotated images of good products)"
            )
        ref_scenes = [r.scene.model_dump(mode="json") for r in references]
        pack, pack_dir, _cached = _compile(
            the_spec, ref_scenes, backend, model, settings, console, chat, model_info
        )
    perception = None
    if need_images:
        from logicode.perception.pipeline import Perception

        perception = Perception(the_spec).fit(references or [])
    explainer = None
    if explain:
        explainer = _explainer(the_spec, explain_backend, explain_model, references)
    job = InspectJob(
        spec=the_spec,
        pack=pack,
        pack_dir=pack_dir,
        out=out,
        perception=perception,
        explainer=explainer,
        settings={"recursive": recursive},
        workers=workers,
    )
    sink = _jsonl_sink(jsonl)
    try:
        records = _run(job, items, console, sink)
    finally:
        if sink is not None and sink is not sys.stdout:
            sink.close()
    for kind in reports:
        path = write_report(out, kind)
        if console is not None:
            console.print(f"report: {path}")
    if console is not None:
        console.print(summary_table(records))
        _print_totals(console, records, out)
    return records, job


def _compile(
    spec: Any,
    ref_scenes: list[dict[str, Any]],
    backend: str,
    model: str | None,
    settings: Any,
    console: Console | None,
    chat: Any,
    model_info: dict[str, Any] | None,
) -> tuple[Any, Path, bool]:
    from logicode.inspection.rules import compiled_pack

    n = len(spec.rules)
    done = 0

    def step(outcome: Any) -> None:
        nonlocal done
        done += 1
        e = outcome.entry
        if console is not None:
            console.print(f"compiled {done}/{n} {e.id}: {e.status} ({e.seconds:.0f} s)")

    pack, folder, cached = compiled_pack(
        spec,
        ref_scenes,
        backend=backend,
        model=model,
        settings=settings,
        progress=step,
        chat=chat,
        model_info=model_info,
    )
    if console is not None:
        ok = sum(r.status == "ok" for r in pack.manifest.rules)
        how = "cached" if cached else "compiled"
        console.print(f"rules: {ok}/{n} {how} and validated ({folder})")
        for r in pack.manifest.rules:
            if r.status != "ok":
                console.print(f"[yellow]rule {r.id} is not used: {escape(r.reason[:160])}[/]")
    return pack, folder, cached


def _explainer(spec: Any, backend: str, model: str | None, references: Any) -> Any:
    from logicode.inspection.explaining import make_explainer

    return make_explainer(spec, backend, model, references)


def _jsonl_sink(jsonl: str | None) -> Any:
    if jsonl is None:
        return None
    if jsonl == "-":
        return sys.stdout
    path = Path(jsonl)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8")


def _run(job: Any, items: Any, console: Console | None, sink: Any) -> list[InspectionRecord]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from logicode.inspection.runner import run_inspection

    def emit(record: InspectionRecord, fresh: bool) -> None:
        if sink is not None and fresh:
            sink.write(record.model_dump_json() + "\n")
            sink.flush()

    if console is None:
        return run_inspection(job, items, on_record=emit)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("inspecting", total=len(items))

        def step(record: InspectionRecord, fresh: bool) -> None:
            emit(record, fresh)
            if fresh and record.error:
                console.print(f"[yellow]{escape(record.image_id)}: {escape(record.error)}[/]")
            bar.advance(task)

        return run_inspection(job, items, on_record=step)


def _print_totals(console: Console, records: list[InspectionRecord], out: Path) -> None:
    from logicode.inspection.record import read_manifest

    counts = {v: sum(r.verdict == v for r in records) for v in ("good", "anomaly", "error")}
    times = [r.timings.get("total", 0.0) for r in records if r.verdict != "error"]
    mean = sum(times) / len(times) if times else 0.0
    audit = read_manifest(out).audit or {}
    console.print(
        f"{len(records)} images: {counts['good']} good, {counts['anomaly']} anomaly, "
        f"{counts['error']} error; {mean:.2f} s/image; results: {out}/results.jsonl; "
        f"audit head {str(audit.get('head', ''))[:16]} ({audit.get('count', 0)} records)"
    )


def write_report(out: Path, kind: str) -> Path:
    """Write the run's report of one kind (``html``, ``pdf`` or ``json``); returns its path.

    Raises:
        LogicodeError: The report cannot be made (e.g. PDF without WeasyPrint installed).
    """
    from logicode.inspection.record import read_manifest, read_results

    if kind == "json":
        manifest = read_manifest(out)
        data = {
            "manifest": manifest.model_dump(mode="json"),
            "records": [r.model_dump(mode="json") for r in read_results(out)],
        }
        path = out / "report.json"
        tmp = out / ".report.json.tmp"
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path
    from logicode.report.html import render_html, write_html

    if kind == "html":
        return write_html(out)
    from logicode.report.pdf import write_pdf

    path = out / "report.pdf"
    write_pdf(render_html(out), path)
    return path
