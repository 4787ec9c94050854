"""Explainers: turn one image's rule outcomes into an :class:`Explanation`.

* :class:`TemplateExplainer` (backend ``template``): deterministic, no model. It restates the
  violated rules and their violation messages, or that all rules passed.
* :class:`ChatExplainer`: any LangChain chat model. Text only for the embedded and
  transformers backends (images are given by their scene descriptions); vision for
  OpenAI-compatible endpoints (images as base64 ``image_url`` content parts).

The verdict always comes from the rules: an explanation records the model's own verdict and
whether it ``agrees``. A reply that is not a valid :class:`~logicode.explain.prompter.ExplainAnswer`
gets one repair turn that says what was wrong; if that fails too, or the model cannot be
reached, the template explanation is returned with ``error`` set, so a report always has an
explanation and says when the model failed.

Example:
    >>> explainer = get_explainer("template")
    >>> explanation = explain(explainer, request)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from logicode.errors import LogicodeError
from logicode.explain.prompter import (
    MAX_REASONING_CHARS,
    AnswerError,
    ExplainAnswer,
    ExplainRequest,
    answer_json_schema,
    build_messages,
    load_explain_templates,
    parse_answer,
)
from logicode.inspection.record import Explanation
from logicode.llm import BACKENDS, BackendError, get_chat_model, model_provenance
from logicode.llm.base import OpenAIStyleChatModel

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

EXPLAIN_BACKENDS: tuple[str, ...] = ("template", *BACKENDS)
"""Backends of :func:`get_explainer`: ``template``, ``embedded``, ``openai``, ``transformers``."""

DEFAULT_MAX_TOKENS = 400
DEFAULT_TEMPERATURE = 0.0


class Explainer(Protocol):
    """What :func:`explain` needs from an explainer."""

    backend: str

    def explain(self, request: ExplainRequest) -> Explanation:
        """Explain one image (never raises for a model failure)."""
        ...

    def provenance(self, category: str) -> dict[str, Any]:
        """Backend, model, settings and template hashes, for the run manifest."""
        ...


def _cut(text: str, limit: int = MAX_REASONING_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def template_answer(request: ExplainRequest) -> ExplainAnswer:
    """The deterministic explanation: violated rules with their messages, or all rules passed.

    Cites exactly the violated rules (none for a good image).
    """
    title = request.spec.title.strip() or request.spec.category.replace("_", " ")
    if title[1:2].islower():
        title = title[0].lower() + title[1:]
    failed = [o for o in request.outcomes if o.status == "fail"]
    errored = [o for o in request.outcomes if o.status == "error"]
    n = len(request.outcomes)
    if request.verdict == "anomaly":
        sentences = [
            f"{len(failed)} of {n} rules {'is' if len(failed) == 1 else 'are'} violated, "
            f"so this {title} has a logical anomaly."
        ]
        for o in failed:
            text = request.rule_texts.get(o.rule, "").rstrip(".")
            msgs = "; ".join(" ".join(v.message.split()) for v in o.violations)
            rule = f"Rule {o.rule} ({text})" if text else f"Rule {o.rule}"
            sentences.append(f"{rule} is violated: {msgs}.")
    else:
        sentences = [f"All {n} rules passed, so this {title} is normal."]
    if errored:
        ids = ", ".join(o.rule for o in errored)
        sentences.append(f"{len(errored)} rule(s) could not be evaluated: {ids}.")
    known = set(request.rule_ids)
    return ExplainAnswer(
        reasoning=_cut(" ".join(sentences)),
        verdict=request.verdict,
        cited_rules=[o.rule for o in failed if o.rule in known],
    )


class TemplateExplainer:
    """Deterministic explanations from the rule outcomes; no model."""

    backend = "template"

    def explain(self, request: ExplainRequest) -> Explanation:
        """See :func:`template_answer`; ``agrees`` is always true."""
        t0 = time.perf_counter()
        answer = template_answer(request)
        return Explanation(
            reasoning=answer.reasoning,
            verdict=answer.verdict,
            cited_rules=answer.cited_rules,
            backend=self.backend,
            agrees=answer.verdict == request.verdict,
            seconds=time.perf_counter() - t0,
        )

    def provenance(self, category: str) -> dict[str, Any]:
        """``{"backend": "template"}``."""
        return {"backend": self.backend}


def _reply_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(
        p if isinstance(p, str) else str(p.get("text", ""))
        for p in content
        if isinstance(p, str) or (isinstance(p, dict) and p.get("type") == "text")
    )


class ChatExplainer:
    """Explanations from a LangChain chat model.

    Args:
        chat: The chat model. Our backends take per-call ``temperature``, ``max_tokens`` and
            ``response_format``; other chat models are called with what they accept.
        vision: Send images as content parts (the model must accept them).
        backend: Backend name recorded in explanations.
        model_info: Model provenance (see :func:`logicode.llm.model_provenance`).
        max_tokens: Most tokens per reply.
        temperature: Sampling temperature (0: greedy).
        json_schema: Also send the answer's JSON Schema as ``response_format`` (constrained
            decoding on llama.cpp; some OpenAI-compatible servers reject it).
        prompts_root: Prompts folder (default: the shipped ``prompts/``).

    Raises:
        BackendError: ``vision`` with one of our text-only backends.
    """

    def __init__(
        self,
        chat: BaseChatModel,
        *,
        vision: bool = False,
        backend: str = "chat",
        model_info: dict[str, Any] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
        json_schema: bool = False,
        prompts_root: str | Path | None = None,
    ) -> None:
        from logicode.llm.openai_compat import OpenAICompatChatModel

        if vision and isinstance(chat, OpenAIStyleChatModel):
            if not isinstance(chat, OpenAICompatChatModel):
                raise BackendError(
                    f"the {backend} backend is text only: explain without vision, or use an "
                    "OpenAI-compatible vision endpoint (--explain-backend openai)"
                )
        self.chat = chat
        self.vision = vision
        self.backend = backend
        self.model_info = dict(model_info or {})
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.json_schema = json_schema
        self.prompts_root = prompts_root

    def provenance(self, category: str) -> dict[str, Any]:
        """Backend, model, settings and the template files used for ``category``."""
        templates = load_explain_templates(category, self.prompts_root)
        return {
            "backend": self.backend,
            "model": self.model_info,
            "vision": self.vision,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "json_schema": self.json_schema,
            "templates": {t.name: t.sha256 for t in templates.values()},
        }

    def _call_options(self, rule_ids: Sequence[str]) -> dict[str, Any]:
        opts: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.json_schema:
            opts["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "ExplainAnswer", "schema": answer_json_schema(rule_ids)},
            }
        return opts

    def _ask(self, messages: list[BaseMessage], rule_ids: Sequence[str]) -> str:
        """Send the messages; return the reply text (backend errors propagate)."""
        opts = self._call_options(rule_ids)
        chat = self.chat
        if not isinstance(chat, OpenAIStyleChatModel):
            opts.pop("response_format", None)
        try:
            reply = chat.invoke(messages, **opts)
        except TypeError:  # a foreign chat model that takes no per-call options
            reply = chat.invoke(messages)
        return _reply_text(reply)

    def _fallback(
        self, request: ExplainRequest, error: str, prompt_sha: str, t0: float
    ) -> Explanation:
        log.warning("%s explanation failed: %s", self.backend, error)
        answer = template_answer(request)
        reasoning = (
            f"No usable explanation from the {self.backend} model ({error}). "
            f"Rule-based explanation: {answer.reasoning}"
        )
        return Explanation(
            reasoning=reasoning,
            verdict=answer.verdict,
            cited_rules=answer.cited_rules,
            backend=self.backend,
            model=self.model_info,
            prompt_sha256=prompt_sha,
            agrees=answer.verdict == request.verdict,
            error=error,
            seconds=time.perf_counter() - t0,
        )

    def explain(self, request: ExplainRequest) -> Explanation:
        """Ask the model; repair once on an invalid answer; else fall back to the template."""
        t0 = time.perf_counter()
        try:
            templates = load_explain_templates(request.spec.category, self.prompts_root)
            prompt = build_messages(request, self.vision, templates=templates)
        except LogicodeError as exc:
            return self._fallback(request, f"prompt could not be built: {exc}", "", t0)
        messages = list(prompt.messages)
        ids = request.rule_ids
        problem = ""
        for attempt in range(2):
            try:
                text = self._ask(messages, ids)
            except Exception as exc:  # noqa: BLE001 - any chat model's failure is reported
                return self._fallback(
                    request, f"model call failed: {' '.join(str(exc).split())}", prompt.sha256, t0
                )
            try:
                answer = parse_answer(text, ids)
            except AnswerError as exc:
                problem = str(exc)
                log.info("%s answer %d invalid: %s", self.backend, attempt + 1, problem)
                repair = templates["repair"].render(problem=problem, rule_ids=", ".join(ids))
                messages += [AIMessage(text), HumanMessage(repair.strip())]
                continue
            return Explanation(
                reasoning=answer.reasoning,
                verdict=answer.verdict,
                cited_rules=answer.cited_rules,
                backend=self.backend,
                model=self.model_info,
                prompt_sha256=prompt.sha256,
                agrees=answer.verdict == request.verdict,
                seconds=time.perf_counter() - t0,
            )
        return self._fallback(
            request, f"invalid answer after one repair: {problem}", prompt.sha256, t0
        )


def get_explainer(
    backend: str = "template",
    model: str | None = None,
    *,
    vision: bool | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    temperature: float = DEFAULT_TEMPERATURE,
    json_schema: bool | None = None,
    prompts_root: str | Path | None = None,
    **cfg: Any,
) -> TemplateExplainer | ChatExplainer:
    """Build an explainer of one of :data:`EXPLAIN_BACKENDS`.

    Args:
        backend: ``template``, ``embedded``, ``openai`` or ``transformers``.
        model: Model name or path, as for :func:`logicode.llm.get_chat_model`.
        vision: Send images (default: true for ``openai`` only; the others are text only).
        max_tokens: Most tokens per reply.
        temperature: Sampling temperature.
        json_schema: Constrain decoding to the answer schema (default: ``embedded`` only).
        prompts_root: Prompts folder (default: the shipped ``prompts/``).
        **cfg: Other chat-model settings (``base_url``, ``api_key``, ``timeout``, ``n_ctx``...).

    Raises:
        BackendError: Unknown backend, vision on a text-only backend, or a bad setting.
        BackendUnavailable: The backend's dependencies are not installed.
        ModelNotFound: The embedded model is not installed.
    """
    if backend == "template":
        return TemplateExplainer()
    if backend not in BACKENDS:
        raise BackendError(
            f"unknown explain backend {backend!r}: use one of {', '.join(EXPLAIN_BACKENDS)}"
        )
    vision = backend == "openai" if vision is None else vision
    if vision and backend != "openai":
        raise BackendError(
            f"the {backend} backend is text only: drop vision or use --explain-backend openai"
        )
    chat = get_chat_model(backend, model, max_tokens=max_tokens, temperature=temperature, **cfg)
    info = model_provenance(backend, model or getattr(chat, "model", None))
    if backend == "openai":
        parts = urllib.parse.urlsplit(str(getattr(chat, "base_url", "")))
        host = parts.netloc.rsplit("@", 1)[-1]  # never record credentials in a URL
        info["base_url"] = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return ChatExplainer(
        chat,
        vision=vision,
        backend=backend,
        model_info=info,
        max_tokens=max_tokens,
        temperature=temperature,
        json_schema=backend == "embedded" if json_schema is None else json_schema,
        prompts_root=prompts_root,
    )


def explain(explainer: Explainer, request: ExplainRequest) -> Explanation:
    """Explain one image with ``explainer``; ``seconds`` covers the whole call.

    Never raises for a model failure: the template explanation comes back with ``error`` set.
    """
    t0 = time.perf_counter()
    result = explainer.explain(request)
    return result.model_copy(update={"seconds": round(time.perf_counter() - t0, 4)})
