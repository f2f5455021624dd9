"""Primes: the largest prime factor of n, by trial division.

Level sets the size of the prime factors (up to 7, 30, 100, 400, 1500), so trial division tries
more divisors as the level rises. The solver divides out 2, 3, 5, ... in order; every divisor it
tries that does not divide is a real dead end of the search, and the narrated wrong branches are
drawn from those (distinct divisors), each told as a division that leaves a remainder.
"""

from __future__ import annotations

import random

from reasonmill.generators.base import Family, FamilyParams, SolverRun, detour, finish
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
        n = rest = problem.meta["spec"]["n"]
        path = [f"I factor {n} by trial division, trying divisors 2, 3, 5, 7, ... in order."]
        misses: list[tuple[int, int, int, int]] = []  # (path step before, divisor, dividend, remainder)
        d, nodes, found = 2, 0, []
        while d * d <= rest:
            nodes += 1
            if rest % d:
                misses.append((len(path) - 1, d, rest, rest % d))
            while rest % d == 0:
                path.append(f"{rest} ÷ {d} = {rest // d}, so {d} is a prime factor.")
                found.append(d)
                rest //= d
            d += 1 if d == 2 else 2
        if rest > 1:
            path.append(f"No divisor up to √{rest} divides {rest}, so {rest} is prime.")
            found.append(rest)
        path.append(f"{n} = {' × '.join(map(str, found))}. The largest prime factor is {max(found)}.")
        # Wrong branches: real misses of the search, or primes above √rest tested as factors of n.
        extra = [(len(path) - 2, p, n, n % p) for p in _SIEVE if n % p and p > d][
            : max(0, backtracks - len(misses))
        ]
        picks = rng.sample(misses + extra, min(backtracks, len(misses) + len(extra)))
        detours = [
            detour(
                k,
                f"maybe {p} divides {m}.",
                f"{m} ÷ {p} leaves remainder {r}.",
                reason=f"{p} is not a factor of {m}.",
            )
            for k, p, m, r in sorted(picks)
        ]
        return finish(path, detours, str(max(found)), nodes)


FAMILIES.register(PrimeFactors.name, PrimeFactors())
