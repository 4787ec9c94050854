"""Embedded llama.cpp backend with the real Qwen2.5-Coder 0.5B model (few tokens per test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from logicode.llm import store
from logicode.llm.errors import BackendError, ModelIntegrityError

xllamacpp = pytest.importorskip("xllamacpp", reason="xllamacpp not installed: logicode[llm]")
from logicode.llm.embedded import EmbeddedChatModel, load_model, unload_models  # noqa: E402

MODEL = "qwen2.5-coder-0.5b"
QUESTION = "What is 2+3? Answer with the number only."


def _model_available() -> bool:
    status = store.model_status(MODEL)
    return status.cached or status.parts_installed == status.parts_total


@pytest.fixture(scope="module")
def chat() -> EmbeddedChatModel:
    if not _model_available():
        pytest.skip(f"{MODEL} not installed: {store.KNOWN_MODELS[MODEL].pip_command}")
    model = EmbeddedChatModel(model=MODEL, n_ctx=1024, max_tokens=8)
    model.loaded()  # load once for the module
    return model


def test_answers_deterministically(chat: EmbeddedChatModel) -> None:
    first = chat.invoke(QUESTION)
    again = chat.invoke(QUESTION, seed=12345)  # greedy at temperature 0: the seed is moot
    assert first.content.strip() == "5"
    assert again.content == first.content
    assert first.response_metadata["model_name"] == MODEL
    assert first.usage_metadata is not None and first.usage_metadata["output_tokens"] >= 1


def test_model_loads_once_per_process(chat: EmbeddedChatModel) -> None:
    other = EmbeddedChatModel(model=MODEL, n_ctx=1024, temperature=0.7, max_tokens=3)
    assert other.loaded() is chat.loaded()
    assert chat.loaded().model_file.sha256 == store.KNOWN_MODELS[MODEL].sha256


def test_prompt_cache_reused_for_shared_prefix(chat: EmbeddedChatModel) -> None:
    system = "You review inspection rules for bottles on a conveyor. " * 12
    chat.invoke([("system", system), ("human", "Is 3 odd? yes or no.")], max_tokens=2)
    warm = chat.invoke([("system", system), ("human", "Is 4 odd? yes or no.")], max_tokens=2)
    cold = chat.invoke(
        [("system", system), ("human", "Is 5 odd? yes or no.")], max_tokens=2, cache_prompt=False
    )
    assert warm.usage_metadata is not None and cold.usage_metadata is not None
    prompt_tokens = warm.usage_metadata["input_tokens"]
    assert warm.usage_metadata["input_token_details"]["cache_read"] > prompt_tokens * 0.8
    assert cold.usage_metadata["input_token_details"]["cache_read"] == 0


def test_stop_strings(chat: EmbeddedChatModel) -> None:
    msg = chat.invoke(
        "Count from 1 to 10, separated by commas. Output only the numbers.",
        stop=["4"],
        max_tokens=24,
    )
    assert msg.content.startswith("1") and "4" not in msg.content
    assert msg.response_metadata["finish_reason"] == "stop"


def test_json_schema_constrains_output(chat: EmbeddedChatModel) -> None:
    schema = {
        "title": "Fruit",
        "type": "object",
        "properties": {"fruit": {"type": "string", "enum": ["kiwi", "plum"]}},
        "required": ["fruit"],
    }
    roomy = chat.model_copy(update={"max_tokens": 16})  # same loaded model, longer replies
    out = roomy.with_structured_output(schema).invoke("Name a yellow fruit as JSON: banana.")
    assert out in ({"fruit": "kiwi"}, {"fruit": "plum"})  # the enum wins over the prompt


def test_prompt_longer_than_context_is_a_clear_error(chat: EmbeddedChatModel) -> None:
    with pytest.raises(BackendError, match="raise n_ctx"):
        chat.invoke("word " * 1500)


def test_token_count_uses_model_tokenizer(chat: EmbeddedChatModel) -> None:
    short, long = chat.get_num_tokens("def f(x):"), chat.get_num_tokens("def f(x):\n    return x")
    assert 0 < short < long < 20


def test_corrupt_gguf_is_a_backend_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGICODE_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(BackendError, match="could not load"):
        EmbeddedChatModel(model=str(bad), n_ctx=256).invoke("hi")
    notgguf = tmp_path / "x.gguf"
    notgguf.write_bytes(b"nope")
    with pytest.raises(ModelIntegrityError):
        EmbeddedChatModel(model=str(notgguf)).invoke("hi")


def test_load_model_cache_key_includes_params(chat: EmbeddedChatModel) -> None:
    mf = chat.loaded().model_file
    assert load_model(mf, chat.load_params) is chat.loaded()


def test_unload_then_reload(chat: EmbeddedChatModel) -> None:
    before = chat.loaded()
    assert unload_models() >= 1
    after = chat.loaded()
    assert after is not before and after.model_file == before.model_file
    assert chat.invoke(QUESTION).content.strip() == "5"
