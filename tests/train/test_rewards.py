"""Rewards on the verifiers: TRL's contract, None only for unverifiable gold, unknown kinds are errors."""

from __future__ import annotations

import time

import pytest

from reasonmill.verifiers.rewards import AccuracyReward, LengthAwareAccuracy, UnknownKindError, format_reward


def conv(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def test_accuracy_on_conversational_completions_and_unverifiable_gold():
    acc = AccuracyReward(workers=1, timeout_s=10)
    out = acc(
        [conv("so \\boxed{4}"), conv("\\boxed{5}"), "no answer here", conv("\\boxed{3}")],
        solution=["4", "4", "4", "\\frac{"],
    )
    assert out == [1.0, 0.0, 0.0, None]
    assert acc(["<answer>Yes</answer>"], solution=["yes"], kind=["exact"]) == [1.0]


def test_unknown_kind_is_an_error_not_silence():
    with pytest.raises(UnknownKindError, match="known kinds"):
        AccuracyReward(workers=1)(["\\boxed{1}"], solution=["1"], kind=["no_such_kind"])
    with pytest.raises(UnknownKindError):
        AccuracyReward(default_kind="bogus")


def test_hostile_completion_cannot_hang_the_reward():
    acc = AccuracyReward(workers=1, timeout_s=2)
    t = time.monotonic()
    out = acc([conv("\\boxed{9^{9^{9^{9^{9^{9}}}}}}"), conv("\\boxed{2}")], solution=["2", "2"])
    assert time.monotonic() - t < 30
    assert out[0] == 0.0 and out[1] == 1.0


def test_format_reward():
    assert format_reward(
        [
            "<think>add them</think> The answer is \\boxed{4}.",
            "<think>add</think><answer>4</answer>",
            "<think>add them</think> four",
            "The answer is \\boxed{4}.",
            "<think></think> \\boxed{4}",
            "<think>a</think><think>b</think>\\boxed{4}",
        ]
    ) == [1.0, 1.0, 0.5, 0.0, 0.0, 0.0]


def test_length_aware_prefers_short_correct_and_punishes_long_wrong():
    r = LengthAwareAccuracy(weight=1.0, workers=1)
    prompts = [[{"role": "user", "content": "q"}]] * 4
    comps = [
        conv("\\boxed{4}"),
        conv("long " * 20 + "\\boxed{4}"),
        conv("\\boxed{5}"),
        conv("long " * 20 + "\\boxed{5}"),
    ]
    out = r(comps, solution=["4"] * 4, prompts=prompts)
    assert out[0] > out[1] > out[2] >= out[3]
    assert out[0] == pytest.approx(1.5) and out[2] == pytest.approx(0.0) and out[3] == pytest.approx(-0.5)
