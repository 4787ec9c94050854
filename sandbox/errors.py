"""Errors raised by the sandbox. Every message is one line that says what is wrong and what to do.

The sandbox is the product's trust boundary and imports nothing from ``logicode``; these errors
form their own small hierarchy rooted at :class:`SandboxError`.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Base class of every error the sandbox raises on purpose."""


class PolicyError(SandboxError):
    """Rule source breaks the sandbox policy (syntax, forbidden names or constructs).

    Attributes:
        problems: One line per problem, each starting with ``line N:`` where known, in source
            order; the message joins the first few of them.

    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems) or ["rule code was rejected"]
        shown = "; ".join(self.problems[:5])
        more = len(self.problems) - 5
        suffix = f" (and {more} more)" if more > 0 else ""
        super().__init__(f"rule code breaks the sandbox policy: {shown}{suffix}")


class WorkerStartError(SandboxError):
    """A worker process could not start (bad API module, interpreter or limits)."""


class ProtocolError(SandboxError):
    """A worker sent a message that is not valid protocol (the worker is then replaced)."""
