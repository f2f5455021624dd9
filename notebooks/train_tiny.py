# %% [markdown]
# # Training on a reasonmill corpus with TRL
#
# A notebook in percent format (open it with jupytext, or run it as a script). It trains a tiny
# randomly initialised Llama (with a tokenizer trained on the corpus, nothing downloaded) for a few
# steps of SFT and of GRPO with the project's verifiers as rewards, then plots the loss and reward
# curves from the JSONL training logs. The test suite runs it on a small build so it cannot rot.
# Point it at a build with `REASONMILL_OUT=out python notebooks/train_tiny.py`; set
# `REASONMILL_MODEL` to train a real model instead of the tiny one.

# %%
import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from reasonmill.pipelines.train import TrainConfig, train
from reasonmill.pipelines.train.tiny import corpus_texts, make_tiny_model

OUT = Path(os.environ.get("REASONMILL_OUT", "out"))
RUNS = OUT / "train_runs"
STEPS = int(os.environ.get("REASONMILL_TRAIN_STEPS", "6"))
model = os.environ.get("REASONMILL_MODEL") or str(make_tiny_model(RUNS / "tiny-model", corpus_texts(OUT)))
print("model:", model)

# %% [markdown]
# ## SFT on the conversational `sft` subset

# %%
sft = train(TrainConfig(trainer="sft", corpus=str(OUT), model=model, out=str(RUNS / "sft"), max_steps=STEPS,
                        batch_size=4, learning_rate=1e-3, max_length=384, save_steps=STEPS, report_to=["jsonl"]))  # fmt: skip
print(f"SFT: {sft['steps']} steps, loss {sft['train_loss']:.3f}, {sft['steps_per_s']:.2f} steps/s")

# %% [markdown]
# ## GRPO on the `grpo` subset, rewards = verifier accuracy + think/answer format

# %%
grpo = train(TrainConfig(trainer="grpo", corpus=str(OUT), model=str(RUNS / "sft" / "final"), out=str(RUNS / "grpo"),
                         max_steps=STEPS, batch_size=4, num_generations=4, max_completion_length=48, learning_rate=1e-4,
                         rewards=["accuracy", "format"], curriculum={"name": "sec"}, save_steps=STEPS,
                         report_to=["jsonl"]))  # fmt: skip
print(f"GRPO: {grpo['steps']} steps, SEC Q = {grpo['curriculum_state']['q']}")

# %% [markdown]
# ## Loss and reward curves


# %%
def log_rows(run: str) -> list[dict]:
    return [json.loads(x) for x in (RUNS / run / "logs" / "train_log.jsonl").read_text().splitlines()]


sft_log = [r for r in log_rows("sft") if "loss" in r]
grpo_log = [r for r in log_rows("grpo") if "reward" in r]
fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
a.plot([r["step"] for r in sft_log], [r["loss"] for r in sft_log], marker="o")
a.set(title="SFT loss", xlabel="step", ylabel="loss")
for key in ("reward", "rewards/accuracy/mean", "rewards/format/mean"):
    b.plot([r["step"] for r in grpo_log], [r.get(key, 0.0) for r in grpo_log], marker="o", label=key)
b.set(title="GRPO reward", xlabel="step", ylabel="mean reward")
b.legend(fontsize=8)
fig.tight_layout()
figures = OUT / "report"
figures.mkdir(exist_ok=True)
fig.savefig(figures / "notebook_training.png", dpi=100)
print(
    f"SFT loss {sft_log[0]['loss']:.3f} -> {sft_log[-1]['loss']:.3f}; plot: {figures / 'notebook_training.png'}"
)
