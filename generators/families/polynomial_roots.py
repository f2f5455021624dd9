"""Polynomial roots: all rational roots of a cubic, quartic or quintic (sympy-checked in tests).

Level 1: cubic, small integer roots. Level 2: cubic with a leading factor. Level 3: quartic.
Level 4: quartic with one fractional root. Level 5: quintic with two fractional roots. Roots may
repeat; the answer is the set of distinct roots, "{-2, 1/3, 4}" ascending.

The solver runs the rational root theorem with deflation: it tries candidates ±p/q (p divides the
constant, q the leading coefficient) smallest first, evaluating each by Horner's rule (a node);
on a root it divides it out by synthetic division and searches the smaller polynomial, trying
the same root again for multiplicity. Every candidate that evaluates to nonzero is a real dead
end; the narrated wrong branches are drawn from those.
"""

from __future__ import annotations

import random
from fractions import Fraction

from reasonmill.generators.base import Family, FamilyParams, SolverRun, canon, canon_set, detour, finish
from reasonmill.generators.families.quadratic_equation import evaluate, poly_text, rational_candidates
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

# (degree, root numerator range, fractional roots, leading factor) per level
LEVELS = {1: (3, 4, 0, 1), 2: (3, 6, 0, 3), 3: (4, 6, 0, 2), 4: (4, 6, 1, 2), 5: (5, 6, 2, 2)}


def _times_linear(coeffs: list[int], q: int, p: int) -> list[int]:
    """coeffs × (q·x − p)."""
    out = [0] * (len(coeffs) + 1)
    for i, c in enumerate(coeffs):
        out[i] += c * q
        out[i + 1] -= c * p
    return out


def _deflate(coeffs: list[Fraction], r: Fraction) -> list[Fraction]:
    """Synthetic division by (x − r) of a polynomial that has r as a root."""
    out = [coeffs[0]]
    for c in coeffs[1:-1]:
        out.append(c + out[-1] * r)
    return out


class PolynomialRoots(Family):
    """Find the distinct rational roots of a polynomial with integer coefficients."""

    name = "polynomial_roots"
    description = "rational roots of a cubic to quintic (rational root theorem + deflation)"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        degree, top, fractional, lead = LEVELS[params.level]
        roots: list[Fraction] = []
        for i in range(degree):
            num = 0
            while num == 0:
                num = rng.randint(-top, top)
            roots.append(Fraction(num, rng.choice([2, 3]) if i < fractional else 1))
        coeffs = [rng.randint(1, lead) * rng.choice([1, -1] if lead > 1 else [1])]
        for r in roots:
            coeffs = _times_linear(coeffs, r.denominator, r.numerator)
        q = f"Find all rational roots of {poly_text(coeffs)} = 0. Give the set of distinct roots, e.g. {{-2, 1/3, 4}}."
        return Problem(question=q, answer=canon_set(roots), meta={"spec": {"coeffs": coeffs}})

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        coeffs = problem.meta["spec"]["coeffs"]
        path = [
            f"The polynomial is {poly_text(coeffs)}. Rational roots p/q have p dividing {coeffs[-1]} and q dividing {coeffs[0]}; I test candidates smallest first and divide out each root."
        ]
        current = [Fraction(c) for c in coeffs]
        found: list[Fraction] = []
        misses: list[tuple[int, Fraction, Fraction]] = []
        nodes, seen = 0, set()
        while len(current) > 1:
            ints = [int(c * _lcm_den(current)) for c in current]
            for cand in ([found[-1]] if found else []) + rational_candidates(ints):
                nodes += 1
                value = evaluate(ints, cand)
                if value == 0:
                    break
                if cand not in seen:
                    seen.add(cand)
                    misses.append((len(path) - 1, cand, value))
            current = _deflate(current, cand)
            found.append(cand)
            rest = [int(c * _lcm_den(current)) for c in current] if len(current) > 1 else [1]
            path.append(
                f"x = {canon(cand)} gives 0, so it is a root. Dividing by (x - ({canon(cand)})) leaves {poly_text(rest)}."
            )
        answer = canon_set(found)
        path.append(f"The polynomial is fully factored; the distinct roots are {answer}.")
        picks = sorted(rng.sample(misses, min(backtracks, len(misses))), key=lambda m: m[0])
        g = 20
        while len(picks) < backtracks:  # fewer real misses than asked: test larger integers too
            picks.append((len(path) - 2, Fraction(g), evaluate(coeffs, Fraction(g))))
            g += 1
        detours = [
            detour(
                k,
                f"maybe x = {canon(c)} is a root.",
                f"Horner's rule gives {canon(v)}.",
                reason=f"{canon(v)} ≠ 0, so {canon(c)} is not a root here.",
            )
            for k, c, v in picks
        ]
        return finish(path, detours, answer, nodes)


def _lcm_den(coeffs: list[Fraction]) -> int:
    from math import lcm

    return lcm(*(c.denominator for c in coeffs))


FAMILIES.register(PolynomialRoots.name, PolynomialRoots())
