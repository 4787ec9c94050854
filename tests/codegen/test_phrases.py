"""Counts stated by a rule's words, and the expectations they give the compiler."""

from test_counterexamples import SPEC, reference  # tests/codegen on sys.path

from logicode.codegen.counterexamples import propose_mutations
from logicode.codegen.phrases import stated_counts, stated_expectations

VOCAB = ["tray", "lid", "nut", "fruit_icon", "top_label"]


def test_exact_counts_are_read_from_the_words():
    assert stated_counts("There are exactly two nuts.", VOCAB) == {"nut": 2}
    assert stated_counts("The top label carries exactly one fruit icon.", VOCAB) == {
        "fruit_icon": 1
    }
    assert stated_counts("There are exactly 3 lids and exactly one tray.", VOCAB) == {
        "lid": 3,
        "tray": 1,
    }
    # No "exactly", a condition before it, an unknown thing or a non-number: nothing stated.
    assert stated_counts("There are two nuts.", VOCAB) == {}
    assert stated_counts("If there are exactly two nuts, the lid is round.", VOCAB) == {}
    assert stated_counts("When exactly one lid is seen, it is round.", VOCAB) == {}
    assert stated_counts("There are exactly two bolts.", VOCAB) == {}
    assert stated_counts("There are exactly several nuts.", VOCAB) == {}
    # A condition in another sentence does not hide the statement.
    assert stated_counts("If it rains, stop. There is exactly one lid.", VOCAB) == {"lid": 1}


def test_expectations_need_the_references_to_agree():
    ref = reference()
    changes = propose_mutations(SPEC, ref)
    exp = stated_expectations("There are exactly two nuts.", SPEC, [ref], changes)
    assert exp == {"remove:nut": True, "duplicate:nut": True}
    # "exactly one nut is big" with two nuts per reference promises nothing about nuts.
    assert stated_expectations("Exactly one nut is big.", SPEC, [ref], changes) == {}
