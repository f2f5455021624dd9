"""Linear equations in one unknown, solved exactly (fractions; checked against sympy in tests).

Level 1: a·x + b = c. Level 2: a·x + b = c·x + d. Level 3: k(x + b) = c·x + d. Level 4: two
bracketed terms. Level 5: fractional coefficients with a rational answer. The solver expands
each bracket, collects the x terms on the left and the constants on the right, divides, and
checks by substitution, narrating each step; its wrong branches guess a value of x, substitute
it, find the two sides differ, and go back.

A side is a list of terms: ["x", c] is c·x, ["1", c] a constant c, ["k", k, a, b] the bracket
k(a·x + b); numbers are stored as strings ("3", "-5/2") so the spec survives JSON.
"""

from __future__ import annotations

import random
from fractions import Fraction as F

from pydantic import Field

from reasonmill.generators.base import Family, FamilyParams, SolverRun, canon, detour, finish, spread
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

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        lhs, rhs = problem.meta["spec"]["lhs"], problem.meta["spec"]["rhs"]
        path = [f"The equation is {side_text(lhs)} = {side_text(rhs)}."]
        work = 0
        for side in (lhs, rhs):
            for t in side:
                work += 1
                if t[0] == "k":
                    k, a, b = F(t[1]), F(t[2]), F(t[3])
                    path.append(
                        f"Expanding {side_text([t])} gives {_lin(True, k * a, True)}{_lin(False, k * b, False)}."
                    )
                    work += 2
                if any(F(v).denominator != 1 for v in t[1:]):
                    work += 2  # a common-denominator step
        (lx, lc), (rx, rc) = expand(lhs), expand(rhs)
        slope, const = lx - rx, rc - lc
        path.append(
            f"Collecting x terms on the left and constants on the right: {_lin(True, slope, True)} = {canon(const)}."
        )
        sol = const / slope
        path.append(f"Dividing by {canon(slope)}: x = ({canon(const)}) / ({canon(slope)}) = {canon(sol)}.")
        path.append(
            f"Check: the left side is {canon(value_at(lhs, sol))} and the right side is {canon(value_at(rhs, sol))}, equal, so x = {canon(sol)}."
        )

        detours = []
        tried = {sol}
        for k in spread(rng, backtracks, len(path) - 1):
            guess = sol
            while guess in tried:
                guess = F(int(sol) + rng.choice([-3, -2, -1, 1, 2, 3]) * rng.randint(1, 3 + len(tried)))
            tried.add(guess)
            lv, rv = canon(value_at(lhs, guess)), canon(value_at(rhs, guess))
            detours.append(
                detour(
                    k,
                    f"maybe I can guess the answer. Try x = {canon(guess)}.",
                    f"With x = {canon(guess)} the left side is {lv} and the right side is {rv}.",
                    reason=f"{lv} ≠ {rv}, so x = {canon(guess)} is not a solution.",
                )
            )
        return finish(path, detours, canon(sol), len(path) + work)


FAMILIES.register(LinearEquation.name, LinearEquation())
