"""LLM multi-hop composition of synthesized sub-questions: Bridging, Comparison, Temporal.

For LLM seeds the gold answer cannot be computed, so the model writes one multi-hop question that
needs every sub-question of a background, with its answer, as JSON; then a rule checks the answer
against the sub-answers it was built from. The checks are necessary, not sufficient — they catch
an answer that invented a fact the sub-answers do not contain, not a subtly wrong question:

- **bridging** (the answer of one question is an input of the next): the final answer must be the
  answer at the end of the chain, so it must say the same as one of the sub-answers (numbers
  compared as numbers, text after normalisation);
- **comparison** (compare the results of two questions): the answer must name one of the compared
  items (mention a sub-answer as whole words), or be a number computable from two numeric
  sub-answers (difference either way, absolute difference, sum, ratio either way);
- **temporal** (order of events): the answer must name at least one sub-answer (the event or date
  that comes first or last), and every number in it must be a sub-answer (no invented dates).

The rule cannot tell whether the question really needs *every* sub-question; it only rejects a
question that merely repeats one of them.

A reply that is not JSON with a question and an answer is `malformed_reply`; an answer that fails
its check is `inconsistent_answer`; both keep the raw text.

>>> check_consistency("comparison", "3", ["12", "15"])
(True, 'numeric: 15 - 12 = 3')
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from reasonmill.generators.llm.mindgym import SubQuestion
from reasonmill.generators.llm.parsing import (
    MALFORMED,
    ParseError,
    ReplyProblem,
    as_number,
    completion_problem,
    extract_json,
    marker,
    mentions,
    normalise,
    same_answer,
)
from reasonmill.llm.base import LLMBackend
from reasonmill.llm.types import SamplingParams

COMPOSE_MARKER = marker("mindgym-compose")
INCONSISTENT = "inconsistent_answer"

Check = Callable[[str, list[str]], tuple[bool, str]]


def _check_bridging(answer: str, subs: list[str]) -> tuple[bool, str]:
    for i, s in enumerate(subs):
        if same_answer(answer, s):
            return True, f"equals sub-answer {i + 1}"
    return False, "answer equals no sub-answer (a bridge ends at one of them)"


def _numeric_relations(subs: list[str]) -> list[tuple[Fraction, str]]:
    nums = [n for n in (as_number(s) for s in subs) if n is not None]
    out: list[tuple[Fraction, str]] = []
    for a, b in itertools.permutations(nums, 2):
        out.append((a - b, f"{a} - {b} = {a - b}"))
        out.append((a + b, f"{a} + {b} = {a + b}"))
        if b != 0:
            out.append((a / b, f"{a} / {b} = {a / b}"))
    return out


def _check_comparison(answer: str, subs: list[str]) -> tuple[bool, str]:
    for i, s in enumerate(subs):
        if mentions(answer, s):
            return True, f"names sub-answer {i + 1}"
    value = as_number(answer)
    if value is not None:
        for v, how in _numeric_relations(subs):
            if v == value:
                return True, f"numeric: {how}"
    return False, "answer names no compared item and is no difference, sum or ratio of two sub-answers"


def _check_temporal(answer: str, subs: list[str]) -> tuple[bool, str]:
    named = [i for i, s in enumerate(subs) if mentions(answer, s)]
    if not named:
        return False, "answer names no event or date among the sub-answers"
    known = {as_number(s) for s in subs} - {None}
    stray = [tok for tok in re.findall(r"\d[\d,]*", answer) if as_number(tok) not in known]
    if stray:
        return False, f"answer has numbers not among the sub-answers: {', '.join(stray[:3])}"
    return True, "names sub-answer(s) " + ", ".join(str(i + 1) for i in named)


@dataclass(frozen=True, slots=True)
class LLMPrinciple:
    """A composition principle for LLM seeds: how to ask for it and how to check the answer."""

    name: str
    instruction: str
    check: Check


LLM_PRINCIPLES: dict[str, LLMPrinciple] = {
    p.name: p
    for p in (
        LLMPrinciple(
            "bridging",
            "Bridging: chain the facts so that the answer of one sub-question is a needed input of the next; "
            "the final answer is the answer at the end of the chain.",
            _check_bridging,
        ),
        LLMPrinciple(
            "comparison",
            "Comparison: the question compares the results of the sub-questions (which is larger, earlier, "
            "or by how much); the answer names the winning item or gives the numeric difference.",
            _check_comparison,
        ),
        LLMPrinciple(
            "temporal",
            "Temporal: the question asks about the order of the events in the sub-questions (which came "
            "first or last); the answer names that event or date.",
            _check_temporal,
        ),
    )
}
"""LLM composition principles by config name."""


def check_consistency(principle: str, answer: str, sub_answers: list[str]) -> tuple[bool, str]:
    """Whether `answer` is consistent with `sub_answers` under `principle` (see the module docs)."""
    return LLM_PRINCIPLES[principle].check(answer, sub_answers)


def render_compose(principle: str, background: str, subs: list[SubQuestion]) -> list[dict[str, str]]:
    """The chat asking for one multi-hop question under `principle` that needs every sub-question."""
    numbered = "\n".join(f"{i + 1}. Q: {s.question}\n   A: {s.answer}" for i, s in enumerate(subs))
    content = "\n".join(
        [
            COMPOSE_MARKER,
            f"Principle: {principle}",
            LLM_PRINCIPLES[principle].instruction,
            "",
            "Background:",
            background,
            "",
            "Sub-questions with their answers:",
            numbered,
            "",
            "Write ONE question that cannot be answered without answering every sub-question above, and",
            "its short final answer, which must follow from the sub-answers.",
            'Reply with JSON only: {"question": "...", "answer": "...", "reasoning": "..."}',
        ]
    )
    return [{"role": "user", "content": content}]


@dataclass(frozen=True, slots=True)
class ComposedQA:
    """A parsed multi-hop reply: the question, its answer and the model's reasoning (may be empty)."""

    question: str
    answer: str
    reasoning: str = ""


