"""LogiBench metrics: pure functions from per-image and per-rule records to figures.

Conventions used throughout (they are part of the benchmark's definition):

* **Classes.** The positive class is a *logical anomaly*; the negative class is a *good* image.
  Images whose truth is ``structural_anomaly`` are outside the benchmark (counted, not scored).
* **Verdicts** (:func:`image_verdict`). ``anomaly`` if any rule failed; otherwise ``error`` if any
  rule (or the image itself) errored, or if no rule ran at all; otherwise ``good``. A rule in
  error never counts as passing. ``error`` images are excluded from accuracy, precision, recall,
  F1 and AUROC (so every figure is computed on the same images), and are reported as
  ``n_error``, ``coverage`` and ``accuracy_strict`` (which counts them as wrong).
* **Image score** (:func:`image_score`), what the AUROC ranks: ``major + x / (1 + x)``, the
  major term 1 when a rule failed (verdict ``anomaly``) else 0, and ``x = r + d`` with ``r``
  the rules-only score below and ``d`` the scene's deviation from the normal reference scenes
  (:mod:`logicode.bench.deviation`). So ``score >= 1`` exactly when the verdict is
  ``anomaly``, and within a verdict the image with more rule evidence and a more unusual
  scene ranks higher. ``auroc_rules`` and ``auroc_deviation`` report ``r`` and ``d`` alone.
* **Rules-only score** (:func:`anomaly_score`, the score before the deviation term, still
  used by ``logicode inspect``). The sum over rules of ``weight * c``, where ``c`` is
  the rule's confidence when it failed (:func:`rule_confidence`), ``error_weight`` (default
  0.5: no verdict is as likely a fail as a pass) when it errored, and 0 when it passed. On
  ground-truth scenes every confidence is 1, so the score is the number of violated rules.
* **Zero division.** A ratio whose denominator is zero is ``None`` (shown as ``n/a``), never 0:
  precision with nothing predicted anomalous, recall with no anomalies, accuracy with no image.
  F1 is ``2tp / (2tp + fp + fn)``, so it is 0 when there are anomalies and none is caught, and
  ``None`` only when there is neither a true nor a predicted anomaly.
* **AUROC** is the Mann-Whitney statistic: the share of (anomaly, good) pairs where the anomaly
  scores higher, ties counting 1/2. With one class only it is ``None`` with a reason.
* **Averages.** *Micro*: all images (or rules) of all categories pooled. *Macro*: the mean of
  the per-category figures, over the categories where the figure is defined.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from logicode.bench.records import ImageRecord

Verdict = Literal["anomaly", "good", "error"]

POSITIVE = "logical_anomaly"
NEGATIVE = "good"
GOOD_ROW = "good"
DEFAULT_ERROR_WEIGHT = 0.5
SCORE_NAME = "verdict+rules+deviation/2"
"""Name of the image score definition (:func:`image_score`), kept in ``run.json`` settings."""
MACRO_KEYS = (
    "accuracy",
    "accuracy_strict",
    "precision",
    "recall",
    "f1",
    "auroc",
    "auroc_rules",
    "auroc_deviation",
    "reasoning_precision",
    "codegen_compiled",
    "codegen_validated",
    "codegen_heldout",
    "seconds_per_image",
)


def _ratio(num: float, den: float) -> float | None:
    """``num / den``, or ``None`` when ``den`` is zero."""
    return None if den == 0 else num / den


# --- binary classification ------------------------------------------------------------------


@dataclass(frozen=True)
class Confusion:
    """Counts of a binary classification (positive = logical anomaly).

    Attributes:
        tp: Anomalies predicted anomalous.
        fp: Good images predicted anomalous.
        tn: Good images predicted good.
        fn: Anomalies predicted good.
    """

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    @property
    def n(self) -> int:
        """Number of images counted."""
        return self.tp + self.fp + self.tn + self.fn

    @property
    def accuracy(self) -> float | None:
        """``(tp + tn) / n``; ``None`` when there is no image."""
        return _ratio(self.tp + self.tn, self.n)

    @property
    def precision(self) -> float | None:
        """``tp / (tp + fp)``; ``None`` when nothing was predicted anomalous."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        """``tp / (tp + fn)``; ``None`` when there is no anomaly."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        """``2tp / (2tp + fp + fn)``; ``None`` when there is no true or predicted anomaly."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def __add__(self, other: Confusion) -> Confusion:
        return Confusion(
            self.tp + other.tp, self.fp + other.fp, self.tn + other.tn, self.fn + other.fn
        )


