"""One validated config for `reasonmill train {sft,dpo,grpo}`: a YAML file, then command-line overrides.

Fields are the knobs a user expects (steps, epochs, learning rate, batch size, accumulation, lengths,
LoRA, precision, checkpoints, resume, seed, logging, curriculum, rewards, vLLM); anything else TRL
offers goes in `trl_args`, which the TRL config class validates. Defaults per trainer follow TRL's
(learning rate 2e-5 SFT, 1e-6 DPO and GRPO). Unknown keys are errors naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reasonmill.errors import ConfigError

TRAINERS = ("sft", "dpo", "grpo")
DEFAULT_SUBSET = {"sft": "sft", "dpo": "preference", "grpo": "grpo"}
DEFAULT_LR = {"sft": 2e-5, "dpo": 1e-6, "grpo": 1e-6}


class LoraParams(BaseModel):
    """LoRA through peft (`LoraConfig`)."""

    model_config = ConfigDict(extra="forbid")
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] = "all-linear"


class VLLMParams(BaseModel):
    """GRPO generation with vLLM (TRL's `use_vllm`): colocated in the trainer, or a `trl vllm-serve` server."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["colocate", "server"] = "colocate"
    server_base_url: str | None = None
    server_host: str = "0.0.0.0"
    server_port: int = 8000
    server_timeout: float = 240.0
    gpu_memory_utilization: float = Field(0.3, gt=0.0, le=1.0)
    tensor_parallel_size: int = Field(1, ge=1)
    max_model_length: int | None = None
    enable_sleep_mode: bool = False


class CurriculumSpec(BaseModel):
    """A curriculum by registry name, with its params (defaults from the paper)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class TrainConfig(BaseModel):
    """Everything one training run needs."""

    model_config = ConfigDict(extra="forbid")
    trainer: Literal["sft", "dpo", "grpo"]
    corpus: str = Field(description="a build folder or its corpus/ folder")
    model: str = Field(description="a local model folder or a model name")
    out: str = Field(description="output folder: checkpoints, logs, final model")
    subset: str | None = Field(None, description="corpus subset (default: sft, preference, grpo by trainer)")
    max_steps: int = Field(-1, description="stop after this many optimiser steps (-1: run the epochs)")
    epochs: float = Field(1.0, gt=0)
    learning_rate: float | None = Field(None, gt=0)
    batch_size: int = Field(8, ge=1, description="per-device batch size (GRPO: completions per device)")
    grad_accum: int = Field(1, ge=1)
    max_length: int | None = Field(1024, ge=8, description="SFT/DPO: longest tokenised sequence")
    max_completion_length: int = Field(256, ge=1, description="GRPO: longest generated completion")
    num_generations: int = Field(8, ge=2, description="GRPO: completions per prompt")
    temperature: float = Field(1.0, gt=0, description="GRPO: sampling temperature")
    beta: float | None = Field(None, ge=0, description="KL (GRPO, default 0) or DPO beta (default 0.1)")
    lora: LoraParams | None = None
    bf16: Literal["auto", "true", "false"] | bool = "auto"
    gradient_checkpointing: bool = False
    save_steps: int = Field(50, ge=1)
    save_total_limit: int | None = Field(2, ge=1)
    resume: bool | str = Field(False, description="True: the latest checkpoint in out; or a checkpoint path")
    seed: int = 42
    logging_steps: int = Field(1, ge=1)
    report_to: list[Literal["jsonl", "tensorboard"]] = Field(default_factory=lambda: ["jsonl", "tensorboard"])
    curriculum: CurriculumSpec | None = None
    rewards: list[str] = Field(
        default_factory=lambda: ["accuracy", "format"], description="GRPO reward names"
    )
    reward_weights: list[float] | None = None
    reward_workers: int = Field(2, ge=1)
    reward_timeout_s: float = Field(10.0, gt=0)
    use_vllm: bool = False
    vllm: VLLMParams = Field(default_factory=VLLMParams)
    limit_rows: int | None = Field(None, ge=1, description="use only the first N rows (smoke tests)")
    trl_args: dict[str, Any] = Field(default_factory=dict, description="any other field of the TRL config")

    @property
    def subset_name(self) -> str:
        """The corpus subset this run reads."""
        if self.subset:
            return self.subset
        if self.trainer == "sft" and self.curriculum and self.curriculum.name == "mindgym":
            return "records"  # MindGYM builds its stages from question, trace and answer
        if self.trainer == "sft" and self.curriculum and self.curriculum.name == "masked_thought":
            return (
                "prompt_completion"  # Masked Thought masks response tokens: needs the prompt/response split
            )
        return DEFAULT_SUBSET[self.trainer]

    @property
    def lr(self) -> float:
        """The learning rate (TRL's default per trainer unless set)."""
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LR[self.trainer]


def _validate(data: dict[str, Any]) -> TrainConfig:
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(".".join(str(p) for p in err["loc"]) or "train", err["msg"]) from None


def load_train_config(path: Path | None = None, **overrides: Any) -> TrainConfig:
    """The config from a YAML file (optional) with `overrides` (None values ignored) on top."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(str(path), f"cannot read the train config: {e}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(str(path), "a train config is a YAML mapping")
        data.update(loaded)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return _validate(data)


__all__ = ["TRAINERS", "CurriculumSpec", "LoraParams", "TrainConfig", "VLLMParams", "load_train_config"]