def parse_compose(text: str) -> ComposedQA:
    """The {question, answer, reasoning?} object of a reply; ParseError when fields are missing.

    >>> parse_compose('Here it is: {"question": "Q?", "answer": 7}')
    ComposedQA(question='Q?', answer='7', reasoning='')
    """
    try:
        data = extract_json(text)
    except ValueError as exc:
        raise ParseError(ReplyProblem(MALFORMED, f"multi-hop: {exc}", text)) from None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        raise ParseError(ReplyProblem(MALFORMED, "multi-hop: JSON is not an object", text))
    q, a = data.get("question"), data.get("answer")
    missing = [
        k
        for k, v in (("question", q), ("answer", a))
        if not isinstance(v, str | int | float) or isinstance(v, bool) or not str(v).strip()
    ]
    if missing:
        raise ParseError(ReplyProblem(MALFORMED, f"multi-hop: missing {', '.join(missing)}", text))
    reasoning = data.get("reasoning")
    return ComposedQA(str(q).strip(), str(a).strip(), str(reasoning).strip() if reasoning else "")


@dataclass(slots=True)
class ComposeJob:
    """One multi-hop item to make: a principle over the sub-questions of one background."""

    principle: str
    background: str
    subs: list[SubQuestion]


@dataclass(slots=True)
class ComposeResult:
    """The outcome of one job: the composed QA and the check's note, or the problem (raw kept)."""

    qa: ComposedQA | None = None
    check: str = ""
    problem: ReplyProblem | None = None
    raw: str = ""
    notes: dict[str, str] = field(default_factory=dict)


def compose_one(job: ComposeJob, text: str) -> ComposeResult:
    """Parse and check one reply for `job` (pure)."""
    try:
        qa = parse_compose(text)
    except ParseError as exc:
        return ComposeResult(problem=exc.problem, raw=text)
    if any(normalise(qa.question) == normalise(s.question) for s in job.subs):
        return ComposeResult(
            qa, problem=ReplyProblem(INCONSISTENT, "question repeats a sub-question", text), raw=text
        )
    ok, why = check_consistency(job.principle, qa.answer, [s.answer for s in job.subs])
    if not ok:
        return ComposeResult(qa, why, ReplyProblem(INCONSISTENT, f"{job.principle}: {why}", text), raw=text)
    return ComposeResult(qa, why, raw=text)


def compose_many(
    backend: LLMBackend, jobs: list[ComposeJob], sampling: SamplingParams | None = None
) -> list[ComposeResult]:
    """Render, call (one batched request) and parse every job; results aligned with `jobs`."""
    if not jobs:
        return []
    sampling = sampling or SamplingParams(temperature=0.7, top_p=0.95, max_tokens=1024)
    replies = backend.generate([render_compose(j.principle, j.background, j.subs) for j in jobs], sampling)
    out = []
    for job, reply in zip(jobs, replies, strict=True):
        c = reply[0]
        bad = completion_problem(c)
        out.append(ComposeResult(problem=bad, raw=bad.raw) if bad else compose_one(job, c.text))
    return out
