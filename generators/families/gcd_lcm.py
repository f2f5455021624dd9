"""Greatest common divisor and least common multiple, by Euclid's algorithm.

Level sets how many numbers (2 up to level 3, then 3, then 4) and how large they are (two to
five digits), so Euclid needs more division steps as the level rises. The question asks for the
gcd or the lcm (lcm(a, b) = a·b / gcd(a, b), folded over the list). The solver (`EuclidMachine`,
`reasonmill.generators.calc`) runs Euclid one division at a time. With the backtrack knob it
really slips on a remainder or a product now and then and catches it by multiplying back; the
fallible teacher slips once and does not check.
"""

from __future__ import annotations

import random
from fractions import Fraction
from math import gcd
from typing import Any

from reasonmill.generators import calc
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun
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

    def rebridge(self, spec: dict[str, Any], value: str) -> dict[str, Any] | None:
        """The bridged value (its absolute value) is the first number."""
        try:
            v = Fraction(value)
        except (ValueError, ZeroDivisionError):
            return None
        if v.denominator != 1 or abs(v) <= 1:
            return None
        return {**spec, "nums": [abs(int(v)), *spec["nums"][1:]]}

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        return calc.run(EuclidMachine(problem.meta["spec"]), rng, slip_rate(backtracks), max_slips=backtracks)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Error "slip": a wrong remainder or product, not checked, carried through."""
        return calc.slipped(EuclidMachine(problem.meta["spec"]), rng) if "slip" in kinds else None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return calc.resume(EuclidMachine(problem.meta["spec"]), records, rng)

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Euclid by hand, slipping with `STUDENT_SLIP` per digit operation, no checks."""
        run = calc.run(EuclidMachine(problem.meta["spec"]), rng, checks=False, student=STUDENT_SLIP)
        return run.answer, run.nodes


STUDENT_SLIP = 0.02  # the offline student's slip probability per digit operation


def slip_rate(backtracks: int) -> float:
    """The teacher's slip probability per step for a backtrack knob value."""
    return min(0.5, 0.1 * backtracks)


class EuclidMachine(calc.Machine):
    """Fold gcd (and lcm) over the numbers; gcd by Euclid one division at a time, each division
    checked by multiplying back, each lcm checked by multiplying back by the gcd."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.nums, self.want = spec["nums"], spec["want"]

    def start(self) -> dict[str, Any]:
        return {"k": 1, "g": self.nums[0], "l": self.nums[0], "pair": None, "gcd": None, "lcm_done": False}

    def intro(self) -> str:
        return f"I need the {self.want} of {', '.join(map(str, self.nums))}. I use Euclid's algorithm, two numbers at a time."

    def next_op(self, env: dict[str, Any]) -> calc.Op | None:
        k = env["k"]
        if k >= len(self.nums):
            return None
        n, g, lcm = self.nums[k], env["g"], env["l"]
        if env["gcd"] is None:
            x, y = env["pair"] or [max(g, n), min(g, n)]
            q, r = divmod(x, y)
            return calc.Op(
                value=r,
                text=lambda v: (
                    f"{x} = {q} × {y} + {v}."
                    + (" The remainder is 0, so the divisor is the gcd." if v == 0 else "")
                ),
                apply=lambda env, v: {**env, "pair": [y, v] if v else None, "gcd": y if v == 0 else None},
                check=lambda v: f"{q} × {y} + {v} = {q * y + v}, not {x}.",
                slip=lambda rng: max(0, r + rng.choice([-2, -1, 1, 2])) if r + 1 < y else max(0, r - 1),
                work=calc.digits(x) * calc.digits(y),
                label=f"the division of {x} by {y}",
            )
        new_g = env["gcd"]
        if self.want == "lcm" and not env["lcm_done"]:
            d = gcd(lcm, n)
            right = lcm * n // d
            return calc.Op(
                value=right,
                text=lambda v: (
                    f"So gcd({g}, {n}) = {new_g}. lcm({lcm}, {n}) = {lcm} × {n} / gcd({lcm}, {n}) = {lcm * n} / {d} = {v}."
                ),
                apply=lambda env, v: {**env, "l": v, "lcm_done": True},
                check=lambda v: f"{v} × {d} = {v * d}, not {lcm * n}.",
                slip=lambda rng: calc.nudge(rng, right),
                work=calc.digits(lcm) * calc.digits(n) + calc.digits(lcm * n),
                label=f"lcm({lcm}, {n})",
            )
        return calc.Op(
            value=new_g,
            text=lambda v: (
                f"So gcd({g}, {n}) = {v}." if self.want == "gcd" else f"Now I carry gcd {v} and lcm {lcm} on."
            ),
            apply=lambda env, v: {
                "k": k + 1,
                "g": v,
                "l": env["l"],
                "pair": None,
                "gcd": None,
                "lcm_done": False,
            },
            label=f"gcd({g}, {n})",
        )

    def conclude(self, env: dict[str, Any]) -> tuple[str, str]:
        answer = env["g"] if self.want == "gcd" else env["l"]
        return f"The {self.want} is {answer}.", str(answer)


FAMILIES.register(GcdLcm.name, GcdLcm())
