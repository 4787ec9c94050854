"""The auditors' report of an inspection run as one self-contained HTML file.

Everything a reader needs is inside the file: the images (original, components overlay,
violating evidence) as base64 data URIs downscaled to ``max_side``, the CSS, and no script or
external reference at all, so the file can be mailed, archived and printed (the PDF comes from
the same HTML, see :mod:`logicode.report.pdf`).

The report is robust to a damaged run folder: an image file that cannot be read, a scene that
cannot be loaded or a rule pack that moved shows a visible note where the picture or the code
would be; only a missing or corrupt ``run.json``/``results.jsonl`` raises.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import jinja2
import numpy as np

from logicode import __version__
from logicode.codegen.pack import PackError, RulePack
from logicode.errors import ImageError, LogicodeError
from logicode.imageio import read_image
from logicode.inspection.record import (
    AUDIT_FILE,
    InspectionRecord,
    RunManifest,
    read_manifest,
    read_results,
)
from logicode.perception.overlay import draw_overlay
from logicode.scene import Scene, file_sha256, load_scene

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"
"""Default report file name inside the run folder."""

EVIDENCE_RGB: tuple[int, int, int] = (215, 25, 32)
"""Colour of the evidence boxes (RGB)."""

PACK_NOT_FOUND = "pack not found"


@dataclass
class Picture:
    """One picture of an image section: a data URI, or a note saying why there is none."""

    kind: str
    caption: str
    uri: str | None = None
    note: str = ""


@dataclass
class RuleRow:
    """One row of an image's rule table."""

    id: str
    text: str
    status: str
    confidence: float | None = None
    violations: list[tuple[int, str]] = field(default_factory=list)
    evidence: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    code: str | None = None
    code_note: str = ""


@dataclass
class ImageView:
    """Everything the template shows about one image."""

    index: int
    anchor: str
    record: InspectionRecord
    pictures: list[Picture]
    rules: list[RuleRow]
    failed: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class PackRow:
    """One rule of the pack in the run-level tables."""

    id: str
    text: str
    status: str
    guards: list[str]
    code_sha256: str | None
    reason: str = ""
    changed: bool = False


@dataclass
class AuditHead:
    """The head of the run's audit log: record count and the last record's hash."""

    records: int
    hash: str | None
    note: str = ""


# ---------------------------------------------------------------------------------------------
# small pure helpers


def format_timestamp(value: str | None) -> str:
    """``2026-11-28T12:48:56.123+00:00`` -> ``2026-11-28 12:48:56 UTC`` (raw text if unparsable)."""
    if not value:
        return "-"
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    offset = dt.utcoffset()
    zone = "UTC" if offset is not None and offset.total_seconds() == 0 else dt.strftime("%z")
    return f"{dt:%Y-%m-%d %H:%M:%S} {zone}".strip()


