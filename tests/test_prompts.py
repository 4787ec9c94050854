import hashlib

import pytest

from logicode.prompts import PromptError, load_template


def test_render_and_hash(tmp_path):
    (tmp_path / "t.md").write_text("Rule: $rule\ncode: {'a': 1} costs $$5\n")
    t = load_template("t.md", root=tmp_path)
    assert t.render(rule="one cap") == "Rule: one cap\ncode: {'a': 1} costs $5\n"
    assert t.sha256 == hashlib.sha256((tmp_path / "t.md").read_bytes()).hexdigest()
    with pytest.raises(PromptError, match=r"no value for \$rule"):
        t.render()
    with pytest.raises(PromptError, match="not found"):
        load_template("missing.md", root=tmp_path)
