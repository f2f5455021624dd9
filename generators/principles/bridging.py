"""Bridging (and its multi-hop form, chaining): the answer of one problem is an input of the next.

Part 1 is the first seed as it is. Each later part is drawn from the next seed's family and level
with the previous answer substituted as one of its inputs (shown as a letter in the question), so
the gold answer is computed by the family with the real value. Only integer answers bridge.
"""

from __future__ import annotations

import random

from reasonmill.generators.principles.base import PART_SYMBOLS, Principle, composed, part_entry, scalar
from reasonmill.generators.registry import FAMILIES, PRINCIPLES
from reasonmill.records import Problem, Record


def _as_int(answer: str) -> int | None:
    v = scalar(answer)
    return int(v) if v is not None and v.denominator == 1 else None


class Bridging(Principle):
    """Feed each part's answer into the next part; the last part's answer is the answer."""

    name = "bridging"
    description = "answer of part k is an input of part k+1 (2+ hops = chaining)"
    bridged = True

    def compose(self, rng: random.Random, parents: list[Record]) -> Problem | None:
        first = parents[0]
        value = _as_int(first.problem.answer)
        if (
            value is None
            or first.problem.kind != "math"
            or "spec" not in first.problem.meta
            or len(parents) < self.min_hops
        ):
            return None
        parts = [part_entry(first.source, first.level, first.problem)]
        lines = [
            f"This problem has {len(parents)} parts; each uses the answer of the one before.",
            f"Part 1: {first.problem.question}",
        ]
        for i, parent in enumerate(parents[1:], start=1):
            fam = FAMILIES.get(parent.source)
            sub = fam.bridge(rng, fam.params({"level": parent.level}), value, PART_SYMBOLS[i - 1])
            if sub is None:
                return None
            parts.append(part_entry(parent.source, parent.level, sub))
            lines.append(f"Let {PART_SYMBOLS[i - 1]} be the answer to Part {i}.")
            lines.append(f"Part {i + 1}: {sub.question}")
            if i < len(parents) - 1:
                value = _as_int(sub.answer)
                if value is None:
                    return None
        lines.append(f"What is the answer to Part {len(parents)}?")
        return composed(self.name, lines, parts[-1]["answer"], parts, parents)

    def part_intro(self, i: int, parts: list[dict], answers: list[str]) -> str:
        if i == 0:
            return f"Part 1: {parts[0]['question']}"
        return f"Part {i + 1} uses {PART_SYMBOLS[i - 1]} = {answers[i - 1]}. Substituting it, I solve Part {i + 1}."

    def combine(self, problem: Problem, answers: list[str]) -> tuple[list[str], str]:
        n = len(answers)
        return [f"The question asks for the answer to Part {n}, which is {answers[-1]}."], answers[-1]


PRINCIPLES.register(Bridging.name, Bridging())
