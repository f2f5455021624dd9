"""reasonmill.verifiers: answer extraction and checking, run in worker processes.

Public API (gold always first — equivalence is not symmetric):

    check(gold, prediction, kind="math", policy=None, timeout_s=10.0) -> Verdict
    check_many(items, policy=None, workers=2, timeout_s=10.0) -> list[Verdict]
    audit(items, policy=None, workers=2, timeout_s=10.0) -> list[AuditRow]
    accuracy_reward(completions, solution, **kwargs) -> list[float | None]   (TRL reward)

Verifiers register by name in `VERIFIERS`; a record's answer kind picks one
(`verifier_for_kind`): math, numeric, exact, exact_strict, choice, code, countdown,
reasoning_gym. "free_form" has no verifier until an LLM judge is registered: it is
`unverifiable`, never "wrong". Every contested convention (list order, percent, units, several
boxes, Countdown rules...) is a `VerifyPolicy` field; docs/verification-policy.md compares each
default with math-verify, lighteval, NeMo-Skills and TRL.

Never imports reasonmill.generators or reasonmill.pipelines.
"""

from __future__ import annotations

from reasonmill.records import Verdict
from reasonmill.verifiers.audit import AuditRow, log_disagreements, summarise_audit
from reasonmill.verifiers.base import VERIFIERS, SandboxLimits, Verifier, VerifyPolicy, verifier_for_kind
from reasonmill.verifiers.extract import Extraction, extract, extract_answer, extract_choice
from reasonmill.verifiers.pool import CheckItem, VerifierPool, check_inline, shared_pool
from reasonmill.verifiers.rewards import accuracy_reward


def check(
    gold: str,
    prediction: str | None,
    kind: str = "math",
    policy: VerifyPolicy | None = None,
    timeout_s: float = 10.0,
) -> Verdict:
    """Check one prediction (a bare answer or a whole model output) against its gold answer, in a
    worker process under a hard timeout.

    >>> check("1/2", "The answer is \\\\boxed{0.5}").passed
    True
    >>> check("18", "I could not finish.").reason
    'no_answer'
    """
    return shared_pool(1, timeout_s, policy).check_many([CheckItem(kind, gold, prediction)])[0]


def check_many(
    items: list[CheckItem], policy: VerifyPolicy | None = None, workers: int = 2, timeout_s: float = 10.0
) -> list[Verdict]:
    """Check many items in parallel worker processes; verdicts in the items' order."""
    return shared_pool(workers, timeout_s, policy).check_many(items)


def audit(
    items: list[CheckItem], policy: VerifyPolicy | None = None, workers: int = 2, timeout_s: float = 10.0
) -> list[AuditRow]:
    """Every grader of the math cascade side by side for each item; logs each disagreement.

    `summarise_audit(rows)` gives per-grader agreement with the verdict.
    """
    rows = shared_pool(workers, timeout_s, policy).audit_many(items)
    log_disagreements(rows)
    return rows


__all__ = [
    "VERIFIERS",
    "AuditRow",
    "CheckItem",
    "Extraction",
    "SandboxLimits",
    "Verifier",
    "VerifierPool",
    "VerifyPolicy",
    "accuracy_reward",
    "audit",
    "check",
    "check_inline",
    "check_many",
    "extract",
    "extract_answer",
    "extract_choice",
    "shared_pool",
    "summarise_audit",
    "verifier_for_kind",
]
