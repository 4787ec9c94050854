"""Content digests of JSON-ready values (cache keys, pack and settings identities).

Example:
    >>> json_digest({"b": 1, "a": [1, 2]}) == json_digest({"a": [1, 2], "b": 1})
    True
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """Compact, key-sorted JSON text of ``obj``; values JSON cannot hold are written as ``str``.

    Args:
        obj: A JSON-ready value (dicts, lists, strings, numbers, booleans, ``None``); other
            values (paths, enums...) are converted with ``str``.

    Returns:
        The canonical text (UTF-8 characters kept as they are).
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def json_digest(obj: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``obj``, so equal content hashes equal.

    Args:
        obj: A JSON-ready value.

    Returns:
        64 lowercase hex digits.
    """
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()
