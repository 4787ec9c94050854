"""Shared builders for the explain tests (imported by name: tests/explain is on sys.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from logicode.bench.records import RuleOutcome, Violation
from logicode.explain import ExplainRequest
from logicode.spec import CategorySpec, load_spec

SPEC: CategorySpec = load_spec("juice_bottle")


def component(cid: str, label: str, bbox: list[float], **extra: Any) -> dict[str, Any]:
    x0, y0, x1, y1 = bbox
    return {
        "id": cid,
        "label": label,
        "score": extra.pop("score", 1.0),
        "bbox": bbox,
        "area": (x1 - x0) * (y1 - y0),
        "centroid": [(x0 + x1) / 2, (y0 + y1) / 2],
        "orientation": extra.pop("orientation", 0.0),
        "color": extra.pop("color", None),
        "attributes": extra.pop("attributes", {}),
        "mask": None,
    }


def scene(*, top_label: bool = True) -> dict[str, Any]:
    comps = [
        component(
            "c0",
            "bottle",
            [205.4, 120.2, 599.0, 1487.0],
            orientation=-89.96,
            color={"rgb": [180, 150, 60], "name": "yellow"},
        ),
        component(
            "c1",
            "liquid",
            [215.0, 380.0, 589.0, 1453.0],
            orientation=89.9,
            attributes={"juice": "orange"},
        ),
        component(
            "c3",
            "fruit_icon",
            [356.0, 780.0, 452.0, 880.0],
            score=0.8734,
            attributes={"kind": "orange"},
        ),
        component("c4", "bottom_label", [281.0, 1217.0, 527.0, 1334.0]),
    ]
    if top_label:
        comps.insert(2, component("c2", "top_label", [280.0, 701.0, 528.0, 949.0]))
    return {
        "schema_version": "1.0",
        "image": {"path": "q.png", "width": 800, "height": 1600},
        "category": "juice_bottle",
        "components": comps,
        # ground truth must never reach a model
        "label": {"kind": "logical_anomaly", "defects": ["SECRET_DEFECT"], "reason": "SECRET"},
        "meta": {},
    }


def outcomes(failed: dict[str, list[str]] | None = None) -> list[RuleOutcome]:
    """Every spec rule passes except those in ``failed`` (rule id -> violation messages)."""
    failed = failed or {}
    out = []
    for r in SPEC.rules:
        if r.id in failed:
            vs = [Violation(message=m, evidence=["c0"]) for m in failed[r.id]]
            out.append(RuleOutcome(rule=r.id, status="fail", violations=vs))
        else:
            out.append(RuleOutcome(rule=r.id, status="pass"))
    return out


def request(failed: dict[str, list[str]] | None = None, **kw: Any) -> ExplainRequest:
    return ExplainRequest(
        spec=SPEC, scene=scene(top_label=not failed), outcomes=outcomes(failed), **kw
    )


def write_image(path: Path, w: int = 800, h: int = 1600, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path
