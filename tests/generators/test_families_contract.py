"""One contract over every registered family (reasoning-gym's tests/test_dataset_common.py, improved).

Determinism per (seed, index), distinct items, a solver whose answer verifies and that narrates
what it did (told abandonments = `backtracks`, a record per paragraph, no state entered twice),
a backtrack knob that makes more real wrong turns, the Step.on_path contract, the fixed trace
format, verification of gold and perturbed answers, config errors naming the field, and
difficulty levels that order solver effort.
"""

from __future__ import annotations

import importlib.util
import re
import statistics
from typing import Any

import pytest

from reasonmill.errors import ConfigError
from reasonmill.generators import FAMILIES
from reasonmill.generators.base import TRANSITION_KEYWORDS
from reasonmill.generators.teacher import render_trace
from reasonmill.rng import item_rng

# Families that need more than a level to run (the reasoning-gym adapter needs a task name).
EXTRA_PARAMS: dict[str, dict[str, Any]] = {"reasoning_gym": {"task": "chain_sum"}}
HAS_GYM = importlib.util.find_spec("reasoning_gym") is not None


def family_names() -> list[Any]:
    """Every registered family; the reasoning-gym adapter is skipped when the package is missing."""
    out: list[Any] = []
    for name in FAMILIES.names():
        marks = (
            [pytest.mark.skip(reason="reasoning-gym is not installed")]
            if name == "reasoning_gym" and not HAS_GYM
            else []
        )
        out.append(pytest.param(name, marks=marks))
    return out


def params_for(name: str, level: int) -> Any:
    """Validated params of family `name` at `level`."""
    return FAMILIES.get(name).params({"level": level, **EXTRA_PARAMS.get(name, {})})


FAMILY_NAMES = family_names()
TRACE_END = re.compile(r"</think>\n\nThe answer is \\boxed\{(.+)\}\.\Z", re.S)


def _item(name: str, seed: int, index: int, level: int = 3):
    return FAMILIES.get(name).generate(item_rng(name, seed, index), params_for(name, level))


ABANDON = ("dead", "exhausted", "gave_up", "check")


def _abandoned(run) -> int:
    """Dead ends and caught slips told in a run, from its step records."""
    n = 0
    for rec in run.records:
        if rec["t"] in ABANDON:
            n += 1
        elif rec["t"] == "group":
            n += len(rec["items"])
    return n


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_deterministic_per_seed_and_index(name: str) -> None:
    a, b = _item(name, 7, 3), _item(name, 7, 3)
    assert (a.question, a.answer, a.kind, a.meta) == (b.question, b.answer, b.kind, b.meta)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_distinct_across_seeds_and_indices(name: str) -> None:
    questions = [_item(name, s, i).question for s in (0, 1) for i in range(10)]
    assert len(set(questions)) >= 19, "neighbouring seeds/indices must not share items"
    assert _item(name, 0, 1).question != _item(name, 1, 0).question


@pytest.mark.parametrize("name", FAMILY_NAMES)
@pytest.mark.parametrize("backtracks", [0, 1, 3, 5])
def test_solver_narrates_what_it_did_and_reaches_a_verified_answer(name: str, backtracks: int, check) -> None:
    """The solve verifies; `backtracks` counts exactly the abandonments told (each a record);
    every paragraph has a record; the solution line is the on-path steps in order; no state is
    entered twice except a branch explicitly resumed; every abandonment opens a new thought."""
    fam = FAMILIES.get(name)
    for i in range(4):
        problem = _item(name, 0, i)
        run = fam.solve(problem, item_rng("solve", 0, i), backtracks)
        assert check(problem.answer, render_trace(run), problem.kind).passed, run.answer
        assert run.backtracks == _abandoned(run)
        assert all(s.record is not None for s in run.steps), "every paragraph carries its record"
        entered = [(r["d"], repr(r["s"])) for r in run.records if r["t"] == "enter" and not r.get("again")]
        assert len(entered) == len(set(entered)), "a state was entered twice"
        for s in run.steps:
            if s.record["t"] in ABANDON or s.record["t"] == "group":
                assert s.text.startswith(TRANSITION_KEYWORDS), s.text
        on = [s for s in run.steps if s.on_path is not None]
        assert [s.on_path for s in on] == list(range(len(run.path)))
        assert all(s.text == run.path[s.on_path] for s in on)
        assert set(run.effort) == {"nodes", "backtracks", "steps"} and run.effort["nodes"] >= 1


@pytest.mark.parametrize("name", [n for n in FAMILY_NAMES if n.values[0] != "reasoning_gym"])
def test_backtrack_knob_makes_more_real_wrong_turns(name: str) -> None:
    """The knob acts on the policy: mean told abandonments never drop from 0 to 1 to 3 to 5
    backtracks (over the same items, all levels), and 5 gives more than 0."""
    fam = FAMILIES.get(name)
    means = []
    for backtracks in (0, 1, 3, 5):
        told = []
        for i in range(20):
            problem = fam.generate(item_rng(name, 4, i), params_for(name, 1 + i % 5))
            told.append(fam.solve(problem, item_rng("knob", 4, i), backtracks).backtracks)
        means.append(statistics.mean(told))
    assert all(a <= b + 0.35 for a, b in zip(means, means[1:], strict=False)), means
    assert means[-1] > means[0], means


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_trace_ends_in_declared_format(name: str) -> None:
    problem = _item(name, 2, 0)
    fam = FAMILIES.get(name)
    text = render_trace(fam.solve(problem, item_rng("solve", 2, 0), 3))
    m = TRACE_END.search(text)
    assert text.startswith("<think>\n") and m and m.group(1) == fam.shown_answer(problem)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_gold_passes_and_perturbed_fails(name: str, check) -> None:
    fam = FAMILIES.get(name)
    for i in range(5):
        problem = _item(name, 3, i)
        trace = render_trace(fam.solve(problem, item_rng("solve", 3, i), 1))
        assert check(problem.answer, trace, problem.kind).passed, (problem.answer, problem.kind)
        wrong = fam.perturb(problem, item_rng("perturb", 3, i))
        assert wrong != problem.answer
        assert not check(problem.answer, f"The answer is \\boxed{{{wrong}}}.", problem.kind).passed, (
            problem.answer,
            wrong,
        )


@pytest.mark.parametrize("name", FAMILY_NAMES)
@pytest.mark.parametrize("bad", [{"level": 0}, {"level": -1}, {"level": 99}, {"nonsense": 1}])
def test_bad_params_name_the_field(name: str, bad: dict) -> None:
    raw = {**EXTRA_PARAMS.get(name, {}), **bad}
    with pytest.raises(ConfigError) as err:
        FAMILIES.get(name).params(raw)
    assert err.value.field == f"params.{next(iter(bad))}"


@pytest.mark.parametrize("name", [n for n in FAMILY_NAMES if n.values[0] != "reasoning_gym"])
def test_difficulty_levels_order_solver_effort(name: str) -> None:
    """Mean nodes expanded (no narrated backtracks) never drops from level to level, and 5 > 1."""
    fam = FAMILIES.get(name)
    means = []
    for level in range(1, 6):
        nodes = []
        for i in range(16):
            p = fam.generate(item_rng(name, 11, i), params_for(name, level))
            nodes.append(fam.solve(p, item_rng("solve", 11, i), 0).nodes)
        means.append(statistics.mean(nodes))
    assert all(a <= b for a, b in zip(means, means[1:], strict=False)), means
    assert means[-1] > means[0], means
