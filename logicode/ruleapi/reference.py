"""Render the rule API's docstrings as the API section of the code generation prompt.

The prompt is generated from the code (signatures and docstrings, in ``__all__`` order) so
it never drifts from what rule code can call. Conventions the renderer relies on: a
one-line summary per docstring, Google ``Attributes:``/``Example:`` sections, and
``Same as ...`` summaries for aliases (rendered as one compact line).
"""

from __future__ import annotations

from typing import Any

from logicode.ruleapi.objects import Box, Component, Group, Region, Scene

_PROMPT_INTRO = """\
## Scene API
Write `def check(scene):` returning a list of violation(...) results; [] means the rule holds.
Units are pixels, origin top-left, y grows DOWNWARDS (smaller y = higher in the image).
`scene.one(label)` returns a Component or None; `scene.find(label)` returns a Group (a list
of Components, possibly empty). Never index raw dicts or compare list positions; use the
attributes and helpers below. Everything is read-only."""


def api_reference(style: str = "prompt") -> str:
    """Render the rule-code API from the docstrings, in ``__all__`` order.

    Args:
        style: ``"prompt"`` for the compact section of the code generation prompt (summary
            lines and examples), ``"markdown"`` for the full reference with every docstring.

    Raises:
        ValueError: For an unknown style.

    """
    if style not in ("prompt", "markdown"):
        raise ValueError(f"api_reference(): style must be 'prompt' or 'markdown', got {style!r}")
    full = style == "markdown"
    sections: list[tuple[str, str, Any]] = [
        ("### scene", "scene", Scene),
        ("### Region", "region", Region),
        ("### Component c", "c", Component),
        ("### Group g (what find returns)", "g", Group),
        ("### Shared by scene, Region and Component (box)", "box", Box),
    ]
    out = [_PROMPT_INTRO]
    for title, var, cls in sections:
        out.extend(["", title])
        doc = _parse_doc(cls.__doc__ or "")
        out.append(doc["summary"])
        for line in doc.get("Attributes", []):
            name, _, text = line.partition(":")
            names = ", ".join(f"{var}.{n.strip()}" for n in name.split(","))
            out.append(f"- {names}: {text.strip()}")
        members = [
            (f"{var}.{name}", member)
            for name, member in vars(cls).items()
            if not name.startswith("_") and callable(member)
        ]
        out.extend(_render_members(members, var, full))
    out.extend(["", "### Functions"])
    from logicode import ruleapi

    functions = [(name, getattr(ruleapi, name)) for name in ruleapi.__all__]
    out.extend(_render_members(functions, "", full))
    return "\n".join(out).rstrip() + "\n"


# --- private helpers -------------------------------------------------------------------------


def _render_members(members: list[tuple[str, Any]], var: str, full: bool) -> list[str]:
    """One entry per member; a "Same as ..." alias gets one compact line in the prompt."""
    lines: list[str] = []
    for name, fn in members:
        doc = _parse_doc(fn.__doc__ or "")
        if doc["summary"].startswith("Same as ") and not full:
            target = doc["summary"].removeprefix("Same as ").rstrip(".").replace("self", var)
            lines.append(f"- {name}{_signature(fn, returns=False)} = {target}")
            continue
        lines.append(f"- {name}{_signature(fn)}: {doc['summary']}")
        if full:
            lines.extend(f"  {line}" for line in doc["body"])
            for section in ("Args", "Returns", "Raises"):
                if doc.get(section):
                    lines.append(f"  {section}:")
                    lines.extend(f"    {line}" for line in doc[section])
        lines.extend(f"    {line}" for line in doc.get("Example", []))
    return lines


def _signature(fn: Any, returns: bool = True) -> str:
    import inspect

    sig = inspect.signature(fn)
    params = []
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        text = ("*" if p.kind is p.VAR_POSITIONAL else "") + p.name
        if p.default is not p.empty:
            text += f"={p.default!r}"
        params.append(text)
    ret = sig.return_annotation
    ret_text = "" if not returns or ret in (sig.empty, "None", None) else f" -> {ret}"
    return f"({', '.join(params)}){ret_text}"


def _parse_doc(doc: str) -> dict[str, Any]:
    import inspect

    lines = inspect.cleandoc(doc).splitlines()
    out: dict[str, Any] = {"summary": lines[0].strip() if lines else "", "body": []}
    current = "body"
    for line in lines[1:]:
        head = line.strip()
        if not line.startswith(" ") and head.endswith(":") and head[:-1] in _SECTIONS:
            current = head[:-1]
            out[current] = []
            continue
        if current == "body":
            if head or out["body"]:
                out["body"].append(line.rstrip())
        else:
            text = line[4:] if line.startswith("    ") else line.strip()
            if text.strip():
                if current != "Example" and not line.startswith("        ") and out[current]:
                    out[current].append(text.rstrip())
                elif current != "Example" and out[current] and line.startswith("        "):
                    out[current][-1] += " " + text.strip()
                else:
                    out[current].append(text.rstrip())
    while out["body"] and not out["body"][-1]:
        out["body"].pop()
    return out


_SECTIONS = frozenset({"Args", "Returns", "Raises", "Example", "Attributes"})
