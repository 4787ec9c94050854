"""``logicode bench`` command: options, output, compile through the chat-model seam, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from typer.testing import CliRunner

from logicode.codegen.pack import PackManifest, RuleEntry, RulePack, code_sha256
from logicode.commands.bench import bench
from logicode.data.synth import generate_dataset
from logicode.spec import load_spec

CATEGORY = "juice_bottle"
RULE = "bottom_label_present"
CODE = """def check(scene):
    labels = scene.find("bottom_label")
    if len(labels) != 1:
        return [violation(f"{len(labels)} bottom labels, expected 1", *labels)]
    return []
"""

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    app.command("bench")(bench)
    return app


class OneRuleChat(BaseChatModel):
    """Answers every prompt with the code of RULE."""

    asked: list[int] = []

    @property
    def _llm_type(self) -> str:
        return "one-rule"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.asked.append(1)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(f"```python\n{CODE}```"))])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cmd") / "juice_bottle"
    generate_dataset(CATEGORY, root, n_good=1, n_logical=3, n_train=2, n_val=0, seed=1, workers=1)
    return root


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    spec = load_spec(CATEGORY)
    entry = RuleEntry(
        id=RULE,
        text=spec.rule(RULE).text,
        guards=spec.rule(RULE).guards,
        status="ok",
        code_sha256=code_sha256(CODE),
    )
    manifest = PackManifest(category=CATEGORY, spec_sha256="", rules=[entry])
    return RulePack(manifest, {RULE: CODE}).save(tmp_path / "pack")


def args(dataset: Path, out: Path, *more: str) -> list[str]:
    return ["bench", "--dataset", str(dataset), "--out", str(out), "--workers", "1", *more]


def test_bench_with_a_given_pack_prints_json_metrics(dataset: Path, pack: Path, tmp_path: Path):
    out = tmp_path / "out"
    res = runner.invoke(make_app(), args(dataset, out, "--rules", str(pack), "--json"))
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    overall = doc["overall"]
    assert overall["n_scored"] == 4
    # one good image, three anomalies: only a missing bottom label is caught by this rule
    defects = [json.loads(line)["defects"] for line in (out / "records.jsonl").open()]
    caught = sum("missing_bottom_label" in d for d in defects)
    assert overall["confusion"]["tp"] == caught and overall["confusion"]["fp"] == 0
    assert overall["confusion"]["fn"] == 3 - caught
    assert (out / "report.md").is_file() and (out / "plots" / "roc.png").is_file()
    assert doc["run"]["settings"]["rules_pack"] == str(pack)


def test_bench_compiles_with_the_chosen_backend_and_prints_a_table(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import logicode.llm

    chat = OneRuleChat(asked=[])
    seen: list[tuple[str, str | None]] = []

    def fake_get_chat_model(backend: str, model: str | None = None, **cfg):
        seen.append((backend, model))
        return chat

    monkeypatch.setattr(logicode.llm, "get_chat_model", fake_get_chat_model)
    out = tmp_path / "out"
    more = ("--backend", "openai", "--model", "fake", "--rule", RULE, "--candidates", "1")
    res = runner.invoke(make_app(), args(dataset, out, *more, "--no-plots"))
    assert res.exit_code == 0, res.output
    assert seen == [("openai", "fake")] and chat.asked
    assert "LogiBench" in res.stdout and "juice_bottle" in res.stdout
    manifests = list((out / "packs").glob("juice_bottle-*/manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert manifest["rules"][0]["status"] == "ok" and manifest["model"]["name"] == "fake"
    assert not (out / "plots").exists()
    # a second run reuses the compiled pack and the records: the model is not asked again
    chat.asked.clear()
    again = runner.invoke(make_app(), args(dataset, out, *more, "--no-plots"))
    assert again.exit_code == 0, again.output
    assert not chat.asked


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scenes", "pixels"], "use gt or perceived"),
        (["--rules", "/no/such/pack"], "rule pack not found"),
        (["--rule", "no_such_rule", "--rules", "PACK"], "has no rule 'no_such_rule'"),
    ],
)
def test_bench_bad_options_print_one_line(dataset, pack, tmp_path, extra, message):
    extra = [str(pack) if e == "PACK" else e for e in extra]
    res = runner.invoke(make_app(), args(dataset, tmp_path / "o", *extra))
    assert res.exit_code == 1
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_bench_unknown_dataset_and_category(tmp_path: Path):
    res = runner.invoke(make_app(), ["bench", "-d", "synth:teapot", "-o", str(tmp_path / "o")])
    assert res.exit_code == 1 and "no synthetic generator for 'teapot'" in res.output
    res = runner.invoke(make_app(), ["bench", "-d", str(tmp_path / "nope"), "-o", str(tmp_path)])
    assert res.exit_code == 1 and "dataset folder not found" in res.output


def test_bench_refuses_an_out_folder_of_another_run(dataset: Path, pack: Path, tmp_path: Path):
    out = tmp_path / "out"
    first = runner.invoke(make_app(), args(dataset, out, "--rules", str(pack), "--no-plots"))
    assert first.exit_code == 0, first.output
    other = runner.invoke(
        make_app(), args(dataset, out, "--rules", str(pack), "--scenes", "perceived")
    )
    assert other.exit_code == 1
    assert "other settings (scenes: 'gt' -> 'perceived')" in other.output


def test_bench_interrupted_keeps_outputs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import logicode.bench.runner

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(logicode.bench.runner, "run_bench", interrupted)
    res = runner.invoke(make_app(), ["bench", "-d", "synth:pushpins", "-o", str(tmp_path)])
    assert res.exit_code == 130 and "finished outputs are kept" in res.output
