"""Combinatorics and probability: choose, arrange, and draw without replacement.

Level 1: arrangements of r of n people in a row (nPr). Level 2: committees (nCr). Level 3:
arrangements of the letters of a word with repeated letters (multinomial). Level 4: probability
that a draw of k balls has exactly j red (hypergeometric, a reduced fraction). Level 5: the same
with at least j red (a sum of hypergeometric terms). The solver (`CountMachine`,
`reasonmill.generators.calc`) states the model and multiplies it out factor by factor. With the
backtrack knob it really slips on a product now and then and catches it by dividing back; the
fallible teacher slips once and does not check.
"""

from __future__ import annotations

import random
from fractions import Fraction
from math import comb, factorial, perm
from typing import Any

from reasonmill.generators import calc
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun, canon
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem


def _product(factors: list[int]) -> str:
    return " × ".join(map(str, factors))


class Counting(Family):
    """Count arrangements and selections, or a probability as a reduced fraction."""

    name = "counting"
    description = "permutations, combinations, multinomials and hypergeometric probabilities"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        lv = params.level
        if lv <= 2:
            n = rng.randint(5, 12)
            r = rng.randint(2, min(5, n - 1))
            spec = {"type": "perm" if lv == 1 else "comb", "n": n, "r": r}
            q = (
                f"In how many ways can {r} of {n} people stand in a row (order matters)?"
                if lv == 1
                else f"In how many ways can a committee of {r} be chosen from {n} people?"
            )
        elif lv == 3:
            word = "".join(rng.choice("ABCDEF") for _ in range(rng.randint(5, 7)))
            spec = {"type": "word", "word": word}
            q = f"How many distinct arrangements of the letters of {word} are there?"
        else:
            red, blue = rng.randint(3, 7), rng.randint(3, 7)
            k = rng.randint(2, min(5, red + blue - 1))
            j = rng.randint(1, min(k, red))
            spec = {"type": "hyper" if lv == 4 else "hyper_atleast", "red": red, "blue": blue, "k": k, "j": j}
            how = "exactly" if lv == 4 else "at least"
            q = (
                f"A bag holds {red} red and {blue} blue balls. {k} balls are drawn without replacement. "
                f"What is the probability that {how} {j} of them are red? Give a reduced fraction."
            )
        return Problem(question=q, answer=self._value(spec), meta={"spec": spec})

    def _value(self, s: dict) -> str:
        t = s["type"]
        if t == "perm":
            return str(perm(s["n"], s["r"]))
        if t == "comb":
            return str(comb(s["n"], s["r"]))
        if t == "word":
            total = factorial(len(s["word"]))
            for ch in set(s["word"]):
                total //= factorial(s["word"].count(ch))
            return str(total)
        js = [s["j"]] if t == "hyper" else range(s["j"], min(s["k"], s["red"]) + 1)
        good = sum(comb(s["red"], j) * comb(s["blue"], s["k"] - j) for j in js)
        return canon(Fraction(good, comb(s["red"] + s["blue"], s["k"])))

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        spec = problem.meta["spec"]
        return calc.run(CountMachine(spec), rng, slip_rate(backtracks), max_slips=backtracks)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Error "slip": a wrong product or quotient, not checked, carried through."""
        return calc.slipped(CountMachine(problem.meta["spec"]), rng) if "slip" in kinds else None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return calc.resume(CountMachine(problem.meta["spec"]), records, rng)

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """The products by hand, slipping with `STUDENT_SLIP` per digit operation, no checks."""
        run = calc.run(CountMachine(problem.meta["spec"]), rng, checks=False, student=STUDENT_SLIP)
        return run.answer, run.nodes


STUDENT_SLIP = 0.05  # the offline student's slip probability per digit operation


def slip_rate(backtracks: int) -> float:
    """The teacher's slip probability per step for a backtrack knob value."""
    return min(0.5, 0.12 * backtracks)


def _binom_work(n: int, k: int) -> int:
    """Work of C(n, k) as n·(n−1)⋯(n−k+1) / k!: k products and k divisions on numbers of up to
    the result's digits."""
    return 2 * k * calc.digits(comb(n, k))


def _times(a: int, b: int, v: int) -> str:
    return (
        f"{v} ÷ {b} = {v // b}, not {a}."
        if v % b == 0
        else f"{v} is not a multiple of {b}, so it is not {a} × {b}."
    )


