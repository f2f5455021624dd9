"""Student sampling for empirical difficulty: k answers per question from a (smaller) model.

render_student → call (one batched `generate`, `n = k`) → the raw texts. Checking the answers
is the pipeline's job (generators never import verifiers); a sample whose request failed or was
cut off is marked unusable here so it counts neither as right nor as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasonmill.generators.llm.parsing import completion_problem, marker
from reasonmill.llm.base import LLMBackend
from reasonmill.llm.types import SamplingParams

STUDENT_MARKER = marker("student")


def render_student(question: str) -> list[dict[str, str]]:
    """The chat a student answers: the question and the answer format."""
    content = f"{STUDENT_MARKER}\n{question}\n\nSolve it and give the final answer as \\boxed{{ANSWER}}."
    return [{"role": "user", "content": content}]


@dataclass(frozen=True, slots=True)
class StudentSample:
    """One student reply: its text, and why it cannot be checked (None when it can)."""

    text: str
    unusable: str | None = None


def sample_students(
    backend: LLMBackend, questions: list[str], k: int, sampling: SamplingParams | None = None
) -> list[list[StudentSample]]:
    """`k` replies per question in one batched call, aligned with `questions`."""
    if not questions:
        return []
    sampling = (sampling or SamplingParams(temperature=1.0, top_p=1.0, max_tokens=2048)).with_n(k)
    replies = backend.generate([render_student(q) for q in questions], sampling)
    out = []
    for comps in replies:
        row = []
        for c in comps:
            bad = completion_problem(c)
            row.append(StudentSample(c.text, None if bad is None else bad.reason))
        out.append(row)
    return out
