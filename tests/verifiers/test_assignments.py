"""Knights-and-knaves answers (kind "exact", gold "Ada=knave, Ben=knight, Cal=knight") in the
wordings models use: our trace's box, a bare sentence with no tags (the usual chat answer),
markdown lists, grouped roles; reasoning along the way never counts."""

from __future__ import annotations

import pytest

from reasonmill.records import Reason
from reasonmill.verifiers import CheckItem, VerifyPolicy, check_inline

GOLD = "Ada=knave, Ben=knight, Cal=knight"


def verdict(prediction: str):
    return check_inline(CheckItem("exact", GOLD, prediction), VerifyPolicy())


@pytest.mark.parametrize(
    ("prediction", "passed"),
    [
        ("Ada is a knave, Ben is a knight, and Cal is a knight.", True),
        ("Cal is a knight, Ada is a knave, and Ben is a knight.", True),
        ("Ben and Cal are knights, while Ada is a knave.", True),
        ("- **Ada**: knave\n- **Ben**: knight\n- **Cal**: knight", True),
        (
            "<think>If Ada is a knight then Ben lies...</think>\nAda is a knave, Ben is a knight, Cal is a knight.",
            True,
        ),
        ("The answer is \\boxed{Ada=knave, Ben=knight, Cal=knight}.", True),
        ("<answer>Ben=knight, Cal=knight, Ada=knave</answer>", True),
        (
            "Suppose Ada is a knight. Then Ben is a knave, a contradiction.\n\n"
            "So Ada is a knave, Ben is a knight, and Cal is a knight.",
            True,
        ),
        ("Ada is a knight, Ben is a knight, and Cal is a knight.", False),
        ("Ada is a knave, Ben is a knave, and Cal is a knight.", False),
        (
            "Suppose Ada is a knave, Ben a knight and Cal a knight.\n\nThat fails, so Ada is a knight, Ben is a knight, Cal is a knave.",
            False,
        ),
    ],
)
def test_knights_and_knaves_wordings(prediction: str, passed: bool) -> None:
    v = verdict(prediction)
    assert v.passed is passed, v
    if not passed:
        assert v.reason == Reason.MISMATCH


def test_an_answer_missing_someone_is_no_answer() -> None:
    assert verdict("Ada is a knave and Ben is a knight.").reason == Reason.NO_ANSWER
    assert verdict("I cannot tell who is who.").reason == Reason.NO_ANSWER
