"""The LLM teacher: n sampled traces per question, thinking in `<think>…</think>`, answer boxed.

render_teacher → call (one batched `generate` per shard, `n` samples per question) → parse_teacher.
Every sample that parses becomes a `Trace` (its verdict is set later by the verify stage), right or
wrong, so rejection sampling can keep the correct ones for SFT and the wrong ones for preferences.
A sample that does not parse (request failed, cut off at `max_tokens`, `<think>` never closed, no
final answer) is kept in `record.meta["llm_teacher"]["bad_samples"]` with its raw text and reason.
Only when *no* sample of a record parses does the record become a rejection — reason
`truncated_reply` if every bad sample was truncated, `request_failed` if every request failed,
else `malformed_reply` — with the raw texts in its detail.

Trace text is normalised to the programmatic teacher's shape ("<think>\\n…\\n</think>\\n\\n…") so
Retro-Search segments LLM and programmatic traces alike.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reasonmill.generators.llm.parsing import (
    MALFORMED,
    REQUEST_FAILED,
    TRUNCATED,
    ParseError,
    ReplyProblem,
    completion_problem,
    extract_final,
    marker,
    split_think,
)
from reasonmill.ids import content_id
from reasonmill.llm.base import LLMBackend
from reasonmill.llm.types import Completion, SamplingParams
from reasonmill.records import Record, Trace
from reasonmill.text import count_tokens, split_paragraphs

TEACHER_MARKER = marker("teacher")
SYSTEM_PROMPT = "\n".join(
    [
        TEACHER_MARKER,
        "You are a careful reasoner. Think step by step inside <think> and </think>, in paragraphs",
        "separated by blank lines; if a line of thought fails, say so and go back. After </think>,",
        "state the final answer once as \\boxed{ANSWER}.",
    ]
)


def render_teacher(question: str) -> list[dict[str, str]]:
    """The chat a teacher answers: the fixed system prompt and the question."""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]


@dataclass(frozen=True, slots=True)
class ParsedTrace:
    """A parsed teacher reply: the thinking (None without tags), the text after it, the answer."""

    thinking: str | None
    rest: str
    answer: str

    def text(self) -> str:
        """The trace text in the shared shape (`<think>` block, blank line, the rest)."""
        if self.thinking is None:
            return self.rest
        return f"<think>\n{self.thinking}\n</think>\n\n{self.rest}"


def parse_teacher(text: str) -> ParsedTrace:
    """Split thinking from the final answer; ParseError (`malformed_reply`) when the think tags are
    unbalanced or no final answer (`\\boxed{}`, `<answer>`, "Answer:") follows the thinking.

    A reply without any think tag is accepted (some servers strip them); its answer is taken from
    the whole reply.

    >>> parse_teacher("<think>\\n2+2 is 4.\\n</think>\\n\\nThe answer is \\\\boxed{4}.").answer
    '4'
    """
    thinking, rest, fault = split_think(text)
    if fault:
        raise ParseError(ReplyProblem(MALFORMED, f"think tags: {fault}", text))
    answer = extract_final(rest)
    if answer is None:
        raise ParseError(ReplyProblem(MALFORMED, "no final answer after the thinking", text))
    return ParsedTrace(thinking, rest, answer)


@dataclass(slots=True)
class TeacherOutcome:
    """One record's samples: the traces that parsed and the problems of those that did not."""

    traces: list[Trace] = field(default_factory=list)
    bad: list[ReplyProblem] = field(default_factory=list)

    def record_problem(self) -> ReplyProblem | None:
        """The record-level problem when no sample parsed (see the module docstring), else None."""
        if self.traces:
            return None
        reasons = Counter(b.reason for b in self.bad)
        reason = (
            next((r for r in (TRUNCATED, REQUEST_FAILED) if reasons[r] == len(self.bad)), MALFORMED)
            if self.bad
            else MALFORMED
        )
        detail = "; ".join(
            f"sample {i}: {b.reason}: {b.detail} | raw: {b.raw[:500]!r}" for i, b in enumerate(self.bad)
        )
        return ReplyProblem(reason, detail or "no samples", "\n\n-----\n\n".join(b.raw for b in self.bad))


def trace_from_completion(record_id: str, teacher: str, sample: int, c: Completion) -> Trace:
    """A Trace from one completion; raises ParseError for a reply that cannot be one."""
    bad = completion_problem(c)
    if bad is not None:
        raise ParseError(bad)
    parsed = parse_teacher(c.text)
    text = parsed.text()
    return Trace(
        id=content_id(record_id, teacher, sample, text),
        text=text,
        answer=parsed.answer,
        teacher=teacher,
        tokens=c.completion_tokens or count_tokens(text),
        steps=len(split_paragraphs(parsed.thinking or "")),
        # No "cached" flag here: a resumed build must write the same rows as an uninterrupted one.
        meta={"sample": sample, "llm": {"model": c.model, "think_tags": parsed.thinking is not None}},
    )


class LLMTeacher:
    """A teacher backed by any `LLMBackend`; `name` is how traces are signed ("llm:NAME")."""

    def __init__(self, backend: LLMBackend, name: str, sampling: SamplingParams | None = None) -> None:
        self.backend, self.name = backend, name
        self.sampling = sampling or SamplingParams(temperature=0.6, top_p=0.95, max_tokens=4096)

    def outcomes(self, records: list[Record], samples: int) -> list[TeacherOutcome]:
        """`samples` traces for each record in one batched call; outcomes aligned with `records`."""
        if not records:
            return []
        replies = self.backend.generate(
            [render_teacher(r.problem.question) for r in records], self.sampling.with_n(samples)
        )
        out = []
        for rec, comps in zip(records, replies, strict=True):
            o = TeacherOutcome()
            for i, c in enumerate(comps):
                try:
                    o.traces.append(trace_from_completion(rec.id, self.name, i, c))
                except ParseError as exc:
                    o.bad.append(exc.problem)
            out.append(o)
        return out

    def traces(self, record: Record, samples: int, backtracks: int = 0, seed: int = 0) -> list[Trace]:
        """The `Teacher` protocol for one record (backtracks do not apply to a model); raises
        ParseError when no sample parses."""
        o = self.outcomes([record], samples)[0]
        problem = o.record_problem()
        if problem is not None:
            raise ParseError(problem)
        return o.traces


def bad_samples_meta(outcome: TeacherOutcome) -> list[dict[str, Any]]:
    """The unparsed samples of an outcome as `record.meta` entries (raw text kept whole)."""
    return [b.as_meta() for b in outcome.bad]
