"""Where an inspection's rules come from: a compiled pack, or English compiled on the fly.

``logicode inspect`` takes rules three ways:

* ``--rules PACK``: a compiled pack, used as is (loading refuses code edited after validation);
* ``--spec SPEC``: every rule of a category spec;
* ``--rule "..."`` (repeatable, with ``--spec`` or ``--category`` for the vocabulary): rules
  written inline, with ids ``rule_1``, ``rule_2``... and no guarded defects.

English rules are compiled with the language model and the pack is cached under
``$LOGICODE_CACHE/packs/<key>`` (default ``~/.cache/logicode/packs``), where the key hashes
everything the compiled code depends on: the effective spec (vocabulary and rule texts), the
model (its sha256 for local files), the prompt templates, the scene API, the compiler settings
and the reference scenes. The same rules on the same references are compiled once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from logicode.codegen.compiler import TEMPLATES, CompileSettings
from logicode.codegen.pack import RuleEntry, RulePack, code_sha256
from logicode.digest import json_digest
from logicode.errors import LogicodeError
from logicode.llm.store import cache_dir
from logicode.prompts import load_template
from logicode.spec import CategorySpec, RuleSpec

log = logging.getLogger(__name__)


class RulesError(LogicodeError):
    """The rules of an inspection cannot be resolved (bad options, wrong category)."""


def spec_content_sha256(spec: CategorySpec) -> str:
    """SHA-256 of a spec's content (canonical JSON), independent of its file's formatting."""
    return json_digest(spec.model_dump(mode="json"))


def inline_spec(spec: CategorySpec, texts: Sequence[str]) -> CategorySpec:
    """``spec`` with its rules replaced by inline English rules ``rule_1``, ``rule_2``...

    Raises:
        RulesError: An empty or too short rule text.
    """
    rules = []
    for i, text in enumerate(texts, start=1):
        text = " ".join(text.split())
        if len(text) < 3:
            raise RulesError(f"--rule #{i} is empty or too short: write the rule in English")
        rules.append(RuleSpec(id=f"rule_{i}", text=text, guards=[]))
    if not rules:
        raise RulesError("no --rule given")
    return spec.model_copy(update={"rules": rules})


def packs_dir() -> Path:
    """Folder of cached compiled packs (sibling of the model store's folder)."""
    return cache_dir().parent / "packs"


def pack_cache_key(
    spec: CategorySpec,
    model: Mapping[str, Any],
    references: Sequence[Mapping[str, Any]],
    settings: CompileSettings,
) -> str:
    """Content hash of everything a compiled pack depends on (see the module docstring)."""
    from logicode.ruleapi import api_reference

    model_id = model.get("sha256") or f"{model.get('backend', '')}:{model.get('name', '')}"
    return json_digest(
        {
            "spec": spec_content_sha256(spec),
            "model": model_id,
            "prompts": {name: load_template(name).sha256 for name in TEMPLATES},
            "api": hashlib.sha256(api_reference().encode("utf-8")).hexdigest(),
            "settings": asdict(settings),
            "references": [json_digest(r) for r in references],
        }
    )[:24]


def load_pack_for(path: Path, spec: CategorySpec | None) -> RulePack:
    """Load a given pack; it must be of the spec's category when a spec is given too.

    Raises:
        PackError: A malformed pack, or one whose code no longer matches its manifest.
        RulesError: The pack is for another category.
    """
    pack = RulePack.load(path)
    if spec is not None and pack.manifest.category != spec.category:
        raise RulesError(
            f"{path}: the rule pack is for {pack.manifest.category!r}, the spec for "
            f"{spec.category!r}; give a pack of the same category"
        )
    return pack


def compiled_pack(
    spec: CategorySpec,
    references: Sequence[dict[str, Any]],
    *,
    backend: str = "embedded",
    model: str | None = None,
    settings: CompileSettings | None = None,
    cache: Path | None = None,
    progress: Callable[[Any], None] | None = None,
    chat: Any = None,
    model_info: Mapping[str, Any] | None = None,
) -> tuple[RulePack, Path, bool]:
    """Compile the spec's rules, or reuse the cached pack compiled from the same inputs.

    Args:
        spec: The (effective) spec whose rules to compile.
        references: Normal reference scenes (JSON dicts).
        backend: LLM backend name.
        model: Model name or path (the backend's default when None).
        settings: Compiler settings.
        cache: Folder of cached packs (default :func:`packs_dir`).
        progress: Called with each rule's outcome as it is compiled.
        chat: A LangChain chat model to use instead of building one (tests).
        model_info: Provenance of ``chat`` (required with ``chat``).

    Returns:
        ``(pack, folder, from_cache)``.
    """
    import sandbox
    from logicode.codegen.compiler import RuleCompiler
    from logicode.llm import get_chat_model, model_provenance

    settings = settings or CompileSettings()
    if chat is None:
        info = dict(model_provenance(backend, model))
    else:
        info = dict(model_info or {"backend": "custom", "name": type(chat).__name__})
    key = pack_cache_key(spec, info, references, settings)
    folder = (cache or packs_dir()) / f"{spec.category}-{key}"
    if (folder / "manifest.json").is_file():
        try:
            pack = RulePack.load(folder)
        except LogicodeError as exc:
            log.warning("cached pack %s is unusable (%s); compiling again", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            log.info("reusing the compiled pack %s", folder)
            return pack, folder, True
    partial = folder.with_name(folder.name + ".partial")
    done = _load_partial(partial, spec)
    todo = [r for r in spec.rules if r.id not in done]
    if done:
        log.info(
            "resuming compilation: %d of %d rules already compiled", len(done), len(spec.rules)
        )

    def keep(outcome: Any) -> None:
        _save_partial(partial, outcome.entry, outcome.code)
        if progress is not None:
            progress(outcome)

    if chat is None and todo:
        chat = get_chat_model(backend, model)
    spec_sha = spec_content_sha256(spec)
    with sandbox.SandboxPool(api_module="logicode.ruleapi", workers=1) as pool:
        compiler = RuleCompiler(chat, spec, list(references), pool, settings, model_info=info)
        fresh = compiler.compile(todo, spec_sha256=spec_sha, progress=keep)
    entries = {e.id: (e, fresh.code.get(e.id)) for e in fresh.manifest.rules}
    entries.update({k: v for k, v in done.items() if k not in entries})
    manifest = fresh.manifest.model_copy(update={"rules": [entries[r.id][0] for r in spec.rules]})
    code = {rid: c for rid, (_, c) in entries.items() if c is not None}
    pack = RulePack(manifest, code)
    pack.save(folder)
    shutil.rmtree(partial, ignore_errors=True)
    return pack, folder, False


def _save_partial(partial: Path, entry: RuleEntry, code: str | None) -> None:
    """Keep one compiled rule so that an interrupted compilation resumes after it."""
    partial.mkdir(parents=True, exist_ok=True)
    data = {"entry": entry.model_dump(mode="json"), "code": code}
    tmp = partial / f".{entry.id}.tmp"
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(partial / f"{entry.id}.json")


def _load_partial(partial: Path, spec: CategorySpec) -> dict[str, tuple[RuleEntry, str | None]]:
    """Rules compiled before an interruption (unreadable or tampered files are ignored)."""
    out: dict[str, tuple[RuleEntry, str | None]] = {}
    wanted = {r.id: r for r in spec.rules}
    for f in sorted(partial.glob("*.json")) if partial.is_dir() else []:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            entry = RuleEntry.model_validate(data["entry"])
            code = data.get("code")
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("%s: unreadable partial result; that rule is compiled again", f)
            continue
        rule = wanted.get(entry.id)
        if rule is None or rule.text != entry.text:
            continue
        if entry.status == "ok" and (code is None or code_sha256(code) != entry.code_sha256):
            log.warning("%s: code does not match its hash; that rule is compiled again", f)
            continue
        out[entry.id] = (entry, code)
    return out
