"""The report as PDF, made by WeasyPrint from the same HTML (optional extra ``pdf``).

WeasyPrint is imported only when a PDF is asked for; it needs the Pango libraries of the
system at run time (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import ModuleType

from logicode.errors import LogicodeError

log = logging.getLogger(__name__)


class PdfUnavailableError(LogicodeError):
    """WeasyPrint (the ``pdf`` extra) or the system libraries it needs are missing."""


def _weasyprint() -> ModuleType:
    try:
        import weasyprint
    except ImportError:
        raise PdfUnavailableError(
            "PDF output needs WeasyPrint: pip install 'logicode[pdf]'"
        ) from None
    except OSError as exc:  # WeasyPrint imports but cannot load Pango/HarfBuzz
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PdfUnavailableError(
            f"WeasyPrint cannot load its system libraries ({first}); install Pango"
            " (Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)"
        ) from None
    return weasyprint


def write_pdf(html: str, out: Path) -> Path:
    """Render report HTML to a PDF file, atomically.

    Args:
        html: The report HTML (self-contained: images are data URIs, no network is used).
        out: The PDF path (folders created).

    Returns:
        The path written.

    Raises:
        PdfUnavailableError: WeasyPrint is not installed (message says how to install it).
    """
    weasyprint = _weasyprint()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        weasyprint.HTML(string=html, base_url=None).write_pdf(tmp)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("PDF written to %s", out)
    return out
