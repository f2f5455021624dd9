"""Modular arithmetic: a^e mod m by square-and-multiply.

Level sets the sizes: the exponent's bit length (3 bits at level 1 up to 30 bits at level 5) and
the modulus (up to 2 digits, then 3, then 4), so the solver squares and multiplies more times as
the level rises. The solver (`PowerMachine`, `reasonmill.generators.calc`) reads the exponent in
binary and keeps a running power a^(2^i) mod m. With the backtrack knob it really slips on a
reduction now and then and catches it by redoing the division; the fallible teacher slips once
and does not check.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from reasonmill.generators import calc
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun
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

    def rebridge(self, spec: dict[str, Any], value: str) -> dict[str, Any] | None:
        """The bridged value, reduced mod m, is the base."""
        try:
            v = Fraction(value)
        except (ValueError, ZeroDivisionError):
            return None
        return {**spec, "a": int(v) % spec["m"]} if v.denominator == 1 else None

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        return calc.run(PowerMachine(problem.meta["spec"]), rng, slip_rate(backtracks), max_slips=backtracks)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Error "slip": a wrong reduction mod m, not checked, carried through."""
        return calc.slipped(PowerMachine(problem.meta["spec"]), rng) if "slip" in kinds else None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return calc.resume(PowerMachine(problem.meta["spec"]), records, rng)

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Square and multiply by hand, slipping with `STUDENT_SLIP` per digit operation, no checks."""
        run = calc.run(PowerMachine(problem.meta["spec"]), rng, checks=False, student=STUDENT_SLIP)
        return run.answer, run.nodes


STUDENT_SLIP = 0.008  # the offline student's slip probability per digit operation


def slip_rate(backtracks: int) -> float:
    """The teacher's slip probability per step for a backtrack knob value."""
    return min(0.4, 0.06 * backtracks)


class PowerMachine(calc.Machine):
    """Square and multiply over the exponent's bits, each reduction mod m checked by redoing the
    division (the quotient times m plus the remainder must give the product back)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.a, self.e, self.m = spec["a"], spec["e"], spec["m"]
        self.bits = bin(self.e)[2:][::-1]

    def start(self) -> dict[str, Any]:
        return {"i": 0, "sq": self.a % self.m, "res": 1, "mult": False}

    def intro(self) -> str:
        return f"I write {self.e} in binary: {self.bits[::-1]}. I square {self.a} repeatedly mod {self.m} and multiply in the powers whose bit is 1."

    def _reduce(self, product: int, v: int) -> str:
        q = product // self.m
        return f"{product} - {q} × {self.m} = {product - q * self.m}, not {v}."

    def next_op(self, env: dict[str, Any]) -> calc.Op | None:
        i, sq, res, m = env["i"], env["sq"], env["res"], self.m
        if i >= len(self.bits):
            return None
        if self.bits[i] == "1" and not env["mult"]:
            prod = res * sq
            return calc.Op(
                value=prod % m,
                text=lambda v: f"Bit {i} is 1: running product {res} × {sq} = {prod} ≡ {v} (mod {m}).",
                apply=lambda env, v: {**env, "res": v, "mult": True},
                check=lambda v: self._reduce(prod, v),
                slip=lambda rng: (prod % m + rng.choice([-2, -1, 1, 2])) % m,
                work=calc.digits(res) * calc.digits(sq) + calc.digits(prod),
                label=f"the product at bit {i}",
            )
        if i + 1 >= len(self.bits):
            return None
        prod = sq * sq
        return calc.Op(
            value=prod % m,
            text=lambda v: f"{self.a}^{2 ** (i + 1)} ≡ {sq}² = {prod} ≡ {v} (mod {m}).",
            apply=lambda env, v: {"i": i + 1, "sq": v, "res": env["res"], "mult": False},
            check=lambda v: self._reduce(prod, v),
            slip=lambda rng: (prod % m + rng.choice([-2, -1, 1, 2])) % m,
            work=2 * calc.digits(sq) + calc.digits(prod),
            label=f"the square {self.a}^{2 ** (i + 1)}",
        )

    def conclude(self, env: dict[str, Any]) -> tuple[str, str]:
        return f"So {self.a}^{self.e} mod {self.m} = {env['res']}.", str(env["res"])


FAMILIES.register(ModularPower.name, ModularPower())
