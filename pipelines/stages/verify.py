"""Verification: check every trace's final answer against the gold.

The gold answer, stated as a trace would state it (`AnswerChecker.gold_probe`; a code spec is
validated on its own), is first checked, so a gold the verifier cannot read is an `unverifiable_gold`
rejection, not a record whose traces all look wrong. Each trace keeps its verdict; a record is
kept when at least one trace passed (`no_correct_trace` otherwise, with every trace's reason in
the detail). Checks go through the build's one checking path (`AnswerChecker`): the worker pool
by kind, the LLM judge for "free_form" when `verify.judge` is set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from reasonmill.config import BuildConfig
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import Record, Rejection
from reasonmill.verifiers.judge import render_judge


class VerifyStage(Stage):
    """Records with traces in, records with verdicts out."""

    name = "verify"
    version = "2"
    sections = ("verify",)

    @classmethod
    def backends(cls, config: BuildConfig) -> list[str]:
        return [config.verify.judge.backend] if config.verify.judge else []

    @classmethod
    def prompts(cls, config: BuildConfig) -> list[Callable[..., Any]]:
        return [render_judge]

    def run(self, records: list[Record], shard: int) -> Iterator[Output]:
        cfg, checker = self.config.verify, self.ctx.checker
        golds = checker.gold_verdicts(records)
        need = [i for i, g in enumerate(golds) if g is None]
        probes = [checker.gold_probe(records[i]) for i in need]
        pairs = [(records[i], pred) for i, (pred, _) in zip(need, probes, strict=True)]
        pairs += [(rec, t.text) for rec in records for t in rec.traces]
        kinds = [kind for _, kind in probes] + [rec.problem.kind for rec in records for _ in rec.traces]
        checked = checker.check(pairs, self.tag, kinds)
        for i, v in zip(need, checked, strict=False):
            golds[i] = v
        verdicts = iter(checked[len(need) :])
        for rec, gold in zip(records, golds, strict=True):
            assert gold is not None
            for t in rec.traces:
                t.verdict = next(verdicts)
            if not gold.passed:
                yield Rejection(
                    rec,
                    self.name,
                    "unverifiable_gold",
                    f"gold {rec.problem.answer!r} does not verify against itself: {gold.reason} {gold.detail}",
                )
                continue
            passed = sum(t.verdict.passed for t in rec.traces if t.verdict is not None)
            rec.scores["teacher_pass_rate"] = passed / len(rec.traces) if rec.traces else 0.0
            if cfg.require_passing_trace and not passed:
                why = Counter(t.verdict.reason for t in rec.traces if t.verdict is not None)
                yield Rejection(
                    rec,
                    self.name,
                    "no_correct_trace",
                    ", ".join(f"{k}×{v}" for k, v in sorted(why.items())) or "no traces",
                )
                continue
            yield rec


STAGES.register(VerifyStage.name, VerifyStage)
