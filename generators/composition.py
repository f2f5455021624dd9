"""What a composition principle is: a rule that combines seed problems into one harder problem.

Procedural and symbolic seeds are composed programmatically, so the gold answer is computed
(sympy substitution, comparison, combination), never guessed. A composed problem keeps in
`problem.meta["compose"]` the parts it was made of (family, level, spec, answer), so the
programmatic teacher can solve it part by part and narrate how the parts connect.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from fractions import Fraction
from typing import Any, ClassVar

from reasonmill.generators.base import SolverRun, Step
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem, Record

PART_SYMBOLS = "ABCDEFGH"
_BACK = re.compile(r"(Let me go back to step )(\d+)\.$")


class Principle(ABC):
    """A composition principle. Subclasses set `name` and implement `compose` and `combine_steps`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    min_hops: ClassVar[int] = 2

    @abstractmethod
    def compose(self, rng: random.Random, parents: list[Record]) -> Problem | None:
        """Combine `parents` into one problem with a computed answer, or None if they don't fit."""

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        """Solve part by part with each family's narrating solver, then narrate the combination.

        Backtracks are spread over the parts; the combination itself is told straight.
        """
        parts = problem.meta["compose"]["parts"]
        per_part = [
            backtracks // len(parts) + (1 if i < backtracks % len(parts) else 0) for i in range(len(parts))
        ]
        steps: list[Step] = []
        path: list[str] = []
        nodes = bt = 0
        for i, part in enumerate(parts):
            fam = FAMILIES.get(part["family"])
            sub = Problem(question=part["question"], answer=part["answer"], meta={"spec": part["spec"]})
            run = fam.solve(sub, rng, per_part[i])
            intro = self.part_intro(i, parts)
            path.append(intro)
            steps.append(Step(intro, on_path=len(path) - 1))
            offset = len(path)
            for s in run.steps:
                # a detour's "go back to step r" counts the part's own steps: shift to the whole trace
                text = (
                    s.text
                    if s.on_path is not None
                    else _BACK.sub(lambda m, o=offset: f"{m.group(1)}{int(m.group(2)) + o}.", s.text)
                )
                steps.append(Step(text, None if s.on_path is None else s.on_path + offset))
            path.extend(run.path)
            outro = f"So the answer to Part {i + 1} is {PART_SYMBOLS[i]} = {run.answer}."
            path.append(outro)
            steps.append(Step(outro, on_path=len(path) - 1))
            nodes += run.nodes
            bt += run.backtracks
        for text in self.combine_steps(problem):
            path.append(text)
            steps.append(Step(text, on_path=len(path) - 1))
        return SolverRun(steps=steps, path=path, answer=problem.answer, nodes=nodes + 1, backtracks=bt)

    def part_intro(self, i: int, parts: list[dict[str, Any]]) -> str:
        """The paragraph that opens part `i` of the solution."""
        return f"Part {i + 1}: {parts[i]['question']}"

    @abstractmethod
    def combine_steps(self, problem: Problem) -> list[str]:
        """Paragraphs that combine the part answers into the final answer."""


def part_entry(source: str, level: int, p: Problem) -> dict[str, Any]:
    """The stored description of one part of a composed problem."""
    return {
        "family": source,
        "level": level,
        "question": p.question,
        "answer": p.answer,
        "spec": p.meta["spec"],
    }


def scalar(answer: str) -> Fraction | None:
    """The answer as an exact rational when it is a single number ("3", "-5/7"), else None.

    Comparison, conjunction and bridging combine numbers; sets, tuples, grids and names do not fit.
    """
    try:
        return Fraction(answer)
    except (ValueError, ZeroDivisionError):
        return None


def composed(
    principle: str, lines: list[str], answer: str, parts: list[dict[str, Any]], parents: list[Record]
) -> Problem:
    """The composed Problem: question lines, computed answer, and the parts with the parents' ids."""
    meta = {
        "compose": {
            "principle": principle,
            "parts": parts,
            "parents": [p.id for p in parents],
            "hops": len(parts),
        }
    }
    return Problem(question="\n".join(lines), answer=answer, meta=meta)


def numeric_parts(parents: list[Record]) -> list[Fraction] | None:
    """Each parent's answer as a number, or None when any answer is not a single number or a
    parent has no spec (its family could not solve it again)."""
    values = [scalar(p.problem.answer) for p in parents]
    if any(v is None for v in values) or any(
        "spec" not in p.problem.meta or p.problem.kind != "math" for p in parents
    ):
        return None
    return values  # type: ignore[return-value]


def side_by_side(parents: list[Record], intro: str) -> tuple[list[str], list[dict[str, Any]]] | None:
    """Question lines and part entries for principles that solve the parents independently
    (comparison, conjunction): an intro, then "Part i (X): question" per parent. None when a
    parent's answer is not a single number."""
    if numeric_parts(parents) is None:
        return None
    lines = [intro] + [
        f"Part {i + 1} ({PART_SYMBOLS[i]}): {p.problem.question}" for i, p in enumerate(parents)
    ]
    return lines, [part_entry(p.source, p.level, p.problem) for p in parents]
