"""What every trainer shares: model loading, LoRA, precision, TRL config fields, logging, checkpoints.

- The model is a local folder or a model name (`from_pretrained` either way); the tokenizer gets a
  pad token (EOS) when it has none.
- Precision: bf16 when the device has it ("auto"), else float32; on a machine without CUDA the
  trainer runs on CPU (`use_cpu`).
- Logs: TRL's console progress, plus `OUT/logs/train_log.jsonl` (one JSON object per logging step)
  and TensorBoard under `OUT/logs/tensorboard` when the package is installed.
- Checkpoints: `OUT/checkpoint-N` every `save_steps`; `resume: true` continues from the newest one.
  The final model (or adapter) goes to `OUT/final`, and `OUT/train_summary.json` records the run.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from reasonmill.errors import ReasonmillError
from reasonmill.pipelines.train.config import TrainConfig
from reasonmill.shards import atomic_write_json


def bf16_enabled(config: TrainConfig) -> bool:
    """Whether to train in bf16: as set, or ("auto") when a CUDA device supports it."""
    import torch

    if config.bf16 in (True, "true"):
        return True
    if config.bf16 in (False, "false"):
        return False
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def load_tokenizer(model: str) -> Any:
    """The model's tokenizer, with a pad token."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if getattr(tok, "chat_template", None) is None:
        raise ReasonmillError(f"{model}: the tokenizer has no chat template; the corpus is conversational")
    return tok


def load_model(config: TrainConfig) -> Any:
    """The causal LM to train, in bf16 when enabled, else float32."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if bf16_enabled(config) else torch.float32
    try:
        return AutoModelForCausalLM.from_pretrained(config.model, dtype=dtype)
    except OSError as e:
        raise ReasonmillError(f"model {config.model!r}: cannot load ({e})") from None


def peft_config(config: TrainConfig) -> Any:
    """A peft `LoraConfig` when LoRA is on, else None."""
    if config.lora is None:
        return None
    try:
        from peft import LoraConfig
    except ImportError:
        raise ReasonmillError("LoRA needs peft: pip install 'reasonmill[train]'") from None
    return LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type="CAUSAL_LM",
    )


def tensorboard_available() -> bool:
    """True when the tensorboard package can be imported."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def common_args(config: TrainConfig) -> dict[str, Any]:
    """The TrainingArguments fields every TRL config takes, from our config."""
    import torch

    out = Path(config.out)
    report = ["tensorboard"] if "tensorboard" in config.report_to and tensorboard_available() else []
    if report:
        os.environ["TENSORBOARD_LOGGING_DIR"] = str(out / "logs" / "tensorboard")
    args = {
        "output_dir": str(out),
        "max_steps": config.max_steps,
        "num_train_epochs": config.epochs,
        "learning_rate": config.lr,
        "per_device_train_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.grad_accum,
        "bf16": bf16_enabled(config),
        "fp16": False,
        "use_cpu": not torch.cuda.is_available(),
        "gradient_checkpointing": config.gradient_checkpointing,
        "save_strategy": "steps",
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit,
        "seed": config.seed,
        "data_seed": config.seed,
        "logging_steps": config.logging_steps,
        "report_to": report or "none",
        "dataloader_num_workers": 0,
        "disable_tqdm": False,
    }
    return args


def trl_config(cls: type, config: TrainConfig, **fields: Any) -> Any:
    """Build a TRL config class from common args, trainer fields and `trl_args` (which win)."""
    kwargs = {**common_args(config), **fields, **config.trl_args}
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ReasonmillError(f"trl_args: {e}") from None


def resume_checkpoint(config: TrainConfig) -> str | None:
    """The checkpoint to resume from: None, the newest `checkpoint-N` in out, or the given path."""
    if config.resume in (False, "false", None, ""):
        return None
    if config.resume in (True, "true", "latest"):
        from transformers.trainer_utils import get_last_checkpoint

        out = Path(config.out)
        last = get_last_checkpoint(str(out)) if out.is_dir() else None
        if last is None:
            raise ReasonmillError(f"--resume: no checkpoint-N folder in {out}")
        return last
    path = Path(str(config.resume))
    if not path.is_dir():
        raise ReasonmillError(f"--resume: {path} is not a checkpoint folder")
    return str(path)


def jsonl_callback(path: Path) -> Any:
    """A TrainerCallback appending every log dict (with step and time) to a JSONL file."""
    from transformers import TrainerCallback

    class JsonlLogger(TrainerCallback):
        """Writes each logging step to `path` as one JSON line."""

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any
        ) -> None:
            if not logs or not state.is_world_process_zero:
                return
            row = {"step": state.global_step, "epoch": state.epoch, "time": time.time()}
            row.update(
                {k: v for k, v in logs.items() if isinstance(v, int | float | str | bool) or v is None}
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as fh:
                fh.write(json.dumps(row) + "\n")

    return JsonlLogger()


def callbacks(config: TrainConfig) -> list[Any]:
    """Callbacks every trainer gets (JSONL logging when asked for)."""
    if "jsonl" in config.report_to:
        return [jsonl_callback(Path(config.out) / "logs" / "train_log.jsonl")]
    return []


def finish(
    trainer: Any, config: TrainConfig, started: float, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Save the final model, write `train_summary.json`, return the summary; a non-finite loss is an error."""
    out = Path(config.out)
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h]
    final = (
        history[-1].get("train_loss")
        if history and "train_loss" in history[-1]
        else (losses[-1] if losses else None)
    )
    trainer.save_model(str(out / "final"))
    summary = {
        "trainer": config.trainer,
        "model": config.model,
        "corpus": config.corpus,
        "subset": config.subset_name,
        "steps": trainer.state.global_step,
        "train_loss": final,
        "last_logged_loss": losses[-1] if losses else None,
        "seconds": round(time.time() - started, 3),
        "steps_per_s": round(trainer.state.global_step / max(1e-9, time.time() - started), 4),
        "checkpoints": sorted(str(p) for p in out.glob("checkpoint-*")),
        "final": str(out / "final"),
        "curriculum": config.curriculum.name if config.curriculum else None,
        **(extra or {}),
    }
    atomic_write_json(out / "train_summary.json", summary)
    if final is None or not math.isfinite(float(final)):
        raise ReasonmillError(f"{config.trainer}: training loss is not finite ({final}); see {out / 'logs'}")
    return summary


__all__ = [
    "bf16_enabled",
    "callbacks",
    "common_args",
    "finish",
    "load_model",
    "load_tokenizer",
    "peft_config",
    "resume_checkpoint",
    "trl_config",
]
