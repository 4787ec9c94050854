"""Results of rules on scenes: the dicts the pool returns, and their validation.

A result is ``{"rule": id, "status": "pass" | "fail" | "error", "violations": [...],
"error": None | {"kind": kind, "message": one line}}``; a violation is ``{"message": str,
"evidence": [component id, ...]}``. Workers send a compact wire form that the parent checks
with :func:`result_from_wire` before anything else sees it: a worker is not trusted to be
well-formed, and a malformed message means the worker is replaced.
"""

from __future__ import annotations

from typing import Any

from sandbox.errors import ProtocolError
from sandbox.limits import Limits

STATUSES = ("pass", "fail", "error")

ERROR_KINDS = frozenset({"policy", "timeout", "memory", "exception", "output", "crash", "input"})
"""Why a rule gave no verdict: ``policy`` (rejected code), ``timeout``, ``memory``,
``exception`` (raised while running), ``output`` (returned something that is not a list of
violations), ``crash`` (the worker died or misbehaved) and ``input`` (the scene is not valid
JSON or the API cannot read it)."""

MAX_ERROR_MESSAGE = 2000


def pass_result(rule_id: str) -> dict[str, Any]:
    """The result of a rule that holds."""
    return {"rule": rule_id, "status": "pass", "violations": [], "error": None}


def error_result(rule_id: str, kind: str, message: str) -> dict[str, Any]:
    """The result of a rule that could not give a verdict."""
    if kind not in ERROR_KINDS:
        raise ValueError(f"unknown error kind {kind!r}; use one of {sorted(ERROR_KINDS)}")
    return {
        "rule": rule_id,
        "status": "error",
        "violations": [],
        "error": {"kind": kind, "message": message},
    }


def result_from_wire(rule_id: str, wire: Any, limits: Limits) -> dict[str, Any]:
    """Check one wire result from a worker and build the result dict.

    Args:
        rule_id: The rule the result belongs to.
        wire: ``["p"]``, ``["f", [[message, [ids]], ...]]`` or ``["e", kind, message]``.
        limits: The limits the worker had to respect.

    Returns:
        The result dict.

    Raises:
        ProtocolError: If the wire result is malformed or breaks the limits.

    """
    if type(wire) is not list or not wire:
        raise ProtocolError(f"result for {rule_id!r} is not a non-empty list")
    tag = wire[0]
    if tag == "p" and len(wire) == 1:
        return pass_result(rule_id)
    if tag == "f" and len(wire) == 2:
        return _fail_result(rule_id, wire[1], limits)
    if tag == "e" and len(wire) == 3:
        kind, message = wire[1], wire[2]
        if kind not in ERROR_KINDS or type(message) is not str or not _is_text(message):
            raise ProtocolError(f"error result for {rule_id!r} has a bad kind or message")
        return error_result(rule_id, kind, message[:MAX_ERROR_MESSAGE])
    raise ProtocolError(f"result for {rule_id!r} has an unknown form")


def _fail_result(rule_id: str, items: Any, limits: Limits) -> dict[str, Any]:
    if type(items) is not list or not items or len(items) > limits.max_violations:
        raise ProtocolError(f"fail result for {rule_id!r} has a bad violation list")
    violations = []
    for item in items:
        if type(item) is not list or len(item) != 2:
            raise ProtocolError(f"fail result for {rule_id!r} has a malformed violation")
        message, evidence = item
        if (
            type(message) is not str
            or len(message) > limits.max_message_chars
            or not _is_text(message)
        ):
            raise ProtocolError(f"fail result for {rule_id!r} has a bad message")
        if type(evidence) is not list or len(evidence) > limits.max_evidence:
            raise ProtocolError(f"fail result for {rule_id!r} has bad evidence")
        for e in evidence:
            if type(e) is not str or len(e) > limits.max_id_chars or not _is_text(e):
                raise ProtocolError(f"fail result for {rule_id!r} has a bad evidence id")
        violations.append({"message": message, "evidence": evidence})
    return {"rule": rule_id, "status": "fail", "violations": violations, "error": None}


def _is_text(s: str) -> bool:
    """True if ``s`` can be written as UTF-8 (no lone surrogates from a JSON escape)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_result(result: Any) -> None:
    """Raise ``ValueError`` if ``result`` is not a well-formed result dict (for consumers/tests).

    Checks the keys, the status, and that status, violations and error agree: ``pass`` has
    no violations and no error, ``fail`` has violations and no error, ``error`` has an error
    of a known kind and no violations.
    """
    if type(result) is not dict or set(result) != {"rule", "status", "violations", "error"}:
        raise ValueError("a result must be a dict with keys rule, status, violations, error")
    status, violations, error = result["status"], result["violations"], result["error"]
    if status not in STATUSES or type(violations) is not list:
        raise ValueError(f"bad status {status!r} or violations")
    for v in violations:
        if (
            type(v) is not dict
            or set(v) != {"message", "evidence"}
            or type(v["message"]) is not str
            or type(v["evidence"]) is not list
            or not all(type(e) is str for e in v["evidence"])
        ):
            raise ValueError(f"bad violation {v!r}")
    if status == "error":
        if (
            type(error) is not dict
            or error.get("kind") not in ERROR_KINDS
            or type(error.get("message")) is not str
            or violations
        ):
            raise ValueError(f"bad error {error!r}")
    elif error is not None or (status == "fail") != bool(violations):
        raise ValueError(f"status {status!r} disagrees with violations/error")
