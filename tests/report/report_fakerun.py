"""A small fake inspection run folder for the report tests (three images, a tiny pack)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from logicode.bench.records import RuleOutcome, Violation
from logicode.codegen.pack import PackManifest, RuleEntry, RulePack, code_sha256
from logicode.inspection.record import (
    AUDIT_FILE,
    MANIFEST_FILE,
    Evidence,
    Explanation,
    ImageRef,
    InspectionRecord,
    RunManifest,
    append_result,
)
from logicode.measure import component_from_mask
from logicode.scene import ImageInfo, Scene

CATEGORY = "widget"
H, W = 240, 320
SCRIPT = "<script>alert('x')</script>"
CAP_RGB = (20, 60, 230)
CODE = {
    "r_count": "def check(scene):\n    n = len(scene.objects('label'))\n"
    "    return [] if n < 2 else ['too many']\n",
    "r_cap": "def check(scene):\n    return []\n",
}
TEXT = {
    "r_count": "There is exactly one label & one cap.",
    "r_cap": "The cap sits above the label.",
    "r_color": "The cap is blue.",
}
AUDIT_HASHES = ("a" * 64, "b" * 64)
RUN_ID = "run-2026-11-28-0001"


def _picture(cap_y: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    img = np.full((H, W, 3), 200, np.uint8)
    img[:, :, 1] = np.linspace(170, 215, W, dtype=np.uint8)[None, :]
    cap = np.zeros((H, W), bool)
    cap[cap_y : cap_y + 50, 120:200] = True
    yy, xx = np.mgrid[:H, :W]
    label = (yy - 170) ** 2 + (xx - 160) ** 2 < 35**2
    img[cap] = CAP_RGB
    img[label] = (230, 200, 30)
    return img, cap, label


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_pack(folder: Path) -> Path:
    """Two ok rules and one that failed to compile."""
    manifest = PackManifest(
        category=CATEGORY,
        spec_sha256="5" * 64,
        model={"name": "qwen-test", "sha256": "6" * 64},
        prompts={"codegen": "7" * 64, "repair": "8" * 64},
        rules=[
            RuleEntry(id="r_count", text=TEXT["r_count"], status="ok", guards=["missing_label"]),
            RuleEntry(id="r_cap", text=TEXT["r_cap"], status="ok"),
            RuleEntry(
                id="r_color",
                text=TEXT["r_color"],
                status="failed",
                reason="no candidate passed the reference scenes",
            ),
        ],
    )
    return RulePack(manifest, dict(CODE)).save(folder)


def make_run(tmp_path: Path, *, audit: bool = True) -> Path:
    """Write ``tmp_path/run`` (run.json, results.jsonl, scenes, audit.jsonl) and its inputs."""
    pack_dir = make_pack(tmp_path / "pack")
    pack = RulePack.load(pack_dir)
    run = tmp_path / "run"
    (run / "scenes").mkdir(parents=True)
    images = tmp_path / "images"
    images.mkdir()
    extra = {}
    if "run_id" in RunManifest.model_fields:  # the lead's model adds these fields
        extra["run_id"] = RUN_ID
    if audit and "audit" in RunManifest.model_fields:
        extra["audit"] = {"path": AUDIT_FILE, "head": AUDIT_HASHES[-1], "count": 2}
    manifest = RunManifest(
        **extra,
        created="2026-11-28T10:00:00+00:00",
        category=CATEGORY,
        spec_sha256="5" * 64,
        pack={
            "path": str(pack_dir),
            "sha256": "9" * 64,
            "model": pack.manifest.model,
            "prompts": pack.manifest.prompts,
            "rules": [
                {
                    "id": r.id,
                    "text": r.text,
                    "status": r.status,
                    "guards": r.guards,
                    "code_sha256": r.code_sha256,
                    "reason": r.reason,
                }
                for r in pack.manifest.rules
            ],
        },
        perception={"stages": ["segment", "label"]},
        explain={"backend": "template"},
        settings={"workers": 1},
    )
    (run / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=1))

    records = []
    for name, cap_y, outcome in (
        ("good.png", 40, "good"),
        ("bad.png", 150, "anomaly"),
    ):
        img, cap, label = _picture(cap_y)
        path = images / name
        Image.fromarray(img).save(path)
        comps = [
            component_from_mask("c0", "cap", cap, img),
            component_from_mask("c1", "label", label & ~cap, img),
        ]
        scene = Scene(
            image=ImageInfo(path=str(path), width=W, height=H), category=CATEGORY, components=comps
        )
        scene.save(run / "scenes" / f"{path.stem}.json")
        if outcome == "good":
            rules = [
                RuleOutcome(rule="r_count", status="pass"),
                RuleOutcome(rule="r_cap", status="pass"),
            ]
            expl = Explanation(
                reasoning="Every rule passed.", verdict="good", backend="template", agrees=True
            )
            score = 0.0
        else:
            rules = [
                RuleOutcome(
                    rule="r_count",
                    status="fail",
                    violations=[Violation(message=f"label count is off {SCRIPT}", evidence=["c1"])],
                    confidence=0.9,
                ),
                RuleOutcome(
                    rule="r_cap",
                    status="fail",
                    violations=[Violation(message="cap is below the label", evidence=["c0", "c1"])],
                    confidence=0.8,
                ),
            ]
            expl = Explanation(
                reasoning="Looks fine to me.",
                verdict="good",
                cited_rules=["r_cap"],
                backend="embedded",
                model={"name": "qwen-test", "sha256": "6" * 64},
                prompt_sha256="4" * 64,
                agrees=False,
            )
            score = 1.7
        evidence = {
            c.id: Evidence(id=c.id, label=c.label, bbox=list(c.bbox), score=c.score)
            for c in comps
            if any(c.id in v.evidence for r in rules for v in r.violations)
        }
        records.append(
            InspectionRecord(
                image_id=name,
                image=ImageRef(path=str(path), sha256=_sha(path), width=W, height=H),
                category=CATEGORY,
                verdict=outcome,
                score=score,
                rules=rules,
                evidence=evidence,
                scene=f"scenes/{path.stem}.json",
                timings={"perception": 0.5, "rules": 0.01, "total": 0.6},
                explanation=expl,
                started="2026-11-28T10:00:01+00:00",
                finished="2026-11-28T10:00:02+00:00",
            )
        )
    records.append(
        InspectionRecord(
            image_id="broken.png",
            image=ImageRef(path=str(images / "broken.png")),
            category=CATEGORY,
            verdict="error",
            error="broken.png: truncated or corrupt image (image file is truncated)",
            started="2026-11-28T10:00:03+00:00",
            finished="2026-11-28T10:00:04+00:00",
        )
    )
    for rec in records:
        append_result(run, rec)
    if audit:
        lines = [json.dumps({"seq": i, "hash": h}) for i, h in enumerate(AUDIT_HASHES)]
        (run / AUDIT_FILE).write_text("\n".join(lines) + "\n")
    return run


def code_hash(rule: str) -> str:
    """SHA-256 of a rule's code in the fake pack."""
    return code_sha256(CODE[rule])
