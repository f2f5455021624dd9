"""The reasoning-gym adapter: per-item re-seeding, config errors at the edge, optional install."""

from __future__ import annotations

import sys

import pytest

from reasonmill.errors import ConfigError
from reasonmill.generators import FAMILIES
from reasonmill.rng import item_rng

TASKS = ["chain_sum", "basic_arithmetic", "countdown", "knights_knaves", "zebra_puzzles", "sudoku"]


def _gen(task: str, seed: int, index: int, level: int = 2):
    fam = FAMILIES.get("reasoning_gym")
    return fam.generate(item_rng("reasoning_gym", seed, index), fam.params({"task": task, "level": level}))


@pytest.mark.parametrize("task", TASKS)
def test_neighbouring_seeds_do_not_share_items(task: str) -> None:
    assert _gen(task, 0, 1).question != _gen(task, 1, 0).question
    assert _gen(task, 4, 2).answer == _gen(task, 4, 2).answer


@pytest.mark.parametrize("task", TASKS)
def test_item_equals_a_fresh_one_item_dataset(task: str) -> None:
    """The cached, re-seeded dataset gives exactly what create_dataset(seed=s, size=1)[0] gives."""
    from reasoning_gym import create_dataset

    p = _gen(task, 3, 5)
    spec = p.meta["spec"]
    fresh = create_dataset(task, seed=spec["item_seed"], size=1, **spec["config"])[0]
    assert fresh["question"] == p.question and str(fresh["answer"]) == FAMILIES.get(
        "reasoning_gym"
    ).shown_answer(p)


def test_level_follows_the_curriculum_and_explicit_config_wins() -> None:
    easy, hard = (
        _gen("chain_sum", 0, 0, 1).meta["spec"]["config"],
        _gen("chain_sum", 0, 0, 5).meta["spec"]["config"],
    )
    assert easy["max_terms"] < hard["max_terms"]
    fam = FAMILIES.get("reasoning_gym")
    p = fam.generate(
        item_rng("x", 0, 0),
        fam.params({"task": "chain_sum", "level": 5, "config": {"min_terms": 2, "max_terms": 2}}),
    )
    assert p.meta["spec"]["config"]["max_terms"] == 2


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"task": "no_such_task"}, "params.task"),
        ({"task": "chain_sum", "config": {"min_terms": 0}}, "params.config"),
        ({"task": "chain_sum", "config": {"seed": 1}}, "params.config"),
        ({}, "params.task"),
    ],
)
def test_bad_params_name_the_field(raw: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        FAMILIES.get("reasoning_gym").params(raw)
    assert err.value.field == field


def test_missing_package_is_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "reasoning_gym", None)  # import now raises ImportError
    with pytest.raises(ConfigError) as err:
        FAMILIES.get("reasoning_gym").params({"task": "chain_sum"})
    assert err.value.field == "params.task" and "pip install reasoning-gym" in str(err.value)
