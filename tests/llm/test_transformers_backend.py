"""Transformers backend: the plumbing, on a tiny randomly initialised model saved to tmp_path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from logicode.llm import get_chat_model
from logicode.llm.errors import BackendError, BackendUnavailable, ModelNotFound
from logicode.llm.transformers_backend import TransformersChatModel, _cut_at_stop

TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def test_missing_dependencies_name_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    chat = TransformersChatModel(model_path=str(tmp_path))
    with pytest.raises(BackendUnavailable, match=r"logicode\[transformers\]"):
        chat.invoke("hi")


def test_cut_at_stop() -> None:
    assert _cut_at_stop("abc END def STOP", ["STOP", "END"]) == ("abc ", True)
    assert _cut_at_stop("abc", ["x", ""]) == ("abc", False)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch", reason="torch not installed: logicode[transformers]")
    transformers = pytest.importorskip(
        "transformers", reason="transformers not installed: logicode[transformers]"
    )
    tokenizers = pytest.importorskip("tokenizers")
    import torch

    words = "hello world the bottle label is red green blue one two three yes no".split()
    vocab = {w: i for i, w in enumerate(["<unk>", "</s>", "<|user|>", "<|assistant|>", *words])}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.decoder = tokenizers.decoders.WordPiece()  # joins tokens with spaces
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", eos_token="</s>", pad_token="</s>"
    )
    fast.add_special_tokens({"additional_special_tokens": ["<|user|>", "<|assistant|>"]})
    fast.chat_template = TEMPLATE
    config = transformers.Qwen2Config(
        vocab_size=len(vocab),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=128,
        eos_token_id=1,
        pad_token_id=1,
    )
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-qwen")
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


def test_tiny_model_generates_deterministically(tiny_model: Path) -> None:
    import transformers

    chat = get_chat_model("transformers", str(tiny_model), max_tokens=5)
    messages = [("system", "one two"), ("human", "hello world")]
    first = chat.invoke(messages)
    again = chat.invoke(messages)
    assert first.content == again.content
    tok = transformers.AutoTokenizer.from_pretrained(tiny_model, local_files_only=True)
    prompt = tok.apply_chat_template(
        [{"role": "system", "content": "one two"}, {"role": "user", "content": "hello world"}],
        add_generation_prompt=True,
        tokenize=False,
    )
    assert prompt.startswith("<|system|>one two</s><|user|>") and prompt.endswith("<|assistant|>")
    usage = first.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert 0 <= usage["output_tokens"] <= 5
    assert first.response_metadata["model_name"] == tiny_model.name
    assert first.response_metadata["finish_reason"] in ("stop", "length")


def test_tiny_model_sampling_respects_seed(tiny_model: Path) -> None:
    chat = TransformersChatModel(model_path=str(tiny_model), temperature=1.5, max_tokens=6)
    a = chat.invoke("hello", seed=1).content
    b = chat.invoke("hello", seed=1).content
    assert a == b


def test_not_a_folder(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    with pytest.raises(ModelNotFound, match="not a folder"):
        TransformersChatModel(model_path=str(tmp_path / "missing")).invoke("hi")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BackendError, match="could not load"):
        TransformersChatModel(model_path=str(empty)).invoke("hi")
