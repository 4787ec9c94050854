"""``logicode audit``: check an audit log's hash chain.

Registered in :mod:`logicode.cli` as ``app.add_typer(audit_app, name="audit")`` with
``from logicode.commands.audit import app as audit_app``. ``logicode audit verify LOG`` prints
one ``OK`` line (record count and head hash) and exits 0, or a ``FAILED`` summary line and one
line per problem and exits 1. Warnings (re-serialised lines, clock steps back) go to stderr
and do not fail. A missing or unreadable file prints one error line and exits 1.
The work is done by :func:`logicode.audit.verify_log`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Audit logs: verify the SHA-256 hash chain of an append-only audit log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def audit_callback() -> None:
    """Audit logs: verify the SHA-256 hash chain of an append-only audit log."""


@app.command("verify")
def verify(
    log: Annotated[Path, typer.Argument(help="The audit log (JSON Lines).")],
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="Hash the last record must have (the head printed in the run manifest or "
            "report); catches records removed from the end.",
        ),
    ] = None,
    expect_count: Annotated[
        int | None,
        typer.Option("--expect-count", min=0, help="Number of records, header included."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Detect edited, removed, duplicated or reordered records and torn last lines."""
    from logicode.cli import friendly_errors

    @friendly_errors
    def _go() -> bool:
        from rich.console import Console
        from rich.markup import escape

        from logicode.audit import verify_log

        result = verify_log(log, expect_head=expect_head, expect_count=expect_count)
        if as_json:
            sys.stdout.write(json.dumps(result.to_dict(), indent=1) + "\n")
            return result.ok
        console = Console(soft_wrap=True, highlight=False)
        colour = "green" if result.ok else "red"
        word, rest = result.summary().split(" ", 1)
        console.print(f"[{colour}]{word}[/{colour}] {escape(rest)}")
        for problem in result.problems:
            console.print(f"  {escape(problem)}")
        err = Console(stderr=True, soft_wrap=True, highlight=False)
        for warning in result.warnings:
            err.print(f"[yellow]warning:[/yellow] {escape(warning)}")
        return result.ok

    if not _go():
        raise typer.Exit(1)
