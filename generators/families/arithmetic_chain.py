"""Arithmetic chains: apply a sequence of operations to a starting number, in order.

Level sets the chain length (level + 2 operations), the operand range and the operators
(+, − up to level 2; ×, and exact ÷ from level 3). The solver (`ChainMachine`,
`reasonmill.generators.calc`) walks the chain one operation at a time. There is no search, so
the only detours are real ones: with the backtrack knob the solver slips on a step now and then
(a sum off by one, a product off by ten) and catches the slip at once with the inverse operation
("325 ÷ 7 = 46 r 3, not 45"), then redoes the step. The fallible teacher slips once and does not
check. Effort counts digit operations, so it varies with the operands, not only the level.

This is the cheapest family and the one benchmarked against reasoning-gym's chain_sum, so it
draws with `rng.random()` (one C call) instead of `randint`/`choice` (several Python calls each).
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from pydantic import Field

from reasonmill.generators import calc
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun, canon
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

OP_WORDS = {"+": "add ", "-": "subtract ", "*": "multiply by ", "/": "divide by "}
SYMBOL = {"+": "+", "-": "-", "*": "×", "/": "÷"}
TOPS = (10, 20, 50, 100, 500)


class ArithmeticChainParams(FamilyParams):
    """Level 1..5; `max_operand` overrides the level's operand range when set."""

    max_operand: int | None = Field(default=None, ge=2, le=10_000)


def _apply(value: int, op: str, n: int) -> int:
    if op == "+":
        return value + n
    if op == "-":
        return value - n
    if op == "*":
        return value * n
    return value // n


class ArithmeticChain(Family):
    """Start with a number and apply a chain of operations in the order given."""

    name = "arithmetic_chain"
    description = "apply a chain of + − × ÷ operations in order"
    Params = ArithmeticChainParams

    def _chain(self, rng: random.Random, level: int, start: int, top: int) -> tuple[list[list], int]:
        """level + 2 operations from `start` (exact divisions only) and the final value."""
        r = rng.random
        value, ops = start, []
        if level <= 2:  # + and − only: the hot path of the cheapest items
            for _ in range(level + 2):
                n = 1 + int(r() * top)
                if r() < 0.5:
                    ops.append(["+", n])
                    value += n
                else:
                    ops.append(["-", n])
                    value -= n
            return ops, value
        for _ in range(level + 2):
            op = "+-*/"[int(r() * 4)]
            if op == "*":
                n = 2 + int(r() * max(1, min(11, top // 4 - 1)))
            elif op == "/":
                divisors = (
                    [d for d in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) if value % d == 0] if value else []
                )
                if divisors:
                    n = divisors[int(r() * len(divisors))]
                else:
                    op, n = "+", 1 + int(r() * top)
            else:
                n = 1 + int(r() * top)
            ops.append([op, n])
            value = _apply(value, op, n)
        return ops, value

    def _problem(self, start: int, shown: str, ops: list[list], value: int) -> Problem:
        words = ", then ".join([OP_WORDS[op] + str(n) for op, n in ops])
        return Problem(
            f"Start with {shown}. In this order, {words}. What number do you get?",
            str(value),
            "math",
            {"spec": {"start": start, "ops": ops}},
        )

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        top = params.max_operand or TOPS[min(params.level, 5) - 1]
        start = 1 + int(rng.random() * top)
        ops, value = self._chain(rng, params.level, start, top)
        return self._problem(start, str(start), ops, value)

    def bridge(self, rng: random.Random, params: FamilyParams, value: int, symbol: str) -> Problem | None:
        top = params.max_operand or TOPS[min(params.level, 5) - 1]
        ops, result = self._chain(rng, params.level, value, top)
        return self._problem(value, symbol, ops, result)

    def rebridge(self, spec: dict[str, Any], value: str) -> dict[str, Any] | None:
        """The chain starts from the bridged value."""
        return {**spec, "start": int(Fraction(value))} if _is_int(value) else None

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        return calc.run(ChainMachine(problem.meta["spec"]), rng, slip_rate(backtracks), max_slips=backtracks)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Error "slip": one step computed wrongly and not checked, carried to the end."""
        return calc.slipped(ChainMachine(problem.meta["spec"]), rng) if "slip" in kinds else None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return calc.resume(ChainMachine(problem.meta["spec"]), records, rng)

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Every step by hand, slipping with `STUDENT_SLIP` per digit operation, no checks."""
        run = calc.run(ChainMachine(problem.meta["spec"]), rng, checks=False, student=STUDENT_SLIP)
        return run.answer, run.nodes


STUDENT_SLIP = 0.03  # the offline student's slip probability per digit operation


def _is_int(value: str) -> bool:
    try:
        return Fraction(value).denominator == 1
    except (ValueError, ZeroDivisionError):
        return False


def slip_rate(backtracks: int) -> float:
    """The teacher's slip probability per step for a backtrack knob value (0: never slips)."""
    return min(0.5, 0.1 * backtracks)


def _inverse(op: str, a: int, n: int, v: int) -> str:
    """The inverse computation that exposes `v` as a wrong result of `a op n`."""
    if op == "+":
        return f"{v} - {n} = {v - n}, not {a}."
    if op == "-":
        return f"{v} + {n} = {v + n}, not {a}."
    if op == "*":
        return (
            f"{v} ÷ {n} = {v // n}, not {a}."
            if v % n == 0
            else f"{v} is not a multiple of {n}, so it is not {a} × {n}."
        )
    return f"{v} × {n} = {v * n}, not {a}."


class ChainMachine(calc.Machine):
    """Apply the chain's operations one at a time; each step is checked by its inverse."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.start_value, self.ops = spec["start"], spec["ops"]

    def start(self) -> dict[str, Any]:
        return {"i": 0, "v": self.start_value}

    def intro(self) -> str:
        return f"I start with {self.start_value}."

    def next_op(self, env: dict[str, Any]) -> calc.Op | None:
        i, a = env["i"], env["v"]
        if i >= len(self.ops):
            return None
        op, n = self.ops[i]
        label = f"step {i + 1}"
        if type(a) is int and (op != "/" or a % n == 0):  # the exact integer case (every correct step)
            right = _apply(a, op, n)
            return calc.Op(
                value=right,
                text=lambda v: f"Step {i + 1}: {a} {SYMBOL[op]} {n} = {v}.",
                apply=lambda env, v: {"i": i + 1, "v": v},
                check=lambda v: _inverse(op, a, n, v),
                slip=lambda rng: calc.nudge(rng, right),
                work=len(str(abs(a))) * len(str(n)) if op in "*/" else max(len(str(abs(a))), len(str(n))),
                label=label,
            )
        # after an uncaught slip a division may not come out even: exact fractions from there on
        x = calc.frac(a)
        exact = {"+": x + n, "-": x - n, "*": x * n, "/": x / n}[op]
        return calc.Op(
            value=int(exact) if exact.denominator == 1 else canon(exact),
            text=lambda v: f"Step {i + 1}: {canon(x)} {SYMBOL[op]} {n} = {v}.",
            apply=lambda env, v: {"i": i + 1, "v": v},
            work=calc.digits(x) * calc.digits(n),
            label=label,
        )

    def conclude(self, env: dict[str, Any]) -> tuple[str, str]:
        return f"All {len(self.ops)} operations are applied, so the result is {env['v']}.", str(env["v"])


FAMILIES.register(ArithmeticChain.name, ArithmeticChain())
