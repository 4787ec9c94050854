"""logicode inspect end to end on a tiny synthetic dataset: given packs, compiled packs, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from logicode.audit import verify_log
from logicode.codegen.compiler import CompileSettings
from logicode.codegen.pack import PackError, PackManifest, RuleEntry, RulePack, code_sha256
from logicode.commands.inspect import run_inspect_command
from logicode.data.synth import generate_dataset
from logicode.errors import ImageError
from logicode.inspection.record import InspectionError, read_manifest, read_results
from logicode.inspection.rules import compiled_pack, inline_spec, pack_cache_key
from logicode.inspection.runner import collect_inputs
from logicode.scene import load_scene
from logicode.spec import load_spec

CATEGORY = "juice_bottle"
SPEC = load_spec(CATEGORY)

# Hand-written, correct code for three rules (what a perfect model answers).
CODE = yaml.safe_load(
    (
        Path(__file__).resolve().parents[1] / "fixtures" / "rules" / "juice_bottle_handwritten.yaml"
    ).read_text(encoding="utf-8")
)


class ScriptedChat(BaseChatModel):
    """Answers a rule prompt with the code whose key text appears in it; prose otherwise."""

    answers: dict[str, str]
    calls: list[str] = []
    stop_after: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        if self.stop_after and len(self.calls) >= self.stop_after:
            raise KeyboardInterrupt
        asked = " ".join(m.content for m in messages if isinstance(m, HumanMessage))
        for text, answer in self.answers.items():
            if text in asked:
                self.calls.append(text)
                return ChatResult(generations=[ChatGeneration(message=AIMessage(answer))])
        self.calls.append("?")
        return ChatResult(generations=[ChatGeneration(message=AIMessage("I cannot help."))])


MODEL = {"backend": "scripted", "name": "scripted", "sha256": "1" * 64}
SETTINGS = dict(candidates=1, max_rounds=0)


def spec_answers() -> dict[str, str]:
    return {" ".join(SPEC.rule(r).text.split()): f"```python\n{c}```" for r, c in CODE.items()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inspect") / "jb"
    generate_dataset(CATEGORY, root, n_good=2, n_logical=6, n_train=5, n_val=0, seed=3, workers=1)
    return root


@pytest.fixture()
def pack_dir(tmp_path: Path) -> Path:
    entries = [
        RuleEntry(
            id=rid,
            text=SPEC.rule(rid).text,
            guards=SPEC.rule(rid).guards,
            status="ok",
            code_sha256=code_sha256(code),
        )
        for rid, code in CODE.items()
    ]
    manifest = PackManifest(category=CATEGORY, spec_sha256="s" * 64, rules=entries)
    RulePack(manifest, dict(CODE)).save(tmp_path / "pack")
    return tmp_path / "pack"


def guarded(defects: list[str]) -> bool:
    return bool({g for rid in CODE for g in SPEC.rule(rid).guards} & set(defects))


def test_scenes_with_a_pack_give_the_rules_verdicts(dataset: Path, pack_dir: Path, tmp_path: Path):
    scenes = sorted((dataset / "scenes" / "test").rglob("*.json"))
    out = tmp_path / "run"
    records, _ = run_inspect_command(scenes, rules=pack_dir, out=out, reports=["json"])
    assert len(records) == len(scenes) == 8
    for path, rec in zip(scenes, records, strict=True):
        truth = load_scene(path).label
        assert rec.verdict == ("anomaly" if guarded(truth.defects) else "good"), path
        assert rec.scene and (out / rec.scene).is_file()
        for o in rec.rules:
            for v in o.violations:
                assert set(v.evidence) <= set(rec.evidence)
    assert any(r.verdict == "anomaly" for r in records)
    assert read_results(out) == records
    manifest = read_manifest(out)
    assert manifest.pack["rules"]["labels_order"]["code_sha256"] == code_sha256(
        CODE["labels_order"]
    )
    result = verify_log(out / "audit.jsonl", expect_head=manifest.audit["head"])
    assert result.ok and result.count == manifest.audit["count"] == len(scenes) + 3
    data = json.loads((out / "report.json").read_text())
    assert len(data["records"]) == 8


def test_images_are_perceived_and_a_corrupt_one_is_an_error_row(
    dataset: Path, pack_dir: Path, tmp_path: Path
):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    images = [broken, dataset / "test" / "good" / "000.png"]
    out = tmp_path / "run"
    records, _ = run_inspect_command(images, rules=pack_dir, refs=dataset, out=out)
    assert records[0].verdict == "error" and "broken.png" in records[0].error
    assert records[0].image.sha256 is not None
    good = records[1]
    # Perception accuracy is measured by benchmarks/perception.py; here: the image was
    # perceived and judged (not an error), and its scene points back at it.
    assert good.verdict in ("good", "anomaly") and good.timings["perception"] > 0
    assert good.score is not None and {r.rule for r in good.rules} == set(CODE)
    scene = load_scene(out / good.scene)
    assert scene.image.sha256 == good.image.sha256
    assert (out / good.scene).parent.joinpath(scene.image.path).resolve() == images[1].resolve()


def test_resume_skips_finished_images_and_keeps_the_chain(
    dataset: Path, pack_dir: Path, tmp_path: Path
):
    scenes = sorted((dataset / "scenes" / "test").rglob("*.json"))
    out = tmp_path / "run"
    run_inspect_command(scenes[:3], rules=pack_dir, out=out)
    first = read_results(out)
    records, _ = run_inspect_command(scenes, rules=pack_dir, out=out)
    assert [r.image_id for r in records] == [i.image_id for i in collect_inputs(scenes)]
    assert records[:3] == first  # not inspected again
    assert verify_log(out / "audit.jsonl").ok
    kinds = [json.loads(line)["kind"] for line in (out / "audit.jsonl").read_text().splitlines()]
    assert kinds.count("run.start") == 1 and kinds.count("run.resume") == 1
    assert kinds.count("image.inspected") == len(scenes)


def test_an_interrupted_session_still_anchors_the_audit_log(
    dataset: Path, pack_dir: Path, tmp_path: Path
):
    scenes = sorted((dataset / "scenes" / "test").rglob("*.json"))
    out = tmp_path / "run"
    seen = []

    def stop_after_two(record, fresh):
        seen.append(record.image_id)
        if len(seen) == 2:
            raise KeyboardInterrupt

    from logicode.inspection.runner import collect_inputs as collect
    from logicode.inspection.runner import run_inspection

    _, job = run_inspect_command(scenes[:1], rules=pack_dir, out=out)
    with pytest.raises(KeyboardInterrupt):
        run_inspection(job, collect(scenes), on_record=stop_after_two)
    anchor = read_manifest(out).audit
    result = verify_log(out / "audit.jsonl", expect_head=anchor["head"])
    assert result.ok and result.count == anchor["count"]


def test_another_pack_in_the_same_folder_is_refused(dataset: Path, pack_dir: Path, tmp_path: Path):
    scenes = sorted((dataset / "scenes" / "test").rglob("*.json"))[:2]
    out = tmp_path / "run"
    run_inspect_command(scenes, rules=pack_dir, out=out)
    other = tmp_path / "other"
    shutil.copytree(pack_dir, other)
    m = json.loads((other / "manifest.json").read_text())
    m["rules"] = m["rules"][:1]
    (other / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(InspectionError, match="another pack"):
        run_inspect_command(scenes, rules=other, out=out)


def test_edited_rule_code_is_refused(dataset: Path, pack_dir: Path, tmp_path: Path):
    (pack_dir / "rules" / "labels_order.py").write_text("def check(scene):\n    return []\n")
    scenes = sorted((dataset / "scenes" / "test").rglob("*.json"))[:1]
    with pytest.raises(PackError):
        run_inspect_command(scenes, rules=pack_dir, out=tmp_path / "run")


def test_bad_options_are_one_line_errors(dataset: Path, pack_dir: Path, tmp_path: Path):
    scene = sorted((dataset / "scenes" / "test").rglob("*.json"))[0]
    with pytest.raises(InspectionError, match="--report"):
        run_inspect_command([scene], rules=pack_dir, reports=["docx"], out=tmp_path / "a")
    with pytest.raises(InspectionError, match="give the rules"):
        run_inspect_command([scene], out=tmp_path / "b")
    with pytest.raises(ImageError, match="no such"):
        run_inspect_command([tmp_path / "nope.png"], rules=pack_dir, out=tmp_path / "c")
    with pytest.raises(InspectionError, match="--refs"):
        img = dataset / "test" / "good" / "000.png"
        run_inspect_command([img], rules=pack_dir, category="pushpins", out=tmp_path / "d")


def test_inline_rules_compile_once_and_are_cached(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LOGICODE_CACHE", str(tmp_path / "cache"))
    texts = [SPEC.rule("bottle_filled").text, SPEC.rule("labels_order").text]
    chat = ScriptedChat(answers=spec_answers(), calls=[])
    scenes = sorted((dataset / "scenes" / "test").rglob("*.json"))
    kw = dict(rule_texts=texts, category=CATEGORY, refs=dataset, chat=chat, model_info=MODEL)
    records, job = run_inspect_command(scenes, out=tmp_path / "r1", **kw, **SETTINGS)
    assert [r.id for r in job.pack.manifest.rules] == ["rule_1", "rule_2"]
    assert all(r.status == "ok" for r in job.pack.manifest.rules)
    assert job.pack_dir.parent == tmp_path / "cache" / "packs"
    calls = len(chat.calls)
    assert calls >= 2
    anomalous = {r.image_id for r in records if r.verdict == "anomaly"}
    assert anomalous  # the synthetic set has an empty bottle or swapped labels
    again, job2 = run_inspect_command(scenes, out=tmp_path / "r2", **kw, **SETTINGS)
    assert len(chat.calls) == calls  # served from the cache
    assert {r.image_id for r in again if r.verdict == "anomaly"} == anomalous
    assert job2.pack_dir == job.pack_dir


def test_interrupted_compilation_resumes_with_the_rules_left(tmp_path: Path, dataset: Path):
    spec = inline_spec(SPEC, [SPEC.rule(r).text for r in CODE])
    refs = [
        load_scene(p).model_dump(mode="json")
        for p in sorted((dataset / "scenes" / "train" / "good").glob("*.json"))
    ]
    settings = CompileSettings(**SETTINGS)
    chat = ScriptedChat(answers=spec_answers(), calls=[], stop_after=1)
    with pytest.raises(KeyboardInterrupt):
        compiled_pack(spec, refs, settings=settings, cache=tmp_path, chat=chat, model_info=MODEL)
    partial = list(tmp_path.glob("*.partial"))
    assert len(partial) == 1 and len(list(partial[0].glob("*.json"))) == 1
    chat2 = ScriptedChat(answers=spec_answers(), calls=[])
    pack, folder, cached = compiled_pack(
        spec, refs, settings=settings, cache=tmp_path, chat=chat2, model_info=MODEL
    )
    assert not cached and len(chat2.calls) == 2  # only the two rules left
    assert [r.status for r in pack.manifest.rules] == ["ok", "ok", "ok"]
    assert not partial[0].exists()
    key = pack_cache_key(spec, MODEL, refs, settings)
    assert folder.name.endswith(key)
    other = pack_cache_key(spec, MODEL, refs[:1], settings)
    assert other != key  # other references, another pack
