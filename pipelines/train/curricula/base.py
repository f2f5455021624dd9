"""The prompt-scheduler protocol the GRPO trainer drives, and the uniform default.

A scheduler hands out dataset indices for the next rollout batch (`next_prompts`) and hears back
what the rollouts of a batch earned (`observe`: one entry per completion). The train sampler calls
`next_prompts` lazily, once per generation batch, so a scheduler's choice reflects every batch
observed so far (accelerate's dataloader looks one batch ahead, so the lag is at most one batch).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence


class PromptScheduler:
    """Uniform random order, epoch after epoch (what TRL's RepeatSampler does)."""

    def __init__(self, n: int, seed: int = 0) -> None:
        if n <= 0:
            raise ValueError("the prompt dataset is empty")
        self.n = n
        self.rng = random.Random(f"scheduler:{seed}")
        self._queue: list[int] = []

    def next_prompts(self, k: int) -> list[int]:
        """The dataset indices of the next `k` prompts."""
        out = []
        while len(out) < k:
            if not self._queue:
                self._queue = list(range(self.n))
                self.rng.shuffle(self._queue)
            out.append(self._queue.pop())
        return out

    def observe(
        self,
        indices: Sequence[int],
        rewards: Sequence[float],
        advantages: Sequence[float],
        correct: Sequence[float | None],
    ) -> None:
        """Take the outcome of one rollout batch (one entry per completion); the default ignores it."""

    def set_estimator(self, estimator: Callable[[list[int]], list[float]]) -> None:
        """Give the scheduler a way to measure pass rates with the current model (ADCL uses it)."""

    def state_dict(self) -> dict:
        """What to save in a checkpoint so a resumed run continues the schedule."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()`."""
