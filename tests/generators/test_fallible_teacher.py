"""The fallible teacher: a configurable share of traces ends wrong, really wrong.

Each error is a mistake a solver makes and does not notice (an arithmetic slip nobody checks, a
search stopped at its budget committing to its best guess, a misread clue); the verifier rejects
every trace marked wrong; the correct samples do not change when an error model is added; and on
the default build's mix of seeds with two samples per question, verification rejects some traces
and at least 5% of questions get both a correct and a wrong trace (a preference pair).
"""

from __future__ import annotations

import statistics
from collections import defaultdict

import pytest
from pydantic import ValidationError

from reasonmill.config import DEFAULT_SEEDS
from reasonmill.generators import FAMILIES
from reasonmill.generators.errors_model import ERROR_KINDS, ErrorModel
from reasonmill.generators.teacher import ProgrammaticTeacher, render_trace
from reasonmill.records import Record
from reasonmill.rng import item_rng

BACKTRACKS_BY_LEVEL = [0, 1, 1, 3, 5]
NATIVE = [n for n, _ in DEFAULT_SEEDS]


def _record(name: str, level: int, index: int, seed: int = 0) -> Record:
    fam = FAMILIES.get(name)
    problem = fam.generate(item_rng(name, seed, index), fam.params({"level": level}))
    return Record(Record.make_id(name, seed, index, problem), name, seed, index, level, problem)


def test_error_model_validates_and_draws() -> None:
    with pytest.raises(ValidationError, match="rate_by_level"):
        ErrorModel(rate_by_level=(0.1, 1.5))
    with pytest.raises(ValidationError, match="unknown error kind"):
        ErrorModel(kinds=("typo",))
    model = ErrorModel()
    assert model.rate(1) == 0.03 and model.rate(5) == model.rate(12) == 0.15
    draws = [model.draw(item_rng("d", 0, i), 5) for i in range(2000)]
    wrong = [d for d in draws if d is not None]
    assert 0.12 < len(wrong) / len(draws) < 0.18
    assert all(sorted(d) == sorted(ERROR_KINDS) for d in wrong)
    assert ErrorModel(rate_by_level=(0.0,)).draw(item_rng("d", 0, 0), 3) is None


@pytest.mark.parametrize("name", NATIVE)
def test_every_family_can_be_wrong_and_the_verifier_rejects_it(name: str, check) -> None:
    fam = FAMILIES.get(name)
    made = 0
    for i in range(12):
        rec = _record(name, 2 + i % 4, i)
        run = fam.solve_wrong(rec.problem, item_rng("wrong", 0, i), 1, ERROR_KINDS)
        if run is None:
            continue
        made += 1
        assert run.meta["error"]["kind"] in ERROR_KINDS
        verdict = check(rec.problem.answer, render_trace(run), rec.problem.kind)
        assert not verdict.passed and verdict.reason in ("mismatch", "no_answer"), (run.answer, verdict)
    assert made >= 6, f"{name} made only {made} wrong solves in 12 items"


def test_correct_samples_do_not_change_with_an_error_model() -> None:
    infallible = ProgrammaticTeacher(ErrorModel(rate_by_level=(0.0,)))
    fallible = ProgrammaticTeacher(ErrorModel(rate_by_level=(0.5,)))
    changed = same = 0
    for i in range(30):
        rec = _record(NATIVE[i % len(NATIVE)], 3, i)
        for a, b in zip(infallible.traces(rec, 2, 1, 0), fallible.traces(rec, 2, 1, 0), strict=True):
            if b.meta["error"] is None:
                assert a.text == b.text and a.id == b.id
                same += 1
            else:
                assert a.text != b.text
                changed += 1
    assert same and changed


def test_traces_are_deterministic_per_record_seed_and_sample() -> None:
    teacher = ProgrammaticTeacher(ErrorModel(rate_by_level=(0.5,)))
    rec = _record("countdown", 4, 3)
    a, b = teacher.traces(rec, 3, 3, 7), teacher.traces(rec, 3, 3, 7)
    assert [t.text for t in a] == [t.text for t in b] and [t.meta for t in a] == [t.meta for t in b]
    assert [t.text for t in teacher.traces(rec, 3, 3, 8)] != [t.text for t in a]


def test_default_build_gets_rejections_and_preference_pairs(check) -> None:
    """The default build's seed mix (counts by family, levels 1–5), two samples per question,
    backtracks by level, the default error model: some traces fail verification, at least 5% of
    questions have a correct and a wrong trace, and accuracy is reported per family and level."""
    teacher = ProgrammaticTeacher()
    total = sum(c for _, c in DEFAULT_SEEDS)
    pairs = questions = rejected = traces = 0
    acc: dict[tuple[str, int], list[bool]] = defaultdict(list)
    for name, count in DEFAULT_SEEDS:
        for i in range(max(4, 300 * count // total)):
            level = 1 + i % 5
            rec = _record(name, level, i, seed=3)
            got = teacher.traces(rec, 2, BACKTRACKS_BY_LEVEL[level - 1], 3)
            passed = [check(rec.problem.answer, t.text, rec.problem.kind).passed for t in got]
            for t, p in zip(got, passed, strict=True):
                assert p == (t.meta["error"] is None), (name, t.meta["error"], t.answer)
            acc[(name, level)].extend(passed)
            questions += 1
            traces += len(got)
            rejected += passed.count(False)
            pairs += any(passed) and not all(passed)
    assert rejected > 0
    assert pairs / questions >= 0.05, (pairs, questions)
    per_family = {
        n: statistics.mean(p for (f, _), ps in acc.items() if f == n for p in ps) for n, _ in DEFAULT_SEEDS
    }
    assert all(0.75 <= a <= 1.0 for a in per_family.values()), per_family
    assert rejected / traces < 0.2
