"""``logicode report RUN``: write the auditors' report of an inspection run folder.

Register in :mod:`logicode.cli` with ``app.command("report")(friendly_errors(report))``.
Expected errors (no run folder, corrupt results, WeasyPrint or Chromium missing) are
:class:`~logicode.errors.LogicodeError` subclasses with one-line messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report(
    run_dir: Annotated[
        Path, typer.Argument(help="Inspection run folder (the --out of logicode inspect).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default RUN/report.html).")
    ] = None,
    pdf: Annotated[
        Path | None,
        typer.Option("--pdf", help="Also write a PDF here (needs the pdf extra: WeasyPrint)."),
    ] = None,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Also screenshot the top of the report (headless Chromium)."),
    ] = None,
    max_side: Annotated[
        int, typer.Option("--max-side", min=64, help="Longer side of inline pictures, pixels.")
    ] = 800,
) -> None:
    """Write a self-contained HTML report of a run (images inline), optionally PDF and PNG."""
    from logicode.report.html import write_html

    html_path = write_html(run_dir, out, max_side=max_side)
    typer.echo(f"report: {html_path}")
    if pdf is not None:
        from logicode.report.pdf import write_pdf

        typer.echo(f"pdf: {write_pdf(html_path.read_text(encoding='utf-8'), pdf)}")
    if png is not None:
        from logicode.report.browser import render_png

        typer.echo(f"png: {render_png(html_path, png)}")
