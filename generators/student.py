"""The offline student: bounded solvers sampled k times, for a real pass rate without a model.

Empirical difficulty needs a student whose success depends on the item, not on its level label.
Each family's `Family.student` is a weaker solver than the teacher:

* search families run the same depth-first search with a random move order (`noise` 1) and a
  small node budget (each family's `STUDENT_BUDGET`, or `student_budget` for the root searches);
  when the budget runs out before a solution the student commits to its best guess (the closest
  value, the best route so far, a completed partial assignment), which verification then rejects;
* calculation families do every step by hand and slip with a small probability per digit
  operation (`STUDENT_SLIP`), never checking, so long products and many steps fail more often;
* composed items are answered part by part by the parts' students.

So the pass rate over k samples moves with the item's real search size and arithmetic load, and
varies within a level. `student_answers` returns the k answer texts in the trace format (a short
thinking with the effort spent, then "The answer is \\boxed{...}"); the pipeline checks them with
its normal verifier and sets pass rate = passed / k and difficulty = 1 − pass rate. Families
without a solver of their own (the reasoning-gym adapter) return no samples: a student that boxed
the reference answer would measure nothing.

Deterministic per (record id, seed, sample).

>>> OfflineStudent().k
8
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from reasonmill.generators.teacher import ANSWER_FORMAT, solver_of
from reasonmill.records import Record
from reasonmill.rng import item_rng

DEFAULT_K = 8


class OfflineStudent(BaseModel):
    """`k` samples per record (DESIGN.md: k = 8)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(default=DEFAULT_K, ge=1, le=256)

    def answers(self, record: Record, seed: int) -> list[str]:
        """The k answer texts for `record` (see `student_answers`)."""
        return student_answers(record, self.k, seed)


def student_sample(record: Record, seed: int, sample: int) -> tuple[str, int] | None:
    """One student answer for `record` as (boxed answer, nodes spent), or None when the record's
    family has no solver of its own."""
    return solver_of(record).student(record.problem, item_rng(f"student:{record.id}", seed, sample))


def student_answers(record: Record, k: int = DEFAULT_K, seed: int = 0) -> list[str]:
    """`k` answer texts of the offline student for `record` (empty when it has no student).

    >>> from reasonmill.generators import FAMILIES
    >>> fam = FAMILIES.get("arithmetic_chain")
    >>> p = fam.generate(item_rng("arithmetic_chain", 0, 0), fam.params({"level": 2}))
    >>> rec = Record(Record.make_id("arithmetic_chain", 0, 0, p), "arithmetic_chain", 0, 0, 2, p)
    >>> texts = student_answers(rec, 3, seed=0)
    >>> len(texts), texts[0].endswith("}.")
    (3, True)
    """
    out = []
    for s in range(k):
        got = student_sample(record, seed, s)
        if got is None:
            return []
        answer, nodes = got
        out.append(
            f"<think>\nA bounded solve: {nodes} steps of work.\n</think>\n\n{ANSWER_FORMAT.format(answer=answer)}"
        )
    return out
