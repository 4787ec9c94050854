"""The README's two quick-start commands are what users and CI run: keep them honest."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _block(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"<!-- {name} -->\s*```bash\n(.*?)\n```\s*<!-- /{name} -->", text, re.S)
    assert m, f"README lacks the {name} block"
    return m.group(1).strip()


def test_two_single_line_setup_commands():
    for name in ("main-command", "test-command"):
        cmd = _block(name)
        assert "\n" not in cmd
        assert cmd.startswith("python3 -m venv .venv && .venv/bin/pip install")
    assert "pytest" in _block("test-command")
    assert "logicode" in _block("main-command")


def test_ci_runs_the_readme_test_command():
    ci = ROOT / ".ci" / "run"
    extracted = subprocess.run(
        [
            "bash",
            "-c",
            "sed -n '/<!-- test-command -->/,/<!-- \\/test-command -->/p' README.md"
            " | sed -n '/^```/,/^```/p' | sed '1d;$d'",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert extracted == _block("test-command")
    assert "test-command" in ci.read_text()
