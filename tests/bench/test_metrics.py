import itertools
import math

import numpy as np
import pytest

from logicode.bench.metrics import (
    CodegenRecord,
    Confusion,
    anomaly_score,
    auroc,
    codegen_rates,
    confusion,
    curve_area,
    defect_confusion,
    evaluate,
    image_score,
    image_verdict,
    reasoning_hit,
    reasoning_precision,
    roc_curve,
    rule_confidence,
)
from logicode.bench.records import build_record


def passed(rule):
    return {"rule": rule, "status": "pass", "violations": [], "error": None}


def failed(rule, *evidence_lists):
    lists = evidence_lists or ([],)
    return {
        "rule": rule,
        "status": "fail",
        "violations": [{"message": f"{rule} broken", "evidence": list(e)} for e in lists],
        "error": None,
    }


def errored(rule):
    return {
        "rule": rule,
        "status": "error",
        "violations": [],
        "error": {"kind": "timeout", "message": "too slow"},
    }


def rec(image_id, truth, results, *, category="cat", defects=(), guards=None, **kw):
    return build_record(image_id, category, truth, results, defects=defects, guards=guards, **kw)


# --- binary classification ----------------------------------------------------------------


def test_confusion_and_rates_by_hand():
    # truth: A A A G G G G ; pred: A A G A G G G
    # tp=2 (first two), fn=1 (third), fp=1 (fourth), tn=3
    c = confusion([1, 1, 1, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0])
    assert (c.tp, c.fn, c.fp, c.tn) == (2, 1, 1, 3)
    assert c.accuracy == pytest.approx(5 / 7)  # (2 + 3) / 7
    assert c.precision == pytest.approx(2 / 3)  # 2 / (2 + 1)
    assert c.recall == pytest.approx(2 / 3)  # 2 / (2 + 1)
    assert c.f1 == pytest.approx(2 / 3)  # 2*2 / (2*2 + 1 + 1) = 4/6


def test_confusion_zero_division_conventions():
    # only good images, none flagged: precision/recall/F1 undefined, accuracy 1
    c = confusion([0, 0, 0], [0, 0, 0])
    assert c.accuracy == 1.0
    assert c.precision is None and c.recall is None and c.f1 is None
    # anomalies present, none caught: recall 0, precision undefined, F1 0 (2*0/(0+0+2))
    c = confusion([1, 1, 0], [0, 0, 0])
    assert c.recall == 0.0 and c.precision is None and c.f1 == 0.0
    assert Confusion().accuracy is None
    with pytest.raises(ValueError, match="y_pred has 1"):
        confusion([1, 0], [1])


def test_confusion_addition():
    assert Confusion(1, 2, 3, 4) + Confusion(10, 20, 30, 40) == Confusion(11, 22, 33, 44)


def test_auroc_by_hand_with_ties():
    # anomalies score 3, 2, 1; good images score 2, 0.
    # pairs (a, g): (3,2)=1 (3,0)=1 (2,2)=0.5 (2,0)=1 (1,2)=0 (1,0)=1 -> 4.5 / 6 = 0.75
    r = auroc([1, 1, 1, 0, 0], [3, 2, 1, 2, 0])
    assert r.value == pytest.approx(0.75)
    assert (r.n_pos, r.n_neg, r.reason) == (3, 2, "")


def test_auroc_extremes():
    assert auroc([1, 1, 0, 0], [5, 4, 1, 0]).value == 1.0
    assert auroc([1, 1, 0, 0], [0, 1, 4, 5]).value == 0.0
    assert auroc([1, 0, 1, 0], [7, 7, 7, 7]).value == 0.5  # every pair tied


