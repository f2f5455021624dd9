"""Impossible family settings are config errors that name the field, before any generation."""

from __future__ import annotations

import pytest

from reasonmill.errors import ConfigError
from reasonmill.generators import FAMILIES


@pytest.mark.parametrize(
    ("family", "raw", "field"),
    [
        ("sudoku", {"clues": 16}, "params.clues"),  # no unique 9x9 sudoku has fewer than 17 clues
        ("sudoku", {"clues": 81}, "params.clues"),
        ("shortest_path", {"nodes": 2}, "params.nodes"),  # start, goal and a choice need 3 nodes
        ("shortest_path", {"nodes": 27}, "params.nodes"),  # one letter per node
        ("linear_equation", {"max_coefficient": 1}, "params.max_coefficient"),
        ("arithmetic_chain", {"max_operand": 0}, "params.max_operand"),
        ("counting", {"level": 6}, "params.level"),
        ("zebra", {"level": -2}, "params.level"),
    ],
)
def test_impossible_settings_name_the_field(family: str, raw: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        FAMILIES.get(family).params(raw)
    assert err.value.field == field and family in str(err.value)


def test_overrides_take_effect() -> None:
    from reasonmill.rng import item_rng

    sudoku = FAMILIES.get("sudoku")
    p = sudoku.generate(item_rng("sudoku", 0, 0), sudoku.params({"level": 1, "clues": 60}))
    assert sum(d != 0 for d in p.meta["spec"]["puzzle"]) >= 60
    graph = FAMILIES.get("shortest_path")
    p = graph.generate(item_rng("shortest_path", 0, 0), graph.params({"level": 1, "nodes": 3}))
    assert len(p.meta["spec"]["adj"]) == 3
