"""`reasonmill train dpo`: TRL's DPOTrainer on the `preference` subset (chosen = verified, rejected = wrong).

The policy is loaded here (so precision and dtype follow our config), which means TRL cannot build
the reference model from a path: without LoRA the reference is an explicit frozen copy of the
policy taken before training (also right for an in-memory model, which has no path to reload);
with LoRA there is none (TRL disables the adapter to get reference log-probs). Resuming reloads the
base model, so the reference stays the starting policy. An empty preference subset is one clear
error line.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from reasonmill.pipelines.train.common import (
    callbacks,
    finish,
    load_model,
    load_tokenizer,
    peft_config,
    resume_checkpoint,
    trl_config,
)
from reasonmill.pipelines.train.config import TrainConfig
from reasonmill.pipelines.train.data import load_train_dataset


def reference_model(model: Any, config: TrainConfig) -> Any:
    """The explicit DPO reference: a frozen deep copy of `model`, or None with LoRA."""
    if config.lora is not None:
        return None
    ref = copy.deepcopy(model)
    ref.eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref


def build_dpo_trainer(
    config: TrainConfig, model: Any = None, tokenizer: Any = None, dataset: Any = None
) -> Any:
    """The configured DPO trainer; `model` may be an in-memory model (its reference is a copy)."""
    from trl import DPOConfig, DPOTrainer

    ds = (
        dataset
        if dataset is not None
        else load_train_dataset(config.corpus, config.subset_name, config.limit_rows)
    )
    tok = tokenizer or load_tokenizer(config.model)
    model = model if model is not None else load_model(config)
    args = trl_config(
        DPOConfig, config, max_length=config.max_length, beta=0.1 if config.beta is None else config.beta
    )
    return DPOTrainer(
        model=model,
        ref_model=reference_model(model, config),
        args=args,
        train_dataset=ds,
        processing_class=tok,
        peft_config=peft_config(config),
        callbacks=callbacks(config),
    )


def train_dpo(config: TrainConfig) -> dict[str, Any]:
    """Run DPO end to end; return the run summary."""
    started = time.time()
    trainer = build_dpo_trainer(config)
    trainer.train(resume_from_checkpoint=resume_checkpoint(config))
    return finish(trainer, config, started)


__all__ = ["build_dpo_trainer", "reference_model", "train_dpo"]
