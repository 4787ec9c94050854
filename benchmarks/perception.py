"""Measure perception: synthetic accuracy (clean and perturbed), real juice_bottle, speed.

Usage:
    .venv/bin/python benchmarks/perception.py synthetic [--categories juice_bottle]
        [--n-good 20] [--n-logical 20] [--n-train 30] [--seed 0]
        [--perturb blur=0.5 --perturb light=0.5 --perturb view=0.5 ...] [--out FILE.json]
        [--imagenet] [--refs-route annotated|clusters|both]
    .venv/bin/python benchmarks/perception.py real [--data ../shared/data/mvtec_loco_juice_bottle]
        [--refs examples/juice_bottle/refs] [--seed 0] [--overlays DIR] [--out FILE.json]
        [--imagenet]
    .venv/bin/python benchmarks/perception.py speed --category screw_bag [--n 5]

``synthetic`` renders each category's dataset with ``logicode.data.synth`` (into a temporary
folder), fits the default pipeline on 5 ``train/good`` references (chosen to cover the
attribute values) and scores every test image against its ground-truth scene: share of
images whose count of every label is exact, instance mean IoU, label accuracy, attribute
accuracy (:mod:`logicode.perception.evaluate`). Each ``--perturb`` renders the same test
images again with that perturbation (references stay clean). ``--refs-route clusters``
(or ``both``) instead discovers components in the same 5 images without their annotations
(:func:`logicode.perception.discover.discover`), names the clusters by majority pixel
overlap with the ground truth (a simulated user:
:func:`logicode.perception.discovered.name_from_scenes`), fits on the references that
rebuilds and scores the same test images; it also reports the clusters, how many were
named ``ignore`` and how well the rebuilt references match their annotations.

``real`` fits on the hand-made LabelMe references and describes the real evaluation images.
There is no ground-truth scene; the counts each image should have follow from its defect
list (a missing label, icon or juice is absent, every other part appears once), and the
juice and icon kinds come from ``labels.json``. It also reports the fill level and label
positions the scenes make visible, for good images and for each defect.

``speed`` runs in a fresh process: seconds per image (read + describe + scene JSON) and the
process's peak resident memory, for one category's synthetic test images.

Everything prints a JSON report (and writes it with ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from logicode.data.loco import LocoDataset
from logicode.data.synth import generate_dataset
from logicode.data.synth.perturb import parse_perturb
from logicode.perception.attributes import ReferenceAttributes
from logicode.perception.evaluate import score_scene, summarise
from logicode.perception.label import PrototypeLabeler
from logicode.perception.pipeline import Perception
from logicode.perception.refs import load_references
from logicode.perception.segment import ClassicalSegmenter, SegmenterParams
from logicode.spec import load_spec

REPO = Path(__file__).resolve().parent.parent
IMAGENET_HELP = "EfficientNet-Lite0 features in the enum attributes (the vision extra)."
DEFAULT_REAL = REPO.parent / "shared" / "data" / "mvtec_loco_juice_bottle"


def _render(cat: str, root: Path, args: argparse.Namespace, perturb: str | None) -> None:
    generate_dataset(
        cat,
        root,
        n_good=args.n_good,
        n_logical=args.n_logical,
        n_train=args.n_train,
        n_val=0,
        seed=args.seed,
        perturb=parse_perturb(perturb) if perturb else None,
        workers=1,
    )


def _score(perception: Perception, root: Path, vocab: list[str]) -> dict[str, Any]:
    ds = LocoDataset(root)
    scores, seconds, misses = [], [], []
    for item in ds.iter(split="test"):
        image = item.image()
        t0 = time.perf_counter()
        scene = perception.describe(image)
        seconds.append(time.perf_counter() - t0)
        s = score_scene(scene, item.scene(), vocab)
        scores.append(s)
        if not s.counts_exact:
            misses.append({"image": item.rel, "defects": item.defects, "errors": s.count_errors})
    out = summarise(scores)
    out["seconds_per_image"] = round(statistics.mean(seconds), 3) if seconds else None
    out["count_misses"] = misses
    return out


def synthetic(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for cat in args.categories.split(","):
        spec = load_spec(cat)
        with tempfile.TemporaryDirectory(prefix=f"perc_{cat}_") as tmp:
            clean = Path(tmp) / "clean"
            _render(cat, clean, args, None)
            annotated = load_references(clean, spec, max_refs=5)
            routes: dict[str, list[Any]] = {}
            if args.refs_route in ("annotated", "both"):
                routes["annotated"] = annotated
            found: dict[str, Any] = {}
            if args.refs_route in ("clusters", "both"):
                routes["clusters"], found = _discovered(annotated, clean, spec, Path(tmp))
            for route, refs in routes.items():
                perception = Perception(
                    spec, attributes=ReferenceAttributes(imagenet_features=args.imagenet)
                ).fit(refs)
                entry: dict[str, Any] = {
                    "references": [Path(r.source).name for r in annotated],
                    "fit_seconds": round(perception.fit_seconds, 2),
                    **(found if route == "clusters" else {}),
                    "clean": _score(perception, clean, spec.vocabulary),
                }
                for p in args.perturb or []:
                    root = Path(tmp) / p.replace("=", "").replace(",", "_")
                    if not root.is_dir():
                        _render(cat, root, args, p)
                    entry[p] = _score(perception, root, spec.vocabulary)
                if args.refs_route == "annotated":
                    report[cat] = entry
                else:
                    report.setdefault(cat, {})[route] = entry
        print(f"{cat}: done", file=sys.stderr)
        if args.out:  # partial report after each category (long runs)
            _write(args.out, report)
    return report


def _discovered(
    annotated: list[Any], root: Path, spec: Any, tmp: Path
) -> tuple[list[Any], dict[str, Any]]:
    """References of the clusters route: discover on the annotated references' images,
    name by overlap with their ground truth, rebuild (and score the rebuilt references)."""
    from logicode.perception.discover import discover
    from logicode.perception.discovered_naming import name_from_scenes

    images = [root / "train" / "good" / f"{Path(r.source).stem}.png" for r in annotated]
    out = tmp / "discovered"
    t0 = time.perf_counter()
    found = discover(images, spec, out=out)
    seconds = time.perf_counter() - t0
    named = name_from_scenes(out, [r.scene for r in annotated], spec)
    refs = load_references(out, spec)
    ref_scores = [
        score_scene(r.scene, a.scene, spec.vocabulary) for r, a in zip(refs, annotated, strict=True)
    ]
    ref_summary = summarise(ref_scores)
    return refs, {
        "discover_seconds": round(seconds, 2),
        "regions": found.regions,
        "clusters": named["clusters"],
        "clusters_ignored": named["ignored"],
        "cluster_labels": named["labels"],
        "references_vs_annotation": {
            k: ref_summary.get(k) for k in ("counts_exact", "instance_miou", "label_accuracy")
        },
    }


def _write(path: str, report: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


EXPECTED_ABSENT = {
    "missing_top_label": ("top_label", "fruit_icon"),
    "missing_bottom_label": ("bottom_label",),
    "empty_bottle": ("liquid",),
    "missing_fruit_icon": ("fruit_icon",),
}
"""juice_bottle defects that remove parts (benchmark knowledge, not library code)."""


def _expected_counts(defects: list[str], vocab: list[str]) -> dict[str, int]:
    out = dict.fromkeys(vocab, 1)
    for d in defects:
        for lab in EXPECTED_ABSENT.get(d, ()):
            out[lab] = 0
    return out


def _facts(scene: Any) -> dict[str, float | None]:
    """Fill level and label positions, relative to the bottle's box."""

    def first(label: str) -> Any:
        return next((c for c in scene.components if c.label == label), None)

    bottle = first("bottle")
    if bottle is None:
        return {}
    x0, y0, x1, y1 = bottle.bbox
    h = max(y1 - y0, 1.0)
    out: dict[str, float | None] = {}
    liquid = first("liquid")
    out["fill_top"] = round((liquid.bbox[1] - y0) / h, 4) if liquid else None
    for lab in ("top_label", "bottom_label", "fruit_icon"):
        c = first(lab)
        out[f"{lab}_cy"] = round((c.centroid[1] - y0) / h, 4) if c else None
    return out


