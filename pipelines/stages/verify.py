"""Verification: check every trace's final answer against the gold, in worker processes.

The gold answer, written as a trace would state it, is first checked against the gold, so a
gold the verifier cannot read is an `unverifiable_gold` rejection, not a record whose traces all look wrong. Each trace keeps its
verdict; a record is kept when at least one trace passed (`no_correct_trace` otherwise, with
every trace's reason in the detail).

Kind "free_form" goes to the LLM judge named by `verify.judge`, in this process and batched
(`reasonmill.pipelines.checking`); every other kind goes to the worker pool. A judge reply that
cannot be read is an `error` verdict (raw text in its detail), never a mismatch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from reasonmill.generators import FAMILIES
from reasonmill.pipelines.checking import check_texts, gold_verdicts
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import Record, Rejection
from reasonmill.shards import ShardCounts


def gold_probe(rec: Record) -> str:
    """The gold answer written the way a trace states it (boxed, as its family shows it).

    Checking this against the gold proves the verifier can read the gold at all; a gold that is a
    record for its verifier (Countdown, reasoning-gym JSON) is shown by its family instead.
    """
    shown = rec.problem.answer
    if rec.principle is None and rec.source in FAMILIES:
        shown = FAMILIES.get(rec.source).shown_answer(rec.problem)
    return f"The answer is \\boxed{{{shown}}}."


class VerifyStage(Stage):
    """Records with traces in, records with verdicts out."""

    name = "verify"
    version = "2"
    sections = ("seeds", "compose", "distill", "verify")

    def run(self, records: Iterable[Record], shard: int, counts: ShardCounts) -> Iterator[Output]:
        cfg = self.config.verify
        recs = list(records)
        golds = gold_verdicts(self.config, recs)
        need = [i for i, g in enumerate(golds) if g is None]
        pairs = [(recs[i], gold_probe(recs[i])) for i in need] + [(rec, t.text) for rec in recs for t in rec.traces]
        checked = check_texts(self.config, self.out, pairs, counts, self.llm_tag)
        for i, v in zip(need, checked, strict=False):
            golds[i] = v
        verdicts = iter(checked[len(need) :])
        for rec, gold in zip(recs, golds, strict=True):
            assert gold is not None
            counts.read += 1
            for t in rec.traces:
                t.verdict = next(verdicts)
            if not gold.passed:
                counts.reject("unverifiable_gold")
                yield Rejection(rec, self.name, "unverifiable_gold", f"gold {rec.problem.answer!r} does not verify against itself: {gold.reason} {gold.detail}")
                continue
            passed = sum(t.verdict.passed for t in rec.traces)
            rec.scores["teacher_pass_rate"] = passed / len(rec.traces) if rec.traces else 0.0
            if cfg.require_passing_trace and not passed:
                why = Counter(t.verdict.reason for t in rec.traces)
                counts.reject("no_correct_trace")
                yield Rejection(rec, self.name, "no_correct_trace", ", ".join(f"{k}×{v}" for k, v in sorted(why.items())) or "no traces")
                continue
            counts.written += 1
            yield rec


STAGES.register(VerifyStage.name, VerifyStage)
