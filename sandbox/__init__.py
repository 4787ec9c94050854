"""Sandbox for untrusted, model-written rule code: policy, isolated worker pool, limits.

This package is the product's trust boundary and deliberately imports nothing from
``logicode``. See ``sandbox/README.md`` for the threat model and the layers.

Public API:
    compile_rule: check a rule against the policy (raises :class:`PolicyError`).
    SandboxPool: persistent worker pool (``load_pack`` once, ``evaluate`` many scenes).
    run_rules: one-shot convenience around :class:`SandboxPool`.
    Limits: resource and output limits.
"""

from sandbox.errors import PolicyError, ProtocolError, SandboxError, WorkerStartError
from sandbox.limits import Limits
from sandbox.policy import CompiledRule, compile_rule
from sandbox.pool import SandboxPool, run_rules
from sandbox.results import ERROR_KINDS, check_result

__all__ = [
    "ERROR_KINDS",
    "CompiledRule",
    "Limits",
    "PolicyError",
    "ProtocolError",
    "SandboxError",
    "SandboxPool",
    "WorkerStartError",
    "check_result",
    "compile_rule",
    "run_rules",
]
