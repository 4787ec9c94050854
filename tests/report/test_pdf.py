import builtins
import importlib.util
from pathlib import Path

import pytest
from report_fakerun import make_run

from logicode.errors import LogicodeError
from logicode.report.html import render_html
from logicode.report.pdf import PdfUnavailableError, write_pdf


def _weasyprint_works() -> bool:
    if importlib.util.find_spec("weasyprint") is None:
        return False
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # installed without the Pango libraries
        return False
    return True


@pytest.mark.skipif(not _weasyprint_works(), reason="WeasyPrint (pdf extra) not usable here")
def test_pdf_from_the_report_html(tmp_path: Path):
    html = render_html(make_run(tmp_path))
    out = write_pdf(html, tmp_path / "out" / "report.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert data.count(b"/Subtype /Image") >= 5  # the five inline pictures
    # the print CSS starts each image section on a page of its own
    import weasyprint

    pages = weasyprint.HTML(string=html).render().pages
    first_page = {a: i for i, p in reversed(list(enumerate(pages))) for a in p.anchors}
    starts = [first_page[f"img-{n}"] for n in (1, 2, 3)]
    assert starts[0] > first_page["summary"]
    assert starts == sorted(set(starts)) and len(set(starts)) == 3
    for n, i in zip((1, 2, 3), starts, strict=True):
        assert set(pages[i].anchors) == {f"img-{n}"}  # nothing else starts on that page
    assert [p.name for p in out.parent.iterdir()] == ["report.pdf"]


def test_missing_weasyprint_says_how_to_install(monkeypatch, tmp_path: Path):
    real_import = builtins.__import__

    def no_weasyprint(name, *args, **kwargs):
        if name == "weasyprint":
            raise ImportError("No module named 'weasyprint'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_weasyprint)
    with pytest.raises(PdfUnavailableError) as info:
        write_pdf("<p>x</p>", tmp_path / "r.pdf")
    assert isinstance(info.value, LogicodeError)
    assert "pip install 'logicode[pdf]'" in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "r.pdf").exists()
