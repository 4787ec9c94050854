"""The ``logicode inspect`` command: exit codes, JSON Lines on stdout, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from logicode.cli import app
from logicode.codegen.pack import PackManifest, RuleEntry, RulePack, code_sha256
from logicode.data.synth import generate_dataset
from logicode.spec import load_spec

CODE = """def check(scene):
    n = scene.count("liquid")
    if n != 1:
        return [violation(f"{n} liquid regions, expected 1", *scene.find("liquid"))]
    return []
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cmd")
    data = root / "jb"
    generate_dataset(
        "juice_bottle", data, n_good=1, n_logical=4, n_train=5, n_val=0, seed=5, workers=1
    )
    rule = load_spec("juice_bottle").rule("bottle_filled")
    entry = RuleEntry(
        id=rule.id, text=rule.text, guards=rule.guards, status="ok", code_sha256=code_sha256(CODE)
    )
    RulePack(
        PackManifest(category="juice_bottle", spec_sha256="", rules=[entry]), {rule.id: CODE}
    ).save(root / "pack")
    return data, root / "pack"


def scenes(data: Path) -> list[str]:
    return [str(p) for p in sorted((data / "scenes" / "test").rglob("*.json"))]


def test_jsonl_on_stdout_and_fail_on_anomaly(setup, tmp_path: Path) -> None:
    data, pack = setup
    files = scenes(data)
    args = ["inspect", *files, "--rules", str(pack), "--out", str(tmp_path / "o"), "-q"]
    res = CliRunner().invoke(app, [*args, "--jsonl", "-"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == len(files)
    verdicts = {x["verdict"] for x in lines}
    res2 = CliRunner().invoke(app, [*args, "--fail-on-anomaly"])
    assert res2.exit_code == (2 if "anomaly" in verdicts else 0)


def test_fail_on_anomaly_exits_2_on_an_empty_bottle(setup, tmp_path: Path) -> None:
    data, pack = setup
    empty = [
        f
        for f in scenes(data)
        if "empty_bottle" in json.loads(Path(f).read_text())["label"]["defects"]
    ]
    if not empty:
        pytest.skip("no empty bottle drawn with this seed")
    res = CliRunner().invoke(
        app,
        [
            "inspect",
            empty[0],
            "--rules",
            str(pack),
            "--out",
            str(tmp_path / "o"),
            "-q",
            "--fail-on-anomaly",
        ],
    )
    assert res.exit_code == 2, res.output


def test_corrupt_image_exits_1_after_the_batch(setup, tmp_path: Path) -> None:
    data, pack = setup
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    good = data / "test" / "good" / "000.png"
    out = tmp_path / "o"
    res = CliRunner().invoke(
        app,
        [
            "inspect",
            str(bad),
            str(good),
            "--rules",
            str(pack),
            "--refs",
            str(data),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 1
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["verdict"] for r in rows] == ["error", "good"]


def test_bad_input_is_one_line(setup, tmp_path: Path) -> None:
    data, pack = setup
    res = CliRunner().invoke(
        app,
        [
            "inspect",
            scenes(data)[0],
            "--rules",
            str(pack),
            "--report",
            "docx",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 1
    assert "unknown --report 'docx'" in res.output and len(res.output.strip().splitlines()) == 1
