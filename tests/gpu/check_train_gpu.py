"""GPU check for `reasonmill train` (not run in CI): a real architecture, random weights, no download.

    timeout 1500 python tests/gpu/check_train_gpu.py --out /tmp/gpu-check --sft-steps 300 --grpo-steps 100

Builds a small corpus, writes a randomly initialised model with Qwen3-0.6B's architecture (config
inline; the vocabulary is the size of a BPE tokenizer trained on the corpus, since the real Qwen
tokenizer cannot be downloaded here), trains SFT then GRPO (vLLM colocated when vllm imports, else
transformers generation), and writes `OUT/gpu_train.json` with steps/s, tokens/s and peak GPU memory
per trainer. `--time-budget` caps each trainer's wall time (TRL stops at the next step). On a
machine without CUDA it still runs (tiny steps) so the script itself can be checked on CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

QWEN3_0_6B = {  # Qwen/Qwen3-0.6B config.json (architecture only)
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 40960,
    "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
    "hidden_act": "silu",
}
BUILD = {
    "name": "gpu-check",
    "shard_rows": 200,
    "seeds": [
        {"generator": "arithmetic_chain", "count": 300},
        {"generator": "linear_equation", "count": 300},
    ],
    "distill": {"samples": 2},
}


def make_model(path: Path, corpus: Path, tiny: bool) -> Path:
    """Tokenizer trained on the corpus + a random Qwen3-0.6B-shaped model (tiny: 2 layers, for CPU dry runs)."""
    import torch
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    from reasonmill.pipelines.train.tiny import corpus_texts, make_tiny_model

    make_tiny_model(
        path, corpus_texts(corpus), vocab_size=4096
    )  # writes the tokenizer (and a throwaway Llama)
    tok = AutoTokenizer.from_pretrained(path)
    arch = dict(QWEN3_0_6B)
    if tiny:
        arch.update(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=16,
        )
    cfg = Qwen3Config(
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        **arch,
    )
    torch.manual_seed(0)
    for f in path.glob("model*.safetensors"):
        f.unlink()
    Qwen3ForCausalLM(cfg).to(torch.bfloat16 if torch.cuda.is_available() else torch.float32).save_pretrained(
        path
    )
    return path


def budget_callback(seconds: float):
    """Stop training at the next step once `seconds` have passed."""
    from transformers import TrainerCallback

    class Budget(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            self.t = time.time()

        def on_step_end(self, args, state, control, **kw):
            if time.time() - self.t > seconds:
                control.should_training_stop = True

    return Budget()


def run(trainer_name: str, cfg, budget: float) -> dict:
    """Train one trainer; return throughput and memory."""
    import torch

    from reasonmill.pipelines.train.grpo import build_grpo_trainer
    from reasonmill.pipelines.train.sft import build_sft_trainer

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer = (build_sft_trainer if trainer_name == "sft" else build_grpo_trainer)(cfg)
    trainer.add_callback(budget_callback(budget))
    t = time.time()
    trainer.train()
    wall = time.time() - t
    logs = trainer.state.log_history
    tokens = max((h.get("num_tokens", 0) for h in logs), default=0)
    steps = trainer.state.global_step
    return {
        "steps": steps,
        "seconds": round(wall, 1),
        "steps_per_s": round(steps / wall, 4),
        "tokens_per_s": round(tokens / wall, 1) if tokens else None,
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if torch.cuda.is_available()
        else None,
        "final_loss": next((h["train_loss"] for h in reversed(logs) if "train_loss" in h), None),
        "use_vllm": bool(getattr(cfg, "use_vllm", False)),
    }


def main() -> None:
    """Build, make the model, train SFT and GRPO, write the JSON report."""
    import torch

    from reasonmill.config import validate_config
    from reasonmill.pipelines.runner import build
    from reasonmill.pipelines.train import TrainConfig

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/gpu-train-check"))
    ap.add_argument("--sft-steps", type=int, default=300)
    ap.add_argument("--grpo-steps", type=int, default=100)
    ap.add_argument("--time-budget", type=float, default=420.0, help="seconds per trainer")
    ap.add_argument("--no-vllm", action="store_true")
    a = ap.parse_args()
    cuda = torch.cuda.is_available()
    a.out.mkdir(parents=True, exist_ok=True)
    corpus = a.out / "build"
    build(validate_config(BUILD), corpus)
    model = make_model(a.out / "model", corpus, tiny=not cuda)
    try:
        import vllm  # noqa: F401

        have_vllm = cuda and not a.no_vllm
    except ImportError:
        have_vllm = False
    common = {
        "corpus": str(corpus),
        "model": str(model),
        "report_to": ["jsonl"],
        "save_steps": 10_000,
        "bf16": "auto",
    }
    report = {
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "architecture": "Qwen3-0.6B (random weights)" if cuda else "Qwen3 tiny (CPU dry run)",
    }
    sft = TrainConfig(trainer="sft", out=str(a.out / "sft"), max_steps=a.sft_steps if cuda else 2, batch_size=16 if cuda else 2,
                      max_length=1024, learning_rate=1e-4, **common)  # fmt: skip
    report["sft"] = run("sft", sft, a.time_budget)
    print("sft", report["sft"], flush=True)
    grpo = TrainConfig(trainer="grpo", out=str(a.out / "grpo"), max_steps=a.grpo_steps if cuda else 2, batch_size=16 if cuda else 4,
                       num_generations=8 if cuda else 4, max_completion_length=256 if cuda else 16, learning_rate=1e-6,
                       use_vllm=have_vllm, vllm={"mode": "colocate", "gpu_memory_utilization": 0.3}, **common)  # fmt: skip
    report["grpo"] = run("grpo", grpo, a.time_budget)
    print("grpo", report["grpo"], flush=True)
    (a.out / "gpu_train.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