def confusion(y_true: Sequence[bool], y_pred: Sequence[bool]) -> Confusion:
    """Count a binary classification.

    Args:
        y_true: True where the image is a logical anomaly.
        y_pred: True where the image was predicted anomalous.

    Returns:
        The confusion counts.

    Raises:
        ValueError: If the sequences differ in length.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    t = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    return Confusion(
        tp=int(np.sum(t & p)),
        fp=int(np.sum(~t & p)),
        tn=int(np.sum(~t & ~p)),
        fn=int(np.sum(t & ~p)),
    )


@dataclass(frozen=True)
class AurocResult:
    """Area under the ROC curve, or why there is none.

    Attributes:
        value: The AUROC in [0, 1], or ``None``.
        reason: Why ``value`` is ``None`` (empty when it is not).
        n_pos: Number of anomalies; n_neg: number of good images.
    """

    value: float | None
    reason: str
    n_pos: int
    n_neg: int


@dataclass(frozen=True)
class RocCurve:
    """Points of a ROC curve, from (0, 0) to (1, 1), thresholds decreasing.

    A point ``i`` is the rate of images with ``score >= thresholds[i]`` predicted anomalous;
    ``thresholds[0]`` is ``None``, meaning "above every score" (nothing predicted anomalous).
    Tied scores make one diagonal step, so the trapezoidal area equals :func:`auroc`.
    """

    fpr: list[float]
    tpr: list[float]
    thresholds: list[float | None]


def _binary_inputs(y_true: Sequence[bool], scores: Sequence[float]) -> tuple[np.ndarray, ...]:
    if len(y_true) != len(scores):
        raise ValueError(f"y_true has {len(y_true)} items but scores has {len(scores)}")
    t = np.asarray(y_true, dtype=bool).reshape(-1)
    s = np.asarray(scores, dtype=float).reshape(-1)
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite numbers (no NaN or infinity)")
    return t, s


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    # Start index of each run of equal values in the sorted order.
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auroc(y_true: Sequence[bool], scores: Sequence[float]) -> AurocResult:
    """AUROC by the Mann-Whitney rank statistic (ties count 1/2).

    ``AUROC = (R_pos - P (P + 1) / 2) / (P N)``, where ``R_pos`` is the sum of the average
    ranks of the ``P`` anomalies among all scores and ``N`` the number of good images; this is
    the share of (anomaly, good) pairs ordered correctly, a tie counting one half.

    Args:
        y_true: True where the image is a logical anomaly.
        scores: Anomaly score of each image (higher = more anomalous), finite.

    Returns:
        The AUROC, ``None`` with a reason when there are no anomalies or no good images.

    Raises:
        ValueError: If the lengths differ or a score is not finite.
    """
    t, s = _binary_inputs(y_true, scores)
    n_pos, n_neg = int(t.sum()), int((~t).sum())
    if n_pos == 0 or n_neg == 0:
        missing = "logical anomaly" if n_pos == 0 else "good image"
        reason = f"undefined: no {missing} among {len(t)} scored image(s)"
        return AurocResult(None, reason, n_pos, n_neg)
    rank_sum = float(_average_ranks(s)[t].sum())
    value = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return AurocResult(value, "", n_pos, n_neg)


def roc_curve(y_true: Sequence[bool], scores: Sequence[float]) -> RocCurve | None:
    """ROC curve points, one per distinct score (see :class:`RocCurve`).

    Args:
        y_true: True where the image is a logical anomaly.
        scores: Anomaly score of each image, finite.

    Returns:
        The curve, or ``None`` when there are no anomalies or no good images.
    """
    t, s = _binary_inputs(y_true, scores)
    n_pos, n_neg = int(t.sum()), int((~t).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(-s, kind="mergesort")
    s_sorted, t_sorted = s[order], t[order]
    # Last index of each run of equal scores: the curve moves only between distinct scores.
    last = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    tps = np.cumsum(t_sorted)[last]
    fps = (last + 1) - tps
    fpr = [0.0] + (fps / n_neg).tolist()
    tpr = [0.0] + (tps / n_pos).tolist()
    thresholds: list[float | None] = [None] + s_sorted[last].tolist()
    return RocCurve(fpr=fpr, tpr=tpr, thresholds=thresholds)


def curve_area(curve: RocCurve) -> float:
    """Trapezoidal area under a ROC curve (equals :func:`auroc` for the same data)."""
    x = np.asarray(curve.fpr)
    y = np.asarray(curve.tpr)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


# --- rule results -> score and verdict -------------------------------------------------------


def _field(result: Any, name: str) -> Any:
    """Read ``name`` from a result dict (sandbox form) or an object with that attribute."""
    if isinstance(result, Mapping):
        return result.get(name)
    return getattr(result, name, None)


def _as_list(rule_results: Mapping[str, Any] | Iterable[Any]) -> list[Any]:
    """Results as a list; a mapping ``rule id -> result`` (what the sandbox pool returns) too."""
    if isinstance(rule_results, Mapping):
        return list(rule_results.values())
    return list(rule_results)


def rule_confidence(result: Any, component_scores: Mapping[str, float] | None = None) -> float:
    """How sure a failed rule is, in [0, 1].

    A violation is as sure as its least sure evidence component (its detection score from
    ``component_scores``); a violation with no evidence, or whose evidence has no known score
    (e.g. a *missing* part), counts 1. A rule is as sure as its surest violation. A rule that
    did not fail has confidence 0.

    Args:
        result: A rule result (sandbox dict or record with ``status`` and ``violations``).
        component_scores: Detection score of each component id of the scene.

    Returns:
        The confidence.
    """
    if _field(result, "status") != "fail":
        return 0.0
    scores = component_scores or {}
    best = 0.0
    for violation in _field(result, "violations") or []:
        evidence = _field(violation, "evidence") or []
        known = [float(scores[e]) for e in evidence if e in scores]
        conf = min(known) if known else 1.0
        best = max(best, min(1.0, max(0.0, conf)))
    return best if _field(result, "violations") else 1.0


def anomaly_score(
    rule_results: Mapping[str, Any] | Iterable[Any],
    component_scores: Mapping[str, float] | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    error_weight: float = DEFAULT_ERROR_WEIGHT,
) -> float:
    """Continuous anomaly score of one image from its rule results (higher = more anomalous).

    ``score = sum_r w_r * s_r`` with ``s_r`` = :func:`rule_confidence` for a failed rule,
    ``error_weight`` for a rule in error and 0 for a passed rule; ``w_r`` is
    ``weights[rule]`` (default 1). A stored ``confidence`` on a failed result (as records
    keep it) is used as is.

    Args:
        rule_results: Results of the rules on the image (list, or mapping rule id -> result).
        component_scores: Detection score of each component id (perceived scenes).
        weights: Optional weight per rule id.
        error_weight: Contribution of a rule in error.

    Returns:
        The score, >= 0.
    """
    total = 0.0
    for result in _as_list(rule_results):
        status = _field(result, "status")
        w = float((weights or {}).get(_field(result, "rule"), 1.0))
        if status == "fail":
            stored = _field(result, "confidence")
            conf = (
                float(stored) if stored is not None else rule_confidence(result, component_scores)
            )
            total += w * conf
        elif status == "error":
            total += w * error_weight
    return total


def image_score(
    rule_results: Mapping[str, Any] | Iterable[Any],
    deviation: float | None = None,
    component_scores: Mapping[str, float] | None = None,
    *,
    error_weight: float = DEFAULT_ERROR_WEIGHT,
) -> float:
    """The image anomaly score LogiBench ranks images by (AUROC): verdict first, then evidence.

    ``score = major + minor``. The *major* term is the verdict: 1 when a rule failed, else 0.
    The *minor* term is ``x / (1 + x)`` in ``[0, 1)`` with ``x = r + d``: ``r`` the
    rules-only score (:func:`anomaly_score`: each violated rule's confidence, plus
    ``error_weight`` per rule in error) and ``d`` the scene's deviation from the normal
    reference scenes (:mod:`logicode.bench.deviation`; 0 without references). Both count
    in "unusual things": a sure violation adds 1, and ``d = 1`` is how far normal references
    typically are from each other. The minor term stays below the weight of a violation,
    so ``score >= 1`` exactly when the verdict is ``anomaly``; within a verdict, images with
    more (and surer) violations and more unusual scenes rank higher.

    Args:
        rule_results: Results of the rules on the image (list, or mapping rule id -> result).
        deviation: The scene's deviation (``None``: no references, counted as 0).
        component_scores: Detection score of each component id (when the results carry no
            stored confidence).
        error_weight: Contribution of a rule in error to ``r``.

    Returns:
        The score, >= 0.
    """
    results = _as_list(rule_results)
    major = 1.0 if any(_field(r, "status") == "fail" for r in results) else 0.0
    r = anomaly_score(results, component_scores, error_weight=error_weight)
    x = r + (0.0 if deviation is None else max(0.0, float(deviation)))
    return major + x / (1.0 + x)


def score_definition() -> dict[str, Any]:
    """How the image anomaly score is made (written to ``metrics.json`` as ``run.score``)."""
    from logicode.bench import deviation as dev

    return {
        "name": SCORE_NAME,
        "definition": (
            "score = major + x / (1 + x); major = 1 if any rule failed (the verdict) else 0; "
            "x = r + d, r = rules-only score (sum of violated rules' confidences + "
            "error_weight per rule in error), d = deviation of the scene from the normal "
            "reference scenes (distance to the nearest reference / median leave-one-out "
            "nearest-reference distance; a part showing an enum value the spec allows but "
            "the references never show, of an attribute the references show with at least "
            "two values, is compared by placement only); score >= 1 iff verdict anomaly"
        ),
        "error_weight": DEFAULT_ERROR_WEIGHT,
        "features": list(dev.FEATURES),
        "feature_floors": [float(x) for x in dev.FEATURE_FLOORS],
        "missing_cost": dev.MISSING_COST,
        "attribute_cost": dev.ATTRIBUTE_COST,
        "variant_min_seen": dev.VARIANT_MIN_SEEN,
        "auroc_rules": "AUROC of r alone (the score before the deviation term)",
        "auroc_deviation": "AUROC of d alone",
    }


def image_verdict(
    rule_results: Mapping[str, Any] | Iterable[Any], *, image_error: bool = False
) -> Verdict:
    """Verdict of one image: ``anomaly``, ``good`` or ``error``.

    ``anomaly`` if any rule failed (a violation is found even if other rules errored);
    ``error`` if the image itself failed (``image_error``), if any rule errored, or if no rule
    ran at all (nothing vouches for the image); ``good`` only when every rule passed.

    Args:
        rule_results: Results of the rules on the image.
        image_error: True when the image could not be processed (no scene, no results).

    Returns:
        The verdict.
    """
    results = _as_list(rule_results)
    statuses = [_field(r, "status") for r in results]
    unknown = [s for s in statuses if s not in ("pass", "fail", "error")]
    if unknown:
        raise ValueError(f"unknown rule status {unknown[0]!r}; use pass, fail or error")
    if "fail" in statuses:
        return "anomaly"
    if image_error or not statuses or "error" in statuses:
        return "error"
    return "good"


# --- reasoning precision --------------------------------------------------------------------


def reasoning_hit(
    true_defects: Iterable[str], violated_guards: Iterable[Iterable[str]]
) -> bool | None:
    """Whether the violated rules name a true defect.

    Args:
        true_defects: Defect names the dataset gives for the image.
        violated_guards: For each violated rule, the defect names it guards.

    Returns:
        True if some violated rule guards some true defect, False if none does, ``None``
        when the true defects are unknown (the image cannot be judged).
    """
    truth = set(true_defects)
    if not truth:
        return None
    return any(truth & set(g) for g in violated_guards)


@dataclass(frozen=True)
class Ratio:
    """A share ``hits / n`` with the number of items left out.

    Attributes:
        hits: Items that satisfy the criterion.
        n: Items judged.
        skipped: Items that could not be judged (left out of ``n``).
    """

    hits: int = 0
    n: int = 0
    skipped: int = 0

    @property
    def value(self) -> float | None:
        """``hits / n``, ``None`` when nothing was judged."""
        return _ratio(self.hits, self.n)

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.hits + other.hits, self.n + other.n, self.skipped + other.skipped)


def _is_positive(rec: ImageRecord) -> bool:
    return _kind(rec) == POSITIVE


def _kind(rec: ImageRecord) -> str:
    truth = rec.truth
    return str(getattr(truth, "value", truth))


def reasoning_precision(records: Iterable[ImageRecord]) -> Ratio:
    """Among anomalies caught, the share whose violated rules name a true defect.

    An anomaly is caught when its truth is a logical anomaly and its verdict ``anomaly``; its
    violated rules name a true defect when one of their ``guards`` is among its ``defects``.
    Caught anomalies without known true defects are counted in ``skipped``.

    Args:
        records: Image records (``truth``, ``verdict``, ``defects``, ``rules`` with ``guards``).

    Returns:
        The ratio.
    """
    hits = n = skipped = 0
    for rec in records:
        if not (_is_positive(rec) and rec.verdict == "anomaly"):
            continue
        hit = reasoning_hit(rec.defects, [r.guards for r in rec.rules if r.status == "fail"])
        if hit is None:
            skipped += 1
        else:
            n += 1
            hits += int(hit)
    return Ratio(hits, n, skipped)


# --- code generation ------------------------------------------------------------------------


@dataclass(frozen=True)
class CodegenRecord:
    """What became of one rule at code generation.

    Stages are cumulative: a rule *validated* has *compiled*; a rule is *right on held-out*
    when it validated and judged every held-out scene correctly.

    Attributes:
        category: Product category.
        rule_id: Rule id from the spec.
        compiled: The model produced code the sandbox policy accepted.
        validated: The code passed validation (references and counterexamples).
        heldout_correct: Held-out scenes the rule judged correctly (0 if it never ran).
        heldout_total: Held-out scenes available for the rule (set it even for a rule that
            failed earlier, so that the failure counts; 0 when there are none).
        reason: Why the rule failed, one line (empty when it did not).
    """

    category: str
    rule_id: str
    compiled: bool
    validated: bool
    heldout_correct: int = 0
    heldout_total: int = 0
    reason: str = ""

    def __post_init__(self) -> None:
        if self.validated and not self.compiled:
            raise ValueError(f"rule {self.rule_id!r}: validated but not compiled")
        if not 0 <= self.heldout_correct <= self.heldout_total:
            raise ValueError(
                f"rule {self.rule_id!r}: heldout_correct={self.heldout_correct} must be in "
                f"[0, heldout_total={self.heldout_total}]"
            )
        if not self.compiled and self.heldout_correct:
            raise ValueError(f"rule {self.rule_id!r}: not compiled but right on held-out scenes")

    @property
    def heldout_right(self) -> bool | None:
        """Right on every held-out scene (and validated); ``None`` when there are none."""
        if self.heldout_total == 0:
            return None
        return self.validated and self.heldout_correct == self.heldout_total


@dataclass(frozen=True)
class CodegenRates:
    """Code-generation success over a set of rules.

    Attributes:
        n_rules: Rules attempted.
        compiled, validated: Rules that reached each stage.
        heldout_right: Rules right on all their held-out scenes.
        heldout_rules: Rules that had held-out scenes (denominator of ``heldout_rate``).
        heldout_scenes_correct, heldout_scenes: Held-out (rule, scene) judgements right / all.
    """

    n_rules: int = 0
    compiled: int = 0
    validated: int = 0
    heldout_right: int = 0
    heldout_rules: int = 0
    heldout_scenes_correct: int = 0
    heldout_scenes: int = 0

    @property
    def compiled_rate(self) -> float | None:
        """Share of rules that compiled."""
        return _ratio(self.compiled, self.n_rules)

    @property
    def validated_rate(self) -> float | None:
        """Share of rules that compiled and passed validation (the codegen success rate)."""
        return _ratio(self.validated, self.n_rules)

    @property
    def heldout_rate(self) -> float | None:
        """Share of rules with held-out scenes that were right on all of them."""
        return _ratio(self.heldout_right, self.heldout_rules)

    @property
    def heldout_scene_accuracy(self) -> float | None:
        """Share of held-out (rule, scene) judgements that were right."""
        return _ratio(self.heldout_scenes_correct, self.heldout_scenes)

    def __add__(self, other: CodegenRates) -> CodegenRates:
        return CodegenRates(
            *(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__)
        )


def codegen_rates(records: Iterable[CodegenRecord]) -> CodegenRates:
    """Code-generation success counts and rates over ``records``."""
    recs = list(records)
    with_heldout = [r for r in recs if r.heldout_total > 0]
    return CodegenRates(
        n_rules=len(recs),
        compiled=sum(r.compiled for r in recs),
        validated=sum(r.validated for r in recs),
        heldout_right=sum(bool(r.heldout_right) for r in with_heldout),
        heldout_rules=len(with_heldout),
        heldout_scenes_correct=sum(r.heldout_correct for r in recs),
        heldout_scenes=sum(r.heldout_total for r in recs),
    )


# --- per-defect confusion -------------------------------------------------------------------


@dataclass(frozen=True)
class DefectConfusion:
    """How often each rule fired on images of each true defect.

    Attributes:
        defects: Row names: ``good`` first (false alarms), then true defects, sorted.
        rules: Column names: rule ids, sorted.
        counts: ``counts[i][j]`` = images of row ``i`` where rule ``j`` failed.
        totals: Images in each row (an image with two defects counts in both rows).
        none_fired: Images of each row where no rule failed.
    """

    defects: list[str]
    rules: list[str]
    counts: list[list[int]]
    totals: list[int]
    none_fired: list[int]

    def rates(self) -> np.ndarray:
        """``counts`` divided by each row's total (rows with no image are 0)."""
        c = np.asarray(self.counts, dtype=float).reshape(len(self.defects), len(self.rules))
        t = np.asarray(self.totals, dtype=float).reshape(-1, 1)
        return np.divide(c, t, out=np.zeros_like(c), where=t > 0)