def _sort_key(value: str) -> str:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return value


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink ``image`` so its longer side is at most ``max_side``; returns it and the factor."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image, 1.0
    f = max_side / float(max(h, w))
    size = (max(1, int(round(w * f))), max(1, int(round(h * f))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), f


def data_uri(image: np.ndarray, fmt: str = "jpeg", quality: int = 88) -> str:
    """An ``HWC uint8`` RGB image as a ``data:image/...;base64,`` URI (JPEG or PNG).

    Raises:
        ImageError: The encoder refused the image.
    """
    bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
    if fmt == "jpeg":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    elif fmt == "png":
        ok, buf = cv2.imencode(".png", bgr)
    else:
        raise ValueError(f"unknown image format {fmt!r}; use jpeg or png")
    if not ok:
        raise ImageError(f"cannot encode a {image.shape} image as {fmt}")
    return f"data:image/{fmt};base64,{base64.b64encode(buf.tobytes()).decode('ascii')}"


def _tag_rect(
    x0: int,
    y0: int,
    y1: int,
    tw: int,
    th: int,
    size: tuple[int, int],
    placed: Sequence[tuple[int, int, int, int]],
) -> tuple[int, int, int, int]:
    """Where to put a ``tw`` x ``th`` tag of a box (pixel rect ``x0, y0, x1, y1``).

    Above the box, inside its top, below it, or further down: the first that overlaps no tag
    already placed.
    """
    w, h = size
    tx = min(max(x0, 0), max(w - tw - 1, 0))

    def rect(top: int) -> tuple[int, int, int, int]:
        top = min(max(top, 0), max(h - th - 1, 0))
        return (tx, top, tx + tw, top + th)

    def free(r: tuple[int, int, int, int]) -> bool:
        return all(r[2] < p[0] or r[0] > p[2] or r[3] < p[1] or r[1] > p[3] for p in placed)

    tops = [y0 - th - 1, y0 + 1, y1 + 2] + [y0 + 1 + k * (th + 2) for k in range(1, 8)]
    return next((rect(t) for t in tops if free(rect(t))), rect(tops[0]))


def evidence_overlay(
    image: np.ndarray,
    marks: Sequence[tuple[Sequence[float], str]],
    max_side: int,
) -> np.ndarray:
    """The image, faded, with a red box and tag per cited component.

    Args:
        image: ``HWC uint8`` RGB image at full resolution.
        marks: ``(bbox_xyxy, tag)`` per component, bbox in full-resolution pixels.
        max_side: Longer side of the result.
    """
    small, f = downscale(image, max_side)
    canvas = (small.astype(np.float32) * 0.65 + 255 * 0.35).astype(np.uint8)
    h, w = canvas.shape[:2]
    thick = max(2, int(round(max(h, w) / 300)))
    scale = max(0.5, max(h, w) / 1100)
    font = cv2.FONT_HERSHEY_DUPLEX
    placed: list[tuple[int, int, int, int]] = []
    for bbox, tag in marks:
        x0, y0, x1, y1 = (int(round(v * f)) for v in bbox)
        x0, x1 = max(0, min(x0, w - 1)), max(0, min(x1 - 1, w - 1))
        y0, y1 = max(0, min(y0, h - 1)), max(0, min(y1 - 1, h - 1))
        cv2.rectangle(canvas, (x0, y0), (max(x1, x0), max(y1, y0)), EVIDENCE_RGB, thick)
        (tw, th), base = cv2.getTextSize(tag, font, scale, max(1, thick - 1))
        rect = _tag_rect(x0, y0, y1, tw + 4, th + base + 3, (w, h), placed)
        placed.append(rect)
        tx, top, tx1, bottom = rect
        cv2.rectangle(canvas, (tx, top), (tx1, bottom), EVIDENCE_RGB, -1)
        cv2.putText(
            canvas, tag, (tx + 2, bottom - base), font, scale, (255, 255, 255), max(1, thick - 1)
        )
    return canvas


def run_rules(pack_info: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-rule entries of the run manifest's ``pack["rules"]``, by rule id.

    Accepts a list of dicts with ``id``, a mapping id -> dict, or ``[id, status, sha]`` lists.
    """
    raw = pack_info.get("rules") or []
    out: dict[str, dict[str, Any]] = {}
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            out[str(key)] = dict(value) if isinstance(value, Mapping) else {}
        return out
    for item in raw:
        if isinstance(item, Mapping) and "id" in item:
            out[str(item["id"])] = dict(item)
        elif isinstance(item, (list, tuple)) and item:
            keys = ("status", "code_sha256")
            out[str(item[0])] = {k: v for k, v in zip(keys, item[1:], strict=False)}
    return out


def audit_head(run_dir: Path) -> AuditHead | None:
    """Count the records of ``audit.jsonl`` and read the last one's ``hash`` (None: no file)."""
    path = run_dir / AUDIT_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return AuditHead(0, None, f"cannot read {AUDIT_FILE} ({exc.strerror})")
    lines = [ln for ln in data.splitlines() if ln.strip()]
    for back, line in enumerate(reversed(lines)):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("hash"), str):
            note = f"the last {back} line(s) are not valid records" if back else ""
            return AuditHead(len(lines), obj["hash"], note)
    return AuditHead(len(lines), None, "no record with a hash")


def _anchor_mismatch(head: AuditHead | None, anchor: Mapping[str, Any] | None) -> str:
    """Why the audit log disagrees with the anchor ``run.json`` recorded ("" if it agrees)."""
    if not anchor:
        return ""
    if head is None:
        return f"run.json anchors an audit log but {AUDIT_FILE} is missing"
    want_head, want_count = anchor.get("head"), anchor.get("count")
    problems = []
    if want_head and head.hash != want_head:
        problems.append(f"its head is {head.hash or 'missing'}, run.json recorded {want_head}")
    if isinstance(want_count, int) and head.records != want_count:
        problems.append(f"it has {head.records} records, run.json recorded {want_count}")
    if not problems:
        return ""
    return f"{AUDIT_FILE} does not match the anchor in run.json: " + "; ".join(problems)


def _candidates(raw: str, bases: Sequence[Path]) -> list[Path]:
    p = Path(raw)
    return [p] if p.is_absolute() else [b / p for b in bases]


def find_pack(manifest: RunManifest, run_dir: Path) -> tuple[RulePack | None, str]:
    """Load the pack the run used (path as recorded, relative to the cwd or the run folder).

    Returns:
        The pack, or ``None`` and a one-line reason.
    """
    raw = manifest.pack.get("path")
    if not raw:
        return None, "the run manifest names no pack folder"
    for folder in _candidates(str(raw), [Path.cwd(), run_dir]):
        if (folder / "manifest.json").is_file():
            try:
                return RulePack.load(folder), ""
            except PackError as exc:
                return None, str(exc)
    return None, f"{raw}: {PACK_NOT_FOUND}"


def _vocabulary(category: str) -> list[str] | None:
    from logicode.spec import load_spec

    try:
        return load_spec(category).vocabulary
    except (LogicodeError, OSError):
        return None


# ---------------------------------------------------------------------------------------------
# building the view


def pack_rows(manifest: RunManifest, pack: RulePack | None) -> list[PackRow]:
    """Every rule of the pack, from the run manifest completed by the pack's own manifest.

    ``changed`` is set when the pack's code hash differs from the one the run recorded.
    """
    recorded = run_rules(manifest.pack)
    entries = {r.id: r for r in pack.manifest.rules} if pack is not None else {}
    rows: list[PackRow] = []
    for rid in list(recorded) + [r for r in entries if r not in recorded]:
        info, entry = recorded.get(rid, {}), entries.get(rid)
        run_sha = info.get("code_sha256") or (entry.code_sha256 if entry else None)
        rows.append(
            PackRow(
                id=rid,
                text=str(info.get("text") or (entry.text if entry else "")),
                status=str(info.get("status") or (entry.status if entry else "?")),
                guards=list(info.get("guards") or (entry.guards if entry else [])),
                code_sha256=run_sha,
                reason=str(info.get("reason") or (entry.reason if entry else "")),
                changed=bool(entry and run_sha and entry.code_sha256 != run_sha),
            )
        )
    return rows


def _rule_rows(
    record: InspectionRecord,
    texts: Mapping[str, str],
    pack: RulePack | None,
) -> list[RuleRow]:
    rows: list[RuleRow] = []
    n = 0
    for r in record.rules:
        violations = []
        cited: list[tuple[str, str]] = []
        for v in r.violations:
            n += 1
            violations.append((n, v.message))
            for cid in v.evidence:
                ev = record.evidence.get(cid)
                item = (cid, ev.label if ev else "?")
                if item not in cited:
                    cited.append(item)
        error = None
        if r.error is not None:
            error = f"{r.error.get('kind', 'error')}: {r.error.get('message', '')}".strip()
        if pack is None:
            code, note = None, PACK_NOT_FOUND
        else:
            code = pack.code.get(r.rule)
            note = "" if code is not None else "no code for this rule in the pack"
        rows.append(
            RuleRow(
                id=r.rule,
                text=texts.get(r.rule, ""),
                status=r.status,
                confidence=r.confidence,
                violations=violations,
                evidence=cited,
                error=error,
                code=code,
                code_note=note,
            )
        )
    return rows


def _evidence_marks(record: InspectionRecord) -> list[tuple[list[float], str]]:
    tags: dict[str, list[int]] = {}
    n = 0
    for r in record.rules:
        for v in r.violations:
            n += 1
            for cid in v.evidence:
                if n not in tags.setdefault(cid, []):
                    tags[cid].append(n)
    marks = []
    for cid, idx in tags.items():
        ev = record.evidence.get(cid)
        if ev is not None:
            marks.append((ev.bbox, ",".join(str(i) for i in idx)))
    return marks


def _load_image(
    record: InspectionRecord, run_dir: Path, scene: Scene | None, scene_path: Path | None
) -> tuple[np.ndarray | None, str, list[str]]:
    """The image array (or None and why), plus notes for the auditor."""
    bases = [Path.cwd(), run_dir]
    paths = _candidates(record.image.path, bases)
    if scene is not None and scene_path is not None:
        paths += _candidates(scene.image.path, [scene_path.parent])
    image = found = None
    errors: list[str] = []
    for path in paths:  # the record's path may be a scene file when scenes were given
        if not path.is_file():
            continue
        try:
            image, found = read_image(path), path
            break
        except ImageError as exc:
            errors.append(str(exc))
    if image is None or found is None:
        why = errors[0] if errors else f"{record.image.path} not found"
        return None, f"image not available: {why}", []
    notes = []
    if record.image.sha256 and file_sha256(found) != record.image.sha256:
        notes.append(
            f"{found}: the file's sha256 differs from the one inspected; the pictures show"
            " the file as it is now"
        )
    return image, "", notes


def _pictures(
    record: InspectionRecord,
    run_dir: Path,
    vocabulary: Sequence[str] | None,
    max_side: int,
) -> tuple[list[Picture], list[str]]:
    scene: Scene | None = None
    scene_path: Path | None = None
    scene_note = "no scene (the image failed before perception)"
    if record.scene:
        scene_path = run_dir / record.scene
        try:
            scene = load_scene(scene_path)
        except LogicodeError as exc:
            scene_note = f"scene not available: {exc}"
    image, why, notes = _load_image(record, run_dir, scene, scene_path)
    original = Picture("original", "Original")
    components = Picture("components", "Components")
    evidence = Picture("evidence", "Violating evidence")
    marks = _evidence_marks(record)
    if image is None:
        for pic in (original, components, evidence):
            pic.note = why
        return [original, components, evidence], notes
    original.uri = data_uri(downscale(image, max_side)[0])
    h, w = image.shape[:2]
    if scene is None:
        components.note = scene_note
    elif (scene.image.width, scene.image.height) != (w, h):
        components.note = (
            f"scene is for a {scene.image.width}x{scene.image.height} image but the file is"
            f" {w}x{h}; overlay not drawn"
        )
    else:
        try:
            components.uri = data_uri(draw_overlay(image, scene, vocabulary, max_side=max_side))
        except (ValueError, cv2.error) as exc:
            components.note = f"overlay could not be drawn ({exc})"
    if marks:
        evidence.uri = data_uri(evidence_overlay(image, marks, max_side))
        evidence.caption = "Violating evidence (numbers: the violations #n below)"
    else:
        evidence.note = "no violation cites a component"
    return [original, components, evidence], notes


def build_context(
    run_dir: Path, *, pack: RulePack | None = None, max_side: int = 800
) -> dict[str, Any]:
    """The data the report template renders (see :func:`render_html`)."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    records = read_results(run_dir)
    pack_note = ""
    if pack is None:
        pack, pack_note = find_pack(manifest, run_dir)
    rows = pack_rows(manifest, pack)
    texts = {r.id: r.text for r in rows}
    vocabulary = _vocabulary(manifest.category)
    images: list[ImageView] = []
    for i, record in enumerate(records, start=1):
        pictures, notes = _pictures(record, run_dir, vocabulary, max_side)
        images.append(
            ImageView(
                index=i,
                anchor=f"img-{i}",
                record=record,
                pictures=pictures,
                rules=_rule_rows(record, texts, pack),
                failed=[r.rule for r in record.rules if r.status == "fail"],
                notes=notes,
            )
        )
    counts = Counter(r.verdict for r in records)
    started = sorted((r.started for r in records), key=_sort_key)
    finished = sorted((r.finished for r in records), key=_sort_key)
    audit = audit_head(run_dir)
    anchor = getattr(manifest, "audit", None) or None
    pack_model = manifest.pack.get("model") or (pack.manifest.model if pack else {})
    pack_prompts = manifest.pack.get("prompts") or (pack.manifest.prompts if pack else {})
    return {
        "manifest": manifest,
        "run_dir": str(run_dir),
        "report_version": __version__,
        "generated": datetime.now().astimezone().isoformat(timespec="seconds"),
        "counts": {k: counts.get(k, 0) for k in ("good", "anomaly", "error")},
        "total": len(records),
        "first_started": started[0] if started else None,
        "last_finished": finished[-1] if finished else None,
        "run_id": getattr(manifest, "run_id", None),
        "audit": audit,
        "audit_anchor": anchor,
        "audit_mismatch": _anchor_mismatch(audit, anchor),
        "pack": pack,
        "pack_note": pack_note,
        "pack_path": str(manifest.pack.get("path", "")),
        "pack_digest": manifest.pack.get("sha256") or manifest.pack.get("digest") or "",
        "pack_model": dict(pack_model),
        "pack_prompts": dict(pack_prompts),
        "pack_extra": {
            k: v
            for k, v in manifest.pack.items()
            if k not in ("path", "sha256", "digest", "model", "prompts", "rules")
        },
        "rules": [r for r in rows if r.status != "failed"],
        "failed_rules": [r for r in rows if r.status == "failed"],
        "changed_rules": [r.id for r in rows if r.changed],
        "images": images,
    }


def _as_json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, default=str, ensure_ascii=False)


def _short_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return str(value)


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("logicode.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ts"] = format_timestamp
    env.filters["as_json"] = _as_json
    env.filters["short"] = _short_value
    return env


def render_html(run_dir: Path, *, pack: RulePack | None = None, max_side: int = 800) -> str:
    """Render the auditors' report of a run folder as one self-contained HTML string.

    Args:
        run_dir: An ``inspect --out`` folder (``run.json``, ``results.jsonl``, ``scenes/``).
        pack: The rule pack, if already loaded (default: load ``run.json``'s ``pack["path"]``,
            relative to the working folder or the run folder; if it cannot be loaded the
            report says "pack not found" where the code would be).
        max_side: Longer side, in pixels, of the inline pictures.

    Returns:
        The HTML text (UTF-8 when written), with no external references.

    Raises:
        InspectionError: ``run.json`` is missing or invalid, or ``results.jsonl`` is corrupt.
    """
    context = build_context(Path(run_dir), pack=pack, max_side=max_side)
    return _environment().get_template("report.html.j2").render(**context)


def write_html(run_dir: Path, out_path: Path | None = None, **kwargs: Any) -> Path:
    """Render the report and write it atomically (default ``run_dir/report.html``).

    Args:
        run_dir: The run folder.
        out_path: Where to write the report.
        **kwargs: Passed to :func:`render_html` (``pack``, ``max_side``).

    Returns:
        The path written.
    """
    run_dir = Path(run_dir)
    out = Path(out_path) if out_path is not None else run_dir / REPORT_FILE
    text = render_html(run_dir, **kwargs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("report written to %s (%d bytes)", out, len(text.encode("utf-8")))
    return out
