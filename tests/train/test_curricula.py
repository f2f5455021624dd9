"""Each curriculum's rule on synthetic streams with known answers (no model)."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from reasonmill.errors import ConfigError
from reasonmill.pipelines.train.curricula import CURRICULA, curriculum_params
from reasonmill.pipelines.train.curricula.adcl import ADCLParams, ADCLScheduler
from reasonmill.pipelines.train.curricula.bstar import Sample, balance_report, choose_config
from reasonmill.pipelines.train.curricula.filtering import BatchFiller, FilterParams, pass_rates
from reasonmill.pipelines.train.curricula.masked_thought import (
    MaskedThoughtCollator,
    MaskedThoughtParams,
    mask_probability,
)
from reasonmill.pipelines.train.curricula.mindgym import (
    STAGES,
    StageOrderedSampler,
    mindgym_rows,
    split_trace,
)
from reasonmill.pipelines.train.curricula.sec import SECParams, SECScheduler, arm_labels


def test_registry_names_and_paper_defaults():
    assert CURRICULA.names() == ["adcl", "bstar", "masked_thought", "mindgym", "online_filter", "sec"]
    sec = curriculum_params("sec", "grpo")
    assert (sec.alpha, sec.temperature) == (0.5, 1.0)
    assert curriculum_params("adcl", "grpo").chunks == 4
    f = curriculum_params("online_filter", "grpo")
    assert (f.low, f.high) == (0.2, 0.8)
    assert curriculum_params("masked_thought", "sft").max_prob == 0.4
    with pytest.raises(ConfigError, match="temperature"):
        curriculum_params("sec", "grpo", {"temperature": 0.1})
    with pytest.raises(ConfigError, match="applies to sft"):
        curriculum_params("masked_thought", "grpo")


# --- SEC ---------------------------------------------------------------------------------------


def test_sec_td_update_is_alpha_mean_abs_advantage():
    s = SECScheduler(["a", "a", "b"], SECParams(alpha=0.5))
    s.observe([0, 0, 1, 1, 2, 2], [0] * 6, [1.0, -1.0, 0.5, -0.5, 0.2, 0.2], [None] * 6)
    assert s.q == pytest.approx({"a": 0.5 * 0.75, "b": 0.5 * 0.2})
    s.observe([2, 2], [0, 0], [0.6, -0.6], [None, None])
    assert s.q["b"] == pytest.approx(0.5 * 0.6 + 0.5 * 0.1) and s.q["a"] == pytest.approx(0.375)


def test_sec_arm_choice_follows_the_updated_q():
    s = SECScheduler(["easy"] * 10 + ["hard"] * 10, SECParams(temperature=0.4), seed=3)
    assert s.probabilities() == pytest.approx({"easy": 0.5, "hard": 0.5})
    for _ in range(5):  # the hard arm keeps giving large |advantage|, the easy one none
        s.observe([10, 11, 0, 1], [0] * 4, [1.0, -1.0, 0.0, 0.0], [None] * 4)
    p = s.probabilities()
    q = s.q
    assert p["hard"] == pytest.approx(
        math.exp(q["hard"] / 0.4) / (math.exp(q["hard"] / 0.4) + math.exp(q["easy"] / 0.4))
    )
    picks = Counter("hard" if i >= 10 else "easy" for i in s.next_prompts(2000))
    assert picks["hard"] / 2000 == pytest.approx(p["hard"], abs=0.04) and p["hard"] > 0.8


def test_sec_difficulty_bins():
    rows = [{"difficulty": d / 10, "level": 1, "source": "x"} for d in range(9)]
    assert arm_labels(rows, SECParams(bins=3)) == ["bin0"] * 3 + ["bin1"] * 3 + ["bin2"] * 3


# --- ADCL --------------------------------------------------------------------------------------


def test_adcl_chunks_easy_to_hard_and_reestimates_next_chunk_before_training_on_it():
    difficulty = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4]  # sorted: 1,5,3,7,2,4,6,0
    s = ADCLScheduler(difficulty, ADCLParams(chunks=4))
    assert s.chunks == [[1, 5], [3, 7], [2, 4], [6, 0]]
    calls = []
    fresh = {3: 0.9, 7: 0.1, 2: 0.5, 4: 0.6, 6: 0.0, 0: 1.0}  # pass rates now: 7 is harder than 3

    def estimator(idx):
        calls.append(list(idx))
        return [fresh[i] for i in idx]

    s.set_estimator(estimator)
    assert s.next_prompts(2) == [1, 5] and calls == []  # the first chunk uses the stored estimate
    assert s.next_prompts(1) == [3] and calls == [[3, 7]]  # re-estimated on entering chunk 2
    assert s.next_prompts(1) == [7]
    assert s.next_prompts(2) == [4, 2] and calls[-1] == [2, 4]  # 4 passes more: easier, first
    assert s.next_prompts(2) == [0, 6]


# --- online filtering ----------------------------------------------------------------------------


def test_pass_rates_per_group():
    assert pass_rates([1, 0, 1, 1, 0, 0, None, None], 2) == [0.5, 1.0, 0.0, None]


def test_filter_keeps_band_and_refills_to_a_full_batch():
    f = BatchFiller(4, FilterParams())
    f.offer(["a", "b", "c", "d"], [1.0, 0.5, 0.0, 0.25])  # only b, d in [0.2, 0.8]
    assert not f.full and f.missing == 2
    f.offer(["e", "f", "g"], [0.8, 0.9, 0.2])
    assert f.full and f.result() == ["b", "d", "e", "g"]


def test_filter_fills_with_nearest_rejects_when_rounds_run_out():
    f = BatchFiller(3, FilterParams(max_rounds=1))
    f.offer(["a", "b"], [1.0, 0.5])
    f.offer(["c", "d"], [0.0, 0.9])
    assert f.full and f.result() == ["b", "d", "a"] and len(f.result()) == 3


# --- Masked Thought --------------------------------------------------------------------------------


def test_mask_probability_rises_linearly_to_cap_over_two_thirds():
    p = MaskedThoughtParams()
    assert mask_probability(0, 300, p) == 0.0
    assert mask_probability(100, 300, p) == pytest.approx(0.2)
    assert mask_probability(200, 300, p) == pytest.approx(0.4)
    assert mask_probability(299, 300, p) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        MaskedThoughtParams(max_prob=0.5)


def test_masked_thought_masks_only_response_inputs_and_never_labels():
    import torch
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    examples = [
        {"input_ids": list(range(10, 30)), "labels": [-100] * 5 + list(range(15, 30))} for _ in range(8)
    ]
    c = MaskedThoughtCollator(DataCollatorForLanguageModeling(pad_token_id=0), mask_token_id=3, seed=1)
    c.step, c.total_steps = 200, 300  # p = 0.4
    batch = c(examples)
    ref = DataCollatorForLanguageModeling(pad_token_id=0)(examples)
    assert torch.equal(batch["labels"], ref["labels"])  # labels stay the original tokens
    masked = batch["input_ids"] == 3
    assert not masked[:, :5].any()  # prompt tokens never masked
    assert torch.equal(batch["input_ids"][~masked], ref["input_ids"][~masked])
    share = masked[:, 5:].float().mean().item()
    assert 0.3 < share < 0.5 and c.last_prob == pytest.approx(0.4)
    c.step = 0
    assert not (c(examples)["input_ids"] == 3).any()


# --- MindGYM -----------------------------------------------------------------------------------


def test_mindgym_four_stages_in_order():
    rec = {
        "id": "r",
        "question": "Q?",
        "completion": "<think>\nT1\n\nT2\n</think>\n\nThe answer is \\boxed{7}.",
    }
    assert split_trace(rec["completion"]) == ("T1\n\nT2", "The answer is \\boxed{7}.")
    rows = mindgym_rows([rec, {**rec, "id": "s"}])
    assert [r["stage"] for r in rows] == [0, 0, 1, 1, 2, 2, 3, 3] and len(STAGES) == 4
    s1, s2, s3, s4 = rows[0], rows[2], rows[4], rows[6]
    assert (
        "T1" in s1["prompt"][0]["content"] and s1["completion"][0]["content"] == "The answer is \\boxed{7}."
    )
    assert "\\boxed{7}" in s2["prompt"][0]["content"] and "T1" in s2["completion"][0]["content"]
    assert s3["prompt"][0]["content"] == "Q?" and s3["completion"][0]["content"] == rec["completion"]
    assert s4["prompt"][0]["content"] == "Q?" and "T1" not in s4["completion"][0]["content"]
    order = list(StageOrderedSampler([r["stage"] for r in rows] * 3, seed=0))
    stages = [([r["stage"] for r in rows] * 3)[i] for i in order]
    assert stages == sorted(stages)  # never mixed, never out of order
    assert len(list(StageOrderedSampler([0, 1, 2, 3], per_stage=5))) == 20


# --- B-STaR ------------------------------------------------------------------------------------


def test_bstar_balance_score_and_config_choice():
    q1 = [Sample("1", True, 1.0), Sample("2", True, 1.0), Sample("3", False, 1.0), Sample("1", True, 0.0)]
    q2 = [Sample("5", False, 0.0), Sample("6", False, 1.0)]
    rep = balance_report([q1, q2], threshold=0.5, n_star=4)
    assert rep.pass_at_k == 0.5 and rep.distinct_correct == 1.0
    assert rep.reward_precision == pytest.approx(2 / 4)
    # q1: selected 3 (2 correct, 2 distinct) → min(2/4,1)·2/3; q2: selected 1, 0 correct → 0
    assert rep.balance == pytest.approx((0.5 * 2 / 3) / 2)
    diverse = [[Sample(str(i), True, 1.0) for i in range(4)]]
    collapsed = [[Sample("1", True, 1.0)] * 4]
    t, th, best = choose_config({0.7: collapsed, 1.1: diverse}, thresholds=[0.5])
    assert (t, th) == (1.1, 0.5) and best.balance == 1.0
