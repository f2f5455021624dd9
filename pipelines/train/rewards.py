"""Reward functions for GRPO by name: the config's `rewards: [accuracy, format]` vocabulary.

Each entry builds a TRL reward function (`f(prompts, completions, completion_ids, **columns)`) from the
train config; all verifier checks run in the shared worker pool under `reward_timeout_s`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reasonmill.registry import Registry
from reasonmill.verifiers.rewards import AccuracyReward, LengthAwareAccuracy, format_reward

REWARDS: Registry[Callable[[Any], Callable[..., list[float | None]]]] = Registry("reward")

REWARDS.register("accuracy", lambda c: AccuracyReward(workers=c.reward_workers, timeout_s=c.reward_timeout_s))
REWARDS.register("format", lambda c: format_reward)
REWARDS.register(
    "length_aware", lambda c: LengthAwareAccuracy(workers=c.reward_workers, timeout_s=c.reward_timeout_s)
)


def make_rewards(config: Any) -> list[Callable[..., list[float | None]]]:
    """The reward functions a config names, in order (unknown names list the known ones)."""
    return [REWARDS.get(name)(config) for name in config.rewards]


__all__ = ["REWARDS", "make_rewards"]
