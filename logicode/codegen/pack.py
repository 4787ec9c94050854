"""Rule packs: compiled rule code plus a manifest that says where every byte came from.

Layout of a pack folder::

    PACK/
      manifest.json        provenance and validation results (see RuleEntry, PackManifest)
      rules/<rule_id>.py   the code of each rule that compiled and passed validation

A pack is loaded only if every rule file still has the SHA-256 its manifest records: rule code
edited after validation is refused.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from logicode import __version__
from logicode.errors import LogicodeError

PACK_FORMAT = 1


class PackError(LogicodeError):
    """A rule pack is missing, malformed or was modified after it was compiled."""


class RuleEntry(BaseModel):
    """One rule of a pack.

    Attributes:
        id: Rule id from the spec.
        text: The rule in English, as compiled.
        guards: Defect names the rule guards (from the spec).
        status: ``ok`` when code passed validation, ``failed`` otherwise (no code is used).
        reason: Why a failed rule failed (one line).
        code_sha256: SHA-256 of ``rules/<id>.py`` (ok rules only).
        validation: Validation figures (references passed, counterexamples...).
        rounds: Repair rounds used (the model's and automatic fixes); candidates: candidates
            validated; seconds: wall time.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    guards: list[str] = Field(default_factory=list)
    status: Literal["ok", "failed"]
    reason: str = ""
    code_sha256: str | None = None
    validation: dict[str, Any] = Field(default_factory=dict)
    rounds: int = 0
    candidates: int = 0
    seconds: float = 0.0


class PackManifest(BaseModel):
    """Provenance of a pack."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = PACK_FORMAT
    category: str
    spec_sha256: str
    logicode_version: str = __version__
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    model: dict[str, Any] = Field(default_factory=dict)
    prompts: dict[str, str] = Field(default_factory=dict, description="template -> sha256")
    api_sha256: str = ""
    references: list[str] = Field(default_factory=list, description="reference scene sha256s")
    settings: dict[str, Any] = Field(default_factory=dict)
    rules: list[RuleEntry] = Field(default_factory=list)


def code_sha256(code: str) -> str:
    """SHA-256 of rule code as stored (UTF-8)."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


class RulePack:
    """A manifest plus the code of its ``ok`` rules."""

    def __init__(self, manifest: PackManifest, code: dict[str, str]) -> None:
        self.manifest = manifest
        self.code = code

    @property
    def ok_rules(self) -> dict[str, str]:
        """Code of the rules that passed validation, by id, in spec order."""
        return {r.id: self.code[r.id] for r in self.manifest.rules if r.status == "ok"}

    def entry(self, rule_id: str) -> RuleEntry:
        """Manifest entry of a rule (KeyError if absent)."""
        for r in self.manifest.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def save(self, folder: str | Path) -> Path:
        """Write the pack (rule files first, then the manifest, each atomically)."""
        folder = Path(folder)
        (folder / "rules").mkdir(parents=True, exist_ok=True)
        for rule in self.manifest.rules:
            if rule.status == "ok":
                rule.code_sha256 = code_sha256(self.code[rule.id])
                _atomic_write(folder / "rules" / f"{rule.id}.py", self.code[rule.id])
        _atomic_write(folder / "manifest.json", self.manifest.model_dump_json(indent=1))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> RulePack:
        """Read a pack and verify every rule file against its recorded SHA-256.

        Raises:
            PackError: Missing or malformed manifest, missing rule file, or hash mismatch.
        """
        folder = Path(folder)
        path = folder / "manifest.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError:
            raise PackError(f"{folder}: not a rule pack (no manifest.json)") from None
        except json.JSONDecodeError as exc:
            raise PackError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        try:
            manifest = PackManifest.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PackError(f"{path}: {where}: {first['msg']}") from None
        code: dict[str, str] = {}
        for rule in manifest.rules:
            if rule.status != "ok":
                continue
            rpath = folder / "rules" / f"{rule.id}.py"
            try:
                text = rpath.read_text(encoding="utf-8")
            except OSError:
                raise PackError(f"{rpath}: rule file missing; recompile the pack") from None
            if code_sha256(text) != rule.code_sha256:
                raise PackError(
                    f"{rpath}: code does not match the manifest hash (edited after compiling?);"
                    " recompile the pack"
                )
            code[rule.id] = text
        return cls(manifest, code)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
