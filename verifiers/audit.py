"""Audit mode: run the math cascade's graders side by side and report where they disagree.

A verdict can depend on the grader: a plain string match fails "0.5" against "\\frac{1}{2}", a
numeric fast path cannot read "\\sqrt{2}", math-verify and a bare `sympy.simplify` differ on sets
and equations. `audit_item` extracts the answer once, runs every grader on it — `fast` (plain
numbers), `string` (normalised string equality), `math_verify` (math-verify parse+verify),
`sympy` (latex2sympy + simplify) — and the cascade's own verdict, and lists the graders whose
decision differs from that verdict. A grader that does not apply (or fails) says None.
Run it through the pool (`reasonmill.verifiers.audit(items)`), which logs every disagreement and
returns the rows; `summarise_audit` turns them into per-grader agreement rates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from reasonmill.verifiers.base import VerifyPolicy
from reasonmill.verifiers.extract import extract_answer
from reasonmill.verifiers.math_equivalence import (
    GoldUnparseable,
    MathTimeout,
    deadline,
    grade_fast,
    grade_math_verify,
    grade_string,
    grade_sympy,
    prose_to_number,
)

log = logging.getLogger(__name__)

GRADERS = {
    "fast": grade_fast,
    "string": grade_string,
    "math_verify": lambda g, a, p: grade_math_verify(g, prose_to_number(a), p),
    "sympy": grade_sympy,
}
MATH_KINDS = ("math",)


@dataclass(slots=True)
class AuditRow:
    """One item's verdict next to every grader's decision (None: the grader did not apply)."""

    kind: str
    gold: str
    answer: str | None
    passed: bool
    reason: str | None
    graders: dict[str, bool | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def disagreeing(self) -> list[str]:
        """Graders that reached a decision different from the verdict."""
        return [name for name, ok in self.graders.items() if ok is not None and ok != self.passed]


def audit_item(kind: str, gold: str, prediction: str | None, policy: VerifyPolicy) -> AuditRow:
    """Verdict plus every grader's decision for one item (call on a worker's main thread)."""
    from reasonmill.verifiers.checks import CheckItem, check_inline

    v = check_inline(CheckItem(kind, gold, prediction), policy)
    answer = extract_answer(prediction) if kind in MATH_KINDS else None
    row = AuditRow(kind, gold, answer, v.passed, v.reason)
    if answer is None:
        return row
    for name, grader in GRADERS.items():
        try:
            with deadline(policy.math_timeout_s):
                row.graders[name] = grader(gold, answer, policy)
        except GoldUnparseable:
            row.graders[name], row.notes[name] = None, "gold unparseable"
        except MathTimeout:
            row.graders[name], row.notes[name] = None, "timeout"
        except Exception as exc:
            row.graders[name], row.notes[name] = None, f"{type(exc).__name__}"
    return row


def log_disagreements(rows: list[AuditRow]) -> None:
    """One warning per row whose graders disagree with its verdict."""
    for i, row in enumerate(rows):
        if row.disagreeing:
            log.warning(
                "audit item %d: verdict %s but %s disagree (gold %r, answer %r, graders %s)",
                i,
                row.passed,
                ", ".join(row.disagreeing),
                row.gold[:60],
                (row.answer or "")[:60],
                row.graders,
            )


def summarise_audit(rows: list[AuditRow]) -> dict:
    """Per grader: how many items it decided and how often it agreed with the verdict."""
    out: dict = {
        "items": len(rows),
        "rows_with_disagreement": sum(bool(r.disagreeing) for r in rows),
        "graders": {},
    }
    for name in GRADERS:
        decided = [r for r in rows if r.graders.get(name) is not None]
        agree = sum(r.graders[name] == r.passed for r in decided)
        out["graders"][name] = {
            "decided": len(decided),
            "agree": agree,
            "agreement": round(agree / len(decided), 4) if decided else None,
        }
    return out
