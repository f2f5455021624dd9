"""Retro-Search: revise verified traces into shorter ones that still reach the verified answer.

For each verified trace, `reasonmill.generators.retro_search.revise` rolls out from every thought
boundary with the reviser, verifies each rollout with the build's verifier pool and keeps a
rollout that reaches the answer in fewer steps. Revised traces are added beside their originals
(`parent_id` points back), so SFT export can pick the shorter one and analysis can compare them.
Each record keeps tokens and steps before and after and one entry per boundary tried in
`meta["retro_search"]`. With `retro_search.enabled: false` records pass through marked
"not revised".

`retro_search.reviser` is "programmatic" or the name of an LLM backend under `llm.backends`
("llm:NAME" also works): an `LLMReviser` prompted like the LLM teacher, opened per shard and
cached in the build folder like every LLM stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from reasonmill.config import BuildConfig
from reasonmill.errors import ConfigError
from reasonmill.generators.llm.teacher import render_teacher
from reasonmill.generators.retro_search import (
    LLMReviser,
    ProgrammaticReviser,
    Reviser,
    revise,
)
from reasonmill.llm.base import LLMBackend
from reasonmill.pipelines.llm import open_backend
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import Record, Rejection
from reasonmill.shards import ShardCounts
from reasonmill.verifiers import CheckItem, shared_pool


def reviser_backend(config: BuildConfig) -> str | None:
    """The LLM backend name `retro_search.reviser` refers to, or None for "programmatic"."""
    name = config.retro_search.reviser
    return None if name == "programmatic" else name.removeprefix("llm:")


def make_reviser(config: BuildConfig, backend: LLMBackend | None = None) -> Reviser:
    """The reviser named by `retro_search.reviser` (an LLM reviser needs its open `backend`)."""
    name = reviser_backend(config)
    if name is None:
        return ProgrammaticReviser()
    if name not in config.llm.backends or backend is None:
        known = ", ".join(["programmatic", *sorted(config.llm.backends)])
        raise ConfigError("retro_search.reviser", f"unknown reviser '{config.retro_search.reviser}'; known: {known}")
    return LLMReviser(backend, name=f"llm:{name}", render=lambda r: render_teacher(r.problem.question))


class RetroSearchStage(Stage):
    """Verified records in, records with revised traces beside the originals out."""

    name = "retro_search"
    version = "1"
    sections = ("seeds", "compose", "distill", "verify", "retro_search")

    def __init__(self, config: BuildConfig) -> None:
        super().__init__(config)
        rs = config.retro_search
        self.llm_reviser = reviser_backend(config) if rs.enabled else None
        self.reviser = make_reviser(config) if rs.enabled and self.llm_reviser is None else None
        self.knobs = rs if rs.seed is not None else rs.model_copy(update={"seed": config.seed})

    def run(self, records: Iterable[Record], shard: int, counts: ShardCounts) -> Iterator[Output]:
        if self.llm_reviser is None:
            yield from self._run(records, counts, self.reviser)
            return
        with open_backend(self.config, self.llm_reviser, self.out, self.llm_tag, counts) as backend:
            outputs = list(self._run(records, counts, make_reviser(self.config, backend)))
        yield from outputs

    def _run(self, records: Iterable[Record], counts: ShardCounts, reviser: Reviser | None) -> Iterator[Output]:
        pool = shared_pool(self.config.verify.workers, self.config.verify.timeout_s)
        for rec in records:
            counts.read += 1
            if reviser is None:
                rec.meta["retro_search"] = {"revised": 0, "reason": "retro_search.enabled is false"}
                counts.written += 1
                yield rec
                continue

            def verify(texts: list[str], rec: Record = rec) -> list:
                return pool.check_many([CheckItem(rec.problem.kind, rec.problem.answer, t) for t in texts])

            try:
                results = [revise(rec, t, reviser, verify, self.knobs) for t in rec.traces]
            except Exception as exc:  # a reviser bug drops nothing silently
                counts.reject("revision_error")
                yield Rejection(rec, self.name, "revision_error", f"{type(exc).__name__}: {exc}")
                continue
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
                rec.scores["retro_token_reduction"] = 1 - min(r.tokens_after for r in revised) / before if before else 0.0
            counts.written += 1
            yield rec


STAGES.register(RetroSearchStage.name, RetroSearchStage)
