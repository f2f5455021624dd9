"""Quadratic equations a·x² + b·x + c = 0 with rational roots (checked against sympy in tests).

Level 1: monic, small integer roots. Level 2: a leading factor. Level 3: larger roots and factor.
Level 4: one fractional root. Level 5: two fractional roots with larger denominators. The answer
is the set of roots, "{r1, r2}" ascending ("{r}" for a double root). Roots are kept rational on
purpose: the plain-text form of surds ("2 - sqrt(3)") is not yet checked reliably downstream.

The solver searches with the rational root theorem (`RootDomain`, `reasonmill.generators.search`):
candidates ±p/q with p | c and q | a, tried in the order of their distance to floating-point root
estimates (the heuristic), each evaluated exactly; a candidate that gives a nonzero value is a
dead end, told with its value. Once one root r is found, the other follows from the product of
the roots, c / (a·r), checked against their sum. The backtrack knob perturbs the candidate order
(a worse heuristic), so more candidates really are tried. The fallible teacher's error: a slip
in the division that gives the other root, with the sum check skipped.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import Any

from reasonmill.generators import search
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun, canon, canon_set
from reasonmill.generators.registry import FAMILIES
from reasonmill.generators.search import Domain, Node, Policy, ordered
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


@lru_cache(maxsize=4096)
def _candidates(poly: tuple[int, ...]) -> list[Fraction]:
    return rational_candidates(list(poly))


def horner_work(coeffs: list[int], run: SolverRun) -> int:
    """Effort of a root search: for each candidate it evaluated, Horner's rule costs degree ×
    digits multiplications (more for a fractional candidate, whose powers of q grow the numbers);
    each root divided out costs another pass; listing and ranking the candidates costs one
    operation each. So bigger coefficients and fractional candidates cost more, not only more
    candidates."""
    digits = max(len(str(abs(c))) for c in coeffs)
    deg = len(coeffs) - 1
    cands = [r["m"] for r in run.records if r["t"] == "enter"]
    cands += [item["m"] for r in run.records if r["t"] == "group" for item in r["items"]]
    roots = sum(1 for r in run.records if r["t"] == "enter" and r["s"][2] is None)
    # listing the candidates and ranking them by the root estimates, per polynomial searched
    # (the original and each quotient): one operation per candidate
    polys = [list(coeffs)] + [
        r["s"][0] for r in run.records if r["t"] == "enter" and r["s"][2] is None and len(r["s"][0]) > 2
    ]
    listing = sum(len(_candidates(tuple(p))) * (len(p) - 1) for p in polys)  # a distance per estimate
    # at p/q Horner's rule works on q^deg-scaled integers: deg more digits per digit of q
    evaluations = sum(
        deg * (digits + (deg * len(str(Fraction(c).denominator)) if Fraction(c).denominator > 1 else 0))
        for c in cands
    )
    return evaluations + roots * deg + listing + 2


def approx_roots(coeffs: list[int], iterations: int = 40) -> list[complex]:
    """Floating-point estimates of all roots (Durand–Kerner): the root search's heuristic, which
    says where to look; every candidate is still checked exactly."""
    lead = coeffs[0]
    monic = [c / lead for c in coeffs]
    n = len(coeffs) - 1
    if n < 1:
        return []
    zs = [complex(0.4, 0.9) ** k for k in range(n)]
    for _ in range(iterations):
        new = []
        for i, z in enumerate(zs):
            p = 0j
            for c in monic:
                p = p * z + c
            q = 1 + 0j
            for j, w in enumerate(zs):
                if j != i:
                    q *= z - w
            new.append(z - p / q if q else z + 1e-6)
        done = max(abs(a - b) for a, b in zip(new, zs, strict=True)) < 1e-9
        zs = new
        if done:
            break
    return zs


def deflate_int(coeffs: tuple[int, ...], r: Fraction) -> tuple[int, ...]:
    """Integer coefficients (content removed, positive lead) of coeffs / (q·x − p) for a root r = p/q."""
    out = [Fraction(coeffs[0])]
    for c in coeffs[1:-1]:
        out.append(c + out[-1] * r)
    den = 1
    for c in out:
        den = den * c.denominator // gcd(den, c.denominator)
    ints = [int(c * den) for c in out]
    g = 0
    for c in ints:
        g = gcd(g, abs(c))
    ints = [c // (g or 1) for c in ints]
    return tuple(-c for c in ints) if ints[0] < 0 else tuple(ints)


RootState = tuple[tuple[int, ...], tuple[str, ...], tuple[str, str] | None]  # (poly left, roots found, miss)


class RootDomain(Domain):
    """The rational root theorem as a search: try candidates ±p/q, most likely first (by the
    floating-point root estimates), divide out each root found and search the quotient.

    `mode` "quadratic": once one root r of a·x² + b·x + c is found, the other is c / (a·r);
    "poly": deflate until one linear factor is left (trying a found root again first, for
    multiplicity). A candidate that evaluates to nonzero is a dead end (its value is the claim).
    """

    unit = "candidates"

    def __init__(self, coeffs: list[int], mode: str, slip: int | None = None) -> None:
        self.coeffs, self.mode, self.slip = tuple(coeffs), mode, slip

    def policy(self, backtracks: int) -> Policy:
        if backtracks <= 0:
            return Policy(budget=100_000)
        return Policy(noise=min(1.0, 0.3 * backtracks), budget=100_000)

    def root(self) -> RootState:
        return (self.coeffs, (), None)

    def key(self, state: RootState) -> Hashable:
        return state

    def moves(self, state: Any, rng: random.Random, policy: Policy, bound: float | None) -> Any:
        poly, found, miss = state
        if miss is not None or len(poly) <= 2:
            return
        cands = _candidates(poly)
        est = approx_roots(list(poly))
        scores = [min(abs(c.numerator / c.denominator - z) for z in est) for c in cands]
        if found and Fraction(found[-1]) in cands:
            scores[cands.index(Fraction(found[-1]))] = -1.0
        for c in ordered(cands, scores, rng, policy.noise):  # each candidate evaluated when tried
            v = evaluate(list(poly), c)
            if v == 0:
                yield canon(c), (deflate_int(poly, c), (*found, canon(c)), None)
            else:
                yield canon(c), (poly, found, (canon(c), canon(v)))

    def dead(self, state: Any) -> dict[str, Any] | None:
        return None if state[2] is None else {"x": state[2][0], "value": state[2][1]}

    def is_goal(self, state: Any) -> bool:
        return state[2] is None and len(state[0]) <= 2

    def encode(self, state: Any) -> Any:
        return [list(state[0]), list(state[1]), list(state[2]) if state[2] else None]

    def decode(self, data: Any) -> Any:
        return (
            tuple(int(c) for c in data[0]),
            tuple(str(x) for x in data[1]),
            tuple(data[2]) if data[2] else None,
        )

    def intro(self, root: Any) -> list[str]:
        c, a = self.coeffs[-1], self.coeffs[0]
        if self.mode == "quadratic":
            return [
                f"The equation is {poly_text(list(self.coeffs))} = 0. A rational root p/q must have p dividing {c} and q dividing {a}; I try the candidates closest to where the roots roughly lie first."
            ]
        return [
            f"The polynomial is {poly_text(list(self.coeffs))}. Rational roots p/q have p dividing {c} and q dividing {a}; I test the candidates closest to where the roots roughly lie first and divide out each root."
        ]

    def enter_text(self, parent: Any, move: Any, child: Any, depth: int, alt: bool, node: Node) -> str:
        poly = parent[0]
        if child[2] is not None:
            body = f"try x = {move}: the polynomial gives {child[2][1]}."
        elif self.mode == "quadratic":
            body = (
                f"try x = {move}: {poly_text(list(poly)).replace('x', f'({move})')} = 0, so {move} is a root."
            )
        else:
            rest = poly_text(list(child[0])) if len(child[0]) > 1 else "a constant"
            body = f"try x = {move}: it gives 0, so it is a root. Dividing by (x - ({move})) leaves {rest}."
        return f"Alternatively, {body}" if alt else body[0].upper() + body[1:]

    def fail_text(self, node: Node, parent: Any) -> str:
        x, v = node.state[2]
        return f"Wait, {v} ≠ 0, so {x} is not a root. Let me go back to the candidates."

    def short(self, node: Node) -> str:
        x, v = node.state[2]
        return f"x = {x} gives {v}"

    def group_text(self, nodes: list[Node], parent: Any, depth: int) -> str:
        return "Hmm, " + "; ".join(self.short(n) for n in nodes) + ". None of these is 0, so none is a root."

    def conclude(self, goal: Any) -> tuple[str, str]:
        poly, found, _ = goal
        roots = [Fraction(x) for x in found]
        if len(poly) == 2:
            roots.append(Fraction(-poly[1], poly[0]))
        answer = canon_set(roots)
        if self.mode == "quadratic":
            a, b, c = self.coeffs
            r, other = roots[0], roots[-1]
            if self.slip is not None:  # the fallible teacher: a slip in the division, no sum check
                other += self.slip
                answer = canon_set([r, other])
                return (
                    f"The roots multiply to c/a = {canon(Fraction(c, a))}, so the other root is {canon(Fraction(c, a))} / ({canon(r)}) = {canon(other)}. The roots are {answer}.",
                    answer,
                )
            return (
                f"The roots multiply to c/a = {canon(Fraction(c, a))}, so the other root is {canon(Fraction(c, a))} / ({canon(r)}) = {canon(other)}. Check: the roots add to {canon(r + other)} = −b/a = {canon(Fraction(-b, a))}. The roots are {answer}.",
                answer,
            )
        last = (
            f"The last factor {poly_text(list(poly))} gives x = {canon(roots[-1])}. "
            if len(poly) == 2
            else ""
        )
        return f"{last}The polynomial is fully factored; the distinct roots are {answer}.", answer

    def guess(self, found: search.Search, line: list[Node]) -> tuple[str, str]:
        roots = [Fraction(x) for x in line[-1].state[1]]
        if not roots:
            roots = [Fraction(0)]
        answer = canon_set(roots)
        return f"I stop after {found.nodes} candidates; the roots I have are {answer}.", answer


class RootSearchFamily(Family):
    """A family answered by the rational root search (`RootDomain` in `mode`): the teacher's solve,
    the reviser's resume and the offline student (a random candidate order, `student_budget`
    candidates at most) are the same search for every such family."""

    mode: str = "quadratic"
    student_budget: int = 5

    def domain(self, problem: Problem, slip: int | None = None) -> RootDomain:
        """The root search over the problem's coefficients."""
        return RootDomain(problem.meta["spec"]["coeffs"], self.mode, slip=slip)

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        dom = self.domain(problem)
        run = search.solve(dom, dom.policy(backtracks), rng)
        run.nodes = horner_work(problem.meta["spec"]["coeffs"], run)
        return run

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return search.resume(self.domain(problem), records, rng, Policy(noise=0.5, budget=budget or 10_000))

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Candidates in a random order, `student_budget` evaluations at most."""
        run = search.solve(self.domain(problem), Policy(noise=1.0, budget=self.student_budget), rng)
        return run.answer, run.nodes


class QuadraticEquation(RootSearchFamily):
    """Solve a quadratic equation; the answer is the set of its roots."""

    name = "quadratic_equation"
    mode = "quadratic"
    student_budget = 5  # candidates the offline student may evaluate
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

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Error "slip": once a root r is found, the other root c / (a·r) is computed wrongly
        (off by one or two) and the sum check is skipped."""
        if "slip" not in kinds:
            return None
        dom = self.domain(problem, slip=rng.choice([-2, -1, 1, 2]))
        run = search.solve(dom, dom.policy(backtracks), rng)
        if run.answer == problem.answer:
            return None
        run.meta["error"] = {"kind": "slip"}
        return run


FAMILIES.register(QuadraticEquation.name, QuadraticEquation())
