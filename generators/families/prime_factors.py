"""Primes: the largest prime factor of n, by trial division.

Level sets the size of the prime factors (up to 7, 30, 100, 400, 1500), so trial division tries
more divisors as the level rises. The solver (`TrialMachine`, `reasonmill.generators.calc`)
divides out 2, 3, 5, ... in order; each factor found is one paragraph, which names the divisors
that left a remainder before it (a scan, not a search: nothing is abandoned). With the backtrack
knob it really slips on a quotient now and then and catches it by multiplying back; the fallible
teacher slips once and does not check.
"""

from __future__ import annotations

import random
from typing import Any

from reasonmill.generators import calc
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

TOP_PRIME = {1: 7, 2: 30, 3: 100, 4: 400, 5: 1500}
_SIEVE = [p for p in range(2, 1501) if all(p % d for d in range(2, int(p**0.5) + 1))]


class PrimeFactors(Family):
    """Largest prime factor of a composite number."""

    name = "prime_factors"
    description = "largest prime factor by trial division"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        top = TOP_PRIME[params.level]
        primes = [p for p in _SIEVE if p <= top]
        factors = sorted(rng.choice(primes) for _ in range(rng.randint(2, 3 + params.level // 2)))
        factors[-1] = rng.choice([p for p in primes if p > top // 2] or primes)
        n = 1
        for p in factors:
            n *= p
        q = f"What is the largest prime factor of {n}?"
        return Problem(question=q, answer=str(max(factors)), meta={"spec": {"n": n}})

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        return calc.run(
            TrialMachine(problem.meta["spec"]["n"]), rng, slip_rate(backtracks), max_slips=backtracks
        )

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Error "slip": a wrong quotient, not checked; trial division goes on with the wrong number."""
        return calc.slipped(TrialMachine(problem.meta["spec"]["n"]), rng) if "slip" in kinds else None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return calc.resume(TrialMachine(problem.meta["spec"]["n"]), records, rng)

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Trial division by hand, slipping with `STUDENT_SLIP` per digit operation, no checks."""
        run = calc.run(TrialMachine(problem.meta["spec"]["n"]), rng, checks=False, student=STUDENT_SLIP)
        return run.answer, run.nodes


STUDENT_SLIP = 0.0015  # the offline student's slip probability per digit operation


def slip_rate(backtracks: int) -> float:
    """The teacher's slip probability per division for a backtrack knob value."""
    return min(0.5, 0.12 * backtracks)


class TrialMachine(calc.Machine):
    """Divide out 2, 3, 5, 7, ... in order. A paragraph per factor found names the divisors that
    left a remainder before it; each quotient is checked by multiplying back."""

    def __init__(self, n: int) -> None:
        self.n = n

    def start(self) -> dict[str, Any]:
        return {"rest": self.n, "d": 2, "found": [], "done": False}

    def intro(self) -> str:
        return f"I factor {self.n} by trial division, trying divisors 2, 3, 5, 7, ... in order."

    def next_op(self, env: dict[str, Any]) -> calc.Op | None:
        if env["done"]:
            return None
        rest, d, found = env["rest"], env["d"], env["found"]
        misses = []
        while d * d <= rest and rest % d:
            misses.append(d)
            d += 1 if d == 2 else 2
        tried = len(misses) * calc.digits(rest)
        if d * d > rest:  # what is left is 1 or a prime
            final = [*found, rest] if rest > 1 else list(found)
            return calc.Op(
                value=final,
                text=lambda v: (
                    (
                        f"No divisor up to √{rest} divides {rest}, so {rest} is prime."
                        if rest > 1
                        else "Nothing is left to divide."
                    )
                    + (f" ({_listed(misses)} leave remainders.)" if misses else "")
                ),
                apply=lambda env, v: {**env, "found": v, "done": True},
                work=tried + 1,
                label=f"the last factor {rest}",
            )
        q = rest // d
        return calc.Op(
            value=q,
            text=lambda v: (
                (f"{_listed(misses).capitalize()} leave remainders. " if misses else "")
                + f"{rest} ÷ {d} = {v}, so {d} is a prime factor."
            ),
            apply=lambda env, v: {"rest": v, "d": d, "found": [*found, d], "done": False},
            check=lambda v: f"{d} × {v} = {d * v}, not {rest}.",
            slip=lambda rng: calc.nudge(rng, q) if q > 11 else q + 1,
            work=tried + calc.digits(rest),
            label=f"{rest} ÷ {d}",
        )

    def conclude(self, env: dict[str, Any]) -> tuple[str, str]:
        found = env["found"] or [self.n]
        return f"{self.n} = {' × '.join(map(str, found))}. The largest prime factor is {max(found)}.", str(
            max(found)
        )


def _listed(misses: list[int]) -> str:
    if len(misses) > 6:
        return f"{misses[0]}, {misses[1]}, ..., {misses[-1]} ({len(misses)} divisors)"
    return " and ".join(", ".join(map(str, misses)).rsplit(", ", 1)) if misses else ""


FAMILIES.register(PrimeFactors.name, PrimeFactors())
