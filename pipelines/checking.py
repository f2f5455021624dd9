"""Route answer checks: the LLM judge in-process for free-form answers, the worker pool for the rest.

The verifier pool runs registered verifiers in worker processes (math-verify needs a main
thread); an HTTP judge belongs in this process, batched through its backend. `check_texts` takes
(record, prediction) pairs and returns verdicts in order, sending kind "free_form" to the judge
named by `verify.judge` (when set) and everything else to `shared_pool`. Without a judge,
free-form goes to the pool and comes back `unverifiable`.

A free-form *gold* needs no judge: it is accepted as written when non-empty (`gold_verdicts`),
since a judge asked whether a text means what it means says nothing.
"""

from __future__ import annotations

from pathlib import Path

from reasonmill.config import BuildConfig
from reasonmill.pipelines.llm import open_backend
from reasonmill.records import AnswerKind, Reason, Record, Verdict
from reasonmill.shards import ShardCounts
from reasonmill.verifiers import CheckItem, shared_pool
from reasonmill.verifiers.judge import NAME as JUDGE_NAME
from reasonmill.verifiers.judge import JudgeItem, LLMJudge

FREE_FORM = AnswerKind.FREE_FORM.value


def judged(config: BuildConfig, rec: Record) -> bool:
    """True when `rec`'s answers go to the LLM judge."""
    return config.verify.judge is not None and rec.problem.kind == FREE_FORM


def check_texts(
    config: BuildConfig, out: Path | None, pairs: list[tuple[Record, str | None]], counts: ShardCounts, tag: str
) -> list[Verdict]:
    """Verdicts for (record, prediction) pairs, in order (see the module docstring)."""
    verdicts: list[Verdict | None] = [None] * len(pairs)
    to_judge = [i for i, (rec, _) in enumerate(pairs) if judged(config, rec)]
    to_pool = [i for i, (rec, _) in enumerate(pairs) if not judged(config, rec)]
    if to_pool:
        pool = shared_pool(config.verify.workers, config.verify.timeout_s)
        items = [CheckItem(pairs[i][0].problem.kind, pairs[i][0].problem.answer, pairs[i][1]) for i in to_pool]
        for i, v in zip(to_pool, pool.check_many(items), strict=True):
            verdicts[i] = v
    if to_judge:
        assert config.verify.judge is not None
        items_j = [JudgeItem(pairs[i][0].problem.question, pairs[i][0].problem.answer, pairs[i][1]) for i in to_judge]
        with open_backend(config, config.verify.judge, out, f"{tag}:judge", counts) as backend:
            results = LLMJudge(backend, config.verify.judge_threshold).check_many(items_j)
        for i, v in zip(to_judge, results, strict=True):
            verdicts[i] = v
        counts.extra["judge_errors"] = counts.extra.get("judge_errors", 0) + sum(v.reason == Reason.ERROR for v in results)
    return [v for v in verdicts if v is not None]


def gold_verdicts(config: BuildConfig, records: list[Record]) -> list[Verdict | None]:
    """Each record's gold checked against itself where no verifier is needed: a free-form gold
    under a judge is accepted when non-empty. None marks the golds `check_texts` must check (the
    caller batches them with the traces, so the pool is called once per shard)."""
    out: list[Verdict | None] = []
    for rec in records:
        if not judged(config, rec):
            out.append(None)
            continue
        ok = bool(rec.problem.answer.strip())
        out.append(Verdict(ok, JUDGE_NAME, None if ok else Reason.NO_ANSWER.value, "free-form gold accepted as written" if ok else "empty gold"))
    return out
