"""One check, run in this process: `CheckItem` (kind, gold, prediction) and `check_inline`.

The worker pool (`reasonmill.verifiers.pool`) runs these in its processes under a hard timeout;
the audit (`reasonmill.verifiers.audit`) and tests call `check_inline` directly. Kept apart from
the pool so that neither of those two imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VerifyPolicy, verifier_for_kind


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One check: answer kind, gold answer, prediction text (bare answer or full output)."""

    kind: str
    gold: str
    prediction: str | None


def check_inline(item: CheckItem, policy: VerifyPolicy) -> Verdict:
    """Run one check in this process; any failure becomes an `error` verdict."""
    try:
        verifier = verifier_for_kind(item.kind)
    except KeyError as exc:  # includes RegistryError; "free_form" stays unregistered until a judge is
        return Verdict(False, "pool", Reason.UNVERIFIABLE.value, f"no verifier for kind {item.kind!r}: {exc}")
    try:
        return verifier.check(item.gold, item.prediction, policy)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # math-verify's TimeoutException is a BaseException
        reason = Reason.TIMEOUT if "timeout" in type(exc).__name__.lower() else Reason.ERROR
        return Verdict(False, verifier.name, reason.value, f"{type(exc).__name__}: {exc}")
