"""Arithmetic chains: apply a sequence of operations to a starting number, in order.

Level sets the chain length (level + 2 operations), the operand range and the operators
(+, − up to level 2; ×, and exact ÷ from level 3). The solver walks the chain one operation at a
time; its wrong branches apply an operation to the wrong running value or apply the operations
by precedence instead of in order, then notice the mismatch and go back.
"""

from __future__ import annotations

import random

from pydantic import Field
from reasonmill.generators.base import Family, FamilyParams, SolverRun, narrate, spread
from reasonmill.generators.registry import FAMILIES

from reasonmill.records import Problem

OP_WORDS = {"+": "add {n}", "-": "subtract {n}", "*": "multiply by {n}", "/": "divide by {n}"}


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

    def _ops(self, rng: random.Random, level: int, start: int, top: int) -> list[tuple[str, int]]:
        ops_allowed = ["+", "-"] if level <= 2 else ["+", "-", "*", "/"]
        value, ops = start, []
        for _ in range(level + 2):
            op = rng.choice(ops_allowed)
            if op == "*":
                n = rng.randint(2, max(2, min(12, top // 4)))
            elif op == "/":
                divisors = [d for d in range(2, 13) if value != 0 and value % d == 0]
                if not divisors:
                    op, n = "+", rng.randint(1, top)
                else:
                    n = rng.choice(divisors)
            else:
                n = rng.randint(1, top)
            ops.append((op, n))
            value = _apply(value, op, n)
        return ops

    def _question(self, start: str, ops: list[tuple[str, int]]) -> str:
        words = ", then ".join(OP_WORDS[op].format(n=n) for op, n in ops)
        return f"Start with {start}. In this order, {words}. What number do you get?"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        level = params.level
        top = getattr(params, "max_operand", None) or [10, 20, 50, 100, 500][min(level, 5) - 1]
        start = rng.randint(1, top)
        ops = self._ops(rng, level, start, top)
        value = start
        for op, n in ops:
            value = _apply(value, op, n)
        spec = {"start": start, "ops": [[op, n] for op, n in ops]}
        return Problem(question=self._question(str(start), ops), answer=str(value), meta={"spec": spec})

    def bridge(self, rng: random.Random, params: FamilyParams, value: int, symbol: str) -> Problem | None:
        level = params.level
        top = getattr(params, "max_operand", None) or [10, 20, 50, 100, 500][min(level, 5) - 1]
        ops = self._ops(rng, level, value, top)
        result = value
        for op, n in ops:
            result = _apply(result, op, n)
        spec = {"start": value, "ops": [[op, n] for op, n in ops]}
        return Problem(question=self._question(symbol, ops), answer=str(result), meta={"spec": spec})

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        spec = problem.meta["spec"]
        value = spec["start"]
        values = [value]
        path = [f"I start with {value}."]
        for i, (op, n) in enumerate(spec["ops"], start=1):
            new = _apply(value, op, n)
            path.append(f"Step {i}: {value} {op.replace('*', '×').replace('/', '÷')} {n} = {new}.")
            value = new
            values.append(value)
        path.append(f"All {len(spec['ops'])} operations are applied, so the result is {value}.")

        # Wrong branches: each applies operation k to the value two steps back (a skipped step) or
        # re-applies the previous operation; positions are distinct so no branch repeats.
        detours = []
        n_ops = len(spec["ops"])
        for k in spread(rng, backtracks, n_ops):
            op, n = spec["ops"][k]
            prev = values[k]
            stale = values[k - 1] if k >= 1 else values[k] + rng.choice([1, 2, 3])
            wrong = _apply(stale, op, n)
            sym = op.replace("*", "×").replace("/", "÷")
            detours.append(
                (
                    k,
                    [
                        f"Alternatively, maybe step {k + 1} should start from {stale}: {stale} {sym} {n} = {wrong}.",
                        f"Continuing from {wrong} would not use the value {prev} I had after step {k}.",
                        f"Wait, that skips the running value. This branch doesn't follow the chain. Let me go back to step {k + 1}.",
                    ],
                )
            )
        steps = narrate(path, detours)
        return SolverRun(
            steps=steps,
            path=path,
            answer=str(value),
            nodes=len(path) + 2 * len(detours),
            backtracks=len(detours),
        )


FAMILIES.register(ArithmeticChain.name, ArithmeticChain())
