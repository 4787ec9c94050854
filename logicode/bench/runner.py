"""LogiBench runner: dataset -> rule pack -> sandboxed verdicts -> records, metrics, reports.

One run (:func:`run_bench`) measures the whole system on one or more categories:

1. **Dataset.** ``synth:CAT`` / ``synth:all`` render synthetic datasets under ``OUT/data/CAT``
   (reused when a complete one with the same counts and seed is there); a path names an
   MVTec LOCO style folder (:class:`~logicode.data.loco.LocoDataset`).
2. **Rule pack.** A given pack (``rules_pack``: a pack folder, or a folder of packs named by
   category), or the category's rules compiled with the chosen chat model from normal
   reference scenes (the dataset's ``train/good`` scenes, or ``refs``). Compiled packs are
   cached under ``OUT/packs/<category>-<key>`` where the key hashes the spec file, the model
   (its sha256 for local files), the rule ids, the compiler settings and the prompt
   templates, so a rerun never recompiles.
3. **Scenes.** ``gt``: the dataset's ground-truth scenes. ``perceived``: the perception
   pipeline (:class:`logicode.perception.pipeline.Perception`, fitted on annotated
   references) describes every image; the scenes are kept under ``OUT/scenes``.
4. **Verdicts.** The pack runs in the sandbox on the evaluation images (``test`` split, good
   and logical anomalies; ``validation/good`` stands in for good test images when a dataset
   has none, as the real juice_bottle subset), in batches. Each image's record is appended
   to ``OUT/records.jsonl`` as soon as its batch is done, so an interrupted run resumes
   where it stopped. A rule that failed to compile counts as never firing (a ``pass`` on
   every image) and is listed in the report. Each image's anomaly score adds to the rules'
   verdict a bounded measure of how far its scene is from the normal reference scenes (the
   dataset's ``train/good`` images, their scenes made the same way as the evaluation
   scenes and kept under ``OUT/refscenes``): see :mod:`logicode.bench.deviation` and
   :func:`logicode.bench.metrics.image_score`.
5. **Code generation.** Each rule is judged on the held-out ground-truth scenes (every
   evaluation image with a scene): it is right on a scene when it fails exactly when one of
   the scene's true defects is among the defects it guards. With the synthetic generators
   this is exact: each anomaly breaks exactly the rules that guard its defect.
6. **Reports.** ``metrics.json``, ``report.md`` (table, rules, stages, memory) and
   ``plots/`` (ROC, per-defect confusion) through :mod:`logicode.bench`.

A run's settings are kept in ``OUT/run.json``; reusing ``OUT`` with other settings (or another
rule pack for a category that has records) is refused, so records never mix two setups.
"""

from __future__ import annotations

import json
import logging
import resource
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from logicode.bench.deviation import ReferenceModel, allowed_values
from logicode.bench.metrics import (
    SCORE_NAME,
    BenchMetrics,
    CodegenRecord,
    evaluate,
    score_definition,
)
from logicode.bench.records import ImageRecord, append_record, build_record, read_records
from logicode.bench.report import atomic_write_text, markdown_table, write_metrics_json
from logicode.codegen.compiler import CompileSettings
from logicode.digest import json_digest
from logicode.errors import DatasetError, LogicodeError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    import sandbox
    from logicode.codegen.pack import RulePack
    from logicode.data.loco import LocoDataset
    from logicode.spec import CategorySpec

log = logging.getLogger(__name__)

SCENE_MODES = ("gt", "perceived")
RECORDS_FILE = "records.jsonl"
REFSCENES_DIR = "refscenes"
MAX_DEVIATION_REFS = 50
"""Most ``train/good`` images whose scenes form the normal reference of the deviation term."""
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
PLOTS_DIR = "plots"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES_DIR = REPO_ROOT / "examples"
"""Shipped reference annotations live in ``examples/<category>/refs`` (used by default for
``perceived`` runs on datasets without ground-truth scenes)."""

Progress = Callable[[str, int, int], None]
"""``progress(task, done, total)``, called as work advances (task: ``"pushpins: images"``)."""


