"""``logicode rules compile`` and ``logicode rules check`` through the chat-model seam."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from typer.testing import CliRunner

from logicode.cli import app

CODE = """def check(scene):
    nuts = scene.find("nut")
    if len(nuts) != 2:
        return [violation(f"{len(nuts)} nuts, expected 2", *nuts)]
    return []
"""
SPEC = {
    "category": "tray",
    "description": "A tray holding nuts.",
    "components": [{"label": "tray"}, {"label": "nut"}],
    "rules": [{"id": "two_nuts", "text": "There are exactly two nuts."}],
}

runner = CliRunner()


class CodeChat(BaseChatModel):
    """Answers every prompt with CODE and keeps the prompts it was sent."""

    prompts: list[list[str]] = []

    @property
    def _llm_type(self) -> str:
        return "code"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.prompts.append([str(m.content) for m in messages])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(f"```python\n{CODE}```"))])


def scene(n_nuts: int) -> dict:
    comps = [
        {
            "id": "t",
            "label": "tray",
            "bbox": [10, 10, 290, 190],
            "area": 50400.0,
            "centroid": [150.0, 100.0],
        },
    ]
    for i in range(n_nuts):
        x = 40 + 60 * i
        comps.append(
            {
                "id": f"n{i}",
                "label": "nut",
                "bbox": [x, 120, x + 20, 140],
                "area": 400.0,
                "centroid": [x + 10.0, 130.0],
            }
        )
    return {
        "schema_version": "1.0",
        "category": "tray",
        "image": {"path": "tray.png", "width": 300, "height": 200},
        "components": comps,
    }


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> CodeChat:
    import logicode.llm

    model = CodeChat(prompts=[])
    monkeypatch.setattr(logicode.llm, "get_chat_model", lambda backend, name=None, **kw: model)
    return model


@pytest.fixture
def spec_and_refs(tmp_path: Path) -> tuple[Path, Path]:
    spec = tmp_path / "tray.yaml"
    spec.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    refs = tmp_path / "refs"
    refs.mkdir()
    for i in range(2):
        (refs / f"good_{i}.json").write_text(json.dumps(scene(2)), encoding="utf-8")
    return spec, refs


def compile_args(spec: Path, refs: Path, out: Path, *more: str) -> list[str]:
    """The command line of ``logicode rules compile`` with ``more`` options."""
    return ["rules", "compile", str(spec), "--refs", str(refs), "--out", str(out), *more]


def test_compile_then_check(chat: CodeChat, spec_and_refs: tuple[Path, Path], tmp_path: Path):
    spec, refs = spec_and_refs
    pack = tmp_path / "pack"
    more = ("--backend", "openai", "--model", "fake", "--examples", "similar", "--no-plans")
    res = runner.invoke(app, compile_args(spec, refs, pack, *more))
    assert res.exit_code == 0, res.output
    assert "1/1 rules compiled" in res.stdout
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["settings"]["examples"] == "similar"
    assert manifest["settings"]["plans"] is False
    assert manifest["rules"][0]["status"] == "ok"
    system, user = chat.prompts[0]
    assert "Worked examples" in user and "Worked examples" not in system
    three = tmp_path / "three.json"
    three.write_text(json.dumps(scene(3)), encoding="utf-8")
    res = runner.invoke(app, ["rules", "check", str(pack), str(three), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["two_nuts"]["status"] == "fail"


def test_unknown_examples_mode_is_one_clear_error(
    chat: CodeChat, spec_and_refs: tuple[Path, Path], tmp_path: Path
):
    spec, refs = spec_and_refs
    res = runner.invoke(app, compile_args(spec, refs, tmp_path / "p", "--examples", "some"))
    assert res.exit_code != 0
    assert "--examples must be 'all' or 'similar'" in res.output
    assert not chat.prompts and not (tmp_path / "p").exists()
