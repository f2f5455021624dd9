"""Linear equations in one unknown, solved exactly (fractions; checked against sympy in tests).

Level 1: a·x + b = c. Level 2: a·x + b = c·x + d. Level 3: k(x + b) = c·x + d. Level 4: two
bracketed terms. Level 5: fractional coefficients with a rational answer. The solver
(`EquationMachine`, `reasonmill.generators.calc`) expands each bracket, collects the x terms on
the left and the constants on the right, divides, and checks by substitution, narrating each
step. With the backtrack knob it really slips on a constant now and then; the substitution then
shows the sides differ, and it goes over its steps, finds the wrong one and redoes from there.
The fallible teacher slips once and skips the substitution.

A side is a list of terms: ["x", c] is c·x, ["1", c] a constant c, ["k", k, a, b] the bracket
k(a·x + b); numbers are stored as strings ("3", "-5/2") so the spec survives JSON.
"""

from __future__ import annotations

import random
from fractions import Fraction as F
from typing import Any

from pydantic import Field

from reasonmill.generators import calc
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun, canon
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

Term = list  # ["x", c] | ["1", c] | ["k", k, a, b]


class LinearEquationParams(FamilyParams):
    """Level 1..5; `max_coefficient` bounds the integer coefficients."""

    max_coefficient: int = Field(default=12, ge=2, le=1000)


def _nz(rng: random.Random, top: int) -> int:
    v = 0
    while v == 0:
        v = rng.randint(-top, top)
    return v


def _lin(x: F, c: F, first: bool) -> str:
    """c·x (x given as "x") or a constant, with its sign joined for a running sum."""
    mag = canon(abs(c)) if c.denominator == 1 else f"({canon(abs(c))})"
    text = ("" if abs(c) == 1 else mag) + "x" if x else canon(abs(c))
    if first:
        return ("-" if c < 0 else "") + text
    return (" - " if c < 0 else " + ") + text


def side_text(side: list[Term], symbol: str | None = None) -> str:
    """A side as text; `symbol` replaces its last constant (a bridged input)."""
    out = ""
    for i, t in enumerate(side):
        if t[0] == "k":
            k, a, b = F(t[1]), F(t[2]), F(t[3])
            inner = _lin(True, a, True) + _lin(False, b, False)
            head = "" if k == 1 else "-" if k == -1 else canon(k) if k.denominator == 1 else f"({canon(k)})"
            out += (
                head
                if not out
                else (" - " if k < 0 else " + ")
                + ("" if abs(k) == 1 else f"({canon(abs(k))})" if k.denominator != 1 else canon(abs(k)))
            ) + f"({inner})"
        elif symbol is not None and t[0] == "1" and i == len(side) - 1:
            out += symbol if not out else f" + {symbol}"
        else:
            out += _lin(t[0] == "x", F(t[1]), not out)
    return out or "0"


def expand(side: list[Term]) -> tuple[F, F]:
    """(x coefficient, constant) of a side."""
    cx = c0 = F(0)
    for t in side:
        if t[0] == "x":
            cx += F(t[1])
        elif t[0] == "1":
            c0 += F(t[1])
        else:
            cx += F(t[1]) * F(t[2])
            c0 += F(t[1]) * F(t[3])
    return cx, c0


def value_at(side: list[Term], x: F) -> F:
    """The side's value at x."""
    cx, c0 = expand(side)
    return cx * x + c0


