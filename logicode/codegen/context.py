"""What the language model is told about a category: vocabulary and reference measurements.

Both texts are derived from data (the category spec and normal reference scenes), so a new
product needs no code.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from logicode.spec import CategorySpec


def vocabulary_text(spec: CategorySpec) -> str:
    """One bullet per label: description and declared attributes.

    Example output::

        - fruit_icon: The fruit picture on the top label. Attributes: kind (one of cherry,
          orange, banana, unknown) - Which fruit the icon shows.
    """
    lines = []
    for comp in spec.components:
        line = f'- "{comp.label}": {comp.description.strip()}'
        attrs = []
        for a in comp.attributes:
            kind = f"one of {', '.join(a.values or [])}" if a.type == "enum" else a.type
            unit = f", {a.unit}" if a.unit else ""
            unit += ", may be None" if a.nullable else ""
            desc = f": {a.description.strip()}" if a.description else ""
            attrs.append(f'c.attr("{a.name}") ({kind}{unit}){desc}')
        if attrs:
            line += " Attributes: " + "; ".join(attrs)
        lines.append(line)
    return "\n".join(lines)


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def reference_summary(spec: CategorySpec, references: Sequence[dict[str, Any]]) -> str:
    """Summarise normal reference scenes per label: count, size, position, colour, attributes.

    Args:
        spec: The category spec (gives the label order).
        references: Normal scenes as JSON dicts.

    Returns:
        A few lines of text; ``"(no reference scenes)"`` when there are none.
    """
    if not references:
        return "(no reference scenes)"
    w = _median([r["image"]["width"] for r in references])
    h = _median([r["image"]["height"] for r in references])
    lines = [f"- image: {w:.0f} x {h:.0f} px ({len(references)} normal references)"]
    for label in spec.vocabulary:
        counts = []
        comps = []
        for ref in references:
            mine = [c for c in ref.get("components", []) if c.get("label") == label]
            counts.append(len(mine))
            comps += mine
        if not comps:
            lines.append(f'- "{label}": not present in the references')
            continue
        lo, hi = min(counts), max(counts)
        count = str(lo) if lo == hi else f"{lo}-{hi}"
        widths = [c["bbox"][2] - c["bbox"][0] for c in comps]
        heights = [c["bbox"][3] - c["bbox"][1] for c in comps]
        xs = [c["centroid"][0] for c in comps]
        ys = [c["centroid"][1] for c in comps]
        text = (
            f'- "{label}": {count} per image; about {_median(widths):.0f} x {_median(heights):.0f}'
            f" px; centre near x={_median(xs):.0f}, y={_median(ys):.0f}"
        )
        colors = sorted({(c.get("color") or {}).get("name") for c in comps} - {None})
        if colors:
            text += f"; colour {'/'.join(colors)}"
        values: dict[str, set[str]] = {}
        for c in comps:
            for k, v in (c.get("attributes") or {}).items():
                if isinstance(v, (str, bool, int)) and not isinstance(v, float):
                    values.setdefault(k, set()).add(str(v))
        for k, vs in sorted(values.items()):
            if len(vs) <= 6:
                text += f"; {k} in {{{', '.join(sorted(vs))}}}"
        lines.append(text)
    return "\n".join(lines)
