"""LLM judges used by curation: render → call → parse, with render and parse pure.

Two questions are asked, each answered with one digit so the first token's log-probabilities
give a calibrated score P("1") / (P("1") + P("0")) (`reasonmill.verifiers.judge.logprob_score`),
falling back to the parsed digit when the server sends no logprobs:

- contamination confirmation: "is the candidate the same problem as the benchmark question,
  possibly reworded? 1 yes, 0 no (a different problem, e.g. the same template with other
  numbers)" (Yang et al., "Rethinking Benchmark and Contamination ... Rephrased Samples");
- difficulty: "1 if the problem is difficult, 0 if not" (the judge-difficulty selector).

Requests always ask for `top_logprobs` (`SamplingParams.top_logprobs=5`), which the
OpenAI-compatible backend sends as `logprobs`/`top_logprobs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reasonmill.llm.base import LLMBackend
from reasonmill.llm.types import Completion, SamplingParams
from reasonmill.verifiers.judge import logprob_score, parse_judge

SAME_PROBLEM_SYSTEM = (
    "You check benchmark contamination. Reply 1 if the two problems are the same problem, possibly "
    "reworded, reordered or with different formatting (solving one solves the other). Reply 0 if they "
    "are different problems, including the same template with different numbers or conditions. "
    "Reply with the digit only."
)
DIFFICULTY_SYSTEM = (
    "You rate problems for a training set. Reply 1 if the problem is difficult (it needs several "
    "non-obvious reasoning steps), 0 if it is not. Reply with the digit only."
)


def render_same_problem(candidate: str, benchmark_question: str) -> list[dict[str, str]]:
    """The chat asking whether `candidate` is `benchmark_question` reworded."""
    user = f"Problem A:\n{benchmark_question}\n\nProblem B:\n{candidate}\n\nSame problem? Reply 1 or 0."
    return [{"role": "system", "content": SAME_PROBLEM_SYSTEM}, {"role": "user", "content": user}]


def render_difficulty(question: str) -> list[dict[str, str]]:
    """The chat asking whether `question` is difficult."""
    user = f"Problem:\n{question}\n\nIs this problem difficult? Reply 1 or 0."
    return [{"role": "system", "content": DIFFICULTY_SYSTEM}, {"role": "user", "content": user}]


@dataclass(frozen=True, slots=True)
class JudgeScore:
    """A judge's answer: `score` in [0, 1] (None when unusable), how it was read, and why not."""

    score: float | None
    source: str  # "logprobs", "digit" or "error"
    detail: str = ""


def read_score(c: Completion) -> JudgeScore:
    """The score one reply gives (pure): logprobs when present, else the digit, else an error.

    >>> import math
    >>> round(read_score(Completion("1", "stop", meta={"top_logprobs": {"1": math.log(0.3), "0": math.log(0.1)}})).score, 3)
    0.75
    >>> read_score(Completion("0", "stop")).score, read_score(Completion("maybe", "stop")).source
    (0.0, 'error')
    """
    if c.error is not None or c.finish_reason == "error":
        return JudgeScore(None, "error", f"judge request failed: {c.error}")
    top = c.meta.get("top_logprobs")
    score = logprob_score(top) if isinstance(top, Mapping) else None
    if score is not None:
        return JudgeScore(score, "logprobs")
    digit = parse_judge(c.text)
    if digit is None:
        return JudgeScore(None, "error", f"unparseable judge reply: {c.text[:200]!r}")
    return JudgeScore(digit, "digit")


def judge_sampling(max_tokens: int = 8) -> SamplingParams:
    """Greedy, short, with the first token's top-5 logprobs requested."""
    return SamplingParams(temperature=0.0, max_tokens=max_tokens, top_logprobs=5)


def ask(backend: LLMBackend, chats: Sequence[list[dict[str, str]]], max_tokens: int = 8) -> list[JudgeScore]:
    """One batched call; a score per chat, in order."""
    if not chats:
        return []
    results = backend.generate(list(chats), judge_sampling(max_tokens))
    return [read_score(r[0]) if r else JudgeScore(None, "error", "no reply") for r in results]
