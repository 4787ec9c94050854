"""Shared OpenAI-format plumbing: message conversion, request bodies, results, structured output."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ChatMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from logicode.llm.base import (
    OpenAIStyleChatModel,
    chat_result_from_openai,
    parse_structured,
    response_format_for,
    to_openai_messages,
)
from logicode.llm.errors import BackendError, StructuredOutputError


class Recorder(OpenAIStyleChatModel):
    """Transport stub: records request bodies and answers with a scripted reply."""

    reply: str = "ok"
    finish: str = "stop"
    bodies: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "recorder"

    @property
    def model_label(self) -> str:
        return "rec"

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        return {
            "choices": [
                {
                    "message": {"role": "assistant", "content": self.reply},
                    "finish_reason": self.finish,
                }
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
        }


def test_messages_convert_by_role() -> None:
    msgs = [
        SystemMessage("sys"),
        HumanMessage([{"type": "text", "text": "a"}, "b"]),
        AIMessage("c"),
        ChatMessage(role="developer", content="d"),
    ]
    assert to_openai_messages(msgs) == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "ab"},
        {"role": "assistant", "content": "c"},
        {"role": "developer", "content": "d"},
    ]


def test_image_url_parts_pass_as_content_parts_in_order() -> None:
    msg = HumanMessage(
        [
            "look:",
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
            {"type": "text", "text": "and"},
            {"type": "image_url", "image_url": "https://x/y.png"},
        ]
    )
    assert to_openai_messages([SystemMessage("s"), msg]) == [
        {"role": "system", "content": "s"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look:"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
                {"type": "text", "text": "and"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
        },
    ]


def test_other_blocks_and_urlless_images_are_refused() -> None:
    with pytest.raises(BackendError, match="'audio'"):
        to_openai_messages([HumanMessage([{"type": "audio", "data": "x"}])])
    with pytest.raises(BackendError, match="no url"):
        to_openai_messages([HumanMessage([{"type": "image_url", "image_url": {}}])])


def test_request_body_defaults_and_overrides() -> None:
    chat = Recorder(temperature=0.0, max_tokens=33, seed=7, stop=["\n\n"], bodies=[])
    chat.invoke("hi")
    chat.invoke("hi", stop=["END"], temperature=0.5, grammar='root ::= "x"')
    first, second = chat.bodies
    assert first == {
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.0,
        "max_tokens": 33,
        "seed": 7,
        "stop": ["\n\n"],
    }
    assert second["stop"] == ["END"] and second["temperature"] == 0.5
    assert second["grammar"] == 'root ::= "x"'


def test_result_carries_usage_and_finish_reason() -> None:
    msg = Recorder(reply="hello", bodies=[]).invoke("hi")
    assert msg.content == "hello"
    assert msg.usage_metadata is not None and msg.usage_metadata["total_tokens"] == 9
    assert msg.response_metadata["finish_reason"] == "stop"
    assert msg.response_metadata["model_name"] == "rec"


def test_result_without_choices_is_an_error() -> None:
    with pytest.raises(BackendError, match="no choices"):
        chat_result_from_openai({"object": "error"})


class Verdict(BaseModel):
    ok: bool
    reason: str


def test_structured_output_binds_schema_and_validates() -> None:
    chat = Recorder(reply=json.dumps({"ok": False, "reason": "two labels"}), bodies=[])
    out = chat.with_structured_output(Verdict).invoke("judge")
    assert out == Verdict(ok=False, reason="two labels")
    fmt = chat.bodies[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"]["required"] == ["ok", "reason"]


def test_structured_output_with_dict_schema_returns_dict() -> None:
    schema = {"title": "pt", "type": "object", "properties": {"x": {"type": "integer"}}}
    chat = Recorder(reply='```json\n{"x": 3}\n```', bodies=[])
    assert chat.with_structured_output(schema).invoke("p") == {"x": 3}
    assert response_format_for(schema)["json_schema"]["name"] == "pt"


def test_structured_output_errors_are_typed_and_explain_truncation() -> None:
    chat = Recorder(reply='{"ok": tr', finish="length", bodies=[])
    with pytest.raises(StructuredOutputError, match="raise max_tokens"):
        chat.with_structured_output(Verdict).invoke("judge")
    raw = chat.with_structured_output(Verdict, include_raw=True).invoke("judge")
    assert raw["parsed"] is None and isinstance(raw["parsing_error"], StructuredOutputError)
    assert raw["raw"].content == '{"ok": tr'


def test_structured_output_schema_mismatch() -> None:
    with pytest.raises(StructuredOutputError, match="does not match Verdict"):
        parse_structured(AIMessage('{"ok": true}'), Verdict)


def test_unsupported_structured_method() -> None:
    with pytest.raises(ValueError, match="function_calling"):
        Recorder(bodies=[]).with_structured_output(Verdict, method="function_calling")
