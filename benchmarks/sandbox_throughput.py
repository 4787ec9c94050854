"""Throughput of the rule sandbox against the unsafe and the naive baselines.

A typical 5-rule pack (counts, positions, colour comparisons) runs over N synthetic scenes:

* raw: ``exec`` of the rules in this process, one ``wrap_scene`` per scene (unsafe baseline);
* process per call: a fresh sandboxed worker for each rule evaluation (naive safe baseline,
  measured on a sample and extrapolated);
* pool: :class:`sandbox.SandboxPool`, warm, all scenes in one ``evaluate`` call.

It prints rule evaluations per second of each, the ratio pool / raw, the speed-up over one
process per call, and the time to the first result of a cold pool. Raw and pool are run on
scene dicts (the pool must serialise them, raw need not) and on scene JSON text (raw must
decode it, the pool passes it through), the two ways scenes reach the product.

Usage:
    .venv/bin/python benchmarks/sandbox_throughput.py [--scenes 10000] [--sample 200]
        [--workers N] [--api logicode.ruleapi|sandbox.demo_api]
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import statistics
import string
import sys
import time
from typing import Any

from sandbox import Limits, SandboxPool, run_rules

RULES = {
    "one_cap": """
def check(scene):
    caps = scene.find("cap")
    if len(caps) != 1:
        return [violation(f"expected 1 cap, found {len(caps)}", *caps)]
    return []
""",
    "screws_match_nuts": """
def check(scene):
    screws = scene.count("screw")
    nuts = scene.count("nut")
    if screws != nuts:
        return [violation(f"{screws} screws but {nuts} nuts", *scene.find("screw", "nut"))]
    return []
""",
    "cap_above_label": """
def check(scene):
    cap = scene.one("cap")
    label = scene.one("label")
    if cap is None or label is None:
        return []
    if not above(cap, label):
        return [violation("the cap must be above the label", cap, label)]
    return []
""",
    "nuts_in_lower_half": """
def check(scene):
    out = []
    for nut in scene.find("nut"):
        if nut.y < scene.height / 2:
            out.append(violation(f"nut {nut.id} is in the upper half", nut))
    return out
""",
    "screws_same_colour": """
def check(scene):
    screws = scene.find("screw")
    colours = sorted({s.color for s in screws if s.color})
    if len(colours) > 1:
        return [violation("screws differ in colour: " + ", ".join(colours), *screws)]
    cap = scene.one("cap")
    if cap is not None and cap.color not in ("red", "orange"):
        return [violation(f"the cap is {cap.color}, expected red", cap)]
    return []
