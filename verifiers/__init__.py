"""reasonmill.verifiers: answer extraction and checking, run in worker processes.

Public API:
    check(gold, prediction, kind="math", policy=None, timeout_s=10.0) -> Verdict
    check_many(items, policy=None, workers=2, timeout_s=10.0) -> list[Verdict]

Never imports reasonmill.generators.
"""

from __future__ import annotations

from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy, verifier_for_kind
from reasonmill.verifiers.extract import extract_answer
from reasonmill.verifiers.pool import CheckItem, VerifierPool, check_inline, shared_pool

from reasonmill.records import Verdict


def check(gold: str, prediction: str | None, kind: str = "math", policy: VerifyPolicy | None = None, timeout_s: float = 10.0) -> Verdict:
    """Check one prediction against its gold answer (gold first) in a worker process.

    >>> check("1/2", "The answer is \\\\boxed{0.5}").passed
    True
    """
    return shared_pool(1, timeout_s, policy).check_many([CheckItem(kind, gold, prediction)])[0]


def check_many(items: list[CheckItem], policy: VerifyPolicy | None = None, workers: int = 2, timeout_s: float = 10.0) -> list[Verdict]:
    """Check many items in parallel worker processes, in order."""
    return shared_pool(workers, timeout_s, policy).check_many(items)


__all__ = [
    "VERIFIERS",
    "CheckItem",
    "Verifier",
    "VerifierPool",
    "VerifyPolicy",
    "check",
    "check_inline",
    "check_many",
    "extract_answer",
    "shared_pool",
    "verifier_for_kind",
]
