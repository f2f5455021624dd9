"""Systems of linear equations with a unique integer solution (sympy-checked in tests).

Level 1: two unknowns, one equation already free of x. Level 2: two unknowns. Level 3: three
unknowns, partly triangular. Level 4: three unknowns. Level 5: four unknowns. The zeros sit
below the diagonal, where elimination would put them. The
answer is the ordered tuple of the unknowns' values in the order they are named, "(2, -3)".

The solver (`SystemMachine`, `reasonmill.generators.calc`) runs Gaussian elimination with exact
fractions, one row operation per step, then back substitution, then substitutes the solution
into every original equation; effort is the digit work of those steps. With the backtrack knob it
really slips on a constant now and then; the substitution catches it, and it goes over its steps
and redoes from the wrong one. The fallible teacher slips once and skips the substitution.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from reasonmill.generators import calc
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun, canon, canon_tuple
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

# (unknowns, coefficient range, zero coefficients below the diagonal: less elimination) per level
LEVELS = {1: (2, 6, 1), 2: (2, 9, 0), 3: (3, 6, 2), 4: (3, 9, 0), 5: (4, 6, 0)}
NAMES = "xyzw"


def _row_text(row: list, names: str) -> str:
    out = ""
    for c, v in zip(row, names, strict=True):
        if c == 0:
            continue
        mag = "" if abs(c) == 1 else canon(abs(c))
        out += ("-" if c < 0 else "") + mag + v if not out else (" - " if c < 0 else " + ") + mag + v
    return out or "0"


def _det_nonzero(rows: list[list[int]]) -> bool:
    m = [[Fraction(v) for v in r] for r in rows]
    n = len(m)
    for i in range(n):
        piv = next((r for r in range(i, n) if m[r][i] != 0), None)
        if piv is None:
            return False
        m[i], m[piv] = m[piv], m[i]
        for r in range(i + 1, n):
            f = m[r][i] / m[i][i]
            m[r] = [a - f * b for a, b in zip(m[r], m[i], strict=True)]
    return True


class LinearSystem(Family):
    """Solve n linear equations in n unknowns."""

    name = "linear_system"
    description = "systems of 2–4 linear equations by elimination"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        n, top, zeros = LEVELS[params.level]
        sol = [rng.randint(-9, 9) for _ in range(n)]
        below = [(r, c) for r in range(n) for c in range(r)][:zeros]
        while True:
            A = [[rng.randint(-top, top) for _ in range(n)] for _ in range(n)]
            for r, c in below:
                A[r][c] = 0
            if all(any(r) for r in A) and _det_nonzero(A):
                break
        b = [sum(a * s for a, s in zip(row, sol, strict=True)) for row in A]
        names = NAMES[:n]
        eqs = "; ".join(f"{_row_text(row, names)} = {r}" for row, r in zip(A, b, strict=True))
        q = f"Solve the system {eqs}. Give ({', '.join(names)})."
        return Problem(
            question=q, answer=canon_tuple(sol), meta={"spec": {"A": A, "b": b, "vars": list(names)}}
        )

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        return calc.run(SystemMachine(problem.meta["spec"]), rng, slip_rate(backtracks), max_slips=backtracks)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Error "slip": a wrong constant in a row operation or a back substitution, carried through
        without the final substitution check."""
        return calc.slipped(SystemMachine(problem.meta["spec"]), rng) if "slip" in kinds else None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return calc.resume(SystemMachine(problem.meta["spec"]), records, rng)

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Elimination by hand, slipping with `STUDENT_SLIP` per digit operation, no check."""
        run = calc.run(SystemMachine(problem.meta["spec"]), rng, checks=False, student=STUDENT_SLIP)
        return run.answer, run.nodes


STUDENT_SLIP = 0.02  # the offline student's slip probability per digit operation


def slip_rate(backtracks: int) -> float:
    """The teacher's slip probability per step for a backtrack knob value."""
    return min(0.4, 0.08 * backtracks)


def _rows(m: list[list[str]]) -> list[list[Fraction]]:
    return [[calc.frac(v) for v in row] for row in m]


