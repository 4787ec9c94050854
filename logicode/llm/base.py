"""Shared plumbing of the chat backends that speak the OpenAI chat-completions format.

Both the embedded llama.cpp backend and the OpenAI-compatible HTTP backend send the same request
body (``messages``, ``temperature``, ``max_tokens``, ``seed``, ``stop``, ``response_format``...)
and get the same response shape back, so message conversion, request building, result parsing
and JSON-schema structured output live here once.

Example:
    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> to_openai_messages([SystemMessage("be terse"), HumanMessage("hi")])
    [{'role': 'system', 'content': 'be terse'}, {'role': 'user', 'content': 'hi'}]
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, Field

from logicode.llm.errors import BackendError, StructuredOutputError

_ROLES: dict[type[BaseMessage], str] = {
    SystemMessage: "system",
    HumanMessage: "user",
    AIMessage: "assistant",
    ToolMessage: "tool",
}


def message_text(message: BaseMessage) -> str:
    """The text of a message; content blocks other than text are refused.

    Raises:
        BackendError: The message holds an image or another non-text block.
    """
    content = message.content
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            raise BackendError(
                f"message content block of type {kind!r} is not supported: send text only"
            )
    return "".join(parts)


def _openai_parts(message: BaseMessage) -> list[dict[str, Any]]:
    """Content parts of a list-content message: text parts and ``image_url`` parts.

    Raises:
        BackendError: A content block other than text or ``image_url``.
    """
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
            continue
        kind = block.get("type") if isinstance(block, dict) else type(block).__name__
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image_url":
            image = block.get("image_url")
            image = {"url": image} if isinstance(image, str) else dict(image or {})
            if not image.get("url"):
                raise BackendError("an image_url content part has no url: give a data: or http URL")
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise BackendError(
                f"message content block of type {kind!r} is not supported: send text or image_url"
            )
    return parts


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert LangChain messages to OpenAI chat-completion message dicts.

    Text-only content becomes one string. Content with ``image_url`` parts (vision requests)
    is sent as a list of OpenAI content parts, ``{"type": "text", "text": ...}`` and
    ``{"type": "image_url", "image_url": {"url": ...}}``, in order; the server must accept
    images (the explainer sends them only to OpenAI-compatible vision endpoints).

    Raises:
        BackendError: A message type or content block that cannot be sent.
    """
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m, ChatMessage):
            role = m.role
        else:
            role = next((r for t, r in _ROLES.items() if isinstance(m, t)), "")
        if not role:
            raise BackendError(
                f"message type {type(m).__name__} is not supported: use system, human or ai"
            )
        content: str | list[dict[str, Any]]
        if isinstance(m.content, str):
            content = m.content
        else:
            parts = _openai_parts(m)
            if any(p["type"] == "image_url" for p in parts):
                content = parts
            else:
                content = "".join(p["text"] for p in parts)
        item: dict[str, Any] = {"role": role, "content": content}
        if isinstance(m, ToolMessage):
            item["tool_call_id"] = m.tool_call_id
        out.append(item)
    return out


