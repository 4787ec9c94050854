"""Per-image bench records and their JSON Lines file: append-only, resumable.

A bench run appends one :class:`ImageRecord` per image to ``records.jsonl`` as soon as the
image is done. An interrupted run resumes by skipping :func:`done_ids`. A crash in the middle
of a write leaves a truncated last line: reading ignores it with a warning, and the next
:func:`append_record` cuts it off before writing, so the file stays valid. Any other bad line
is real corruption and raises :class:`RecordsError`.

One process writes a file at a time; a line is written with a single ``write`` and flushed
to disk before :func:`append_record` returns.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from logicode.bench.metrics import (
    DEFAULT_ERROR_WEIGHT,
    Verdict,
    anomaly_score,
    image_verdict,
    rule_confidence,
)
from logicode.errors import LogicodeError
from logicode.scene import LabelKind

log = logging.getLogger(__name__)


class RecordsError(LogicodeError):
    """A bench records file is corrupt (a bad line that is not a truncated last line)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Violation(_Model):
    """One violation a rule reported: a message and the component ids it cites."""

    message: str
    evidence: list[str] = Field(default_factory=list)


class RuleOutcome(_Model):
    """The result of one rule on one image (the sandbox result, plus guards and confidence).

    Attributes:
        rule: Rule id.
        status: ``pass``, ``fail`` or ``error``.
        violations: What the rule found (``fail`` only).
        error: ``{"kind": ..., "message": ...}`` for ``error`` only.
        guards: Defect names the rule guards (from the spec), for reasoning precision.
        confidence: How sure the failed rule is (see ``metrics.rule_confidence``).
    """

    rule: str = Field(min_length=1)
    status: Literal["pass", "fail", "error"]
    violations: list[Violation] = Field(default_factory=list)
    error: dict[str, str] | None = None
    guards: list[str] = Field(default_factory=list)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> RuleOutcome:
        if self.status == "error" and (self.error is None or self.violations):
            raise ValueError(f"rule {self.rule!r}: status error needs an error and no violations")
        if self.status != "error" and self.error is not None:
            raise ValueError(f"rule {self.rule!r}: status {self.status} cannot carry an error")
        if (self.status == "fail") != bool(self.violations):
            raise ValueError(f"rule {self.rule!r}: status {self.status} disagrees with violations")
        return self


class ImageRecord(_Model):
    """Everything a bench run keeps about one image.

    Attributes:
        image_id: Image id, unique within its category.
        category: Product category.
        truth: Ground-truth kind (good, logical_anomaly, structural_anomaly).
        defects: True defect names (dataset names); empty for good images.
        rules: Outcome of each rule.
        score: Anomaly score (``None`` only when the image itself failed).
        verdict: ``anomaly``, ``good`` or ``error`` (must agree with ``rules`` and ``error``).
        timings: Seconds spent per stage (e.g. ``perception``, ``rules``).
        error: Why the image could not be processed, one line (``None`` when it was).
        peak_memory_mb: Peak resident memory of the run so far, if measured.
    """

    image_id: str = Field(min_length=1)
    category: str = Field(min_length=1)
    truth: LabelKind
    defects: list[str] = Field(default_factory=list)
    rules: list[RuleOutcome] = Field(default_factory=list)
    score: float | None = Field(default=None, ge=0.0)
    verdict: Literal["anomaly", "good", "error"]
    timings: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    peak_memory_mb: float | None = Field(default=None, ge=0.0)

    @field_validator("timings")
    @classmethod
    def _timings_ok(cls, v: dict[str, float]) -> dict[str, float]:
        for stage, sec in v.items():
            if not math.isfinite(sec) or sec < 0:
                raise ValueError(f"timing of stage {stage!r} must be >= 0 seconds, got {sec}")
        return v

    @model_validator(mode="after")
    def _verdict_agrees(self) -> ImageRecord:
        expected = image_verdict(self.rules, image_error=self.error is not None)
        if self.verdict != expected:
            raise ValueError(f"verdict {self.verdict!r} disagrees with the rules ({expected!r})")
        if self.score is None and self.error is None:
            raise ValueError("score is required unless the image has an error")
        return self

    @property
    def key(self) -> tuple[str, str]:
        """``(category, image_id)``: the identity of the record in a file."""
        return (self.category, self.image_id)


