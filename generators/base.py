"""What a procedural family is: params with a difficulty knob, a generator, a narrating solver.

A family (one file each, registration at the bottom, reasoning-gym style) turns a per-item random
stream and a level into a `Problem` whose gold answer is computed, and solves its own problems
with a solver that narrates the search as it really ran, dead ends included. The structured
instance lives in `problem.meta["spec"]` so a teacher, a composer or a reviser can solve the
problem again from the record alone.

The solver returns a `SolverRun`: the narrated steps (each tagged with the step of the correct
line it completes, or None for a detour), the straight-line `path`, the answer and the effort
(nodes expanded, backtracks). Teachers render it to text; Retro-Search uses the tags to continue
the current line of search from any prefix instead of switching.
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
    when the paragraph is a detour (a wrong branch, a dead end, a return)."""

    text: str
    on_path: int | None = None


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
        """Solve `problem` from its spec, narrating `backtracks` distinct wrong branches on the way."""

    def bridge(self, rng: random.Random, params: FamilyParams, value: int, symbol: str) -> Problem | None:
        """A problem that takes `value` as one of its inputs, written as `symbol` in the question.

        Used by Bridging/Chaining composition. The gold answer is computed with `value` substituted.
        Families that cannot take an outside input return None (the default).
        """
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


def narrate(path: list[str], detours: list[tuple[int, list[str]]]) -> list[Step]:
    """Interleave the correct line `path` with detours.

    Each detour is (after, paragraphs): its paragraphs are told after path step `after` completes
    (-1: before the first step). The first detour paragraph should open a new thought (e.g.
    "Alternatively, ...") and the last should abandon it ("Wait, ... Let me go back to step r.").
    Detours at the same position are told in the order given.
    """
    by_pos: dict[int, list[list[str]]] = {}
    for after, paras in detours:
        by_pos.setdefault(after, []).append(paras)
    steps: list[Step] = [Step(t) for d in by_pos.get(-1, []) for t in d]
    for i, text in enumerate(path):
        steps.append(Step(text, on_path=i))
        for d in by_pos.get(i, []):
            steps.extend(Step(t) for t in d)
    return steps


def spread(rng: random.Random, n: int, slots: int) -> list[int]:
    """`n` detour positions drawn from `slots` positions (0..slots-1), sorted, repeats allowed only
    when n > slots."""
    if slots <= 0:
        return [0] * n
    if n <= slots:
        return sorted(rng.sample(range(slots), n))
    return sorted(rng.randrange(slots) for _ in range(n))


def detour(after: int, opening: str, *middle: str, reason: str) -> tuple[int, list[str]]:
    """One wrong branch told after path step `after` (0-based), in the house wording.

    The first paragraph opens a new thought ("Alternatively, <opening>"), the middle paragraphs
    follow the branch, and the last abandons it: "Wait, <reason> Let me go back to step r.",
    where r = after + 1 is the 1-based number of the last good step of the correct line.

    >>> detour(1, "try x = 2.", reason="2 is not a root.")[1][-1]
    'Wait, 2 is not a root. Let me go back to step 2.'
    """
    back = max(after, 0) + 1
    return after, [f"Alternatively, {opening}", *middle, f"Wait, {reason} Let me go back to step {back}."]


def finish(
    path: list[str], detours: list[tuple[int, list[str]]], answer: str, nodes: int, **meta: Any
) -> SolverRun:
    """The `SolverRun` of a solve: `path` with `detours` woven in; `nodes` is the search's own
    count of expanded nodes, to which each narrated detour adds the node it opened."""
    return SolverRun(
        steps=narrate(path, detours),
        path=path,
        answer=answer,
        nodes=nodes + len(detours),
        backtracks=len(detours),
        meta=meta,
    )


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
