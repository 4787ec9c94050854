"""The LogiCode compiler: English rules to validated rule code, with repair.

For each rule of a category spec:

1. **Generate** candidates: the chat model gets a system prompt (instructions, the scene API
   generated from :mod:`logicode.ruleapi`, worked examples of another product, the category's
   vocabulary and reference measurements; identical for every rule of a category, so a
   llama.cpp prompt cache reuses it) and the rule. The first candidate is greedy, the others
   sampled.
2. **Validate** each candidate in the sandbox: it must compile under the sandbox policy, pass
   every normal reference scene, never raise on a counterexample (a reference changed by one
   :class:`~logicode.codegen.counterexamples.Mutation`: remove, add, move, resize, recolour,
   swap...) and report a violation on at least one of them.
3. **Repair** a candidate that fails step 2: first the mechanical fixes that need no
   judgement (:mod:`logicode.codegen.autofix`: an attribute name a label lacks when it has
   only one, a "did you mean" of the scene API, a near-miss label) and, for code that
   rejects normal images, the same code with the direction of one relation or comparison
   reversed (:mod:`logicode.codegen.mutate`); then its failures go
   back to the model as text, for a bounded number of rounds. When a repair repeats code
   that already failed, the next round starts afresh from the rule with only the failures
   (``retry.md``), without the code the model would copy again.
4. **Cross-check** the valid candidates: where they react differently to a counterexample,
   the model is asked, as schema-constrained JSON, which of the disputed changes break the
   rule, and the candidate that agrees best wins (the majority of candidates breaks ties).
   Small models judge such questions poorly on their own (measured: the 0.5B model called
   "move a nut" a violation of "there are exactly two nuts"), so their answers only settle
   disputes between candidates and never overrule candidates that agree.

Every candidate is also held to what the rule's words promise, read by
:mod:`logicode.codegen.phrases` (``CompileSettings.stated_counts``, on by default): a count
stated unconditionally ("exactly two nuts": removing or adding a nut breaks it) and a leading
condition ("if there is a lid, ...": removing the one lid keeps it).

Optionally (``CompileSettings.presence``, off by default), the model is asked once per rule
whether removing each part the rule names breaks it, and every candidate is held to the
answers. Measured with the 1.5B model on juice_bottle (2026-11-28): 3 of 12 answers right,
with a clear position bias (the first change "breaks", the second "keeps"), so it stays off
for the small local models; it is there for stronger models behind the ``openai`` backend.

A rule that still fails is marked ``failed`` with its reason and gets no code: nothing that
silently passes everything is ever emitted.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

import sandbox
from logicode.codegen.autofix import autofix
from logicode.codegen.context import reference_summary, vocabulary_text
from logicode.codegen.counterexamples import Mutation, propose_mutations
from logicode.codegen.examples import parse_examples, similar_examples
from logicode.codegen.facts import mentioned_labels, scene_facts
from logicode.codegen.grammar import RULE_CODE_GRAMMAR, accepts_grammar
from logicode.codegen.hints import hints, swapped_relations
from logicode.codegen.mutate import mutants
from logicode.codegen.names import unknown_attributes, unknown_labels, unread_attributes
from logicode.codegen.numbers import one_sided_ranges, stated_numbers, unused_numbers
from logicode.codegen.pack import PackManifest, RuleEntry, RulePack, code_sha256
from logicode.codegen.phrases import (
    existential_hints,
    mapping_hints,
    stated_counts,
    stated_expectations,
    stated_hints,
)
from logicode.codegen.plans import (
    Check,
    PlanError,
    describe_vocabulary,
    label_attributes,
    leading_kind,
    named_labels,
    own_numbers,
    parse_plan,
    plan_grammar,
    render,
    says_placement,
    word_checks,
)
from logicode.prompts import PromptTemplate, load_template
from logicode.ruleapi import api_reference
from logicode.spec import CategorySpec, RuleSpec

log = logging.getLogger(__name__)

TEMPLATES = (
    "codegen/system.md",
    "codegen/examples.md",
    "codegen/category.md",
    "codegen/rule.md",
    "codegen/repair.md",
    "codegen/retry.md",
    "codegen/expectations.md",
    "codegen/plan.md",
    "codegen/plan_rule.md",
    "codegen/plan_repair.md",
)

_FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.S)


_REPEATED = (
    "your last answer repeated code that already failed: the same code fails the same way, "
    "so change the part the problems below point at"
)


@dataclass(frozen=True)
class CompileSettings:
    """Knobs of the compiler.

    Attributes:
        candidates: Most candidates drawn from the first prompt (the first one greedy).
        max_rounds: Most repair rounds.
        chain_rounds: Most repair rounds in a row on one candidate before a fresh one is
            sampled (while no candidate is valid).
        temperature: Sampling temperature of the non-greedy candidates.
        max_tokens: Most tokens per answer.
        expectations: How disagreeing candidates are settled: ``both`` (the model judges the
            disputed counterexamples, the candidates' majority breaks ties) or ``agreement``
            (majority only).
        counterexample_refs: Reference scenes used to build counterexamples.
        menu_size: Most disputed changes shown to the model.
        seed: Base sampling seed.
        presence: Ask the model once per rule whether removing each part the rule names
            breaks it, and hold every candidate to those answers (catches "exactly one X"
            code that never counts X, and code that reports a missing part the rule only
            mentions conditionally).
        stated_counts: Hold every candidate to the verdicts the rule's own words fix ("exactly
            N <label>", a leading "If there is <label>, ..."; :mod:`logicode.codegen.phrases`).
        autofix: Try the mechanical fixes of :mod:`logicode.codegen.autofix` on a broken
            candidate before asking the model again.
        reversals: Try a candidate that rejects normal images with the direction of a
            relation or comparison reversed (:mod:`logicode.codegen.mutate`) before asking the
            model again.
        examples: Where the worked examples go: ``all`` of them in the system prompt (cached
            across a category's rules), or ``similar``: only the ``similar_k`` examples most
            like the rule (:mod:`logicode.codegen.examples`), next to it in the rule's own
            message (for small models, which copy a nearby example best).
        similar_k: How many examples ``similar`` shows.
        code_grammar: Hold answers to one ``def check(scene):`` block with llama.cpp's
            grammar (:mod:`logicode.codegen.grammar`) where the chat model accepts one.
        plans: When no written candidate is valid, ask for a plan of typed checks
            (:mod:`logicode.codegen.plans`), write code from it and validate that.
        plan_candidates: Most plans asked for per rule (the first one greedy).
        plans_first: Ask for plans before written code, and write code only when no plan
            gives a valid candidate (a valid plan is then the rule's code, without a
            cross-check).
        word_checks: Add the checks the rule's words state outright
            (:func:`~logicode.codegen.plans.word_checks`) to the checks gathered from the
            model's plans, and try them alone after the last plan.
    """

    candidates: int = 2
    max_rounds: int = 3
    chain_rounds: int = 2
    temperature: float = 0.7
    max_tokens: int = 400
    expectations: str = "both"
    presence: bool = False
    stated_counts: bool = True
    autofix: bool = True
    reversals: bool = True
    code_grammar: bool = True
    plans: bool = True
    plan_candidates: int = 5
    plans_first: bool = False
    word_checks: bool = True
    examples: str = "all"
    similar_k: int = 3
    counterexample_refs: int = 2
    menu_size: int = 14
    seed: int = 0


@dataclass
class Behaviour:
    """What a candidate did in the sandbox."""

    code: str
    problem: str | None = None  # no code block, or a policy violation
    ref_failures: list[str] = field(default_factory=list)
    ref_failed: list[int] = field(default_factory=list)  # indices of references it broke on
    fired: dict[str, bool | None] = field(default_factory=dict)  # mutation key -> violation?
    errors: dict[str, str] = field(default_factory=dict)  # mutation key -> error message
    messages: dict[str, str] = field(default_factory=dict)  # mutation key -> its violations
    expected: list[str] = field(default_factory=list)  # changes it judged against expectation

    @property
    def valid(self) -> bool:
        """Compiles, passes every reference, never raises, meets what it was held to."""
        return (
            self.problem is None and not self.ref_failures and not self.errors and not self.expected
        )

    @property
    def ok(self) -> bool:
        """Valid and reports a violation on at least one counterexample."""
        return self.valid and not self.vacuous

    @property
    def vacuous(self) -> bool:
        """Never reports a violation on any counterexample."""
        return not any(v for v in self.fired.values())


@dataclass
class RuleOutcome:
    """The result of compiling one rule."""

    entry: RuleEntry
    code: str | None
    transcript: list[dict[str, Any]] = field(default_factory=list)


def _messages(b: Behaviour) -> list[str]:
    """Every error text of a candidate (policy problem, references, counterexamples)."""
    return [*([b.problem] if b.problem else []), *b.ref_failures, *b.errors.values()]


def _rejects_normals(b: Behaviour) -> bool:
    """Runs cleanly everywhere but reports violations on normal references."""
    return (
        b.problem is None
        and not b.errors
        and bool(b.ref_failures)
        and all(" it reported: " in f for f in b.ref_failures)
    )


def _merge_images(lines: Sequence[str]) -> list[str]:
    """Failures on normal images, one line per distinct failure ("on normal images 1, 2 and 3").

    The same error on every reference would otherwise fill the repair prompt with copies.
    """
    groups: dict[str, list[str]] = {}
    for line in lines:
        hit = re.match(r"on normal image (\d+) (.*)\Z", line, re.S)
        number, rest = (hit.group(1), hit.group(2)) if hit else ("", line)
        groups.setdefault(rest, []).append(number)
    out = []
    for rest, numbers in groups.items():
        numbers = [n for n in numbers if n]
        if not numbers:
            out.append(rest)
        elif len(numbers) == 1:
            out.append(f"on normal image {numbers[0]} {rest}")
        else:
            out.append(f"on normal images {', '.join(numbers[:-1])} and {numbers[-1]} {rest}")
    return out


def extract_code(text: str) -> str | None:
    """The rule code in a model answer: the fenced block defining ``check``, else bare code.

    An answer cut off before its closing fence still yields the code written so far.
    """
    blocks = [b for b in _FENCE.findall(text) if "def check" in b]
    if blocks:
        code = blocks[0]
    elif "def check" in text:
        code = text[text.index("def check") :]
    else:
        return None
    return code.strip("\n") + "\n"


def _normalise(code: str) -> str:
    """Code without comments and blank lines, to tell distinct candidates apart."""
    lines = (line.split("#", 1)[0].rstrip() for line in code.splitlines())
    return "\n".join(line for line in lines if line.strip())


_OPPOSITE = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}


def _reversed_relation(check: Check) -> Check | None:
    """A directional relation check the other way round (left of for right of), else None."""
    relation = check.fields.get("relation")
    if check.kind != "relation" or relation not in _OPPOSITE:
        return None
    return Check(check.kind, {**check.fields, "relation": _OPPOSITE[relation]})


def _log_code(transcript: list[dict[str, Any]], step: str, code: str) -> None:
    """Record code the compiler wrote itself (no model answer) as a transcript step."""
    transcript.append({"step": step, "feedback": None, "answer": f"```python\n{code}```"})


def _about(check: Check, named: Sequence[str]) -> bool:
    """Whether every part a check names is one the rule names (where it names two or more)."""
    if len(named) < 2:
        return True
    f = check.fields
    parts = {f.get(k) for k in ("label", "other", "of", "inside", "holds")} - {None, "image"}
    return parts <= set(named)


class RuleCompiler:
    """Compiles the rules of one category spec with one chat model.

    Args:
        chat: Any LangChain chat model (our backends accept per-call ``temperature`` and
            ``seed``; others are called as they are).
        spec: The category spec.
        references: Normal reference scenes (JSON dicts); at least one.
        pool: A started :class:`sandbox.SandboxPool` running :mod:`logicode.ruleapi`.
        settings: Compiler knobs.
        prompts_root: Folder with the prompt templates (default: ``prompts/``).
        model_info: Provenance of the model (name, sha256, backend) for the manifest.
    """

    def __init__(
        self,
        chat: BaseChatModel,
        spec: CategorySpec,
        references: Sequence[dict[str, Any]],
        pool: sandbox.SandboxPool,
        settings: CompileSettings | None = None,
        *,
        prompts_root: str | None = None,
        model_info: dict[str, Any] | None = None,
    ) -> None:
        if not references:
            raise ValueError("the compiler needs at least one normal reference scene")
        self.chat = chat
        self.spec = spec
        self.references = list(references)
        self.pool = pool
        self.settings = settings or CompileSettings()
        self.model_info = dict(model_info or {})
        self.transcripts: dict[str, list[dict[str, Any]]] = {}
        """The dialogue of every rule compiled so far (step, feedback, answer), by rule id."""
        self.templates: dict[str, PromptTemplate] = {
            name: load_template(name, prompts_root) for name in TEMPLATES
        }
        if self.settings.examples not in ("all", "similar"):
            raise ValueError(f"examples must be 'all' or 'similar', not {self.settings.examples!r}")
        self.api = api_reference()
        self.example_heading, self.examples = parse_examples(
            self.templates["codegen/examples.md"].text
        )
        self.system_prompt = self._system_prompt()
        self.plan_attributes = label_attributes(spec)
        self.plan_prompt = self.templates["codegen/plan.md"].render(
            category=spec.category,
            description=spec.description.strip(),
            vocabulary=describe_vocabulary(spec),
        )
        self.mutations: list[tuple[Mutation, dict[str, Any]]] = []
        for ref in self.references[: self.settings.counterexample_refs]:
            for m in propose_mutations(spec, ref):
                scene = m.apply(ref)
                if scene is not None:
                    self.mutations.append((m, scene))

    # --- prompts ---------------------------------------------------------------------------

    def _system_prompt(self) -> str:
        t = self.templates
        system = t["codegen/system.md"].render(api=self.api)
        category = t["codegen/category.md"].render(
            category=self.spec.category,
            description=self.spec.description.strip(),
            vocabulary=vocabulary_text(self.spec),
            reference_summary=reference_summary(self.spec, self.references),
        )
        parts = [system.strip()]
        if self.settings.examples == "all":
            parts.append(t["codegen/examples.md"].text.strip())
        return "\n\n".join([*parts, category.strip()])

    def _rule_message(self, template: str, rule: RuleSpec, **values: str) -> str:
        """A user message about ``rule`` from ``template``.

        With ``examples="similar"``, the examples most like the rule come first.
        """
        text = " ".join(rule.text.split())
        message = self.templates[template].render(category=self.spec.category, rule=text, **values)
        if self.settings.examples != "similar":
            return message
        chosen = similar_examples(text, self.examples, self.settings.similar_k)
        if not chosen:
            return message
        shown = "\n\n".join(e.text() for e in chosen)
        return f"{self.example_heading}\n\n{shown}\n\n{message}"

    def _first_messages(self, rule: RuleSpec) -> list[BaseMessage]:
        user = self._rule_message("codegen/rule.md", rule)
        return [SystemMessage(self.system_prompt), HumanMessage(user)]

    def _ask(
        self,
        messages: list[BaseMessage],
        *,
        temperature: float,
        seed: int,
        grammar: str | None = RULE_CODE_GRAMMAR,
    ) -> str:
        options: dict[str, Any] = {
            "temperature": temperature,
            "seed": seed,
            "max_tokens": self.settings.max_tokens,
        }
        if grammar and self.settings.code_grammar and accepts_grammar(self.chat):
            options["grammar"] = grammar
        try:
            reply = self.chat.invoke(messages, **options)
        except TypeError:  # a foreign chat model that takes no per-call options
            reply = self.chat.invoke(messages)
        content = reply.content
        return content if isinstance(content, str) else str(content)

    # --- validation ------------------------------------------------------------------------

    def evaluate(self, code: str | None, rule: RuleSpec | None = None) -> Behaviour:
        """Run one candidate on the references and every counterexample in the sandbox.

        With ``rule``, code that never reads a number attribute the rule names
        (:func:`~logicode.codegen.names.unread_attributes`), never uses a number the rule
        states (:func:`~logicode.codegen.numbers.unused_numbers`) or bounds one value twice
        from the same side (:func:`~logicode.codegen.numbers.one_sided_ranges`) is not valid.
        """
        if code is None:
            return Behaviour(
                code="", problem="no ```python block defining def check(scene) was found"
            )
        try:
            sandbox.compile_rule(code)
        except sandbox.PolicyError as exc:
            return Behaviour(code=code, problem=str(exc))
        unknown = unknown_labels(code, self.spec) or unknown_attributes(code, self.spec)
        if unknown is not None:
            return Behaviour(code=code, problem=unknown)
        scenes = self.references + [s for _, s in self.mutations]
        pack = self.pool.load_pack({"rule": code})
        try:
            results = [r["rule"] for r in self.pool.evaluate(pack, scenes)]
        finally:
            self.pool.unload_pack(pack)
        b = Behaviour(code=code)
        if rule is not None:
            for sentence in (
                unread_attributes(code, rule.text, self.spec),
                unused_numbers(code, rule.text),
                *one_sided_ranges(code),
            ):
                if sentence is not None:
                    b.expected.append(sentence)
        for i, res in enumerate(results[: len(self.references)]):
            if res["status"] != "pass":
                b.ref_failed.append(i)
            if res["status"] == "error":
                b.ref_failures.append(
                    f"on normal image {i + 1} it raised an error: {res['error']['message']}"
                )
            elif res["status"] == "fail":
                msgs = "; ".join(v["message"] for v in res["violations"][:3])
                b.ref_failures.append(f"on normal image {i + 1} it reported: {msgs}")
        for (m, _), res in zip(self.mutations, results[len(self.references) :], strict=True):
            key = m.key()
            if res["status"] == "error":
                b.fired[key] = None
                b.errors[key] = res["error"]["message"]
            else:
                b.fired[key] = b.fired.get(key, False) or res["status"] == "fail"
                if res["status"] == "fail" and key not in b.messages:
                    b.messages[key] = "; ".join(v["message"] for v in res["violations"][:2])
        return b

    def hold_to(self, b: Behaviour, expected: dict[str, bool]) -> Behaviour:
        """Record where ``b`` contradicts the expected verdicts (mutation key -> breaks)."""
        by_key = {m.key(): m for m, _ in self.mutations}
        for key, breaks in expected.items():
            fired = b.fired.get(key)
            if fired is None or fired == breaks:
                continue
            change = by_key[key].describe()
            if breaks:
                b.expected.append(
                    f"after we {change}, it reported nothing, but the rule is broken then"
                )
            else:
                b.expected.append(
                    f"after we {change}, it reported: {b.messages.get(key, 'a violation')}; but"
                    " the rule still holds then (a part that is missing is reported by the rule"
                    " about its presence, unless THIS rule requires it)"
                )
        return b

    # --- expectations ----------------------------------------------------------------------

    def model_expectations(self, rule: RuleSpec, menu: Sequence[Mutation]) -> dict[str, bool]:
        """Ask the model which changes break the rule (structured JSON); key -> breaks."""
        if not menu:
            return {}
        changes = "\n".join(f"{i + 1}. {m.describe()}" for i, m in enumerate(menu))
        prompt = self.templates["codegen/expectations.md"].render(
            rule=" ".join(rule.text.split()), category=self.spec.category, changes=changes
        )
        schema = {
            "type": "object",
            "properties": {
                "breaks": {"type": "array", "items": {"type": "integer"}},
                "keeps": {"type": "array", "items": {"type": "integer"}},
            },
            "required": ["breaks", "keeps"],
        }
        messages = [SystemMessage(self.system_prompt), HumanMessage(prompt)]
        try:
            runnable = self.chat.with_structured_output(schema)
            answer = runnable.invoke(messages)
        except Exception as exc:  # noqa: BLE001 - any model failure means "no expectations"
            log.warning("rule %s: no expectations from the model (%s)", rule.id, exc)
            return {}
        if not isinstance(answer, dict):
            return {}
        out: dict[str, bool] = {}
        for verdict, numbers in (("keeps", answer.get("keeps")), ("breaks", answer.get("breaks"))):
            for n in numbers or []:
                if isinstance(n, int) and 1 <= n <= len(menu):
                    out[menu[n - 1].key()] = verdict == "breaks"
        return out

    def presence_expectations(self, rule: RuleSpec) -> dict[str, bool]:
        """Does removing each part the rule names break it? The model's answer, by mutation key.

        Empty when the model gives none (then nothing is held to it).
        """
        labels = mentioned_labels(rule.text, self.spec.vocabulary, self.spec)
        by_key = {m.key(): m for m, _ in self.mutations}
        menu = [by_key[k] for k in (f"remove:{x}" for x in labels) if k in by_key]
        return self.model_expectations(rule, menu)

    def arbitrate(
        self, rule: RuleSpec, valid: Sequence[Behaviour]
    ) -> tuple[Behaviour, dict[str, Any]]:
        """Pick one of several valid candidates.

        Candidates that react the same way to every counterexample agree: the first is taken.
        Where they disagree, the model is asked (``expectations="both"``) which of the
        disputed changes break the rule, and the candidate that matches its answers best wins
        (ties: the one closest to the majority of candidates, then the earliest). With
        ``expectations="agreement"`` the majority alone decides.
        """
        keys = sorted({k for b in valid for k in b.fired})
        disputed = [k for k in keys if len({b.fired.get(k) for b in valid}) > 1]
        stats: dict[str, Any] = {"candidates": len(valid), "disputed": len(disputed)}
        if not disputed:
            return valid[0], stats
        # Identical code is one voter: repeated samples carry no independent evidence.
        voters = list({_normalise(b.code): b for b in valid}.values())
        majority = {
            k: sum(bool(b.fired.get(k)) for b in voters) * 2 > len(voters) for k in disputed
        }
        model: dict[str, bool] = {}
        if self.settings.expectations == "both":
            by_key = {m.key(): m for m, _ in self.mutations}
            menu = [by_key[k] for k in disputed[: self.settings.menu_size]]
            model = self.model_expectations(rule, menu)
        stats["model_answers"] = len(model)

        def score(b: Behaviour) -> tuple[int, int]:
            agree_model = sum(b.fired.get(k) == v for k, v in model.items())
            agree_major = sum(b.fired.get(k) == v for k, v in majority.items())
            return (-agree_model, -agree_major)

        best = min(valid, key=score)  # min is stable: the earliest wins ties
        stats["model_agreement"] = -score(best)[0]
        return best, stats

    def problems(self, b: Behaviour, rule: RuleSpec | None = None) -> list[str]:
        """Everything wrong with a candidate, as sentences for the repair prompt.

        With ``rule`` given, a false alarm on a normal reference also shows the measurements
        and relations of the parts the rule names in that reference
        (:func:`~logicode.codegen.facts.scene_facts`).
        """
        if b.problem:
            return [b.problem]
        out = _merge_images(b.ref_failures)[:3]
        by_key = {m.key(): m for m, _ in self.mutations}
        shown = " ".join(out)
        by_msg: dict[str, list[str]] = {}
        for key, msg in b.errors.items():
            if msg not in shown:  # the same error on a normal image is already there
                by_msg.setdefault(msg, []).append(by_key[key].describe())
        for msg, changes in list(by_msg.items())[:2]:
            more = f" (and {len(changes) - 2} other changes)" if len(changes) > 2 else ""
            out.append(f"after we {' or '.join(changes[:2])}{more}, it raised an error: {msg}")
        out.extend(b.expected[:2])
        if b.expected and rule is not None and self.settings.stated_counts:
            out.extend(stated_hints(rule.text, self.spec, self.references))
        if rule is not None and (b.ref_failures or b.errors):
            out.extend(mapping_hints(rule.text, b.code))
            out.extend(existential_hints(rule.text, b.code, self.spec.vocabulary))
        if not out and b.vacuous:
            out.append(
                "it never reports a violation: it must return violation(...) when the rule is"
                " broken, for example when a part it checks is missing, added or moved"
            )
        out.extend(
            hints(
                [*b.errors.values(), *b.ref_failures],
                b.code,
                self.spec,
                rule.text if rule is not None else "",
            )
        )
        if rule is not None and b.ref_failed:
            labels = mentioned_labels(rule.text, self.spec.vocabulary, self.spec)
            if labels:
                i = b.ref_failed[0]
                facts = scene_facts(self.references[i], labels)
                out.append(f"what normal image {i + 1} really shows: " + "; ".join(facts))
            if any("it reported" in f for f in b.ref_failures):
                i = b.ref_failed[0]
                out.extend(swapped_relations(b.code, self.references[i], i + 1))
        return out

    def reversed_candidate(
        self, b: Behaviour, *expected: dict[str, bool], rule: RuleSpec | None = None
    ) -> tuple[Behaviour, str] | None:
        """The first direction reversal of ``b`` (:func:`mutants`) that is valid and fires.

        Each reversal is validated like a model answer, held to ``expected`` verdicts
        (mutation key -> breaks) as well.

        Returns:
            The reversal's behaviour and what was reversed, or None when none passes.
        """
        for what, code in mutants(b.code):
            cand = self.evaluate(code, rule)
            for verdicts in expected:
                if cand.valid and verdicts:
                    self.hold_to(cand, verdicts)
            if cand.ok:
                return cand, what
        return None

    # --- plans -----------------------------------------------------------------------------

    def plan_candidates(
        self,
        rule: RuleSpec,
        stated: dict[str, bool],
        presence: dict[str, bool],
        transcript: list[dict[str, Any]],
    ) -> Iterator[Behaviour]:
        """Candidates written from the model's plans of the rule (:mod:`logicode.codegen.plans`).

        Up to ``plan_candidates`` plans: the first greedy, each later one a fresh sample at
        temperature 1 or more (or, after an answer that is no plan, a repair with the parse
        error: greedy, sampled at temperature 1 once the same answer came twice). The plan
        grammar is built for the rule (:func:`~logicode.codegen.plans.plan_grammar` with its
        text). Each plan that parses is rendered to code and evaluated like any candidate,
        held to the same expected verdicts. Every step goes into ``transcript`` (the plan as
        the answer, the code it gave as the next step).

        Measured (0.5B, session 8): a greedy repair of a plan with what its code did wrong
        gave the same plan again in every case looked at (fruit_left, cereals_amount,
        labels_upright), and samples at 0.7 often did too (the same plan three times for
        parts_in_bag); fresh samples at temperature 1 found the right kind. Where the rule's
        words call for a kind (:func:`~logicode.codegen.plans.leading_kind`: a stated mapping,
        a scale by a mean, combinations that occur once, a percentage of a mean, a number
        attribute fixed by name), the first two plans must start with it (seen: the kinds
        listed last were never chosen otherwise); they also name only the labels the rule
        names, where it names two or more (the later plans may use any). The checks that hold
        from all plans so far are tried together, with the ones the rule's words state
        (:func:`~logicode.codegen.plans.word_checks`, unless ``word_checks`` is off); after
        the last plan, the words' checks are tried alone.
        """
        s = self.settings
        user = self.templates["codegen/plan_rule.md"].render(
            category=self.spec.category, rule=" ".join(rule.text.split())
        )
        first: list[BaseMessage] = [SystemMessage(self.plan_prompt), HumanMessage(user)]
        grammar = plan_grammar(self.spec, rule.text)
        lead = leading_kind(rule.text, self.spec)
        led = plan_grammar(self.spec, rule.text, lead=lead, named_only=True)
        seen: set[str] = set()
        unreadable: set[str] = set()
        # The checks the words state outright join every plan's (seen: no plan counted the
        # part for "a single almonds region must be visible, never more").
        worded = (
            self._checks_that_hold(word_checks(rule.text, self.spec), rule.text)
            if s.word_checks
            else []
        )
        if worded:
            _log_code(
                transcript,
                "checks read from the rule's words",
                render(worded, self.plan_attributes),
            )
        gathered: list[Check] = list(worded)
        named = named_labels(rule.text, self.spec.vocabulary)
        msgs, temp = first, 0.0
        for n in range(s.plan_candidates):
            # The first two plans start with the kind the rule's words call for, if any, and
            # use only the labels it names (where it names two or more).
            g = led if n < 2 else grammar
            answer = self._ask(msgs, temperature=temp, seed=s.seed + 200 + n, grammar=g)
            step = f"plan {n + 1}"
            try:
                plan = parse_plan(answer, self.spec.vocabulary, self.plan_attributes, rule.text)
                code = render(plan, self.plan_attributes)
            except PlanError as exc:
                transcript.append({"step": step, "feedback": str(exc), "answer": answer})
                # A repair is greedy, unless this answer came before: then it would come again.
                again = answer in unreadable
                unreadable.add(answer)
                temp = max(s.temperature, 1.0) if again else 0.0
                msgs = self._plan_repair(first, answer, [str(exc)])
                continue
            transcript.append({"step": step, "feedback": None, "answer": answer})
            msgs, temp = first, max(s.temperature, 1.0)
            if code in seen:
                continue
            seen.add(code)
            b = self._plan_behaviour(code, rule, stated, presence)
            transcript.append(
                {"step": f"{step} code", "feedback": None, "answer": f"```python\n{code}```"}
            )
            if b.ok and len(plan) > 1:
                fewer, b = self._fewest_checks(plan, b, rule, stated, presence)
                if len(fewer) < len(plan):
                    seen.add(b.code)
                    _log_code(
                        transcript, f"{step} needs {len(fewer)} of {len(plan)} checks", b.code
                    )
            yield b
            if b.ok:
                continue
            kept = self._checks_that_hold(plan, rule.text)
            if kept and kept != plan:
                code = render(kept, self.plan_attributes)
                turned = sum(1 for c in kept if c not in plan)
                if code not in seen:
                    seen.add(code)
                    turns = f", {turned} turned round" if turned else ""
                    _log_code(
                        transcript, f"{step} kept {len(kept)} of {len(plan)} checks{turns}", code
                    )
                    yield self._plan_behaviour(code, rule, stated, presence)
            # Checks that hold, from every plan so far, about the parts the rule names: seen,
            # "centred within 4% of the width" in one plan and "its centre 40% to 60% of the
            # height down" in another, each refused alone for the numbers it leaves out.
            fresh = [c for c in kept if c not in gathered and _about(c, named)]
            gathered += fresh
            if fresh and len(gathered) > len(fresh):
                code = render(gathered, self.plan_attributes)
                if code not in seen:
                    seen.add(code)
                    both = self._plan_behaviour(code, rule, stated, presence)
                    if both.ok:
                        _, both = self._fewest_checks(
                            gathered, both, rule, stated, presence, all_checks=True, keep=worded
                        )
                        seen.add(both.code)
                    step_name = f"{step} with earlier plans' checks: {len(gathered)} checks"
                    _log_code(transcript, step_name, both.code)
                    yield both
        # No plan led anywhere: the words' own checks, alone.
        code = render(worded, self.plan_attributes) if worded else ""
        if code and code not in seen:
            _log_code(transcript, "the rule's words' checks alone", code)
            yield self._plan_behaviour(code, rule, stated, presence)

    def _plan_behaviour(
        self, code: str, rule: RuleSpec, stated: dict[str, bool], presence: dict[str, bool]
    ) -> Behaviour:
        """Evaluate plan code, held to the expected verdicts like a written candidate."""
        b = self.evaluate(code, rule)
        if stated and b.valid:
            self.hold_to(b, stated)
        if presence and b.ok:
            self.hold_to(b, presence)
        return b

    def _fewest_checks(
        self,
        plan: Sequence[Check],
        b: Behaviour,
        rule: RuleSpec,
        stated: dict[str, bool],
        presence: dict[str, bool],
        *,
        all_checks: bool = False,
        keep: Sequence[Check] = (),
    ) -> tuple[list[Check], Behaviour]:
        """A valid plan without the checks it does not need, and the behaviour of its code.

        Each check in turn is left out; where the rest is still valid (references,
        counterexamples, the rule's stated numbers), it stays out. Seen with a 0.5B model:
        "every washer's diameter is within 8% of the mean" planned as that sameness plus "0
        to 2 washers", valid on every counterexample and a false alarm on held-out images
        with a third washer (a defect another rule guards). Only checks of numbers none of
        which the rule states are tried (:func:`~logicode.codegen.plans.own_numbers`; a count
        unless the rule states that part's count): a relation or an allowed value may be what
        the rule says with no counterexample to show it, and of two checks with the rule's
        number ("the top label and the bottom label are tilted at most 3 degrees") either
        could go while the code still uses the number. A relation may go where the rule
        places no parts (:func:`~logicode.codegen.plans.says_placement`; seen: "cable left of
        a connector" beside the colour mapping, a false alarm on images missing a
        connector). With ``all_checks`` (a plan gathered from several), every check may
        go but the ones in ``keep`` (the checks the rule's words state outright: seen, "row 0
        to 2" dropped beside "col 0 to 4", whose numbers the code still used).
        """
        counted = stated_counts(rule.text, self.spec.vocabulary)
        numbers = stated_numbers(rule.text)
        said = {n.value for n in numbers} | {n.value / 100 for n in numbers if n.percent}

        placed = says_placement(rule.text, self.spec)

        def needed(check: Check) -> bool:
            values = own_numbers(check, self.plan_attributes)
            if check.kind in ("count", "each"):
                return check.fields["label"] in counted
            if check.kind == "relation":
                return placed
            return not values or any(math.isclose(v, x) for v in values for x in said)

        kept, i = list(plan), 0
        while len(kept) > 1 and i < len(kept):
            if kept[i] in keep or (not all_checks and needed(kept[i])):
                i += 1
                continue
            trial = kept[:i] + kept[i + 1 :]
            tb = self._plan_behaviour(render(trial, self.plan_attributes), rule, stated, presence)
            if tb.ok:
                kept, b = trial, tb
            else:
                i += 1
        return kept, b

    def _checks_that_hold(self, plan: Sequence[Check], rule_text: str) -> list[Check]:
        """The checks of a plan that, each on its own, pass every reference without an error.

        A small model's plan often adds checks the rule does not ask for (seen: allowed
        colours of every part next to the size ratio the rule states); a check that rejects a
        normal reference cannot be part of the rule, so it is dropped (no model call) and the
        rest is tried as one more candidate. A relation between two parts the rule names
        that rejects a reference is first tried the other way round (left of for right of,
        above for below), as the reversals of written code are (seen with a 0.5B model: "no
        tangerine may be in the right compartment" planned as every tangerine right of the
        divider). Repeated checks count once.
        """
        named = named_labels(rule_text, self.spec.vocabulary)
        out: list[Check] = []
        for check in plan:
            turned = _reversed_relation(check)
            if turned is not None and {check.fields["label"], check.fields["other"]} - set(named):
                turned = None
            for c in (check, turned):
                if c is None or c in out:
                    continue
                b = self.evaluate(render([c], self.plan_attributes))
                if b.problem is None and not b.ref_failures and not b.errors:
                    out.append(c)
                    break
        return out

    def _plan_repair(
        self, first: list[BaseMessage], answer: str, problems: Sequence[str]
    ) -> list[BaseMessage]:
        """The plan dialogue with ``answer`` and what was wrong with it, for a corrected plan."""
        feedback = "\n".join(f"- {p}" for p in problems[:4]) or "- it is wrong"
        repair = self.templates["codegen/plan_repair.md"].render(feedback=feedback)
        return [*first, AIMessage(answer), HumanMessage(repair)]

    # --- driver ----------------------------------------------------------------------------

    def compile_rule(self, rule: RuleSpec) -> RuleOutcome:
        """Generate, validate and repair code for one rule.

        The first candidate is greedy. Until one candidate is valid, a broken one (no code,
        policy violation, false alarm on a reference, exception on a counterexample, never
        fires) is repaired with its failures as feedback, at most ``chain_rounds`` times in a
        row; then a fresh candidate is sampled and repaired in turn, within ``max_rounds``
        repairs and ``candidates + max_rounds`` answers in all. Once one candidate is valid,
        further candidates (up to ``candidates``) are sampled for the cross-check but never
        repaired. Before a broken candidate goes back to the model, the mechanical fixes of
        :mod:`logicode.codegen.autofix` are tried on it (no model call; they count as repair
        rounds in the entry but not against ``max_rounds``). Valid candidates are then
        cross-checked (:meth:`arbitrate`).

        Measured before this policy (1.5B model, 52 rules): a first chain of three repairs
        that failed was followed by a fresh candidate that was right on its own in 3 rules,
        and 7 rules spent three repairs on a second candidate after the first was valid.
        """
        t0 = time.perf_counter()
        s = self.settings
        first = self._first_messages(rule)
        transcript: list[dict[str, Any]] = []
        behaviours: list[Behaviour] = []
        valid: list[Behaviour] = []
        sampled = rounds = chain = answers = fixes = 0
        last: Behaviour | None = None
        failed_codes: set[str] = set()
        repeated = False
        presence: dict[str, bool] | None = None
        budget = s.candidates + s.max_rounds
        stated: dict[str, bool] = {}
        if s.stated_counts:
            changes = [m for m, _ in self.mutations]
            stated = stated_expectations(rule.text, self.spec, self.references, changes)

        def from_plans() -> None:
            for b in self.plan_candidates(rule, stated, presence or {}, transcript):
                behaviours.append(b)
                if b.ok:
                    valid.append(b)
                    break

        if s.plans and s.plans_first:
            from_plans()
        while answers < budget and len(valid) < s.candidates and not (s.plans_first and valid):
            feedback = None
            if (
                last is not None
                and not last.ok
                and not valid
                and rounds < s.max_rounds
                and chain < s.chain_rounds
            ):
                rounds += 1
                chain += 1
                problems = self.problems(last, rule)
                feedback = "\n".join(f"- {p}" for p in problems)
                if repeated:
                    # Shown its own code again, a small model copies it (seen: three identical
                    # repairs); start afresh from the rule with only the lesson learnt.
                    retry = self._rule_message("codegen/retry.md", rule, feedback=feedback)
                    msgs = [first[0], HumanMessage(retry)]
                    feedback = f"- {_REPEATED}\n{feedback}"
                else:
                    repair_msg = self.templates["codegen/repair.md"].render(feedback=feedback)
                    msgs = [
                        *first,
                        AIMessage(f"```python\n{last.code}```"),
                        HumanMessage(repair_msg),
                    ]
                temp = 0.0 if chain == 1 and not repeated else s.temperature
                if repeated:  # greedy and mild sampling gave the same failing code again
                    temp = max(s.temperature, 1.0)
                answer = self._ask(msgs, temperature=temp, seed=s.seed + 100 + rounds)
                step = f"repair {rounds}"
            elif valid and sampled >= s.candidates:
                break
            else:  # the first candidate, one for the cross-check, or a fresh chain
                temp = 0.0 if sampled == 0 else s.temperature
                answer = self._ask(first, temperature=temp, seed=s.seed + sampled)
                sampled += 1
                chain = 0
                step = f"candidate {sampled}"
            answers += 1
            code: str | None = extract_code(answer)
            while True:
                last = self.evaluate(code, rule)
                transcript.append({"step": step, "feedback": feedback, "answer": answer})
                if stated and last.valid:
                    self.hold_to(last, stated)
                if s.presence and last.ok:
                    if presence is None:  # asked once, when the first candidate could use it
                        presence = self.presence_expectations(rule)
                        transcript.append(
                            {"step": "presence", "feedback": None, "answer": str(presence)}
                        )
                    self.hold_to(last, presence)
                key = _normalise(last.code)
                repeated = key in failed_codes
                if not last.ok:
                    failed_codes.add(key)
                behaviours.append(last)
                if last.ok:
                    valid.append(last)
                    break
                if valid or not s.autofix:  # a broken cross-check candidate is not fixed
                    break
                silent = [
                    k.split(":")[1]
                    for k, breaks in stated.items()
                    if breaks and k.startswith("remove:") and last.fired.get(k) is False
                ]
                code = autofix(last.code, _messages(last), self.spec, silent, rule.text)
                if code is None or _normalise(code) in failed_codes:
                    if s.reversals and _rejects_normals(last):
                        found = self.reversed_candidate(last, stated, presence or {}, rule=rule)
                        if found is not None:
                            fixes += 1
                            last, what = found
                            transcript.append(
                                {
                                    "step": f"reversal {fixes}: {what}",
                                    "feedback": None,
                                    "answer": f"```python\n{last.code}```",
                                }
                            )
                            behaviours.append(last)
                            valid.append(last)
                    break
                fixes += 1
                step, feedback, answer = f"autofix {fixes}", None, f"```python\n{code}```"
        if not valid and s.plans and not s.plans_first:
            from_plans()
        checks: dict[str, Any] = {}
        if valid:
            best, checks = self.arbitrate(rule, valid)
        else:
            best = min(
                behaviours or [Behaviour(code="", problem="no candidate was asked for")],
                key=lambda b: (b.problem is not None, len(self.problems(b))),
            )
        validation = {
            "compiled": best.problem is None,
            "references": len(self.references),
            "reference_failures": len(best.ref_failures),
            "counterexamples": len(self.mutations),
            "fired": sum(1 for v in best.fired.values() if v),
            "errors": len(best.errors),
            "cross_check": checks,
        }
        base = {
            "id": rule.id,
            "text": rule.text,
            "guards": rule.guards,
            "validation": validation,
            "rounds": rounds + fixes,
            "candidates": len(behaviours),
            "seconds": round(time.perf_counter() - t0, 2),
        }
        if best.ok:
            entry = RuleEntry(status="ok", code_sha256=code_sha256(best.code), **base)
            return RuleOutcome(entry, best.code, transcript)
        reason = "; ".join(self.problems(best)[:2]) or "no valid candidate"
        entry = RuleEntry(status="failed", reason=reason[:500], **base)
        return RuleOutcome(entry, None, transcript)

    def compile(
        self,
        rules: Sequence[RuleSpec] | None = None,
        *,
        spec_sha256: str = "",
        progress: Callable[[RuleOutcome], None] | None = None,
    ) -> RulePack:
        """Compile ``rules`` (default: all rules of the spec) into a :class:`RulePack`."""
        outcomes = []
        for rule in rules if rules is not None else self.spec.rules:
            outcome = self.compile_rule(rule)
            self.transcripts[rule.id] = outcome.transcript
            log.info("rule %s: %s (%.1f s)", rule.id, outcome.entry.status, outcome.entry.seconds)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
        manifest = PackManifest(
            category=self.spec.category,
            spec_sha256=spec_sha256,
            model=self.model_info,
            prompts={name: t.sha256 for name, t in self.templates.items()},
            api_sha256=code_sha256(self.api),
            references=[str(r.get("image", {}).get("sha256") or "") for r in self.references],
            settings=self.settings.__dict__.copy(),
            rules=[o.entry for o in outcomes],
        )
        code = {o.entry.id: o.code for o in outcomes if o.code is not None}
        return RulePack(manifest, code)
