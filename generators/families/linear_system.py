"""Systems of linear equations with a unique integer solution (sympy-checked in tests).

Level 1: two unknowns, one equation already free of x. Level 2: two unknowns. Level 3: three
unknowns, partly triangular. Level 4: three unknowns. Level 5: four unknowns. The zeros sit
below the diagonal, where elimination would put them. The
answer is the ordered tuple of the unknowns' values in the order they are named, "(2, -3)".

The solver runs Gaussian elimination with exact fractions, one row operation per step, then back
substitution; effort is the row operations and substitutions it performs. Its wrong branches try
a plausible-looking tuple (the right one with one value off), substitute it into an equation it
breaks, and go back.
"""

from __future__ import annotations

import random
from fractions import Fraction

from reasonmill.generators.base import (
    Family,
    FamilyParams,
    SolverRun,
    canon,
    canon_tuple,
    detour,
    finish,
    spread,
)
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
        spec = problem.meta["spec"]
        names = "".join(spec["vars"])
        n = len(names)
        m = [[Fraction(v) for v in row] + [Fraction(r)] for row, r in zip(spec["A"], spec["b"], strict=True)]
        path = [
            f"I eliminate one unknown at a time, keeping the equations as rows: {'; '.join(f'({i + 1}) {_row_text(r[:n], names)} = {canon(r[n])}' for i, r in enumerate(m))}."
        ]
        nodes = 0
        for i in range(n):
            piv = next(r for r in range(i, n) if m[r][i] != 0)
            if piv != i:
                m[i], m[piv] = m[piv], m[i]
                path.append(f"Row {i + 1} has no {names[i]}, so I swap rows {i + 1} and {piv + 1}.")
            for r in range(i + 1, n):
                if m[r][i] == 0:
                    continue
                f = m[r][i] / m[i][i]
                m[r] = [a - f * b for a, b in zip(m[r], m[i], strict=True)]
                nodes += 1
                path.append(
                    f"Row {r + 1} minus {canon(f)} × row {i + 1} removes {names[i]}: {_row_text(m[r][:n], names)} = {canon(m[r][n])}."
                )
        values = [Fraction(0)] * n
        for i in reversed(range(n)):
            known = sum(m[i][j] * values[j] for j in range(i + 1, n))
            values[i] = (m[i][n] - known) / m[i][i]
            nodes += 1
            path.append(
                f"From row {i + 1}: {names[i]} = ({canon(m[i][n])} - ({canon(known)})) / {canon(m[i][i])} = {canon(values[i])}."
            )
        answer = canon_tuple(values)
        path.append(f"So ({', '.join(names)}) = {answer}.")

        A, b = spec["A"], spec["b"]
        tried = set()
        detours = []
        for k in spread(rng, backtracks, len(path) - 1):
            j = len(detours) % n
            guess = list(values)
            guess[j] += 1 + len(detours) // n
            while tuple(guess) in tried:
                guess[j] += 1
            tried.add(tuple(guess))
            row = next(i for i in range(n) if A[i][j] != 0)
            lhs = sum(a * g for a, g in zip(A[row], guess, strict=True))
            detours.append(
                detour(
                    k,
                    f"maybe {canon_tuple(guess)} works; it looks close.",
                    f"Equation {row + 1} gives {canon(lhs)} there.",
                    reason=f"it should be {b[row]}, so {canon_tuple(guess)} is not the solution.",
                )
            )
        return finish(path, detours, answer, nodes + n * n)


FAMILIES.register(LinearSystem.name, LinearSystem())
