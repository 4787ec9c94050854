"""Code-generation benchmark: compile each category's rules with the embedded models, then judge
every compiled rule on held-out ground-truth synthetic scenes (issue 4, section 4).

For each category a synthetic dataset is rendered once (into ``--work``, reused by later runs
with the same settings): ``--n-train`` normal images whose ground-truth scenes are the
compiler's references, and held-out test scenes: ``--n-good`` normal ones plus
``--per-defect`` anomalies of every defect the generator renders. Each model then compiles the
chosen rules (:class:`logicode.codegen.compiler.RuleCompiler`, sandboxed validation and repair)
in a subprocess of its own, so that its peak RSS is its own, and each rule is judged
(:func:`logicode.bench.runner.judge_rules`): it **succeeds** when it compiled, passed
validation and is right on every held-out scene, i.e. it fails exactly on the scenes whose
defect it guards (the generators guarantee that each anomaly breaks exactly those rules).

Reported per model: success rate, success without repair (right from the first answers) and
with repair (right after at least one repair round), validated rate, mean repair rounds,
seconds per rule and peak RSS; per category too. A table on stdout, everything as JSON.

Usage:
    .venv/bin/python benchmarks/codegen.py                              # 5 categories, 2 models
    .venv/bin/python benchmarks/codegen.py --categories juice_bottle \\
        --models qwen2.5-coder-0.5b --rules 3 --out /tmp/codegen.json
    .venv/bin/python benchmarks/codegen.py --categories pushpins --rule-ids one_per_compartment

With ``--out``, every judged rule is also appended to ``OUT.MODEL.rows.jsonl`` as it finishes
(transcripts included), so a long run can be watched; ``--resume`` reuses the rules already
judged there with the same settings (peak RSS then covers only the rules run this time).

Run it alone: two LLM processes on the same cores slow each other down badly.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_MODELS = ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
DEFAULT_WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "logicode_codegen_bench"


def render(category: str, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Render (or reuse) the category's reference and held-out dataset."""
    from logicode.bench.runner import BenchConfig, Target, ensure_synth
    from logicode.data.synth import get_generator

    n_logical = args.per_defect * len(get_generator(category).defects)
    cfg = BenchConfig(
        dataset=f"synth:{category}",
        out=root.parent,
        n_good=args.n_good,
        n_logical=n_logical,
        n_train=args.n_train,
        seed=args.seed,
    )
    t0 = time.perf_counter()
    made = ensure_synth(Target(category, root, True), cfg, None)
    return {"rendered": made, "seconds": round(time.perf_counter() - t0, 1), "n_logical": n_logical}


def load_phrasings(path: str | None) -> dict[str, dict[str, str]]:
    """Other wordings of the rules, by category and rule id (``--phrasings``)."""
    if not path:
        return {}
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {
        str(c): {str(k): " ".join(str(v).split()) for k, v in r.items()} for c, r in data.items()
    }


