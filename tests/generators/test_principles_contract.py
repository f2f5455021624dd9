"""One contract over every registered composition principle.

Composed items are deterministic per rng, keep their parents' ids and the principle, carry a gold
answer computed from the parts (checked here independently), are solved by the narrating solver
to that answer telling what they did (records per paragraph, caught slips counted), carry a
wrong part answer on in the fallible mode, and verify (perturbed answers fail).
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from reasonmill.generators import FAMILIES, PRINCIPLES
from reasonmill.generators.teacher import render_trace
from reasonmill.records import Record
from reasonmill.rng import item_rng

BRIDGEABLE = ["arithmetic_chain", "arithmetic_expression", "gcd_lcm", "linear_equation", "modular_power"]
NUMERIC = [
    "arithmetic_chain",
    "arithmetic_expression",
    "counting",
    "gcd_lcm",
    "linear_equation",
    "modular_power",
    "prime_factors",
]


def _record(source: str, level: int, seed: int, index: int) -> Record:
    fam = FAMILIES.get(source)
    problem = fam.generate(item_rng(source, seed, index), fam.params({"level": level}))
    return Record(
        id=Record.make_id(source, seed, index, problem),
        source=source,
        seed=seed,
        index=index,
        level=level,
        problem=problem,
    )


def _compose(name: str, seed: int, hops: int):
    """Draw parents until the principle composes them (as the compose stage does)."""
    principle = PRINCIPLES.get(name)
    for draw in range(200):
        rng = item_rng(f"compose:{name}", seed, draw)
        first = _record(rng.choice(NUMERIC), rng.randint(1, 4), seed, draw)
        rest = [
            _record(
                rng.choice(BRIDGEABLE if name in ("bridging", "chaining") else NUMERIC),
                rng.randint(1, 4),
                seed,
                1000 * draw + k,
            )
            for k in range(hops - 1)
        ]
        parents = [first, *rest]
        problem = principle.compose(rng, parents)
        if problem is not None:
            return parents, problem
    raise AssertionError(f"{name} composed nothing in 200 draws")


def _hops(name: str) -> list[int]:
    low = PRINCIPLES.get(name).min_hops
    return [low, low + 1]


CASES = [(n, h) for n in PRINCIPLES.names() for h in _hops(n)]


@pytest.mark.parametrize(("name", "hops"), CASES)
def test_composed_item_keeps_parents_and_principle(name: str, hops: int) -> None:
    parents, problem = _compose(name, 1, hops)
    meta = problem.meta["compose"]
    assert meta["principle"] == name and meta["parents"] == [p.id for p in parents] and meta["hops"] == hops
    assert [p["family"] for p in meta["parts"]] == [p.source for p in parents]
    again = (
        PRINCIPLES.get(name).compose(item_rng("again", 0, 0), parents)
        if name in ("comparison", "conjunction")
        else None
    )
    if again is not None:  # these do not draw new parts, so only the question mode may differ
        assert again.meta["compose"]["parents"] == meta["parents"]


@pytest.mark.parametrize(("name", "hops"), CASES)
def test_gold_is_computed_from_the_parts(name: str, hops: int) -> None:
    for seed in range(3):
        _, problem = _compose(name, seed, hops)
        meta = problem.meta["compose"]
        values = [Fraction(p["answer"]) for p in meta["parts"]]
        if name in ("bridging", "chaining"):
            assert problem.answer == meta["parts"][-1]["answer"]
        elif name == "conjunction":
            assert problem.answer == "(" + ", ".join(p["answer"] for p in meta["parts"]) + ")"
        elif meta["mode"] == "max":
            assert Fraction(problem.answer) == max(values)
        else:
            assert Fraction(problem.answer) == (
                values[0] - values[1] if hops == 2 else max(values) - min(values)
            )


@pytest.mark.parametrize(("name", "hops"), CASES)
def test_deterministic(name: str, hops: int) -> None:
    assert _compose(name, 5, hops)[1] == _compose(name, 5, hops)[1]


@pytest.mark.parametrize(("name", "hops"), CASES)
@pytest.mark.parametrize("backtracks", [0, 1, 3, 5])
def test_solver_reaches_gold_and_tells_what_it_did(name: str, hops: int, backtracks: int) -> None:
    """The composed solve reaches the gold answer; every paragraph has a record with its part;
    `backtracks` counts the abandonments told (the parts' caught slips); the solution line is the
    on-path steps in order; each part's answer record holds the answer the solver got."""
    _, problem = _compose(name, 2, hops)
    run = PRINCIPLES.get(name).solve(problem, random.Random(7), backtracks)
    assert run.answer == problem.answer
    records = run.records
    told = sum(1 for r in records if r["t"] in ("check", "dead", "exhausted", "gave_up"))
    assert run.backtracks == told
    assert all("part" in r for r in records if r["t"] not in ("combine", "answer") or "part" in r)
    answers = [r["a"] for r in records if r["t"] == "part_answer"]
    assert answers == [p["answer"] for p in problem.meta["compose"]["parts"]]
    assert records[-1] == {"t": "answer", "a": problem.answer}
    on = [s for s in run.steps if s.on_path is not None]
    assert [s.on_path for s in on] == list(range(len(run.path)))
    assert render_trace(run).endswith(f"The answer is \\boxed{{{problem.answer}}}.")


def test_more_backtracks_more_caught_slips() -> None:
    """The knob raises the slips the parts' solvers really make and catch."""
    told = {b: 0 for b in (0, 5)}
    for seed in range(6):
        _, problem = _compose("conjunction", seed, 2)
        for b in told:
            told[b] += PRINCIPLES.get("conjunction").solve(problem, random.Random(seed), b).backtracks
    assert told[0] == 0 < told[5], told


@pytest.mark.parametrize(("name", "hops"), CASES)
def test_wrong_part_carries_on(name: str, hops: int, check) -> None:
    """The fallible solve errs in one part and the combination uses that wrong answer (a bridged
    part takes it as input), so the final answer is wrong and verification rejects it."""
    for seed in range(3):
        _, problem = _compose(name, seed, hops)
        run = PRINCIPLES.get(name).solve_wrong(problem, random.Random(seed), 1, ("slip",))
        if run is None:
            continue
        assert run.answer != problem.answer and run.meta["error"]["kind"] == "slip"
        assert not check(problem.answer, render_trace(run), problem.kind).passed
        got = [r["a"] for r in run.records if r["t"] == "part_answer"]
        assert got != [p["answer"] for p in problem.meta["compose"]["parts"]]
        return
    raise AssertionError("no wrong solve in 3 items")


@pytest.mark.parametrize(("name", "hops"), CASES)
def test_gold_passes_and_perturbed_fails(name: str, hops: int, check) -> None:
    _, problem = _compose(name, 3, hops)
    trace = render_trace(PRINCIPLES.get(name).solve(problem, random.Random(1), 1))
    assert check(problem.answer, trace, problem.kind).passed
    wrong = FAMILIES.get("arithmetic_chain").perturb(problem, random.Random(2))
    assert not check(problem.answer, f"The answer is \\boxed{{{wrong}}}.", problem.kind).passed


def test_composition_depth_below_minimum_is_refused() -> None:
    parents, _ = _compose("bridging", 4, 2)
    assert PRINCIPLES.get("chaining").compose(random.Random(0), parents) is None


@pytest.mark.parametrize("name", ["bridging", "comparison"])
def test_resume_continues_part_by_part_with_its_own_answers(name: str) -> None:
    """Resuming a composed solve from any prefix rebuilds the current part's state from its
    records; after a part's slip it carries the slipped value on (a bridged part takes it as its
    input), and from a clean prefix it reaches the gold answer."""
    principle = PRINCIPLES.get(name)
    for seed in range(20):
        _, problem = _compose(name, seed, 2)
        run = principle.solve(problem, random.Random(seed), 5)
        records = run.records
        slips = [k for k, r in enumerate(records) if r["t"] == "check" and r.get("part") == 0]
        if slips:
            break
    else:
        raise AssertionError("no slip in part 1 of 20 composed solves")
    k = slips[0]  # the prefix ends with the slipped step of part 1, before the check
    cont = principle.resume(problem, records[:k], random.Random(0))
    assert cont.answer != problem.answer  # a wrong answer, or none when the slipped value does not fit part 2
    if cont.answer is not None:
        got = [s.record["a"] for s in cont.steps if s.record and s.record["t"] == "part_answer"]
        assert got[0] != problem.meta["compose"]["parts"][0]["answer"]
    else:
        assert "does not take" in cont.note
    after = max(i for i, r in enumerate(records) if r["t"] == "part_answer" and r["part"] == 0)
    clean = principle.resume(problem, records[: after + 1], random.Random(0))
    assert clean.answer == problem.answer
    opening = principle.resume(problem, records[: after + 2], random.Random(0))  # stops at part 2's opening
    assert opening.answer == problem.answer
