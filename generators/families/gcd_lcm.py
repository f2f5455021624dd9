"""Greatest common divisor and least common multiple, by Euclid's algorithm.

Level sets how many numbers (2 up to level 3, then 3, then 4) and how large they are (two to
five digits), so Euclid needs more division steps as the level rises. The question asks for the
gcd or the lcm (lcm(a, b) = a·b / gcd(a, b), folded over the list). The solver runs Euclid one
division at a time; its wrong branches test a plausible common divisor (a small prime, or the
smaller number itself) that leaves a remainder, and go back.
"""

from __future__ import annotations

import random
from math import gcd

from reasonmill.generators.base import Family, FamilyParams, SolverRun, detour, finish, spread
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

# (how many numbers, digits of the shared factor, digits of the cofactors) per level
LEVELS = {1: (2, 1, 1), 2: (2, 2, 1), 3: (2, 2, 2), 4: (3, 2, 2), 5: (4, 3, 2)}


def _euclid(a: int, b: int) -> list[tuple[int, int, int, int]]:
    """The division steps (a, b, q, r) of Euclid's algorithm on a ≥ b."""
    steps = []
    while b:
        q, r = divmod(a, b)
        steps.append((a, b, q, r))
        a, b = b, r
    return steps


class GcdLcm(Family):
    """gcd or lcm of two to four numbers that share a common factor."""

    name = "gcd_lcm"
    description = "greatest common divisor / least common multiple (Euclid)"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        return self._make(rng, params.level, None, None)

    def bridge(self, rng: random.Random, params: FamilyParams, value: int, symbol: str) -> Problem | None:
        """The bridged value is the first number (its absolute value; 0 and ±1 do not bridge)."""
        return self._make(rng, params.level, abs(value), symbol) if abs(value) > 1 else None

    def _make(self, rng: random.Random, level: int, first: int | None, symbol: str | None) -> Problem:
        count, fdig, cdig = LEVELS[level]
        shared = (
            rng.randint(2, 10**fdig - 1)
            if first is None
            else rng.choice([d for d in range(2, min(first, 999) + 1) if first % d == 0] or [first])
        )
        nums: list[int] = [] if first is None else [first]
        while len(nums) < count:
            n = shared * rng.randint(2, 10**cdig * 2)
            if n not in nums:
                nums.append(n)
        want = rng.choice(["gcd", "lcm"])
        g = m = nums[0]
        for n in nums[1:]:
            g, m = gcd(g, n), m * n // gcd(m, n)
        word = "greatest common divisor" if want == "gcd" else "least common multiple"
        shown = [symbol or str(nums[0])] + [str(n) for n in nums[1:]]
        q = f"What is the {word} of {', '.join(shown[:-1])} and {shown[-1]}?"
        return Problem(
            question=q, answer=str(g if want == "gcd" else m), meta={"spec": {"nums": nums, "want": want}}
        )

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        nums, want = problem.meta["spec"]["nums"], problem.meta["spec"]["want"]
        path = [
            f"I need the {want} of {', '.join(map(str, nums))}. I use Euclid's algorithm, two numbers at a time."
        ]
        nodes = 0
        g, lcm = nums[0], nums[0]
        for n in nums[1:]:
            a, b = max(g, n), min(g, n)
            for x, y, q, r in _euclid(a, b):
                path.append(
                    f"{x} = {q} × {y} + {r}."
                    + (" The remainder is 0, so the divisor is the gcd." if r == 0 else "")
                )
                nodes += 1
            new_g = gcd(g, n)
            path.append(f"So gcd({g}, {n}) = {new_g}.")
            if want == "lcm":
                new_l = lcm * n // gcd(lcm, n)
                path.append(
                    f"lcm({lcm}, {n}) = {lcm} × {n} / gcd({lcm}, {n}) = {lcm * n} / {gcd(lcm, n)} = {new_l}."
                )
                lcm = new_l
            g = new_g
        answer = g if want == "gcd" else lcm
        path.append(f"The {want} is {answer}.")

        # Wrong branches: distinct candidate divisors of the smallest number that fail on another.
        smallest = min(nums)
        cands = [
            d
            for d in (2, 3, 5, 7, 11, 13, 17, 19, 23, smallest, smallest // 2, smallest // 3)
            if d > 1 and any(m % d for m in nums)
        ]
        cands = list(dict.fromkeys(cands))
        detours = []
        for k, d in zip(
            spread(rng, backtracks, len(path) - 1),
            rng.sample(cands, min(backtracks, len(cands))),
            strict=False,
        ):
            m = next(m for m in nums if m % d)
            detours.append(
                detour(
                    k,
                    f"maybe {d} divides all the numbers and I can factor it out.",
                    f"{m} ÷ {d} = {m // d} remainder {m % d}.",
                    reason=f"{d} does not divide {m}, so that guess fails.",
                )
            )
        return finish(path, detours, str(answer), nodes)


FAMILIES.register(GcdLcm.name, GcdLcm())
