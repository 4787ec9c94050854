from pathlib import Path

import typer
from report_fakerun import make_run
from typer.testing import CliRunner

from logicode.cli import friendly_errors
from logicode.report.command import report


def make_app() -> typer.Typer:
    app = typer.Typer()
    app.command("report")(friendly_errors(report))

    @app.command("noop")
    def noop() -> None:  # a second command keeps "report" a named subcommand
        pass

    return app


def test_report_command_writes_html(tmp_path: Path):
    run = make_run(tmp_path)
    res = CliRunner().invoke(make_app(), ["report", str(run), "--max-side", "100"])
    assert res.exit_code == 0, res.output
    assert f"report: {run / 'report.html'}" in res.output
    assert "<!DOCTYPE html>" in (run / "report.html").read_text()


def test_report_command_one_line_error(tmp_path: Path):
    res = CliRunner().invoke(make_app(), ["report", str(tmp_path / "nope")])
    assert res.exit_code == 1
    assert "no run manifest" in res.output
    assert "Traceback" not in res.output
