"""The explanation prompt: what a language model is told about one inspected image.

A prompt is built from the templates in ``prompts/explain/`` (``string.Template`` files, see
:mod:`logicode.prompts`), in the order of *Customizing Visual-Language Foundation Models for
Multi-modal Anomaly Detection and Reasoning*: task description (``system.md``), class context
from the category spec (``category.md``: product, vocabulary, normality rules), reference
image(s), the query image, then our own measurements (``query.md``: the scene in compact text
and every rule's result). A template ``prompts/explain/<category>/<name>.md`` replaces the
generic ``prompts/explain/<name>.md`` for that category only.

Two forms:

* **text** (``vision=False``): for text-only models. Images are given by what perception
  measured: the query's scene is in ``query.md``; normal references are summarised from their
  scenes (``reference_text.md``).
* **vision** (``vision=True``): the user message is a list of OpenAI content parts: each
  reference image then the query image, each introduced by a text part
  (``reference_image.md``, ``query_image.md``) and sent as a base64 JPEG data URI no larger
  than :data:`MAX_IMAGE_SIDE` pixels, then the text of ``query.md``.

The model must answer one JSON object that validates as :class:`ExplainAnswer`;
:func:`parse_answer` finds it in the reply (code fences and chatter tolerated) and says in one
line what is wrong otherwise.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import re
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from logicode.bench.metrics import image_verdict
from logicode.bench.records import RuleOutcome
from logicode.errors import ImageError, LogicodeError
from logicode.prompts import PROMPTS_DIR, PromptTemplate, load_template
from logicode.scene import Scene
from logicode.spec import CategorySpec

TEMPLATE_NAMES: tuple[str, ...] = (
    "system",
    "category",
    "query",
    "reference_text",
    "reference_image",
    "query_image",
    "repair",
)
"""Templates of ``prompts/explain/`` (without ``.md``); each may be overridden per category."""

MAX_IMAGE_SIDE = 768
"""Longest side, in pixels, of an image sent to a vision model."""

JPEG_QUALITY = 85
MAX_REASONING_CHARS = 2000
MAX_MESSAGE_CHARS = 160
MAX_VIOLATIONS_SHOWN = 3


class AnswerError(LogicodeError):
    """A model's reply is not a valid explanation (the message says what to fix)."""


# --- request and answer ------------------------------------------------------------------------