class CountMachine(calc.Machine):
    """The counting model multiplied out one factor at a time, each product checked by dividing
    back and each quotient by multiplying back."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.s = spec

    def start(self) -> dict[str, Any]:
        return {"i": 0, "acc": None, "parts": []}

    def intro(self) -> str:
        s, t = self.s, self.s["type"]
        if t == "perm":
            return f"The {s['r']} places are filled one after another: {s['n']} choices for the first, one fewer for each next."
        if t == "comb":
            return f"I count ordered choices of {s['r']} from {s['n']}, then divide by the {s['r']}! orders of the same committee."
        if t == "word":
            return f"{s['word']} has {len(s['word'])} letters; I count their orders, then divide by the orders of each repeated letter."
        n = s["red"] + s["blue"]
        return f"There are C({n}, {s['k']}) = {comb(n, s['k'])} equally likely draws; I count the favourable ones."

    def _plan(self) -> list[tuple[str, Any]]:
        s, t = self.s, self.s["type"]
        if t in ("perm", "comb"):
            plan: list[tuple[str, Any]] = [("mul", s["n"] - k) for k in range(s["r"])]
            if t == "comb":
                plan.append(("div", factorial(s["r"])))
            return plan
        if t == "word":
            w = s["word"]
            plan = [("mul", k) for k in range(len(w), 1, -1)]
            plan += [("div", factorial(w.count(ch))) for ch in sorted(set(w)) if w.count(ch) > 1]
            return plan
        js = [s["j"]] if t == "hyper" else list(range(s["j"], min(s["k"], s["red"]) + 1))
        return [("draw", j) for j in js if s["k"] - j <= s["blue"]] + [("sum", None)]

    def next_op(self, env: dict[str, Any]) -> calc.Op | None:
        plan = self._plan()
        i, acc = env["i"], env["acc"]
        if i >= len(plan):
            return None
        kind, x = plan[i]
        s = self.s
        if kind == "mul":
            if acc is None:
                return calc.Op(
                    value=x,
                    text=lambda v: f"Start with {v}.",
                    apply=lambda env, v: {**env, "i": i + 1, "acc": v},
                    label="the start",
                )
            right = acc * x
            return calc.Op(
                value=right,
                text=lambda v: f"{acc} × {x} = {v}.",
                apply=lambda env, v: {**env, "i": i + 1, "acc": v},
                check=lambda v: _times(acc, x, v),
                slip=lambda rng: calc.nudge(rng, right),
                work=calc.digits(acc) * calc.digits(x) + 1,
                label=f"{acc} × {x}",
            )
        if kind == "div":
            right = Fraction(acc) / x
            return calc.Op(
                value=canon(right),
                text=lambda v: f"Dividing by {x}: {canon(Fraction(acc))} / {x} = {v}.",
                apply=lambda env, v: {**env, "i": i + 1, "acc": v},
                check=lambda v: f"{v} × {x} = {canon(Fraction(v) * x)}, not {canon(Fraction(acc))}.",
                slip=(lambda rng: str(calc.nudge(rng, int(right)))) if right.denominator == 1 else None,
                work=calc.digits(Fraction(acc)) * calc.digits(x) + 1,
                label=f"{canon(Fraction(acc))} / {x}",
            )
        if kind == "draw":
            j, red, blue, k = x, s["red"], s["blue"], s["k"]
            a, b = comb(red, j), comb(blue, k - j)
            return calc.Op(
                value=a * b,
                text=lambda v: (
                    f"Draws with exactly {j} red: C({red}, {j}) × C({blue}, {k - j}) = {a} × {b} = {v}."
                ),
                apply=lambda env, v: {**env, "i": i + 1, "parts": [*env["parts"], v]},
                check=lambda v: _times(a, b, v),
                slip=lambda rng: calc.nudge(rng, a * b),
                # two binomials and their product
                work=_binom_work(red, j) + _binom_work(blue, k - j) + calc.digits(a) * calc.digits(b),
                label=f"the draws with {j} red",
            )
        parts = env["parts"]
        total = comb(s["red"] + s["blue"], s["k"])
        good = sum(parts)
        return calc.Op(
            value=canon(Fraction(good, total)),
            text=lambda v: (
                f"So the probability is {' + '.join(map(str, parts))} = {good} out of {total}, which is {v}."
                if len(parts) > 1
                else f"So the probability is {good}/{total} = {v}."
            ),
            apply=lambda env, v: {**env, "i": i + 1, "acc": v},
            # the total C(n, k), the sum, the reduction
            work=_binom_work(s["red"] + s["blue"], s["k"]) + len(parts) + calc.digits(good, total),
            label="the probability",
        )

    def conclude(self, env: dict[str, Any]) -> tuple[str, str]:
        return f"So the answer is {env['acc']}.", str(env["acc"])


FAMILIES.register(Counting.name, Counting())
