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

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from logicode.bench.metrics import (
    DEFAULT_ERROR_WEIGHT,
    Verdict,
    image_score,
    image_verdict,
    rule_confidence,
)
from logicode.errors import LogicodeError
from logicode.jsonl import append_model, read_models, write_models
from logicode.scene import LabelKind


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


def check_timings(timings: dict[str, float]) -> dict[str, float]:
    """Validate seconds per stage (finite, >= 0); returns them unchanged.

    Raises:
        ValueError: A negative or non-finite timing (pydantic reports it with the field).
    """
    for stage, sec in timings.items():
        if not math.isfinite(sec) or sec < 0:
            raise ValueError(f"timing of stage {stage!r} must be >= 0 seconds, got {sec}")
    return timings


def check_verdict(
    rules: Sequence[RuleOutcome], verdict: str, score: float | None, error: str | None
) -> None:
    """Check that a verdict follows from the rule outcomes and that a score is present.

    Raises:
        ValueError: The verdict disagrees with the rules, or a score is missing.
    """
    expected = image_verdict(rules, image_error=error is not None)
    if verdict != expected:
        raise ValueError(f"verdict {verdict!r} disagrees with the rules ({expected!r})")
    if score is None and error is None:
        raise ValueError("score is required unless the image has an error")


class ImageRecord(_Model):
    """Everything a bench run keeps about one image.

    Attributes:
        image_id: Image id, unique within its category.
        category: Product category.
        truth: Ground-truth kind (good, logical_anomaly, structural_anomaly).
        defects: True defect names (dataset names); empty for good images.
        rules: Outcome of each rule.
        score: Anomaly score, :func:`~logicode.bench.metrics.image_score` (``None`` only
            when the image itself failed).
        deviation: The scene's deviation from the normal reference scenes (``None``: no
            references, or no scene).
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
    deviation: float | None = Field(default=None, ge=0.0)
    verdict: Literal["anomaly", "good", "error"]
    timings: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    peak_memory_mb: float | None = Field(default=None, ge=0.0)

    @field_validator("timings")
    @classmethod
    def _timings_ok(cls, v: dict[str, float]) -> dict[str, float]:
        return check_timings(v)

    @model_validator(mode="after")
    def _verdict_agrees(self) -> ImageRecord:
        check_verdict(self.rules, self.verdict, self.score, self.error)
        return self

    @property
    def key(self) -> tuple[str, str]:
        """``(category, image_id)``: the identity of the record in a file."""
        return (self.category, self.image_id)


def rule_outcomes(
    rule_results: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    guards: Mapping[str, Sequence[str]] | None = None,
    component_scores: Mapping[str, float] | None = None,
) -> list[RuleOutcome]:
    """Validated :class:`RuleOutcome` of each sandbox result, with guards and confidence.

    Args:
        rule_results: Sandbox results (list, or mapping rule id -> result).
        guards: Defect names each rule guards, by rule id.
        component_scores: Detection score of each component id of the scene.
    """
    results = list(rule_results.values() if isinstance(rule_results, Mapping) else rule_results)
    return [
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
    deviation: float | None = None,
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
        deviation: The scene's deviation from the normal references (see
            :mod:`logicode.bench.deviation`), the score's minor term.
        error_weight: Score contribution of a rule in error.

    Returns:
        The validated record.
    """
    outcomes = rule_outcomes(rule_results, guards, component_scores)
    verdict: Verdict = image_verdict(outcomes, image_error=error is not None)
    score = None
    if error is None:
        score = image_score(outcomes, deviation, error_weight=error_weight)
    return ImageRecord(
        image_id=image_id,
        category=category,
        truth=LabelKind(truth),
        defects=list(defects),
        rules=outcomes,
        score=score,
        deviation=deviation if error is None else None,
        verdict=verdict,
        timings=dict(timings or {}),
        error=error,
        peak_memory_mb=peak_memory_mb,
    )


def append_record(path: str | Path, record: ImageRecord) -> None:
    """Append one record to a records file and flush it to disk (see :mod:`logicode.jsonl`)."""
    append_model(path, record)


def read_records(path: str | Path) -> list[ImageRecord]:
    """Read a records file; a missing file has no records (see :func:`logicode.jsonl.read_models`).

    Raises:
        RecordsError: If a line other than a truncated last one is not a valid record.
    """
    return read_models(path, ImageRecord, lambda r: r.key, what="bench record", error=RecordsError)


def done_ids(path: str | Path) -> set[tuple[str, str]]:
    """``(category, image_id)`` of the images already recorded in ``path`` (to skip on resume)."""
    return {r.key for r in read_records(path)}


def write_records(path: str | Path, records: Iterable[ImageRecord]) -> None:
    """Write records as a fresh JSON Lines file, atomically (temporary file, then rename)."""
    write_models(path, records)
