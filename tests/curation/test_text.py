"""Text keys: normalisation, shingles, and the numbers a question states."""

from __future__ import annotations

import pytest

from reasonmill.pipelines.curation.text import normalise, numbers, shingles, text_key, words


def test_normalise_and_exact_key_ignore_case_spacing_and_unicode_width():
    assert normalise("  Find  THE\tvalue ") == "find the value"
    assert text_key("Ｆind x") == text_key("find   X")
    assert text_key("find x") != text_key("find y")


def test_words_and_shingles():
    assert words("Let $f(x)=3x^2$.") == ["let", "f", "x", "3x", "2"]
    assert shingles("a b c d", 3) == ["a b c", "b c d"]
    assert shingles("a b", 3) == ["a b"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She has 16 eggs and eats three.", {"16", "3"}),
        ("It costs $2.50, or 2.5 dollars; 1,000 of them.", {"2.5", "1000"}),
        ("twenty-five boxes, three hundred and forty pens", {"25", "340"}),
        ("two thousand five hundred", {"2500"}),
        ("a seventh-degree polynomial with a dozen roots", {"7", "12"}),
        ("one of the boxes", set()),  # "one" is left out: a pronoun as often as a number
        ("the numbers 1,2,3", {"1", "2", "3"}),
        ("three four", {"3", "4"}),
    ],
)
def test_numbers(text, expected):
    assert numbers(text) == expected


def test_digits_and_words_are_the_same_number():
    assert numbers("Janet's ducks lay 16 eggs; she eats 3") == numbers(
        "Janet's ducks lay sixteen eggs; she eats three"
    )
