"""How a record's gold answer is stated in a trace, for checking that a verifier can read it.

The programmatic teacher ends every trace with "The answer is \\boxed{X}."; X is the gold answer
itself, except where a family's gold is a record for its verifier (Countdown's and reasoning-gym's
JSON) and the trace boxes what a solver would write (`Family.shown_answer`).

>>> from reasonmill.records import Problem, Record
>>> stated_gold(Record("r", "arithmetic_chain", 0, 0, 1, Problem("q", "7")))
'The answer is \\\\boxed{7}.'
"""

from __future__ import annotations

from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Record

ANSWER_FORMAT = "The answer is \\boxed{{{answer}}}."


def shown_gold(record: Record) -> str:
    """The gold answer as a trace writes it inside \\boxed{} (composed records: the gold itself)."""
    if record.principle is None and record.source in FAMILIES:
        return FAMILIES.get(record.source).shown_answer(record.problem)
    return record.problem.answer


def stated_gold(record: Record) -> str:
    """The closing line a correct trace of `record` ends with."""
    return ANSWER_FORMAT.format(answer=shown_gold(record))
