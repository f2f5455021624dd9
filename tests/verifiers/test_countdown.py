"""Countdown verification checks the rules and the value, not one expression's wording."""

from __future__ import annotations

import pytest

from reasonmill.verifiers import check
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
