"""What a verifier is, and the registry that maps names and answer kinds to verifiers.

A verifier takes the gold answer first (equivalence checks are not symmetric: math-verify's
`verify(gold, target)` says so) and a prediction, which may be a bare answer or a whole model
output, and returns a `Verdict`. "Could not check" (unverifiable gold, timeout, error) is never
"wrong" (mismatch) and never "no answer".
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reasonmill.records import Reason, Verdict
from reasonmill.registry import Registry


class SandboxLimits(BaseModel):
    """Limits for running candidate programs (kind "code"); see `reasonmill.verifiers.sandbox`.

    With `service_url` the candidate runs in an external sandbox service instead
    (`reasonmill.verifiers.sandbox_service`); the verdict is still this process's comparison.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    cpu_s: int = Field(default=2, ge=1, description="RLIMIT_CPU per test run, seconds")
    wall_s: float = Field(default=4.0, gt=0, description="wall-clock limit per test run, seconds")
    memory_mb: int = Field(default=512, ge=64, description="RLIMIT_AS (address space), MiB")
    output_bytes: int = Field(default=65536, ge=1024, description="stdout+stderr read at most, bytes")
    file_size_mb: int = Field(default=8, ge=0, description="RLIMIT_FSIZE: largest file it may write, MiB")
    processes: int = Field(default=16, ge=1, description="RLIMIT_NPROC for the sandbox's own user id")
    network: bool = Field(default=False, description="allow sockets (the audit hook and netns are skipped)")
    disk_mb: int = Field(
        default=64, ge=1, description="size of the run's own tmpfs folder (/sandbox, /tmp), MiB"
    )
    result_bytes: int = Field(default=1 << 20, ge=1024, description="results channel read at most, bytes")
    service_url: str | None = Field(
        default=None, description="run candidates in a SandboxFusion-style service (POST {url}/run_code)"
    )
    service_timeout_s: float = Field(default=60.0, gt=0, description="total deadline per service request, s")


class VerifyPolicy(BaseModel):
    """Explicit policy for contested cases, shared by all verifiers (config, not code).

    Every convention a grader could silently decide either way is a field here, with the default
    the research uses. `model_dump_json()` travels to the worker processes, so the policy a user
    sets is the policy every worker applies. Where each switch acts:

    | field | plain numbers (fast path) | other math (math-verify) |
    |---|---|---|
    | rel_tol, abs_tol | exact rationals within tolerance | `float_rounding` digits instead |
    | percent | "either"/"fraction"/"number" as documented | math-verify's own rule (either) |
    | strip_units | units (incl. currency `\\$`, `\\text{}`, °) ignored or must match | math-verify drops text units |
    | unordered_lists | bare comma lists, element by element | same (lists are split first) |
    | thousands_separators | "1,234" one number, or a 2-element list | same (split first) |
    | case_sensitive | kinds exact and choice | — |

    A bare leading "$" is read as a LaTeX math delimiter, not as currency.

    >>> VerifyPolicy(percent="number").percent
    'number'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Numbers are equal when |a-b| <= max(abs_tol, rel_tol*max(|a|,|b|)); both 0: exact rationals.
    rel_tol: float = Field(default=1e-9, ge=0)
    abs_tol: float = Field(default=0.0, ge=0)
    # Digits math-verify rounds floats to before comparing (non-plain answers only).
    float_rounding: int = Field(default=6, ge=0)
    # "50%": "either" equals 50 and 0.5; "fraction" only 0.5; "number" only 50.
    percent: Literal["either", "fraction", "number"] = "either"
    # Trailing units ("12 cm", "12\\text{ cm}", "$12") are ignored when True; when False an
    # answer whose unit differs from the gold's (including a unit against none) is a mismatch.
    strip_units: bool = True
    # A bare comma list ("3, 1, 2") matches a permutation of the gold when True; in order when
    # False. Parenthesised tuples, intervals and sets keep their mathematical meaning either way.
    unordered_lists: bool = False
    # "1,234" is one number when True; a two-element list when False.
    thousands_separators: bool = True
    # Case-sensitive string matching (kinds exact, choice).
    case_sensitive: bool = False
    # math-verify's own signal.alarm timeout per parse/verify call, seconds; the pool's hard
    # per-item timeout stands behind it.
    math_timeout_s: int = Field(default=5, ge=1)
    # Letters a multiple-choice answer may use.
    choice_letters: str = Field(default="ABCDEFGHIJ", min_length=2)
    # Limits for code verification.
    sandbox: SandboxLimits = SandboxLimits()


class Verifier(ABC):
    """A checker for one or more answer kinds; registered by name."""

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Check `prediction` against `gold` (gold first). Never raises on bad predictions."""

    def verdict(self, passed: bool, reason: Reason | None = None, detail: str = "") -> Verdict:
        """A Verdict signed with this verifier's name."""
        return Verdict(
            passed=passed,
            verifier=self.name,
            reason=None if passed else (reason or Reason.MISMATCH).value,
            detail=detail,
        )


def _load() -> None:
    pkg = importlib.import_module("reasonmill.verifiers")
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_") and info.name not in ("base",):
            importlib.import_module(f"reasonmill.verifiers.{info.name}")


VERIFIERS: Registry[Any] = Registry("verifier", loader=_load)


def verifier_for_kind(kind: str) -> Verifier:
    """The verifier registered for answer kind `kind` (a verifier's own name also works)."""
    for _, v in VERIFIERS.items():
        if kind in v.kinds:
            return v
    return VERIFIERS.get(kind)