class ExplainRequest(BaseModel):
    """Everything an explainer needs about one inspected image.

    Attributes:
        spec: The category spec (product, vocabulary, rules).
        scene: The scene perception wrote (a JSON dict; a :class:`~logicode.scene.Scene` is
            converted). Its ground-truth ``label`` is never shown to a model.
        outcomes: Every rule's outcome on this image.
        rule_texts: Rule id -> English text; defaults to the spec's rules (given entries win).
        rules_verdict: The rules' verdict, ``good`` or ``anomaly``; derived from ``outcomes``
            when omitted. Images whose verdict is ``error`` are not explained.
        image: The query image file (vision prompts only).
        references: Normal reference image files (vision prompts only).
        reference_scenes: Scenes of normal references (JSON dicts), summarised in text prompts.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    spec: CategorySpec
    scene: dict[str, Any]
    outcomes: list[RuleOutcome]
    rule_texts: dict[str, str] = Field(default_factory=dict)
    rules_verdict: Literal["good", "anomaly"] | None = None
    image: Path | None = None
    references: list[Path] = Field(default_factory=list)
    reference_scenes: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("scene", mode="before")
    @classmethod
    def _scene_dict(cls, v: Any) -> Any:
        return v.model_dump(mode="json") if isinstance(v, Scene) else v

    @field_validator("reference_scenes", mode="before")
    @classmethod
    def _reference_dicts(cls, v: Any) -> Any:
        if isinstance(v, Sequence) and not isinstance(v, str | bytes):
            return [s.model_dump(mode="json") if isinstance(s, Scene) else s for s in v]
        return v

    @model_validator(mode="after")
    def _fill(self) -> ExplainRequest:
        texts = {r.id: " ".join(r.text.split()) for r in self.spec.rules}
        texts.update({k: " ".join(v.split()) for k, v in self.rule_texts.items()})
        self.rule_texts = texts
        if self.rules_verdict is None:
            verdict = image_verdict(self.outcomes)
            if verdict == "error":
                raise ValueError(
                    "the rules' verdict is 'error' (a rule errored and none failed, or none "
                    "ran): only good or anomaly verdicts are explained"
                )
            self.rules_verdict = verdict
        return self

    @property
    def rule_ids(self) -> list[str]:
        """Rule ids an answer may cite (the spec's rules, then any extra ``rule_texts``)."""
        return list(self.rule_texts)

    @property
    def verdict(self) -> Literal["good", "anomaly"]:
        """The rules' verdict (always set after validation)."""
        assert self.rules_verdict is not None
        return self.rules_verdict


class ExplainAnswer(BaseModel):
    """The JSON object a model must answer (validated; extra keys are ignored).

    Pass ``context={"rule_ids": [...]}`` to ``model_validate`` to refuse unknown rule ids.

    Attributes:
        reasoning: Plain-language explanation, 1 to 2000 characters.
        verdict: ``good`` or ``anomaly``.
        cited_rules: Ids of the rules the reasoning relies on (duplicates dropped).
    """

    model_config = ConfigDict(extra="ignore")

    reasoning: str = Field(min_length=1, max_length=MAX_REASONING_CHARS)
    verdict: Literal["good", "anomaly"]
    cited_rules: list[str] = Field(default_factory=list)

    @field_validator("reasoning", mode="before")
    @classmethod
    def _strip(cls, v: Any) -> Any:
        return v.strip() if isinstance(v, str) else v

    @field_validator("verdict", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("cited_rules", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        if v is None:
            return []
        return [v] if isinstance(v, str) else v

    @field_validator("cited_rules")
    @classmethod
    def _known(cls, v: list[str], info: ValidationInfo) -> list[str]:
        ids = (info.context or {}).get("rule_ids")
        out = list(dict.fromkeys(s.strip() for s in v))
        if ids is not None:
            unknown = [s for s in out if s not in set(ids)]
            if unknown:
                raise ValueError(f"{unknown[0]!r} is not a rule id; use only: {', '.join(ids)}")
        return out


def answer_json_schema(rule_ids: Sequence[str]) -> dict[str, Any]:
    """JSON Schema of the answer, for backends that constrain decoding (``response_format``).

    Reasoning is capped at 1200 characters and citations at 5 here (the reply must fit in the
    token budget); validation allows up to :data:`MAX_REASONING_CHARS` and any number.
    """
    cited: dict[str, Any] = {"type": "array", "items": {"type": "string"}, "maxItems": 5}
    if rule_ids:
        cited["items"] = {"type": "string", "enum": list(rule_ids)}
    return {
        "title": "ExplainAnswer",
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "minLength": 1, "maxLength": 1200},
            "verdict": {"type": "string", "enum": ["good", "anomaly"]},
            "cited_rules": cited,
        },
        "required": ["reasoning", "verdict", "cited_rules"],
        "additionalProperties": False,
    }


_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.DOTALL)


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text``: inside a code fence first, else anywhere."""
    decoder = json.JSONDecoder()
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for chunk in candidates:
        for m in re.finditer(r"\{", chunk):
            try:
                obj, _ = decoder.raw_decode(chunk, m.start())
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj
    return None


def parse_answer(text: str, rule_ids: Sequence[str]) -> ExplainAnswer:
    """Parse a model's reply into an :class:`ExplainAnswer`.

    Args:
        text: The reply.
        rule_ids: Rule ids that may be cited.

    Raises:
        AnswerError: No JSON object, or it does not validate (one line, for a repair prompt).
    """
    data = extract_json_object(text)
    if data is None:
        snippet = " ".join(text.split())[:80]
        raise AnswerError(f"no JSON object found in the reply ({snippet!r})")
    try:
        return ExplainAnswer.model_validate(data, context={"rule_ids": list(rule_ids)})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "answer"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise AnswerError(f"{field}: {msg}") from None


# --- templates ---------------------------------------------------------------------------------


def load_explain_templates(
    category: str, root: str | Path | None = None
) -> dict[str, PromptTemplate]:
    """Load the explanation templates, preferring ``explain/<category>/<name>.md``.

    Args:
        category: Category whose overrides apply.
        root: Prompts folder (default: the shipped ``prompts/``).

    Returns:
        Template by short name (see :data:`TEMPLATE_NAMES`); each template's ``name`` is the
        file it came from, so provenance shows which override was used.

    Raises:
        PromptError: A generic template is missing.
    """
    base = Path(root) if root is not None else PROMPTS_DIR
    out = {}
    for name in TEMPLATE_NAMES:
        override = f"explain/{category}/{name}.md"
        path = override if (base / override).is_file() else f"explain/{name}.md"
        out[name] = load_template(path, base)
    return out


# --- text of the scene, rules and references ---------------------------------------------------


def _num(x: float) -> str:
    """A number, rounded for a small context: integers above 10, else two decimals."""
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int) or abs(x) >= 10:
        return str(round(x))
    return f"{x:.2f}".rstrip("0").rstrip(".") or "0"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int | float):
        return _num(v)
    return str(v).replace(" ", "_")


def component_line(c: Mapping[str, Any]) -> str:
    """One component in compact text: ``c3 fruit_icon [352,520,448,610] red ang=0 kind=cherry``.

    The score is shown (``p=0.87``) only when below 0.995.
    """
    box = ",".join(str(round(float(v))) for v in c["bbox"])
    parts = [str(c["id"]), str(c["label"]), f"[{box}]"]
    color = (c.get("color") or {}).get("name")
    if color:
        parts.append(str(color))
    if c.get("orientation") is not None:
        parts.append(f"ang={round(float(c['orientation']))}")
    for key, val in (c.get("attributes") or {}).items():
        parts.append(f"{key}={_value(val)}")
    score = c.get("score")
    if score is not None and float(score) < 0.995:
        parts.append(f"p={float(score):.2f}")
    return " ".join(parts)


def scene_text(scene: Mapping[str, Any]) -> str:
    """All components of a scene, one compact line each (the ground-truth label is left out)."""
    comps = scene.get("components") or []
    if not comps:
        return "(no parts found)"
    return "\n".join(component_line(c) for c in comps)


def _short(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def rule_results_text(outcomes: Sequence[RuleOutcome], rule_ids: Sequence[str] = ()) -> str:
    """Rule results: a summary line, passed ids, one line per failed or errored rule.

    Args:
        outcomes: The rule outcomes of one image.
        rule_ids: All rule ids of the spec; those without an outcome are listed as not checked.
    """
    passed = [o.rule for o in outcomes if o.status == "pass"]
    failed = [o.rule for o in outcomes if o.status == "fail"]
    if failed:
        lines = [f"{len(failed)} of {len(outcomes)} rules failed: {', '.join(failed)}"]
        lines.append(f"Passed: {', '.join(passed) if passed else 'none'}")
    elif passed and len(passed) == len(outcomes):
        lines = [f"All {len(outcomes)} rules passed."]
    else:
        lines = [f"No rule failed. Passed: {', '.join(passed) if passed else 'none'}"]
    for o in outcomes:
        if o.status == "fail":
            shown = [
                _short(v.message) + (f" [{','.join(v.evidence)}]" if v.evidence else "")
                for v in o.violations[:MAX_VIOLATIONS_SHOWN]
            ]
            more = len(o.violations) - MAX_VIOLATIONS_SHOWN
            if more > 0:
                shown.append(f"and {more} more")
            lines.append(f"FAIL {o.rule}: " + "; ".join(shown))
    for o in outcomes:
        if o.status == "error":
            err = o.error or {}
            lines.append(f"ERROR {o.rule}: {_short(err.get('message', ''))} (no result)")
    seen = {o.rule for o in outcomes}
    missing = [r for r in rule_ids if r not in seen]
    if missing:
        lines.append(f"Not checked (no rule code): {', '.join(missing)}")
    return "\n".join(lines)


def vocabulary_text(spec: CategorySpec) -> str:
    """One line per label: description and attributes (enum values listed)."""
    lines = []
    for comp in spec.components:
        line = f"- {comp.label}: {' '.join(comp.description.split())}".rstrip(": ")
        attrs = []
        for a in comp.attributes:
            kind = "|".join(a.values or []) if a.type == "enum" else a.type
            unit = f" {a.unit}" if a.unit else ""
            desc = f": {' '.join(a.description.split())}" if a.description else ""
            attrs.append(f"{a.name} ({kind}{unit}){desc}")
        if attrs:
            line += " Attributes: " + "; ".join(attrs)
        lines.append(line)
    return "\n".join(lines)


def rules_text(rule_texts: Mapping[str, str]) -> str:
    """One line per rule: ``- id: text``."""
    return "\n".join(f"- {rid}: {text}" for rid, text in rule_texts.items())


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def reference_summary(spec: CategorySpec, scenes: Sequence[Mapping[str, Any]]) -> str:
    """What normal references look like, per label: count, typical box, colour, attributes.

    Example line: ``- bottle: 1 per image, box about 394x1367 px centred at (402,803), yellow``.
    """
    labels = list(spec.vocabulary)
    for s in scenes:
        labels += [c["label"] for c in s.get("components") or [] if c["label"] not in labels]
    lines = []
    for label in labels:
        counts = [sum(c["label"] == label for c in s.get("components") or []) for s in scenes]
        comps = [c for s in scenes for c in s.get("components") or [] if c["label"] == label]
        lo, hi = min(counts), max(counts)
        count = str(lo) if lo == hi else f"{lo}-{hi}"
        if not comps:
            lines.append(f"- {label}: {count} per image")
            continue
        w = _median([c["bbox"][2] - c["bbox"][0] for c in comps])
        h = _median([c["bbox"][3] - c["bbox"][1] for c in comps])
        cx = _median([(c["bbox"][0] + c["bbox"][2]) / 2 for c in comps])
        cy = _median([(c["bbox"][1] + c["bbox"][3]) / 2 for c in comps])
        text = f"- {label}: {count} per image, box about {w:.0f}x{h:.0f} px"
        if hi == 1:
            text += f" centred at ({cx:.0f},{cy:.0f})"
        colors = sorted({(c.get("color") or {}).get("name") for c in comps} - {None})
        if colors:
            text += ", " + "/".join(colors)
        values: dict[str, set[str]] = {}
        for c in comps:
            for k, v in (c.get("attributes") or {}).items():
                if isinstance(v, str | bool | int):
                    values.setdefault(k, set()).add(_value(v))
        for k, vs in values.items():
            if len(vs) <= 6:
                text += f", {k} in {{{','.join(sorted(vs))}}}"
        lines.append(text)
    return "\n".join(lines)


# --- images ------------------------------------------------------------------------------------


class EncodedImage(NamedTuple):
    """An image as sent to a vision model.

    Attributes:
        data_uri: ``data:image/jpeg;base64,...``.
        sha256: SHA-256 of the JPEG bytes sent.
        width: height: Size of the sent image.
    """

    data_uri: str
    sha256: str
    width: int
    height: int


@functools.lru_cache(maxsize=32)
def _encode_cached(
    path: str, mtime_ns: int, size: int, max_side: int, quality: int
) -> EncodedImage:
    from PIL import Image

    from logicode.imageio import read_image

    im = Image.fromarray(read_image(path))
    scale = max_side / max(im.size)
    if scale < 1:
        im = im.resize(
            (max(1, round(im.width * scale)), max(1, round(im.height * scale))),
            Image.Resampling.LANCZOS,
        )
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality, optimize=True)
    data = buf.getvalue()
    return EncodedImage(
        data_uri="data:image/jpeg;base64," + base64.b64encode(data).decode("ascii"),
        sha256=hashlib.sha256(data).hexdigest(),
        width=im.width,
        height=im.height,
    )


def encode_image(
    path: str | Path, max_side: int = MAX_IMAGE_SIDE, quality: int = JPEG_QUALITY
) -> EncodedImage:
    """Read an image, shrink it to at most ``max_side`` pixels, encode it as a JPEG data URI.

    Raises:
        ImageError: The file is missing or not a readable image.
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise ImageError(f"{p}: image file not found") from None
    return _encode_cached(str(p.resolve()), st.st_mtime_ns, st.st_size, max_side, quality)


