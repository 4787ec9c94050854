"""Look at a report the way a reader does: headless Chromium screenshots and DOM dumps.

Used by the tests (the report must render in a real browser) and handy for documentation
pictures. Chromium runs without network, sandbox or GPU, with a throw-away profile.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from logicode.errors import LogicodeError

log = logging.getLogger(__name__)

BROWSER_NAMES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome")
"""Executables tried in order (``LOGICODE_CHROMIUM`` overrides)."""


class BrowserError(LogicodeError):
    """Chromium is missing or failed to render a page."""


def find_chromium() -> str | None:
    """Path of a Chromium executable (``$LOGICODE_CHROMIUM`` first), or ``None``."""
    override = os.environ.get("LOGICODE_CHROMIUM")
    if override:
        return shutil.which(override)
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    exe = find_chromium()
    if exe is None:
        raise BrowserError(
            "headless Chromium not found; install it (Debian: apt-get install chromium)"
            " or set LOGICODE_CHROMIUM"
        )
    with tempfile.TemporaryDirectory(prefix="logicode-chromium-") as profile:
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--mute-audio",
            f"--user-data-dir={profile}",
            *args,
        ]
        log.debug("running %s", " ".join(cmd))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise BrowserError(f"Chromium did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BrowserError(f"Chromium failed (exit {proc.returncode}): {tail}")
    return proc


def render_png(
    html_path: Path,
    png_path: Path,
    width: int = 1280,
    height: int = 2000,
    *,
    timeout: float = 90.0,
) -> Path:
    """Screenshot the top ``width`` x ``height`` pixels of an HTML file with headless Chromium.

    Args:
        html_path: The HTML file (opened as ``file://``).
        png_path: The PNG to write (folders created).
        width: Window width in CSS pixels.
        height: Window height in CSS pixels (the screenshot covers the window only).
        timeout: Seconds before Chromium is given up.

    Returns:
        ``png_path``.

    Raises:
        BrowserError: Chromium is missing, failed, or wrote no picture.
    """
    png_path = Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.unlink(missing_ok=True)
    _run(
        [
            f"--screenshot={png_path}",
            f"--window-size={width},{height}",
            Path(html_path).resolve().as_uri(),
        ],
        timeout,
    )
    if not png_path.is_file():
        raise BrowserError(f"Chromium wrote no screenshot to {png_path}")
    return png_path


def dump_dom(html_path: Path, *, timeout: float = 90.0) -> str:
    """The DOM of an HTML file after Chromium loaded it, serialised as HTML.

    Raises:
        BrowserError: Chromium is missing or failed.
    """
    return _run(["--dump-dom", Path(html_path).resolve().as_uri()], timeout).stdout
