"""The LogiBench runner end to end on a tiny synthetic dataset, with a scripted chat model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from logicode.bench.metrics import SCORE_NAME
from logicode.bench.records import read_records
from logicode.bench.runner import (
    BenchConfig,
    BenchError,
    Target,
    build_perception,
    entry_compiled,
    rule_right,
    run_bench,
)
from logicode.codegen.compiler import CompileSettings
from logicode.codegen.pack import PackManifest, RuleEntry, RulePack, code_sha256
from logicode.data.synth import generate_dataset
from logicode.spec import load_spec

CATEGORY = "juice_bottle"
N_GOOD, N_LOGICAL = 2, 6

# Hand-written, correct code for three rules (what a perfect model answers).
CODE = yaml.safe_load(
    (
        Path(__file__).resolve().parents[1] / "fixtures" / "rules" / "juice_bottle_handwritten.yaml"
    ).read_text(encoding="utf-8")
)
FAILING = "fill_level"  # the scripted model answers it with prose: it never compiles
RULES = (*CODE, FAILING)


class RuleChat(BaseChatModel):
    """Answers each rule's prompt with its hand-written code (prose for unknown rules)."""

    answers: dict[str, str]
    calls: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "rule-scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        asked = " ".join(m.content for m in messages if isinstance(m, HumanMessage))
        for text, answer in self.answers.items():
            if text in asked:
                self.calls.append(text)
                return ChatResult(generations=[ChatGeneration(message=AIMessage(answer))])
        self.calls.append("?")
        return ChatResult(generations=[ChatGeneration(message=AIMessage("I cannot help."))])


def make_chat() -> RuleChat:
    spec = load_spec(CATEGORY)
    answers = {
        " ".join(spec.rule(rid).text.split()): f"```python\n{code}```" for rid, code in CODE.items()
    }
    return RuleChat(answers=answers, calls=[])


class NoChat(RuleChat):
    """A chat model that must not be called (the pack is cached)."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        raise AssertionError("the rules were compiled again")


MODEL = {"backend": "scripted", "name": "rule-chat", "sha256": "0" * 64}
SETTINGS = CompileSettings(candidates=1, max_rounds=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench") / "jb"
    generate_dataset(
        CATEGORY, root, n_good=N_GOOD, n_logical=N_LOGICAL, n_train=3, n_val=0, seed=3, workers=1
    )
    return root


@pytest.fixture(scope="module")
def full_run(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    out = tmp_path_factory.mktemp("run") / "out"
    cfg = config(dataset, out)
    chat = make_chat()
    return run_bench(cfg, chat=chat, model_info=MODEL), chat


def config(dataset: Path | str, out: Path, **kw: Any) -> BenchConfig:
    base: dict[str, Any] = {
        "dataset": str(dataset),
        "out": out,
        "rule_ids": RULES,
        "compile": SETTINGS,
        "batch_size": 3,
        "workers": 1,
        "plots": False,
    }
    base.update(kw)
    return BenchConfig(**base)


def expected_anomalous(defects: list[str]) -> bool:
    """What the ok rules must say, from the spec's guards (the generators guarantee it)."""
    spec = load_spec(CATEGORY)
    guarded = {g for rid in CODE for g in spec.rule(rid).guards}
    return bool(set(defects) & guarded)


