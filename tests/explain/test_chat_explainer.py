"""ChatExplainer with fake chat models, and the vision path over real HTTP."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from explain_helpers import request, write_image
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import BaseMessage
from PIL import Image

from logicode.explain import ChatExplainer, build_messages, explain, get_explainer
from logicode.llm import BackendError

FAILED = {"top_label_present": ["0 top labels, expected 1"]}
VALID = json.dumps(
    {
        "reasoning": "The top label is missing: 0 found, 1 expected.",
        "verdict": "anomaly",
        "cited_rules": ["top_label_present"],
    }
)


class RecordingChat(GenericFakeChatModel):
    """GenericFakeChatModel that keeps the messages and options of every call."""

    calls: list[tuple[list[BaseMessage], dict[str, Any]]] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append((list(messages), dict(kwargs)))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


class FailingChat(GenericFakeChatModel):
    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        raise ConnectionError("server went away")


def fake(*replies: str) -> RecordingChat:
    return RecordingChat(messages=iter(replies), calls=[])


def test_valid_answer_becomes_the_explanation():
    chat = fake(VALID)
    ex = ChatExplainer(chat, backend="fake", model_info={"name": "m"})
    req = request(FAILED)
    exp = explain(ex, req)
    assert exp.reasoning.startswith("The top label is missing")
    assert exp.verdict == "anomaly" and exp.agrees is True and exp.error is None
    assert exp.cited_rules == ["top_label_present"]
    assert exp.backend == "fake" and exp.model == {"name": "m"}
    assert exp.prompt_sha256 == build_messages(req, vision=False).sha256
    msgs, opts = chat.calls[0]
    assert opts["temperature"] == 0.0 and opts["max_tokens"] == 400
    assert "response_format" not in opts  # foreign chat models get no schema
    assert isinstance(msgs[1].content, str)  # text only


def test_disagreeing_verdict_is_kept_and_flagged():
    reply = json.dumps({"reasoning": "Looks fine to me.", "verdict": "good", "cited_rules": []})
    exp = ChatExplainer(fake(reply)).explain(request(FAILED))
    assert exp.verdict == "good" and exp.agrees is False and exp.error is None


def test_one_repair_turn_says_what_was_wrong():
    bad = json.dumps({"reasoning": "x", "verdict": "anomaly", "cited_rules": ["no_such_rule"]})
    chat = fake(bad, "```json\n" + VALID + "\n```")
    exp = ChatExplainer(chat).explain(request(FAILED))
    assert exp.error is None and exp.cited_rules == ["top_label_present"]
    assert len(chat.calls) == 2
    second = chat.calls[1][0]
    assert [m.type for m in second] == ["system", "human", "ai", "human"]
    assert second[2].content == bad
    assert "'no_such_rule' is not a rule id" in second[3].content
    assert "top_label_present" in second[3].content


def test_two_invalid_answers_fall_back_to_the_template_with_an_error():
    chat = fake("no idea", "still no idea")
    exp = ChatExplainer(chat, backend="fake").explain(request(FAILED))
    assert len(chat.calls) == 2
    assert exp.error is not None and "invalid answer after one repair" in exp.error
    assert "no JSON object" in exp.error
    assert exp.reasoning.startswith("No usable explanation from the fake model")
    assert "0 top labels, expected 1" in exp.reasoning  # the template's account follows
    assert exp.verdict == "anomaly" and exp.cited_rules == ["top_label_present"]
    assert exp.backend == "fake" and len(exp.prompt_sha256) == 64


def test_a_model_that_raises_falls_back_without_retrying():
    exp = ChatExplainer(FailingChat(messages=iter([]))).explain(request())
    assert exp.error is not None and "server went away" in exp.error
    assert exp.verdict == "good" and exp.agrees is True


def test_text_only_backends_refuse_vision_and_unknown_backends_fail():
    from logicode.llm.embedded import EmbeddedChatModel

    with pytest.raises(BackendError, match="text only"):
        ChatExplainer(EmbeddedChatModel(), vision=True, backend="embedded")
    with pytest.raises(BackendError, match="text only"):
        get_explainer("embedded", vision=True)
    with pytest.raises(BackendError, match="unknown explain backend"):
        get_explainer("magic")


def test_provenance_names_backend_settings_and_templates():
    prov = ChatExplainer(fake(VALID), backend="fake").provenance("juice_bottle")
    assert prov["backend"] == "fake" and prov["max_tokens"] == 400
    assert set(prov["templates"]) >= {"explain/system.md", "explain/query.md"}
    assert get_explainer("template").provenance("juice_bottle") == {"backend": "template"}


# --- a tiny OpenAI-compatible server ---------------------------------------------------------


@pytest.fixture
def server() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"bodies": [], "reply": VALID}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers["Content-Length"])
            state["bodies"].append(json.loads(self.rfile.read(length)))
            state["path"] = self.path
            out = json.dumps(
                {
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": state["reply"]},
                            "finish_reason": "stop",
                        }
                    ],
                    "model": "vis-model",
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_vision_request_carries_images_as_base64_content_parts(server, tmp_path, monkeypatch):
    monkeypatch.setenv("LOGICODE_OPENAI_BASE_URL", server["url"])
    ref = write_image(tmp_path / "ref.png", w=1600, h=1000, seed=1)
    query = write_image(tmp_path / "query.png", w=1600, h=1000, seed=2)
    ex = get_explainer("openai", "vis-model", max_retries=0)
    assert ex.vision is True
    req = request(FAILED, image=query, references=[ref])
    exp = explain(ex, req)
    assert exp.error is None and exp.backend == "openai" and exp.agrees is True
    assert exp.model["name"] == "vis-model" and exp.model["base_url"] == server["url"] + "/v1"
    assert server["path"] == "/v1/chat/completions"
    body = server["bodies"][0]
    assert body["model"] == "vis-model" and body["temperature"] == 0.0
    assert body["max_tokens"] == 400 and "response_format" not in body
    system, user = body["messages"]
    assert system["role"] == "system" and isinstance(system["content"], str)
    parts = user["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    for p in (parts[1], parts[3]):
        prefix, data = p["image_url"]["url"].split(",", 1)
        assert prefix == "data:image/jpeg;base64"
        im = Image.open(io.BytesIO(base64.b64decode(data)))
        assert im.format == "JPEG" and im.size == (768, 480)
    assert "FAIL top_label_present" in parts[4]["text"]
    assert exp.prompt_sha256 == build_messages(req, vision=True).sha256


def test_text_mode_over_http_and_server_errors_fall_back(server):
    ex = get_explainer("openai", "m", vision=False, base_url=server["url"], max_retries=0)
    server["reply"] = "sorry"
    exp = ex.explain(request(FAILED))
    assert len(server["bodies"]) == 2  # first try and one repair
    assert isinstance(server["bodies"][0]["messages"][1]["content"], str)
    assert exp.error is not None and exp.reasoning.startswith("No usable explanation")
    dead = get_explainer("openai", "m", base_url="http://127.0.0.1:9", max_retries=0, timeout=2)
    exp = dead.explain(request())
    assert exp.error is not None and "model call failed" in exp.error
