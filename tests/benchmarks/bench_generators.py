"""Benchmark: problems per second of our families against reasoning-gym's comparable generators.

    python tests/benchmarks/bench_generators.py [--seconds 2.0]

Runs in one process, one core, all measurements in the same run. For each comparable task it
times (a) reasoning-gym's own generator, iterated the way it is meant to be used (one dataset,
items by index), (b) our family generating problems only, (c) our family generating problems and
narrating a solver trace (`solve` with one backtrack, rendered in the teacher's fixed format; the
solver continues the item's random stream, so each item builds one `random.Random` as in
reasoning-gym; the programmatic teacher seeds its own stream per sample, ~6 µs more per trace),
and (d) the same reasoning-gym task through our adapter (per-item re-seeding). Each cell runs
for `--seconds` (best of three rounds, at least `MIN_ITEMS` items each). The ratio columns are ours / theirs:
above 1 means faster than reasoning-gym. A second table gives every family's rate at levels 1, 3
and 5 with traces, against the 5 ms/item budget (50 ms for sudoku and zebra).

Levels are chosen to be at least as hard as reasoning-gym's default config (noted per row).
Writes tests/benchmarks/results/generators.md and generators.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

from reasonmill.generators import FAMILIES
from reasonmill.generators.teacher import render_trace
from reasonmill.rng import item_rng

MIN_ITEMS = 20
RESULTS = Path(__file__).parent / "results"
# (label, our family, our level, reasoning-gym task, reasoning-gym config, why the level compares)
PAIRS = [
    (
        "chain sums",
        "arithmetic_chain",
        2,
        "chain_sum",
        {},
        "4 operations of + − on 1–20 vs 2–6 terms of + −, 1–4 digits",
    ),
    (
        "basic arithmetic",
        "arithmetic_expression",
        4,
        "basic_arithmetic",
        {},
        "6 operands, ( ), ÷ vs 2–6 terms, ( ), ÷",
    ),
    ("Countdown", "countdown", 4, "countdown", {}, "5 numbers, target 100–999 vs 4–6 numbers, 100–999"),
    ("Sudoku", "sudoku", 2, "sudoku", {}, "≈38 clues, unique vs 31–51 clues, unique"),
    ("knights and knaves", "knights_knaves", 1, "knights_knaves", {}, "3 people vs 2 people"),
    ("zebra", "zebra", 4, "zebra_puzzles", {}, "4 houses × 4 attributes vs 4 × 4"),
]
BUDGET_MS = {"sudoku": 50.0, "zebra": 50.0}


def rate(make: Callable[[int], object], seconds: float, rounds: int = 3) -> tuple[float, int]:
    """Items per second of `make(i)`, i = 0, 1, ...: the best of `rounds` rounds of `seconds /
    rounds` each (at least MIN_ITEMS items per round), so a busy neighbour on a shared machine
    costs less. Later rounds continue the index, so no item is timed twice."""
    best, n = 0.0, 0
    for _ in range(rounds):
        start, first = time.perf_counter(), n
        while n - first < MIN_ITEMS or time.perf_counter() - start < seconds / rounds:
            make(n)
            n += 1
        best = max(best, (n - first) / (time.perf_counter() - start))
    return best, n


def ours(name: str, level: int, traces: bool) -> Callable[[int], object]:
    """One item of our family (and its narrated trace when `traces`)."""
    fam = FAMILIES.get(name)
    params = fam.params({"level": level})

    def make(i: int) -> object:
        rng = item_rng(name, 0, i)
        problem = fam.generate(rng, params)
        if traces:  # the solver continues the item's stream: one Random per item, as reasoning-gym
            return render_trace(fam.solve(problem, rng, 1))
        return problem

    return make


def theirs(task: str, config: dict) -> Callable[[int], object]:
    """One item of reasoning-gym's own dataset, by index (its intended use)."""
    from reasoning_gym import create_dataset

    ds = create_dataset(task, seed=0, size=10**9, **config)
    return lambda i: ds[i]