def test_end_to_end_verdicts_metrics_and_codegen(full_run, dataset: Path) -> None:
    result, chat = full_run
    out = result.paths["metrics"].parent
    records = read_records(out / "records.jsonl")
    assert len(records) == N_GOOD + N_LOGICAL
    assert sum(r.truth.value == "good" for r in records) == N_GOOD
    tp = fp = tn = fn = 0
    for r in records:
        want = expected_anomalous(r.defects)
        assert (r.verdict == "anomaly") == want, (r.image_id, r.defects, r.rules)
        assert {o.rule for o in r.rules} == set(RULES)
        # the rule that did not compile is recorded as never firing
        assert next(o for o in r.rules if o.rule == FAILING).status == "pass"
        assert set(r.timings) == {"scene", "rules"} and r.peak_memory_mb > 0
        # score: the verdict (1 / 0) plus x / (1 + x), x = violated rules + the deviation
        # from the 3 train/good scenes (ground truth: every violation is sure)
        assert r.deviation is not None and r.deviation >= 0
        x = sum(o.status == "fail" for o in r.rules) + r.deviation
        assert r.score == pytest.approx(float(want) + x / (1 + x))
        pos = r.truth.value == "logical_anomaly"
        tp += pos and want
        fn += pos and not want
        fp += (not pos) and want
        tn += (not pos) and not want
    assert tp > 0 and fn > 0, "the tiny dataset should have caught and missed anomalies"
    m = result.metrics.overall
    assert (m.confusion.tp, m.confusion.fp, m.confusion.tn, m.confusion.fn) == (tp, fp, tn, fn)
    assert m.confusion.accuracy == pytest.approx((tp + tn) / len(records))
    assert m.reasoning.value == 1.0 and m.reasoning.n == tp
    # code generation: three rules compiled, validated and right on every held-out scene
    cg = {c.rule_id: c for c in result.codegen}
    assert set(cg) == set(RULES)
    for rid in CODE:
        assert cg[rid].validated and cg[rid].heldout_right, cg[rid]
        assert cg[rid].heldout_total == N_GOOD + N_LOGICAL
    assert not cg[FAILING].compiled and not cg[FAILING].validated
    assert m.codegen.validated_rate == pytest.approx(3 / 4)
    assert m.codegen.heldout_rate == pytest.approx(3 / 4)
    assert result.run["not_compiled"][CATEGORY][0]["id"] == FAILING
    # outputs
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["overall"]["accuracy"] == pytest.approx(m.confusion.accuracy)
    assert doc["run"]["score"]["name"] == doc["run"]["settings"]["score"] == SCORE_NAME
    assert doc["run"]["categories"][0]["deviation"]["references"] == 3
    assert doc["overall"]["auroc_rules"] is not None and doc["overall"]["auroc_deviation"]
    assert doc["run"]["categories"][0]["pack_source"] == "compiled"
    report = (out / "report.md").read_text()
    assert "| juice_bottle |" in report and f"| {FAILING} | failed |" in report
    assert "| labels_order | ok | 8/8 |" in report
    assert len(list((out / "packs").glob(f"{CATEGORY}-*/manifest.json"))) == 1
    # the model was asked about every rule; the failing one got its repair round and the
    # plans (CompileSettings.plan_candidates) too
    assert chat.calls.count("?") == 2 + SETTINGS.plan_candidates


def test_rerun_reuses_the_cached_pack_and_the_records(full_run, dataset: Path) -> None:
    result, _ = full_run
    out = result.paths["metrics"].parent
    again = run_bench(config(dataset, out), chat=NoChat(answers={}), model_info=MODEL)
    assert again.categories[0].pack_source == "cached"
    assert again.categories[0].evaluated_now == 0
    assert again.metrics.overall.to_dict() == result.metrics.overall.to_dict()


def test_resume_after_interruption(full_run, dataset: Path, tmp_path: Path) -> None:
    result, _ = full_run
    out = tmp_path / "out"
    shutil.copytree(result.paths["metrics"].parent / "packs", out / "packs")
    cfg = config(dataset, out)
    seen: list[int] = []

    def stop_after_4(task: str, done: int, total: int) -> None:
        if task.endswith("images"):
            seen.append(done)
            if done == 4:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(cfg, chat=NoChat(answers={}), model_info=MODEL, progress=stop_after_4)
    assert len(read_records(out / "records.jsonl")) == 4
    resumed = run_bench(cfg, chat=NoChat(answers={}), model_info=MODEL)
    assert resumed.categories[0].evaluated_now == N_GOOD + N_LOGICAL - 4
    verdicts = {r.image_id: r.verdict for r in resumed.records}
    assert verdicts == {r.image_id: r.verdict for r in result.records}
    assert resumed.metrics.overall.confusion == result.metrics.overall.confusion


def given_pack(folder: Path, category: str = CATEGORY) -> Path:
    spec = load_spec(CATEGORY)
    entries = [
        RuleEntry(
            id=rid,
            text=spec.rule(rid).text,
            guards=spec.rule(rid).guards,
            status="ok",
            code_sha256=code_sha256(code),
        )
        for rid, code in CODE.items()
    ]
    RulePack(PackManifest(category=category, spec_sha256="", rules=entries), dict(CODE)).save(
        folder
    )
    return folder


def test_synth_dataset_is_generated_once_and_a_given_pack_is_used(tmp_path: Path) -> None:
    pack = given_pack(tmp_path / "pack")
    out = tmp_path / "out"
    cfg = BenchConfig(
        dataset=f"synth:{CATEGORY}",
        out=out,
        rules_pack=pack,
        n_good=1,
        n_logical=2,
        n_train=1,
        workers=1,
        plots=True,
    )
    first = run_bench(cfg)
    manifest = out / "data" / CATEGORY / "dataset.json"
    assert json.loads(manifest.read_text())["counts"]["test/logical_anomalies"] == 2
    assert first.categories[0].pack_source == "given"
    assert len(first.records) == 3
    assert (out / "plots" / "roc.png").stat().st_size > 0
    assert (out / "plots" / f"confusion_{CATEGORY}.png").stat().st_size > 0
    stamp = manifest.stat().st_mtime_ns
    second = run_bench(cfg)
    assert manifest.stat().st_mtime_ns == stamp  # reused, not rendered again
    assert second.categories[0].evaluated_now == 0
    # other settings in the same folder are refused
    with pytest.raises(BenchError, match="other settings"):
        run_bench(BenchConfig(**{**cfg.__dict__, "seed": 1}))


