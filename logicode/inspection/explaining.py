"""Explanations during an inspection run: :mod:`logicode.explain` fitted to the runner.

The runner hands over a finished record (its verdict is final) and the scene; this adapter
builds the :class:`~logicode.explain.prompter.ExplainRequest` with the category's normal
references (their images for vision backends, their scenes for text-only ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from logicode.inspection.record import Explanation, InspectionRecord
from logicode.spec import CategorySpec

MAX_REFERENCES = 2
"""Normal references shown to an explainer (images cost tokens)."""


def reference_image(ref: Any) -> Path | None:
    """The image file of a perception reference, if it can be found on disk."""
    if not ref.source or not ref.scene.image.path:
        return None
    path = Path(ref.source).parent / ref.scene.image.path
    return path if path.is_file() else None


class RunExplainer:
    """Explains inspected images with an explainer of :mod:`logicode.explain`.

    Args:
        spec: The category spec (with the rules actually run).
        explainer: A template or chat explainer (:func:`logicode.explain.explainers.get_explainer`).
        references: Perception references (:class:`logicode.perception.base.Reference`).
    """

    def __init__(
        self, spec: CategorySpec, explainer: Any, references: Sequence[Any] | None = None
    ) -> None:
        refs = list(references or [])[:MAX_REFERENCES]
        self.spec = spec
        self.explainer = explainer
        self.ref_images = [p for p in (reference_image(r) for r in refs) if p is not None]
        self.ref_scenes = [r.scene.model_dump(mode="json") for r in refs]

    def info(self) -> dict[str, Any]:
        """Backend, model and prompt template hashes (for the run manifest)."""
        return dict(self.explainer.provenance(self.spec.category))

    def explain(
        self, record: InspectionRecord, scene: Mapping[str, Any], image: Path | None
    ) -> Explanation:
        """The explanation of an image whose verdict is ``good`` or ``anomaly``."""
        from logicode.explain.explainers import explain
        from logicode.explain.prompter import ExplainRequest

        request = ExplainRequest(
            spec=self.spec,
            scene=dict(scene),
            outcomes=list(record.rules),
            rules_verdict=record.verdict,
            image=image,
            references=self.ref_images,
            reference_scenes=self.ref_scenes,
        )
        return explain(self.explainer, request)


def make_explainer(
    spec: CategorySpec, backend: str, model: str | None, references: Sequence[Any] | None
) -> RunExplainer:
    """A :class:`RunExplainer` for ``logicode inspect --explain``.

    Raises:
        LogicodeError: Unknown backend, missing model or dependencies (one line).
    """
    from logicode.explain.explainers import get_explainer

    return RunExplainer(spec, get_explainer(backend, model), references)
