"""Measure the precision of perceived number attributes against the ground truth.

Usage:
    .venv/bin/python benchmarks/perception_attributes.py [--category screw_bag]
        [--data DIR] [--scenes DIR] [--n-good 20] [--n-logical 40] [--n-train 30]
        [--seed 0] [--ratio screw.length/washer.diameter] [--out FILE.json]

The synthetic dataset is rendered like ``logicode bench --dataset synth:<category>`` does
(same counts and seed; into ``--data`` when given and reused when it is complete, else a
temporary folder). The test images are perceived with the bench's pipeline (fitted on the
same 5 references), unless ``--scenes`` names a folder of perceived scenes already made
(``<bench out>/scenes/<category>``, laid out like the dataset's ``scenes``).

Perceived components are paired with ground-truth ones of the same label by mask IoU
(greedy, IoU >= 0.3). For every ``label.attribute`` of type number the report gives the
relative error ``(perceived - truth) / truth``: mean, mean of its absolute value, p95 and
max of the absolute value, and the worst images. ``--ratio A/B`` (e.g.
``screw.length/washer.diameter``) also compares, per image, each ``A`` divided by the mean
``B`` of the image with the same ratio in the ground truth (what the spec's rules check).

Prints a JSON report (and writes it with ``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from logicode.bench.runner import BenchConfig, Target, build_perception, ensure_synth
from logicode.data.loco import LocoDataset
from logicode.perception.evaluate import component_mask, iou_matrix
from logicode.scene import Scene, load_scene
from logicode.spec import load_spec

MIN_IOU = 0.3


def pairs(pred: Scene, truth: Scene, label: str) -> list[tuple[Any, Any]]:
    """Greedy IoU pairs ``(perceived, truth)`` of the components with ``label``."""
    shape = (truth.image.height, truth.image.width)
    p = [c for c in pred.components if c.label == label]
    t = [c for c in truth.components if c.label == label]
    if not p or not t:
        return []
    iou = iou_matrix([component_mask(c, shape) for c in p], [component_mask(c, shape) for c in t])
    out = []
    while iou.size and iou.max() >= MIN_IOU:
        i, j = np.unravel_index(int(np.argmax(iou)), iou.shape)
        out.append((p[i], t[j]))
        iou[i, :] = -1
        iou[:, j] = -1
    return out


def _stats(errs: list[float]) -> dict[str, Any]:
    if not errs:
        return {"n": 0}
    a = np.asarray(errs)
    return {
        "n": len(errs),
        "mean": round(float(a.mean()), 4),
        "mean_abs": round(float(np.abs(a).mean()), 4),
        "p95_abs": round(float(np.percentile(np.abs(a), 95)), 4),
        "max_abs": round(float(np.abs(a).max()), 4),
    }


def measure(
    items: list[tuple[str, Scene, Scene]], numbers: list[tuple[str, str]], ratio: str | None
) -> dict[str, Any]:
    """Relative errors of ``numbers`` (and of ``ratio``) over ``(name, pred, truth)``."""
    errs: dict[str, list[tuple[float, str]]] = {f"{lab}.{a}": [] for lab, a in numbers}
    ratio_errs: list[tuple[float, str]] = []
    ratio_rows: list[dict[str, Any]] = []
    for name, pred, truth in items:
        for lab, att in numbers:
            for p, t in pairs(pred, truth, lab):
                pv, tv = p.attributes.get(att), t.attributes.get(att)
                if isinstance(pv, int | float) and isinstance(tv, int | float) and tv:
                    errs[f"{lab}.{att}"].append(((pv - tv) / tv, name))
        if ratio:
            (la, aa), (lb, ab) = (s.split(".") for s in ratio.split("/"))
            pb = [c.attributes.get(ab) for c in pred.components if c.label == lb]
            tb = [c.attributes.get(ab) for c in truth.components if c.label == lb]
            pb = [v for v in pb if isinstance(v, int | float)]
            tb = [v for v in tb if isinstance(v, int | float)]
            if not pb or not tb:
                continue
            for p, t in pairs(pred, truth, la):
                pv, tv = p.attributes.get(aa), t.attributes.get(aa)
                if not isinstance(pv, int | float) or not isinstance(tv, int | float):
                    continue
                rp, rt = pv / float(np.mean(pb)), tv / float(np.mean(tb))
                ratio_errs.append(((rp - rt) / rt, name))
                ratio_rows.append({"image": name, "perceived": round(rp, 3), "truth": round(rt, 3)})
    report: dict[str, Any] = {}
    for key, vals in errs.items():
        entry = _stats([e for e, _ in vals])
        worst = sorted(vals, key=lambda v: -abs(v[0]))[:5]
        entry["worst"] = [[n, round(e, 3)] for e, n in worst]
        report[key] = entry
    if ratio:
        entry = _stats([e for e, _ in ratio_errs])
        worst = sorted(zip(ratio_errs, ratio_rows, strict=True), key=lambda v: -abs(v[0][0]))[:8]
        entry["worst"] = [row for _, row in worst]
        report[ratio] = entry
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--category", default="screw_bag")
    ap.add_argument("--data", help="dataset folder (rendered there when absent)")
    ap.add_argument("--scenes", help="folder of perceived scenes (skips perception)")
    ap.add_argument("--n-good", type=int, default=20)
    ap.add_argument("--n-logical", type=int, default=40)
    ap.add_argument("--n-train", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ratio", default="screw.length/washer.diameter")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    spec = load_spec(args.category)
    numbers = [
        (c.label, a.name) for c in spec.components for a in c.attributes if a.type == "number"
    ]
    with tempfile.TemporaryDirectory(prefix="perc_attr_") as tmp:
        root = Path(args.data) if args.data else Path(tmp) / args.category
        cfg = BenchConfig(
            dataset=f"synth:{args.category}",
            out=Path(tmp),
            scenes="perceived",
            n_good=args.n_good,
            n_logical=args.n_logical,
            n_train=args.n_train,
            seed=args.seed,
        )
        target = Target(args.category, root, True)
        ensure_synth(target, cfg, None)
        pipeline = None if args.scenes else build_perception(target, spec, cfg)
        items: list[tuple[str, Scene, Scene]] = []
        groups: dict[str, list[tuple[str, Scene, Scene]]] = {"good": [], "logical_anomaly": []}
        for it in LocoDataset(root).iter(split="test"):
            if it.kind not in groups or it.scene_path is None:
                continue
            name = it.rel
            truth = load_scene(it.scene_path)
            if pipeline is None:
                rel = Path(it.scene_path).relative_to(root / "scenes")
                pred = load_scene(Path(args.scenes) / rel)
            else:
                pred = pipeline.describe(it.image())
            entry = (name, pred, truth)
            items.append(entry)
            groups[it.kind].append(entry)
    report = {
        "category": args.category,
        "all": measure(items, numbers, args.ratio),
        "good": measure(groups["good"], numbers, args.ratio),
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print("done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
