"""What a normal scene shows about the parts a rule names."""

from test_counterexamples import SPEC, reference  # tests/codegen on sys.path

from logicode.codegen.facts import mentioned_labels, scene_facts
from logicode.spec import load_spec

JB = load_spec("juice_bottle")


def test_mentioned_labels_phrases_last_words_and_attributes():
    voc = JB.vocabulary
    assert mentioned_labels("There is exactly one top label.", voc) == ["top_label"]
    assert mentioned_labels("Every label is upright.", voc) == ["top_label", "bottom_label"]
    # "juice" is an attribute of liquid, so a rule about the juice is about the liquid.
    assert "liquid" in mentioned_labels("If there is juice, it is red.", voc, JB)
    assert mentioned_labels("There are exactly two nuts.", SPEC.vocabulary) == ["nut"]


def test_scene_facts_measure_the_named_parts():
    lines = scene_facts(reference(), ["nut", "lid"])
    assert lines[0] == "image 300 x 200 px"
    assert "nut: 2 found" in lines
    assert any(line.startswith("nut c2: box x 60..80") for line in lines)
    rel = [line for line in lines if line.startswith("inside(")]
    assert rel and all("above(" in line for line in rel)
    assert "absent: none" in scene_facts(reference(), ["absent"])[1]
