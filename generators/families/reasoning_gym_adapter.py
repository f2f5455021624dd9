"""reasoning-gym as a seed source: any of its 100+ tasks by name, scored by its own scorer.

    FAMILIES.get("reasoning_gym").params({"task": "chain_sum", "level": 2})

Params: `task` (a reasoning-gym dataset name) and `config` (that dataset's config fields). With
an empty `config`, the level picks the task's curriculum level (level - 1, capped at the task's
highest) when the task has a curriculum; otherwise the task's defaults are used and the level is
only recorded. `seed` and `size` are set by the adapter, never by the config.

Re-seeding: reasoning-gym draws item idx with `Random(seed + idx)`, so neighbouring seeds share
items. Here every item gets its own dataset seed drawn from the item's stream
`item_rng("reasoning_gym", seed, index)` and is item 0 of a one-item dataset with that seed.
Datasets whose `__getitem__` reads the seed directly are cached and re-seeded in place (the same
item, without re-running a costly `__init__`); the others are rebuilt per item.

Verification: answer kind "reasoning_gym". `check(gold, prediction, kind)` sees only strings, so
the gold answer is the compact JSON of {"task", "config", "entry"} (the entry is what the task's
`score_answer(answer, entry)` needs); `problem.meta["entry"]` holds the same entry for readers.
The matching verifier is `reasonmill.verifiers.reasoning_gym_scorer`.

Solver: reasoning-gym has no narrating solver, so this family narrates only the reference answer,
with no detour (a made-up wrong branch would be a false narration); the backtrack knob, the
fallible teacher, the reviser's rollouts and the offline student have nothing to act on here.
Prefer the native families for reasoning traces.

reasoning-gym is optional (`pip install reasoning-gym==0.1.25`): it is imported on first use, and
without it this family raises a `ConfigError` on `task` that says how to install it.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import random
from functools import cache
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from reasonmill.errors import ConfigError
from reasonmill.generators.base import Family, FamilyParams, SolverRun, Step
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

KIND = "reasoning_gym"
INSTALL = "reasoning-gym is not installed; install it with `pip install reasoning-gym==0.1.25`"


def _factory() -> Any:
    try:
        from reasoning_gym import factory
    except ImportError:
        raise ConfigError("params.task", INSTALL) from None
    return factory


class ReasoningGymParams(FamilyParams):
    """`task`: a reasoning-gym dataset name; `config`: its config fields (seed/size are set here)."""

    task: str
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("task")
    @classmethod
    def _known_task(cls, v: str) -> str:
        names = _factory().DATASETS
        if v not in names:
            raise ValueError(f"unknown reasoning-gym task '{v}'; known: {', '.join(sorted(names))}")
        return v

    @field_validator("config")
    @classmethod
    def _valid_config(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        for key in ("seed", "size"):
            if key in v:
                raise ValueError(f"'{key}' is set per item by the adapter; remove it from config")
        if v and "task" in info.data:  # build it once here so a bad field fails at the edge
            _config(info.data["task"], json.dumps(v, sort_keys=True), 1)
        return v


@cache
def _config(task: str, config_json: str, level: int) -> dict[str, Any]:
    """The task config as a plain dict: the given fields, else the curriculum at `level`."""
    factory = _factory()
    given = json.loads(config_json)
    _, config_cls = factory.DATASETS[task]
    if not given and factory.has_curriculum(task):
        curriculum = factory.create_curriculum(task)
        curriculum.set_global_level(level - 1)
        cfg = curriculum.generate_configuration()
    else:
        try:
            cfg = config_cls(**given)
            if hasattr(cfg, "validate"):
                cfg.validate()
        except (TypeError, AssertionError, ValueError) as exc:
            raise ValueError(f"reasoning_gym task {task}: {exc}") from None
    out = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in ("seed", "size")}
    return json.loads(json.dumps(out))


@cache
def _reseedable(task: str) -> bool:
    """True when the dataset's `__getitem__` reads its seed directly, so re-seeding in place works."""
    cls, _ = _factory().DATASETS[task]
    try:
        src = inspect.getsource(cls.__getitem__)
    except (OSError, TypeError):
        return False
    return "self.seed" in src or "self.config.seed" in src


@cache
def _cached(task: str, config_json: str) -> Any:
    return _factory().create_dataset(task, seed=0, size=1, **json.loads(config_json))


def gym_entry(task: str, config: dict[str, Any], item_seed: int) -> dict[str, Any]:
    """Item 0 of `task` with dataset seed `item_seed`: what `create_dataset(task, seed=item_seed,
    size=1, **config)[0]` returns, from a cached dataset where that is equivalent."""
    config_json = json.dumps(config, sort_keys=True)
    if _reseedable(task):
        ds = _cached(task, config_json)
        ds.seed = item_seed
        if hasattr(ds.config, "seed"):
            ds.config.seed = item_seed
        return ds[0]
    return _factory().create_dataset(task, seed=item_seed, size=1, **config)[0]


class ReasoningGym(Family):
    """Any reasoning-gym task as seeds; verified by the task's own scorer."""

    name = "reasoning_gym"
    description = "adapter: any reasoning-gym task by name, scored by its scorer"
    answer_kind = KIND
    Params = ReasoningGymParams

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        task = params.task
        config = _config(task, json.dumps(params.config, sort_keys=True), params.level)
        item_seed = rng.randrange(2**31)
        entry = gym_entry(task, config, item_seed)
        entry = json.loads(
            json.dumps(
                {
                    "question": entry["question"],
                    "answer": entry["answer"],
                    "metadata": entry.get("metadata", {}),
                },
                default=str,
            )
        )
        gold = json.dumps(
            {"task": task, "config": config, "entry": entry}, sort_keys=True, separators=(",", ":")
        )
        spec = {"task": task, "config": config, "item_seed": item_seed}
        return Problem(
            question=entry["question"], answer=gold, kind=KIND, meta={"spec": spec, "entry": entry}
        )

    def shown_answer(self, problem: Problem) -> str:
        """The task's reference answer: what the trace boxes (the gold string is JSON for the scorer)."""
        return str(json.loads(problem.answer)["entry"]["answer"])

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        """The reference answer, told plainly: this family has no solver of its own, so it has
        no search to narrate and no dead end to tell (`backtracks` has no effect)."""
        answer, spec = self.shown_answer(problem), problem.meta["spec"]
        path = [
            f"This is a reasoning-gym {spec['task']} task; I work from its reference solution.",
            f"The answer is {answer}.",
        ]
        steps = [Step(t, i, {"t": "text"}) for i, t in enumerate(path)]
        return SolverRun(steps=steps, path=path, answer=answer, nodes=1, backtracks=0)

    def perturb(self, problem: Problem, rng: random.Random) -> str:
        """A wrong answer: the reference with an integer changed, or, when it has no digits, the
        reference answer of another item of the same task."""
        shown = self.shown_answer(problem)
        if any(ch.isdigit() for ch in shown):
            return super().perturb(Problem(question="", answer=shown), rng)
        spec = problem.meta["spec"]
        for _ in range(20):
            other = str(gym_entry(spec["task"], spec["config"], rng.randrange(2**31))["answer"])
            if other != shown:
                return other
        return shown + " (not)"


FAMILIES.register(ReasoningGym.name, ReasoningGym())
