"""Retro-Search: revise verified traces into shorter ones that still reach the verified answer.

For each verified trace, `reasonmill.generators.retro_search.revise` rolls out from every thought
boundary with the reviser, checks each rollout through the build's one checking path (the pool
by kind, the judge for free-form) and keeps a rollout that reaches the answer in fewer steps.
Revised traces are added beside their originals (`parent_id` points back), so SFT export can pick
the shorter one and analysis can compare them. Each record keeps tokens and steps before and
after and one entry per boundary tried in `meta["retro_search"]`. With
`retro_search.enabled: false` records pass through marked "not revised".

The reviser is `retro_search.reviser` ("programmatic") or, with `retro_search.backend: NAME`, an
`LLMReviser` on that backend prompted like the LLM teacher (self mode with the teacher's backend,
weak-to-strong with a smaller one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from reasonmill.config import BuildConfig
from reasonmill.errors import LLMCapabilityError, ReasonmillError
from reasonmill.generators.llm_tasks.teacher import render_teacher
from reasonmill.generators.retro_search import LLMReviser, ProgrammaticReviser, Reviser, revise
from reasonmill.pipelines.context import StageContext
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.pipelines.tally import RETRYABLE
from reasonmill.records import Record, Rejection, Verdict


class RetroSearchStage(Stage):
    """Verified records in, records with revised traces beside the originals out."""

    name = "retro_search"
    version = "1"
    sections = ("retro_search",)

    def __init__(self, ctx: StageContext) -> None:
        super().__init__(ctx)
        rs = ctx.config.retro_search
        self.knobs = rs if rs.seed is not None else rs.model_copy(update={"seed": ctx.config.seed})

    @classmethod
    def backends(cls, config: BuildConfig) -> list[str]:
        rs = config.retro_search
        return [rs.backend] if rs.enabled and rs.backend else []

    @classmethod
    def prompts(cls, config: BuildConfig) -> list[Callable[..., Any]]:
        return [render_teacher]

    def _reviser(self) -> Reviser | None:
        rs = self.config.retro_search
        if not rs.enabled:
            return None
        if rs.backend is None:
            return ProgrammaticReviser()
        return LLMReviser(
            self.backend(rs.backend),
            name=f"llm:{rs.backend}",
            render=lambda r: render_teacher(r.problem.question),
        )

    def run(self, records: list[Record], shard: int) -> Iterator[Output]:
        reviser = self._reviser()
        for rec in records:
            if reviser is None:
                rec.meta["retro_search"] = {"revised": 0, "reason": "retro_search.enabled is false"}
                yield rec
                continue

            def verify(texts: list[str], rec: Record = rec) -> list[Verdict]:
                return self.ctx.checker.check([(rec, t) for t in texts], self.tag)

            try:
                results = [revise(rec, t, reviser, verify, self.knobs) for t in rec.traces]
            except LLMCapabilityError as exc:  # the backend cannot continue a prefix: stop the build, say why
                raise LLMCapabilityError(f"Retro-Search reviser: {exc}") from None
            except ReasonmillError:
                raise
            except Exception as exc:  # a reviser bug drops nothing silently
                yield Rejection(rec, self.name, "revision_error", f"{type(exc).__name__}: {exc}")
                continue
            # An LLM rollout whose request failed or was cut off is asked again on the next run (a
            # programmatic rollout's "error" is structural and would fail the same way again).
            if isinstance(reviser, LLMReviser):
                self.count(
                    RETRYABLE,
                    sum(
                        v.startswith(("error", "length"))
                        for r in results
                        for e in r.entries
                        for v in e.get("verdicts", [])
                    ),
                )
            revised = [r for r in results if r.revised]
            rec.traces = rec.traces + [r.trace for r in revised]
            rec.meta["retro_search"] = {
                "reviser": reviser.name,
                "revised": len(revised),
                "traces": [
                    {
                        "trace_id": r.trace.parent_id if r.revised else r.trace.id,
                        "reason": r.reason,
                        "tokens_before": r.tokens_before,
                        "tokens_after": r.tokens_after,
                        "steps_before": r.steps_before,
                        "steps_after": r.steps_after,
                        "boundaries": r.entries,
                    }
                    for r in results
                ],
            }
            if revised:
                before = min(r.tokens_before for r in revised)
                rec.scores["retro_token_reduction"] = (
                    1 - min(r.tokens_after for r in revised) / before if before else 0.0
                )
            yield rec


STAGES.register(RetroSearchStage.name, RetroSearchStage)
