"""The programmatic teacher: writes reasoning traces by running the families' narrating solvers.

Each sample is a real solve, told as it ran: a search with the dead ends it really met (more of
them as the backtrack knob makes its policy noisier and less patient), or a calculation with the
slips it really made and the checks that caught them. With an `ErrorModel` some samples make a
mistake that nothing catches (a slip, a search stopped at its budget, a misread clue), so their
answers are wrong and verification rejects them. The trace format is fixed:

    <think>
    paragraph

    paragraph ...
    </think>

    The answer is \\boxed{ANSWER}.

`trace.meta` keeps `solver` (effort: `nodes`, `backtracks`, `steps`), `steps` (one machine-readable
record per paragraph: the move and the state it left, a dead end and its claim, a check; the
programmatic reviser rebuilds the solver state from them), `on_path` (the index of the solution
line's step each paragraph completes, None off it; for analysis, never read by a reviser),
`sample`, and `error` (the deliberate mistake of a fallible sample, else None).
"""

from __future__ import annotations

from typing import Any, Protocol

from reasonmill.generators.base import SolverRun, render_steps
from reasonmill.generators.errors_model import ErrorModel
from reasonmill.generators.registry import FAMILIES, PRINCIPLES, TEACHERS
from reasonmill.ids import content_id
from reasonmill.records import Record, Trace
from reasonmill.rng import item_rng
from reasonmill.text import count_tokens

ANSWER_FORMAT = "The answer is \\boxed{{{answer}}}."


class Teacher(Protocol):
    """Anything that writes `samples` traces for a record."""

    name: str

    def traces(
        self, record: Record, samples: int, backtracks: int, seed: int, errors: ErrorModel | None = None
    ) -> list[Trace]:
        """Write `samples` traces for `record` (`errors`: how often a sample goes wrong, when the
        teacher can be wrong)."""
        ...


def solver_of(record: Record) -> Any:
    """The object that solves `record`: its composition principle, else its family."""
    return PRINCIPLES.get(record.principle) if record.principle else FAMILIES.get(record.source)


def solve_record(
    record: Record, seed: int, sample: int, backtracks: int, errors: ErrorModel | None = None
) -> SolverRun:
    """Run the narrating solver that owns `record` (its principle, else its family).

    Deterministic per (record id, seed, sample). Without `errors` (or when the error draw for this
    sample says "correct") the solve is correct; otherwise the solver makes one of the drawn error
    kinds and `run.meta["error"]` says which. The error draw uses its own random stream, so adding
    an error model never changes the correct samples.
    """
    rng = item_rng(f"teacher:{record.id}", seed, sample)
    owner = solver_of(record)
    if errors is not None:
        kinds = errors.draw(item_rng(f"teacher-error:{record.id}", seed, sample), record.level)
        if kinds is not None:
            wrong = owner.solve_wrong(
                record.problem, item_rng(f"teacher-wrong:{record.id}", seed, sample), backtracks, kinds
            )
            if wrong is not None:
                return wrong
    return owner.solve(record.problem, rng, backtracks)


def render_trace(run: SolverRun) -> str:
    """The fixed trace text of a solve: thinking in <think>, answer in \\boxed{}."""
    return f"<think>\n{render_steps(run.steps)}\n</think>\n\n{ANSWER_FORMAT.format(answer=run.answer)}"


def trace_from_run(
    run: SolverRun, record_id: str, teacher: str, sample: int, parent_id: str | None = None
) -> Trace:
    """A Trace from a solve, measured, with its step records for Retro-Search."""
    text = render_trace(run)
    return Trace(
        id=content_id(record_id, teacher, sample, text),
        text=text,
        answer=run.answer,
        teacher=teacher,
        tokens=count_tokens(text),
        steps=len(run.steps),
        parent_id=parent_id,
        meta={
            "solver": run.effort,
            "steps": run.records,
            "on_path": [s.on_path for s in run.steps],
            "sample": sample,
            "error": run.error,
        },
    )


class ProgrammaticTeacher:
    """Teacher that narrates the families' own solvers; needs no model and runs offline.

    `errors` is the error model of the fallible teacher (default: `ErrorModel()`, 3–15% of
    samples wrong by level); `ErrorModel(rate_by_level=(0.0,))` makes it infallible.
    """

    name = "programmatic"

    def __init__(self, errors: ErrorModel | None = None) -> None:
        self.errors = ErrorModel() if errors is None else errors

    def traces(
        self, record: Record, samples: int, backtracks: int, seed: int, errors: ErrorModel | None = None
    ) -> list[Trace]:
        """`samples` traces of `record`; `backtracks` sets the solver's policy (see `Family.solve`),
        `errors` overrides the teacher's error model for this call."""
        model = self.errors if errors is None else errors
        return [
            trace_from_run(solve_record(record, seed, s, backtracks, model), record.id, self.name, s)
            for s in range(samples)
        ]


TEACHERS.register(ProgrammaticTeacher.name, ProgrammaticTeacher())
