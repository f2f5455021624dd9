"""`reasonmill train sft|dpo|grpo` end to end on CPU: a small build's corpus, a tiny local model,
checkpoints, a finite loss, resume; the curricula hooked into the real trainers."""

from __future__ import annotations

import json
import math

import pytest
import typer
from typer.testing import CliRunner

from reasonmill.pipelines.train import TrainConfig
from reasonmill.pipelines.train_cmd import train_app

app = typer.Typer()
app.add_typer(train_app, name="train")
runner = CliRunner()
COMMON = ["--batch-size", "4", "--save-steps", "2", "--report-to", "jsonl"]


def run(*args: str):
    res = runner.invoke(app, ["train", *args])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


def summary(out):
    s = json.loads((out / "train_summary.json").read_text())
    assert math.isfinite(s["train_loss"])
    return s


def test_sft_cli_checkpoints_and_resumes(small_build, tiny_model, tmp_path):
    out = tmp_path / "sft"
    run(
        "sft",
        str(small_build),
        "--model",
        str(tiny_model),
        "--out",
        str(out),
        "--max-steps",
        "2",
        *COMMON,
        "--max-length",
        "256",
    )
    assert (out / "checkpoint-2").is_dir() and (out / "final" / "config.json").exists()
    assert summary(out)["steps"] == 2
    logs = [json.loads(line) for line in (out / "logs" / "train_log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logs if "loss" in row] == [1, 2]
    run(
        "sft",
        str(small_build),
        "--model",
        str(tiny_model),
        "--out",
        str(out),
        "--max-steps",
        "3",
        *COMMON,
        "--max-length",
        "256",
        "--resume",
        "latest",
    )
    assert summary(out)["steps"] == 3 and (out / "checkpoint-3").is_dir()
    logs = [json.loads(line) for line in (out / "logs" / "train_log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logs if "loss" in row] == [1, 2, 3]  # resumed at 2, not restarted


def test_dpo_cli_with_explicit_reference(pref_build, tiny_model, tmp_path):
    out = tmp_path / "dpo"
    run(
        "dpo",
        str(pref_build),
        "--model",
        str(tiny_model),
        "--out",
        str(out),
        "--max-steps",
        "2",
        *COMMON,
        "--max-length",
        "256",
    )
    s = summary(out)
    assert s["steps"] == 2 and s["subset"] == "preference" and (out / "checkpoint-2").is_dir()


def test_dpo_on_empty_preference_subset_is_one_clear_line(perfect_teacher_build, tiny_model, tmp_path):
    res = runner.invoke(
        app, ["train", "dpo", str(perfect_teacher_build), "--model", str(tiny_model), "--out", str(tmp_path / "x")]
    )
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "subset 'preference' has 0 rows" in text and "Traceback" not in text


def test_dpo_reference_for_an_in_memory_model(pref_build, tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    from reasonmill.pipelines.train.dpo import build_dpo_trainer

    model = AutoModelForCausalLM.from_config(AutoModelForCausalLM.from_pretrained(tiny_model).config)
    cfg = TrainConfig(
        trainer="dpo",
        corpus=str(pref_build),
        model=str(tiny_model),
        out=str(tmp_path / "d"),
        max_steps=1,
        batch_size=2,
        report_to=[],
    )
    trainer = build_dpo_trainer(cfg, model=model)
    assert trainer.ref_model is not None and trainer.ref_model is not trainer.model
    trainer.train()
    assert math.isfinite(trainer.state.log_history[-1]["train_loss"])


def test_grpo_cli_checkpoints_and_resumes(small_build, tiny_model, tmp_path):
    out = tmp_path / "grpo"
    args = [
        "grpo",
        str(small_build),
        "--model",
        str(tiny_model),
        "--out",
        str(out),
        *COMMON,
        "--num-generations",
        "4",
        "--max-completion-length",
        "16",
        "--limit-rows",
        "16",
    ]
    run(*args, "--max-steps", "2")
    assert summary(out)["steps"] == 2 and (out / "checkpoint-2").is_dir()
    run(*args, "--max-steps", "3", "--resume", "latest")
    assert summary(out)["steps"] == 3


@pytest.fixture
def spread_reward():
    """A reward with spread inside each group (random models earn no verifier reward), so advantages are non-zero."""
    from reasonmill.pipelines.train.rewards import REWARDS

    def length_spread(completions, **kwargs):
        from reasonmill.verifiers.rewards import completion_text

        return [len(completion_text(c)) / 50.0 for c in completions]

    REWARDS.register("test_spread", lambda c: length_spread, replace=True)
    yield "test_spread"


def test_grpo_sec_updates_q_from_the_trainers_advantages(small_build, tiny_model, tmp_path, spread_reward):
    from reasonmill.pipelines.train.grpo import build_grpo_trainer

    cfg = TrainConfig(
        trainer="grpo", corpus=str(small_build), model=str(tiny_model), out=str(tmp_path / "sec"), max_steps=2,
        batch_size=4, num_generations=4, max_completion_length=12, rewards=[spread_reward, "accuracy"],
        curriculum={"name": "sec", "params": {"arms": "source"}}, report_to=[], limit_rows=24,
    )  # fmt: skip
    trainer = build_grpo_trainer(cfg)
    sec = trainer.scheduler
    trainer.train()
    assert len(sec.history) == 2  # one observation per rollout batch
    assert any(v > 0 for v in sec.q.values())  # Q moved by mean |advantage|
    picked = trainer.curriculum_log[0]["rows"]
    assert len(picked) == 1 and all(0 <= i < 24 for i in picked)


def test_grpo_online_filter_trains_on_full_batches(small_build, tiny_model, tmp_path, spread_reward):
    from reasonmill.pipelines.train.grpo import build_grpo_trainer

    cfg = TrainConfig(
        trainer="grpo", corpus=str(small_build), model=str(tiny_model), out=str(tmp_path / "f"), max_steps=1,
        batch_size=8, num_generations=4, max_completion_length=8, rewards=[spread_reward],
        curriculum={"name": "online_filter", "params": {"max_rounds": 1}}, report_to=[], limit_rows=16,
    )  # fmt: skip
    trainer = build_grpo_trainer(cfg)
    trainer.train()
    assert trainer._metrics["train"]["curriculum/filter_rounds"] or trainer.state.log_history
    rows = trainer.curriculum_log[-1]["rows"]
    assert len(rows) == 2  # refilled to the full batch of 8 completions / 4 generations


def test_sft_masked_thought_collator_in_trainer(small_build, tiny_model, tmp_path):
    from reasonmill.pipelines.train.sft import build_sft_trainer

    cfg = TrainConfig(trainer="sft", corpus=str(small_build), model=str(tiny_model), out=str(tmp_path / "mt"), max_steps=3,
                      batch_size=2, curriculum={"name": "masked_thought"}, report_to=[], limit_rows=8)  # fmt: skip
    trainer = build_sft_trainer(cfg)
    assert cfg.subset_name == "prompt_completion"
    trainer.train()
    c = trainer.data_collator
    # p(step) = 0.4·step/2; accelerate collates the next batch one step ahead, so the last batch used p(1) or p(2)
    assert c.total_steps == 3 and c.step == 2 and round(c.last_prob, 6) in (0.2, 0.4)
    assert c.last_masked > 0 and c.last_masked < c.last_response_tokens


def test_sft_mindgym_trains_stages_in_order(small_build, tiny_model, tmp_path):
    from reasonmill.pipelines.train.sft import build_sft_trainer

    cfg = TrainConfig(trainer="sft", corpus=str(small_build), model=str(tiny_model), out=str(tmp_path / "mg"), max_steps=4,
                      batch_size=2, curriculum={"name": "mindgym"}, report_to=[], limit_rows=6)  # fmt: skip
    trainer = build_sft_trainer(cfg)
    stages = trainer.train_dataset["stage"]
    order = [stages[i] for i in trainer._get_train_sampler()]
    assert order == sorted(order) and set(order) == {0, 1, 2, 3} and len(order) == 8
    trainer.train()
    assert trainer.state.global_step == 4
