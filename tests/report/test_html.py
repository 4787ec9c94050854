import base64
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from report_fakerun import AUDIT_HASHES, CAP_RGB, RUN_ID, SCRIPT, H, W, code_hash, make_run

from logicode.inspection.record import InspectionError, RunManifest
from logicode.report.html import (
    EVIDENCE_RGB,
    audit_head,
    evidence_overlay,
    format_timestamp,
    render_html,
    run_rules,
    write_html,
)


class _Collect(HTMLParser):
    """Tags with their attributes, and the text of every element with a class."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and (cls is None or cls in (a.get("class") or "").split())
        ]


def parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    return p


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


def decode(uri: str) -> np.ndarray:
    head, data = uri.split(",", 1)
    assert head in ("data:image/jpeg;base64", "data:image/png;base64")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path)


def test_summary_counts_anchors_and_audit_head(run: Path):
    html = render_html(run)
    for verdict, n in (("good", 1), ("anomaly", 1), ("error", 1)):
        assert re.search(rf'card {verdict}"><div class="n">{n}<', html)
    p = parse(html)
    links = [a["href"][1:] for a in p.find("a") if (a.get("href") or "").startswith("#img-")]
    sections = [a["id"] for a in p.find("section", "image")]
    assert links == sections == ["img-1", "img-2", "img-3"]
    assert f'audit-head">{AUDIT_HASHES[-1]}<' in html
    assert "2 records" in html
    assert "2026-11-28 10:00:00 UTC" in html  # run created


def test_no_audit_log_is_said(tmp_path: Path):
    run = make_run(tmp_path, audit=False)
    html = render_html(run)
    assert "no audit.jsonl" in html
    assert "audit-head" not in html


def test_rule_messages_and_code_are_escaped(run: Path):
    html = render_html(run)
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    # the rule text's ampersand and the code's comparison are escaped too
    assert "exactly one label &amp; one cap" in html
    assert "n &lt; 2" in html


def test_everything_is_inline(run: Path):
    html = render_html(run)
    assert "http://" not in html and "https://" not in html
    assert 'src="/' not in html and "url(" not in html
    p = parse(html)
    assert not p.find("link") and not p.find("script")
    imgs = p.find("img")
    # good: original + components (no evidence); bad: all three; error: file missing
    assert len(imgs) == 5
    assert all((a["src"] or "").startswith("data:image/") for a in imgs)
    for a in imgs:
        pic = decode(a["src"])
        assert pic.shape[:2] == (H, W)  # under max_side: not resized


def test_pictures_are_downscaled_to_max_side(run: Path):
    html = render_html(run, max_side=160)
    for a in parse(html).find("img"):
        assert max(decode(a["src"]).shape[:2]) == 160


def test_evidence_overlay_marks_cited_components_in_red(run: Path):
    bad = section(render_html(run), "img-2")
    p = parse(bad)
    [evidence] = p.find("img", "evidence")
    pic = decode(evidence["src"]).astype(int)
    red = (
        (abs(pic[..., 0] - EVIDENCE_RGB[0]) < 40)
        & (pic[..., 1] < 80)
        & (abs(pic[..., 2] - EVIDENCE_RGB[2]) < 50)
    )
    assert red.sum() > 200
    # the original has no such red
    [original] = p.find("img", "original")
    orig = decode(original["src"]).astype(int)
    assert ((orig[..., 0] > 180) & (orig[..., 1] < 80) & (orig[..., 2] < 80)).sum() == 0
    assert "#1" in bad and "#2" in bad  # violation numbers in the table


def test_evidence_overlay_unit():
    img = np.full((100, 200, 3), 128, np.uint8)
    out = evidence_overlay(img, [([50, 40, 90, 80], "#1")], max_side=100)
    assert out.shape == (50, 100, 3)
    # the box edge at x=25 (50 * 0.5) is red, the far corner is not
    assert tuple(out[30, 25]) == EVIDENCE_RGB
    assert tuple(out[5, 95]) != EVIDENCE_RGB


def test_per_image_rule_table(run: Path):
    html = render_html(run)
    bad = section(html, "img-2")
    rows = parse(bad).find("tr", "rule-row")
    assert [r["data-rule"] for r in rows] == ["r_count", "r_cap"]
    assert all("fail" in r["class"].split() for r in rows)
    assert "There is exactly one label &amp; one cap." in bad
    assert "cap is below the label" in bad
    assert '<span class="mono">c0</span> <span class="muted">cap</span>' in bad
    assert bad.count("<details>") == 2 and "return []" in bad
    good = section(html, "img-1")
    assert [r["class"] for r in parse(good).find("tr", "rule-row")] == ["rule-row pass"] * 2


def test_disagreeing_explanation_is_flagged(run: Path):
    html = render_html(run)
    flag = "explanation disagrees with the rules' verdict (the rules decide)"
    assert html.count(flag) == 1
    assert flag in section(html, "img-2")
    assert "Looks fine to me." in section(html, "img-2")
    assert "6" * 64 in section(html, "img-2")  # explainer model sha256
    assert flag not in section(html, "img-1")


def test_failed_rules_table_and_rule_hashes(run: Path):
    html = render_html(run)
    p = parse(html)
    assert len(p.find("tr", "failed-rule")) == 1
    table = html[html.index('class="failed-rules"') :]
    table = table[: table.index("</table>")]
    assert "r_color" in table and "no candidate passed the reference scenes" in table
    pack_rules = html[html.index('class="pack-rules"') :]
    pack_rules = pack_rules[: pack_rules.index("</table>")]
    assert code_hash("r_count") in pack_rules and code_hash("r_cap") in pack_rules
    assert "r_color" not in pack_rules
    for sha in ("6" * 64, "7" * 64, "8" * 64, "5" * 64):  # model, prompts, spec
        assert sha in html


def test_error_image_shows_its_error_and_placeholders(run: Path):
    err = section(render_html(run), "img-3")
    assert "error: broken.png: truncated or corrupt image" in err
    assert err.count('class="placeholder"') == 3
    assert "image not available" in err
    assert "<img" not in err
    assert "No rule ran on this image." in err


def test_missing_image_file_gives_a_placeholder(run: Path, tmp_path: Path):
    (tmp_path / "images" / "good.png").unlink()
    good = section(render_html(run), "img-1")
    assert "<img" not in good
    assert "image not available" in good and "good.png not found" in good


def test_changed_image_file_is_noted(run: Path, tmp_path: Path):
    path = tmp_path / "images" / "good.png"
    img = np.asarray(Image.open(path)).copy()
    img[0, 0] = 0
    Image.fromarray(img).save(path)
    assert "sha256 differs" in section(render_html(run), "img-1")
    assert "sha256 differs" not in section(render_html(run), "img-2")


def test_missing_scene_still_shows_the_original(run: Path):
    (run / "scenes" / "good.json").unlink()
    good = section(render_html(run), "img-1")
    p = parse(good)
    assert len(p.find("img", "original")) == 1 and not p.find("img", "components")
    assert "scene not available" in good


def test_missing_pack_says_pack_not_found(run: Path, tmp_path: Path):
    shutil.rmtree(tmp_path / "pack")
    html = render_html(run)
    assert html.count("pack not found") >= 4 + 1  # four rule rows + the summary note
    assert "<details><summary>code" not in html
    # texts and hashes still come from the run manifest
    assert "The cap sits above the label." in html and code_hash("r_cap") in html
    assert "no candidate passed the reference scenes" in html


def test_changed_pack_code_is_flagged(run: Path):
    data = json.loads((run / "run.json").read_text())
    data["pack"]["rules"][0]["code_sha256"] = "0" * 64
    (run / "run.json").write_text(json.dumps(data))
    html = render_html(run)
    assert "differs from the code this run recorded" in html
    assert "r_count differs" in html


def test_write_html_is_atomic_and_defaults_to_run_folder(run: Path, tmp_path: Path):
    out = write_html(run)
    assert out == run / "report.html"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in run.iterdir() if p.name.endswith(".tmp")] == []
    other = write_html(run, tmp_path / "x" / "r.html")
    assert other.is_file()


def test_missing_manifest_raises_one_line(tmp_path: Path):
    with pytest.raises(InspectionError, match="no run manifest"):
        render_html(tmp_path)


def test_audit_head_skips_a_truncated_last_line(tmp_path: Path):
    assert audit_head(tmp_path) is None
    (tmp_path / "audit.jsonl").write_text('{"hash": "h1"}\n{"hash": "h2"}\n{"hash": "h')
    head = audit_head(tmp_path)
    assert head is not None and head.hash == "h2" and head.records == 3 and head.note


def test_run_rules_shapes():
    as_list = run_rules({"rules": [{"id": "a", "status": "ok"}]})
    as_map = run_rules({"rules": {"a": {"status": "ok"}}})
    as_rows = run_rules({"rules": [["a", "ok", "f" * 64]]})
    assert as_list["a"]["status"] == as_map["a"]["status"] == as_rows["a"]["status"] == "ok"
    assert as_rows["a"]["code_sha256"] == "f" * 64
    assert run_rules({}) == {}


def test_format_timestamp():
    assert format_timestamp("2026-11-28T12:48:56.123456+00:00") == "2026-11-28 12:48:56 UTC"
    assert format_timestamp("yesterday") == "yesterday"
    assert format_timestamp(None) == "-"


def test_components_overlay_is_drawn(run: Path):
    good = section(render_html(run), "img-1")
    [comp] = parse(good).find("img", "components")
    [orig] = parse(good).find("img", "original")
    a, b = decode(comp["src"]).astype(int), decode(orig["src"]).astype(int)
    assert np.abs(a - b).mean() > 1.0  # tinted masks and boxes
    # the original keeps the cap colour (JPEG: close, not equal)
    cap = b[65, 160]
    assert np.abs(cap - np.array(CAP_RGB)).max() < 25


needs_anchor = pytest.mark.skipif(
    "audit" not in RunManifest.model_fields, reason="RunManifest has no audit anchor"
)


@needs_anchor
def test_audit_anchor_agrees_or_is_flagged(run: Path):
    html = render_html(run)
    assert "audit-anchored" in html and "audit-mismatch" not in html
    assert RUN_ID in html
    with (run / "audit.jsonl").open("a") as f:
        f.write('{"seq": 2, "hash": "' + "c" * 64 + '"}\n')
    html = render_html(run)
    assert 'class="flag audit-mismatch"' in html
    assert f"run.json recorded {AUDIT_HASHES[-1]}" in html
    assert "it has 3 records, run.json recorded 2" in html
    (run / "audit.jsonl").unlink()
    assert "audit.jsonl is missing" in render_html(run)


def test_scene_input_finds_the_image_through_the_scene(run: Path, tmp_path: Path):
    # `inspect` given scenes records the scene file as the input; its image path is relative
    lines = (run / "results.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    rec["image"]["path"] = str(run / "scenes" / "good.json")
    lines[0] = json.dumps(rec)
    (run / "results.jsonl").write_text("\n".join(lines) + "\n")
    scene = json.loads((run / "scenes" / "good.json").read_text())
    scene["image"]["path"] = "../../images/good.png"
    (run / "scenes" / "good.json").write_text(json.dumps(scene))
    good = section(render_html(run), "img-1")
    p = parse(good)
    assert len(p.find("img", "original")) == 1 and len(p.find("img", "components")) == 1
    assert "sha256 differs" not in good
