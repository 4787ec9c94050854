"""Typed errors of the LLM layer. Every message is one line: what is wrong and what to do."""

from logicode.errors import LogicodeError


class LLMError(LogicodeError):
    """Base class of the errors raised by the model store and the chat backends."""


class ModelNotFound(LLMError):
    """A model name is unknown, a GGUF path does not exist, or its part packages are missing."""


class ModelIntegrityError(LLMError):
    """A model file does not have the pinned size or sha256 (or is not a GGUF file)."""


class BackendError(LLMError):
    """A chat backend failed: it could not load, the endpoint failed, or the reply was unusable."""


class BackendUnavailable(BackendError):
    """A backend's optional dependencies are not installed (the message names the extra)."""


class StructuredOutputError(BackendError):
    """The model's reply is not valid JSON for the requested schema."""
