"""Quadratic equations a·x² + b·x + c = 0 with rational roots (checked against sympy in tests).

Level 1: monic, small integer roots. Level 2: a leading factor. Level 3: larger roots and factor.
Level 4: one fractional root. Level 5: two fractional roots with larger denominators. The answer
is the set of roots, "{r1, r2}" ascending ("{r}" for a double root). Roots are kept rational on
purpose: the plain-text form of surds ("2 - sqrt(3)") is not yet checked reliably downstream.

The solver searches like a student using the rational root theorem: candidates ±p/q with p | c
and q | a, smallest first, each evaluated (a node); candidates that give a nonzero value are the
real dead ends, and the narrated wrong branches are drawn from them. Once one root r is found,
the other follows from the product of the roots, c / (a·r).
"""

from __future__ import annotations

import random
from fractions import Fraction

from reasonmill.generators.base import (
    Family,
    FamilyParams,
    SolverRun,
    canon,
    canon_set,
    detour,
    finish,
    spread,
)
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

# (leading factor, root numerator range, denominators of root 1, of root 2) per level
LEVELS = {
    1: (1, 6, (1,), (1,)),
    2: (3, 6, (1,), (1,)),
    3: (4, 10, (1,), (1,)),
    4: (5, 15, (2, 3, 5), (1,)),
    5: (5, 20, (2, 3, 4, 5, 7), (2, 3, 5)),
}


def poly_text(coeffs: list[int]) -> str:
    """Integer coefficients (highest degree first) as plain text: [2, -3, 1] → "2x^2 - 3x + 1"."""
    deg, out = len(coeffs) - 1, ""
    for i, cf in enumerate(coeffs):
        if cf == 0:
            continue
        power = deg - i
        var = "" if power == 0 else "x" if power == 1 else f"x^{power}"
        mag = "" if abs(cf) == 1 and var else str(abs(cf))
        out += (("-" if cf < 0 else "") if not out else (" - " if cf < 0 else " + ")) + mag + var
    return out or "0"


def evaluate(coeffs: list[int], x: Fraction) -> Fraction:
    """The polynomial's exact value at `x`: Horner's rule on integers, q^n·P(p/q), then one division."""
    p, q = x.numerator, x.denominator
    acc, scale = 0, 1
    for cf in coeffs:
        acc = acc * p + cf * scale
        scale *= q
    return Fraction(acc, scale // q)


def divisors(n: int) -> list[int]:
    """Positive divisors of n > 0, by trial division up to √n."""
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def rational_candidates(coeffs: list[int]) -> list[Fraction]:
    """±p/q with p | constant and q | leading coefficient, by size then sign (the theorem's list)."""
    lead, const = abs(coeffs[0]), abs(coeffs[-1])
    ps, qs = divisors(const), divisors(lead)
    cands = {Fraction(p, q) for p in ps for q in qs}
    return [c for v in sorted(cands) for c in (v, -v)]


class QuadraticEquation(Family):
    """Solve a quadratic equation; the answer is the set of its roots."""

    name = "quadratic_equation"
    description = "roots of a quadratic by the rational root theorem (sympy-checked)"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        k_top, top, dens1, dens2 = LEVELS[params.level]
        roots = []
        for dens in (dens1, dens2):
            num = 0
            while num == 0:
                num = rng.randint(-top, top)
            roots.append(Fraction(num, rng.choice(dens)))
        (n1, d1), (n2, d2) = ((r.numerator, r.denominator) for r in roots)
        k = rng.randint(1, k_top) * rng.choice([1, -1] if params.level > 1 else [1])
        coeffs = [k * d1 * d2, -k * (d1 * n2 + d2 * n1), k * n1 * n2]  # k(d1·x − n1)(d2·x − n2)
        q = f"Solve {poly_text(coeffs)} = 0 for x. Give the set of all roots, e.g. {{-1, 4}}."
        return Problem(question=q, answer=canon_set(roots), meta={"spec": {"coeffs": coeffs}})

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        coeffs = problem.meta["spec"]["coeffs"]
        a, b, c = coeffs
        path = [
            f"The equation is {poly_text(coeffs)} = 0. A rational root p/q must have p dividing {c} and q dividing {a}."
        ]
        misses: list[tuple[Fraction, Fraction]] = []
        nodes = 0
        for cand in rational_candidates(coeffs):
            nodes += 1
            value = evaluate(coeffs, cand)
            if value == 0:
                break
            misses.append((cand, value))
        other = Fraction(c, a) / cand
        path.append(
            f"Trying candidates from the smallest: x = {canon(cand)} gives {poly_text(coeffs).replace('x', f'({canon(cand)})')} = 0, so {canon(cand)} is a root."
        )
        path.append(
            f"The roots multiply to c/a = {canon(Fraction(c, a))}, so the other root is {canon(Fraction(c, a))} / ({canon(cand)}) = {canon(other)}."
        )
        answer = canon_set([cand, other])
        path.append(
            f"Check: the roots add to {canon(cand + other)} = −b/a = {canon(Fraction(-b, a))}. The roots are {answer}."
        )

        wrong = misses + [
            (g, evaluate(coeffs, Fraction(g))) for g in range(10, 40) if evaluate(coeffs, Fraction(g))
        ]
        picks = wrong[:backtracks] if len(misses) >= backtracks else misses + wrong[len(misses) : backtracks]
        detours = [
            detour(
                k,
                f"maybe x = {canon(g)} is a root.",
                f"Substituting gives {canon(v)}.",
                reason=f"{canon(v)} ≠ 0, so {canon(g)} is not a root.",
            )
            for k, (g, v) in zip(spread(rng, backtracks, 1), rng.sample(picks, len(picks)), strict=False)
        ]
        return finish(path, detours, answer, nodes + 2)


FAMILIES.register(QuadraticEquation.name, QuadraticEquation())
