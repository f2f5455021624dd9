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
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reasonmill.records import Reason, Verdict
from reasonmill.registry import Registry


class VerifyPolicy(BaseModel):
    """Explicit policy for contested cases, shared by all verifiers (config, not code)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Relative tolerance for numeric answers; 0 means exact rational equality.
    rel_tol: float = Field(default=1e-9, ge=0)
    # Digits math-verify rounds floats to before comparing.
    float_rounding: int = Field(default=6, ge=0)
    # "50%" equals 0.5 when True; equals 50 only when False.
    percent_as_fraction: bool = True
    # Strip trailing units ("12 cm" == "12") when True.
    strip_units: bool = True
    # Tuples/lists compare as sets (order ignored) when True.
    unordered_lists: bool = False
    # "1,234" is one thousand two hundred thirty-four when True (never a tuple).
    thousands_separators: bool = True
    # Case-sensitive exact matching.
    case_sensitive: bool = False


class Verifier(ABC):
    """A checker for one or more answer kinds; registered by name."""

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Check `prediction` against `gold` (gold first). Never raises on bad predictions."""

    def verdict(self, passed: bool, reason: Reason | None = None, detail: str = "") -> Verdict:
        """A Verdict signed with this verifier's name."""
        return Verdict(passed=passed, verifier=self.name, reason=None if passed else (reason or Reason.MISMATCH).value, detail=detail)


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
