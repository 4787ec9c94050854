"""A llama.cpp grammar (GBNF) that holds a model's answer to the shape of rule code.

A small model often answers with prose about the rule before its code, or instead of it (seen
with Qwen2.5-Coder 0.5B: 13 of 95 answers in one benchmark run began with prose, 3 had no code
at all); the prose eats the answer's token budget and cuts the code short. Backends
that accept llama.cpp's ``grammar`` field (the embedded one, a llama.cpp server) are held to
:data:`RULE_CODE_GRAMMAR`: one fenced Python block that starts with ``def check(scene):``
and holds only that function's indented body. What the body says is still the model's:
the grammar only removes the prose around it.

Example:
    >>> RULE_CODE_GRAMMAR.startswith("root ::=")
    True
"""

from __future__ import annotations

from typing import Any

RULE_CODE_GRAMMAR = r"""root ::= "```python\ndef check(scene):\n" body "```"
body ::= line line*
line ::= ("    " [^`\n]*)? "\n"
"""
"""One fenced block: ``def check(scene):`` and indented lines (blank ones allowed), no
backticks inside; nothing before or after it."""


def accepts_grammar(chat: Any) -> bool:
    """Whether a chat model takes llama.cpp's ``grammar`` request field.

    A chat model says so with a true ``accepts_grammar`` attribute (the embedded backend
    does; an OpenAI-compatible one when its server is llama.cpp's). Other LangChain chat
    models are asked without it.
    """
    return bool(getattr(chat, "accepts_grammar", False))