def _brute_auroc(t, s):
    pos = [x for x, y in zip(s, t, strict=True) if y]
    neg = [x for x, y in zip(s, t, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(8))
def test_auroc_matches_pairwise_count_and_curve_area(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    t = rng.random(n) < 0.4
    t[0], t[1] = True, False  # both classes present
    # coarse integer scores give many ties; continuous ones give none
    s = rng.integers(0, 5, n).astype(float) if seed % 2 else rng.normal(size=n) + t
    expected = _brute_auroc(t.tolist(), s.tolist())
    assert auroc(t, s).value == pytest.approx(expected, abs=1e-12)
    assert curve_area(roc_curve(t, s)) == pytest.approx(expected, abs=1e-12)


def test_auroc_one_class_has_reason():
    r = auroc([0, 0, 0], [1, 2, 3])
    assert r.value is None and "no logical anomaly" in r.reason and r.n_neg == 3
    r = auroc([1, 1], [1, 2])
    assert r.value is None and "no good image" in r.reason
    r = auroc([], [])
    assert r.value is None and "0 scored" in r.reason
    assert roc_curve([1, 1], [1, 2]) is None


def test_auroc_rejects_bad_input():
    with pytest.raises(ValueError, match="finite"):
        auroc([1, 0], [math.nan, 1.0])
    with pytest.raises(ValueError, match="scores has 1"):
        auroc([1, 0], [1.0])


def test_roc_curve_points_by_hand():
    # sorted by score: 3(A) 2(A) 2(G) 1(A) 0(G); P=3, N=2
    # >=3: tp1 fp0 -> (0, 1/3); >=2: tp2 fp1 -> (1/2, 2/3); >=1: tp3 fp1 -> (1/2, 1);
    # >=0: tp3 fp2 -> (1, 1)
    c = roc_curve([1, 1, 1, 0, 0], [3, 2, 1, 2, 0])
    assert c.thresholds == [None, 3.0, 2.0, 1.0, 0.0]
    assert c.fpr == pytest.approx([0, 0, 0.5, 0.5, 1])
    assert c.tpr == pytest.approx([0, 1 / 3, 2 / 3, 1, 1])
    # area: 0.5 * (1/3 + 2/3) / 2 + 0.5 * 1 = 0.25 + 0.5 = 0.75
    assert curve_area(c) == pytest.approx(0.75)


# --- score and verdict --------------------------------------------------------------------


def test_rule_confidence_from_evidence_scores():
    scores = {"c1": 0.9, "c2": 0.6, "c3": 0.8}
    # violation 1: min(0.9, 0.6) = 0.6; violation 2: 0.8 -> rule: max = 0.8
    assert rule_confidence(failed("a", ["c1", "c2"], ["c3"]), scores) == pytest.approx(0.8)
    # no evidence (a missing part) or evidence without a score counts as sure
    assert rule_confidence(failed("a", []), scores) == 1.0
    assert rule_confidence(failed("a", ["zz"]), scores) == 1.0
    assert rule_confidence(failed("a", ["c2"]), None) == 1.0
    assert rule_confidence(passed("a"), scores) == 0.0
    assert rule_confidence(errored("a"), scores) == 0.0


def test_anomaly_score_by_hand():
    results = [
        failed("A", ["c1", "c2"], ["c3"]),  # confidence 0.8 (see above)
        errored("B"),  # error_weight 0.5
        passed("C"),  # 0
        failed("D", ["c9"]),  # unknown evidence score -> 1.0, weight 2
    ]
    scores = {"c1": 0.9, "c2": 0.6, "c3": 0.8}
    # 0.8 + 0.5 + 0 + 2 * 1.0 = 3.3
    assert anomaly_score(results, scores, weights={"D": 2.0}) == pytest.approx(3.3)
    # error_weight 0: 0.8 + 0 + 0 + 2.0 = 2.8
    assert anomaly_score(results, scores, weights={"D": 2.0}, error_weight=0) == pytest.approx(2.8)
    # a mapping rule -> result (what the sandbox pool returns) works too; no weights: 0.8+0.5+1
    as_map = {r["rule"]: r for r in results}
    assert anomaly_score(as_map, scores) == pytest.approx(2.3)
    # ground-truth scenes: the score counts violated rules
    assert anomaly_score([failed("a"), failed("b"), passed("c")]) == 2.0
    assert anomaly_score([passed("a")]) == 0.0


def test_image_score_is_verdict_then_bounded_evidence():
    # major: 1 if a rule failed; minor: x / (1 + x), x = rules-only score r + deviation d
    # two sure violations: r = 2 -> 1 + 2/3
    assert image_score([failed("a"), failed("b"), passed("c")]) == pytest.approx(1 + 2 / 3)
    # confidence 0.6 from the evidence score, d = 0.4: x = 1 -> 1.5
    assert image_score([failed("a", ["c1"])], 0.4, {"c1": 0.6}) == pytest.approx(1.5)
    # an error alone is not a verdict: r = 0.5 -> 1/3 (error_weight 0: 0)
    assert image_score([passed("a"), errored("b")]) == pytest.approx(1 / 3)
    assert image_score([passed("a"), errored("b")], error_weight=0.0) == 0.0
    assert image_score([passed("a")]) == 0.0
    # good verdict, d = 3 -> 0.75; a mapping rule -> result works too
    assert image_score({"a": passed("a")}, 3.0) == pytest.approx(0.75)
    # the minor term never reaches one violation
    assert image_score([passed("a")], 1e9) < image_score([failed("a", ["c"])], 0.0, {"c": 0.0})


def test_image_verdict():
    assert image_verdict([passed("a"), passed("b")]) == "good"
    assert image_verdict([passed("a"), failed("b")]) == "anomaly"
    assert image_verdict([errored("a"), failed("b")]) == "anomaly"
    # an errored rule never counts as passing
    assert image_verdict([passed("a"), errored("b")]) == "error"
    assert image_verdict([]) == "error"
    assert image_verdict([passed("a")], image_error=True) == "error"
    assert image_verdict({"a": passed("a")}) == "good"
    with pytest.raises(ValueError, match="unknown rule status 'maybe'"):
        image_verdict([{"rule": "a", "status": "maybe"}])


# --- reasoning precision ------------------------------------------------------------------


def test_reasoning_hit():
    assert reasoning_hit(["d1"], [["d2"], ["d1", "d3"]]) is True
    assert reasoning_hit(["d1"], [["d2"]]) is False
    assert reasoning_hit(["d1"], []) is False
    assert reasoning_hit([], [["d1"]]) is None


def test_reasoning_precision_by_hand():
    g = {"label": ["missing_label"], "count": ["extra_bottle"], "fill": ["b"]}
    records = [
        # caught, violated rule guards the true defect -> hit
        rec(
            "1",
            "logical_anomaly",
            [failed("label"), passed("count")],
            defects=["missing_label"],
            guards=g,
        ),
        # caught for the wrong reason -> miss
        rec(
            "2",
            "logical_anomaly",
            [passed("label"), failed("count")],
            defects=["wrong_fill"],
            guards=g,
        ),
        # not caught -> not counted
        rec(
            "3",
            "logical_anomaly",
            [passed("label"), passed("count")],
            defects=["wrong_fill"],
            guards=g,
        ),
        # false alarm on a good image -> not counted
        rec("4", "good", [failed("label")], guards=g),
        # caught, true defects unknown -> skipped
        rec("5", "logical_anomaly", [failed("label")], guards=g),
        # two true defects, one named -> hit
        rec(
            "6", "logical_anomaly", [failed("fill"), failed("count")], defects=["a", "b"], guards=g
        ),
    ]
    r = reasoning_precision(records)
    # hits: 1 and 6; judged: 1, 2, 6; skipped: 5 -> 2/3
    assert (r.hits, r.n, r.skipped) == (2, 3, 1)
    assert r.value == pytest.approx(2 / 3)


# --- code generation ----------------------------------------------------------------------


def test_codegen_rates_by_hand():
    recs = [
        CodegenRecord("c", "A", True, True, 5, 5),  # right on held-out
        CodegenRecord("c", "B", True, True, 4, 5),  # one held-out scene wrong
        CodegenRecord("c", "C", True, False, 0, 5, reason="failed counterexamples"),
        CodegenRecord("c", "D", False, False, 0, 5, reason="policy"),
        CodegenRecord("c", "E", True, True, 0, 0),  # no held-out scenes
    ]
    r = codegen_rates(recs)
    assert r.compiled_rate == pytest.approx(4 / 5)  # A B C E
    assert r.validated_rate == pytest.approx(3 / 5)  # A B E
    assert (r.heldout_right, r.heldout_rules) == (1, 4)  # A of A B C D
    assert r.heldout_rate == pytest.approx(1 / 4)
    assert r.heldout_scene_accuracy == pytest.approx(9 / 20)  # (5 + 4) / (5 * 4)
    assert recs[4].heldout_right is None
    empty = codegen_rates([])
    assert empty.validated_rate is None and empty.heldout_rate is None


def test_codegen_record_rejects_inconsistent_stages():
    with pytest.raises(ValueError, match="validated but not compiled"):
        CodegenRecord("c", "A", False, True)
    with pytest.raises(ValueError, match="heldout_correct=6"):
        CodegenRecord("c", "A", True, True, 6, 5)
    with pytest.raises(ValueError, match="not compiled"):
        CodegenRecord("c", "A", False, False, 1, 5)


# --- per-defect confusion -----------------------------------------------------------------


def test_defect_confusion_by_hand():
    records = [
        rec("g1", "good", [passed("r1"), passed("r2")]),
        rec("g2", "good", [failed("r1"), passed("r2")]),
        rec("a1", "logical_anomaly", [failed("r1"), passed("r2")], defects=["d1"]),
        rec("a2", "logical_anomaly", [failed("r1"), failed("r2")], defects=["d1"]),
        rec("a3", "logical_anomaly", [passed("r1"), passed("r2")], defects=["d2"]),
        rec("a4", "logical_anomaly", [passed("r1"), failed("r2")], defects=["d1", "d2"]),
        rec("s1", "structural_anomaly", [failed("r1"), failed("r2")], defects=["scratch"]),
    ]
    m = defect_confusion(records)
    assert m.defects == ["good", "d1", "d2"] and m.rules == ["r1", "r2"]
    # good: g1, g2 -> r1 fired once, none fired once
    # d1: a1, a2, a4 -> r1: a1 a2; r2: a2 a4
    # d2: a3, a4 -> r1: -; r2: a4; none: a3
    assert m.totals == [2, 3, 2]
    assert m.counts == [[1, 0], [2, 2], [0, 1]]
    assert m.none_fired == [1, 0, 1]
    assert m.rates()[1].tolist() == pytest.approx([2 / 3, 2 / 3])


# --- aggregation --------------------------------------------------------------------------


def _two_categories():
    t = {"perception": 1.0, "rules": 0.5}
    two, none = [failed("x"), failed("y")], [passed("x"), passed("y")]
    # comments: rules-only score r; image score = verdict (1/0) + x / (1 + x), x = r + d
    a = [
        rec("a1", "logical_anomaly", two, category="A", timings=t, deviation=1.0),  # 2; 1.75
        rec("a2", "logical_anomaly", none, category="A", timings=t, deviation=3.0),  # 0; .75 FN
        rec("a3", "good", none, category="A", deviation=1.0),  # 0; 0.5, TN
        rec("a4", "good", [failed("x"), passed("y")], category="A", deviation=0.0),  # 1; 1.5 FP
        rec("a5", "logical_anomaly", [errored("x"), passed("y")], category="A"),  # error
        rec("a6", "structural_anomaly", [failed("x"), passed("y")], category="A"),  # excluded
    ]
    b = [
        rec(
            "b1",
            "logical_anomaly",
            [failed("z")],
            category="B",
            timings={"rules": 3.0},
            deviation=0.5,
        ),  # 1; 1.6
        rec("b2", "good", [passed("z")], category="B", deviation=0.25),  # 0; 0.2
    ]
    return a + b


def test_evaluate_per_category_micro_and_macro_by_hand():
    cg = [CodegenRecord("A", "x", True, True), CodegenRecord("A", "y", True, False)]
    cg += [CodegenRecord("B", "z", True, True)]
    m = evaluate(_two_categories(), cg)
    a, b, o = m.categories["A"], m.categories["B"], m.overall
    assert list(m.categories) == ["A", "B"]
    # A: tp a1, fn a2, tn a3, fp a4 -> all rates 1/2
    assert (a.n_images, a.n_scored, a.n_error, a.n_excluded) == (6, 4, 1, 1)
    assert a.confusion == Confusion(tp=1, fp=1, tn=1, fn=1)
    # A AUROC: anomalies [1.75, 0.75], good [0.5, 1.5]: 1 + 1 + 1 + 0 = 3 / 4
    assert a.auroc.value == pytest.approx(0.75)
    # rules only: anomalies [2, 0], good [0, 1]: 1 + 1 + 0.5 + 0 = 2.5 / 4
    assert a.auroc_rules.value == pytest.approx(0.625)
    # deviation only: anomalies [1, 3], good [1, 0]: 0.5 + 1 + 1 + 1 = 3.5 / 4
    assert a.auroc_deviation.value == pytest.approx(0.875)
    assert a.accuracy_strict == pytest.approx(2 / 5)  # the error image counts as wrong
    assert a.coverage == pytest.approx(4 / 5)
    # A timings: a1 and a2 timed, 1.5 s each
    assert a.seconds_per_image == pytest.approx(1.5)
    assert a.stage_seconds == {"perception": 1.0, "rules": 0.5}
    assert a.codegen.validated_rate == pytest.approx(0.5)
    assert b.confusion.accuracy == 1.0 and b.auroc.value == 1.0
    # micro: tp 2, fn 1, fp 1, tn 2
    assert o.confusion == Confusion(tp=2, fp=1, tn=2, fn=1)
    assert o.confusion.accuracy == pytest.approx(4 / 6)
    # micro AUROC: anomalies [1.75, 0.75, 1.6], good [0.5, 1.5, 0.2]: 3 + 2 + 3 = 8 / 9
    assert o.auroc.value == pytest.approx(8 / 9)
    # rules only: anomalies [2, 0, 1], good [0, 1, 0]
    # 2 beats all: 3; 0: 0.5 + 0 + 0.5 = 1; 1: 1 + 0.5 + 1 = 2.5 -> 6.5 / 9
    assert o.auroc_rules.value == pytest.approx(6.5 / 9)
    # micro seconds: (1.5 + 1.5 + 3.0) / 3
    assert o.seconds_per_image == pytest.approx(2.0)
    assert o.codegen.validated_rate == pytest.approx(2 / 3)
    # macro: means of the per-category figures
    assert m.macro["accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    assert m.macro["auroc"] == pytest.approx((0.75 + 1.0) / 2)
    assert m.macro["auroc_rules"] == pytest.approx((0.625 + 1.0) / 2)
    assert m.macro["codegen_validated"] == pytest.approx((0.5 + 1.0) / 2)
    assert m.macro["codegen_heldout"] is None  # no held-out scenes anywhere
    assert set(m.confusions) == {"A", "B"}


def test_evaluate_without_codegen_and_one_class():
    m = evaluate([rec("g", "good", [passed("r")])])
    g = m.overall
    assert g.codegen is None and g.figures()["codegen_validated"] is None
    assert g.auroc.value is None and "no logical anomaly" in g.auroc.reason
    assert g.auroc_deviation is None  # the record has no deviation
    assert g.roc is None and g.seconds_per_image is None
    d = m.to_dict()
    assert d["overall"]["auroc"] is None and d["overall"]["confusion"]["tn"] == 1
