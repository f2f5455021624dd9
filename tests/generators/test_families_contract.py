"""One contract over every registered family (reasoning-gym's tests/test_dataset_common.py, improved).

Determinism per (seed, index), distinct items, a solver that reaches the gold answer, the
backtrack knob, the Step.on_path contract, the fixed trace format, verification of gold and
perturbed answers, config errors naming the field, and difficulty levels that order solver effort.
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


def _detours(run) -> list[list[str]]:
    """The detour paragraphs of a run, one list per wrong branch (they start with Alternatively)."""
    groups: list[list[str]] = []
    for step in run.steps:
        if step.on_path is None:
            if step.text.startswith("Alternatively") or not groups:
                groups.append([])
            groups[-1].append(step.text)
    return groups


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
def test_solver_narrates_distinct_backtracks_and_reaches_gold(name: str, backtracks: int) -> None:
    fam = FAMILIES.get(name)
    for i in range(4):
        problem = _item(name, 0, i)
        run = fam.solve(problem, item_rng("solve", 0, i), backtracks)
        assert run.answer == fam.shown_answer(problem)
        assert run.backtracks == backtracks
        groups = _detours(run)
        assert len(groups) == run.backtracks
        assert len({tuple(g) for g in groups}) == len(groups), "a wrong branch was repeated"
        for g in groups:
            assert g[0].startswith("Alternatively"), g
            assert re.search(r"Let me go back to step \d+\.$", g[-1]), g
            assert g[-1].startswith(TRANSITION_KEYWORDS)
        # on_path contract: the correct line, in order, each paragraph completing its path step
        on = [s for s in run.steps if s.on_path is not None]
        assert [s.on_path for s in on] == list(range(len(run.path)))
        assert all(s.text == run.path[s.on_path] for s in on)
        assert set(run.effort) == {"nodes", "backtracks", "steps"} and run.effort["nodes"] >= 1
        last = -1  # "go back to step r" names the last step of the correct line told before it
        for s in run.steps:
            last = last if s.on_path is None else s.on_path
            m = re.search(r"Let me go back to step (\d+)\.$", s.text)
            assert m is None or int(m.group(1)) == last + 1, (s.text, last)


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
