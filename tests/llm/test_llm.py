"""The backend registry ``logicode.llm.get_chat_model`` (no model is loaded here)."""

from __future__ import annotations

import sys

import pytest
from langchain_core.language_models import BaseChatModel

from logicode.llm import BACKENDS, get_chat_model
from logicode.llm.errors import BackendError, BackendUnavailable


def test_backends() -> None:
    assert BACKENDS == ("embedded", "openai", "transformers")


def test_embedded_is_lazy_and_takes_settings() -> None:
    chat = get_chat_model("embedded", "qwen2.5-coder-0.5b", max_tokens=9, n_ctx=1024, threads=1)
    assert isinstance(chat, BaseChatModel)
    assert (chat.model, chat.max_tokens, chat.n_ctx) == ("qwen2.5-coder-0.5b", 9, 1024)
    assert chat.load_params.threads == 1
    from logicode.llm import embedded

    assert not any(k[0].endswith("no-such.gguf") for k in embedded._LOADED)


def test_unknown_backend() -> None:
    with pytest.raises(BackendError, match="use one of embedded, openai, transformers"):
        get_chat_model("ollama")


def test_misspelled_setting_is_refused() -> None:
    with pytest.raises(BackendError, match="'tempreature'"):
        get_chat_model("embedded", tempreature=0.2)


def test_invalid_setting_value_names_field() -> None:
    with pytest.raises(BackendError, match="max_tokens"):
        get_chat_model("embedded", max_tokens=0)


def test_openai_needs_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGICODE_OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendError, match="LOGICODE_OPENAI_BASE_URL"):
        get_chat_model("openai", "gpt-x")


def test_transformers_needs_folder() -> None:
    with pytest.raises(BackendError, match="model folder"):
        get_chat_model("transformers")


def test_missing_backend_dependency_names_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "logicode.llm.embedded", raising=False)
    monkeypatch.delitem(sys.modules, "logicode.llm.base", raising=False)
    for name in [m for m in sys.modules if m.split(".")[0] == "langchain_core"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing it now fails
    with pytest.raises(BackendUnavailable, match=r"needs langchain_core: .*logicode\[llm\]"):
        get_chat_model("embedded")
