"""A reward function with TRL's signature, for GRPO training on the project's verifiers.

TRL calls reward functions as `f(prompts=..., completions=..., **dataset_columns)` and takes
`list[float | None]`; None means "no reward for this sample" (TRL's own `accuracy_reward` returns
None when the gold cannot be parsed). Here the gold column is `solution`; an optional `kind`
column picks the verifier per row (math by default). Checks run in the shared worker pool, so
math-verify's signal-based timeouts work even though the trainer calls from its own threads.

>>> accuracy_reward([[{"role": "assistant", "content": "\\\\boxed{4}"}]], solution=["4"])
[1.0]
"""

from __future__ import annotations

from typing import Any

from reasonmill.records import Reason
from reasonmill.verifiers.base import VerifyPolicy
from reasonmill.verifiers.pool import CheckItem, shared_pool

# Reasons after which the sample earns no reward signal at all (could not check the gold).
_NO_SIGNAL = {Reason.UNVERIFIABLE.value}


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a plain string, or a conversation's last assistant message."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        msgs = [m for m in completion if isinstance(m, dict)]
        assistant = [m for m in msgs if m.get("role") == "assistant"] or msgs
        return str(assistant[-1].get("content", "")) if assistant else ""
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return str(completion)


def accuracy_reward(
    completions: list[Any],
    solution: list[str],
    kind: list[str] | None = None,
    policy: VerifyPolicy | None = None,
    workers: int = 2,
    timeout_s: float = 10.0,
    **kwargs: Any,
) -> list[float | None]:
    """1.0 when a completion's answer matches its solution, 0.0 when not, None when the gold is
    unverifiable. Timeouts and errors give 0.0 (the trainer needs a number; the model did not
    produce a checkable answer in time)."""
    kinds = kind if kind is not None else ["math"] * len(solution)
    items = [
        CheckItem(k or "math", str(s), completion_text(c))
        for c, s, k in zip(completions, solution, kinds, strict=True)
    ]
    verdicts = shared_pool(workers, timeout_s, policy).check_many(items)
    return [None if v.reason in _NO_SIGNAL else float(v.passed) for v in verdicts]
