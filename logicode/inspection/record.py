"""What an inspection run writes: one record per image and one manifest per run.

A run folder (``--out``) holds::

    OUT/
      run.json            RunManifest: provenance of the whole run (software, pack, perception)
      results.jsonl       one InspectionRecord per image, appended as each image finishes
      scenes/<id>.json    the scene perception wrote for each image (schema 1.0)
      audit.jsonl         hash-chained audit log (see logicode.audit)
      report.html         the auditors' report (see logicode.report)

Records reuse the LogiBench rule outcome (:class:`logicode.bench.records.RuleOutcome`), the
anomaly score and verdict rules of :mod:`logicode.bench.metrics`, so a verdict means the
same thing in a bench run and on the line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from logicode import __version__
from logicode.bench.records import RuleOutcome, check_timings, check_verdict
from logicode.errors import LogicodeError
from logicode.jsonl import append_model, read_models

RECORD_FORMAT = 1
RESULTS_FILE = "results.jsonl"
MANIFEST_FILE = "run.json"
SCENES_DIR = "scenes"
AUDIT_FILE = "audit.jsonl"


class InspectionError(LogicodeError):
    """An inspection run cannot start or its files are corrupt."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageRef(_Model):
    """The inspected image file.

    Attributes:
        path: The path as given on the command line (POSIX separators).
        sha256: SHA-256 of the file's bytes (``None`` when it could not be read).
        width: Width in pixels; height: height in pixels (``None`` when not decoded).
    """

    path: str = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)


class Evidence(_Model):
    """A component that a violation cites: where it is and what it was taken for.

    Attributes:
        id: Component id in the scene.
        label: Its label.
        bbox: ``[x0, y0, x1, y1]`` in pixels (XYXY, exclusive max).
        score: Detection confidence in ``[0, 1]`` (``None`` for ground-truth scenes).
    """

    id: str
    label: str
    bbox: list[float] = Field(min_length=4, max_length=4)
    score: float | None = Field(default=None, ge=0.0, le=1.0)


class Explanation(_Model):
    """A model's (or the template's) account of the verdict; never the verdict itself.

    Attributes:
        reasoning: Plain-language explanation.
        verdict: What the explainer concluded (``good`` or ``anomaly``).
        cited_rules: Rule ids the explanation relies on.
        backend: ``template``, ``embedded``, ``openai`` ...
        model: Model id (and sha256 where known); empty for the template.
        prompt_sha256: SHA-256 of the exact prompt sent (empty for the template).
        agrees: Whether ``verdict`` equals the rules' verdict (the report flags ``False``).
        error: Why no usable explanation came back (then ``reasoning`` says so too).
        seconds: Time spent explaining.
    """

    reasoning: str
    verdict: Literal["good", "anomaly"]
    cited_rules: list[str] = Field(default_factory=list)
    backend: str
    model: dict[str, Any] = Field(default_factory=dict)
    prompt_sha256: str = ""
    agrees: bool
    error: str | None = None
    seconds: float = Field(default=0.0, ge=0.0)


class InspectionRecord(_Model):
    """The result of inspecting one image.

    Attributes:
        format: Record format version.
        image_id: Identity of the image within the run (its path relative to the common folder
            of the run's images, POSIX); finished ids are skipped when a run resumes.
        image: The image file.
        category: Product category.
        verdict: ``anomaly``, ``good`` or ``error`` (agrees with ``rules`` and ``error``).
        score: Anomaly score (``None`` when the image failed).
        rules: Outcome of every rule of the pack (rules that failed to compile are absent;
            the manifest lists them).
        evidence: The components that violations cite, by component id.
        scene: Path of the scene JSON, relative to the run folder.
        timings: Seconds per stage (``perception``, ``rules``, ``explain``, ``total``).
        error: Why the image could not be inspected, one line.
        explanation: The explanation, when ``--explain`` was given.
        started: finished: ISO-8601 UTC timestamps.
    """

    format: Literal[1] = RECORD_FORMAT
    image_id: str = Field(min_length=1)
    image: ImageRef
    category: str = Field(min_length=1)
    verdict: Literal["anomaly", "good", "error"]
    score: float | None = Field(default=None, ge=0.0)
    rules: list[RuleOutcome] = Field(default_factory=list)
    evidence: dict[str, Evidence] = Field(default_factory=dict)
    scene: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    explanation: Explanation | None = None
    started: str
    finished: str

    @field_validator("timings")
    @classmethod
    def _timings_ok(cls, v: dict[str, float]) -> dict[str, float]:
        return check_timings(v)

    @model_validator(mode="after")
    def _consistent(self) -> InspectionRecord:
        check_verdict(self.rules, self.verdict, self.score, self.error)
        cited = {e for r in self.rules for v in r.violations for e in v.evidence}
        missing = cited - set(self.evidence)
        if missing:
            raise ValueError(f"violations cite components without evidence: {sorted(missing)}")
        return self


