"""Replay the model answers recorded by ``benchmarks/codegen.py`` through the current compiler.

A code-generation run keeps, per rule, every model answer in its transcript. Feeding those
answers again, in their order, to today's compiler (no language model loaded) shows what a
change of validation, autofix or reversal does to the same answers in seconds instead of a
half-hour run, and that it breaks nothing that was right. It is an estimate, not a new run:
where the new compiler takes another path (it fixes a candidate itself instead of asking for a
repair), the real model would then answer a different prompt than the one recorded; the
replay gives it the next recorded answer instead. Structured questions (the cross-check
judge) get no answer, so disputes fall to the majority.

Usage:
    .venv/bin/python benchmarks/codegen_replay.py /tmp/cg8/all15.json.qwen2.5-coder-1.5b.rows.jsonl
        [--rule-ids a,b] [--only-failed] [--work /tmp/logicode_codegen_bench]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

DEFAULT_WORK = Path("/tmp/logicode_codegen_bench")


class RecordedChat(BaseChatModel):
    """Gives the recorded answers in order; no structured output."""

    answers: list[str]

    @property
    def _llm_type(self) -> str:
        return "recorded"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:  # noqa: ANN001
        text = self.answers.pop(0) if self.answers else ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def with_structured_output(self, schema, **kwargs):  # noqa: ANN001, ANN201
        raise NotImplementedError("a replay has no structured answers")


def model_answers(row: dict[str, Any]) -> list[str]:
    """The answers the model gave for one rule (not the compiler's own fixes)."""
    return [
        t["answer"]
        for t in row.get("transcript", [])
        if str(t.get("step", "")).startswith(("candidate", "repair"))
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", type=Path, help="<report>.<model>.rows.jsonl of benchmarks/codegen.py")
    ap.add_argument("--rule-ids", default="", help="Comma-separated rule ids to replay.")
    ap.add_argument("--only-failed", action="store_true", help="Replay only rules that failed.")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help="The run's dataset folder.")
    args = ap.parse_args()

    from codegen import category_data  # benchmarks/codegen.py, beside this script

    import sandbox
    from logicode.bench.runner import judge_rules
    from logicode.codegen.compiler import CompileSettings, RuleCompiler

    lines = args.rows.read_text(encoding="utf-8").splitlines()
    rows = [r for r in (json.loads(line) for line in lines if line.strip()) if "rule" in r]
    wanted = {r for r in args.rule_ids.split(",") if r}
    rows = [r for r in rows if (not wanted or r["rule"] in wanted)]
    rows = [r for r in rows if not (args.only_failed and r["success"])]
    if not rows:
        sys.exit("error: no rows to replay (check the file, --rule-ids and --only-failed)")
    per_category: dict[str, Any] = {}
    before = after = 0
    with sandbox.SandboxPool(api_module="logicode.ruleapi", workers=1) as pool:
        for row in rows:
            category = row["category"]
            if category not in per_category:
                root = args.work / category
                if not root.is_dir():
                    sys.exit(f"error: no dataset at {root}; pass the run's --work folder")
                per_category[category] = category_data(category, args.work)
            spec, refs, heldout = per_category[category]
            rule = spec.rule(row["rule"])
            if row.get("text") and row["text"] != rule.text:  # a --phrasings run
                rule = rule.model_copy(update={"text": row["text"]})
            chat = RecordedChat(answers=model_answers(row))
            compiler = RuleCompiler(chat, spec, refs, pool, CompileSettings())
            pack = compiler.compile([rule])
            judged = judge_rules(pack, heldout, pool, category)[0]
            now = bool(judged.heldout_right)
            before += bool(row["success"])
            after += now
            steps = ", ".join(t["step"] for t in compiler.transcripts[rule.id])
            mark = "" if now == bool(row["success"]) else ("  GAINED" if now else "  LOST")
            entry = pack.manifest.rules[0]
            why = f" ({entry.reason[:160]})" if entry.status != "ok" else ""
            print(
                f"{category}/{rule.id}: recorded {row['heldout_correct']}/{row['heldout_total']}"
                f" -> replayed {judged.heldout_correct}/{judged.heldout_total}{mark} [{steps}]{why}"
            )
    print(
        f"right on every held-out scene: recorded {before}/{len(rows)},"
        f" replayed {after}/{len(rows)}"
    )


if __name__ == "__main__":
    main()
