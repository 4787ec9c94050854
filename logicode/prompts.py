"""Prompt templates: text files under ``prompts/``, versioned by their SHA-256.

Templates use ``string.Template`` placeholders (``$name`` / ``${name}``) so that Python code
with braces can appear in them verbatim. Every template's hash goes into the provenance of
whatever it produced (rule packs, reports).
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path

from logicode.errors import LogicodeError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
"""Folder of the prompt templates shipped with logicode."""


class PromptError(LogicodeError):
    """A prompt template is missing or cannot be filled."""


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded template.

    Attributes:
        name: Path relative to the prompts folder, e.g. ``codegen/rule.md``.
        text: Template text.
        sha256: SHA-256 of the text (UTF-8).
    """

    name: str
    text: str
    sha256: str

    def render(self, **values: object) -> str:
        """Fill every ``$placeholder``; a missing value raises :class:`PromptError`."""
        try:
            return string.Template(self.text).substitute({k: str(v) for k, v in values.items()})
        except KeyError as exc:
            raise PromptError(f"prompt {self.name}: no value for ${exc.args[0]}") from None
        except ValueError as exc:
            raise PromptError(f"prompt {self.name}: {exc}") from None


def load_template(name: str, root: str | Path | None = None) -> PromptTemplate:
    """Load ``prompts/<name>`` (or ``<root>/<name>`` when a user keeps their own prompts).

    Raises:
        PromptError: If the file does not exist.
    """
    base = Path(root) if root is not None else PROMPTS_DIR
    path = base / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise PromptError(f"prompt template {name!r} not found under {base}") from None
    return PromptTemplate(name=name, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())
