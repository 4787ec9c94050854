"""Explanations of inspection verdicts by a template, a local model or a vision model.

See ``docs/explain.md``. Public API::

    from logicode.explain import ExplainRequest, get_explainer, explain

    explainer = get_explainer("embedded")            # or "template", "openai", "transformers"
    request = ExplainRequest(spec=spec, scene=scene_dict, outcomes=rule_outcomes,
                             image=image_path, references=ref_paths, reference_scenes=refs)
    explanation = explain(explainer, request)        # logicode.inspection.record.Explanation
    manifest_explain = explainer.provenance(spec.category)
"""

from logicode.explain.explainers import (
    EXPLAIN_BACKENDS,
    ChatExplainer,
    Explainer,
    TemplateExplainer,
    explain,
    get_explainer,
    template_answer,
)
from logicode.explain.prompter import (
    TEMPLATE_NAMES,
    AnswerError,
    ExplainAnswer,
    ExplainRequest,
    Prompt,
    answer_json_schema,
    build_messages,
    encode_image,
    load_explain_templates,
    parse_answer,
    prompt_sha256,
    scene_text,
)

__all__ = [
    "EXPLAIN_BACKENDS",
    "TEMPLATE_NAMES",
    "AnswerError",
    "ChatExplainer",
    "ExplainAnswer",
    "ExplainRequest",
    "Explainer",
    "Prompt",
    "TemplateExplainer",
    "answer_json_schema",
    "build_messages",
    "encode_image",
    "explain",
    "get_explainer",
    "load_explain_templates",
    "parse_answer",
    "prompt_sha256",
    "scene_text",
    "template_answer",
]