def chosen_rules(spec: Any, args: argparse.Namespace) -> list[Any]:
    """The spec's rules limited by ``--rule-ids`` and ``--rules``, reworded by ``--phrasings``.

    A reworded rule keeps its id and guards: it is judged exactly as the spec's wording is.
    """
    other = load_phrasings(getattr(args, "phrasings", None)).get(spec.category, {})
    rules = [r.model_copy(update={"text": other[r.id]}) if r.id in other else r for r in spec.rules]
    if args.rule_ids:
        wanted = [r.strip() for r in args.rule_ids.split(",") if r.strip()]
        rules = [r for r in rules if r.id in wanted]
    if args.rules:
        rules = rules[: args.rules]
    return rules


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one judged rule to the rows file, flushed to disk (survives an interruption)."""
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def finished_rows(path: Path, settings: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    """Rules already judged in an earlier run with the same settings, by (category, id, text).

    The first line of the rows file holds the settings; a file written with other settings,
    or none at all, yields nothing (the run starts over). A torn last line is ignored.
    """
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        head = json.loads(lines[0]) if lines else {}
    except json.JSONDecodeError:
        return {}
    if head.get("settings") != json.loads(json.dumps(settings)):
        return {}
    out = {}
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        out[(row["category"], row["rule"], row["text"])] = row
    return out


def category_data(category: str, work: Path) -> tuple[Any, list[Any], list[Any]]:
    """A rendered category's spec, compiler references and held-out (defects, scene) pairs."""
    from logicode.bench.runner import (
        BenchConfig,
        GroundTruthScenes,
        Target,
        compile_references,
        evaluation_items,
    )
    from logicode.data.loco import LocoDataset
    from logicode.spec import load_spec

    root = work / category
    spec = load_spec(category)
    cfg = BenchConfig(dataset=f"synth:{category}", out=root.parent)
    refs = compile_references(Target(category, root, True), spec, cfg)
    items, _ = evaluation_items(LocoDataset(root, category=category))
    gt = GroundTruthScenes(spec)
    return spec, refs, [(it.defects, gt.scene(it)[0]) for it in items]


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Compile and judge every chosen rule of every category with one model (this process)."""
    import sandbox
    from logicode.bench.runner import (
        judge_rules,
    )
    from logicode.codegen.compiler import CompileSettings, RuleCompiler
    from logicode.llm import get_chat_model, model_provenance
    from logicode.spec import spec_sha256

    info = model_provenance("embedded", args.model)
    cfg_kw: dict[str, Any] = {"model": args.model}
    if args.threads:
        cfg_kw["threads"] = args.threads
    chat = get_chat_model("embedded", **cfg_kw)
    settings = CompileSettings(
        candidates=args.candidates,
        max_rounds=args.max_rounds,
        presence=args.presence,
        code_grammar=args.grammar,
        examples=args.examples,
        similar_k=args.similar_k,
        plans=args.plans,
        plan_candidates=args.plan_candidates,
        plans_first=args.plans_first,
        word_checks=args.word_checks,
    )
    rows: list[dict[str, Any]] = []
    rows_path = Path(args.rows) if args.rows else None
    done = finished_rows(rows_path, settings.__dict__) if rows_path and args.resume else {}
    if rows_path is not None and not done:
        rows_path.parent.mkdir(parents=True, exist_ok=True)
        rows_path.write_text(
            json.dumps({"settings": settings.__dict__, "model": info}) + "\n", encoding="utf-8"
        )
    t_start = time.perf_counter()
    with sandbox.SandboxPool(api_module="logicode.ruleapi", workers=1) as pool:
        for category in args.categories.split(","):
            spec, refs, heldout = category_data(category, Path(args.work))
            compiler = RuleCompiler(chat, spec, refs, pool, settings, model_info=info)
            for rule in chosen_rules(spec, args):
                key = (category, rule.id, rule.text)
                if key in done:
                    rows.append(done[key])
                    continue
                pack = compiler.compile([rule], spec_sha256=spec_sha256(category))
                entry = pack.manifest.rules[0]
                judged = judge_rules(pack, heldout, pool, category)[0]
                rows.append(
                    {
                        "category": category,
                        "rule": rule.id,
                        "text": rule.text,
                        "status": entry.status,
                        "compiled": judged.compiled,
                        "validated": judged.validated,
                        "heldout_correct": judged.heldout_correct,
                        "heldout_total": judged.heldout_total,
                        "success": bool(judged.heldout_right),
                        "rounds": entry.rounds,
                        "candidates": entry.candidates,
                        "seconds": entry.seconds,
                        "reason": entry.reason,
                        "code": pack.code.get(rule.id),
                        "transcript": compiler.transcripts.get(rule.id, []),
                    }
                )
                if rows_path is not None:
                    append_row(rows_path, rows[-1])
                print(
                    f"{args.model} {category}/{rule.id}: {entry.status}, held-out "
                    f"{judged.heldout_correct}/{judged.heldout_total}, rounds {entry.rounds}, "
                    f"{entry.seconds:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    return {
        "model": info,
        "rows": rows,
        "seconds": round(time.perf_counter() - t_start, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "settings": settings.__dict__,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Success rates, repair figures and speed over a list of judged rules."""
    n = len(rows)
    if n == 0:
        return {"rules": 0}
    ok = [r for r in rows if r["success"]]
    return {
        "rules": n,
        "success_rate": len(ok) / n,
        "success_without_repair": sum(r["rounds"] == 0 for r in ok) / n,
        "success_with_repair": sum(r["rounds"] > 0 for r in ok) / n,
        "compiled_rate": sum(r["compiled"] for r in rows) / n,
        "validated_rate": sum(r["validated"] for r in rows) / n,
        "mean_repair_rounds": statistics.mean(r["rounds"] for r in rows),
        "mean_candidates": statistics.mean(r["candidates"] for r in rows),
        "seconds_per_rule": statistics.mean(r["seconds"] for r in rows),
    }


