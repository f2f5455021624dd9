"""Retro-Search's revisers: what continues a trace's prefix (the knobs are
`reasonmill.config.RetroSearchConfig`, the build config's `retro_search` section).

`ProgrammaticReviser` continues the programmatic teacher's current line of search from any prefix
(using the `on_path` tags the teacher stores); `LLMReviser` uses any LLM backend's prefix
continuation. Anything with a `name` and a `rollout` method of the `Reviser` shape will do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from reasonmill.config import RetroSearchConfig
from reasonmill.generators.retro_search.segment import _CLOSE, TraceParts
from reasonmill.generators.teacher import ANSWER_FORMAT, solve_record
from reasonmill.records import Record, Trace
from reasonmill.text import count_tokens

if TYPE_CHECKING:
    from reasonmill.llm.base import LLMBackend


@dataclass(slots=True)
class Rollout:
    """A reviser's continuation of a prefix: the text after the prefix, how it finished ("stop" is
    the only finished kind), the tokens it cost, its answer when the reviser knows it, and notes
    (`on_path` tags of its paragraphs for programmatic rollouts, `error`, `banned_violation`)."""

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
    """Continues the current line of the programmatic teacher's search instead of switching.

    If the prefix's last paragraph completes step i of the solve's straight line (`on_path` tag i),
    the rollout tells steps i+1.. of that line and the answer. If it ends inside a detour, the only
    way on is the switch that abandons it, which is forbidden: the rollout is a dead end with no
    answer and fails verification. Deterministic, so it returns one rollout whatever `n` is.
    """

    name = "programmatic"

    def __init__(self) -> None:
        # One entry: a record's boundaries and samples are revised one after another.
        self._last: tuple[str, list[str], str] | None = None

    def _path(self, record: Record, trace: Trace) -> tuple[list[str], str]:
        # The straight line is a function of the spec alone (randomness only places detours), so a
        # re-solve without backtracks recovers it; `rollout` checks it against the trace's tags.
        if self._last is None or self._last[0] != record.id:
            run = solve_record(record, record.seed, int(trace.meta.get("sample", 0)), 0)
            self._last = (record.id, run.path, run.answer)
        return self._last[1], self._last[2]

    def rollout(
        self,
        record: Record,
        trace: Trace,
        prefix: str,
        n: int,
        banned: list[str],
        config: RetroSearchConfig | None = None,
    ) -> list[Rollout]:
        """One continuation of `prefix` along the current line (see the class docstring)."""
        tags = trace.meta.get("on_path")
        paras = TraceParts.parse(trace.text).paragraphs
        if not isinstance(tags, list) or len(tags) != len(paras):
            return [Rollout("", "error", meta={"error": "trace has no on_path tags matching its paragraphs"})]
        path, answer = self._path(record, trace)
        if any(t is not None and (t >= len(path) or path[t] != p) for t, p in zip(tags, paras, strict=True)):
            return [Rollout("", "error", meta={"error": "trace does not match the solver's straight line"})]
        k = len(TraceParts.parse(prefix).paragraphs)
        last = tags[k - 1] if k else -1
        if last is None:
            return [Rollout(_CLOSE + "\n\n", meta={"dead_end": True, "on_path": []})]
        rest = path[last + 1 :]
        text = "".join(p + "\n\n" for p in rest) + f"{_CLOSE}\n\n{ANSWER_FORMAT.format(answer=answer)}"
        return [
            Rollout(
                text,
                tokens=count_tokens(text),
                answer=answer,
                meta={"on_path": list(range(last + 1, len(path)))},
            )
        ]


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