class LinearEquation(Family):
    """Solve a linear equation for x; the answer is an integer (a fraction at level 5)."""

    name = "linear_equation"
    description = "solve a linear equation in x (exact; sympy-checked)"
    Params = LinearEquationParams

    def _build(
        self, rng: random.Random, level: int, top: int, rhs_const: int | None
    ) -> tuple[list[Term], list[Term], F]:
        while True:
            sol = F(rng.randint(-top, top), 1 if level < 5 else rng.choice([2, 3, 4, 5]))
            if level == 1:
                lhs: list[Term] = [["x", _nz(rng, top)], ["1", rng.randint(-top, top)]]
                rhs: list[Term] = []
            elif level == 2:
                lhs, rhs = [["x", _nz(rng, top)], ["1", rng.randint(-top, top)]], [["x", _nz(rng, top)]]
            elif level == 3:
                lhs, rhs = [["k", _nz(rng, top), 1, _nz(rng, top)]], [["x", _nz(rng, top)]]
            elif level == 4:
                lhs = [
                    ["k", _nz(rng, top), 1, _nz(rng, top)],
                    ["k", _nz(rng, top), _nz(rng, 3), _nz(rng, top)],
                ]
                rhs = [["x", _nz(rng, top)]]
            else:
                lhs = [
                    ["x", canon(F(_nz(rng, top), rng.choice([2, 3])))],
                    ["1", canon(F(rng.randint(-top, top), rng.choice([2, 3])))],
                ]
                rhs = [["k", canon(F(1, rng.choice([2, 4]))), _nz(rng, top), _nz(rng, top)]]
            lx, lc = expand(lhs)
            rx, rc = expand(rhs)
            if lx == rx:
                continue
            if rhs_const is None:  # the right side's constant is chosen so that x = sol
                d = (lx - rx) * sol + lc - rc
            else:  # the constant is given (a bridged input): x follows from it
                d = F(rhs_const)
                sol = (rc + d - lc) / (lx - rx)
            return lhs, [*rhs, ["1", canon(d)]], sol

    def _problem(self, lhs: list[Term], rhs: list[Term], sol: F, symbol: str | None = None) -> Problem:
        q = f"Solve for x: {side_text(lhs)} = {side_text(rhs, symbol)}. Give x as an integer or a reduced fraction."
        return Problem(question=q, answer=canon(sol), meta={"spec": {"lhs": lhs, "rhs": rhs}})

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        return self._problem(*self._build(rng, params.level, params.max_coefficient, None))

    def bridge(self, rng: random.Random, params: FamilyParams, value: int, symbol: str) -> Problem | None:
        return self._problem(*self._build(rng, params.level, params.max_coefficient, value), symbol=symbol)

    def rebridge(self, spec: dict[str, Any], value: str) -> dict[str, Any] | None:
        """The bridged value is the right side's constant."""
        try:
            v = F(value)
        except (ValueError, ZeroDivisionError):
            return None
        return {**spec, "rhs": [*spec["rhs"][:-1], ["1", canon(v)]]}

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        spec = problem.meta["spec"]
        return calc.run(
            EquationMachine(spec["lhs"], spec["rhs"]), rng, slip_rate(backtracks), max_slips=backtracks
        )

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Error "slip": a wrong constant when expanding or collecting, carried through without the
        substitution check."""
        spec = problem.meta["spec"]
        return calc.slipped(EquationMachine(spec["lhs"], spec["rhs"]), rng) if "slip" in kinds else None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        spec = problem.meta["spec"]
        return calc.resume(EquationMachine(spec["lhs"], spec["rhs"]), records, rng)

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Expand, collect and divide by hand, slipping with `STUDENT_SLIP` per digit operation,
        without substituting back."""
        spec = problem.meta["spec"]
        run = calc.run(EquationMachine(spec["lhs"], spec["rhs"]), rng, checks=False, student=STUDENT_SLIP)
        return run.answer, run.nodes


STUDENT_SLIP = 0.03  # the offline student's slip probability per digit operation


def slip_rate(backtracks: int) -> float:
    """The teacher's slip probability per step for a backtrack knob value."""
    return min(0.5, 0.12 * backtracks)


def _slip_fraction(rng: random.Random, v: F) -> str:
    return canon(v + rng.choice([-2, -1, 1, 2]))


def _frac_work(*values: F) -> int:
    """Extra work of fractional numbers: a common-denominator step for each (2 operations)."""
    return 2 * sum(1 for v in values if F(v).denominator != 1)