def test_perceived_mode_describes_images_and_scores_perception(
    dataset: Path, tmp_path: Path
) -> None:
    pack = given_pack(tmp_path / "pack")
    out = tmp_path / "out"
    result = run_bench(
        config(dataset, out, scenes="perceived", rules_pack=pack, rule_ids=(), max_refs=2)
    )
    recs = result.records
    assert len(recs) == N_GOOD + N_LOGICAL
    assert all("perception" in r.timings for r in recs)
    assert len(list((out / "scenes" / CATEGORY).rglob("*.json"))) == len(recs)
    # the normal reference of the deviation: the 3 train/good images, perceived and kept
    refs = sorted((out / "refscenes" / CATEGORY / "train" / "good").glob("*.json"))
    assert len(refs) == 3 and all(r.deviation is not None for r in recs)
    assert result.categories[0].deviation["references"] == 3
    stamp = [p.stat().st_mtime_ns for p in refs]
    again = run_bench(
        config(dataset, out, scenes="perceived", rules_pack=pack, rule_ids=(), max_refs=2)
    )
    assert again.categories[0].evaluated_now == 0
    assert [p.stat().st_mtime_ns for p in refs] == stamp  # reused on a rerun
    assert again.categories[0].deviation == result.categories[0].deviation
    quality = result.categories[0].perception
    assert quality is not None and quality["images"] == len(recs)
    assert 0.0 <= quality["counts_exact"] <= 1.0
    # the codegen judgement still uses the ground-truth scenes
    assert all(c.heldout_right for c in result.codegen)
    # another perception seed makes other scenes: not mixed into these records
    with pytest.raises(BenchError, match="other settings"):
        run_bench(
            config(
                dataset,
                out,
                scenes="perceived",
                rules_pack=pack,
                rule_ids=(),
                max_refs=2,
                perception_seed=1,
            )
        )


def test_the_perception_seed_reaches_every_stage(dataset: Path, tmp_path: Path) -> None:
    cfg = config(dataset, tmp_path / "o", scenes="perceived", max_refs=2, perception_seed=3)
    target = Target(CATEGORY, dataset, True)
    perception = build_perception(target, load_spec(CATEGORY), cfg)
    assert perception.segmenter.params.seed == 3
    assert perception.labeler.seed == 3 and perception.attributes.seed == 3


# --- error paths ------------------------------------------------------------------------------


def test_unknown_synthetic_category(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="no synthetic generator for 'teapot'"):
        run_bench(BenchConfig(dataset="synth:teapot", out=tmp_path / "o"))


def test_unknown_scene_mode_and_missing_pack(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="use gt or perceived"):
        run_bench(config(dataset, tmp_path / "o", scenes="images"))
    with pytest.raises(BenchError, match="rule pack not found"):
        run_bench(config(dataset, tmp_path / "o", rules_pack=tmp_path / "nope"))


def test_gt_mode_needs_scenes(dataset: Path, tmp_path: Path) -> None:
    copy = tmp_path / "juice_bottle_noscenes"
    shutil.copytree(dataset, copy, ignore=shutil.ignore_patterns("scenes", "dataset.json"))
    with pytest.raises(BenchError, match="needs ground-truth scenes"):
        run_bench(config(copy, tmp_path / "o", rules_pack=given_pack(tmp_path / "p")))


def test_pack_of_another_category_and_unknown_rule(dataset: Path, tmp_path: Path) -> None:
    other = given_pack(tmp_path / "other", category="pushpins")
    with pytest.raises(BenchError, match="is for 'pushpins'"):
        run_bench(config(dataset, tmp_path / "o1", rules_pack=other, rule_ids=()))
    with pytest.raises(BenchError, match="has no rule 'no_such_rule'"):
        run_bench(config(dataset, tmp_path / "o2", rule_ids=("no_such_rule",)), chat=make_chat())


def test_rule_right_and_entry_compiled() -> None:
    assert rule_right("fail", ["a"], ["a", "b"]) and rule_right("pass", ["c"], ["a"])
    assert not rule_right("pass", ["a"], ["a"]) and not rule_right("fail", [], ["a"])
    assert not rule_right("error", [], ["a"])
    base = {"id": "r", "text": "t", "status": "failed"}
    no_code = RuleEntry(**base, reason="no ```python block defining def check(scene) was found")
    vacuous = RuleEntry(**base, reason="it never reports a violation: it must return ...")
    alarms = RuleEntry(**base, reason="x", validation={"reference_failures": 2})
    assert not entry_compiled(no_code)
    assert entry_compiled(vacuous) and entry_compiled(alarms)
    assert entry_compiled(RuleEntry(id="r", text="t", status="ok"))
