"""Turn the rules compiled by ``benchmarks/codegen.py`` into rule packs for LogiBench.

The code-generation benchmark compiles every rule of every category and keeps each rule's
code and validation status in its JSON report. This script writes them as one rule pack per
model and category (``OUT/<model>/<category>/``), so that ``logicode bench --rules
OUT/<model>`` evaluates exactly the rules that benchmark compiled, without compiling again.
Rules that failed validation are kept as ``failed`` entries (they never run).

Usage:
    .venv/bin/python benchmarks/codegen_packs.py /tmp/cg2/codegen_all_15b.json --out /tmp/packs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from logicode.codegen.compiler import TEMPLATES
from logicode.codegen.pack import PackManifest, RuleEntry, RulePack, code_sha256
from logicode.prompts import load_template
from logicode.spec import load_spec, spec_sha256


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path, help="JSON written by benchmarks/codegen.py --out")
    ap.add_argument("--out", type=Path, required=True, help="Folder for the packs")
    args = ap.parse_args()
    data = json.loads(args.report.read_text())
    for run in data["models"]:
        model = run["model"]
        by_cat: dict[str, list[dict]] = {}
        for row in run["rows"]:
            by_cat.setdefault(row["category"], []).append(row)
        for category, rows in by_cat.items():
            spec = load_spec(category)
            entries, code = [], {}
            for row in rows:
                rule = spec.rule(row["rule"])
                ok = row["status"] == "ok" and row.get("code")
                entries.append(
                    RuleEntry(
                        id=rule.id,
                        text=rule.text,
                        guards=rule.guards,
                        status="ok" if ok else "failed",
                        reason="" if ok else (row.get("reason") or "failed")[:500],
                        code_sha256=code_sha256(row["code"]) if ok else None,
                        rounds=row.get("rounds", 0),
                        candidates=row.get("candidates", 0),
                        seconds=row.get("seconds", 0.0),
                        validation={"source": str(args.report)},
                    )
                )
                if ok:
                    code[rule.id] = row["code"]
            manifest = PackManifest(
                category=category,
                spec_sha256=spec_sha256(category),
                model=model,
                prompts={name: load_template(name).sha256 for name in TEMPLATES},
                settings=run.get("settings", {}),
                rules=entries,
            )
            folder = args.out / model["name"] / category
            RulePack(manifest, code).save(folder)
            print(f"{folder}: {len(code)}/{len(entries)} rules with code")


if __name__ == "__main__":
    main()
