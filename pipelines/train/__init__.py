"""Train on a reasonmill corpus with TRL: SFT, DPO and GRPO with the project's verifiers as rewards.

    from reasonmill.pipelines.train import TrainConfig, train
    result = train(TrainConfig(trainer="sft", corpus="out", model="path/to/model", out="runs/sft", max_steps=100))

Modules: `config` (one validated config for every trainer), `data` (corpus subsets as `datasets`),
`common` (model loading, LoRA, precision, logging to console/JSONL/TensorBoard, checkpoints),
`sft`, `dpo`, `grpo` (the trainers), `rewards` (reward registry), `curricula/` (SEC, ADCL, online
filtering, Masked Thought, MindGYM, B-STaR). torch, transformers, trl and peft (the `train` extra)
are imported only when a trainer runs.
"""

from __future__ import annotations

from typing import Any

from reasonmill.pipelines.train.config import TrainConfig, load_train_config


def train(config: TrainConfig) -> dict[str, Any]:
    """Run the trainer the config names; return its summary (steps, final loss, checkpoint paths)."""
    if config.trainer == "sft":
        from reasonmill.pipelines.train.sft import train_sft

        return train_sft(config)
    if config.trainer == "dpo":
        from reasonmill.pipelines.train.dpo import train_dpo

        return train_dpo(config)
    from reasonmill.pipelines.train.grpo import train_grpo

    return train_grpo(config)


__all__ = ["TrainConfig", "load_train_config", "train"]