class BenchError(LogicodeError):
    """A bench run cannot start or go on (bad dataset name, scene mode, pack, or OUT folder)."""


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    """Everything that defines a bench run.

    Attributes:
        dataset: ``synth:CAT``, ``synth:all`` or the path of an MVTec LOCO style folder.
        out: Output folder (records, packs, synthetic data, reports).
        scenes: ``gt`` (ground-truth scenes) or ``perceived`` (the perception pipeline).
        backend: Chat-model backend used to compile rules (``embedded``, ``openai``,
            ``transformers``).
        model: Model name or path for the backend (default: the backend's default).
        rules_pack: A compiled pack (or a folder of packs named by category) to use instead
            of compiling.
        rule_ids: Only these rule ids (default: every rule of the spec).
        n_good: Good test images per synthetic category.
        n_logical: Logical-anomaly test images per synthetic category.
        n_train: Good training images per synthetic category: the normal reference scenes
            of the deviation term (all of them, at most ``MAX_DEVIATION_REFS``), and the
            pool the compile and perception references are chosen from (30 by default:
            chosen on the seed-1 development set, see ``docs/bench.md``).
        seed: Seed of the synthetic datasets.
        perception_seed: Random seed of every perception stage (``perceived`` only): the
            pixel classifier's training sample depends on it, so runs with several seeds
            show how much the figures move with it.
        refs: Reference annotations (LabelMe, COCO or scene JSON folder, or a synthetic
            dataset) for perception and for compiling; default: the dataset's own
            ``train/good`` scenes, else ``examples/<category>/refs``.
        max_refs: Most reference scenes used to compile and to fit perception.
        compile: Compiler settings.
        batch_size: Images per sandbox batch (and per records flush).
        workers: Sandbox worker processes (default: the sandbox's default).
        plots: Draw the PNG plots.
    """

    dataset: str
    out: Path
    scenes: str = "gt"
    backend: str = "embedded"
    model: str | None = None
    rules_pack: Path | None = None
    rule_ids: tuple[str, ...] = ()
    n_good: int = 20
    n_logical: int = 40
    n_train: int = 30
    seed: int = 0
    perception_seed: int = 0
    refs: Path | None = None
    max_refs: int = 5
    compile: CompileSettings = field(default_factory=CompileSettings)
    batch_size: int = 16
    workers: int | None = None
    plots: bool = True

    def settings(self) -> dict[str, Any]:
        """The settings that decide what the records hold (compared on resume)."""
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "scenes": self.scenes,
            "rules_pack": str(self.rules_pack) if self.rules_pack else None,
            "rule_ids": list(self.rule_ids),
            "refs": str(self.refs) if self.refs else None,
            "max_refs": self.max_refs,
            "score": SCORE_NAME,
        }
        if self.scenes == "perceived":
            out["perception_seed"] = self.perception_seed
        if self.rules_pack is None:
            out.update(backend=self.backend, model=self.model, compile=asdict(self.compile))
        if self.dataset.startswith("synth:"):
            out.update(
                n_good=self.n_good, n_logical=self.n_logical, n_train=self.n_train, seed=self.seed
            )
        return out


@dataclass(frozen=True)
class Target:
    """One category to measure: its dataset folder and whether logicode renders it."""

    category: str
    root: Path
    synthetic: bool


@dataclass(frozen=True)
class EvalItem:
    """One evaluation image.

    Attributes:
        image_id: ``split/folder/name`` (unique within the category).
        truth: ``good`` or ``logical_anomaly``.
        defects: True defect names.
        image_path: The image file.
        scene_path: Its ground-truth scene, if the dataset has one.
    """

    image_id: str
    truth: str
    defects: tuple[str, ...]
    image_path: Path
    scene_path: Path | None


@dataclass
class CategoryRun:
    """What a run learned about one category (for the report)."""

    category: str
    root: str
    pack_dir: str
    pack_source: str  # "given", "cached" or "compiled"
    model: dict[str, Any]
    rules: list[dict[str, Any]]
    images: int
    evaluated_now: int
    skipped_structural: int
    stage_seconds: dict[str, float]
    perception: dict[str, Any] | None = None
    deviation: dict[str, Any] | None = None


@dataclass
class BenchResult:
    """The outcome of :func:`run_bench`."""

    metrics: BenchMetrics
    records: list[ImageRecord]
    codegen: list[CodegenRecord]
    categories: list[CategoryRun]
    run: dict[str, Any]
    paths: dict[str, Path]


# --- small helpers ----------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024.0, 1)


def peak_rss_children_mb() -> float:
    """Largest peak resident memory of the finished child processes (sandbox workers), MB."""
    kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(kb / 1024.0, 1)


def resolve_targets(dataset: str, out: Path) -> list[Target]:
    """Categories and dataset folders named by ``dataset``.

    Raises:
        BenchError: Unknown synthetic category, or an empty ``synth:`` name.
        DatasetError: The path is not an MVTec LOCO style folder.
    """
    from logicode.data.synth import available_categories

    if dataset.startswith("synth:"):
        name = dataset.removeprefix("synth:").strip()
        known = available_categories()
        if name == "all":
            cats = known
        elif name in known:
            cats = [name]
        else:
            raise BenchError(
                f"no synthetic generator for {name!r}; use synth:all or one of: {', '.join(known)}"
            )
        return [Target(c, out / "data" / c, True) for c in cats]
    from logicode.data.loco import LocoDataset

    ds = LocoDataset(Path(dataset))
    return [Target(ds.category, ds.root, False)]


def evaluation_items(ds: LocoDataset) -> tuple[list[EvalItem], int]:
    """The images a bench run scores, and the number of structural anomalies left out.

    Test images that are good or logical anomalies; ``validation/good`` is used for the good
    class when the dataset has no ``test/good`` (the real juice_bottle developer subset).
    """
    test = list(ds.iter(split="test"))
    goods = [it for it in test if it.kind == "good"]
    if not goods:
        goods = list(ds.iter(split="validation", kind="good"))
    logical = [it for it in test if it.kind == "logical_anomaly"]
    structural = sum(1 for it in test if it.kind == "structural_anomaly")
    items = [
        EvalItem(
            image_id=f"{it.split}/{it.folder}/{it.name}",
            truth=it.kind,
            defects=tuple(it.defects),
            image_path=it.path,
            scene_path=it.scene_path,
        )
        for it in [*goods, *logical]
    ]
    return items, structural


# --- datasets ---------------------------------------------------------------------------------


def _synth_counts(cfg: BenchConfig) -> dict[str, int]:
    return {
        "train/good": cfg.n_train,
        "validation/good": 0,
        "test/good": cfg.n_good,
        "test/logical_anomalies": cfg.n_logical,
    }


