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

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class CountdownRules(BaseModel):
    """What a Countdown expression may do (kind "countdown"); two conventions exist.

    The default is the classic game, which our family states in its question: each given number
    at most once, and every intermediate result a positive integer. reasoning-gym's scorer
    (`reasoning_gym/games/countdown.py::score_answer`) instead requires every number exactly once
    and accepts any value path (a unary minus, a fraction on the way) whose result is within 1e-6
    of the target: `CountdownRules.reasoning_gym()`, or `VerifyPolicy(countdown="reasoning_gym")`.

    >>> CountdownRules.reasoning_gym().use_all_numbers
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    use_all_numbers: bool = Field(
        default=False, description="every given number exactly once (else at most once)"
    )
    integer_intermediates: bool = Field(default=True, description="every intermediate result an integer")
    positive_intermediates: bool = Field(default=True, description="every intermediate result > 0")
    unary_minus: bool = Field(default=False, description="allow a leading minus ('-3 + 10')")

    @classmethod
    def reasoning_gym(cls) -> CountdownRules:
        """reasoning-gym's convention: all numbers once, any intermediate values, unary minus."""
        return cls(
            use_all_numbers=True, integer_intermediates=False, positive_intermediates=False, unary_minus=True
        )


_COUNTDOWN_PRESETS = {"classic": CountdownRules(), "reasoning_gym": CountdownRules.reasoning_gym()}


class VerifyPolicy(BaseModel):
    """Explicit policy for contested cases, shared by all verifiers (config, not code).

    Every convention a grader could silently decide either way is a field here, with the default
    the research uses; docs/verification-policy.md compares each default with math-verify,
    lighteval, NeMo-Skills and TRL. `model_dump_json()` travels to the worker processes, so the
    policy a user sets is the policy every worker applies. Rules that are not conventions are not
    switches: integers and exact rationals always compare exactly (a tolerance never makes two
    different integers equal), and the last number of a text never grades a structured answer.

    A bare leading "$" is read as a LaTeX math delimiter, not as currency.

    >>> VerifyPolicy(percent="number").percent
    'number'
    >>> VerifyPolicy(countdown="reasoning_gym").countdown.unary_minus
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Numbers are equal when |a-b| <= max(abs_tol, rel_tol*max(|a|,|b|)), applied only when one
    # side is a non-integer decimal; two integers (or exact fractions) compare exactly.
    rel_tol: float = Field(default=1e-9, ge=0)
    abs_tol: float = Field(default=0.0, ge=0)
    # Digits math-verify rounds floats to before comparing (answers that are not plain numbers).
    float_rounding: int = Field(default=6, ge=0)
    # "50%": "either" equals 50 and 0.5; "fraction" only 0.5; "number" only 50.
    percent: Literal["either", "fraction", "number"] = "either"
    # Trailing units ("12 cm", "12\\text{ cm}", "$12") are ignored when True; when False an
    # answer whose unit differs from the gold's (including a unit against none) is a mismatch.
    strip_units: bool = True
    # A bare comma list ("3, 1, 2") matches a permutation of the gold when True; in order when
    # False. Parenthesised tuples, intervals and sets keep their mathematical meaning either way.
    unordered_lists: bool = False
    # Solution statements are sets whatever `unordered_lists` says: "x = 1 or x = 2", one
    # variable assigned in every part ("x=2, x=3"), and solution tuples joined by ";" or "or".
    unordered_solutions: bool = True
    # Several \\boxed{} in the final statement, joined only by commas, "and"/"or" or labels
    # ("x = \\boxed{2}, y = \\boxed{3}"): "list" reads them as one answer, a list compared like a
    # bare list; "last" keeps only the last box (what NeMo-Skills and a plain last-box grader do).
    boxed_parts: Literal["list", "last"] = "list"
    # "1,234" is one number when True; a two-element list when False.
    thousands_separators: bool = True
    # "1000,99" (digits, comma, digits that cannot be a thousands group, no space) reads as the
    # decimal 1000.99 when the gold is a single number (math-verify's reading); else a list.
    decimal_comma: bool = True
    # "1 1/2" and "1\\frac{1}{2}" are the mixed number 3/2 when True; when False they go to
    # math-verify as they are ("1\\frac{1}{2}" then reads as a product).
    mixed_numbers: bool = True
    # A column or row vector equals the tuple of its entries ("(1, 2)" = pmatrix 1 \\\\ 2).
    vector_as_tuple: bool = True
    # "^\\circ" inside a trig function's argument means degrees: \\sin(90^\\circ - x) = \\cos x.
    trig_degrees: bool = True
    # Prose with no box, tag or answer marker is graded by its last number (GSM8K style) when
    # True; never when that number sits inside a structure (matrix, tuple, interval, expression).
    last_number_fallback: bool = True
    # Case-sensitive string matching (kinds exact and choice).
    case_sensitive: bool = False
    # math-verify's own signal.alarm timeout per parse/verify call, seconds; the pool's hard
    # per-item timeout stands behind it.
    math_timeout_s: int = Field(default=5, ge=1)
    # Letters a multiple-choice answer may use.
    choice_letters: str = Field(default="ABCDEFGHIJ", min_length=2)
    # Countdown rules ("classic" or "reasoning_gym" presets, or a CountdownRules).
    countdown: CountdownRules = CountdownRules()
    # Limits for code verification.
    sandbox: SandboxLimits = SandboxLimits()

    @field_validator("countdown", mode="before")
    @classmethod
    def _countdown_preset(cls, v: Any) -> Any:
        if isinstance(v, str):
            if v not in _COUNTDOWN_PRESETS:
                raise ValueError(f"unknown countdown preset {v!r}; known: {', '.join(_COUNTDOWN_PRESETS)}")
            return _COUNTDOWN_PRESETS[v]
        return v


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