def _perception(spec: Any, seed: int, imagenet: bool = False) -> Perception:
    """The default pipeline with every stage's random seed set to ``seed``."""
    return Perception(
        spec,
        segmenter=ClassicalSegmenter(SegmenterParams(seed=seed)),
        labeler=PrototypeLabeler(seed=seed),
        attributes=ReferenceAttributes(seed=seed, imagenet_features=imagenet),
    )


def real(args: argparse.Namespace) -> dict[str, Any]:
    from logicode.perception.overlay import save_overlay

    data = Path(args.data)
    if not data.is_dir():
        return {"skipped": f"{data} not found"}
    spec = load_spec("juice_bottle")
    refs = load_references(args.refs, spec)
    perception = _perception(spec, args.seed, args.imagenet).fit(refs)
    ds = LocoDataset(data)
    vocab = spec.vocabulary
    rows = []
    seconds = []
    for item in [*ds.iter(split="validation"), *ds.iter(split="test")]:
        if item.kind == "structural_anomaly":
            continue
        image = item.image()
        t0 = time.perf_counter()
        scene = perception.describe(image)
        seconds.append(time.perf_counter() - t0)
        want = _expected_counts(item.defects, vocab)
        got = scene.counts()
        liquid = next((c for c in scene.components if c.label == "liquid"), None)
        icon = next((c for c in scene.components if c.label == "fruit_icon"), None)
        rows.append(
            {
                "image": item.rel,
                "defects": item.defects,
                "counts_ok": all(got.get(k, 0) == v for k, v in want.items()),
                "wrong": {k: [got.get(k, 0), v] for k, v in want.items() if got.get(k, 0) != v},
                "juice": [
                    liquid.attributes.get("juice") if liquid else None,
                    item.extra.get("juice"),
                ],
                "icon": [
                    icon.attributes.get("kind") if icon else None,
                    item.extra.get("fruit_icon"),
                ],
                **_facts(scene),
            }
        )
        if args.overlays:
            save_overlay(
                image,
                scene,
                Path(args.overlays) / f"{item.split}_{item.folder}_{item.name}.png",
                vocab,
                max_side=640,
            )
    juice = [r["juice"] for r in rows if r["juice"][1] and r["juice"][0]]
    icons = [r["icon"] for r in rows if r["icon"][1] and r["icon"][0]]
    by_defect: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = "+".join(r["defects"]) or "good"
        b = by_defect.setdefault(key, {"images": 0, "counts_ok": 0, "fill_top": []})
        b["images"] += 1
        b["counts_ok"] += int(r["counts_ok"])
        if r.get("fill_top") is not None:
            b["fill_top"].append(r["fill_top"])
    for b in by_defect.values():
        ft = b.pop("fill_top")
        b["fill_top_mean"] = round(statistics.mean(ft), 3) if ft else None
        b["fill_top_range"] = [min(ft), max(ft)] if ft else None
    swapped = [r for r in rows if "swapped_labels" in r["defects"]]
    return {
        "references": [Path(r.source).name for r in refs],
        "seed": args.seed,
        "fit_seconds": round(perception.fit_seconds, 2),
        "images": len(rows),
        "counts_as_expected": round(sum(r["counts_ok"] for r in rows) / len(rows), 4),
        "juice_accuracy": round(sum(a == b for a, b in juice) / len(juice), 4) if juice else None,
        "juice_checked": len(juice),
        "icon_accuracy": round(sum(a == b for a, b in icons) / len(icons), 4) if icons else None,
        "icon_checked": len(icons),
        "swapped_labels_seen": sum(
            1
            for r in swapped
            if r.get("top_label_cy") is not None
            and r.get("bottom_label_cy") is not None
            and r["bottom_label_cy"] < r["top_label_cy"]
        ),
        "swapped_labels_images": len(swapped),
        "seconds_per_image": round(statistics.mean(seconds), 3) if seconds else None,
        "by_defect": by_defect,
        "rows": rows,
    }


