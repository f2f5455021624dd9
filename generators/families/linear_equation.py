"""Linear equations in one unknown, solved exactly with sympy.

Level 1: a·x + b = c. Level 2: a·x + b = c·x + d. Level 3: a(x + b) = c·x + d. Level 4: two
bracketed terms. Level 5: fractional coefficients with a rational answer. The solver expands,
collects and divides, narrating each step; its wrong branches guess a value of x, substitute it
and find the two sides differ, then go back.
"""

from __future__ import annotations

import random

import sympy as sp
from pydantic import Field
from reasonmill.generators.base import Family, FamilyParams, SolverRun, narrate, spread
from reasonmill.generators.registry import FAMILIES

from reasonmill.records import Problem

X = sp.Symbol("x")


class LinearEquationParams(FamilyParams):
    """Level 1..5; `max_coefficient` bounds the integer coefficients."""

    max_coefficient: int = Field(default=12, ge=2, le=1000)


def _nz(rng: random.Random, top: int) -> int:
    v = 0
    while v == 0:
        v = rng.randint(-top, top)
    return v


def _fmt(expr: sp.Expr) -> str:
    return str(expr).replace("**", "^").replace("*", "·")


def _work(side: sp.Expr) -> int:
    """Terms that expanding and collecting one side touches: each term, each bracket's inner
    terms, and each fractional coefficient (a common-denominator step)."""
    work = 0
    for term in sp.Add.make_args(side):
        work += 1
        for factor in sp.Mul.make_args(term):
            if factor.is_Add:
                work += len(factor.args)
            elif factor.is_Rational and factor.q != 1:
                work += 2
    return work


class LinearEquation(Family):
    """Solve a linear equation for x; the answer is an integer (a fraction at level 5)."""

    name = "linear_equation"
    description = "solve a linear equation in x (sympy-checked)"
    Params = LinearEquationParams

    def _build(
        self, rng: random.Random, level: int, top: int, rhs_const: int | None
    ) -> tuple[sp.Expr, sp.Expr, sp.Rational]:
        while True:
            sol = sp.Rational(rng.randint(-top, top), 1 if level < 5 else rng.choice([2, 3, 4, 5]))
            a, c = _nz(rng, top), _nz(rng, top)
            if level == 1:
                lhs = a * X + rng.randint(-top, top)
                rhs_lin = sp.Integer(0)
            elif level == 2:
                lhs = a * X + rng.randint(-top, top)
                rhs_lin = c * X
            elif level == 3:
                lhs = a * (X + rng.randint(-top, top))
                rhs_lin = c * X
            elif level == 4:
                lhs = a * (X + rng.randint(-top, top)) - _nz(rng, top) * (X - rng.randint(-top, top))
                rhs_lin = c * X
            else:
                lhs = sp.Rational(a, rng.choice([2, 3])) * X + sp.Rational(
                    rng.randint(-top, top), rng.choice([2, 3])
                )
                rhs_lin = c * X
            slope = sp.expand(lhs - rhs_lin).coeff(X, 1)
            if slope == 0:
                continue
            if rhs_const is None:
                # rhs constant chosen so that x = sol
                d = sp.expand(lhs - rhs_lin).subs(X, sol)
                return lhs, rhs_lin + d, sol
            # the right side's constant is given (bridging input): solve for x
            sol = sp.solve(sp.Eq(lhs, rhs_lin + rhs_const), X)[0]
            return lhs, rhs_lin + rhs_const, sol

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        lhs, rhs, sol = self._build(rng, params.level, params.max_coefficient, None)
        spec = {"lhs": sp.srepr(lhs), "rhs": sp.srepr(rhs)}
        q = f"Solve for x: {_fmt(lhs)} = {_fmt(rhs)}. Give x as an integer or a reduced fraction."
        return Problem(question=q, answer=str(sol), meta={"spec": spec})

    def bridge(self, rng: random.Random, params: FamilyParams, value: int, symbol: str) -> Problem | None:
        lhs, rhs, sol = self._build(rng, params.level, params.max_coefficient, value)
        rhs_shown = rhs - value + sp.Symbol(symbol)
        spec = {"lhs": sp.srepr(lhs), "rhs": sp.srepr(rhs)}
        q = f"Solve for x: {_fmt(lhs)} = {_fmt(rhs_shown)}. Give x as an integer or a reduced fraction."
        return Problem(question=q, answer=str(sol), meta={"spec": spec})

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        spec = problem.meta["spec"]
        lhs, rhs = sp.sympify(spec["lhs"]), sp.sympify(spec["rhs"])
        lhs_e, rhs_e = sp.expand(lhs), sp.expand(rhs)
        path = [f"The equation is {_fmt(lhs)} = {_fmt(rhs)}."]
        if lhs_e != lhs or rhs_e != rhs:
            path.append(f"Expanding both sides gives {_fmt(lhs_e)} = {_fmt(rhs_e)}.")
        diff = sp.expand(lhs_e - rhs_e)
        slope, const = diff.coeff(X, 1), diff.subs(X, 0)
        path.append(
            f"Moving every term to the left: {_fmt(slope * X)} + ({_fmt(const)}) = 0, so {_fmt(slope * X)} = {_fmt(-const)}."
        )
        sol = sp.Rational(-const, 1) / slope
        path.append(f"Dividing by {_fmt(slope)}: x = {_fmt(-const)} / {_fmt(slope)} = {sol}.")
        path.append(
            f"Check: the left side is {_fmt(lhs.subs(X, sol))} and the right side is {_fmt(rhs.subs(X, sol))}, equal, so x = {sol}."
        )

        # Wrong branches: guess distinct wrong values of x, substitute, see both sides differ.
        detours = []
        tried: set[sp.Rational] = {sol}
        for k in spread(rng, backtracks, len(path) - 1):
            guess = sol
            while guess in tried:
                guess = sp.Integer(int(sol) + rng.choice([-3, -2, -1, 1, 2, 3]) * rng.randint(1, 3))
            tried.add(guess)
            lv, rv = sp.simplify(lhs.subs(X, guess)), sp.simplify(rhs.subs(X, guess))
            detours.append(
                (
                    k,
                    [
                        f"Alternatively, maybe I can guess the answer. Try x = {guess}.",
                        f"With x = {guess} the left side is {_fmt(lv)} and the right side is {_fmt(rv)}.",
                        f"Wait, {_fmt(lv)} ≠ {_fmt(rv)}, so x = {guess} is not a solution. Let me go back to step {k + 1}.",
                    ],
                )
            )
        steps = narrate(path, detours)
        return SolverRun(
            steps=steps,
            path=path,
            answer=str(sol),
            nodes=len(path) + _work(lhs) + _work(rhs) + 2 * len(detours),
            backtracks=len(detours),
        )


FAMILIES.register(LinearEquation.name, LinearEquation())
