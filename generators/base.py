"""What a procedural family is: params with a difficulty knob, a generator, a narrating solver.

A family (one file each, registration at the bottom, reasoning-gym style) turns a per-item random
stream and a level into a `Problem` whose gold answer is computed, and solves its own problems
with a solver that narrates the search as it really ran, dead ends included. The structured
instance lives in `problem.meta["spec"]` so a teacher, a composer or a reviser can solve the
problem again from the record alone.

The solver returns a `SolverRun`: the narrated steps, the straight-line `path` (the solution
line alone), the answer and the effort (nodes expanded, backtracks). Each step carries a
machine-readable `record` (the move it made and the state it left, a dead end and the claim made
about it, a check and its outcome) from which the solver state after any prefix can be rebuilt;
that is how the programmatic reviser continues a trace (`Family.resume`) without knowing which
line is correct. `Step.on_path` (the index of the path step a paragraph completes, None off the
solution line) is kept for analysis only; no reviser reads it.

What a solver narrates is what it did: the backtrack knob sets the search policy or the slip rate
(`reasonmill.generators.search`, `reasonmill.generators.calc`), never inserted text, so a dead end
is a state the search visited and abandoned, in visiting order, with a true claim about it.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reasonmill.errors import ConfigError
from reasonmill.records import Problem
from reasonmill.text import TRANSITION_KEYWORDS  # noqa: F401  (re-exported for the solvers)


class FamilyParams(BaseModel):
    """Parameters every family takes: the difficulty `level` (1 = easiest). Families add knobs."""

    model_config = ConfigDict(extra="forbid")
    level: int = Field(default=1, ge=1, le=10)


@dataclass(slots=True)
class Step:
    """One narrated paragraph. `on_path` is the index in `SolverRun.path` it completes, or None
    when the paragraph is a detour (a wrong branch, a dead end, a return). `record` is the
    machine-readable form of what the paragraph says (JSON-able; see `SolverRun`)."""

    text: str
    on_path: int | None = None
    record: dict[str, Any] | None = None


@dataclass(slots=True)
class SolverRun:
    """A narrated solve: the search as it ran, the straight-line solution, the answer, the effort."""

    steps: list[Step]
    path: list[str]
    answer: str
    nodes: int = 0
    backtracks: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def effort(self) -> dict[str, int]:
        """Intrinsic effort of this solve, stored with the trace and used for difficulty."""
        return {"nodes": self.nodes, "backtracks": self.backtracks, "steps": len(self.steps)}

    @property
    def records(self) -> list[dict[str, Any]]:
        """One record per narrated paragraph (`{"t": "text"}` where a step has none)."""
        return [s.record if s.record is not None else {"t": "text"} for s in self.steps]

    @property
    def error(self) -> dict[str, Any] | None:
        """The teacher error this solve made on purpose (`ErrorModel`), or None for a correct solve."""
        return self.meta.get("error")


@dataclass(slots=True)
class Continuation:
    """What a reviser's rollout adds after a prefix: narrated steps and the answer they reach
    (None when the current line cannot be continued without switching, or runs out of budget)."""

    steps: list[Step]
    answer: str | None
    nodes: int = 0
    note: str = ""


class Family(ABC):
    """A procedural problem family. Subclasses set `name`, `Params` and implement the two methods."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    answer_kind: ClassVar[str] = "math"
    Params: ClassVar[type[FamilyParams]] = FamilyParams
    max_level: ClassVar[int] = 5

    def params(self, raw: dict[str, Any] | None = None, *, field_prefix: str = "params") -> FamilyParams:
        """Validate raw params into `Params`; a bad value raises `ConfigError` naming the field."""
        try:
            p = self.Params.model_validate(raw or {})
        except ValidationError as exc:
            e = exc.errors()[0]
            name = ".".join(str(x) for x in e["loc"]) or "(root)"
            raise ConfigError(f"{field_prefix}.{name}", f"{self.name}: {e['msg']}") from None
        if p.level > self.max_level:
            raise ConfigError(
                f"{field_prefix}.level", f"{self.name} has levels 1..{self.max_level}, got {p.level}"
            )
        return p

    @abstractmethod
    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        """Draw one problem from `rng` at `params.level`; the gold answer is computed, never guessed."""

    @abstractmethod
    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        """Solve `problem` from its spec and narrate the solve as it ran. `backtracks` sets the
        policy (search noise and patience, or the slip rate of a family without search): more
        means a solve that really takes more wrong turns, each narrated with a true claim."""

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """A solve that makes one of the error `kinds` ("slip", "budget", "misread") and ends with
        a wrong answer, narrated as it ran (the error is not noticed); None when this family
        cannot make any of them on this problem. Default: none."""
        return None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        """Continue a narrated solve from the state its first `records` leave (the records of a
        trace prefix), without switching first: the first step may not backtrack. The reviser's
        rollout. Default: cannot continue (no answer)."""
        return Continuation([], None, note="this family has no resumable solver")

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """One answer of the offline student (a bounded solver with randomised order or slips),
        as (the answer it boxes, nodes it used); None when the family has no solver of its own
        (a student that boxed the reference answer would measure nothing)."""
        return None

    def bridge(self, rng: random.Random, params: FamilyParams, value: int, symbol: str) -> Problem | None:
        """A problem that takes `value` as one of its inputs, written as `symbol` in the question.

        Used by Bridging/Chaining composition. The gold answer is computed with `value` substituted.
        Families that cannot take an outside input return None (the default).
        """
        return None

    def rebridge(self, spec: dict[str, Any], value: str) -> dict[str, Any] | None:
        """The spec of a bridged problem (`bridge`) with its outside input replaced by `value` (the
        answer a solver got for the part before, right or wrong); None when `value` does not fit.
        With the value the problem was bridged with, it returns the same spec."""
        return None

    def shown_answer(self, problem: Problem) -> str:
        """The answer as the solver's trace writes it in \\boxed{}: the gold answer itself, except
        for families whose gold string is a record for their verifier (the reasoning-gym adapter)."""
        return problem.answer

    def perturb(self, problem: Problem, rng: random.Random) -> str:
        """A wrong answer close to the gold one (for contract tests and preference data).

        Default: change the last integer in the gold string by a small nonzero amount, which keeps
        numbers, sets, tuples and digit strings well-formed. Families with other shapes override.
        """
        gold = problem.answer
        m = list(re.finditer(r"\d+", gold))
        if not m:
            return gold + "x"
        last = m[-1]
        digits = last.group()
        if len(digits) > 9:  # a digit string (a grid): change one digit to another digit 1..9
            i = last.start() + rng.randrange(len(digits))
            d = int(gold[i]) or 1
            return gold[:i] + str((d - 1 + rng.randint(1, 8)) % 9 + 1) + gold[i + 1 :]
        return gold[: last.start()] + str(int(digits) + rng.randint(1, 20)) + gold[last.end() :]


def render_steps(steps: list[Step]) -> str:
    """Paragraphs joined by blank lines: the step separator Retro-Search splits on."""
    return "\n\n".join(s.text for s in steps)


def canon(value: Any) -> str:
    """Canonical string of a rational number: "3", "-5/7" (a `Fraction`, int or sympy Rational)."""
    num, den = (value.numerator, value.denominator) if hasattr(value, "denominator") else (value.p, value.q)
    return str(num) if den == 1 else f"{num}/{den}"


def canon_set(values: Any) -> str:
    """Canonical set string math-verify accepts: distinct values sorted ascending, "{-1, 4}"."""
    return "{" + ", ".join(canon(v) for v in sorted(set(values))) + "}"


def canon_tuple(values: Any) -> str:
    """Canonical ordered tuple string math-verify accepts: "(2, -3)"."""
    return "(" + ", ".join(canon(v) for v in values) + ")"