def synth_is_current(root: Path, category: str, cfg: BenchConfig) -> bool:
    """True if ``root`` holds a complete synthetic dataset made with ``cfg``'s counts and seed."""
    try:
        meta = json.loads((root / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(meta, dict)
        and meta.get("complete") is True
        and meta.get("category") == category
        and meta.get("seed") == cfg.seed
        and meta.get("counts") == _synth_counts(cfg)
        and meta.get("perturbation") is None
    )


def ensure_synth(target: Target, cfg: BenchConfig, progress: Progress | None) -> bool:
    """Render the synthetic dataset of ``target`` unless a current one is there.

    Returns:
        True if it was rendered now, False if reused.
    """
    from logicode.data.synth import generate_dataset

    if synth_is_current(target.root, target.category, cfg):
        log.info("%s: reusing the synthetic dataset in %s", target.category, target.root)
        return False
    task = f"{target.category}: dataset"

    def step(done: int, total: int) -> None:
        if progress is not None:
            progress(task, done, total)

    generate_dataset(
        target.category,
        target.root,
        n_good=cfg.n_good,
        n_logical=cfg.n_logical,
        n_train=cfg.n_train,
        n_val=0,
        seed=cfg.seed,
        progress=step,
    )
    return True


# --- rule packs -------------------------------------------------------------------------------


def select_rules(spec: CategorySpec, rule_ids: Sequence[str]) -> list[Any]:
    """The spec's rules, or only ``rule_ids`` (in spec order).

    Raises:
        BenchError: A rule id that the spec does not have.
    """
    if not rule_ids:
        return list(spec.rules)
    known = [r.id for r in spec.rules]
    unknown = [r for r in rule_ids if r not in known]
    if unknown:
        raise BenchError(
            f"{spec.category} has no rule {unknown[0]!r}; its rules are: {', '.join(known)}"
        )
    return [r for r in spec.rules if r.id in rule_ids]


def model_identity(cfg: BenchConfig, model_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Provenance of the compiling model: backend, name and (local files) sha256.

    ``model_info`` (given with an injected chat model) wins; an embedded model is resolved
    (joined and verified once) to read its sha256.
    """
    if model_info is not None:
        return dict(model_info)
    from logicode import llm

    return llm.model_provenance(cfg.backend, cfg.model)


def pack_key(
    spec_sha: str,
    model: Mapping[str, Any],
    rule_ids: Sequence[str],
    settings: CompileSettings,
) -> str:
    """Cache key of a compiled pack: spec file, model, rules, compiler settings, prompts."""
    from logicode.codegen.compiler import TEMPLATES
    from logicode.prompts import load_template

    prompts = {name: load_template(name).sha256 for name in TEMPLATES}
    model_id = model.get("sha256") or f"{model.get('backend', '')}:{model.get('name', '')}"
    return json_digest(
        {
            "spec": spec_sha,
            "model": model_id,
            "rules": list(rule_ids),
            "settings": asdict(settings),
            "prompts": prompts,
        }
    )[:16]


def pack_digest(pack: RulePack) -> str:
    """Identity of a pack's behaviour: spec hash and each rule's status and code hash."""
    m = pack.manifest
    return json_digest(
        {
            "category": m.category,
            "spec": m.spec_sha256,
            "rules": [[r.id, r.status, r.code_sha256] for r in m.rules],
        }
    )[:16]


def load_given_pack(path: Path, category: str) -> RulePack:
    """A given pack for ``category``: ``path`` itself, or ``path/<category>``.

    Raises:
        BenchError: No pack for the category there, or a pack of another category.
        PackError: A malformed pack or one whose code was edited.
    """
    from logicode.codegen.pack import RulePack

    folder = path if (path / "manifest.json").is_file() else path / category
    if not (folder / "manifest.json").is_file():
        raise BenchError(
            f"{path}: no rule pack for {category} (expected {path}/manifest.json or "
            f"{path}/{category}/manifest.json)"
        )
    pack = RulePack.load(folder)
    if pack.manifest.category != category:
        raise BenchError(
            f"{folder}: rule pack is for {pack.manifest.category!r}, not {category!r}; "
            "give the pack of this category"
        )
    return pack


def restrict_pack(pack: RulePack, rule_ids: Sequence[str]) -> RulePack:
    """A copy of ``pack`` with only ``rule_ids`` (all when empty).

    Raises:
        BenchError: A rule id the pack does not have.
    """
    from logicode.codegen.pack import RulePack

    if not rule_ids:
        return pack
    have = [r.id for r in pack.manifest.rules]
    unknown = [r for r in rule_ids if r not in have]
    if unknown:
        raise BenchError(f"the rule pack has no rule {unknown[0]!r}; it has: {', '.join(have)}")
    manifest = pack.manifest.model_copy(
        update={"rules": [r for r in pack.manifest.rules if r.id in rule_ids]}
    )
    return RulePack(manifest, {k: v for k, v in pack.code.items() if k in rule_ids})


def compile_references(
    target: Target, spec: CategorySpec, cfg: BenchConfig
) -> list[dict[str, Any]]:
    """Normal reference scenes (JSON dicts) to compile rules from.

    ``cfg.refs`` if given (any annotation format :mod:`logicode.perception.refs` reads),
    else the dataset's ``scenes/train/good`` (at most ``max_refs``, chosen to show as many
    labels, counts and attribute values as possible), else ``examples/<category>/refs``.

    Raises:
        BenchError: Nothing to compile from.
    """
    from logicode.scene import load_scene

    train = target.root / "scenes" / "train" / "good"
    if cfg.refs is None and train.is_dir():
        from logicode.perception.refs import select_diverse

        files = sorted(train.glob("*.json"))
        scenes = [load_scene(f, vocabulary=spec.vocabulary) for f in files]
        if scenes:
            keep = select_diverse(scenes, cfg.max_refs)
            return [scenes[i].model_dump(mode="json") for i in keep]
    refs = perception_references(target, spec, cfg)
    return [r.scene.model_dump(mode="json") for r in refs]


def perception_references(target: Target, spec: CategorySpec, cfg: BenchConfig) -> list[Any]:
    """Annotated reference images (:class:`logicode.perception.base.Reference`).

    Raises:
        BenchError: No references: neither ``refs`` nor the dataset's scenes nor shipped
            ``examples/<category>/refs``.
    """
    from logicode.perception.refs import load_references

    if cfg.refs is not None:
        source = cfg.refs
    elif (target.root / "scenes" / "train" / "good").is_dir():
        source = target.root
    elif (EXAMPLES_DIR / target.category / "refs").is_dir():
        source = EXAMPLES_DIR / target.category / "refs"
    else:
        raise BenchError(
            f"{target.root}: no reference annotations for {target.category}; pass --refs with "
            "a folder of LabelMe, COCO or scene JSON files of a few normal images"
        )
    return load_references(source, spec, max_refs=cfg.max_refs)


def compile_pack(
    target: Target,
    spec: CategorySpec,
    spec_sha: str,
    rules: Sequence[Any],
    cfg: BenchConfig,
    pool: sandbox.SandboxPool,
    chat: BaseChatModel,
    model: Mapping[str, Any],
    progress: Progress | None,
) -> RulePack:
    """Compile ``rules`` of ``spec`` with ``chat`` from the category's normal references."""
    from logicode.codegen.compiler import RuleCompiler

    references = compile_references(target, spec, cfg)
    compiler = RuleCompiler(chat, spec, references, pool, cfg.compile, model_info=dict(model))
    task = f"{target.category}: compile"
    done = 0
    if progress is not None:
        progress(task, 0, len(rules))

    def step(_outcome: Any) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(task, done, len(rules))

    return compiler.compile(rules, spec_sha256=spec_sha, progress=step)


# --- scenes -----------------------------------------------------------------------------------


class SceneSource(Protocol):
    """Where the scenes of evaluation images come from."""

    stage: str
    """Timing key of this stage in the records (``scene`` or ``perception``)."""

    def scene(self, item: EvalItem) -> tuple[dict[str, Any], dict[str, float] | None]:
        """The scene of an image as a JSON dict, and each component's detection score."""
        ...


class GroundTruthScenes:
    """The dataset's ground-truth scenes (validated against the category's vocabulary)."""

    stage = "scene"

    def __init__(self, spec: CategorySpec) -> None:
        self.vocabulary = spec.vocabulary

    def scene(self, item: EvalItem) -> tuple[dict[str, Any], dict[str, float] | None]:
        """Load and validate the image's ground-truth scene (scores: ``None``, i.e. certain)."""
        from logicode.scene import load_scene

        if item.scene_path is None:
            raise DatasetError(f"{item.image_id}: no ground-truth scene")
        return load_scene(item.scene_path, vocabulary=self.vocabulary).model_dump(mode="json"), None


class PerceivedScenes:
    """Scenes from the perception pipeline, saved under ``save_dir`` as they are made.

    Args:
        pipeline: A fitted object with ``describe_file(path, scene_dir=...) -> Scene``
            (:class:`logicode.perception.pipeline.Perception`).
        save_dir: Folder for the scene JSON files (``<image_id>.json``).
    """

    stage = "perception"

    def __init__(self, pipeline: Any, save_dir: Path) -> None:
        self.pipeline = pipeline
        self.save_dir = save_dir

    def path_of(self, item: EvalItem) -> Path:
        """Where the perceived scene of ``item`` is saved."""
        return self.save_dir / f"{item.image_id}.json"

    def scene(self, item: EvalItem) -> tuple[dict[str, Any], dict[str, float] | None]:
        """Describe the image, save the scene, return it with each component's score."""
        path = self.path_of(item)
        scene = self.pipeline.describe_file(item.image_path, scene_dir=path.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        scene.save(path)
        return scene.model_dump(mode="json"), {c.id: float(c.score) for c in scene.components}


def build_perception(target: Target, spec: CategorySpec, cfg: BenchConfig) -> Any:
    """The perception pipeline, fitted on the category's annotated references.

    Raises:
        BenchError: The perception front end is not installed, or there are no references.
    """
    try:
        from logicode.perception.attributes import ReferenceAttributes
        from logicode.perception.label import PrototypeLabeler
        from logicode.perception.pipeline import Perception
        from logicode.perception.segment import ClassicalSegmenter, SegmenterParams
    except ImportError as exc:
        raise BenchError(
            f"--scenes perceived needs the perception front end (logicode.perception): {exc}"
        ) from None
    refs = perception_references(target, spec, cfg)
    seed = cfg.perception_seed
    return Perception(
        spec,
        segmenter=ClassicalSegmenter(SegmenterParams(seed=seed)),
        labeler=PrototypeLabeler(seed=seed),
        attributes=ReferenceAttributes(seed=seed),
    ).fit(refs)


def perception_quality(
    items: Sequence[EvalItem], source: PerceivedScenes, spec: CategorySpec
) -> dict[str, Any] | None:
    """Perceived scenes scored against the ground truth (``None`` without ground truth)."""
    from logicode.perception.evaluate import score_scene, summarise
    from logicode.scene import load_scene

    scores = []
    for item in items:
        path = source.path_of(item)
        if item.scene_path is None or not path.is_file():
            continue
        truth = load_scene(item.scene_path)
        pred = load_scene(path)
        scores.append(score_scene(pred, truth, spec.vocabulary))
    return summarise(scores) if scores else None


# --- normal reference scenes for the deviation term --------------------------------------------


def deviation_items(ds: LocoDataset, limit: int = MAX_DEVIATION_REFS) -> list[EvalItem]:
    """The ``train/good`` images whose scenes are the normal reference (first ``limit``)."""
    items = sorted(ds.iter(split="train", kind="good"), key=lambda it: it.name)[:limit]
    return [
        EvalItem(
            image_id=f"{it.split}/{it.folder}/{it.name}",
            truth="good",
            defects=(),
            image_path=it.path,
            scene_path=it.scene_path,
        )
        for it in items
    ]


def reference_scenes(items: Sequence[EvalItem], source: SceneSource) -> list[dict[str, Any]]:
    """Scenes of the reference images, made by ``source`` (perceived ones are kept on disk).

    A :class:`PerceivedScenes` source reuses a scene it already saved (a resumed run), so the
    reference, and with it every score, stays the same across an interruption. Images whose
    scene cannot be made are left out with a warning.
    """
    from logicode.scene import load_scene

    scenes = []
    for item in items:
        try:
            if isinstance(source, PerceivedScenes) and source.path_of(item).is_file():
                scenes.append(load_scene(source.path_of(item)).model_dump(mode="json"))
            else:
                scenes.append(source.scene(item)[0])
        except LogicodeError as exc:
            log.warning("reference %s left out: %s", item.image_id, str(exc).splitlines()[0])
    return scenes


def fit_reference(
    scenes: Sequence[Mapping[str, Any]], spec: CategorySpec | None = None
) -> ReferenceModel | None:
    """The deviation model of the reference scenes, ``None`` when there are none.

    With ``spec``, enum values the spec allows but the references never show are normal
    variants (see :func:`logicode.bench.deviation.unseen_variants`).
    """
    if not scenes:
        return None
    return ReferenceModel.fit(scenes, allowed=allowed_values(spec) if spec is not None else None)


# --- verdicts ---------------------------------------------------------------------------------


def _pass(rule_id: str) -> dict[str, Any]:
    return {"rule": rule_id, "status": "pass", "violations": [], "error": None}


def run_images(
    items: Sequence[EvalItem],
    category: str,
    pack: RulePack,
    source: SceneSource,
    pool: sandbox.SandboxPool,
    records_path: Path,
    *,
    batch_size: int = 16,
    progress: Progress | None = None,
    done: Iterable[tuple[str, str]] = (),
    reference: ReferenceModel | None = None,
) -> int:
    """Evaluate the pack on every item not yet recorded; append one record per image.

    Rules that did not compile are recorded as passing (they never fire). An image whose
    scene cannot be made gets an ``error`` record with the reason. With a ``reference``,
    each record carries its scene's deviation from the normal references (see
    :func:`logicode.bench.metrics.image_score`).

    Returns:
        The number of images evaluated now.
    """
    finished = set(done)
    todo = [it for it in items if (category, it.image_id) not in finished]
    ok_code = pack.ok_rules
    failed = [r.id for r in pack.manifest.rules if r.status != "ok"]
    guards = {r.id: list(r.guards) for r in pack.manifest.rules}
    pack_id = pool.load_pack(ok_code) if ok_code else None
    task = f"{category}: images"
    n_done = len(items) - len(todo)
    if progress is not None:
        progress(task, n_done, len(items))
    try:
        for start in range(0, len(todo), max(1, batch_size)):
            batch = todo[start : start + batch_size]
            made: list[tuple[EvalItem, dict[str, Any], dict[str, float] | None, float]] = []
            errors: list[tuple[EvalItem, str, float]] = []
            for item in batch:
                t0 = time.perf_counter()
                try:
                    scene, scores = source.scene(item)
                except LogicodeError as exc:
                    errors.append((item, str(exc).splitlines()[0], time.perf_counter() - t0))
                    continue
                made.append((item, scene, scores, time.perf_counter() - t0))
            t0 = time.perf_counter()
            results: list[dict[str, Any]] = [{} for _ in made]
            if pack_id is not None and made:
                results = pool.evaluate(pack_id, [m[1] for m in made])
            per_image = (time.perf_counter() - t0) / max(1, len(made))
            memory = peak_rss_mb()
            recs = []
            for (item, scene, scores, secs), res in zip(made, results, strict=True):
                res = {**res, **{rid: _pass(rid) for rid in failed}}
                dev = reference.deviation(scene) if reference is not None else None
                recs.append(
                    build_record(
                        item.image_id,
                        category,
                        item.truth,
                        res,
                        defects=item.defects,
                        guards=guards,
                        component_scores=scores,
                        timings={source.stage: secs, "rules": per_image},
                        peak_memory_mb=memory,
                        deviation=dev,
                    )
                )
            for item, why, secs in errors:
                recs.append(
                    build_record(
                        item.image_id,
                        category,
                        item.truth,
                        [],
                        defects=item.defects,
                        timings={source.stage: secs},
                        error=why,
                        peak_memory_mb=memory,
                    )
                )
            for rec in recs:
                append_record(records_path, rec)
                n_done += 1
                if progress is not None:
                    progress(task, n_done, len(items))
    finally:
        if pack_id is not None:
            pool.unload_pack(pack_id)
    return len(todo)


def rule_right(status: str, defects: Iterable[str], guards: Iterable[str]) -> bool:
    """A rule's verdict on a scene is right iff it fails exactly when a guarded defect is there."""
    if status == "error":
        return False
    return (status == "fail") == bool(set(defects) & set(guards))


def entry_compiled(entry: Any) -> bool:
    """Whether a pack entry's code got past the sandbox policy.

    ``ok`` rules did. For ``failed`` ones the manifest's ``validation`` tells: a
    ``compiled`` flag where the compiler records one, else evidence that the code ran
    (verdicts on references or counterexamples, or the "never reports a violation" reason).
    """
    if entry.status == "ok":
        return True
    v = entry.validation or {}
    if "compiled" in v:
        return bool(v["compiled"])
    ran = v.get("fired", 0) or v.get("reference_failures", 0) or v.get("errors", 0)
    return bool(ran) or entry.reason.startswith("it never reports a violation")


def judge_rules(
    pack: RulePack,
    scenes: Sequence[tuple[Sequence[str], Any]],
    pool: sandbox.SandboxPool,
    category: str,
) -> list[CodegenRecord]:
    """Code-generation records: each rule of the pack judged on held-out ground-truth scenes.

    Args:
        pack: The rule pack.
        scenes: ``(true defects, scene dict or JSON text)`` of each held-out scene.
        pool: A started sandbox pool.
        category: Category name for the records.

    Returns:
        One record per rule of the pack, in pack order.
    """
    ok_code = pack.ok_rules
    results: list[dict[str, Any]] = []
    if ok_code and scenes:
        pack_id = pool.load_pack(ok_code)
        try:
            results = pool.evaluate(pack_id, [s for _, s in scenes])
        finally:
            pool.unload_pack(pack_id)
    out = []
    for entry in pack.manifest.rules:
        correct = 0
        if entry.status == "ok":
            correct = sum(
                rule_right(res[entry.id]["status"], defects, entry.guards)
                for (defects, _), res in zip(scenes, results, strict=True)
            )
        out.append(
            CodegenRecord(
                category=category,
                rule_id=entry.id,
                compiled=entry_compiled(entry),
                validated=entry.status == "ok",
                heldout_correct=correct,
                heldout_total=len(scenes),
                reason=entry.reason,
            )
        )
    return out


# --- the run ----------------------------------------------------------------------------------


def check_run_file(out: Path, cfg: BenchConfig) -> dict[str, Any]:
    """Read (or start) ``OUT/run.json`` and refuse settings that differ from the recorded ones.

    Raises:
        BenchError: ``OUT`` holds a run with other settings.
    """
    path = out / RUN_FILE
    settings = json.loads(json.dumps(cfg.settings(), default=str))
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        state = None
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path}: unreadable ({exc}); delete it or use another --out") from None
    if state is None:
        if (out / RECORDS_FILE).is_file():
            raise BenchError(
                f"{out} holds {RECORDS_FILE} but no {RUN_FILE}; use another --out folder"
            )
        state = {"settings": settings, "packs": {}}
        atomic_write_text(path, json.dumps(state, indent=1) + "\n")
        return state
    old = state.get("settings", {})
    # In the settings' own order: the first difference named is the one a user chose.
    for key in [*settings, *(k for k in old if k not in settings)]:
        if old.get(key) != settings.get(key):
            raise BenchError(
                f"{out} holds a bench run with other settings ({key}: {old.get(key)!r} -> "
                f"{settings.get(key)!r}); use another --out folder, or delete it to start over"
            )
    state.setdefault("packs", {})
    return state


def _note_pack(out: Path, state: dict[str, Any], category: str, digest: str, has: bool) -> None:
    old = state["packs"].get(category)
    if old is not None and old != digest and has:
        raise BenchError(
            f"{out / RECORDS_FILE} holds {category} results of another rule pack (the pack "
            "was recompiled or replaced); use another --out folder, or delete it to start over"
        )
    if old != digest:
        state["packs"][category] = digest
        atomic_write_text(out / RUN_FILE, json.dumps(state, indent=1) + "\n")


def _rule_rows(pack: RulePack, codegen: Sequence[CodegenRecord]) -> list[dict[str, Any]]:
    by_id = {c.rule_id: c for c in codegen}
    rows = []
    for e in pack.manifest.rules:
        c = by_id.get(e.id)
        rows.append(
            {
                "id": e.id,
                "status": e.status,
                "compiled": c.compiled if c else e.status == "ok",
                "heldout": [c.heldout_correct, c.heldout_total] if c else None,
                "rounds": e.rounds,
                "candidates": e.candidates,
                "seconds": e.seconds,
                "guards": list(e.guards),
                "reason": e.reason,
            }
        )
    return rows


def run_bench(
    cfg: BenchConfig,
    *,
    chat: BaseChatModel | None = None,
    model_info: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> BenchResult:
    """Run the benchmark (see the module docstring); resumes a run interrupted in ``cfg.out``.

    Args:
        cfg: The run's settings.
        chat: Chat model to compile with (default: built from ``cfg.backend``/``cfg.model``
            when a compile is needed).
        model_info: Provenance of ``chat`` (name, sha256...) for the pack cache key.
        progress: Progress callback.

    Returns:
        Metrics, records, codegen records, per-category details, run info and output paths.

    Raises:
        BenchError, DatasetError, SpecError, PackError, ...: One-line errors about the inputs.
    """
    import sandbox
    from logicode.codegen.pack import RulePack
    from logicode.spec import load_spec, spec_sha256

    if cfg.scenes not in SCENE_MODES:
        raise BenchError(f"unknown --scenes {cfg.scenes!r}; use gt or perceived")
    if cfg.batch_size < 1:
        raise BenchError(f"batch size must be >= 1, got {cfg.batch_size}")
    if cfg.rules_pack is not None and not cfg.rules_pack.exists():
        raise BenchError(f"{cfg.rules_pack}: rule pack not found")
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise BenchError(f"{out} is a file; give a folder for --out")
    t_run = time.perf_counter()
    targets = resolve_targets(cfg.dataset, out)
    out.mkdir(parents=True, exist_ok=True)
    state = check_run_file(out, cfg)
    records_path = out / RECORDS_FILE
    done = {r.key for r in read_records(records_path)}
    model: dict[str, Any] | None = None
    chat_model = chat
    runs: list[CategoryRun] = []
    codegen: list[CodegenRecord] = []
    with sandbox.SandboxPool(api_module="logicode.ruleapi", workers=cfg.workers) as pool:
        for target in targets:
            stages: dict[str, float] = {}
            cat = target.category
            t0 = time.perf_counter()
            if target.synthetic:
                ensure_synth(target, cfg, progress)
            stages["dataset"] = time.perf_counter() - t0
            from logicode.data.loco import LocoDataset

            ds = LocoDataset(target.root, category=cat)
            spec = load_spec(cat)
            items, structural = evaluation_items(ds)
            if not items:
                raise BenchError(f"{target.root}: no test images (good or logical anomalies)")
            if cfg.scenes == "gt":
                missing = [it.image_id for it in items if it.scene_path is None]
                if missing:
                    raise BenchError(
                        f"{target.root}: --scenes gt needs ground-truth scenes, but "
                        f"{len(missing)} of {len(items)} images have none (first: {missing[0]}); "
                        "use --scenes perceived"
                    )
            # --- rule pack
            t0 = time.perf_counter()
            if cfg.rules_pack is not None:
                pack = restrict_pack(load_given_pack(cfg.rules_pack, cat), cfg.rule_ids)
                pack_dir, pack_source = str(cfg.rules_pack), "given"
                if pack.manifest.spec_sha256 not in ("", spec_sha256(cat)):
                    log.warning("%s: the given pack was compiled from another spec version", cat)
            else:
                rules = select_rules(spec, cfg.rule_ids)
                if model is None:
                    model = model_identity(cfg, model_info)
                spec_sha = spec_sha256(cat)
                key = pack_key(spec_sha, model, [r.id for r in rules], cfg.compile)
                folder = out / "packs" / f"{cat}-{key}"
                if (folder / "manifest.json").is_file():
                    pack, pack_source = RulePack.load(folder), "cached"
                else:
                    if chat_model is None:
                        from logicode import llm

                        chat_model = llm.get_chat_model(cfg.backend, cfg.model)
                    pack = compile_pack(
                        target, spec, spec_sha, rules, cfg, pool, chat_model, model, progress
                    )
                    pack.save(folder)
                    pack_source = "compiled"
                pack_dir = str(folder)
            stages["compile"] = time.perf_counter() - t0
            has_records = any(c == cat for c, _ in done)
            _note_pack(out, state, cat, pack_digest(pack), has_records)
            # --- scenes and verdicts
            t0 = time.perf_counter()
            source: SceneSource
            todo = [it for it in items if (cat, it.image_id) not in done]
            ref_items = deviation_items(ds)
            ref_source: SceneSource
            if cfg.scenes == "perceived":
                ref_dir = out / REFSCENES_DIR / cat
                need = todo or any(
                    not (ref_dir / f"{r.image_id}.json").is_file() for r in ref_items
                )
                pipeline = build_perception(target, spec, cfg) if need else None
                source = PerceivedScenes(pipeline, out / "scenes" / cat)
                ref_source = PerceivedScenes(pipeline, ref_dir)
            else:
                source = ref_source = GroundTruthScenes(spec)
            stages["perception_fit"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            reference = fit_reference(reference_scenes(ref_items, ref_source), spec)
            stages["reference"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            n_now = run_images(
                items,
                cat,
                pack,
                source,
                pool,
                records_path,
                batch_size=cfg.batch_size,
                progress=progress,
                done=done,
                reference=reference,
            )
            stages["images"] = time.perf_counter() - t0
            # --- code generation, judged on held-out ground truth
            t0 = time.perf_counter()
            gt = GroundTruthScenes(spec)
            heldout = [(it.defects, gt.scene(it)[0]) for it in items if it.scene_path is not None]
            cg = judge_rules(pack, heldout, pool, cat)
            codegen.extend(cg)
            stages["heldout"] = time.perf_counter() - t0
            quality = None
            if isinstance(source, PerceivedScenes):
                quality = perception_quality(items, source, spec)
            runs.append(
                CategoryRun(
                    category=cat,
                    root=str(target.root),
                    pack_dir=pack_dir,
                    pack_source=pack_source,
                    model=dict(pack.manifest.model),
                    rules=_rule_rows(pack, cg),
                    images=len(items),
                    evaluated_now=n_now,
                    skipped_structural=structural,
                    stage_seconds={k: round(v, 3) for k, v in stages.items()},
                    perception=quality,
                    deviation=(
                        {**reference.describe(), "source": f"train/good, {cfg.scenes} scenes"}
                        if reference is not None
                        else None
                    ),
                )
            )
    cats = {t.category for t in targets}
    records = [r for r in read_records(records_path) if r.category in cats]
    metrics = evaluate(records, codegen)
    run = {
        "settings": cfg.settings(),
        "score": score_definition(),
        "categories": [asdict(r) for r in runs],
        "not_compiled": {
            r.category: [
                {"id": x["id"], "reason": x["reason"]} for x in r.rules if x["status"] != "ok"
            ]
            for r in runs
        },
        "seconds": round(time.perf_counter() - t_run, 3),
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_children_mb": peak_rss_children_mb(),
    }
    paths = write_outputs(out, metrics, run, runs, plots=cfg.plots)
    return BenchResult(metrics, records, codegen, runs, run, paths)


# --- outputs ----------------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def _auroc_value(a: Any) -> float | None:
    return None if a is None else a.value


def report_markdown(
    metrics: BenchMetrics, run: Mapping[str, Any], runs: Sequence[CategoryRun]
) -> str:
    """The Markdown report: headline table, then rules, stages and memory per category."""
    s = run.get("settings", {})
    if s.get("rules_pack"):
        rules = f"from pack `{s['rules_pack']}`"
    else:
        models = sorted(
            {f"{r.model.get('backend', '?')} / {r.model.get('name', '?')}" for r in runs}
        )
        rules = "compiled with " + (", ".join(f"`{m}`" for m in models) or "n/a")
    lines = [
        "# LogiBench report",
        "",
        f"Dataset `{s.get('dataset')}`, scenes `{s.get('scenes')}`, rules {rules}.",
        "",
        markdown_table(metrics).rstrip("\n"),
        "",
        "Rates in %. *Codegen*: rules compiled and validated; *Held-out*: rules right on every "
        "held-out ground-truth scene; rules that did not compile count as never firing.",
        "",
        f"AUROC ranks images by the score `{SCORE_NAME}`: 1 if a rule failed (the verdict), "
        "plus x / (1 + x) < 1 where x adds the rules' evidence (violated rules' confidences) "
        "and the scene's deviation from the normal reference scenes (see `metrics.json` "
        "`run.score`). Overall AUROC "
        f"{_pct(metrics.overall.auroc.value)}; rules-only score "
        f"{_pct(_auroc_value(metrics.overall.auroc_rules))}; deviation alone "
        f"{_pct(_auroc_value(metrics.overall.auroc_deviation))}.",
        "",
    ]
    for r in runs:
        lines += [
            f"## {r.category}",
            "",
            f"{r.images} images ({r.evaluated_now} evaluated in this run"
            + (
                f", {r.skipped_structural} structural anomalies left out"
                if r.skipped_structural
                else ""
            )
            + f"); pack `{r.pack_dir}` ({r.pack_source}); model "
            + f"`{r.model.get('name', '') or 'n/a'}`.",
            "",
            "| rule | status | held-out right | repair rounds | candidates | compile s | reason |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for x in r.rules:
            ho = x["heldout"]
            held = f"{ho[0]}/{ho[1]}" if ho and ho[1] else "n/a"
            reason = x["reason"].replace("|", "/").replace("\n", " ")[:120]
            lines.append(
                f"| {x['id']} | {x['status']} | {held} | {x['rounds']} | {x['candidates']} | "
                f"{x['seconds']:.1f} | {reason} |"
            )
        g = metrics.categories.get(r.category)
        stage = ", ".join(f"{k} {v:.2f} s" for k, v in r.stage_seconds.items())
        lines += ["", f"Stages (this run): {stage}."]
        if g is not None and g.stage_seconds:
            per = ", ".join(f"{k} {v:.3f} s" for k, v in g.stage_seconds.items())
            lines.append(f"Per image: {per}.")
        if g is not None:
            lines.append(
                f"AUROC {_pct(g.auroc.value)} (rules only {_pct(_auroc_value(g.auroc_rules))}, "
                f"deviation alone {_pct(_auroc_value(g.auroc_deviation))})"
                + (
                    f"; deviation reference: {r.deviation['references']} scenes "
                    f"({r.deviation['source']})."
                    if r.deviation
                    else "; no reference scenes (train/good), deviation 0."
                )
            )
        if r.perception:
            p = r.perception
            lines.append(
                "Perception vs ground truth: counts exact "
                f"{_fmt(p.get('counts_exact'))}, instance mIoU {_fmt(p.get('instance_miou'))}, "
                f"label accuracy {_fmt(p.get('label_accuracy'))}, attribute accuracy "
                f"{_fmt(p.get('attribute_accuracy'))} ({p.get('images')} images)."
            )
        lines.append("")
    lines.append(
        f"Run time {run.get('seconds', 0):.1f} s; peak RSS {run.get('peak_rss_mb')} MB "
        f"(sandbox workers: {run.get('peak_rss_children_mb')} MB)."
    )
    return "\n".join(lines) + "\n"


def write_outputs(
    out: Path,
    metrics: BenchMetrics,
    run: Mapping[str, Any],
    runs: Sequence[CategoryRun],
    *,
    plots: bool = True,
) -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md`` and (``plots``) the PNG plots."""
    paths = {
        "metrics": write_metrics_json(out / METRICS_FILE, metrics, run=run),
        "report": atomic_write_text(out / REPORT_FILE, report_markdown(metrics, run, runs)),
        "records": out / RECORDS_FILE,
    }
    if plots:
        from logicode.bench.plots import write_plots

        for i, p in enumerate(write_plots(out / PLOTS_DIR, metrics)):
            paths[f"plot{i}"] = p
    return paths