# --- messages ----------------------------------------------------------------------------------


class Prompt(NamedTuple):
    """A built prompt.

    Attributes:
        messages: System message, then one user message.
        sha256: :func:`prompt_sha256` of ``messages``.
        templates: Template file (relative to the prompts folder) -> its SHA-256.
    """

    messages: list[BaseMessage]
    sha256: str
    templates: dict[str, str]


def _data_uri_sha256(uri: str) -> str:
    payload = uri.split(",", 1)[1] if "," in uri else uri
    return hashlib.sha256(base64.b64decode(payload)).hexdigest()


def prompt_sha256(messages: Sequence[BaseMessage]) -> str:
    """SHA-256 of the exact prompt: each message's type and text, images by their SHA-256.

    The canonical form is compact, key-sorted JSON of
    ``[{"role": type, "content": text or [parts]}]`` where an ``image_url`` part becomes
    ``{"type": "image", "sha256": ...}`` (hash of the bytes sent).
    """
    canon = []
    for m in messages:
        content: Any = m.content
        if not isinstance(content, str):
            parts = []
            for part in content:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    url = str((part.get("image_url") or {}).get("url", ""))
                    digest = (
                        _data_uri_sha256(url)
                        if url.startswith("data:")
                        else hashlib.sha256(url.encode()).hexdigest()
                    )
                    parts.append({"type": "image", "sha256": digest})
                else:
                    parts.append(part)
            content = parts
        canon.append({"role": m.type, "content": content})
    blob = json.dumps(canon, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _title(spec: CategorySpec) -> str:
    return spec.title.strip() or spec.category.replace("_", " ")


def system_text(request: ExplainRequest, templates: Mapping[str, PromptTemplate]) -> str:
    """Task description and class context (the system message)."""
    spec = request.spec
    category = templates["category"].render(
        category=spec.category,
        title=_title(spec),
        description=" ".join(spec.description.split()) or "(no description)",
        vocabulary=vocabulary_text(spec),
        rules=rules_text(request.rule_texts),
    )
    return templates["system"].render().strip() + "\n\n" + category.strip()


def query_text(request: ExplainRequest, templates: Mapping[str, PromptTemplate]) -> str:
    """Measurements and rule results of the query image."""
    scene = request.scene
    image = scene.get("image") or {}
    return (
        templates["query"]
        .render(
            category=request.spec.category,
            title=_title(request.spec),
            width=image.get("width", "?"),
            height=image.get("height", "?"),
            count=len(scene.get("components") or []),
            scene=scene_text(scene),
            results=rule_results_text(request.outcomes, request.rule_ids),
        )
        .strip()
    )


def build_messages(
    request: ExplainRequest,
    vision: bool,
    *,
    templates: Mapping[str, PromptTemplate] | None = None,
    root: str | Path | None = None,
) -> Prompt:
    """Build the chat messages that ask for an explanation of one image.

    Args:
        request: The image, its scene and rule outcomes.
        vision: Attach images as content parts (references first, then the query); else
            text only, with normal references summarised from ``request.reference_scenes``.
        templates: Loaded templates (default: :func:`load_explain_templates`).
        root: Prompts folder, when ``templates`` is not given.

    Returns:
        The messages, their SHA-256 and the SHA-256 of every template used.

    Raises:
        PromptError: A template is missing or has an unknown placeholder.
        ImageError: An image cannot be read (vision only).
    """
    tpl = templates or load_explain_templates(request.spec.category, root)
    title = _title(request.spec)
    system = SystemMessage(system_text(request, tpl))
    query = query_text(request, tpl)
    human: HumanMessage
    if vision:
        parts: list[str | dict[str, Any]] = []
        n = len(request.references)
        for i, ref in enumerate(request.references, 1):
            intro = tpl["reference_image"].render(
                index=i, count=n, title=title, category=request.spec.category
            )
            parts.append({"type": "text", "text": intro.strip()})
            parts.append({"type": "image_url", "image_url": {"url": encode_image(ref).data_uri}})
        if request.image is not None:
            intro = tpl["query_image"].render(title=title, category=request.spec.category)
            parts.append({"type": "text", "text": intro.strip()})
            parts.append(
                {"type": "image_url", "image_url": {"url": encode_image(request.image).data_uri}}
            )
        parts.append({"type": "text", "text": query})
        human = HumanMessage(content=parts)
    else:
        chunks = []
        if request.reference_scenes:
            chunks.append(
                tpl["reference_text"]
                .render(
                    count=len(request.reference_scenes),
                    title=title,
                    category=request.spec.category,
                    summary=reference_summary(request.spec, request.reference_scenes),
                )
                .strip()
            )
        chunks.append(query)
        human = HumanMessage(content="\n\n".join(chunks))
    messages: list[BaseMessage] = [system, human]
    return Prompt(
        messages=messages,
        sha256=prompt_sha256(messages),
        templates={t.name: t.sha256 for t in tpl.values()},
    )
