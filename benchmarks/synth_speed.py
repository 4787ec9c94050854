"""Time synthetic dataset generation: seconds per category for N images (default 100).

Usage:
    .venv/bin/python benchmarks/synth_speed.py [--categories juice_bottle,pushpins] [--n 100]
        [--workers 2] [--perturb blur=0.3,light=0.3,view=0.2]

Columns: wall seconds, seconds per image, CPU seconds (this process plus its workers; a
figure that a busy shared machine disturbs less than wall time).

Images are split 25 % train, 10 % validation, 25 % good test, 40 % logical anomalies, at each
category's nominal image size; output goes to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from logicode.data.synth import available_categories, generate_dataset


def split_counts(n: int) -> dict[str, int]:
    n_train, n_val, n_good = n * 25 // 100, n * 10 // 100, n * 25 // 100
    return {
        "n_train": n_train,
        "n_val": n_val,
        "n_good": n_good,
        "n_logical": n - n_train - n_val - n_good,
    }


def _cpu_seconds() -> float:
    """CPU seconds of this process plus its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", default="all", help="comma list or 'all'")
    parser.add_argument("--n", type=int, default=100, help="images per category")
    parser.add_argument("--workers", type=int, default=None, help="default min(2, cpus)")
    parser.add_argument("--perturb", default=None, help="e.g. blur=0.3,light=0.3,view=0.2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cats = available_categories() if args.categories == "all" else args.categories.split(",")
    print(f"# cpus={os.cpu_count()} workers={args.workers or 'auto'} n={args.n}")
    print(f"{'category':<22}{'images':>8}{'seconds':>10}{'s/image':>10}{'cpu_s':>10}")
    for cat in cats:
        with tempfile.TemporaryDirectory(prefix="synth_speed_") as tmp:
            start = time.perf_counter()
            cpu0 = _cpu_seconds()
            summary = generate_dataset(
                cat,
                Path(tmp) / cat,
                seed=args.seed,
                perturb=args.perturb,
                workers=args.workers,
                **split_counts(args.n),
            )
            seconds = time.perf_counter() - start
            cpu = _cpu_seconds() - cpu0
        n = sum(summary["counts"].values())
        print(
            f"{cat:<22}{n:>8}{seconds:>10.1f}{seconds / max(n, 1):>10.3f}{cpu:>10.1f}", flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
