"""Modular arithmetic: a^e mod m by square-and-multiply.

Level sets the sizes: the exponent's bit length (3 bits at level 1 up to 30 bits at level 5) and
the modulus (up to 2 digits, then 3, then 4), so the solver squares and multiplies more times as
the level rises. The solver reads the exponent in binary and keeps a running power a^(2^i) mod m;
each wrong branch reuses a stale square (a real slip), checks it against the square it should be
and goes back.
"""

from __future__ import annotations

import random

from reasonmill.generators.base import Family, FamilyParams, SolverRun, detour, finish, spread
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

# (exponent bits, modulus range) per level
LEVELS = {1: (3, (5, 20)), 2: (6, (10, 60)), 3: (10, (20, 200)), 4: (18, (100, 1000)), 5: (30, (1000, 9999))}


class ModularPower(Family):
    """Compute base^exponent mod modulus."""

    name = "modular_power"
    description = "a^e mod m by repeated squaring"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        return self._make(rng, params.level, None, None)

    def bridge(self, rng: random.Random, params: FamilyParams, value: int, symbol: str) -> Problem | None:
        """The bridged value is the base (reduced mod m first, as the solver does)."""
        return self._make(rng, params.level, value, symbol)

    def _make(self, rng: random.Random, level: int, base: int | None, symbol: str | None) -> Problem:
        bits, (lo, hi) = LEVELS[level]
        m = rng.randint(lo, hi)
        a = rng.randint(2, m - 1) if base is None else base % m
        e = rng.randint(2 ** (bits - 1), 2**bits - 1)
        shown = f"({symbol} mod {m})" if symbol else str(a)
        q = f"What is {shown}^{e} mod {m}? Give the remainder, an integer from 0 to {m - 1}."
        return Problem(question=q, answer=str(pow(a, e, m)), meta={"spec": {"a": a, "e": e, "m": m}})

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        a, e, m = (problem.meta["spec"][k] for k in "aem")
        binary = bin(e)[2:]
        path = [
            f"I write {e} in binary: {binary}. I square {a} repeatedly mod {m} and multiply in the powers whose bit is 1."
        ]
        squares = [a % m]
        result, nodes = 1, 0
        for i, bit in enumerate(reversed(binary)):
            if i:
                prev = squares[-1]
                squares.append(prev * prev % m)
                path.append(f"{a}^{2**i} ≡ {prev}² = {prev * prev} ≡ {squares[-1]} (mod {m}).")
                nodes += 1
            if bit == "1":
                new = result * squares[i] % m
                path.append(
                    f"Bit {i} is 1: running product {result} × {squares[i]} = {result * squares[i]} ≡ {new} (mod {m})."
                )
                result = new
                nodes += 1
        path.append(f"So {a}^{e} mod {m} = {result}.")

        # Wrong branches: at square step i, reuse the stale square a^(2^(i-1)) (distinct i), check.
        square_steps = [j for j, t in enumerate(path) if "²" in t]
        detours = []
        for j in sorted(rng.sample(square_steps, min(backtracks, len(square_steps)))):
            i = sum(1 for t in path[: j + 1] if "²" in t)
            stale, right = squares[i - 1], squares[i]
            if stale == right:  # a fixed point: the slip happens to be right; check another way
                stale = (stale + 1) % m
            detours.append(
                detour(
                    j - 1,
                    f"maybe {a}^{2**i} mod {m} stays {stale}, the value I already have.",
                    f"Checking: {a}^{2**i} = ({a}^{2 ** (i - 1)})² ≡ {squares[i - 1]}² = {squares[i - 1] ** 2}, and {squares[i - 1] ** 2} mod {m} = {right}.",
                    reason=f"{right} ≠ {stale}, so I skipped the squaring.",
                )
            )
        # more backtracks than squarings: try small exponent shortcuts that fail a check
        for k in spread(rng, backtracks - len(detours), len(path) - 1):
            wrong = (result + len(detours) + 1) % m
            detours.append(
                detour(
                    k,
                    f"maybe the answer is just {wrong}, guessing from the pattern so far.",
                    reason=f"nothing I computed gives {wrong}; guessing is not a check.",
                )
            )
        return finish(path, detours, str(result), nodes)


FAMILIES.register(ModularPower.name, ModularPower())
