"""The programmatic teacher: writes reasoning traces by running the families' narrating solvers.

Each sample is a real search, told as it ran: the correct line with `backtracks` distinct wrong
branches (dead ends and returns) woven in, so traces look like a reasoning model's exploration and
give Retro-Search real switches to remove. The trace format is fixed:

    <think>
    paragraph

    paragraph ...
    </think>

    The answer is \\boxed{ANSWER}.

The per-paragraph tags of the solve (which step of the correct line a paragraph completes) are
kept in `trace.meta["on_path"]` so a reviser can continue the current line from any prefix.
"""

from __future__ import annotations

from typing import Protocol

from reasonmill.generators.base import SolverRun, render_steps
from reasonmill.generators.registry import FAMILIES, PRINCIPLES, TEACHERS
from reasonmill.ids import content_id
from reasonmill.records import Record, Trace
from reasonmill.rng import item_rng
from reasonmill.text import count_tokens

ANSWER_FORMAT = "The answer is \\boxed{{{answer}}}."


class Teacher(Protocol):
    """Anything that writes `samples` traces for a record."""

    name: str

    def traces(self, record: Record, samples: int, backtracks: int, seed: int) -> list[Trace]:
        """Write `samples` traces for `record`."""
        ...


def solve_record(record: Record, seed: int, sample: int, backtracks: int) -> SolverRun:
    """Run the narrating solver that owns `record` (its principle, else its family)."""
    rng = item_rng(f"teacher:{record.id}", seed, sample)
    if record.principle:
        return PRINCIPLES.get(record.principle).solve(record.problem, rng, backtracks)
    return FAMILIES.get(record.source).solve(record.problem, rng, backtracks)


def render_trace(run: SolverRun) -> str:
    """The fixed trace text of a solve: thinking in <think>, answer in \\boxed{}."""
    return f"<think>\n{render_steps(run.steps)}\n</think>\n\n{ANSWER_FORMAT.format(answer=run.answer)}"


def trace_from_run(
    run: SolverRun, record_id: str, teacher: str, sample: int, parent_id: str | None = None
) -> Trace:
    """A Trace from a solve, measured and tagged for Retro-Search."""
    text = render_trace(run)
    return Trace(
        id=content_id(record_id, teacher, sample, text),
        text=text,
        answer=run.answer,
        teacher=teacher,
        tokens=count_tokens(text),
        steps=len(run.steps),
        parent_id=parent_id,
        meta={"solver": run.effort, "on_path": [s.on_path for s in run.steps], "sample": sample},
    )


class ProgrammaticTeacher:
    """Teacher that narrates the families' own solvers; needs no model and runs offline."""

    name = "programmatic"

    def traces(self, record: Record, samples: int, backtracks: int, seed: int) -> list[Trace]:
        """`samples` traces, each with `backtracks` distinct wrong branches at its own positions."""
        return [
            trace_from_run(solve_record(record, seed, s, backtracks), record.id, self.name, s)
            for s in range(samples)
        ]


TEACHERS.register(ProgrammaticTeacher.name, ProgrammaticTeacher())
