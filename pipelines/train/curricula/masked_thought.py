"""Masked Thought (Chen et al., 2024): SFT with random masking of reasoning tokens in the input.

Each response token (a position whose label is not -100) has its *input* id replaced by a mask
token with probability p(step); the labels stay the original tokens, so the model still learns to
predict every token, from a perturbed context. p rises linearly from 0 to `max_prob` (0.4 by
default; the research uses 0.2–0.4) over the first `warmup_fraction` (2/3) of the steps and then
stays there. Prompt tokens are never masked. Hooked into TRL's SFTTrainer as a data collator that
wraps TRL's own, plus a callback that tells it the current step (keep `dataloader_num_workers=0`
so the collator sees the step). accelerate's dataloader collates the next batch one step ahead, so the
probability applied lags the schedule by at most one step.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reasonmill.pipelines.train.curricula import CURRICULA, CurriculumEntry


class MaskedThoughtParams(BaseModel):
    """Masked Thought's knobs."""

    model_config = ConfigDict(extra="forbid")
    max_prob: float = Field(0.4, ge=0.0, le=0.4, description="final masking probability (at most 0.4)")
    warmup_fraction: float = Field(2 / 3, gt=0.0, le=1.0, description="share of steps over which p rises")
    mask_token_id: int | None = Field(
        None, description="token that replaces masked inputs (default: unk, else pad)"
    )


def mask_probability(step: int, total_steps: int, params: MaskedThoughtParams) -> float:
    """p(step) = max_prob · min(1, step / (warmup_fraction · total_steps))."""
    if total_steps <= 0:
        return params.max_prob
    ramp = params.warmup_fraction * total_steps
    return params.max_prob * min(1.0, step / ramp) if ramp > 0 else params.max_prob


class MaskedThoughtCollator:
    """Wraps a collator that yields `input_ids`/`labels`; masks response inputs, never labels."""

    def __init__(
        self, base: Any, mask_token_id: int, params: MaskedThoughtParams | None = None, seed: int = 0
    ) -> None:
        self.base = base
        self.mask_token_id = int(mask_token_id)
        self.params = params or MaskedThoughtParams()
        self.seed = seed
        self.step = 0
        self.total_steps = 0
        self.calls = 0
        self.last_prob = 0.0
        self.last_masked = 0
        self.last_response_tokens = 0

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        """The base batch with a share p(step) of response input ids replaced by the mask token."""
        import torch

        batch = self.base(examples)
        labels = batch["labels"]
        p = mask_probability(self.step, self.total_steps, self.params)
        response = labels != -100
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.calls)
        self.calls += 1
        masked = response & (torch.rand(labels.shape, generator=gen) < p)
        ids = batch["input_ids"].clone()
        ids[masked] = self.mask_token_id
        batch["input_ids"] = ids
        self.last_prob, self.last_masked, self.last_response_tokens = (
            p,
            int(masked.sum()),
            int(response.sum()),
        )
        return batch


def step_callback(collator: MaskedThoughtCollator) -> Any:
    """A TrainerCallback that keeps the collator's step and total steps current."""
    from transformers import TrainerCallback

    class _MaskedThoughtStep(TrainerCallback):
        """Tells the Masked Thought collator the global step before each step."""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            collator.total_steps = state.max_steps
            collator.step = state.global_step

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            collator.step = state.global_step

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any
        ) -> None:
            if logs is not None and "loss" in logs:
                logs["masked_thought/prob"] = collator.last_prob

    return _MaskedThoughtStep()


CURRICULA.register(
    "masked_thought",
    CurriculumEntry(
        "Masked Thought: mask response inputs, p rising linearly to 0.4 over 2/3 of steps",
        MaskedThoughtParams,
        ("sft",),
    ),
)
