"""Speed of the embedded llama.cpp backend: load time, prompt and generation tokens/s, peak RSS,
and what prompt-cache reuse saves when several requests share one long prefix (the compiler's
case: one system prompt with the scene API docs, then one rule after another).

Each model runs in its own subprocess so that its peak RSS is its own.

Usage:
    .venv/bin/python benchmarks/llm_speed.py                      # both models, all cores
    .venv/bin/python benchmarks/llm_speed.py --models qwen2.5-coder-0.5b --threads 2 --out x.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_MODELS = ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]


def api_docs_prefix(n_functions: int = 12) -> str:
    """A system prompt shaped like the compiler's (API docs with examples), ~700 tokens."""
    lines = [
        "You write Python rule functions that check a scene of detected components.",
        "Use only the API below. Return a list of violations (empty when the rule holds).",
        "",
    ]
    for i in range(n_functions):
        lines.append(
            f"def helper_{i}(scene, label: str, k: int = {i}) -> list:\n"
            f'    """Return components labelled `label` ranked by feature {i}; '
            f"e.g. helper_{i}(scene, 'cap')[0].x > 10."
            '"""'
        )
    return "\n".join(lines)


RULES = [
    "Every bottle has exactly one label.",
    "The cap is above the label.",
    "There are two pushpins in each compartment.",
    "The orange juice label is orange.",
    "No screw is longer than the reference screw.",
    "Exactly three connectors are visible.",
]


def worker(model: str, threads: int, poll: int, rules: int, gen_tokens: int) -> dict[str, Any]:
    """Measure one model in this process; return the figures."""
    from logicode.llm.embedded import EmbeddedChatModel
    from logicode.llm.store import resolve_model

    t0 = time.perf_counter()
    mf = resolve_model(model)
    resolve_s = time.perf_counter() - t0
    chat = EmbeddedChatModel(model=model, n_ctx=4096, threads=threads, poll=poll)
    loaded = chat.loaded()
    t0 = time.perf_counter()
    chat.invoke("hi", max_tokens=1)
    first_request_s = time.perf_counter() - t0
    prefix = api_docs_prefix()

    def run(user: str, max_tokens: int, cache: bool) -> tuple[float, dict[str, Any]]:
        t = time.perf_counter()
        msg = chat.invoke(
            [("system", prefix), ("human", user)],
            max_tokens=max_tokens,
            cache_prompt=cache,
            ignore_eos=True,  # fixed reply length: comparable timings
        )
        return time.perf_counter() - t, msg.response_metadata["timings"]

    _, tp = run("Write the rule: " + RULES[0], 1, cache=False)
    _, tg = run("Write a Python function that sorts components by area.", gen_tokens, cache=False)

    def rule_series(cache: bool) -> dict[str, float]:
        walls, cached, prompt = [], [], []
        for i in range(rules):
            wall, tm = run(f"Write the rule: {RULES[i % len(RULES)]} (v{i})", 16, cache)
            walls.append(wall)
            cached.append(tm["cache_n"])
            prompt.append(tm["prompt_n"] + tm["cache_n"])
        return {
            "mean_s_per_request": statistics.mean(walls),
            "first_s": walls[0],
            "rest_mean_s": statistics.mean(walls[1:]) if len(walls) > 1 else walls[0],
            "mean_cached_tokens": statistics.mean(cached),
            "prompt_tokens": statistics.mean(prompt),
        }

    no_cache = rule_series(cache=False)
    with_cache = rule_series(cache=True)
    return {
        "model": model,
        "sha256": mf.sha256,
        "size_mb": mf.size / 1e6,
        "threads": loaded.params.threads,
        "poll": poll,
        "resolve_s": resolve_s,
        "load_s": loaded.load_seconds,
        "first_request_s": first_request_s,
        "prompt_tokens": tp["prompt_n"],
        "prompt_tok_per_s": tp["prompt_per_second"],
        "gen_tokens": tg["predicted_n"],
        "gen_tok_per_s": tg["predicted_per_second"],
        "rules_no_cache": no_cache,
        "rules_with_cache": with_cache,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def table(results: list[dict[str, Any]]) -> str:
    """Markdown table of the figures."""
    head = (
        "| model | load s | prompt tok/s | gen tok/s | s/rule no cache | s/rule cache "
        "| cached tok | peak RSS MB |\n|---|---|---|---|---|---|---|---|"
    )
    rows = [head]
    for r in results:
        if "error" in r:
            rows.append(f"| {r['model']} | error: {r['error']} |")
            continue
        nc, wc = r["rules_no_cache"], r["rules_with_cache"]
        rows.append(
            f"| {r['model']} | {r['load_s']:.1f} | {r['prompt_tok_per_s']:.0f} "
            f"| {r['gen_tok_per_s']:.1f} | {nc['rest_mean_s']:.1f} | {wc['rest_mean_s']:.1f} "
            f"| {wc['mean_cached_tokens']:.0f}/{wc['prompt_tokens']:.0f} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    ap.add_argument("--threads", type=int, default=0, help="0 = all usable cores")
    ap.add_argument("--poll", type=int, default=0, help="llama.cpp spin-wait level 0-100")
    ap.add_argument("--rules", type=int, default=4, help="requests sharing one prefix")
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--out", type=Path, help="also write the JSON results here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        res = worker(args.worker, args.threads, args.poll, args.rules, args.gen_tokens)
        print(json.dumps(res))
        return
    results = []
    for model in args.models:
        cmd = [sys.executable, __file__, "--worker", model, "--threads", str(args.threads)]
        cmd += ["--poll", str(args.poll), "--rules", str(args.rules)]
        cmd += ["--gen-tokens", str(args.gen_tokens)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            err = (proc.stderr.strip().splitlines() or ["?"])[-1]
            results.append({"model": model, "error": err})
        else:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1], indent=1), file=sys.stderr)
    info = {"machine": platform.machine(), "processor": platform.processor(), "results": results}
    if args.out:
        args.out.write_text(json.dumps(info, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