def table(report: dict[str, Any]) -> str:
    """The per-model summary as a Markdown table."""
    head = (
        "| model | rules | success % | without repair % | with repair % | validated % | "
        "mean repair rounds | s / rule | peak RSS MB |"
    )
    lines = [head, "|---|" + "---:|" * 8]
    for m in report["models"]:
        s = m["summary"]
        if not s.get("rules"):
            lines.append(f"| {m['model']['name']} | 0 | | | | | | | {m['peak_rss_mb']} |")
            continue
        lines.append(
            f"| {m['model']['name']} | {s['rules']} | {100 * s['success_rate']:.1f} | "
            f"{100 * s['success_without_repair']:.1f} | {100 * s['success_with_repair']:.1f} | "
            f"{100 * s['validated_rate']:.1f} | {s['mean_repair_rounds']:.2f} | "
            f"{s['seconds_per_rule']:.1f} | {m['peak_rss_mb']} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--categories", default="all", help="Comma-separated, or 'all'.")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS), help="Comma-separated.")
    ap.add_argument("--rules", type=int, default=0, help="First N rules per category (0: all).")
    ap.add_argument("--rule-ids", default="", help="Comma-separated rule ids to keep.")
    ap.add_argument("--n-train", type=int, default=10, help="Reference images (compile).")
    ap.add_argument("--n-good", type=int, default=5, help="Held-out normal scenes.")
    ap.add_argument("--per-defect", type=int, default=2, help="Held-out scenes per defect.")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--candidates", type=int, default=2)
    ap.add_argument("--max-rounds", type=int, default=3)
    ap.add_argument(
        "--presence",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Hold candidates to the model's answers on removing the parts a rule names.",
    )
    ap.add_argument(
        "--grammar",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Hold answers to one def check(scene) block with llama.cpp's grammar.",
    )
    ap.add_argument(
        "--examples",
        choices=("all", "similar"),
        default="all",
        help="Worked examples: all in the system prompt, or the most similar next to the rule.",
    )
    ap.add_argument("--similar-k", type=int, default=3, help="Examples shown with 'similar'.")
    ap.add_argument(
        "--plans",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="When no written candidate is valid, write code from the model's plan of checks.",
    )
    ap.add_argument("--plan-candidates", type=int, default=5, help="Most plans per rule.")
    ap.add_argument(
        "--plans-first",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Ask for plans before written code (CompileSettings.plans_first).",
    )
    ap.add_argument(
        "--word-checks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Add the checks the rule's words state to the plans' (CompileSettings.word_checks).",
    )
    ap.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: default).")
    ap.add_argument(
        "--phrasings",
        default=None,
        help="YAML of other wordings by category and rule id (benchmarks/rephrased_rules.yaml).",
    )
    ap.add_argument("--work", default=str(DEFAULT_WORK), help="Folder for the datasets.")
    ap.add_argument("--out", help="Write the JSON report here too.")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="Reuse the rules already judged in OUT.MODEL.rows.jsonl (same settings).",
    )
    ap.add_argument("--rows", help=argparse.SUPPRESS)  # worker mode: per-rule JSON lines
    ap.add_argument("--model", help=argparse.SUPPRESS)  # worker mode
    args = ap.parse_args()

    from logicode.data.synth import available_categories

    cats = available_categories() if args.categories == "all" else args.categories.split(",")
    unknown = [c for c in cats if c not in available_categories()]
    if unknown:
        ap.error(f"unknown categories {unknown}; known: {available_categories()}")
    args.categories = ",".join(cats)
    if args.model:  # worker: one model, JSON on stdout
        sys.stdout.write(json.dumps(worker(args)) + "\n")
        return

    datasets = {c: render(c, Path(args.work) / c, args) for c in cats}
    models = []
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        cmd = [sys.executable, __file__, *sys.argv[1:], "--categories", args.categories]
        cmd += ["--model", model]
        if args.out:
            cmd += ["--rows", f"{args.out}.{model}.rows.jsonl"]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            models.append({"model": {"name": model}, "error": f"exit {proc.returncode}"})
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["summary"] = summarise(res["rows"])
        res["by_category"] = {
            c: summarise([r for r in res["rows"] if r["category"] == c]) for c in cats
        }
        models.append(res)
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "datasets": datasets,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "models": [m for m in models if "error" not in m],
        "failed_models": [m for m in models if "error" in m],
    }
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(table(report))
    for m in report["models"]:
        for r in m["rows"]:
            mark = "ok " if r["success"] else "BAD"
            print(
                f"  {mark} {m['model']['name']} {r['category']}/{r['rule']}: {r['status']}, "
                f"held-out {r['heldout_correct']}/{r['heldout_total']}, rounds {r['rounds']}, "
                f"{r['seconds']:.0f} s {r['reason'][:80]}"
            )
    for m in report["failed_models"]:
        print(f"  {m['model']['name']}: worker failed ({m['error']})")


if __name__ == "__main__":
    main()
