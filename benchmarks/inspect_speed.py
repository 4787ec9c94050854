"""Seconds per image of ``logicode inspect`` end to end, with the default front end and a pack.

Issue 7 goal: <= 1.5 s per image on 2 cores with the default (classical) perception and a
compiled rule pack. The benchmark runs the real command path (:func:`run_inspect_command`:
references loaded, perception fitted, sandbox pool started, every image perceived, judged,
recorded and chained into the audit log) in a fresh process and reports:

* ``per_image_s``: mean wall seconds per image inside the run (``timings.total``), with the
  per-stage means (perception, rules, explain);
* ``setup_s``: everything before the first image (spec, references, perception fit, pool);
* ``wall_per_image_s``: the whole command's wall time divided by the number of images;
* ``peak_rss_mb``: the process's peak resident memory.

Usage:
    .venv/bin/python benchmarks/inspect_speed.py --rules PACK [--images DIR] [--refs DIR]
        [--category juice_bottle] [--n 20] [--explain template] [--out FILE.json]

Without ``--images`` a synthetic test set of the pack's category is rendered first (not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from logicode.commands.inspect import run_inspect_command
from logicode.data.synth import generate_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=Path, required=True, help="A compiled rule pack folder.")
    ap.add_argument("--images", type=Path, help="Images to inspect (default: synthetic).")
    ap.add_argument("--refs", type=Path, help="References (default: the synthetic set).")
    ap.add_argument("--category", default=None, help="Category (default: the pack's).")
    ap.add_argument("--n", type=int, default=20, help="Synthetic test images.")
    ap.add_argument("--explain", default=None, help="Explain backend (default: none).")
    ap.add_argument("--out", type=Path, help="Write the JSON report here too.")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="inspect_speed_"))
    from logicode.codegen.pack import RulePack

    category = args.category or RulePack.load(args.rules).manifest.category
    images, refs = args.images, args.refs
    if images is None:
        data = work / "data"
        generate_dataset(
            category,
            data,
            n_good=args.n // 2,
            n_logical=args.n - args.n // 2,
            n_train=10,
            n_val=0,
            seed=11,
            workers=1,
        )
        images, refs = data / "test", refs or data
    t0 = time.perf_counter()
    records, _ = run_inspect_command(
        [images],
        rules=args.rules,
        refs=refs,
        out=work / "run",
        recursive=True,
        explain=args.explain is not None,
        explain_backend=args.explain or "template",
    )
    wall = time.perf_counter() - t0
    done = [r for r in records if r.verdict != "error"]
    setup = round(wall - sum(r.timings.get("total", 0.0) for r in records), 2)

    def mean(stage: str) -> float | None:
        vals = [r.timings[stage] for r in done if stage in r.timings]
        return round(statistics.fmean(vals), 4) if vals else None

    report = {
        "category": category,
        "images": len(records),
        "errors": len(records) - len(done),
        "per_image_s": mean("total"),
        "perception_s": mean("perception"),
        "rules_s": mean("rules"),
        "explain_s": mean("explain"),
        "setup_s": setup,
        "wall_s": round(wall, 2),
        "wall_per_image_s": round(wall / max(1, len(records)), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": list(os.getloadavg()),
        "cpu_count": os.cpu_count(),
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