def defect_confusion(records: Iterable[ImageRecord]) -> DefectConfusion:
    """Per-defect confusion of the rules of one category (see :class:`DefectConfusion`).

    Good images form the ``good`` row; logical anomalies one row per true defect (those with
    no defect listed form the row ``(unknown)``); structural anomalies are left out. Rule
    ids are taken from the records, so pass the records of a single category.

    Args:
        records: Image records.

    Returns:
        The matrix.
    """
    recs = [r for r in records if _kind(r) in (POSITIVE, NEGATIVE)]
    rules = sorted({o.rule for r in recs for o in r.rules})
    defects = sorted({d for r in recs if _is_positive(r) for d in (r.defects or ["(unknown)"])})
    rows = [GOOD_ROW, *[d for d in defects if d != GOOD_ROW]]
    row_ix = {name: i for i, name in enumerate(rows)}
    col_ix = {name: j for j, name in enumerate(rules)}
    counts = np.zeros((len(rows), len(rules)), dtype=int)
    totals = np.zeros(len(rows), dtype=int)
    none = np.zeros(len(rows), dtype=int)
    for rec in recs:
        names = (rec.defects or ["(unknown)"]) if _is_positive(rec) else [GOOD_ROW]
        fired = [col_ix[o.rule] for o in rec.rules if o.status == "fail"]
        for name in set(names):
            i = row_ix[name]
            totals[i] += 1
            if fired:
                counts[i, sorted(set(fired))] += 1
            else:
                none[i] += 1
    return DefectConfusion(
        defects=rows,
        rules=rules,
        counts=counts.tolist(),
        totals=totals.tolist(),
        none_fired=none.tolist(),
    )


