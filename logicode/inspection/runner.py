"""Inspect a batch of images (or scenes) with a rule pack: the library behind ``logicode inspect``.

For each input, in order:

1. **Scene**: an image goes through the perception front end and its scene is written to
   ``OUT/scenes/<image_id>.json``; a scene JSON file given as input is used as is.
2. **Rules**: the pack's validated rules run on the scene in the sandbox pool.
3. **Verdict**: the rule outcomes give the verdict and anomaly score exactly as in LogiBench
   (:mod:`logicode.bench.metrics`); the components that violations cite become evidence.
4. **Explanation** (optional): an explainer writes its account; it never changes the verdict.
5. The record is appended to ``OUT/results.jsonl`` and chained into ``OUT/audit.jsonl``.

A run is resumable: ``OUT/run.json`` pins the pack, spec, perception references and options;
a second call with the same inputs skips the images already recorded, and a call with other
settings is refused rather than mixing two runs in one folder. An image that cannot be read
or described becomes an ``error`` record and the batch goes on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from logicode import __version__
from logicode.bench.metrics import anomaly_score, image_verdict
from logicode.bench.records import rule_outcomes
from logicode.codegen.pack import RulePack
from logicode.digest import json_digest
from logicode.errors import LogicodeError
from logicode.inspection.record import (
    AUDIT_FILE,
    MANIFEST_FILE,
    SCENES_DIR,
    Explanation,
    ImageRef,
    InspectionError,
    InspectionRecord,
    RunManifest,
    append_result,
    evidence_of,
    read_results,
)
from logicode.spec import CategorySpec

log = logging.getLogger(__name__)

SCENE_SUFFIX = ".json"


class Explainer(Protocol):
    """Writes the explanation of one inspected image (see :mod:`logicode.explain`)."""

    def info(self) -> dict[str, Any]:
        """Backend, model and prompt template hashes, for the run manifest."""
        ...

    def explain(
        self, record: InspectionRecord, scene: Mapping[str, Any], image: Path | None
    ) -> Explanation:
        """The explanation of ``record`` (its verdict is final; the explainer only explains)."""
        ...


@dataclass(frozen=True)
class InputItem:
    """One thing to inspect.

    Attributes:
        path: The file as given.
        image_id: Identity within the run (path relative to the inputs' common folder).
        is_scene: The file is a scene JSON (no perception needed).
    """

    path: Path
    image_id: str
    is_scene: bool


def _utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def collect_inputs(inputs: Sequence[Path], *, recursive: bool = False) -> list[InputItem]:
    """The images and scene files to inspect, with their run-wide ids.

    Files are taken as given (``.json`` files are scenes); folders are scanned for images
    (recursively with ``recursive``), sorted. Ids are paths relative to the common folder of
    all inputs, so they are unique and stable between runs.

    Raises:
        ImageError: A path does not exist, or nothing was found.
        InspectionError: Two inputs are the same file.
    """
    from logicode.imageio import find_images

    files = find_images(list(inputs), recursive=recursive)
    resolved = [f.resolve() for f in files]
    if len(set(resolved)) != len(resolved):
        dup = next(f for f in files if resolved.count(f.resolve()) > 1)
        raise InspectionError(f"{dup} is given twice; give each image once")
    base = Path(os.path.commonpath([str(r.parent) for r in resolved]))
    return [
        InputItem(
            path=f,
            image_id=r.relative_to(base).as_posix(),
            is_scene=f.suffix.lower() == SCENE_SUFFIX,
        )
        for f, r in zip(files, resolved, strict=True)
    ]


@dataclass
class InspectJob:
    """Everything a run needs, resolved and loaded.

    Attributes:
        spec: The category spec the rules belong to.
        pack: The rule pack (its failed rules are listed in the manifest, never run).
        pack_dir: Where the pack is saved (recorded for the report).
        out: The run folder.
        perception: A fitted :class:`logicode.perception.pipeline.Perception`; ``None`` when
            every input is a scene.
        explainer: Optional explainer.
        settings: Options that pin the run (resuming with others is refused).
        workers: Sandbox worker processes.
    """

    spec: CategorySpec
    pack: RulePack
    pack_dir: Path | None
    out: Path
    perception: Any = None
    explainer: Explainer | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    workers: int = 1


def pack_summary(pack: RulePack, pack_dir: Path | None) -> dict[str, Any]:
    """What the run manifest says about the pack: where, what, and every rule's identity."""
    m = pack.manifest
    rules = {
        r.id: {
            "text": r.text,
            "status": r.status,
            "guards": list(r.guards),
            "code_sha256": r.code_sha256,
            "reason": r.reason,
        }
        for r in m.rules
    }
    from logicode.bench.runner import pack_digest

    digest = pack_digest(pack)
    return {
        "path": str(pack_dir.resolve()) if pack_dir is not None else None,
        "digest": digest,
        "spec_sha256": m.spec_sha256,
        "model": m.model,
        "prompts": m.prompts,
        "api_sha256": m.api_sha256,
        "created": m.created,
        "logicode_version": m.logicode_version,
        "rules": rules,
    }


def _identity(job: InspectJob) -> dict[str, Any]:
    """The parts of a run that must not change when it resumes."""
    perception = job.perception.info() if job.perception is not None else {"scenes": "given"}
    return {
        "category": job.spec.category,
        "pack": pack_summary(job.pack, job.pack_dir)["digest"],
        "perception": json_digest({k: v for k, v in perception.items() if k != "seconds"}),
        "explain": json_digest(job.explainer.info()) if job.explainer is not None else None,
        "settings": job.settings,
    }


def open_run(job: InspectJob) -> RunManifest:
    """Create ``OUT/run.json``, or check that an existing run has the same settings.

    Raises:
        InspectionError: ``OUT`` holds a run with another pack, spec, perception or options.
    """
    path = job.out / MANIFEST_FILE
    ident = _identity(job)
    if path.is_file():
        from logicode.inspection.record import read_manifest

        old = read_manifest(job.out)
        was = old.settings.get("identity")
        if was != ident:
            changed = sorted(k for k in ident if (was or {}).get(k) != ident[k])
            raise InspectionError(
                f"{job.out} holds a run with another {', '.join(changed) or 'setup'}; "
                "give another --out folder to start a new run (finished images are kept there)"
            )
        return old
    perception = job.perception.info() if job.perception is not None else {"scenes": "given"}
    manifest = RunManifest(
        run_id=uuid.uuid4().hex,
        created=_utc(),
        category=job.spec.category,
        spec_sha256=job.pack.manifest.spec_sha256,
        pack=pack_summary(job.pack, job.pack_dir),
        perception=perception,
        explain=job.explainer.info() if job.explainer is not None else None,
        settings={**job.settings, "identity": ident},
    )
    write_manifest(job.out, manifest)
    return manifest


def write_manifest(out: Path, manifest: RunManifest) -> None:
    """Write ``OUT/run.json`` atomically."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{MANIFEST_FILE}.{os.getpid()}.tmp"
    tmp.write_text(manifest.model_dump_json(indent=1) + "\n", encoding="utf-8")
    tmp.replace(out / MANIFEST_FILE)


def scene_path(out: Path, image_id: str) -> Path:
    """Where the scene of ``image_id`` is written: ``OUT/scenes/<image_id>.json``."""
    return out / SCENES_DIR / f"{image_id}.json"


class Inspector:
    """Inspects items one by one with a loaded pack; use as a context manager.

    Args:
        job: The resolved job.
    """

    def __init__(self, job: InspectJob) -> None:
        self.job = job
        self.guards = {r.id: list(r.guards) for r in job.pack.manifest.rules}
        self._pool: Any = None
        self._pack_id: Any = None

    def __enter__(self) -> Inspector:
        import sandbox

        self._pool = sandbox.SandboxPool(api_module="logicode.ruleapi", workers=self.job.workers)
        self._pool.__enter__()
        if self.job.pack.ok_rules:
            self._pack_id = self._pool.load_pack(self.job.pack.ok_rules)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.__exit__(*exc)
            self._pool = None

    def _scene(self, item: InputItem) -> tuple[dict[str, Any], ImageRef, Path | None, str]:
        """Scene dict, image reference, image file (if known) and scene path in the run."""
        from logicode.scene import file_sha256, load_scene

        out = self.job.out
        target = scene_path(out, item.image_id)
        if item.is_scene:
            scene = load_scene(item.path, vocabulary=self.job.spec.vocabulary)
            image_file = (item.path.parent / scene.image.path) if scene.image.path else None
            ref = ImageRef(
                path=item.path.as_posix(),
                sha256=scene.image.sha256,
                width=scene.image.width,
                height=scene.image.height,
            )
            if image_file is not None and image_file.is_file():
                rel = os.path.relpath(image_file.resolve(), target.parent.resolve())
                scene = scene.model_copy(
                    update={"image": scene.image.model_copy(update={"path": Path(rel).as_posix()})}
                )
            else:
                image_file = None
        else:
            if self.job.perception is None:
                raise InspectionError(f"{item.path}: an image needs --refs for perception")
            target.parent.mkdir(parents=True, exist_ok=True)
            scene = self.job.perception.describe_file(item.path, scene_dir=target.parent)
            image_file = item.path
            ref = ImageRef(
                path=item.path.as_posix(),
                sha256=scene.image.sha256 or file_sha256(item.path),
                width=scene.image.width,
                height=scene.image.height,
            )
        scene.save(target)
        return scene.model_dump(mode="json"), ref, image_file, target.relative_to(out).as_posix()

    def inspect(self, item: InputItem) -> InspectionRecord:
        """Inspect one item; expected failures become an ``error`` record."""
        started = _utc()
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        try:
            scene, ref, image_file, scene_rel = self._scene(item)
        except LogicodeError as exc:
            from logicode.scene import file_sha256

            sha = None
            try:
                sha = file_sha256(item.path) if item.path.is_file() else None
            except OSError:
                sha = None
            timings["total"] = round(time.perf_counter() - t0, 4)
            return InspectionRecord(
                image_id=item.image_id,
                image=ImageRef(path=item.path.as_posix(), sha256=sha),
                category=self.job.spec.category,
                verdict="error",
                error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                timings=timings,
                started=started,
                finished=_utc(),
            )
        stage = "scene" if item.is_scene else "perception"
        timings[stage] = round(time.perf_counter() - t0, 4)
        t1 = time.perf_counter()
        results: dict[str, Any] = {}
        if self._pack_id is not None:
            results = self._pool.evaluate(self._pack_id, [scene])[0]
        timings["rules"] = round(time.perf_counter() - t1, 4)
        scores = {
            c["id"]: float(c["score"]) for c in scene["components"] if c.get("score") is not None
        }
        outcomes = rule_outcomes(results, self.guards, scores)
        record = InspectionRecord(
            image_id=item.image_id,
            image=ref,
            category=self.job.spec.category,
            verdict=image_verdict(outcomes),
            score=anomaly_score(outcomes),
            rules=outcomes,
            evidence=evidence_of(outcomes, scene["components"]),
            scene=scene_rel,
            timings=timings,
            started=started,
            finished=started,
        )
        if self.job.explainer is not None and record.verdict != "error":
            t2 = time.perf_counter()
            explanation = self.job.explainer.explain(record, scene, image_file)
            timings["explain"] = round(time.perf_counter() - t2, 4)
            record = record.model_copy(update={"explanation": explanation})
        timings["total"] = round(time.perf_counter() - t0, 4)
        return record.model_copy(update={"timings": timings, "finished": _utc()})


def audit_data(record: InspectionRecord, out: Path) -> dict[str, Any]:
    """What the audit log keeps of one inspected image (hashes, verdict, rule statuses)."""
    scene_sha = None
    if record.scene:
        from logicode.scene import file_sha256

        scene_sha = file_sha256(out / record.scene)
    return {
        "image_id": record.image_id,
        "image_sha256": record.image.sha256,
        "scene_sha256": scene_sha,
        "verdict": record.verdict,
        "score": record.score,
        "rules": {r.rule: r.status for r in record.rules},
        "error": record.error,
        "explanation_agrees": record.explanation.agrees if record.explanation else None,
        "record_sha256": hashlib.sha256(record.model_dump_json().encode("utf-8")).hexdigest(),
    }


def run_inspection(
    job: InspectJob,
    items: Sequence[InputItem],
    *,
    on_record: Callable[[InspectionRecord, bool], None] | None = None,
) -> list[InspectionRecord]:
    """Inspect every item not yet recorded in ``job.out``; return all records of the items.

    Args:
        job: The resolved job.
        items: What to inspect (see :func:`collect_inputs`).
        on_record: Called with each record and whether it was done now (``False``: it was
            recorded by an earlier, interrupted call and is skipped).

    Returns:
        The records of ``items``, in their order.

    Raises:
        InspectionError: ``OUT`` holds another run, or its files are corrupt.
    """
    from logicode.audit import AuditLog

    manifest = open_run(job)
    previous = {r.image_id: r for r in read_results(job.out)}
    audit = AuditLog(
        job.out / AUDIT_FILE,
        purpose="logicode inspect: one record per inspected image",
        run_id=manifest.run_id,
        repair_tail=True,
    )
    todo = [it for it in items if it.image_id not in previous]
    audit.append(
        "run.start" if not previous else "run.resume",
        {
            "logicode_version": __version__,
            "category": manifest.category,
            "spec_sha256": manifest.spec_sha256,
            "pack_digest": manifest.pack["digest"],
            "model": manifest.pack.get("model", {}),
            "prompts": manifest.pack.get("prompts", {}),
            "rules": {k: v["code_sha256"] for k, v in manifest.pack["rules"].items()},
            "perception": json_digest(manifest.perception),
            "explain": manifest.explain,
            "images": len(items),
            "already_done": len(items) - len(todo),
        },
    )
    out: dict[str, InspectionRecord] = {}
    for it in items:
        if it.image_id in previous:
            out[it.image_id] = previous[it.image_id]
            if on_record is not None:
                on_record(previous[it.image_id], False)
    try:
        with Inspector(job) as inspector:
            for it in todo:
                record = inspector.inspect(it)
                append_result(job.out, record)
                audit.append("image.inspected", audit_data(record, job.out))
                out[it.image_id] = record
                if on_record is not None:
                    on_record(record, True)
        counts = {
            v: sum(r.verdict == v for r in out.values()) for v in ("good", "anomaly", "error")
        }
        audit.append("run.finish", {"images": len(out), **counts})
    finally:
        # The anchor follows the log even when a session is interrupted.
        anchor = {"path": AUDIT_FILE, "head": audit.head(), "count": audit.count}
        write_manifest(job.out, manifest.model_copy(update={"audit": anchor}))
    return [out[it.image_id] for it in items]
