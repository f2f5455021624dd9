"""LLM judge for free-form answers: render (question, gold, candidate) → call → parse "1"/"0".

Free-form answers ("because supply fell") have no rule-based check, so a model decides whether
the candidate's final answer means the same as the gold. Why it is not in `VERIFIERS`: registered
verifiers run in the pool's worker processes, one item at a time, which is wrong for an HTTP
judge (no batching, a client per process). The verify stage therefore calls `LLMJudge.check_many`
in-process, batched through the backend, for kind "free_form", and the pool for every other kind;
without a judge configured, free-form stays `unverifiable`, never "wrong".

Scoring: when the backend reports the first token's top log-probabilities
(`completion.meta["top_logprobs"]`, a token → logprob map), the score is
P("1") / (P("1") + P("0")); otherwise it is the parsed digit. The candidate passes at score ≥
`threshold` (0.5). Before any call: no extractable answer is `no_answer`; an answer equal to the
gold after normalisation passes without asking. A reply that cannot be parsed, or a failed or
truncated request, is an `error` verdict with the raw text in its detail — "could not check",
never "mismatch".

>>> parse_judge("**1**"), parse_judge('{"verdict": 0}'), parse_judge("maybe")
(1.0, 0.0, None)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from reasonmill.llm.base import LLMBackend
from reasonmill.llm.types import Completion, SamplingParams
from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.exact import normalise
from reasonmill.verifiers.extract import extract_answer

JUDGE_MARKER = "[reasonmill:judge]"
NAME = "judge"
SYSTEM_PROMPT = "\n".join(
    [
        JUDGE_MARKER,
        "You grade answers. Reply 1 if the candidate's final answer means the same as the reference",
        "answer (wording, units and formatting may differ), 0 if it does not. Reply with the digit only.",
    ]
)


@dataclass(frozen=True, slots=True)
class JudgeItem:
    """One free-form check: the question, the gold answer, the prediction (bare or whole output)."""

    question: str
    gold: str
    prediction: str | None


def render_judge(question: str, gold: str, candidate: str) -> list[dict[str, str]]:
    """The chat the judge answers with one digit."""
    user = f"Question:\n{question}\n\nReference answer:\n{gold}\n\nCandidate answer:\n{candidate}\n\nSame meaning? Reply 1 or 0."
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


_JSON_KEYS = ("verdict", "score", "correct", "label", "answer")


def parse_judge(text: str) -> float | None:
    """1.0 or 0.0 from a judge reply ("1", "0.", "**0**", "Verdict: 1", {"verdict": 1},
    {"correct": true}), or None when it says neither or both.

    >>> parse_judge("1"), parse_judge("Verdict: 0."), parse_judge("1 or 0")
    (1.0, 0.0, None)
    """
    t = text.strip()
    try:
        data = json.loads(t.strip("`").removeprefix("json").strip())
    except ValueError:
        data = None
    if isinstance(data, dict):
        for k in _JSON_KEYS:
            v = data.get(k)
            if isinstance(v, bool):
                return float(v)
            if v in (0, 1, "0", "1"):
                return float(v)
        return None
    digits = set(re.findall(r"(?<![\d.])([01])(?!\d|\.\d)", t))
    if len(digits) == 1:
        return float(digits.pop())
    words = t.casefold()
    yes, no = (
        re.search(r"\b(yes|correct|same)\b", words),
        re.search(r"\b(no|incorrect|different|not)\b", words),
    )
    if yes and not no:
        return 1.0
    if no and not yes:
        return 0.0
    return None


def logprob_score(top_logprobs: Mapping[str, float]) -> float | None:
    """P("1") / (P("1") + P("0")) from a first-token top-logprob map; None when neither is there.

    >>> round(logprob_score({"1": math.log(0.6), "0": math.log(0.2), " ": -5.0}), 2)
    0.75
    """
    p1 = sum(math.exp(v) for k, v in top_logprobs.items() if k.strip() == "1")
    p0 = sum(math.exp(v) for k, v in top_logprobs.items() if k.strip() == "0")
    return p1 / (p1 + p0) if p1 + p0 > 0 else None


class LLMJudge:
    """Batched judge over an `LLMBackend` (see the module docstring); `name` signs its verdicts."""

    def __init__(
        self,
        backend: LLMBackend,
        threshold: float = 0.5,
        sampling: SamplingParams | None = None,
        name: str = NAME,
    ) -> None:
        self.backend, self.threshold, self.name = backend, threshold, name
        # The first token's top log-probabilities are asked for, so the score is P("1")/(P("1")+P("0"))
        # where the server returns them; servers that do not fall back to the parsed digit.
        self.sampling = sampling or SamplingParams(temperature=0.0, max_tokens=16, top_logprobs=5)

    def _verdict(self, passed: bool, reason: Reason | None = None, detail: str = "") -> Verdict:
        return Verdict(passed, self.name, None if passed else (reason or Reason.MISMATCH).value, detail)

    def read(self, c: Completion) -> Verdict:
        """The verdict one judge reply gives (pure)."""
        if c.error is not None or c.finish_reason == "error":
            return self._verdict(
                False,
                Reason.ERROR,
                f"judge request failed: {c.error}; raw: {str(c.meta.get('raw', c.text))[:1000]}",
            )
        if c.finish_reason != "stop":
            return self._verdict(False, Reason.ERROR, f"judge reply {c.finish_reason}: raw: {c.text[:1000]}")
        top = c.meta.get("top_logprobs")
        score = logprob_score(top) if isinstance(top, Mapping) else None
        source = "logprobs"
        if score is None:
            score, source = parse_judge(c.text), "digit"
        if score is None:
            return self._verdict(False, Reason.ERROR, f"unparseable judge reply: raw: {c.text[:1000]}")
        passed = score >= self.threshold
        return self._verdict(passed, Reason.MISMATCH, f"judge {source} score {score:.3f}")

    def check_many(self, items: list[JudgeItem]) -> list[Verdict]:
        """Verdicts for `items`, in order; one batched backend call for those that need the judge."""
        out: list[Verdict | None] = [None] * len(items)
        ask: list[int] = []
        answers: dict[int, str] = {}
        for i, it in enumerate(items):
            answer = extract_answer(it.prediction) if it.prediction is not None else None
            if (
                answer is None
                and it.prediction is not None
                and "\n" not in it.prediction.strip()
                and len(it.prediction) < 200
            ):
                answer = it.prediction.strip() or None  # a bare answer, not a whole output
            if answer is None:
                out[i] = self._verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
            elif normalise(answer) == normalise(it.gold):
                out[i] = self._verdict(True, detail="equal to the gold after normalisation")
            else:
                answers[i] = answer
                ask.append(i)
        if ask:
            convs = [render_judge(items[i].question, items[i].gold, answers[i]) for i in ask]
            for i, reply in zip(ask, self.backend.generate(convs, self.sampling.with_n(1)), strict=True):
                out[i] = self.read(reply[0])
        return [v for v in out if v is not None]
