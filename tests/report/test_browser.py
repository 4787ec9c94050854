"""The report in a real headless browser (Debian's chromium; .ci/run installs it).

Skipped when Chromium is absent, unless LOGICODE_REQUIRE_CHROMIUM=1 (CI), then it fails.
"""

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from report_fakerun import CAP_RGB, make_run

from logicode.report.browser import BrowserError, dump_dom, find_chromium, render_png
from logicode.report.html import write_html

WIDTH, HEIGHT = 1280, 2600


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = find_chromium()
    if exe is None:
        if os.environ.get("LOGICODE_REQUIRE_CHROMIUM") == "1":
            pytest.fail("LOGICODE_REQUIRE_CHROMIUM=1 but chromium is not installed")
        pytest.skip("headless chromium not installed (apt-get install chromium)")
    return exe


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_html(make_run(tmp_path_factory.mktemp("browser")))


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[dict[str, str | None]] = []
        self.rows: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        elif tag == "tr":
            self.rows.append(a)


def test_screenshot_shows_the_page_and_its_images(chromium: str, report: Path, tmp_path: Path):
    png = render_png(report, tmp_path / "shot" / "report.png", WIDTH, HEIGHT)
    assert png.is_file()
    pic = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert pic.shape == (HEIGHT, WIDTH, 3)
    assert pic.std() > 20  # not a blank page
    assert (pic.min(axis=2) < 60).mean() > 0.003  # dark text is drawn
    # the first image section's original (the blue cap) made it to the screen
    cap = np.abs(pic - np.array(CAP_RGB)).max(axis=2) < 30
    assert cap.sum() > 500
    # the red verdict badges and the evidence boxes are drawn
    red = (pic[..., 0] > 170) & (pic[..., 1] < 70) & (pic[..., 2] < 70)
    assert red.sum() > 100


def test_dom_has_inline_images_and_rule_rows(chromium: str, report: Path):
    dom = dump_dom(report)
    assert dom.lstrip().lower().startswith("<html") or "<body" in dom
    p = _Dom()
    p.feed(dom)
    assert len(p.imgs) == 5
    assert all(re.match(r"data:image/(jpeg|png);base64,", a["src"] or "") for a in p.imgs)
    rule_rows = [r for r in p.rows if "rule-row" in (r.get("class") or "").split()]
    assert [r["data-rule"] for r in rule_rows] == ["r_count", "r_cap", "r_count", "r_cap"]
    assert sum("failed-rule" in (r.get("class") or "") for r in p.rows) == 1
    assert "<script" not in dom.lower()


def test_missing_browser_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOGICODE_CHROMIUM", "no-such-browser-here")
    with pytest.raises(BrowserError, match="Chromium not found") as info:
        render_png(tmp_path / "x.html", tmp_path / "x.png")
    assert "\n" not in str(info.value)
