import pytest
import yaml

from logicode.errors import SpecError
from logicode.spec import list_categories, load_spec, spec_from_dict, spec_path, spec_sha256

MINIMAL = {
    "category": "widget",
    "components": [
        {"label": "body"},
        {"label": "cap", "attributes": [{"name": "kind", "type": "enum", "values": ["a", "b"]}]},
    ],
    "defects": [{"name": "missing_cap", "anomaly_type": "quantity"}],
    "rules": [{"id": "one_cap", "text": "There is exactly one cap.", "guards": ["missing_cap"]}],
}


def test_shipped_specs_load():
    cats = list_categories()
    assert "juice_bottle" in cats
    for cat in cats:
        spec = load_spec(cat)
        assert spec.category == cat
        assert spec.rules and spec.vocabulary
        for rule in spec.rules:
            for g in rule.guards:
                assert spec.defect(g).name == g


def test_minimal_spec_and_lookups(tmp_path):
    spec = spec_from_dict(MINIMAL)
    assert spec.vocabulary == ["body", "cap"]
    assert [r.id for r in spec.rules_guarding("missing_cap")] == ["one_cap"]
    path = tmp_path / "widget.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    assert load_spec(path) == spec
    assert len(spec_sha256(path)) == 64


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["rules"][0].__setitem__("guards", ["nope"]), "rules[0] (one_cap).guards"),
        (lambda d: d["components"].append({"label": "body"}), "duplicate label"),
        (lambda d: d["components"][1]["attributes"][0].pop("values"), "needs a 'values' list"),
        (lambda d: d["defects"][0].__setitem__("anomaly_type", "colour"), "defects.0.anomaly_type"),
        (lambda d: d.__setitem__("rules", []), "rules"),
        (lambda d: d["rules"][0].__setitem__("id", "Bad Id"), "rules.0.id"),
        (lambda d: d.__setitem__("extra", 1), "extra"),
    ],
)
def test_invalid_specs_name_the_field(change, fragment):
    import copy

    data = copy.deepcopy(MINIMAL)
    change(data)
    with pytest.raises(SpecError) as exc:
        spec_from_dict(data, source="w.yaml")
    msg = str(exc.value)
    assert msg.startswith("w.yaml: ")
    assert fragment.replace(".0.", "[0].") in msg or fragment in msg


def test_unknown_category_and_bad_yaml(tmp_path):
    with pytest.raises(SpecError, match="unknown category 'nope'; known categories: .*juice"):
        spec_path("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("category: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML at line"):
        load_spec(bad)
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "missing.yaml")
