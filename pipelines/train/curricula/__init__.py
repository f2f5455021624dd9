"""Curricula: named training schedules from the research, each with the paper's defaults.

A curriculum registers itself in `CURRICULA` under the name configs use (`curriculum: {name: sec, ...}`),
with a pydantic params model (defaults from the paper; unknown keys are errors naming the field) and
the trainers it applies to. The trainers hook them in for real:

| name | trainer | hooked in as | rule |
|---|---|---|---|
| `sec` | grpo | prompt scheduler (the train sampler) + observation of every rollout batch | arm ~ softmax(Q/τ); r = mean abs advantage; Q ← α·r + (1−α)·Q |
| `adcl` | grpo | prompt scheduler; re-estimates the next chunk with the current model | 4 chunks easy→hard, next chunk reordered by fresh difficulty |
| `online_filter` | grpo | rollout-batch filter with refill | keep prompts with pass rate in [0.2, 0.8], refill to a full batch |
| `masked_thought` | sft | data collator + step callback | mask response inputs with p rising linearly to 0.4 over 2/3 of steps; labels unchanged |
| `mindgym` | sft | dataset builder + ordered sampler | four stages: Q+thinking→A, Q+A→thinking, Q→thinking+A, Q→A |
| `bstar` | grpo | callback on the trainer's own rollouts; `choose_config` for self-improvement loops | exploration, exploitation, balance score |
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from reasonmill.errors import ConfigError
from reasonmill.registry import Registry


@dataclass(frozen=True, slots=True)
class CurriculumEntry:
    """A registry entry: what the curriculum is, its params model, the trainers it applies to."""

    description: str
    params: type[BaseModel]
    trainers: tuple[str, ...]


def _load() -> None:
    for name in ("sec", "adcl", "filtering", "masked_thought", "mindgym", "bstar"):
        importlib.import_module(f"reasonmill.pipelines.train.curricula.{name}")


CURRICULA: Registry[CurriculumEntry] = Registry("curriculum", loader=_load)


def curriculum_params(name: str, trainer: str, params: dict[str, Any] | None = None) -> BaseModel:
    """Validated params of curriculum `name` for `trainer`; errors name the field or list the names."""
    entry = CURRICULA.get(name)
    if trainer not in entry.trainers:
        ok = [n for n, e in CURRICULA.items() if trainer in e.trainers]
        raise ConfigError(
            "curriculum.name",
            f"'{name}' applies to {', '.join(entry.trainers)}, not {trainer}; for {trainer}: {', '.join(ok)}",
        )
    try:
        return entry.params.model_validate(params or {})
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError("curriculum." + ".".join(str(p) for p in err["loc"]), err["msg"]) from None


__all__ = ["CURRICULA", "CurriculumEntry", "curriculum_params"]
