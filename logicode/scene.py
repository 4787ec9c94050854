"""The scene: our LOCO-Annotations format, the one contract between perception and rules.

A :class:`Scene` says what is in one inspection image: the image it describes, the product
category, the components found (each with a label from the category's vocabulary, a box, a
mask, geometry and colour), an optional ground-truth label, and free metadata.

Conventions (all in image pixels, origin at the top-left corner, y grows downwards):

* ``bbox`` is ``[x0, y0, x1, y1]`` (XYXY); ``x1``/``y1`` are exclusive pixel edges.
* ``centroid`` is ``[x, y]``.
* ``orientation`` is the angle of the component's major axis in degrees, in ``[-90, 90)``,
  measured from the +x axis towards +y (clockwise on screen); ``0`` = horizontal. Compact
  shapes (axes ratio < 1.5) carry their minimum-area rectangle's angle, in ``[-45, 45)``.
* ``mask`` is COCO RLE (see :mod:`logicode.mask`) of size ``[height, width]``.
* ``color.rgb`` is the mean colour under the mask, 0-255 per channel.

Every load validates twice: against the versioned JSON Schema shipped in
``logicode/schemas/`` (structure), then with pydantic plus semantic checks (bbox inside the
image, mask size, unique ids, vocabulary). Errors name the offending field.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from logicode.errors import SceneError, field_path

SCHEMA_VERSION = "1.0"
"""Version of the scene format written by this release."""

SCHEMA_FILE = f"scene-{SCHEMA_VERSION}.schema.json"

AttributeValue = str | int | float | bool | None | list[str | int | float | bool]


class LabelKind(str, Enum):
    """Ground-truth class of a whole image."""

    good = "good"
    logical_anomaly = "logical_anomaly"
    structural_anomaly = "structural_anomaly"


class AnomalyType(str, Enum):
    """The four logical anomaly types of LogiCode/LogiBench, plus ``other``."""

    quantity = "quantity"
    size = "size"
    position = "position"
    matching = "matching"
    other = "other"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class ImageInfo(_Model):
    """The image a scene describes."""

    path: str = Field(description="Image path, relative to the scene file's folder or absolute.")
    width: int = Field(gt=0, description="Image width in pixels.")
    height: int = Field(gt=0, description="Image height in pixels.")
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the image file bytes (lower-case hex).",
    )


class Rle(_Model):
    """COCO run-length encoded mask (compressed string counts)."""

    size: tuple[int, int] = Field(description="[height, width] of the image the mask covers.")
    counts: str = Field(description="Compressed COCO RLE counts string.")


class Color(_Model):
    """Mean colour of a component."""

    rgb: tuple[int, int, int] = Field(description="Mean colour, 0-255 per channel.")
    name: str = Field(description="Basic colour name, e.g. 'red', 'white' (see logicode.color).")

    @field_validator("rgb")
    @classmethod
    def _rgb_range(cls, v: tuple[int, int, int]) -> tuple[int, int, int]:
        if any(c < 0 or c > 255 for c in v):
            raise ValueError(f"each channel must lie in 0..255, got {list(v)}")
        return v


class Component(_Model):
    """One part of the product found in the image."""

    id: str = Field(min_length=1, description="Unique id within the scene, e.g. 'c3'.")
    label: str = Field(min_length=1, description="Name from the category's vocabulary.")
    score: float = Field(default=1.0, ge=0.0, le=1.0, description="Detection confidence.")
    bbox: tuple[float, float, float, float] = Field(description="[x0, y0, x1, y1] in pixels.")
    mask: Rle | None = Field(default=None, description="COCO RLE of the component's pixels.")
    area: float = Field(ge=0.0, description="Area in pixels (mask pixels, else box area).")
    centroid: tuple[float, float] = Field(description="[x, y] centre of mass in pixels.")
    orientation: float = Field(
        default=0.0,
        ge=-90.0,
        lt=90.0,
        description="Major-axis angle in degrees, [-90, 90); for compact shapes the "
        "minimum-area rectangle angle, [-45, 45).",
    )
    color: Color | None = Field(default=None, description="Mean colour and its name.")
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="Free per-label attributes (e.g. fruit_icon)."
    )

    @field_validator("bbox")
    @classmethod
    def _bbox_ordered(cls, v: tuple[float, float, float, float]) -> tuple:
        x0, y0, x1, y1 = v
        if x1 < x0 or y1 < y0:
            raise ValueError(f"bbox must be [x0, y0, x1, y1] with x0<=x1 and y0<=y1, got {list(v)}")
        return v


class GroundTruth(_Model):
    """Ground-truth label of a whole image (present in datasets, absent in inspection)."""

    kind: LabelKind
    anomaly_type: AnomalyType | None = Field(
        default=None, description="Type of a logical anomaly; null for good images."
    )
    defects: list[str] = Field(default_factory=list, description="Defect names (dataset names).")
    reason: str = Field(default="", description="One-line human explanation.")

    @model_validator(mode="after")
    def _consistent(self) -> GroundTruth:
        if self.kind is LabelKind.good and (self.defects or self.anomaly_type is not None):
            raise ValueError("a 'good' label must have no defects and no anomaly_type")
        return self


class Scene(_Model):
    """Everything the rules may know about one image."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    image: ImageInfo
    category: str = Field(min_length=1)
    components: list[Component] = Field(default_factory=list)
    label: GroundTruth | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _inside_image(self) -> Scene:
        w, h = self.image.width, self.image.height
        seen: set[str] = set()
        for i, c in enumerate(self.components):
            where = f"components[{i}] (id {c.id!r})"
            if c.id in seen:
                raise ValueError(f"{where}: duplicate component id")
            seen.add(c.id)
            x0, y0, x1, y1 = c.bbox
            tol = 0.5
            if x0 < -tol or y0 < -tol or x1 > w + tol or y1 > h + tol:
                raise ValueError(f"{where}.bbox {list(c.bbox)} lies outside the {w}x{h} image")
            cx, cy = c.centroid
            if not (-tol <= cx <= w + tol and -tol <= cy <= h + tol):
                raise ValueError(f"{where}.centroid {list(c.centroid)} lies outside the image")
            if c.mask is not None and tuple(c.mask.size) != (h, w):
                raise ValueError(
                    f"{where}.mask.size {list(c.mask.size)} does not match the image [h, w] "
                    f"= [{h}, {w}]"
                )
        return self

    # --- convenience -----------------------------------------------------------------

    def labels(self) -> list[str]:
        """Labels of all components, in order."""
        return [c.label for c in self.components]

    def counts(self) -> dict[str, int]:
        """Number of components per label."""
        out: dict[str, int] = {}
        for c in self.components:
            out[c.label] = out.get(c.label, 0) + 1
        return out

    def check_vocabulary(self, vocabulary: Iterable[str]) -> None:
        """Raise :class:`SceneError` if a component label is not in ``vocabulary``."""
        vocab = set(vocabulary)
        for i, c in enumerate(self.components):
            if c.label not in vocab:
                raise SceneError(
                    f"components[{i}].label: {c.label!r} is not in the {self.category!r} "
                    f"vocabulary {sorted(vocab)}"
                )

    def to_json(self, indent: int | None = 1) -> str:
        """Serialise to JSON text (round-trips losslessly through :func:`scene_from_json`)."""
        return self.model_dump_json(indent=indent, exclude_none=False)

    def save(self, path: str | Path) -> None:
        """Write the scene atomically to ``path`` (temporary file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)


# --- schema ------------------------------------------------------------------------------


def generate_schema() -> dict[str, Any]:
    """JSON Schema of the current scene format, generated from the pydantic models."""
    schema = Scene.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://logicode.dev/schemas/{SCHEMA_FILE}"
    schema["title"] = f"logicode scene {SCHEMA_VERSION} (LOCO-Annotations)"
    return schema


@functools.cache
def load_schema() -> dict[str, Any]:
    """The JSON Schema file shipped in the package (``logicode/schemas/``)."""
    text = resources.files("logicode").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = load_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def scene_from_dict(data: Any, *, vocabulary: Iterable[str] | None = None) -> Scene:
    """Validate a decoded JSON object and build a :class:`Scene`.

    Args:
        data: The decoded JSON object.
        vocabulary: If given, every component label must be one of these names.

    Raises:
        SceneError: With the path of the first invalid field in the message.

    """
    if not isinstance(data, dict):
        raise SceneError(f"<root>: a scene must be a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SceneError(
            f"schema_version: {version!r} is not supported; this release reads {SCHEMA_VERSION!r}"
        )
    err = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if err is not None:
        raise SceneError(f"{field_path(err.absolute_path)}: {err.message}")
    try:
        scene = Scene.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first["msg"].removeprefix("Value error, ")
        where = f"{field_path(first['loc'])}: " if first["loc"] else ""
        raise SceneError(f"{where}{msg}") from None
    if vocabulary is not None:
        scene.check_vocabulary(vocabulary)
    return scene


def scene_from_json(text: str, *, vocabulary: Iterable[str] | None = None) -> Scene:
    """Parse JSON text into a validated :class:`Scene` (see :func:`scene_from_dict`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SceneError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return scene_from_dict(data, vocabulary=vocabulary)


def load_scene(path: str | Path, *, vocabulary: Iterable[str] | None = None) -> Scene:
    """Read and validate a scene JSON file.

    Raises:
        SceneError: If the file is missing or invalid; the message starts with the path.

    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SceneError(f"{path}: cannot read scene file ({exc.strerror})") from None
    try:
        return scene_from_json(text, vocabulary=vocabulary)
    except SceneError as exc:
        raise SceneError(f"{path}: {exc}") from None


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
