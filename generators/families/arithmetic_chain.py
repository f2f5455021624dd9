"""Arithmetic chains: apply a sequence of operations to a starting number, in order.

Level sets the chain length (level + 2 operations), the operand range and the operators
(+, − up to level 2; ×, and exact ÷ from level 3). The solver walks the chain one operation at a
time; each wrong branch starts an operation from a stale value (the one before the last step, a
skipped step), notices it does not follow the chain, and goes back.

This is the cheapest family and the one benchmarked against reasoning-gym's chain_sum, so it
draws with `rng.random()` (one C call) instead of `randint`/`choice` (several Python calls each).
"""

from __future__ import annotations

import random

from pydantic import Field

from reasonmill.generators.base import Family, FamilyParams, SolverRun, Step
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

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        spec = problem.meta["spec"]
        ops = spec["ops"]
        value = spec["start"]
        values = [value]
        path = [f"I start with {value}."]
        i = 0
        for op, n in ops:
            new = _apply(value, op, n)
            i += 1
            path.append(f"Step {i}: {value} {SYMBOL[op]} {n} = {new}.")
            value = new
            values.append(new)
        path.append(f"All {i} operations are applied, so the result is {value}.")
        steps = list(map(Step, path, range(len(path))))
        if backtracks:
            # Wrong branches at operations k: operation k applied to the value before the last step
            # (a skipped step) or, when k repeats (more branches than steps), to a misread value;
            # inserted after step k, last first so the indices stay valid.
            n_ops = len(ops)
            ks = (
                sorted(
                    rng.sample(range(n_ops), backtracks)
                    if backtracks <= n_ops
                    else [int(rng.random() * n_ops) for _ in range(backtracks)]
                )
                if backtracks > 1
                else [int(rng.random() * n_ops)]
            )
            used: set[tuple[int, int]] = set()
            for k in reversed(ks):
                op, n = ops[k]
                stale, offset = (values[k - 1] if k else values[0] + 1), 0
                while (k, stale) in used or stale == values[k]:  # a repeat at step k misreads the value
                    offset += 1  # values[k] + 1, - 1, + 2, - 2, ...
                    stale = values[k] + (offset + 1) // 2 * (1 if offset % 2 else -1)
                used.add((k, stale))
                wrong = _apply(stale, op, n)
                steps[k + 1 : k + 1] = [
                    Step(
                        f"Alternatively, maybe step {k + 1} should start from {stale}: {stale} {SYMBOL[op]} {n} = {wrong}."
                    ),
                    Step(
                        f"Continuing from {wrong} would not use the value {values[k]} I had after step {k}."
                    ),
                    Step(
                        f"Wait, that skips the running value. This branch doesn't follow the chain. Let me go back to step {k + 1}."
                    ),
                ]
        return SolverRun(
            steps=steps, path=path, answer=str(value), nodes=len(path) + 2 * backtracks, backtracks=backtracks
        )


FAMILIES.register(ArithmeticChain.name, ArithmeticChain())
