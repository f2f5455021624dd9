"""Conjunction: solve two or more independent problems and give all their answers together.

The answer is the ordered tuple of the parts' answers, "(A, B)" (math-verify compares tuples
element by element, in order). Only parts with a single numeric answer fit, so the tuple stays
a tuple of numbers. The gold answer is assembled from the parts' gold answers.
"""

from __future__ import annotations

import random

from reasonmill.generators.base import canon_tuple
from reasonmill.generators.principles.base import PART_SYMBOLS, Principle, composed, scalar, side_by_side
from reasonmill.generators.registry import PRINCIPLES
from reasonmill.records import Problem, Record


class Conjunction(Principle):
    """Answer every part; the answer is the tuple of the parts' answers."""

    name = "conjunction"
    description = "both (all) answers combined as an ordered tuple"

    def compose(self, rng: random.Random, parents: list[Record]) -> Problem | None:
        laid_out = side_by_side(parents, f"Answer all {len(parents)} parts.")
        if laid_out is None:
            return None
        lines, parts = laid_out
        lines.append(f"Give the answers together as ({', '.join(PART_SYMBOLS[: len(parents)])}).")
        return composed(self.name, lines, canon_tuple([scalar(p["answer"]) for p in parts]), parts, parents)

    def combine(self, problem: Problem, answers: list[str]) -> tuple[list[str], str]:
        values = [scalar(a) for a in answers]
        answer = canon_tuple(values) if all(v is not None for v in values) else "(" + ", ".join(answers) + ")"
        named = ", ".join(f"{PART_SYMBOLS[i]} = {a}" for i, a in enumerate(answers))
        return [f"Putting the parts together: {named}, so the answer is {answer}."], answer


PRINCIPLES.register(Conjunction.name, Conjunction())
