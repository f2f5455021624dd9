"""Countdown verification checks the rules and the value, not one expression's wording."""

from __future__ import annotations

import pytest

from reasonmill.verifiers import VerifyPolicy, check
from reasonmill.verifiers.countdown import countdown_gold

GOLD = countdown_gold([1, 6, 7, 25, 50], 109, "1 + 6 * (25 - 7)")


@pytest.mark.parametrize(
    ("prediction", "passed", "why"),
    [
        ("The answer is \\boxed{1 + 6 * (25 - 7)}.", True, ""),
        ("\\boxed{(25 - 7) \\times 6 + 1}", True, ""),  # another wording of the same solution
        ("Answer: 50 + 50 + 7 + 1 + 1", False, "not available"),  # 50 and 1 used twice
        ("\\boxed{6 * 7 + 25 + 50 - 8}", False, "not available"),
        ("\\boxed{(7 - 6) / 2 + 108}", False, "positive integer"),
        ("\\boxed{__import__('os').system('true')}", False, "only numbers"),
        ("\\boxed{6 * 7 + 25}", False, "not 109"),
    ],
)
def test_countdown_rules(prediction, passed, why):
    v = check(GOLD, prediction, kind="countdown")
    assert v.passed is passed
    assert why in v.detail


def test_countdown_gold_that_is_not_json_is_unverifiable():
    v = check("1 + 6 * (25 - 7)", "\\boxed{1 + 6 * (25 - 7)}", kind="countdown")
    assert not v.passed and v.reason == "unverifiable"


# reasoning-gym's convention (reasoning_gym/games/countdown.py::score_answer): every number exactly
# once, any intermediate value; its own generator writes answers with a unary minus or a fraction
# on the way, which the classic rules reject.
RG_GOLD = countdown_gold([25, 2, 3, 50], 72, "25*3 - 50/2 + 2*11")


@pytest.mark.parametrize(
    ("prediction", "classic", "rg"),
    [
        ("\\boxed{-3 + 25 + 50}", False, False),  # 2 unused: reasoning-gym needs every number
        ("\\boxed{-2 + 25 * 3 - 50 / 50}", False, False),  # 50 used twice
        ("\\boxed{50 + 25 - 3}", True, False),  # 2 unused
        ("\\boxed{-3 + 50 + 25}", False, False),
        ("\\boxed{(25 / 2) * 3 + 50 - 15.5}", False, False),  # 15.5 is not a given number
        ("\\boxed{3 * (50 / 2) - 25 + 22}", False, False),
    ],
)
def test_countdown_rule_sets_on_invalid_answers(prediction, classic, rg):
    assert check(RG_GOLD, prediction, kind="countdown").passed is classic
    assert (
        check(RG_GOLD, prediction, kind="countdown", policy=VerifyPolicy(countdown="reasoning_gym")).passed
        is rg
    )


def test_reasoning_gym_oracle_answers_pass_under_its_convention():
    from reasoning_gym import factory

    rg = VerifyPolicy(countdown="reasoning_gym")
    ds = factory.create_dataset("countdown", seed=11, size=40)
    rejected_classic = 0
    for entry in ds:
        meta = entry["metadata"]
        gold = countdown_gold(meta["numbers"], meta["target"], entry["answer"])
        assert ds.score_answer(entry["answer"], entry) == 1.0
        assert check(gold, f"\\boxed{{{entry['answer']}}}", kind="countdown", policy=rg).passed, entry[
            "answer"
        ]
        rejected_classic += not check(gold, f"\\boxed{{{entry['answer']}}}", kind="countdown").passed
    assert rejected_classic > 0  # the conventions really differ on reasoning-gym's own answers


def test_unary_minus_and_fractions_under_reasoning_gym_rules():
    gold = countdown_gold([3, 25, 50, 1], 72, "-3 + 25 + 50 * 1")
    rg = VerifyPolicy(countdown="reasoning_gym")
    assert check(gold, "\\boxed{-3 + 25 + 50 * 1}", kind="countdown", policy=rg).passed  # all four used
    v = check(gold, "\\boxed{-3 + 25 + 50 * 1}", kind="countdown")
    assert not v.passed and "unary minus" in v.detail
    gold2 = countdown_gold([3, 5, 2, 10], 20, "")
    assert check(gold2, "\\boxed{(3 / 2) * 10 + 5}", kind="countdown", policy=rg).passed  # 3/2 on the way
    v = check(gold2, "\\boxed{(3 / 2) * 10 + 5}", kind="countdown")
    assert not v.passed and "integer" in v.detail
