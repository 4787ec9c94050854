"""OpenAI-compatible backend: any ``/v1/chat/completions`` endpoint over HTTP.

Works with Ollama, vLLM, llama.cpp's server, LM Studio and hosted APIs. A small stdlib client
(no SDK): timeouts, retries with backoff on connection errors, 429 and 5xx, and one-line errors.

Configuration comes from arguments, else the environment:

* ``LOGICODE_OPENAI_BASE_URL``: e.g. ``http://127.0.0.1:11434/v1`` (a bare ``http://host:port``
  gets ``/v1`` appended);
* ``LOGICODE_OPENAI_MODEL``: the model name the server expects;
* ``LOGICODE_OPENAI_API_KEY`` (or ``OPENAI_API_KEY``): sent as a Bearer token.

Example:
    >>> chat = OpenAICompatChatModel(base_url="http://127.0.0.1:8080", model="q")  # doctest: +SKIP
    >>> chat.invoke("Say hi").content  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from pydantic import Field, SecretStr, model_validator

from logicode.llm.base import OpenAIStyleChatModel
from logicode.llm.errors import BackendError

log = logging.getLogger(__name__)

ENV_BASE_URL = "LOGICODE_OPENAI_BASE_URL"
ENV_MODEL = "LOGICODE_OPENAI_MODEL"
ENV_API_KEY = "LOGICODE_OPENAI_API_KEY"
ENV_GRAMMAR = "LOGICODE_OPENAI_GRAMMAR"
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def normalize_base_url(url: str) -> str:
    """Return a base URL ending in the API root: ``http://h:p`` -> ``http://h:p/v1``.

    Raises:
        BackendError: The URL is not http(s).
    """
    url = url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(
            f"OpenAI base URL {url!r} is not an http(s) URL: use e.g. http://127.0.0.1:8080/v1"
        )
    if url.endswith("/chat/completions"):
        url = url.removesuffix("/chat/completions")
    elif not parts.path:
        url += "/v1"
    return url


def _error_message(body: bytes) -> str:
    """The server's error message from a JSON error body (else the raw text), on one line."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
        err = data.get("error", data) if isinstance(data, dict) else data
        text = str(err.get("message", err)) if isinstance(err, dict) else str(err)
    except ValueError:
        pass
    return " ".join(text.split())[:200]


class OpenAICompatChatModel(OpenAIStyleChatModel):
    """LangChain chat model for an OpenAI-compatible chat-completions endpoint.

    Attributes:
        base_url: API root (``.../v1``); default from ``LOGICODE_OPENAI_BASE_URL``.
        model: Model name sent in requests; default from ``LOGICODE_OPENAI_MODEL`` (may be None
            for servers serving a single model, like llama.cpp).
        api_key: Bearer token; default from ``LOGICODE_OPENAI_API_KEY`` or ``OPENAI_API_KEY``.
        timeout: Seconds to wait for one response (local CPU models are slow: default 600).
        max_retries: Extra attempts after a connection error, 408/409/429 or 5xx.
        retry_backoff: First retry delay in seconds (doubles each retry).
        accepts_grammar: The server takes llama.cpp's ``grammar`` request field (true for a
            llama.cpp server; hosted APIs refuse unknown fields). Default from
            ``LOGICODE_OPENAI_GRAMMAR`` (``1``, ``true``, ``yes`` or ``on``).
    """

    base_url: str = ""
    model: str | None = None
    api_key: SecretStr | None = None
    timeout: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    retry_backoff: float = Field(default=0.5, ge=0)
    accepts_grammar: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_env(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if not data.get("base_url"):
            data["base_url"] = os.environ.get(ENV_BASE_URL, "")
        if not data["base_url"]:
            raise BackendError(
                "no OpenAI-compatible endpoint: pass base_url or set "
                f"{ENV_BASE_URL} (e.g. http://127.0.0.1:11434/v1)"
            )
        data["base_url"] = normalize_base_url(str(data["base_url"]))
        if not data.get("model"):
            data["model"] = os.environ.get(ENV_MODEL) or None
        if not data.get("api_key"):
            data["api_key"] = os.environ.get(ENV_API_KEY) or os.environ.get("OPENAI_API_KEY")
        if "accepts_grammar" not in data:
            flag = os.environ.get(ENV_GRAMMAR, "").strip().lower()
            data["accepts_grammar"] = flag in {"1", "true", "yes", "on"}
        return data

    @property
    def _llm_type(self) -> str:
        return "logicode-openai-compatible"

    @property
    def model_label(self) -> str:
        """The model name (or the base URL when the server picks the model)."""
        return self.model or self.base_url

    @property
    def endpoint(self) -> str:
        """The full chat-completions URL."""
        return self.base_url + "/chat/completions"

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.model:
            body.setdefault("model", self.model)
        body["stream"] = False
        return self.post_json(self.endpoint, body)

    def post_json(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` as JSON with retries; return the decoded JSON response.

        Raises:
            BackendError: One line naming the URL, the status and what to do.
        """
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key is not None and self.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        data = json.dumps(body).encode()
        delay = self.retry_backoff
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            req = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
            except urllib.error.HTTPError as exc:
                message = _error_message(exc.read())
                if exc.code in RETRY_STATUS and not last:
                    log.warning(
                        "%s: HTTP %d (%s); retrying in %.1fs", url, exc.code, message, delay
                    )
                else:
                    raise BackendError(self._http_error(url, exc.code, message)) from None
            except TimeoutError:
                raise BackendError(
                    f"{url} did not answer within {self.timeout:.0f} s: raise the timeout, lower "
                    "max_tokens, or check the server"
                ) from None
            except (urllib.error.URLError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, TimeoutError):
                    raise BackendError(
                        f"{url} did not answer within {self.timeout:.0f} s: raise the timeout, "
                        "lower max_tokens, or check the server"
                    ) from None
                if last:
                    raise BackendError(
                        f"cannot reach {url} ({reason}) after {attempt + 1} attempt(s): is the "
                        f"server running? check {ENV_BASE_URL}"
                    ) from None
                log.warning("%s: %s; retrying in %.1fs", url, reason, delay)
            else:
                try:
                    return json.loads(raw)
                except ValueError:
                    snippet = " ".join(raw[:120].decode("utf-8", "replace").split())
                    raise BackendError(
                        f"{url} answered with non-JSON ({snippet!r}): check the base URL"
                    ) from None
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _http_error(self, url: str, code: int, message: str) -> str:
        if code in (401, 403):
            return (
                f"{url} refused the API key (HTTP {code}: {message}): set {ENV_API_KEY} or "
                "pass api_key"
            )
        if code == 404:
            return (
                f"{url} not found (HTTP 404: {message}): check the base URL (it should end in "
                f"the API root, e.g. /v1) and the model name {self.model!r}"
            )
        return f"{url} failed with HTTP {code}: {message}"
