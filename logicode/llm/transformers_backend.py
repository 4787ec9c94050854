"""Transformers backend (optional extra): a local Hugging Face causal-LM folder.

The folder must hold a model loadable with ``AutoModelForCausalLM`` and a tokenizer with a chat
template. Nothing is downloaded: loading is ``local_files_only``. ``transformers`` and ``torch``
are imported only when a model is first used; without them a one-line error names the extra.

Example:
    >>> chat = TransformersChatModel(model_path="~/models/qwen-0.5b")  # doctest: +SKIP
    >>> chat.invoke("Say hi").content  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from logicode.llm.base import OpenAIStyleChatModel
from logicode.llm.errors import BackendError, BackendUnavailable, ModelNotFound

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'logicode[transformers]' (transformers and torch)"


@dataclass
class _HFModel:
    model: Any
    tokenizer: Any
    load_seconds: float


_LOADED: dict[tuple[str, str], _HFModel] = {}
_LOCK = threading.Lock()


def _import_hf() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise BackendUnavailable(
            f"the transformers backend needs {exc.name or 'transformers/torch'}: {EXTRA_HINT}"
        ) from None
    return torch, transformers


def load_hf_model(path: Path, device: str = "cpu") -> _HFModel:
    """Load (once per process) a local causal-LM folder and its tokenizer.

    Raises:
        BackendUnavailable: transformers or torch is missing.
        ModelNotFound: The folder does not exist.
        BackendError: The folder cannot be loaded or its tokenizer has no chat template.
    """
    key = (str(path), device)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        if not path.is_dir():
            raise ModelNotFound(
                f"{path} is not a folder: pass a local Hugging Face model folder (config.json, "
                "weights, tokenizer)"
            )
        _, transformers = _import_hf()
        t0 = time.perf_counter()
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                path, local_files_only=True
            ).to(device)
        except (OSError, ValueError, KeyError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BackendError(
                f"transformers could not load {path} ({first}): pass a causal-LM folder"
            ) from None
        if not getattr(tokenizer, "chat_template", None):
            raise BackendError(
                f"the tokenizer in {path} has no chat template: use an instruct/chat model"
            )
        model.eval()
        loaded = _HFModel(model, tokenizer, time.perf_counter() - t0)
        _LOADED[key] = loaded
        return loaded


def _cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """Cut ``text`` at the earliest stop string; return (text, whether a stop was found)."""
    cut = min((i for s in stops if s and (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class TransformersChatModel(OpenAIStyleChatModel):
    """LangChain chat model over a local Hugging Face causal-LM folder (CPU by default).

    Replies are deterministic at ``temperature=0`` (greedy). ``response_format`` is not
    enforced by decoding here: structured output is parsed from the reply only.

    Attributes:
        model_path: The model folder.
        device: Torch device string.
    """

    model_path: str
    device: str = Field(default="cpu")

    @property
    def _llm_type(self) -> str:
        return "logicode-transformers"

    @property
    def model_label(self) -> str:
        """The model folder name."""
        return Path(self.model_path).expanduser().name

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        torch, _ = _import_hf()
        hf = load_hf_model(Path(self.model_path).expanduser(), self.device)
        try:
            enc = hf.tokenizer.apply_chat_template(
                body["messages"],
                add_generation_prompt=True,
                return_tensors="pt",
                return_dict=True,
            )
        except Exception as exc:  # noqa: BLE001 - template errors come in many types
            raise BackendError(f"chat template failed: {exc}") from None
        enc = {k: v.to(self.device) for k, v in enc.items()}
        temperature = float(body.get("temperature") or 0.0)
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": int(body.get("max_tokens") or self.max_tokens),
            "do_sample": temperature > 0,
            "pad_token_id": hf.tokenizer.pad_token_id or hf.tokenizer.eos_token_id,
        }
        if temperature > 0:
            gen_kwargs["temperature"] = temperature
            if body.get("top_p") is not None:
                gen_kwargs["top_p"] = float(body["top_p"])
        if body.get("seed") is not None:
            torch.manual_seed(int(body["seed"]))
        n_prompt = int(enc["input_ids"].shape[-1])
        with torch.no_grad():
            out = hf.model.generate(**enc, **gen_kwargs)
        new_ids = out[0, n_prompt:]
        text = hf.tokenizer.decode(new_ids, skip_special_tokens=True)
        text, stopped = _cut_at_stop(text, list(body.get("stop") or []))
        n_new = int(new_ids.shape[-1])
        eos = hf.tokenizer.eos_token_id
        ended = stopped or n_new < gen_kwargs["max_new_tokens"] or int(new_ids[-1]) == eos
        return {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop" if ended else "length",
                }
            ],
            "model": self.model_label,
            "usage": {
                "prompt_tokens": n_prompt,
                "completion_tokens": n_new,
                "total_tokens": n_prompt + n_new,
            },
        }