def chat_result_from_openai(response: dict[str, Any], *, fallback_model: str = "") -> ChatResult:
    """Turn an OpenAI-style chat-completion response dict into a LangChain ``ChatResult``.

    Raises:
        BackendError: The response has no ``choices[0].message``.
    """
    try:
        choice = response["choices"][0]
        content = choice["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        snippet = json.dumps(response)[:200]
        raise BackendError(f"chat-completion response has no choices: {snippet}") from None
    usage = response.get("usage") or {}
    metadata: dict[str, Any] = {
        "finish_reason": choice.get("finish_reason"),
        "model_name": response.get("model") or fallback_model,
    }
    if "timings" in response:  # llama.cpp: prompt/predicted token counts and speeds
        metadata["timings"] = response["timings"]
    usage_md: UsageMetadata | None = None
    if usage:
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        usage_md = UsageMetadata(
            input_tokens=prompt,
            output_tokens=completion,
            total_tokens=int(usage.get("total_tokens") or prompt + completion),
        )
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
        if cached is not None:
            usage_md["input_token_details"] = {"cache_read": int(cached)}
    message = AIMessage(content=content, response_metadata=metadata, usage_metadata=usage_md)
    return ChatResult(
        generations=[ChatGeneration(message=message, generation_info=metadata)],
        llm_output={"token_usage": usage, "model_name": metadata["model_name"]},
    )


def json_schema_of(schema: dict[str, Any] | type[BaseModel]) -> tuple[str, dict[str, Any]]:
    """Return ``(name, JSON Schema)`` for a pydantic model class or a JSON Schema dict."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.__name__, schema.model_json_schema()
    if isinstance(schema, dict):
        return str(schema.get("title") or "output"), schema
    raise TypeError(f"schema must be a pydantic model class or a JSON Schema dict, not {schema!r}")


def response_format_for(schema: dict[str, Any] | type[BaseModel]) -> dict[str, Any]:
    """The OpenAI ``response_format`` that constrains a reply to ``schema`` (JSON Schema)."""
    name, js = json_schema_of(schema)
    return {"type": "json_schema", "json_schema": {"name": name, "schema": js}}


def parse_structured(
    message: BaseMessage, schema: dict[str, Any] | type[BaseModel]
) -> dict[str, Any] | BaseModel:
    """Parse a reply as JSON and validate it against a pydantic class (dicts are not validated).

    Raises:
        StructuredOutputError: The text is not JSON or does not validate.
    """
    text = message_text(message).strip()
    if text.startswith("```"):  # tolerate a fenced block from unconstrained backends
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError as exc:
        cut = message.response_metadata.get("finish_reason") == "length"
        hint = "the reply was cut at max_tokens: raise max_tokens" if cut else "retry"
        raise StructuredOutputError(
            f"model reply is not valid JSON ({exc.msg} at char {exc.pos}; {hint}): {text[:60]!r}"
        ) from None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            return schema.model_validate(data)
        except ValueError as exc:
            first = str(exc).splitlines()[1:2] or [str(exc)]
            raise StructuredOutputError(
                f"model reply does not match {schema.__name__}: {first[0].strip()}"
            ) from None
    return data


class OpenAIStyleChatModel(BaseChatModel):
    """Base of chat models whose transport takes an OpenAI chat-completion request body.

    Subclasses implement :meth:`_complete` (send one request body, return the response dict).
    Extra keyword arguments of ``invoke`` (or ``bind``) are merged into the request body, e.g.
    ``stop``, ``response_format``, or llama.cpp's ``grammar`` / ``json_schema``.
    """

    temperature: float = Field(default=0.0, ge=0.0, description="0 = greedy, deterministic.")
    max_tokens: int = Field(default=512, gt=0, description="Most tokens to generate per reply.")
    seed: int | None = Field(default=0, description="Sampling seed (None: server default).")
    top_p: float | None = Field(default=None, description="Nucleus sampling; None = default.")
    stop: list[str] | None = Field(default=None, description="Default stop strings.")

    @property
    @abstractmethod
    def model_label(self) -> str:
        """Model name recorded in responses and manifests."""

    @abstractmethod
    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send one chat-completion request body; return the OpenAI-style response dict."""

    def request_body(
        self, messages: Sequence[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Build the chat-completion request body for ``messages`` (per-call kwargs win)."""
        body: dict[str, Any] = {
            "messages": to_openai_messages(messages),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        if self.top_p is not None:
            body["top_p"] = self.top_p
        stops = stop if stop is not None else self.stop
        if stops:
            body["stop"] = list(stops)
        body.update({k: v for k, v in kwargs.items() if v is not None})
        return body

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        body = self.request_body(messages, stop, **kwargs)
        return chat_result_from_openai(self._complete(body), fallback_model=self.model_label)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model_label,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Constrain replies to a JSON Schema (``response_format``) and parse them.

        Args:
            schema: A pydantic model class (replies are validated into it) or a JSON Schema
                dict (replies are returned as dicts).
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising.
            **kwargs: ``method`` is accepted for LangChain compatibility (only
                ``"json_schema"`` is supported).

        Returns:
            A runnable from chat input to the parsed object.

        Raises:
            ValueError: An unsupported ``method`` or other keyword.
        """
        method = kwargs.pop("method", "json_schema")
        kwargs.pop("strict", None)
        if method != "json_schema" or kwargs:
            raise ValueError(f"unsupported structured-output options: method={method!r} {kwargs}")
        bound = self.bind(response_format=response_format_for(schema))  # type: ignore[arg-type]

        def parse(message: BaseMessage) -> dict[str, Any] | BaseModel:
            return parse_structured(message, schema)  # type: ignore[arg-type]

        if not include_raw:
            return bound | RunnableLambda(parse)

        def parse_raw(message: BaseMessage) -> dict[str, Any]:
            try:
                return {"raw": message, "parsed": parse(message), "parsing_error": None}
            except StructuredOutputError as exc:
                return {"raw": message, "parsed": None, "parsing_error": exc}

        return bound | RunnableLambda(parse_raw)
