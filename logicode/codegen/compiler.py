"""The LogiCode compiler: English rules to validated rule code, with repair.

For each rule of a category spec:

1. **Generate** candidates: the chat model gets a system prompt (instructions, the scene API
   generated from :mod:`logicode.ruleapi`, worked examples of another product, the category's
   vocabulary and reference measurements; identical for every rule of a category, so a
   llama.cpp prompt cache reuses it) and the rule. The first candidate is greedy, the others
   sampled.
2. **Validate** each candidate in the sandbox: it must compile under the sandbox policy, pass
   every normal reference scene, never raise, and react to counterexamples (references changed
   by one :class:`~logicode.codegen.counterexamples.Mutation`) as expected.
3. **Expectations** on counterexamples come from two sources, cross-checked: the model says,
   as structured JSON, which changes of a short menu break the rule; and the candidates that
   pass the references vote. Where every distinct valid candidate (at least two) contradicts
   the model, the candidates win; otherwise the model's answer stands. A rule whose code never reports a
   violation on any counterexample is rejected whatever the expectations say.
4. **Repair**: the best candidate's failures go back to the model as text, for a bounded
   number of rounds.

A rule that still fails is marked ``failed`` with its reason and gets no code: nothing that
silently passes everything is ever emitted.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

import sandbox
from logicode.codegen.context import reference_summary, vocabulary_text
from logicode.codegen.counterexamples import Mutation, propose_mutations
from logicode.codegen.pack import PackManifest, RuleEntry, RulePack, code_sha256
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
    "codegen/expectations.md",
)

_FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.S)
_MENU_ORDER = ("remove", "duplicate", "move", "resize", "set_attr", "recolor", "swap", "rotate")


@dataclass(frozen=True)
class CompileSettings:
    """Knobs of the compiler.

    Attributes:
        candidates: Most candidates drawn from the first prompt (the first one greedy).
        max_rounds: Most repair rounds.
        temperature: Sampling temperature of the non-greedy candidates.
        max_tokens: Most tokens per answer.
        expectations: ``both`` (model + candidate agreement), ``model`` or ``agreement``.
        counterexample_refs: Reference scenes used to build counterexamples.
        menu_size: Most changes shown to the model when asking for expectations.
        seed: Base sampling seed.
    """

    candidates: int = 2
    max_rounds: int = 3
    temperature: float = 0.7
    max_tokens: int = 400
    expectations: str = "both"
    counterexample_refs: int = 2
    menu_size: int = 14
    seed: int = 0


@dataclass
class Behaviour:
    """What a candidate did in the sandbox."""

    code: str
    problem: str | None = None  # no code block, or a policy violation
    ref_failures: list[str] = field(default_factory=list)
    fired: dict[str, bool | None] = field(default_factory=dict)  # mutation key -> violation?
    errors: dict[str, str] = field(default_factory=dict)  # mutation key -> error message

    @property
    def valid(self) -> bool:
        """Compiles, passes every reference and raises on no counterexample."""
        return self.problem is None and not self.ref_failures and not self.errors

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


def labels_mentioned(text: str, vocabulary: Sequence[str]) -> set[str]:
    """Vocabulary labels a text names (``top_label``, "top label" or "top labels")."""
    low = text.lower()
    found = set()
    for label in vocabulary:
        spoken = label.replace("_", " ")
        if re.search(rf"\b({re.escape(label)}|{re.escape(spoken)})(e?s)?\b", low):
            found.add(label)
    return found


def labels_in_code(code: str, vocabulary: Sequence[str]) -> set[str]:
    """Vocabulary labels that appear as string literals in code."""
    literals = set(re.findall(r"""["']([A-Za-z0-9_]+)["']""", code))
    return literals & set(vocabulary)


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
        self.templates: dict[str, PromptTemplate] = {
            name: load_template(name, prompts_root) for name in TEMPLATES
        }
        self.api = api_reference()
        self.system_prompt = self._system_prompt()
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
        return "\n\n".join(
            [system.strip(), t["codegen/examples.md"].text.strip(), category.strip()]
        )

    def _first_messages(self, rule: RuleSpec) -> list[BaseMessage]:
        user = self.templates["codegen/rule.md"].render(
            category=self.spec.category, rule=" ".join(rule.text.split())
        )
        return [SystemMessage(self.system_prompt), HumanMessage(user)]

    def _ask(self, messages: list[BaseMessage], *, temperature: float, seed: int) -> str:
        try:
            reply = self.chat.invoke(
                messages,
                temperature=temperature,
                seed=seed,
                max_tokens=self.settings.max_tokens,
            )
        except TypeError:  # a foreign chat model that takes no per-call options
            reply = self.chat.invoke(messages)
        content = reply.content
        return content if isinstance(content, str) else str(content)

    # --- validation ------------------------------------------------------------------------

    def evaluate(self, code: str | None) -> Behaviour:
        """Run one candidate on the references and every counterexample in the sandbox."""
        if code is None:
            return Behaviour(
                code="", problem="no ```python block defining def check(scene) was found"
            )
        try:
            sandbox.compile_rule(code)
        except sandbox.PolicyError as exc:
            return Behaviour(code=code, problem=str(exc))
        scenes = self.references + [s for _, s in self.mutations]
        pack = self.pool.load_pack({"rule": code})
        try:
            results = [r["rule"] for r in self.pool.evaluate(pack, scenes)]
        finally:
            self.pool.unload_pack(pack)
        b = Behaviour(code=code)
        for i, res in enumerate(results[: len(self.references)]):
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
        return b

    # --- expectations ----------------------------------------------------------------------

    def menu(self, rule: RuleSpec, behaviours: Sequence[Behaviour]) -> list[Mutation]:
        """Changes relevant to the rule (its labels, from its text and candidate code)."""
        vocab = self.spec.vocabulary
        relevant = labels_mentioned(rule.text, vocab)
        if not relevant:  # the text names no label: fall back to what the code reads
            for b in behaviours:
                relevant |= labels_in_code(b.code, vocab)
        seen: dict[str, Mutation] = {}
        for m, _ in self.mutations:
            if (m.label in relevant or m.other in relevant) and m.key() not in seen:
                seen[m.key()] = m
        ranked = sorted(seen.values(), key=lambda m: _MENU_ORDER.index(m.op))
        # Round-robin over labels so that every relevant label gets its main changes.
        by_label: dict[str, list[Mutation]] = {}
        for m in ranked:
            by_label.setdefault(m.label, []).append(m)
        out: list[Mutation] = []
        while len(out) < self.settings.menu_size and any(by_label.values()):
            for lst in by_label.values():
                if lst and len(out) < self.settings.menu_size:
                    out.append(lst.pop(0))
        return out

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

    def combine(
        self, model: dict[str, bool], behaviours: Sequence[Behaviour]
    ) -> tuple[dict[str, bool], dict[str, Any]]:
        """Cross-check the model's expectations with the votes of valid candidates."""
        mode = self.settings.expectations
        # Identical code carries no independent evidence: one vote per distinct candidate.
        distinct = {_normalise(b.code): b for b in behaviours if b.valid and not b.vacuous}
        votes: dict[str, list[bool]] = {}
        for b in distinct.values():
            for key, fired in b.fired.items():
                if fired is not None:
                    votes.setdefault(key, []).append(bool(fired))
        expected: dict[str, bool] = {}
        overruled = 0
        if mode in ("both", "model"):
            for key, breaks in model.items():
                v = votes.get(key, [])
                if mode == "both" and len(v) >= 2 and all(x != breaks for x in v):
                    overruled += 1
                    expected[key] = not breaks
                else:
                    expected[key] = breaks
        if mode == "agreement" or (mode == "both" and not model):
            for key, v in votes.items():
                if len(v) >= 2 and len(set(v)) == 1:
                    expected[key] = v[0]
        stats = {"model": len(model), "overruled": overruled, "expected": len(expected)}
        return expected, stats

    # --- scoring and feedback --------------------------------------------------------------

    def mismatches(self, b: Behaviour, expected: dict[str, bool]) -> list[str]:
        """Counterexample keys where a candidate does not do what is expected."""
        return [k for k, want in expected.items() if k in b.fired and b.fired[k] != want]

    def problems(self, b: Behaviour, expected: dict[str, bool]) -> list[str]:
        """Everything wrong with a candidate, as sentences for the repair prompt."""
        if b.problem:
            return [b.problem]
        out = list(b.ref_failures[:3])
        by_key = {m.key(): m for m, _ in self.mutations}
        for key, msg in list(b.errors.items())[:2]:
            out.append(f"after we {by_key[key].describe()}, it raised an error: {msg}")
        if not out and b.vacuous:
            hint = next((k for k, v in expected.items() if v), None)
            change = f" (for example after we {by_key[hint].describe()})" if hint else ""
            out.append(f"it never reports a violation, even on images that break the rule{change}")
        for key in self.mismatches(b, expected)[:3]:
            what = by_key[key].describe()
            if expected[key]:
                out.append(f"after we {what}, the rule is broken but it returned []")
            else:
                out.append(f"after we {what}, the rule still holds but it reported a violation")
        return out

    def _rank(self, b: Behaviour, expected: dict[str, bool]) -> tuple[int, int, int]:
        return (
            0 if b.problem is None else 1,
            len(b.ref_failures) + len(b.errors) + (1 if b.vacuous else 0),
            len(self.mismatches(b, expected)),
        )

    # --- driver ----------------------------------------------------------------------------

    def compile_rule(self, rule: RuleSpec) -> RuleOutcome:
        """Generate, validate and repair code for one rule.

        The greedy candidate comes first. A candidate that breaks (no code, policy, false
        alarm on a reference, exception, never fires) is repaired with its failures as
        feedback; one that only disagrees with the model's expectations gets a sampled rival
        first, so that the candidates can overrule a wrong expectation. At most
        ``candidates + max_rounds`` answers are generated.
        """
        t0 = time.perf_counter()
        s = self.settings
        first = self._first_messages(rule)
        transcript: list[dict[str, Any]] = []
        answer = self._ask(first, temperature=0.0, seed=s.seed)
        best = self.evaluate(extract_code(answer))
        behaviours = [best]
        transcript.append({"step": "candidate 1", "answer": answer})
        model_exp: dict[str, bool] = {}
        if s.expectations in ("both", "model"):
            model_exp = self.model_expectations(rule, self.menu(rule, behaviours))
        expected, exp_stats = self.combine(model_exp, behaviours)
        sampled, rounds = 1, 0
        while self._rank(best, expected) != (0, 0, 0):
            broken = self._rank(best, expected)[:2] != (0, 0)
            if not broken and sampled < s.candidates:
                sampled += 1
                answer = self._ask(first, temperature=s.temperature, seed=s.seed + sampled)
                step, feedback = f"candidate {sampled}", None
            elif rounds < s.max_rounds:
                rounds += 1
                feedback = "\n".join(f"- {p}" for p in self.problems(best, expected))
                repair = self.templates["codegen/repair.md"].render(feedback=feedback)
                msgs = [*first, AIMessage(f"```python\n{best.code}```"), HumanMessage(repair)]
                temp = 0.0 if rounds == 1 else s.temperature
                answer = self._ask(msgs, temperature=temp, seed=s.seed + 100 + rounds)
                step = f"repair {rounds}"
            else:
                break
            cand = self.evaluate(extract_code(answer))
            behaviours.append(cand)
            transcript.append({"step": step, "feedback": feedback, "answer": answer})
            expected, exp_stats = self.combine(model_exp, behaviours)
            best = min(behaviours, key=lambda b: self._rank(b, expected))
        rank = self._rank(best, expected)
        validation = {
            "references": len(self.references),
            "reference_failures": len(best.ref_failures),
            "counterexamples": len(self.mutations),
            "fired": sum(1 for v in best.fired.values() if v),
            "errors": len(best.errors),
            "expected": len(expected),
            "mismatches": len(self.mismatches(best, expected)),
            "expectations": exp_stats,
        }
        seconds = round(time.perf_counter() - t0, 2)
        base = {
            "id": rule.id,
            "text": rule.text,
            "guards": rule.guards,
            "validation": validation,
            "rounds": rounds,
            "candidates": len(behaviours),
            "seconds": seconds,
        }
        if rank == (0, 0, 0):
            entry = RuleEntry(status="ok", code_sha256=code_sha256(best.code), **base)
            return RuleOutcome(entry, best.code, transcript)
        reason = "; ".join(self.problems(best, expected)[:2]) or "no valid candidate"
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
