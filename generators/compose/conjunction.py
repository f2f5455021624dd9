"""Conjunction: solve two or more independent problems and give all their answers together.

The answer is the ordered tuple of the parts' answers, "(A, B)" (math-verify compares tuples
element by element, in order). Only parts with a single numeric answer fit, so the tuple stays
a tuple of numbers. The gold answer is assembled from the parts' gold answers.
"""

from __future__ import annotations

import random

from reasonmill.generators.base import canon_tuple
from reasonmill.generators.composition import PART_SYMBOLS, Principle, composed, numeric_parts, part_entry
from reasonmill.generators.registry import PRINCIPLES
from reasonmill.records import Problem, Record


class Conjunction(Principle):
    """Answer every part; the answer is the tuple of the parts' answers."""

    name = "conjunction"
    description = "both (all) answers combined as an ordered tuple"

    def compose(self, rng: random.Random, parents: list[Record]) -> Problem | None:
        values = numeric_parts(parents)
        if values is None:
            return None
        syms = PART_SYMBOLS[: len(parents)]
        lines = [f"Answer all {len(parents)} parts."]
        lines += [
            f"Part {i + 1} ({s}): {p.problem.question}"
            for i, (s, p) in enumerate(zip(syms, parents, strict=True))
        ]
        lines.append(f"Give the answers together as ({', '.join(syms)}).")
        return composed(
            self.name,
            lines,
            canon_tuple(values),
            [part_entry(p.source, p.level, p.problem) for p in parents],
            parents,
        )

    def combine_steps(self, problem: Problem) -> list[str]:
        parts = problem.meta["compose"]["parts"]
        named = ", ".join(f"{PART_SYMBOLS[i]} = {p['answer']}" for i, p in enumerate(parts))
        return [f"Putting the parts together: {named}, so the answer is {problem.answer}."]


PRINCIPLES.register(Conjunction.name, Conjunction())
