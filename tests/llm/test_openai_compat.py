"""OpenAI-compatible backend: for real against llama.cpp's loopback server, plus HTTP failures."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import BaseModel

from logicode.llm import get_chat_model, store
from logicode.llm.errors import BackendError
from logicode.llm.openai_compat import OpenAICompatChatModel, normalize_base_url

MODEL = "qwen2.5-coder-0.5b"
QUESTION = "What is 2+3? Answer with the number only."


# --------------------------------------------------------------------------- real endpoint


@pytest.fixture(scope="module")
def endpoint() -> tuple[str, str]:
    """(base_url, api_key) of the HTTP server that xllamacpp opens for the embedded model."""
    pytest.importorskip("xllamacpp", reason="xllamacpp not installed: logicode[llm]")
    status = store.model_status(MODEL)
    if not (status.cached or status.parts_installed == status.parts_total):
        pytest.skip(f"{MODEL} not installed: {store.KNOWN_MODELS[MODEL].pip_command}")
    from logicode.llm.embedded import EmbeddedChatModel

    loaded = EmbeddedChatModel(model=MODEL, n_ctx=1024).loaded()
    return loaded.base_url, loaded.api_key


def test_chat_over_http_matches_in_process(endpoint: tuple[str, str]) -> None:
    url, key = endpoint
    chat = OpenAICompatChatModel(base_url=url, api_key=key, model="whatever", max_tokens=8)
    msg = chat.invoke(QUESTION)
    assert msg.content.strip() == "5"
    assert msg.usage_metadata is not None and msg.usage_metadata["input_tokens"] > 5
    assert msg.response_metadata["finish_reason"] == "stop"


def test_grammar_field_reaches_the_llama_cpp_server(endpoint: tuple[str, str]) -> None:
    """llama.cpp's server honours the ``grammar`` field (``LOGICODE_OPENAI_GRAMMAR=1``)."""
    from logicode.codegen.grammar import RULE_CODE_GRAMMAR

    url, key = endpoint
    chat = OpenAICompatChatModel(base_url=url, api_key=key, accepts_grammar=True, max_tokens=120)
    text = str(chat.invoke("Say hello in prose.", grammar=RULE_CODE_GRAMMAR).content)
    assert text.startswith("```python\ndef check(scene):\n"), text[:60]


def test_config_from_environment(
    endpoint: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, key = endpoint
    monkeypatch.setenv("LOGICODE_OPENAI_BASE_URL", url.removesuffix("/v1"))  # bare host:port
    monkeypatch.setenv("LOGICODE_OPENAI_MODEL", "qwen-local")
    monkeypatch.delenv("LOGICODE_OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    chat = get_chat_model("openai", max_tokens=8)
    assert isinstance(chat, OpenAICompatChatModel)
    assert chat.base_url == url and chat.model == "qwen-local"
    assert chat.invoke(QUESTION).content.strip() == "5"


def test_wrong_key_is_refused(endpoint: tuple[str, str]) -> None:
    url, _ = endpoint
    chat = OpenAICompatChatModel(base_url=url, api_key="wrong", max_tokens=4, max_retries=3)
    t0 = time.perf_counter()
    with pytest.raises(BackendError, match=r"refused the API key \(HTTP 401") as exc:
        chat.invoke("hi")
    assert time.perf_counter() - t0 < 2  # 401 is not retried
    assert "\n" not in str(exc.value)


def test_wrong_path_is_404(endpoint: tuple[str, str]) -> None:
    url, key = endpoint
    chat = OpenAICompatChatModel(base_url=url + "/nope", api_key=key, max_tokens=4)
    with pytest.raises(BackendError, match="HTTP 404"):
        chat.invoke("hi")


class Answer(BaseModel):
    answer: int


def test_structured_output_over_http(endpoint: tuple[str, str]) -> None:
    url, key = endpoint
    chat = OpenAICompatChatModel(base_url=url, api_key=key, max_tokens=16)
    out = chat.with_structured_output(Answer).invoke("2+3 as JSON with key answer")
    assert out == Answer(answer=5)


# --------------------------------------------------------------------------- HTTP failures


class Script:
    """Statuses a local test server answers with, in order (then 200 with a canned reply)."""

    def __init__(self, statuses: list[int], delay: float = 0.0) -> None:
        self.statuses = statuses
        self.delay = delay
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
def scripted() -> Iterator[tuple[str, Script]]:
    script = Script([])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
            time.sleep(script.delay)
            status = script.statuses.pop(0) if script.statuses else 200
            if status == 200:
                payload = {
                    "choices": [
                        {
                            "message": {"role": "assistant", "content": "pong"},
                            "finish_reason": "stop",
                        }
                    ],
                    "model": body.get("model", "m"),
                }
            else:
                payload = {"error": {"message": f"scripted {status}"}}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    finally:
        server.shutdown()
        server.server_close()


def test_retries_5xx_then_succeeds(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.statuses = [503, 502]
    chat = OpenAICompatChatModel(base_url=url, model="m1", api_key="k", retry_backoff=0.01)
    assert chat.invoke("ping").content == "pong"
    assert len(script.requests) == 3
    req = script.requests[-1]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer k"
    assert req["body"]["model"] == "m1" and req["body"]["stream"] is False
    assert req["body"]["messages"] == [{"role": "user", "content": "ping"}]


def test_gives_up_after_max_retries(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.statuses = [500, 500, 500]
    chat = OpenAICompatChatModel(base_url=url, max_retries=1, retry_backoff=0.01)
    with pytest.raises(BackendError, match="HTTP 500: scripted 500"):
        chat.invoke("ping")
    assert len(script.requests) == 2


def test_client_errors_are_not_retried(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.statuses = [400]
    chat = OpenAICompatChatModel(base_url=url, retry_backoff=0.01)
    with pytest.raises(BackendError, match="HTTP 400"):
        chat.invoke("ping")
    assert len(script.requests) == 1


def test_timeout_is_reported(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.delay = 1.0
    chat = OpenAICompatChatModel(base_url=url, timeout=0.2, retry_backoff=0.01)
    with pytest.raises(BackendError, match="did not answer within"):
        chat.invoke("ping")


def test_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    chat = OpenAICompatChatModel(
        base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, retry_backoff=0.01
    )
    with pytest.raises(BackendError, match=r"cannot reach .* after 2 attempt"):
        chat.invoke("ping")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://h:1", "http://h:1/v1"),
        ("http://h:1/", "http://h:1/v1"),
        ("https://api.x.com/v1/", "https://api.x.com/v1"),
        ("http://h:1/v1/chat/completions", "http://h:1/v1"),
        ("http://h:1/api/openai", "http://h:1/api/openai"),
    ],
)
def test_normalize_base_url(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_bad_base_url() -> None:
    with pytest.raises(BackendError, match="not an http"):
        OpenAICompatChatModel(base_url="localhost:8080")