class RunManifest(_Model):
    """Provenance of an inspection run (``run.json``).

    Attributes:
        format: Manifest format version.
        run_id: Identity of the run (also in the audit log's header).
        logicode_version: Software version that made the run.
        created: When the run folder was first made (ISO-8601 UTC).
        category: Product category.
        spec_sha256: SHA-256 of the category spec the rules came from.
        pack: Where the rule pack is (``path``), its digest, and for every rule its English
            text, status, guards and code SHA-256 (``rules``), plus the model and prompt
            hashes that made it (copied from the pack manifest).
        perception: The front end's provenance (stages, references), or ``{"scenes": "given"}``
            when scenes were given instead of images.
        explain: Explainer backend, model and prompt template hashes (``None``: no --explain).
        settings: The options the run was started with (resuming with other options refuses).
        audit: Anchor of the audit log after the last session of the run: ``path``, ``head``
            (hash of its last record) and ``count`` (see ``logicode audit verify
            --expect-head``).
    """

    format: Literal[1] = RECORD_FORMAT
    run_id: str = Field(min_length=1)
    logicode_version: str = __version__
    created: str
    category: str
    spec_sha256: str
    pack: dict[str, Any]
    perception: dict[str, Any] = Field(default_factory=dict)
    explain: dict[str, Any] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    audit: dict[str, Any] | None = None


def evidence_of(
    rules: Sequence[RuleOutcome], components: Sequence[Mapping[str, Any]]
) -> dict[str, Evidence]:
    """The :class:`Evidence` of every component id that a violation cites.

    Args:
        rules: Rule outcomes of one image.
        components: The scene's components (dicts with ``id``, ``label``, ``bbox``, ``score``).

    Returns:
        Evidence by component id; ids the scene does not have are left out (the sandbox
        already checks that rule results cite only strings).
    """
    by_id = {str(c["id"]): c for c in components}
    out: dict[str, Evidence] = {}
    for r in rules:
        for v in r.violations:
            for cid in v.evidence:
                c = by_id.get(cid)
                if c is None or cid in out:
                    continue
                out[cid] = Evidence(
                    id=cid,
                    label=str(c["label"]),
                    bbox=[float(x) for x in c["bbox"]],
                    score=c.get("score"),
                )
    return out


def append_result(out: str | Path, record: InspectionRecord) -> None:
    """Append a record to ``OUT/results.jsonl`` (crash-safe, see :mod:`logicode.jsonl`)."""
    append_model(Path(out) / RESULTS_FILE, record)


def read_results(out: str | Path) -> list[InspectionRecord]:
    """The records of a run folder (later duplicates of an image win; none if no file).

    Raises:
        InspectionError: A line other than a truncated last one is not a valid record.
    """
    return read_models(
        Path(out) / RESULTS_FILE,
        InspectionRecord,
        lambda r: r.image_id,
        what="inspection record",
        error=InspectionError,
    )


def read_manifest(out: str | Path) -> RunManifest:
    """Load ``OUT/run.json``.

    Raises:
        InspectionError: Missing or invalid.
    """
    path = Path(out) / MANIFEST_FILE
    try:
        return RunManifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise InspectionError(
            f"{path}: no run manifest; is {out} an inspect --out folder?"
        ) from None
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise InspectionError(f"{path}: invalid run manifest ({first})") from None
