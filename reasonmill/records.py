"""The typed rows that flow through every stage: Problem, Verdict, Trace, Record, Rejection.

One row shape for the whole build (datatrove's `Document`, with typed fields where it keeps an
untyped dict). Free-form data lives only in the namespaced `meta` dicts, e.g.
`{"solver": {"nodes": 12}}`. The Arrow schema that stores these rows is in `reasonmill.schema`,
next to the converters, and is the single source of truth for shards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reasonmill.ids import content_id


class AnswerKind(StrEnum):
    """How a gold answer is checked; selects the verifier."""

    MATH = "math"
    EXACT = "exact"
    CHOICE = "choice"
    CODE = "code"
    FREE_FORM = "free_form"


class Reason(StrEnum):
    """Why a verdict did not pass. "Could not check" (timeout, error, unverifiable) is never "wrong"."""

    NO_ANSWER = "no_answer"
    MISMATCH = "mismatch"
    TIMEOUT = "timeout"
    ERROR = "error"
    UNVERIFIABLE = "unverifiable"


@dataclass(slots=True)
class Problem:
    """A question with its canonical gold answer and the kind of check that answer needs."""

    question: str
    answer: str
    kind: str = AnswerKind.MATH.value
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Verdict:
    """The outcome of checking one answer; `reason` is set exactly when `passed` is False."""

    passed: bool
    verifier: str
    reason: str | None = None
    detail: str = ""

    @property
    def checked(self) -> bool:
        """True when the verifier reached a decision (passed or a real mismatch/no answer)."""
        return self.passed or self.reason in (Reason.MISMATCH, Reason.NO_ANSWER)


@dataclass(slots=True)
class Trace:
    """One reasoning trace for a record: the thinking, the final answer, and its verdict.

    `parent_id` points at the trace a Retro-Search revision rewrote; `tokens` and `steps` measure
    length so revisions can be compared with their parents.
    """

    id: str
    text: str
    answer: str | None
    teacher: str
    tokens: int
    steps: int = 0
    parent_id: str | None = None
    verdict: Verdict | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Record:
    """The unit of work: a problem, where it came from, its traces and its scores."""

    id: str
    source: str
    seed: int
    index: int
    level: int
    problem: Problem
    parents: list[str] = field(default_factory=list)
    principle: str | None = None
    traces: list[Trace] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def make_id(
        source: str, seed: int, index: int, problem: Problem, parents: list[str] | None = None
    ) -> str:
        """The stable content-hash id of a record: same inputs, same id, on every machine."""
        return content_id(source, seed, index, problem.question, problem.answer, parents or [])


@dataclass(slots=True)
class Rejection:
    """A record a stage dropped, with the stage, a machine-readable reason and a human detail.

    Rejections are data: they are written to the stage's `rejected/` shards and counted in the
    manifest, never just logged.
    """

    record: Record
    stage: str
    reason: str
    detail: str = ""
