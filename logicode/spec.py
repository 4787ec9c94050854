"""Category specs: what a product is made of and the rules a normal one obeys, as data.

A spec is a YAML file, one per product category, under ``prompts/categories/<name>.yaml``
(or anywhere a user keeps one). It holds the component vocabulary with per-label
attributes, the defect kinds with their logical anomaly type, and the normality rules in
plain English, each rule naming the defects it guards. Nothing about a category is written
in code: perception, rule generation and the synthetic generator all read this file.

Example (abridged)::

    schema_version: 1
    category: juice_bottle
    description: One glass bottle of juice with two labels, seen from the front.
    image: {width: 800, height: 1600}
    components:
      - label: bottle
        description: The glass bottle.
      - label: fruit_icon
        description: The fruit picture on the top label.
        attributes: [{name: kind, type: enum, values: [cherry, orange, banana, unknown]}]
    defects:
      - {name: missing_top_label, anomaly_type: quantity, description: No top label.}
    rules:
      - id: top_label_present
        text: There is exactly one top label.
        guards: [missing_top_label]
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from logicode.errors import SpecError, field_path
from logicode.scene import AnomalyType

CATEGORIES_DIR = Path(__file__).resolve().parent.parent / "prompts" / "categories"
"""Folder of the category specs shipped with logicode."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttributeSpec(_Model):
    """An attribute a component of one label carries in ``Component.attributes``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: Literal["enum", "number", "bool", "string"]
    values: list[str] | None = Field(default=None, description="Allowed values of an enum.")
    unit: str | None = None
    nullable: bool = Field(
        default=False,
        description="The value may be null (None) on a normal part; say when in description.",
    )
    description: str = ""

    @model_validator(mode="after")
    def _enum_values(self) -> AttributeSpec:
        if self.type == "enum" and not self.values:
            raise ValueError(f"attribute {self.name!r} of type enum needs a 'values' list")
        return self


class ComponentSpec(_Model):
    """One entry of the vocabulary."""

    label: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    attributes: list[AttributeSpec] = Field(default_factory=list)


class DefectSpec(_Model):
    """A kind of logical anomaly of this category (names as in the dataset)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_]*$")
    anomaly_type: AnomalyType
    description: str = ""


class RuleSpec(_Model):
    """A normality rule in plain English."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str = Field(min_length=3)
    guards: list[str] = Field(default_factory=list, description="Defect names this rule catches.")


class ImageSize(_Model):
    """Nominal image size of the category."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)


class CategorySpec(_Model):
    """A product category: vocabulary, defects and rules."""

    schema_version: Literal[1] = 1
    category: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = ""
    description: str = ""
    image: ImageSize | None = None
    components: list[ComponentSpec] = Field(min_length=1)
    defects: list[DefectSpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> CategorySpec:
        labels = [c.label for c in self.components]
        dup = {x for x in labels if labels.count(x) > 1}
        if dup:
            raise ValueError(f"components: duplicate label(s) {sorted(dup)}")
        ids = [r.id for r in self.rules]
        dup = {x for x in ids if ids.count(x) > 1}
        if dup:
            raise ValueError(f"rules: duplicate id(s) {sorted(dup)}")
        names = {d.name for d in self.defects}
        for i, rule in enumerate(self.rules):
            unknown = [g for g in rule.guards if g not in names]
            if unknown:
                raise ValueError(
                    f"rules[{i}] ({rule.id}).guards: {unknown} are not defects of this spec"
                )
        return self

    @property
    def vocabulary(self) -> list[str]:
        """Component labels, in spec order."""
        return [c.label for c in self.components]

    def component(self, label: str) -> ComponentSpec:
        """The vocabulary entry of ``label`` (KeyError if absent)."""
        for c in self.components:
            if c.label == label:
                return c
        raise KeyError(label)

    def defect(self, name: str) -> DefectSpec:
        """The defect entry named ``name`` (KeyError if absent)."""
        for d in self.defects:
            if d.name == name:
                return d
        raise KeyError(name)

    def rule(self, rule_id: str) -> RuleSpec:
        """The rule with id ``rule_id`` (KeyError if absent)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def rules_guarding(self, defect: str) -> list[RuleSpec]:
        """Rules whose ``guards`` name ``defect``."""
        return [r for r in self.rules if defect in r.guards]


def spec_from_dict(data: Any, *, source: str = "<spec>") -> CategorySpec:
    """Validate a decoded YAML mapping as a :class:`CategorySpec`.

    Raises:
        SpecError: Naming the source and the first invalid field.
    """
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a category spec must be a YAML mapping")
    try:
        return CategorySpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = f"{field_path(first['loc'])}: " if first["loc"] else ""
        msg = first["msg"].removeprefix("Value error, ")
        raise SpecError(f"{source}: {where}{msg}") from None


def spec_path(name_or_path: str | Path) -> Path:
    """Resolve a category name (``juice_bottle``) or a YAML path to a spec file path.

    Raises:
        SpecError: If neither a file of that path nor a shipped category of that name exists.
    """
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise SpecError(f"{p}: spec file not found")
        return p
    candidate = CATEGORIES_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(list_categories()) or "none"
    raise SpecError(f"unknown category {str(name_or_path)!r}; known categories: {known}")


def load_spec(name_or_path: str | Path) -> CategorySpec:
    """Load and validate a category spec by name or path."""
    path = spec_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SpecError(f"{path}: not valid YAML{where}") from None
    return spec_from_dict(data, source=str(path))


def spec_sha256(name_or_path: str | Path) -> str:
    """SHA-256 of a spec file's bytes (for provenance in rule packs and reports)."""
    return hashlib.sha256(spec_path(name_or_path).read_bytes()).hexdigest()


def list_categories() -> list[str]:
    """Names of the category specs shipped with logicode."""
    if not CATEGORIES_DIR.is_dir():
        return []
    return sorted(p.stem for p in CATEGORIES_DIR.glob("*.yaml"))