""",
}

COLOURS = {"red": (200, 30, 30), "orange": (230, 140, 20), "gray": (128, 128, 128)}
RLE_ALPHABET = string.ascii_letters + string.digits + "[]\\^_`"


def make_scene(rng: random.Random, i: int) -> dict[str, Any]:
    """A synthetic scene in the logicode format (RLE strings of realistic length)."""
    w, h = 800, 600
    comps = []
    labels = ["cap", "label"] + ["screw"] * rng.randint(1, 3) + ["nut"] * rng.randint(1, 3)
    if rng.random() < 0.1:
        labels.append("cap")
    for k, label in enumerate(labels):
        x0, y0 = rng.uniform(0, w - 60), rng.uniform(0, h - 60)
        bw, bh = rng.uniform(10, 60), rng.uniform(10, 60)
        name = rng.choice(list(COLOURS)) if label in ("cap", "screw") else "gray"
        comps.append(
            {
                "id": f"c{k}",
                "label": label,
                "score": 1.0,
                "bbox": [x0, y0, x0 + bw, y0 + bh],
                "mask": {
                    "size": [h, w],
                    "counts": "".join(rng.choices(RLE_ALPHABET, k=rng.randint(150, 400))),
                },
                "area": bw * bh * 0.8,
                "centroid": [x0 + bw / 2, y0 + bh / 2],
                "orientation": rng.uniform(-90, 89),
                "color": {"rgb": list(COLOURS[name]), "name": name},
                "attributes": {},
            }
        )
    return {
        "schema_version": "1.0",
        "image": {"path": f"img/{i:05d}.png", "width": w, "height": h, "sha256": None},
        "category": "bench",
        "components": comps,
        "label": None,
        "meta": {},
    }


def bench_raw(api_name: str, scenes: list[Any]) -> float:
    """Rule evaluations per second of plain exec in this process (unsafe).

    Scenes given as JSON text are decoded here, as they would be in an in-process evaluator.
    """
    api = importlib.import_module(api_name)
    checks = []
    for source in RULES.values():
        env = {name: getattr(api, name) for name in api.__all__}
        exec(compile(source, "<rule>", "exec"), env)
        checks.append(env["check"])
    t = time.perf_counter()
    for data in scenes:
        scene = api.wrap_scene(json.loads(data) if isinstance(data, str) else data)
        for check in checks:
            check(scene)
    return len(scenes) * len(checks) / (time.perf_counter() - t)


def bench_process_per_call(api_name: str, scenes: list[dict[str, Any]], sample: int) -> float:
    """Rule evaluations per second with a fresh sandboxed worker per evaluation."""
    items = list(RULES.items())
    t = time.perf_counter()
    for k in range(sample):
        rule_id, source = items[k % len(items)]
        run_rules({rule_id: source}, [scenes[k % len(scenes)]], api_module=api_name, workers=1)
    return sample / (time.perf_counter() - t)


def bench_pool(
    api_name: str, inputs: list[list[Any]], workers: int | None
) -> tuple[list[float], float, int]:
    """(evaluations/s for each input list, seconds to the first result of a cold pool, workers)."""
    t0 = time.perf_counter()
    with SandboxPool(api_module=api_name, workers=workers, limits=Limits()) as pool:
        pack = pool.load_pack(RULES)
        first = pool.evaluate(pack, inputs[0][:1])
        cold = time.perf_counter() - t0
        assert set(first[0]) == set(RULES)
        pool.worker_info()  # every worker ready: measure the warm pool
        pool.evaluate(pack, inputs[0][:50])
        rates = []
        for scenes in inputs:
            t = time.perf_counter()
            results = pool.evaluate(pack, scenes)
            rates.append(len(scenes) * len(RULES) / (time.perf_counter() - t))
            errors = [r for res in results for r in res.values() if r["status"] == "error"]
            if errors:
                raise SystemExit(f"unexpected rule errors in the pool run: {errors[:3]}")
        return rates, cold, pool.size


def main(argv: list[str] | None = None) -> None:
    """Run the measurements and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--api", default=None, help="API module (default logicode.ruleapi)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (best is kept)")
    args = parser.parse_args(argv)
    api_name = args.api
    if api_name is None:
        try:
            importlib.import_module("logicode.ruleapi")
            api_name = "logicode.ruleapi"
        except ImportError:
            api_name = "sandbox.demo_api"
    rng = random.Random(0)
    dicts = [make_scene(rng, i) for i in range(args.scenes)]
    texts = [json.dumps(s) for s in dicts]
    size = sum(len(t) for t in texts) / len(texts)
    shared = getattr(importlib.import_module(api_name), "SCENE_IS_IMMUTABLE", False) is True
    print(
        f"api {api_name} ({'one wrap_scene per scene' if shared else 'wrap_scene per rule'}); "
        f"{args.scenes} scenes (~{size / 1024:.1f} KiB JSON each) x {len(RULES)} rules"
    )
    raw_dict = max(bench_raw(api_name, dicts) for _ in range(args.repeat))
    raw_text = max(bench_raw(api_name, texts) for _ in range(args.repeat))
    per_call = bench_process_per_call(api_name, dicts, args.sample)
    runs = [bench_pool(api_name, [dicts, texts], args.workers) for _ in range(args.repeat)]
    pool_dict = max(r[0][0] for r in runs)
    pool_text = max(r[0][1] for r in runs)
    cold = statistics.median(r[1] for r in runs)
    workers = runs[0][2]
    print(f"{'':34}{'scene dicts':>14}{'JSON text':>14}")
    print(f"{'raw in-process exec (unsafe)':34}{raw_dict:14.0f}{raw_text:14.0f}  evaluations/s")
    print(
        f"{f'sandbox pool, {workers} workers':34}{pool_dict:14.0f}{pool_text:14.0f}  evaluations/s"
    )
    ratios = f"{pool_dict / raw_dict:14.2f}{pool_text / raw_text:14.2f}"
    print(f"{'ratio pool / raw (goal >= 0.33)':34}{ratios}")
    print(
        f"one process per call (sample {args.sample}): {per_call:.1f} evaluations/s; "
        f"pool is {pool_dict / per_call:.0f}x faster (goal >= 50x)"
    )
    print(f"cold pool, time to first result: {cold:.3f} s (goal < 0.5 s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
