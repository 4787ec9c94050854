import json

import pytest

from logicode.codegen.pack import PackError, PackManifest, RuleEntry, RulePack, code_sha256

CODE = "def check(scene):\n    return []\n"


def make_pack() -> RulePack:
    manifest = PackManifest(
        category="tray",
        spec_sha256="0" * 64,
        model={"name": "m", "sha256": "1" * 64},
        rules=[
            RuleEntry(id="a", text="A holds.", status="ok"),
            RuleEntry(id="b", text="B holds.", status="failed", reason="no candidate passed"),
        ],
    )
    return RulePack(manifest, {"a": CODE})


def test_save_load_round_trip(tmp_path):
    make_pack().save(tmp_path / "p")
    pack = RulePack.load(tmp_path / "p")
    assert pack.ok_rules == {"a": CODE}
    assert pack.entry("a").code_sha256 == code_sha256(CODE)
    assert pack.entry("b").status == "failed"
    assert not (tmp_path / "p" / "rules" / "b.py").exists()


def test_edited_code_is_refused(tmp_path):
    make_pack().save(tmp_path / "p")
    (tmp_path / "p" / "rules" / "a.py").write_text(CODE + "# sneaky\n")
    with pytest.raises(PackError, match="does not match the manifest hash"):
        RulePack.load(tmp_path / "p")


def test_missing_or_broken_pack(tmp_path):
    with pytest.raises(PackError, match="not a rule pack"):
        RulePack.load(tmp_path)
    make_pack().save(tmp_path / "p")
    (tmp_path / "p" / "rules" / "a.py").unlink()
    with pytest.raises(PackError, match="rule file missing"):
        RulePack.load(tmp_path / "p")
    m = tmp_path / "p" / "manifest.json"
    data = json.loads(m.read_text())
    data["rules"][0]["status"] = "maybe"
    m.write_text(json.dumps(data))
    with pytest.raises(PackError, match="rules.0.status"):
        RulePack.load(tmp_path / "p")
    m.write_text("{")
    with pytest.raises(PackError, match="not valid JSON"):
        RulePack.load(tmp_path / "p")
