"""The offline student: bounded solvers sampled k times give a real pass rate that varies within
a level; intrinsic effort measures the solver's work, not the level."""

from __future__ import annotations

import pytest

from reasonmill.config import DEFAULT_SEEDS
from reasonmill.generators import FAMILIES
from reasonmill.generators.student import OfflineStudent, student_answers
from reasonmill.records import Record
from reasonmill.rng import item_rng

TRACE = "The answer is \\boxed{"


def _record(name: str, level: int, index: int) -> Record:
    fam = FAMILIES.get(name)
    problem = fam.generate(
        item_rng(name, 9, index),
        fam.params({"level": level, **({"task": "chain_sum"} if name == "reasoning_gym" else {})}),
    )
    return Record(Record.make_id(name, 9, index, problem), name, 9, index, level, problem)


def test_answers_are_deterministic_and_in_the_trace_format() -> None:
    rec = _record("countdown", 4, 0)
    a, b = student_answers(rec, 8, 0), OfflineStudent().answers(rec, 0)
    assert a == b and len(a) == 8 and all(t.startswith("<think>\n") and TRACE in t for t in a)
    assert student_answers(rec, 8, 1) != a or student_answers(_record("countdown", 4, 1), 8, 0) != a


@pytest.mark.parametrize(
    "name", ["arithmetic_chain", "countdown", "knights_knaves", "linear_system", "shortest_path"]
)
def test_pass_rate_varies_within_a_level(name: str, check) -> None:
    rates = []
    for i in range(16):
        rec = _record(name, 4, i)
        texts = student_answers(rec, 8, 0)
        rates.append(sum(check(rec.problem.answer, t, rec.problem.kind).passed for t in texts) / 8)
    assert len(set(rates)) >= 3, rates
    assert 0.0 < sum(rates) / len(rates) < 1.0, rates


def test_every_native_family_has_a_student(check) -> None:
    for name, _ in DEFAULT_SEEDS:
        rec = _record(name, 2, 0)
        texts = student_answers(rec, 4, 0)
        assert len(texts) == 4 and all(TRACE in t for t in texts), name
        assert any(check(rec.problem.answer, t, rec.problem.kind).checked for t in texts)


def test_no_student_where_the_family_has_no_solver() -> None:
    assert student_answers(_record("reasoning_gym", 1, 0), 4, 0) == []


@pytest.mark.parametrize(
    "name", ["arithmetic_chain", "linear_equation", "gcd_lcm", "modular_power", "counting"]
)
def test_intrinsic_effort_is_not_the_level(name: str) -> None:
    """Effort (the solver's digit operations) takes several values within every level."""
    fam = FAMILIES.get(name)
    for level in range(1, 6):
        nodes = {fam.solve(_record(name, level, i).problem, item_rng("e", 0, i), 0).nodes for i in range(16)}
        assert len(nodes) >= 2, (level, nodes)