# --- aggregation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupMetrics:
    """All figures for one group of images (a category, or every category pooled).

    Attributes:
        name: Category name, or ``overall``.
        n_images: Records in the group, whatever their truth and verdict.
        n_scored: Good and logical-anomaly images with a verdict (the binary metrics' set).
        n_error: Good and logical-anomaly images with verdict ``error`` (not scored).
        n_excluded: Images outside the benchmark (structural anomalies).
        confusion: Binary confusion counts on the scored images.
        auroc: AUROC of the anomaly score (:func:`image_score`) on the scored images.
        roc: ROC curve points, ``None`` with one class only.
        auroc_rules: AUROC of the rules-only score (:func:`anomaly_score`) on the same images.
        auroc_deviation: AUROC of the deviation alone, ``None`` unless every scored image
            has one.
        reasoning: Reasoning precision counts.
        codegen: Code-generation counts, ``None`` when no codegen records were given.
        seconds_per_image: Mean total time per image (all records with timings).
        stage_seconds: Mean time per image of each stage.
        peak_memory_mb: Largest peak memory recorded.
    """

    name: str
    n_images: int
    n_scored: int
    n_error: int
    n_excluded: int
    confusion: Confusion
    auroc: AurocResult
    roc: RocCurve | None
    reasoning: Ratio
    codegen: CodegenRates | None
    seconds_per_image: float | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    peak_memory_mb: float | None = None
    auroc_rules: AurocResult | None = None
    auroc_deviation: AurocResult | None = None

    @property
    def accuracy_strict(self) -> float | None:
        """Accuracy counting ``error`` verdicts as wrong."""
        return _ratio(self.confusion.tp + self.confusion.tn, self.n_scored + self.n_error)

    @property
    def coverage(self) -> float | None:
        """Share of benchmark images that got a verdict."""
        return _ratio(self.n_scored, self.n_scored + self.n_error)

    def figures(self) -> dict[str, float | None]:
        """The headline figures by name (the keys of :data:`MACRO_KEYS`)."""
        cg = self.codegen
        return {
            "accuracy": self.confusion.accuracy,
            "accuracy_strict": self.accuracy_strict,
            "precision": self.confusion.precision,
            "recall": self.confusion.recall,
            "f1": self.confusion.f1,
            "auroc": self.auroc.value,
            "auroc_rules": self.auroc_rules.value if self.auroc_rules else None,
            "auroc_deviation": self.auroc_deviation.value if self.auroc_deviation else None,
            "reasoning_precision": self.reasoning.value,
            "codegen_compiled": cg.compiled_rate if cg else None,
            "codegen_validated": cg.validated_rate if cg else None,
            "codegen_heldout": cg.heldout_rate if cg else None,
            "seconds_per_image": self.seconds_per_image,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: counts, headline figures and the ROC curve."""
        out: dict[str, Any] = {
            "name": self.name,
            "n_images": self.n_images,
            "n_scored": self.n_scored,
            "n_error": self.n_error,
            "n_excluded": self.n_excluded,
            "coverage": self.coverage,
            **self.figures(),
            "auroc_reason": self.auroc.reason,
            "confusion": asdict(self.confusion),
            "reasoning": asdict(self.reasoning),
            "codegen": None,
            "stage_seconds": dict(self.stage_seconds),
            "peak_memory_mb": self.peak_memory_mb,
            "roc": asdict(self.roc) if self.roc else None,
        }
        if self.codegen is not None:
            cg = self.codegen
            out["codegen"] = {
                **asdict(cg),
                "compiled_rate": cg.compiled_rate,
                "validated_rate": cg.validated_rate,
                "heldout_rate": cg.heldout_rate,
                "heldout_scene_accuracy": cg.heldout_scene_accuracy,
            }
        return out


@dataclass(frozen=True)
class BenchMetrics:
    """Figures per category, overall (micro) and macro-averaged.

    Attributes:
        categories: Per-category figures, by category name (sorted).
        overall: All images and rules pooled (micro average).
        macro: Mean of the per-category headline figures (``None`` where no category has one).
        confusions: Per-defect confusion of each category.
    """

    categories: dict[str, GroupMetrics]
    overall: GroupMetrics
    macro: dict[str, float | None]
    confusions: dict[str, DefectConfusion]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of everything."""
        return {
            "categories": {k: v.to_dict() for k, v in self.categories.items()},
            "overall": self.overall.to_dict(),
            "macro": dict(self.macro),
            "confusions": {k: asdict(v) for k, v in self.confusions.items()},
        }


def group_metrics(
    name: str,
    records: Sequence[ImageRecord],
    codegen: Sequence[CodegenRecord] | None = None,
) -> GroupMetrics:
    """Compute every figure for one group of image records.

    Args:
        name: Group name.
        records: Image records of the group.
        codegen: Code-generation records of the group's rules (``None``: not measured).

    Returns:
        The figures.
    """
    bench = [r for r in records if _kind(r) in (POSITIVE, NEGATIVE)]
    scored = [r for r in bench if r.verdict != "error"]
    y_true = [_is_positive(r) for r in scored]
    y_pred = [r.verdict == "anomaly" for r in scored]
    scores = [_score(r) for r in scored]
    deviations = [r.deviation for r in scored]
    timed = [r for r in records if r.timings]
    stages = sorted({k for r in timed for k in r.timings})
    stage_seconds = {
        s: float(np.mean([r.timings[s] for r in timed if s in r.timings])) for s in stages
    }
    memory = [r.peak_memory_mb for r in records if r.peak_memory_mb is not None]
    return GroupMetrics(
        name=name,
        n_images=len(records),
        n_scored=len(scored),
        n_error=len(bench) - len(scored),
        n_excluded=len(records) - len(bench),
        confusion=confusion(y_true, y_pred),
        auroc=auroc(y_true, scores),
        roc=roc_curve(y_true, scores),
        auroc_rules=auroc(y_true, [anomaly_score(r.rules) for r in scored]),
        auroc_deviation=(
            auroc(y_true, [float(d) for d in deviations if d is not None])
            if scored and all(d is not None for d in deviations)
            else None
        ),
        reasoning=reasoning_precision(scored),
        codegen=codegen_rates(codegen) if codegen is not None else None,
        seconds_per_image=(
            float(np.mean([sum(r.timings.values()) for r in timed])) if timed else None
        ),
        stage_seconds=stage_seconds,
        peak_memory_mb=max(memory) if memory else None,
    )


def _score(rec: ImageRecord) -> float:
    if rec.score is None:
        raise ValueError(
            f"image {rec.category}/{rec.image_id} has verdict {rec.verdict!r} but no score"
        )
    return float(rec.score)


def macro_average(groups: Iterable[GroupMetrics]) -> dict[str, float | None]:
    """Mean of each headline figure over the groups where it is defined."""
    figs = [g.figures() for g in groups]
    out: dict[str, float | None] = {}
    for key in MACRO_KEYS:
        vals = [f[key] for f in figs if f[key] is not None and not math.isnan(f[key])]
        out[key] = float(np.mean(vals)) if vals else None
    return out


def evaluate(
    records: Iterable[ImageRecord],
    codegen: Iterable[CodegenRecord] | None = None,
) -> BenchMetrics:
    """Figures per category, overall (micro) and macro, plus per-defect confusions.

    Args:
        records: Image records of a bench run (any number of categories).
        codegen: Code-generation records of the rules used (``None``: not measured).

    Returns:
        The metrics.
    """
    recs = list(records)
    cg = list(codegen) if codegen is not None else None
    names = sorted({r.category for r in recs} | {c.category for c in cg or []})
    cats = {
        name: group_metrics(
            name,
            [r for r in recs if r.category == name],
            [c for c in cg if c.category == name] if cg is not None else None,
        )
        for name in names
    }
    return BenchMetrics(
        categories=cats,
        overall=group_metrics("overall", recs, cg),
        macro=macro_average(cats.values()),
        confusions={
            name: defect_confusion([r for r in recs if r.category == name]) for name in names
        },
    )