class SystemMachine(calc.Machine):
    """Gaussian elimination with exact fractions, one row operation per step, back substitution,
    then the solution substituted into every original equation (which catches any slip)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.A, self.b, self.names = spec["A"], spec["b"], "".join(spec["vars"])
        self.n = len(self.names)

    def start(self) -> dict[str, Any]:
        m = [
            [canon(Fraction(v)) for v in row] + [canon(Fraction(r))]
            for row, r in zip(self.A, self.b, strict=True)
        ]
        return {"m": m, "x": [None] * self.n, "checked": False}

    def intro(self) -> str:
        eqs = "; ".join(
            f"({i + 1}) {_row_text(row, self.names)} = {r}"
            for i, (row, r) in enumerate(zip(self.A, self.b, strict=True))
        )
        return f"I eliminate one unknown at a time, keeping the equations as rows: {eqs}."

    def next_op(self, env: dict[str, Any]) -> calc.Op | None:
        n, names = self.n, self.names
        m = _rows(env["m"])
        for i in range(n):
            piv = next((r for r in range(i, n) if m[r][i] != 0), None)
            if piv is None:
                break
            if piv != i:
                swapped = [list(row) for row in env["m"]]
                swapped[i], swapped[piv] = swapped[piv], swapped[i]
                return calc.Op(
                    value=swapped,
                    text=lambda v, i=i, piv=piv: (
                        f"Row {i + 1} has no {names[i]}, so I swap rows {i + 1} and {piv + 1}."
                    ),
                    apply=lambda env, v: {**env, "m": v},
                    label=f"the swap of rows {i + 1} and {piv + 1}",
                )
            for r in range(i + 1, n):
                if m[r][i] == 0:
                    continue
                f = m[r][i] / m[i][i]
                new = [a - f * b for a, b in zip(m[r], m[i], strict=True)]
                right = [list(row) for row in env["m"]]
                right[r] = [canon(v) for v in new]

                def slip(
                    rng: random.Random, r: int = r, new: list[Fraction] = new, right: list = right
                ) -> list:
                    wrong = [list(row) for row in right]
                    wrong[r][n] = canon(new[n] + rng.choice([-2, -1, 1, 2]))
                    return wrong

                return calc.Op(
                    value=right,
                    text=lambda v, r=r, i=i, f=f: (
                        f"Row {r + 1} minus {canon(f)} × row {i + 1} removes {names[i]}: {_row_text([Fraction(x) for x in v[r][:n]], names)} = {v[r][n]}."
                    ),
                    apply=lambda env, v: {**env, "m": v},
                    slip=slip,
                    work=sum(calc.digits(f, b) for b in m[i]),
                    label=f"the row operation on row {r + 1}",
                    show=lambda v, r=r: f"{_row_text([Fraction(x) for x in v[r][:n]], names)} = {v[r][n]}",
                )
        x = env["x"]
        for i in reversed(range(n)):
            if x[i] is not None:
                continue
            known = sum(m[i][j] * Fraction(x[j]) for j in range(i + 1, n))
            val = (m[i][n] - known) / m[i][i]
            return calc.Op(
                value=canon(val),
                text=lambda v, i=i, known=known: (
                    f"From row {i + 1}: {names[i]} = ({canon(m[i][n])} - ({canon(known)})) / {canon(m[i][i])} = {v}."
                ),
                apply=lambda env, v, i=i: {**env, "x": [v if j == i else x[j] for j in range(n)]},
                slip=(lambda rng, val=val: canon(val + rng.choice([-2, -1, 1, 2]))),
                work=calc.digits(m[i][n], known, m[i][i]) * (n - i),
                label=f"{names[i]} from row {i + 1}",
            )
        if not env["checked"]:
            vals = [Fraction(v) for v in x]
            got = [sum(Fraction(a) * v for a, v in zip(row, vals, strict=True)) for row in self.A]
            bad = next((k for k, (g, b) in enumerate(zip(got, self.b, strict=True)) if g != b), None)

            def text(ok: bool) -> str:
                if ok:
                    return f"Check: substituting into every equation gives {', '.join(canon(g) for g in got)}, as required."
                return f"Check: equation {bad + 1} gives {canon(got[bad])}, but it should be {self.b[bad]}."

            return calc.Op(
                value=bad is None,
                text=text,
                apply=lambda env, v: {**env, "checked": True},
                work=n * n,
                verify=True,
                label="the check",
            )
        return None

    def conclude(self, env: dict[str, Any]) -> tuple[str, str]:
        answer = canon_tuple([Fraction(v) for v in env["x"]])
        return f"So ({', '.join(self.names)}) = {answer}.", answer


FAMILIES.register(LinearSystem.name, LinearSystem())