def speed(args: argparse.Namespace) -> dict[str, Any]:
    """Seconds per image and peak memory, in this (fresh) process."""
    spec = load_spec(args.category)
    with tempfile.TemporaryDirectory(prefix="perc_speed_") as tmp:
        root = Path(tmp) / "d"
        generate_dataset(
            args.category, root, n_good=args.n, n_logical=0, n_train=5, n_val=0, workers=1
        )
        refs = load_references(root, spec)
        perception = Perception(spec).fit(refs)
        del refs
        times = []
        items = list(LocoDataset(root).iter(split="test"))
        out_dir = Path(tmp) / "scenes"
        for item in items:
            t0 = time.perf_counter()
            scene = perception.describe_file(item.path, scene_dir=out_dir)
            scene.save(out_dir / f"{item.name}.json")
            times.append(time.perf_counter() - t0)
        w, h = items[0].size() if items else (0, 0)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "category": args.category,
        "image_size": [w, h],
        "images": len(times),
        "seconds_per_image": round(statistics.mean(times), 3) if times else None,
        "seconds_max": round(max(times), 3) if times else None,
        "fit_seconds": round(perception.fit_seconds, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "cpu_count": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("synthetic")
    s.add_argument("--categories", default="juice_bottle")
    s.add_argument("--n-good", type=int, default=20)
    s.add_argument("--n-logical", type=int, default=20)
    s.add_argument("--n-train", type=int, default=30)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--perturb", action="append")
    s.add_argument("--out")
    s.add_argument("--imagenet", action="store_true", help=IMAGENET_HELP)
    s.add_argument(
        "--refs-route",
        choices=("annotated", "clusters", "both"),
        default="annotated",
        help="References from the annotations (default), from discovered clusters named "
        "by overlap with the ground truth, or both side by side.",
    )
    r = sub.add_parser("real")
    r.add_argument("--data", default=os.environ.get("LOGICODE_JUICE_BOTTLE", str(DEFAULT_REAL)))
    r.add_argument("--refs", default=str(REPO / "examples" / "juice_bottle" / "refs"))
    r.add_argument("--seed", type=int, default=0, help="Random seed of every stage.")
    r.add_argument("--overlays")
    r.add_argument("--imagenet", action="store_true", help=IMAGENET_HELP)
    r.add_argument("--out")
    p = sub.add_parser("speed")
    p.add_argument("--category", default="screw_bag")
    p.add_argument("--n", type=int, default=5)
    p.add_argument("--out")
    p.add_argument("--subprocess", action="store_true", help="Run in a fresh process.")
    args = ap.parse_args()
    if args.cmd == "speed" and args.subprocess:
        cmd = [sys.executable, __file__, "speed", "--category", args.category, "--n", str(args.n)]
        report = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    else:
        report = {"synthetic": synthetic, "real": real, "speed": speed}[args.cmd](args)
    if args.out:
        _write(args.out, report)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
