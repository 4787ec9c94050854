"""Typed errors. Every message is one line that says what went wrong and what to do."""


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
