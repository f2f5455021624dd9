"""Comparison: solve two or more problems, then compare their answers.

Two questions are asked at random: the largest answer ("Which is larger? Give its value.") or the
difference (A − B for two parts, largest − smallest for more). Only parts with a single numeric
answer fit. The gold answer is computed exactly from the parts' gold answers.
"""

from __future__ import annotations

import random

from reasonmill.generators.base import canon
from reasonmill.generators.principles.base import PART_SYMBOLS, Principle, composed, scalar, side_by_side
from reasonmill.generators.registry import PRINCIPLES
from reasonmill.records import Problem, Record


class Comparison(Principle):
    """Compare the answers of the parts: the largest value, or a difference."""

    name = "comparison"
    description = "which answer is larger / the difference of the answers"

    def compose(self, rng: random.Random, parents: list[Record]) -> Problem | None:
        laid_out = side_by_side(parents, f"This problem has {len(parents)} parts.")
        if laid_out is None:
            return None
        lines, parts = laid_out
        values = [scalar(p["answer"]) for p in parts]
        mode = rng.choice(["max", "diff"])
        syms = PART_SYMBOLS[: len(parents)]
        if mode == "max":
            answer = max(values)
            lines.append(f"Let {', '.join(syms)} be the answers. Which is the largest? Give its value.")
        elif len(parents) == 2:
            answer = values[0] - values[1]
            lines.append("Let A and B be the answers. What is A - B?")
        else:
            answer = max(values) - min(values)
            lines.append(f"Let {', '.join(syms)} be the answers. What is the largest minus the smallest?")
        problem = composed(self.name, lines, canon(answer), parts, parents)
        problem.meta["compose"]["mode"] = mode
        return problem

    def combine(self, problem: Problem, answers: list[str]) -> tuple[list[str], str]:
        mode = problem.meta["compose"]["mode"]
        values = [scalar(a) for a in answers]
        if any(v is None for v in values):
            return [
                f"The parts do not give numbers ({', '.join(answers)}), so I cannot compare them."
            ], answers[0]
        named = ", ".join(f"{PART_SYMBOLS[i]} = {a}" for i, a in enumerate(answers))
        hi = max(range(len(values)), key=lambda i: values[i])
        lo = min(range(len(values)), key=lambda i: values[i])
        if mode == "max":
            answer = canon(values[hi])
            return [
                f"Comparing {named}: the largest is {PART_SYMBOLS[hi]} = {answers[hi]}.",
                f"So the answer is {answer}.",
            ], answer
        if len(answers) == 2:
            answer = canon(values[0] - values[1])
            return [f"A - B = {answers[0]} - ({answers[1]}) = {answer}."], answer
        answer = canon(values[hi] - values[lo])
        return [
            f"Comparing {named}: the largest is {answers[hi]} and the smallest is {answers[lo]}.",
            f"Their difference is {answer}.",
        ], answer


PRINCIPLES.register(Comparison.name, Comparison())