class EquationMachine(calc.Machine):
    """Expand brackets, collect x terms left and constants right, divide, substitute back.

    A slip (a wrong constant in an expansion or in collecting) has no inline check: the
    substitution at the end shows the two sides differ, and the solver goes over its steps."""

    def __init__(self, lhs: list[Term], rhs: list[Term]) -> None:
        self.lhs, self.rhs = lhs, rhs
        self.brackets = [
            (side, k) for side, terms in (("l", lhs), ("r", rhs)) for k, t in enumerate(terms) if t[0] == "k"
        ]

    def start(self) -> dict[str, Any]:
        return {"exp": [], "slope": None, "const": None, "x": None, "checked": False}

    def _coefficients(self) -> list[F]:
        return [F(v) for t in (*self.lhs, *self.rhs) for v in t[1:]]

    def intro(self) -> str:
        return f"The equation is {side_text(self.lhs)} = {side_text(self.rhs)}."

    def _side(self, side: str, exp: list[list[str]]) -> tuple[F, F]:
        terms = self.lhs if side == "l" else self.rhs
        cx = c0 = F(0)
        done = {self.brackets[i]: e for i, e in enumerate(exp)}
        for k, t in enumerate(terms):
            if t[0] == "x":
                cx += F(t[1])
            elif t[0] == "1":
                c0 += F(t[1])
            else:
                ex, ec = done[(side, k)]
                cx, c0 = cx + F(ex), c0 + F(ec)
        return cx, c0

    def next_op(self, env: dict[str, Any]) -> calc.Op | None:
        exp = env["exp"]
        n = len(self.brackets)
        if len(exp) < n:
            side, k = self.brackets[len(exp)]
            t = (self.lhs if side == "l" else self.rhs)[k]
            kk, aa, bb = F(t[1]), F(t[2]), F(t[3])
            right = [canon(kk * aa), canon(kk * bb)]
            return calc.Op(
                value=right,
                text=lambda v: (
                    f"Expanding {side_text([t])} gives {_lin(True, F(v[0]), True)}{_lin(False, F(v[1]), False)}."
                ),
                apply=lambda env, v: {**env, "exp": [*env["exp"], v]},
                slip=lambda rng: [right[0], _slip_fraction(rng, kk * bb)],
                work=calc.digits(kk, aa) + calc.digits(kk, bb) + _frac_work(kk, aa, bb),
                label=f"expanding {side_text([t])}",
                show=lambda v: _lin(True, F(v[0]), True) + _lin(False, F(v[1]), False),
            )
        if env["slope"] is None:
            (lx, lc), (rx, rc) = self._side("l", exp), self._side("r", exp)
            slope, const = lx - rx, rc - lc
            return calc.Op(
                value=[canon(slope), canon(const)],
                text=lambda v: (
                    f"Collecting x terms on the left and constants on the right: {_lin(True, F(v[0]), True)} = {v[1]}."
                ),
                apply=lambda env, v: {**env, "slope": v[0], "const": v[1]},
                slip=lambda rng: [canon(slope), _slip_fraction(rng, const)],
                work=calc.digits(lx, rx) + calc.digits(lc, rc) + _frac_work(*self._coefficients()),
                label="collecting the terms",
                show=lambda v: f"{_lin(True, F(v[0]), True)} = {v[1]}",
            )
        if env["x"] is None:
            slope, const = F(env["slope"]), F(env["const"])
            x = const / slope if slope else F(0)
            return calc.Op(
                value=canon(x),
                text=lambda v: f"Dividing by {canon(slope)}: x = ({canon(const)}) / ({canon(slope)}) = {v}.",
                apply=lambda env, v: {**env, "x": v},
                work=calc.digits(slope, const) + _frac_work(slope, const),
                label="the division",
            )
        if not env["checked"]:
            x = F(env["x"])
            left, right = value_at(self.lhs, x), value_at(self.rhs, x)

            def text(ok: bool) -> str:
                if ok:
                    return f"Check: the left side is {canon(left)} and the right side is {canon(right)}, equal, so x = {canon(x)}."
                return f"Check: with x = {canon(x)} the left side is {canon(left)} but the right side is {canon(right)}."

            return calc.Op(
                value=left == right,
                text=text,
                apply=lambda env, v: {**env, "checked": True},
                work=2 * calc.digits(left, right) + 2 * _frac_work(x),
                verify=True,
                label="the check",
            )
        return None

    def conclude(self, env: dict[str, Any]) -> tuple[str, str]:
        return f"So x = {env['x']}.", env["x"]


FAMILIES.register(LinearEquation.name, LinearEquation())
