"""Answer extraction on model outputs written in the styles real models produce."""

from __future__ import annotations

import pytest

from reasonmill.verifiers.extract import extract, extract_answer, extract_choice, last_boxed

# (model output, expected answer, rule that should find it)
OUTPUTS = [
    # R1-style: thinking, then a boxed answer with nested braces
    (
        "<think>\nLet me compute. 3/6 simplifies... wait, I should double-check.\n</think>\n\n"
        "The probability is $\\boxed{\\frac{1}{2}}$.",
        "\\frac{1}{2}",
        "boxed",
    ),
    (
        "So the vertex is at \\boxed{\\left( -\\frac{b}{2a}, c - \\frac{b^2}{4a} \\right)}",
        "\\left( -\\frac{b}{2a}, c - \\frac{b^2}{4a} \\right)",
        "boxed",
    ),
    ("First guess \\boxed{12}, but recounting gives \\boxed{14}.", "14", "boxed"),
    ("Hence $x = \\boxed 5$.", "5", "boxed"),
    ("\\fbox{42}", "42", "boxed"),
    # answer tags
    ("<think>18 + 24 = 42</think>\n<answer> 42 </answer>", "42", "answer_tag"),
    ("<answer>$\\sqrt{3}$.</answer>", "\\sqrt{3}", "answer_tag"),
    # markers
    ("Natalia sold 48/2 = 24 clips in May.\nAltogether 48+24 = 72 clips.\n#### 72", "72", "marker"),
    ("16 - 3 - 4 = <<16-3-4=9>>9 eggs\n9 * 2 = <<9*2=18>>18\nA: 18", "18", "marker"),
    ("Adding everything up gives 7 hours.\n\n**Final Answer:** 7 hours", "7 hours", "marker"),
    ("Therefore, the final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}", "marker"),
    ("The answer is: 1,080.", "1,080", "marker"),
    ("Answer: $-\\dfrac{7}{2}$", "-\\dfrac{7}{2}", "marker"),
    # bare answers
    ("  0.25\n", "0.25", "bare"),
    ("$\\pi/4$", "\\pi/4", "bare"),
    # last number fallback
    (
        "She pays 3 * 12 = 36 dollars for the shirts and 36 + 14 = 50 dollars in total, including the hat and everything else.",
        "50",
        "last_number",
    ),
]


@pytest.mark.parametrize(("text", "answer", "method"), OUTPUTS)
def test_extraction_table(text: str, answer: str, method: str) -> None:
    found = extract(text)
    assert found is not None
    assert (found.answer, found.method) == (answer, method)


NO_ANSWER = [
    None,
    "",
    "   \n ",
    "<think>\nLet me think about the sides of the triangle. If a = 3 then",  # cut off while thinking
    "I am not able to determine this from the information given, sorry about that, truly sorry.",
    "\\boxed{}",
    "\\boxed{\\frac{1}{2",  # cut off inside the box
]


@pytest.mark.parametrize("text", NO_ANSWER)
def test_no_answer_is_none(text: str | None) -> None:
    assert extract_answer(text) is None


def test_answer_after_think_wins_over_boxed_inside_think() -> None:
    text = "<think>maybe \\boxed{3}? no.</think> The answer is \\boxed{4}."
    assert extract_answer(text) == "4"


def test_last_boxed_matches_nested_braces() -> None:
    assert last_boxed("x \\boxed{\\frac{\\sqrt{2}}{2}} y") == "\\frac{\\sqrt{2}}{2}"


CHOICES = [
    ("Comparing all four options, the correct answer is (C).", "C"),
    ("After eliminating A and D, I choose B) 42 because it fits.", "B"),
    ("The answer is B", "B"),
    ("Answer: D", "D"),
    ("$\\boxed{\\text{(E)}}$", "E"),
    ("\\boxed{A}", "A"),
    ("<answer>(b)</answer>", "B"),
    ("Option C matches the data.\n\nThe answer is option C.", "C"),
    ("Final answer: **B**", "B"),
    ("...so the only consistent choice is\n\n(D)", "D"),
]


@pytest.mark.parametrize(("text", "letter"), CHOICES)
def test_choice_table(text: str, letter: str) -> None:
    assert extract_choice(text) == letter


def test_choice_none_when_no_letter_committed() -> None:
    assert extract_choice("Both options seem plausible; I cannot decide between them.") is None
    assert extract_choice("The answer is K", letters="ABCD") is None
