"""LLM backends behind LangChain's chat-model interface, and the local model store.

* ``embedded`` (default): llama.cpp in-process (:mod:`logicode.llm.embedded`) running a pinned
  GGUF model from :mod:`logicode.llm.store` or any GGUF path;
* ``openai``: any OpenAI-compatible endpoint (:mod:`logicode.llm.openai_compat`);
* ``transformers``: a local Hugging Face model folder (:mod:`logicode.llm.transformers_backend`).

Every backend returns a ``langchain_core`` ``BaseChatModel``, so any other LangChain chat model
can be used wherever these are. Backend modules are imported only when asked for.

Example:
    >>> chat = get_chat_model("embedded", "qwen2.5-coder-0.5b", max_tokens=64)  # doctest: +SKIP
    >>> chat.invoke("Write a Python expression for 2 + 3.").content  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from logicode.llm.errors import (
    BackendError,
    BackendUnavailable,
    LLMError,
    ModelIntegrityError,
    ModelNotFound,
    StructuredOutputError,
)
from logicode.llm.store import DEFAULT_MODEL, KNOWN_MODELS, ModelFile, resolve_model

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "BackendError",
    "BackendUnavailable",
    "LLMError",
    "ModelFile",
    "ModelIntegrityError",
    "ModelNotFound",
    "StructuredOutputError",
    "get_chat_model",
    "model_provenance",
    "resolve_model",
]

# backend name -> (module, class, name of the field that receives ``model``)
_BACKENDS: dict[str, tuple[str, str, str]] = {
    "embedded": ("logicode.llm.embedded", "EmbeddedChatModel", "model"),
    "openai": ("logicode.llm.openai_compat", "OpenAICompatChatModel", "model"),
    "transformers": ("logicode.llm.transformers_backend", "TransformersChatModel", "model_path"),
}
BACKENDS: tuple[str, ...] = tuple(_BACKENDS)
DEFAULT_BACKEND = "embedded"


def get_chat_model(
    backend: str = DEFAULT_BACKEND, model: str | None = None, **cfg: Any
) -> BaseChatModel:
    """Build a chat model of one of the :data:`BACKENDS`.

    Args:
        backend: ``embedded``, ``openai`` or ``transformers``.
        model: embedded: known model name or GGUF path (default :data:`DEFAULT_MODEL`);
            openai: the model name the server expects (default ``LOGICODE_OPENAI_MODEL``);
            transformers: the model folder (required).
        **cfg: Backend fields, e.g. ``temperature``, ``max_tokens``, ``seed``, ``n_ctx``,
            ``threads`` (embedded), ``base_url``, ``api_key``, ``timeout`` (openai).

    Returns:
        A LangChain ``BaseChatModel``. The embedded model loads lazily on first use.

    Raises:
        BackendError: Unknown backend, missing required setting, or an invalid field.
        BackendUnavailable: The backend's optional dependencies are not installed.
    """
    try:
        module_name, class_name, model_field = _BACKENDS[backend]
    except KeyError:
        raise BackendError(
            f"unknown LLM backend {backend!r}: use one of {', '.join(BACKENDS)}"
        ) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailable(
            f"the {backend} backend needs {(exc.name or 'a package').split('.')[0]}: "
            "pip install 'logicode[llm]'"
        ) from None
    if model is not None:
        cfg[model_field] = model
    elif backend == "transformers" and "model_path" not in cfg:
        raise BackendError("the transformers backend needs a model folder: pass --model PATH")
    cls = getattr(module, class_name)
    unknown = sorted(set(cfg) - set(cls.model_fields))
    if unknown:
        raise BackendError(f"{backend} backend has no setting {unknown[0]!r}: check the spelling")
    try:
        return cls(**cfg)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ())) or "?"
        raise BackendError(f"{backend} backend: invalid setting {field}: {err['msg']}") from None


def model_provenance(backend: str = DEFAULT_BACKEND, model: str | None = None) -> dict[str, Any]:
    """What rule packs and reports record about the model that wrote their code.

    An embedded model is resolved (joined and verified once) to record its sha256 and whether
    that hash is pinned; other backends record the model name they were given.
    """
    info: dict[str, Any] = {"backend": backend}
    if backend == "embedded":
        mf = resolve_model(model)
        info.update(name=mf.name, sha256=mf.sha256, pinned=mf.pinned)
    else:
        info["name"] = model or ""
    return info
