"""Embedded backend: a GGUF model run in-process by llama.cpp (``xllamacpp``).

The model is loaded once per process and parameter set (see :func:`load_model`) and reused by
every :class:`EmbeddedChatModel` that names it. Requests go through llama.cpp's own server
code (``Server.handle_chat_completions``), so the model's own chat template (Jinja, read from
the GGUF) formats the messages, and one slot keeps its KV cache between calls: requests that
share a prefix (the same system prompt and API docs for every rule of a category) only
evaluate the new tail (``cache_prompt``).

llama.cpp's server also listens on a random loopback port; it is protected by a random API key,
and :attr:`LoadedModel.base_url` / :attr:`LoadedModel.api_key` expose it to OpenAI-compatible
clients (that is how the ``openai`` backend is tested).

Example:
    >>> chat = EmbeddedChatModel(model="qwen2.5-coder-0.5b", max_tokens=8)  # doctest: +SKIP
    >>> chat.invoke("What is 2+3? Answer with the number only.").content  # doctest: +SKIP
    '5'
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from pydantic import Field, PrivateAttr

from logicode.llm.base import OpenAIStyleChatModel
from logicode.llm.errors import BackendError, BackendUnavailable
from logicode.llm.store import DEFAULT_MODEL, ModelFile, resolve_model

log = logging.getLogger(__name__)


def default_threads() -> int:
    """Number of CPU cores this process may use (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class LoadParams:
    """Parameters fixed when a model is loaded (part of the process-wide cache key).

    Attributes:
        n_ctx: Context size in tokens (prompt + reply).
        threads: CPU threads for generation and prompt evaluation.
        n_batch: Logical batch size for prompt evaluation.
        cache_ram_mib: Host RAM llama.cpp may use to keep prompt caches of earlier prompts.
        poll: How hard idle worker threads spin-wait (0-100). 0 (default) sleeps instead,
            which is much faster on shared or busy cores and burns no idle CPU.
        verbose: Let llama.cpp log to stderr.
        accepts_grammar: llama.cpp takes a ``grammar`` (GBNF) per request.
    """

    n_ctx: int = 8192
    threads: int = 0  # 0: default_threads()
    n_batch: int = 512
    cache_ram_mib: int = 1024
    poll: int = 0
    verbose: bool = False


@dataclass
class LoadedModel:
    """A model loaded by llama.cpp, shared process-wide.

    Attributes:
        model_file: The verified model file.
        params: The load parameters.
        server: The ``xllamacpp.Server``.
        base_url: OpenAI-compatible base URL of its loopback listener (``.../v1``).
        api_key: The random key that listener requires.
        load_seconds: Wall time the load took.
    """

    model_file: ModelFile
    params: LoadParams
    server: Any
    base_url: str
    api_key: str
    load_seconds: float

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """Run one chat completion (OpenAI request dict in, response dict out).

        Raises:
            BackendError: llama.cpp refused the request (e.g. prompt longer than ``n_ctx``).
        """
        try:
            response = self.server.handle_chat_completions(body)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise BackendError(f"llama.cpp rejected the request: {exc}") from None
        if not isinstance(response, dict):
            raise BackendError(f"llama.cpp returned {type(response).__name__}, expected a dict")
        error = response.get("error")
        if error:
            message = error.get("message", error) if isinstance(error, dict) else error
            hint = ""
            if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
                hint = f": raise n_ctx (now {self.params.n_ctx}) or shorten the prompt"
            raise BackendError(f"llama.cpp: {message}{hint}")
        return response

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added), via the loopback listener."""
        url = self.base_url.removesuffix("/v1") + "/tokenize"
        req = urllib.request.Request(
            url,
            data=json.dumps({"content": text, "add_special": False}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.api_key}",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return list(json.loads(resp.read())["tokens"])
        except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
            raise BackendError(f"llama.cpp could not tokenize: {exc}") from None


_LOADED: dict[tuple[str, LoadParams], LoadedModel] = {}
_LOAD_LOCK = threading.Lock()


def _import_xllamacpp() -> Any:
    try:
        import xllamacpp
    except ImportError:
        raise BackendUnavailable(
            "the embedded backend needs xllamacpp: pip install 'logicode[llm]'"
        ) from None
    return xllamacpp


def load_model(model_file: ModelFile, params: LoadParams | None = None) -> LoadedModel:
    """Load ``model_file`` with llama.cpp, or return the already loaded instance.

    Args:
        model_file: A verified model (see :func:`logicode.llm.store.resolve_model`).
        params: Load parameters; equal parameters share one loaded model.

    Raises:
        BackendUnavailable: xllamacpp is not installed.
        BackendError: llama.cpp could not load the file.
    """
    params = params or LoadParams()
    if params.threads <= 0:
        params = LoadParams(**{**params.__dict__, "threads": default_threads()})
    key = (str(model_file.path), params)
    with _LOAD_LOCK:
        loaded = _LOADED.get(key)
        if loaded is not None:
            return loaded
        xlc = _import_xllamacpp()
        p = xlc.CommonParams()
        p.model.path = str(model_file.path)
        p.n_ctx = params.n_ctx
        p.n_batch = params.n_batch
        p.n_parallel = 1  # one slot: its KV cache is the prompt cache shared by all calls
        p.cpuparams.n_threads = params.threads
        p.cpuparams_batch.n_threads = params.threads
        p.cpuparams.poll = params.poll
        p.cpuparams_batch.poll = params.poll
        p.cache_ram_mib = params.cache_ram_mib
        p.warmup = False
        p.verbosity = 3 if params.verbose else 0
        p.ui = False
        p.n_threads_http = 2
        api_key = secrets.token_urlsafe(24)
        p.api_keys = [api_key]
        log.info("loading %s (n_ctx=%d, threads=%d)", model_file.path, params.n_ctx, params.threads)
        t0 = time.perf_counter()
        try:
            server = xlc.Server(p)
        except RuntimeError as exc:
            raise BackendError(
                f"llama.cpp could not load {model_file.path} ({exc}): check it is a GGUF chat "
                "model, or lower n_ctx"
            ) from None
        seconds = time.perf_counter() - t0
        loaded = LoadedModel(
            model_file=model_file,
            params=params,
            server=server,
            base_url=str(server.listening_address).rstrip("/") + "/v1",
            api_key=api_key,
            load_seconds=seconds,
        )
        log.info("loaded %s in %.1f s", model_file.name, seconds)
        _LOADED[key] = loaded
        return loaded


def unload_models() -> int:
    """Forget every loaded model (llama.cpp frees it once no chat model holds it); return count."""
    with _LOAD_LOCK:
        n = len(_LOADED)
        _LOADED.clear()
    return n


class EmbeddedChatModel(OpenAIStyleChatModel):
    """LangChain chat model running a local GGUF model in-process with llama.cpp.

    Attributes:
        model: Known model name (see ``logicode.llm.store.KNOWN_MODELS``) or GGUF path.
        n_ctx: Context size in tokens.
        threads: CPU threads (0 = every core this process may use).
        n_batch: Prompt-evaluation batch size.
        cache_ram_mib: Host RAM for llama.cpp's cache of earlier prompts.
        cache_prompt: Reuse the KV cache of the previous request's common prefix.
        poll: Spin-wait level of idle llama.cpp threads (0 = sleep; see ``LoadParams``).
        verbose: Let llama.cpp log to stderr.
    """

    model: str = Field(default=DEFAULT_MODEL, description="Known model name or GGUF path.")
    n_ctx: int = Field(default=8192, gt=0)
    threads: int = Field(default=0, ge=0)
    n_batch: int = Field(default=512, gt=0)
    cache_ram_mib: int = Field(default=1024, ge=0)
    cache_prompt: bool = True
    poll: int = Field(default=0, ge=0, le=100)
    verbose: bool = False
    accepts_grammar: bool = True
    _model_file: ModelFile | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "logicode-embedded-llamacpp"

    @property
    def load_params(self) -> LoadParams:
        """The load parameters of this chat model (its key in the process-wide cache)."""
        return LoadParams(
            n_ctx=self.n_ctx,
            threads=self.threads or default_threads(),
            n_batch=self.n_batch,
            cache_ram_mib=self.cache_ram_mib,
            poll=self.poll,
            verbose=self.verbose,
        )

    def loaded(self) -> LoadedModel:
        """Resolve, verify and load the model (once per process and parameter set)."""
        if self._model_file is None:
            self._model_file = resolve_model(self.model)
        return load_model(self._model_file, self.load_params)

    @property
    def model_file(self) -> ModelFile:
        """The verified model file (name, path, sha256, size) for provenance records."""
        return self.loaded().model_file

    @property
    def model_label(self) -> str:
        """The model name (known name or file stem)."""
        return self.loaded().model_file.name

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault("cache_prompt", self.cache_prompt)
        loaded = self.loaded()
        response = loaded.chat(body)
        response["model"] = loaded.model_file.name  # llama.cpp reports the file path
        return response

    def get_token_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` with the model's own tokenizer."""
        return self.loaded().tokenize(text)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        mf = self.loaded().model_file
        return {**super()._identifying_params, "sha256": mf.sha256, "n_ctx": self.n_ctx}
