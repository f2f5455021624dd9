"""Retro-Search's revisers: what continues a trace's prefix (the knobs are
`reasonmill.config.RetroSearchConfig`, the build config's `retro_search` section).

`ProgrammaticReviser` continues the programmatic teacher's own search from the state any prefix
leaves (rebuilt from the step records the teacher stores, never from on-path tags); `LLMReviser`
uses any LLM backend's prefix continuation. Anything with a `name` and a `rollout` method of the `Reviser` shape will do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from reasonmill.config import RetroSearchConfig
from reasonmill.generators.retro_search.segment import _CLOSE, TraceParts
from reasonmill.generators.teacher import ANSWER_FORMAT, solver_of
from reasonmill.records import Record, Trace
from reasonmill.rng import item_rng
from reasonmill.text import count_tokens

if TYPE_CHECKING:
    from reasonmill.llm.base import LLMBackend


@dataclass(slots=True)
class Rollout:
    """A reviser's continuation of a prefix: the text after the prefix, how it finished ("stop" is
    the only finished kind), the tokens it cost, its answer when the reviser knows it, and notes
    (`steps` records of its paragraphs for programmatic rollouts, `error`, `banned_violation`)."""

    text: str
    finish_reason: str = "stop"
    tokens: int = 0
    answer: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class Reviser(Protocol):
    """Anything that continues a trace's prefix. `banned` words must not open the first step."""

    name: str

    def rollout(
        self,
        record: Record,
        trace: Trace,
        prefix: str,
        n: int,
        banned: list[str],
        config: RetroSearchConfig | None = None,
    ) -> list[Rollout]:
        """Up to `n` continuations of `prefix` (a prefix of `trace.text`)."""
        ...


class ProgrammaticReviser:
    """Rolls out by continuing the solver's own search from the state a prefix leaves.

    The trace's step records (`trace.meta["steps"]`, one per paragraph, written by the teacher)
    are replayed up to the prefix to rebuild the solver state: the stack of states on the current
    line, the states already ruled out, the value computed so far. The owner of the record (its
    family, or its composition principle part by part) then continues from there with its own
    move order (`Family.resume`): the first step goes on from the current state (it may not
    backtrack or switch), after that the search runs freely to an answer within `budget` states
    (None: the family's own budget). The reviser never reads the on-path tags, so it does not know
    which line is correct: a continuation that reaches a wrong answer (a slip carried on) or none
    (a dead state, the budget spent) fails verification and stays in the provenance.

    `n` rollouts per boundary use `n` move orders drawn from the stream
    (record id, trace id, seed, boundary, rollout); `noise` is not a knob here: each family's
    `resume` fixes its own order noise.
    """

    name = "programmatic"

    def __init__(self, budget: int | None = None, seed: int | None = None) -> None:
        self.budget, self.seed = budget, seed

    def rollout(
        self,
        record: Record,
        trace: Trace,
        prefix: str,
        n: int,
        banned: list[str],
        config: RetroSearchConfig | None = None,
    ) -> list[Rollout]:
        """`n` continuations of `prefix` (see the class docstring)."""
        records = trace.meta.get("steps")
        paras = TraceParts.parse(trace.text).paragraphs
        if not isinstance(records, list) or len(records) != len(paras):
            return [Rollout("", "error", meta={"error": "trace has no step records matching its paragraphs"})]
        done = TraceParts.parse(prefix).paragraphs
        k = len(done)
        if done != paras[:k]:
            return [Rollout("", "error", meta={"error": "prefix is not a prefix of the trace"})]
        owner = solver_of(record)
        seed = (
            self.seed
            if self.seed is not None
            else (config.seed if config and config.seed is not None else record.seed)
        )
        out = []
        for j in range(max(1, n)):
            rng = item_rng(f"reviser:{record.id}:{trace.id}", seed, k * 1000 + j)
            cont = owner.resume(record.problem, list(records[:k]), rng, self.budget)
            if cont.answer is None:
                out.append(
                    Rollout(
                        _CLOSE + "\n\n",
                        meta={"dead_end": True, "steps": [], "note": cont.note, "nodes": cont.nodes},
                    )
                )
                continue
            text = (
                "".join(s.text + "\n\n" for s in cont.steps)
                + f"{_CLOSE}\n\n{ANSWER_FORMAT.format(answer=cont.answer)}"
            )
            recs = [s.record if s.record is not None else {"t": "text"} for s in cont.steps]
            out.append(
                Rollout(
                    text,
                    tokens=count_tokens(text),
                    answer=cont.answer,
                    meta={"steps": recs, "nodes": cont.nodes, "note": cont.note},
                )
            )
        return out


class LLMReviser:
    """Rolls out with an LLM backend's prefix continuation (`continue_prefix`), the backend
    forbidding the banned words at the first step. Self mode: the teacher's backend; weak-to-strong:
    a smaller model's. `render` builds the conversation the trace answers (default: the question
    as one user message) and should match how the teacher was prompted. The prefix goes out as the
    start of the assistant reply exactly as the trace text has it ("<think>\\n" included).
    """

    def __init__(
        self,
        backend: LLMBackend,
        name: str | None = None,
        render: Callable[[Record], list[dict[str, str]]] | None = None,
    ):
        self.backend = backend
        self.name = name or str(getattr(backend, "model_id", "llm"))
        self.render = render or (lambda r: [{"role": "user", "content": r.problem.question}])

    def rollout(
        self,
        record: Record,
        trace: Trace,
        prefix: str,
        n: int,
        banned: list[str],
        config: RetroSearchConfig | None = None,
    ) -> list[Rollout]:
        """`n` sampled continuations of `prefix`; failed requests come back as "error" rollouts."""
        from reasonmill.llm.types import SamplingParams  # the LLM layer stays optional for offline use

        cfg = config or RetroSearchConfig()
        sampling = SamplingParams(
            temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_new_tokens, n=n, seed=cfg.seed
        )
        out = self.backend.continue_prefix([self.render(record)], [prefix], sampling, list(banned))[0]
        return [
            Rollout(
                c.text,
                c.finish_reason,
                c.completion_tokens or count_tokens(c.text),
                meta={**c.meta, "error": c.error},
            )
            for c in out
        ]
