"""Typed errors. Every message is one line that says what went wrong and what to do."""

from collections.abc import Iterable
from typing import Any


def field_path(parts: Iterable[Any]) -> str:
    """Render a validation location as ``components[2].bbox`` (``<root>`` when empty).

    Example:
        >>> field_path(["components", 2, "bbox"])
        'components[2].bbox'
    """
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<root>"


class LogicodeError(Exception):
    """Base class of every error logicode raises on purpose."""


class SceneError(LogicodeError):
    """A scene JSON file or object is invalid (the message names the field)."""


class SpecError(LogicodeError):
    """A category spec YAML is invalid (the message names the field)."""


class DatasetError(LogicodeError):
    """A dataset folder is missing, has the wrong layout, or holds an unreadable file."""


class ImageError(LogicodeError):
    """An image file is missing, corrupt or in an unsupported format."""


class ImportFormatError(LogicodeError):
    """An annotation file (LabelMe, COCO) cannot be converted to a scene."""
