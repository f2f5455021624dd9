"""Polynomial roots: all rational roots of a cubic, quartic or quintic (sympy-checked in tests).

Level 1: cubic, small integer roots. Level 2: cubic with a leading factor. Level 3: quartic.
Level 4: quartic with one fractional root. Level 5: quintic with two fractional roots. Roots may
repeat; the answer is the set of distinct roots, "{-2, 1/3, 4}" ascending.

The solver runs the rational root theorem with deflation (`RootDomain`): it tries candidates
±p/q (p divides the constant, q the leading coefficient) in the order of their distance to
floating-point root estimates, evaluating each exactly (a node); on a root it divides it out and
searches the quotient, trying the same root again first for multiplicity. Every candidate that
evaluates to nonzero is a dead end, told with its value. The backtrack knob perturbs the
candidate order. The fallible teacher's error: a search stopped at its budget, answering the
roots found so far.
"""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction

from reasonmill.generators import search
from reasonmill.generators.base import FamilyParams, SolverRun, canon_set
from reasonmill.generators.families.quadratic_equation import RootSearchFamily, poly_text
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

# (degree, root numerator range, fractional roots, leading factor) per level
LEVELS = {1: (3, 4, 0, 1), 2: (3, 6, 0, 3), 3: (4, 6, 0, 2), 4: (4, 8, 1, 2), 5: (5, 6, 2, 2)}


def _times_linear(coeffs: list[int], q: int, p: int) -> list[int]:
    """coeffs × (q·x − p)."""
    out = [0] * (len(coeffs) + 1)
    for i, c in enumerate(coeffs):
        out[i] += c * q
        out[i + 1] -= c * p
    return out


class PolynomialRoots(RootSearchFamily):
    """Find the distinct rational roots of a polynomial with integer coefficients."""

    name = "polynomial_roots"
    mode = "poly"
    student_budget = 8  # candidates the offline student may evaluate
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

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Errors: "budget": the search stopped before every root is divided out, answering the roots
        found so far."""
        if "budget" not in kinds:
            return None
        dom = self.domain(problem)
        seed = rng.random()
        full = search.solve(dom, dom.policy(backtracks), random.Random(seed))
        if full.nodes < 3:
            return None
        run = search.solve(
            dom, replace(dom.policy(backtracks), budget=rng.randint(2, full.nodes - 1)), random.Random(seed)
        )
        if run.answer == problem.answer:
            return None
        run.meta["error"] = {"kind": "budget"}
        return run


FAMILIES.register(PolynomialRoots.name, PolynomialRoots())