def build_record(
    image_id: str,
    category: str,
    truth: LabelKind | str,
    rule_results: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    *,
    defects: Sequence[str] = (),
    guards: Mapping[str, Sequence[str]] | None = None,
    component_scores: Mapping[str, float] | None = None,
    timings: Mapping[str, float] | None = None,
    error: str | None = None,
    peak_memory_mb: float | None = None,
    weights: Mapping[str, float] | None = None,
    error_weight: float = DEFAULT_ERROR_WEIGHT,
) -> ImageRecord:
    """Build the record of one image from the sandbox's rule results.

    Computes each failed rule's confidence, the anomaly score and the verdict (see
    :mod:`logicode.bench.metrics`).

    Args:
        image_id: Image id, unique within the category.
        category: Product category.
        truth: Ground-truth kind.
        rule_results: Sandbox results (list, or mapping rule id -> result); empty when the
            image failed before the rules ran.
        defects: True defect names.
        guards: Defect names each rule guards, by rule id.
        component_scores: Detection score of each component id of the scene.
        timings: Seconds per stage.
        error: Why the image could not be processed (makes the verdict ``error``).
        peak_memory_mb: Peak resident memory, if measured.
        weights: Optional rule weights for the score.
        error_weight: Score contribution of a rule in error.

    Returns:
        The validated record.
    """
    results = list(rule_results.values() if isinstance(rule_results, Mapping) else rule_results)
    outcomes = [
        RuleOutcome(
            rule=r["rule"],
            status=r["status"],
            violations=r.get("violations") or [],
            error=r.get("error"),
            guards=list((guards or {}).get(r["rule"], [])),
            confidence=rule_confidence(r, component_scores) if r["status"] == "fail" else None,
        )
        for r in results
    ]
    verdict: Verdict = image_verdict(outcomes, image_error=error is not None)
    score = None
    if error is None:
        score = anomaly_score(outcomes, weights=weights, error_weight=error_weight)
    return ImageRecord(
        image_id=image_id,
        category=category,
        truth=LabelKind(truth),
        defects=list(defects),
        rules=outcomes,
        score=score,
        verdict=verdict,
        timings=dict(timings or {}),
        error=error,
        peak_memory_mb=peak_memory_mb,
    )


def _parse(line: bytes) -> ImageRecord:
    return ImageRecord.model_validate_json(line)


def _tail_start(data: bytes) -> int:
    """Index just after the last newline (0 when there is none)."""
    return data.rfind(b"\n") + 1


def _repair_tail(path: Path) -> None:
    """Make ``path`` end with a newline, cutting off a truncated last line if there is one."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with path.open("rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        start = _tail_start(data)
        try:
            _parse(data[start:])
        except ValueError:
            log.warning(
                "%s: cutting off a truncated last line (%d bytes) left by an interrupted write",
                path,
                size - start,
            )
            f.truncate(start)
        else:
            f.seek(size)
            f.write(b"\n")
        f.flush()
        os.fsync(f.fileno())


def append_record(path: str | Path, record: ImageRecord) -> None:
    """Append one record to a JSON Lines file and flush it to disk.

    A truncated last line left by a crash is cut off first (with a warning).

    Args:
        path: The records file (created with its folder if missing).
        record: The record.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _repair_tail(path)
    line = record.model_dump_json().encode("utf-8") + b"\n"
    with path.open("ab") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_records(path: str | Path) -> list[ImageRecord]:
    """Read a records file; a missing file has no records.

    A truncated last line (no newline at the end, not a valid record) is ignored with a
    warning. When an image appears twice, the later record wins (with a warning).

    Args:
        path: The records file.

    Returns:
        The records, in file order of their last occurrence.

    Raises:
        RecordsError: If a line other than a truncated last one is not a valid record.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    truncated_tail = not data.endswith(b"\n")
    by_key: dict[tuple[str, str], ImageRecord] = {}
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = _parse(line)
        except (ValidationError, ValueError) as exc:
            if truncated_tail and i == len(lines):
                log.warning(
                    "%s: ignoring a truncated last line %d (%d bytes) left by an interrupted "
                    "write; that image will be run again",
                    path,
                    i,
                    len(line),
                )
                continue
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RecordsError(
                f"{path}: line {i} is not a valid bench record ({first}); "
                "fix or delete that line, or start a new run with another output folder"
            ) from None
        if rec.key in by_key:
            log.warning("%s: image %s/%s appears again on line %d; keeping it", path, *rec.key, i)
            del by_key[rec.key]
        by_key[rec.key] = rec
    return list(by_key.values())


def done_ids(path: str | Path) -> set[tuple[str, str]]:
    """``(category, image_id)`` of the images already recorded in ``path`` (to skip on resume)."""
    return {r.key for r in read_records(path)}


def write_records(path: str | Path, records: Iterable[ImageRecord]) -> None:
    """Write records as a fresh JSON Lines file, atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(rec.model_dump_json() + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