def adapter(task: str, config: dict) -> Callable[[int], object]:
    """One item of the reasoning-gym task through our adapter (per-item re-seeding), with the
    same config as the native run: the task's defaults spelled out (an empty config would pick
    the curriculum level instead)."""
    import dataclasses

    from reasoning_gym.factory import DATASETS

    defaults = {
        f.name: getattr(DATASETS[task][1](), f.name)
        for f in dataclasses.fields(DATASETS[task][1])
        if f.name not in ("seed", "size")
    }
    fam = FAMILIES.get("reasoning_gym")
    params = fam.params({"task": task, "config": {**defaults, **config}})
    return lambda i: fam.generate(item_rng("reasoning_gym", 0, i), params)


def main() -> None:
    """Time every pair and every family; write the Markdown and JSON results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measured cell")
    args = ap.parse_args()
    try:
        import reasoning_gym  # noqa: F401

        have_gym = True
    except ImportError:
        have_gym = False

    rows = []
    for label, name, level, task, config, why in PAIRS:
        row = {"task": label, "family": name, "level": level, "gym_task": task, "comparison": why}
        row["ours_per_s"], _ = rate(ours(name, level, False), args.seconds)
        row["ours_traces_per_s"], _ = rate(ours(name, level, True), args.seconds)
        if have_gym:
            row["gym_per_s"], row["gym_items"] = rate(theirs(task, config), args.seconds)
            row["gym_adapter_per_s"], _ = rate(adapter(task, config), args.seconds)
            row["ratio"] = row["ours_per_s"] / row["gym_per_s"]
            row["ratio_traces"] = row["ours_traces_per_s"] / row["gym_per_s"]
        rows.append(row)
        print({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}, flush=True)

    families = []
    for name in FAMILIES.names():
        if name == "reasoning_gym":
            continue
        entry = {"family": name, "budget_ms": BUDGET_MS.get(name, 5.0)}
        for level in (1, 3, 5):
            per_s, _ = rate(ours(name, level, True), args.seconds / 2)
            entry[f"ms_level{level}"] = 1000 / per_s
        families.append(entry)
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in entry.items()}, flush=True)

    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds_per_cell": args.seconds,
        "reasoning_gym": have_gym,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generators.json").write_text(
        json.dumps({"meta": meta, "comparable": rows, "families": families}, indent=2)
    )
    (RESULTS / "generators.md").write_text(render(meta, rows, families))
    print(f"wrote {RESULTS / 'generators.md'}")


def render(meta: dict, rows: list[dict], families: list[dict]) -> str:
    """The results as Markdown tables."""
    out = [
        "# Generators vs reasoning-gym (problems/s, one core, same run)",
        "",
        f"Python {meta['python']} on {meta['machine']}; {meta['seconds_per_cell']} s per cell. Ratio = ours / reasoning-gym (> 1 is faster). "
        "Traces: generate + solve with 1 backtrack + render, one random stream per item.",
        "",
        "| task | ours (family, level) | reasoning-gym | ours/s | ours+trace/s | rg/s | rg via adapter/s | ratio | ratio with traces | levels compared |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        gym = (
            (
                f"{r['gym_per_s']:,.0f}",
                f"{r['gym_adapter_per_s']:,.0f}",
                f"{r['ratio']:.2f}",
                f"{r['ratio_traces']:.2f}",
            )
            if "gym_per_s" in r
            else ("n/a",) * 4
        )
        out.append(
            f"| {r['task']} | {r['family']} L{r['level']} | {r['gym_task']} (default) | {r['ours_per_s']:,.0f} | {r['ours_traces_per_s']:,.0f} | {' | '.join(gym)} | {r['comparison']} |"
        )
    out += [
        "",
        "## Every family with traces (ms per item: generate + solve with 1 backtrack + render)",
        "",
        "| family | L1 | L3 | L5 | budget |",
        "|---|---:|---:|---:|---:|",
    ]
    for f in families:
        out.append(
            f"| {f['family']} | {f['ms_level1']:.2f} | {f['ms_level3']:.2f} | {f['ms_level5']:.2f} | {f['budget_ms']:.0f} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
