"""json_digest: one content hash for JSON-ready values."""

import hashlib
from pathlib import Path

from logicode.digest import canonical_json, json_digest


def test_canonical_json_is_compact_sorted_and_keeps_unicode():
    assert canonical_json({"b": [1, 2], "a": "é"}) == '{"a":"é","b":[1,2]}'


def test_digest_is_sha256_of_the_canonical_text():
    obj = {"z": None, "a": {"y": 1.5, "x": True}}
    expected = hashlib.sha256(b'{"a":{"x":true,"y":1.5},"z":null}').hexdigest()
    assert json_digest(obj) == expected


def test_key_order_does_not_matter_but_content_does():
    assert json_digest({"a": 1, "b": 2}) == json_digest({"b": 2, "a": 1})
    assert json_digest({"a": 1}) != json_digest({"a": 2})
    assert json_digest([1, 2]) != json_digest([2, 1])


def test_values_json_cannot_hold_are_hashed_as_text():
    assert json_digest({"p": Path("/x/y")}) == json_digest({"p": "/x/y"})
