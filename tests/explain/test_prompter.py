"""Prompt building, per-category templates, prompt hashes and answer parsing."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import pytest
from explain_helpers import SPEC, component, request, scene, write_image
from PIL import Image

from logicode.bench.records import RuleOutcome
from logicode.explain import (
    AnswerError,
    ExplainRequest,
    answer_json_schema,
    build_messages,
    load_explain_templates,
    parse_answer,
    prompt_sha256,
    scene_text,
)
from logicode.prompts import PROMPTS_DIR

FAILED = {"top_label_present": ["0 top labels, expected 1"]}


def _text(prompt) -> str:
    out = []
    for m in prompt.messages:
        if isinstance(m.content, str):
            out.append(m.content)
        else:
            out += [p["text"] for p in m.content if p.get("type") == "text"]
    return "\n".join(out)


def test_text_prompt_holds_rules_scene_and_results_but_no_ground_truth():
    prompt = build_messages(request(FAILED), vision=False)
    assert [m.type for m in prompt.messages] == ["system", "human"]
    system, human = prompt.messages[0].content, prompt.messages[1].content
    for rule in SPEC.rules:
        assert f"- {rule.id}: {' '.join(rule.text.split())}" in system
    assert "answer with ONLY one JSON object".lower() in system.lower()
    assert "fruit_icon" in system and "cherry|orange|banana|unknown" in system
    # compact scene: rounded box, angle, attributes, low score shown
    assert "c0 bottle [205,120,599,1487] yellow ang=-90" in human
    assert "c3 fruit_icon [356,780,452,880] ang=0 kind=orange p=0.87" in human
    assert "c2 top_label" not in human
    assert "FAIL top_label_present: 0 top labels, expected 1 [c0]" in human
    assert "1 of 14 rules failed: top_label_present\nPassed: one_bottle, bottle_filled" in human
    assert "SECRET" not in _text(prompt)
    assert "Normal reference" not in human


def test_good_image_results_say_all_rules_passed():
    human = build_messages(request(), vision=False).messages[1].content
    assert "All 14 rules passed." in human
    assert "FAIL top" not in human and "Passed:" not in human


def test_unchecked_rules_and_errors_are_listed():
    req = request(FAILED)
    outs = [o for o in req.outcomes if o.rule != "icon_known"]
    req2 = ExplainRequest(spec=SPEC, scene=scene(), outcomes=outs, rules_verdict="anomaly")
    human = build_messages(req2, vision=False).messages[1].content
    assert "Not checked (no rule code): icon_known" in human
    outs[0] = RuleOutcome(rule="one_bottle", status="error", error={"kind": "t", "message": "slow"})
    req3 = ExplainRequest(spec=SPEC, scene=scene(), outcomes=outs, rules_verdict="anomaly")
    human = build_messages(req3, vision=False).messages[1].content
    assert "ERROR one_bottle: slow (no result)" in human


def test_text_prompt_summarises_normal_references():
    refs = [scene(), scene()]
    human = build_messages(request(reference_scenes=refs), vision=False).messages[1].content
    assert "Normal reference: what the vision system measures on 2 good image(s)" in human
    assert "- top_label: 1 per image, box about 248x248 px centred at (404,825)" in human
    assert "juice in {orange}" in human
    assert human.index("Normal reference") < human.index("## Query image")


def test_vision_prompt_attaches_references_then_query_as_jpeg_data_uris(tmp_path):
    ref = write_image(tmp_path / "ref.png", seed=1)
    query = write_image(tmp_path / "query.png", seed=2)
    req = request(FAILED, image=query, references=[ref])
    prompt = build_messages(req, vision=True)
    parts = prompt.messages[1].content
    kinds = [p["type"] for p in parts]
    assert kinds == ["text", "image_url", "text", "image_url", "text"]
    assert parts[0]["text"].startswith("Reference image 1 of 1")
    assert parts[2]["text"].startswith("Query image")
    assert "FAIL top_label_present" in parts[4]["text"]
    images = []
    for p in (parts[1], parts[3]):
        url = p["image_url"]["url"]
        assert url.startswith("data:image/jpeg;base64,")
        im = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        assert im.format == "JPEG" and im.size == (384, 768)
        images.append(url)
    assert images[0] != images[1]
    # the hash covers the images: another query image, another hash
    other = write_image(tmp_path / "other.png", seed=3)
    req2 = request(FAILED, image=other, references=[ref])
    assert build_messages(req2, vision=True).sha256 != prompt.sha256


def test_vision_prompt_without_image_files_is_text_parts_only():
    parts = build_messages(request(), vision=True).messages[1].content
    assert [p["type"] for p in parts] == ["text"]


def test_prompt_hash_is_stable_and_follows_the_templates(tmp_path):
    a = build_messages(request(FAILED), vision=False)
    b = build_messages(request(FAILED), vision=False)
    assert a.sha256 == b.sha256 == prompt_sha256(a.messages)
    assert len(a.sha256) == 64
    assert build_messages(request(), vision=False).sha256 != a.sha256
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR / "explain", root / "explain")
    assert build_messages(request(FAILED), vision=False, root=root).sha256 == a.sha256
    q = root / "explain" / "query.md"
    q.write_text(q.read_text() + "\nBe brief.\n")
    changed = build_messages(request(FAILED), vision=False, root=root)
    assert changed.sha256 != a.sha256
    assert changed.templates["explain/query.md"] != a.templates["explain/query.md"]


def test_per_category_override_replaces_the_generic_template(tmp_path):
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR / "explain", root / "explain")
    own = root / "explain" / "juice_bottle"
    own.mkdir()
    (own / "category.md").write_text("BOTTLE CONTEXT for $title\nRules:\n$rules\n")
    tpl = load_explain_templates("juice_bottle", root)
    assert tpl["category"].name == "explain/juice_bottle/category.md"
    assert tpl["system"].name == "explain/system.md"
    assert load_explain_templates("pushpins", root)["category"].name == "explain/category.md"
    prompt = build_messages(request(), vision=False, root=root)
    system = prompt.messages[0].content
    assert "BOTTLE CONTEXT for Juice bottle" in system
    assert "Parts the vision system reports" not in system
    assert "explain/juice_bottle/category.md" in prompt.templates


def test_prompt_of_a_ten_part_scene_stays_small():
    comps = [
        component(f"c{i}", SPEC.vocabulary[i % 5], [10.0 * i, 20.0, 10.0 * i + 55.5, 80.25])
        for i in range(10)
    ]
    big = {**scene(), "components": comps}
    req = ExplainRequest(
        spec=SPEC, scene=big, outcomes=request(FAILED).outcomes, reference_scenes=[scene()]
    )
    text = _text(build_messages(req, vision=False))
    assert len(scene_text(big).splitlines()) == 10
    # ~3.3 chars per token for this text (measured with the Qwen tokenizer: docs/explain.md)
    assert len(text) < 7500, len(text)


# --- answers -------------------------------------------------------------------------------

IDS = [r.id for r in SPEC.rules]
GOOD_ANSWER = {"reasoning": "No top label.", "verdict": "anomaly", "cited_rules": ["icon_known"]}


def test_parse_plain_fenced_and_chatty_answers():
    plain = json.dumps(GOOD_ANSWER)
    assert parse_answer(plain, IDS).cited_rules == ["icon_known"]
    fenced = f"Sure!\n```json\n{plain}\n```\nHope this helps {{not json}}"
    assert parse_answer(fenced, IDS).verdict == "anomaly"
    chatty = "Here {is} my answer: " + plain.replace('"anomaly"', '" Anomaly "') + " done"
    ans = parse_answer(chatty, IDS)
    assert ans.verdict == "anomaly" and ans.reasoning == "No top label."
    one = json.dumps({**GOOD_ANSWER, "cited_rules": "icon_known", "extra": 1})
    assert parse_answer(one, IDS).cited_rules == ["icon_known"]


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        ("I think it is fine.", "no JSON object"),
        ("[1, 2]", "no JSON object"),
        (json.dumps({**GOOD_ANSWER, "cited_rules": ["made_up_rule"]}), "'made_up_rule' is not"),
        (json.dumps({**GOOD_ANSWER, "verdict": "bad"}), "verdict"),
        (json.dumps({**GOOD_ANSWER, "reasoning": "  "}), "reasoning"),
        (json.dumps({**GOOD_ANSWER, "reasoning": "x" * 2001}), "reasoning"),
        (json.dumps({"verdict": "good"}), "reasoning"),
    ],
)
def test_invalid_answers_are_rejected_with_a_reason(reply, match):
    with pytest.raises(AnswerError, match=match):
        parse_answer(reply, IDS)


def test_answer_schema_lists_the_rule_ids():
    schema = answer_json_schema(IDS)
    assert schema["properties"]["cited_rules"]["items"]["enum"] == IDS
    assert schema["properties"]["verdict"]["enum"] == ["good", "anomaly"]


def test_missing_image_file_raises_image_error(tmp_path):
    from logicode.errors import ImageError

    req = request(image=Path(tmp_path / "nope.png"))
    with pytest.raises(ImageError, match="not found"):
        build_messages(req, vision=True)
