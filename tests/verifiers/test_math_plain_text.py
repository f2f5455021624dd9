"""Plain-text surds and constants: math-verify alone reads "2 - sqrt(5)" as 2."""

from __future__ import annotations

import pytest

from reasonmill.verifiers import check
from reasonmill.verifiers.math_equivalence import plain_to_latex


@pytest.mark.parametrize(
    ("gold", "prediction", "passed"),
    [
        ("2 - sqrt(3)", "2 - sqrt(5)", False),
        ("2 - sqrt(3)", "The answer is \\boxed{2-\\sqrt{3}}.", True),
        ("2 - sqrt(3)", "\\boxed{2-\\sqrt{5}}", False),
        ("pi/2", "\\boxed{\\frac{\\pi}{2}}", True),
        ("{1 - sqrt(2), 1 + sqrt(2)}", "\\boxed{\\{1+\\sqrt{2}, 1-\\sqrt{2}\\}}", True),
        ("2*sqrt(3)/3", "\\boxed{\\frac{2\\sqrt{3}}{3}}", True),
    ],
)
def test_plain_text_surds(gold, prediction, passed):
    assert check(gold, prediction).passed is passed


def test_plain_to_latex_nests_and_leaves_latex_alone():
    assert plain_to_latex("sqrt(2)+sqrt(sqrt(3))") == "\\sqrt{2}+\\sqrt{\\sqrt{3}}"
    assert plain_to_latex("\\sqrt{2}") == "\\sqrt{2}"
    assert plain_to_latex("x + 1") == "x + 1"
