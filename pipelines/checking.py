"""The one answer-checking path of a build: verify, retro_search and score all check through here.

`AnswerChecker.check` takes (record, prediction) pairs and returns verdicts in order, routing by
answer kind: kind "free_form" goes to the LLM judge named by `verify.judge` (in this process,
batched through its backend: an HTTP judge does not belong in worker processes), every other kind
to the verifier worker pool (math-verify needs a process's main thread; a hostile answer gets a
hard per-item timeout). Without a judge, free-form goes to the pool and comes back `unverifiable`.

`gold_verdicts` checks each record's gold against itself where no verifier is needed: a free-form
gold under a judge is accepted when non-empty (a judge asked whether a text means what it means
says nothing); the other golds are checked with the traces, in the same pool call.
"""

from __future__ import annotations

from reasonmill.config import BuildConfig
from reasonmill.generators.answers import stated_gold
from reasonmill.pipelines.backends import BackendHub
from reasonmill.pipelines.tally import RETRYABLE, count
from reasonmill.records import AnswerKind, Reason, Record, Verdict
from reasonmill.verifiers import CheckItem, VerifierPool, shared_pool
from reasonmill.verifiers.code import SPEC_KIND
from reasonmill.verifiers.judge import NAME as JUDGE_NAME
from reasonmill.verifiers.judge import JudgeItem, LLMJudge

FREE_FORM = AnswerKind.FREE_FORM.value


class AnswerChecker:
    """Routes answer checks of one build (see the module docstring)."""

    def __init__(self, config: BuildConfig, backends: BackendHub) -> None:
        self.config, self.backends = config, backends

    @property
    def pool(self) -> VerifierPool:
        """The process-wide verifier pool of this build's verify settings."""
        return shared_pool(self.config.verify.workers, self.config.verify.timeout_s)

    def judged(self, rec: Record) -> bool:
        """True when `rec`'s answers go to the LLM judge."""
        return self.config.verify.judge is not None and rec.problem.kind == FREE_FORM

    def check(
        self, pairs: list[tuple[Record, str | None]], tag: str, kinds: list[str] | None = None
    ) -> list[Verdict]:
        """Verdicts for (record, prediction) pairs, in order; `tag` names the calling stage (the
        judge's requests are cached under `tag:judge`). `kinds` overrides the check kind per pair
        (the gold probe of a code spec is kind `code_spec`)."""
        verdicts: list[Verdict | None] = [None] * len(pairs)
        kind = [kinds[i] if kinds is not None else rec.problem.kind for i, (rec, _) in enumerate(pairs)]
        to_judge = [i for i, (rec, _) in enumerate(pairs) if self.judged(rec)]
        to_pool = [i for i, (rec, _) in enumerate(pairs) if not self.judged(rec)]
        if to_pool:
            items = [CheckItem(kind[i], pairs[i][0].problem.answer, pairs[i][1]) for i in to_pool]
            for i, v in zip(to_pool, self.pool.check_many(items), strict=True):
                verdicts[i] = v
        if to_judge:
            judge = self.config.verify.judge
            assert judge is not None
            items_j = [
                JudgeItem(pairs[i][0].problem.question, pairs[i][0].problem.answer, pairs[i][1])
                for i in to_judge
            ]
            backend = self.backends.open(judge.backend, f"{tag}:judge")
            results = LLMJudge(backend, judge.threshold).check_many(items_j)
            for i, v in zip(to_judge, results, strict=True):
                verdicts[i] = v
            errors = [v for v in results if v.reason == Reason.ERROR]
            count("judge_errors", len(errors))
            count(
                RETRYABLE,
                sum(v.detail.startswith(("judge request failed", "judge reply length")) for v in errors),
            )
        return [v for v in verdicts if v is not None]

    def gold_probe(self, rec: Record) -> tuple[str | None, str]:
        """What checks that `rec`'s gold is readable: (prediction, kind). A trace-style statement
        of the gold checked as the record's kind, except for code, whose test spec is validated
        on its own (`code_spec`, which no model output can trigger: a candidate never passes by
        echoing the spec)."""
        if rec.problem.kind == AnswerKind.CODE.value:
            return None, SPEC_KIND
        return stated_gold(rec), rec.problem.kind

    def gold_verdicts(self, records: list[Record]) -> list[Verdict | None]:
        """Each record's gold checked against itself where no verifier is needed (see the module
        docstring); None marks the golds the caller checks with `check`."""
        out: list[Verdict | None] = []
        for rec in records:
            if not self.judged(rec):
                out.append(None)
                continue
            ok = bool(rec.problem.answer.strip())
            out.append(
                Verdict(
                    ok,
                    JUDGE_NAME,
                    None if ok else Reason.NO_ANSWER.value,
                    "free-form gold accepted as written" if ok else "empty gold",
                )
            )
        return out
