"""`reasonmill train sft`: TRL's SFTTrainer on the corpus, optionally with Masked Thought or MindGYM.

- Plain SFT reads the conversational `sft` subset (`messages`): loss on every token.
- Masked Thought reads `prompt_completion` (loss on the response only) and wraps TRL's collator so
  a rising share of response *input* tokens is masked; labels stay the original tokens.
- MindGYM builds its four stages from the `records` subset and trains them in order through an
  ordered train sampler (`CurriculumSFTTrainer._get_train_sampler`).
"""

from __future__ import annotations

import math
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
from reasonmill.pipelines.train.curricula import curriculum_params
from reasonmill.pipelines.train.data import load_rows, load_train_dataset


def _trainer_class() -> type:
    from trl import SFTTrainer

    class CurriculumSFTTrainer(SFTTrainer):
        """SFTTrainer whose train sampler can be replaced (MindGYM's stage order)."""

        stage_sampler: Any = None

        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            if self.stage_sampler is not None:
                return self.stage_sampler
            return super()._get_train_sampler(train_dataset)

    return CurriculumSFTTrainer


def build_sft_trainer(config: TrainConfig, model: Any = None, tokenizer: Any = None) -> Any:
    """The configured SFT trainer (model and tokenizer loaded from `config.model` unless given)."""
    from datasets import Dataset
    from trl import SFTConfig

    from reasonmill.pipelines.train.curricula.masked_thought import MaskedThoughtCollator, step_callback
    from reasonmill.pipelines.train.curricula.mindgym import StageOrderedSampler, mindgym_rows

    tok = tokenizer or load_tokenizer(config.model)
    model = model if model is not None else load_model(config)
    cur = config.curriculum
    params = curriculum_params(cur.name, "sft", cur.params) if cur else None
    if cur and cur.name == "mindgym":
        ds = Dataset.from_list(mindgym_rows(load_rows(config.corpus, "records", config.limit_rows), params))
    else:
        ds = load_train_dataset(config.corpus, config.subset_name, config.limit_rows)
    args = trl_config(
        SFTConfig,
        config,
        max_length=config.max_length,
        shuffle_dataset=not (cur and cur.name == "mindgym"),
        dataset_num_proc=None,
    )
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=ds,
        processing_class=tok,
        peft_config=peft_config(config),
        callbacks=callbacks(config),
    )
    if cur and cur.name == "masked_thought":
        mask_id = params.mask_token_id
        if mask_id is None:
            mask_id = tok.unk_token_id if tok.unk_token_id is not None else tok.pad_token_id
        collator = MaskedThoughtCollator(trainer.data_collator, mask_id, params, config.seed)
        trainer.data_collator = collator
        trainer.add_callback(step_callback(collator))
    if cur and cur.name == "mindgym":
        stages = trainer.train_dataset["stage"]
        per_stage = None
        if config.max_steps > 0:
            world = args.world_size
            per_stage = math.ceil(
                config.max_steps * config.batch_size * config.grad_accum * world / len(set(stages))
            )
        trainer.stage_sampler = StageOrderedSampler(stages, per_stage, config.seed)
    return trainer


def train_sft(config: TrainConfig) -> dict[str, Any]:
    """Run SFT end to end; return the run summary."""
    started = time.time()
    trainer = build_sft_trainer(config)
    trainer.train(resume_from_checkpoint=resume_checkpoint(config))
    return finish(trainer, config, started)


__all__ = ["build_sft_trainer", "train_sft"]
