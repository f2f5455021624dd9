"""Math equivalence: gold first, fast paths, math-verify, every policy switch, distinct reasons.

Run inline (`check_inline`) on the main thread, where the cascade's own deadline works.
"""

from __future__ import annotations

import pytest

from reasonmill.records import Reason
from reasonmill.verifiers import CheckItem, VerifyPolicy, check_inline
from reasonmill.verifiers.math_equivalence import MathTimeout, deadline, equivalent
from reasonmill.verifiers.numbers import read_number, split_list

P = VerifyPolicy()


def verdict(gold: str, prediction: str | None, policy: VerifyPolicy = P, kind: str = "math"):
    return check_inline(CheckItem(kind, gold, prediction), policy)


# (gold, model output, equivalent?)
EQUIVALENT = [
    # fractions, decimals, percentages
    ("\\frac{1}{2}", "So the probability is $\\boxed{0.5}$.", True),
    ("0.5", "The answer is \\boxed{\\dfrac{1}{2}}", True),
    ("\\frac{3}{4}", "Final answer: 6/8", True),
    ("\\frac{2}{3}", "\\boxed{0.67}", False),
    ("50\\%", "The answer is 50%", True),
    # integers with separators, currency, units
    ("1080", "Total cost: \\$1,080.00\n#### 1080", True),
    ("18", "She makes 9 * 2 = $18 every day.\nA: $18", True),
    ("12", "The rectangle's width is \\boxed{12\\text{ cm}}", True),
    ("90^\\circ", "\\boxed{90}", True),
    ("17", "\\boxed{71}", False),
    # radicals and expressions
    ("\\frac{\\sqrt{2}}{2}", "\\boxed{\\frac{1}{\\sqrt{2}}}", True),
    ("2\\sqrt{3}", "\\boxed{\\sqrt{12}}", True),
    ("x^2 + 2x + 1", "Expanding, we get \\boxed{(x+1)^2}", True),
    ("x^2 + 2x + 1", "\\boxed{(x-1)^2}", False),
    ("3\\pi", "\\boxed{3\\pi}", True),
    # intervals, sets, tuples, matrices, equations
    ("[2, 5)", "The solution set is \\boxed{[2,5)}", True),
    ("[2, 5)", "\\boxed{(2, 5]}", False),
    ("(-\\infty, 3]", "\\boxed{(-\\infty, 3]}", True),
    ("\\{1, 2, 3\\}", "\\boxed{\\{3, 2, 1\\}}", True),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "In polar form: \\boxed{(3, \\frac{\\pi}{2})}", True),
    ("(3, \\frac{\\pi}{2})", "\\boxed{(\\frac{\\pi}{2}, 3)}", False),
    ("\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}", "\\boxed{\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}}", True),
    (
        "\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}",
        "\\boxed{\\begin{pmatrix} -2 \\\\ 1 \\end{pmatrix}}",
        False,
    ),
    # found by the audit: "pmatrix" once read as prose, so the matrix became its last number
    (
        "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}",
        "\\boxed{\\begin{pmatrix}-2\\\\-14\\\\-7\\end{pmatrix}}",
        True,
    ),
    (
        "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}",
        "\\boxed{\\begin{pmatrix}-2\\\\-14\\\\7\\end{pmatrix}}",
        False,
    ),
    ("y = 2x + 3", "The line is \\boxed{y = 2x + 3}", True),
    ("5", "\\boxed{x = 5}", True),
    # bare lists keep their order by default
    ("3, 5", "The roots are \\boxed{3, 5}", True),
    ("3, 5", "\\boxed{5, 3}", False),
    # strings math-verify reads as symbols
    ("\\text{Evelyn}", "\\boxed{\\text{Evelyn}}", True),
]


@pytest.mark.parametrize(("gold", "output", "ok"), EQUIVALENT)
def test_equivalence_table(gold: str, output: str, ok: bool) -> None:
    v = verdict(gold, output)
    assert v.passed is ok, v
    if not ok:
        assert v.reason == Reason.MISMATCH


def test_gold_first_is_not_symmetric_for_assignments() -> None:
    # math-verify unwraps the prediction's assignment; the reasons stay mismatch either way.
    assert verdict("x = 5", "\\boxed{5}").passed
    assert not verdict("5", "\\boxed{x = 6}").passed


def test_distinct_reasons() -> None:
    assert (
        verdict("18", "I could not solve it, sorry about that, it is just too hard.").reason
        == Reason.NO_ANSWER
    )
    assert verdict("18", "<think>Let me set up the equation. If each egg").reason == Reason.NO_ANSWER
    assert verdict("18", "\\boxed{19}").reason == Reason.MISMATCH
    assert verdict("\\frac{1}{", "\\boxed{2}").reason == Reason.UNVERIFIABLE
    # an unreadable gold is unverifiable even against itself
    assert verdict("\\frac{1}{", "\\frac{1}{").reason == Reason.UNVERIFIABLE
    assert verdict("x", "x", kind="free_form").reason == Reason.UNVERIFIABLE


def test_deadline_raises_a_base_exception_that_except_exception_cannot_swallow() -> None:
    import time

    with pytest.raises(MathTimeout):
        with deadline(0.05):
            try:
                time.sleep(1)
            except Exception:  # what math-verify does internally
                pytest.fail("MathTimeout must not be an Exception")
    assert not issubclass(MathTimeout, Exception)


# --- policy switches ------------------------------------------------------------------------------


def test_policy_tolerance() -> None:
    assert not verdict("3.14159", "\\boxed{3.1416}").passed
    assert verdict("3.14159", "\\boxed{3.1416}", VerifyPolicy(rel_tol=1e-4)).passed
    assert verdict("100", "\\boxed{100.4}", VerifyPolicy(rel_tol=0, abs_tol=0.5)).passed
    assert not verdict("100", "\\boxed{100.6}", VerifyPolicy(rel_tol=0, abs_tol=0.5)).passed
    assert not verdict("1", "\\boxed{1.0000000001}", VerifyPolicy(rel_tol=0)).passed


@pytest.mark.parametrize(
    ("mode", "as_fraction", "as_number"),
    [("either", True, True), ("fraction", True, False), ("number", False, True)],
)
def test_policy_percent(mode: str, as_fraction: bool, as_number: bool) -> None:
    policy = VerifyPolicy(percent=mode)
    assert verdict("0.25", "The rate is \\boxed{25\\%}", policy).passed is as_fraction
    assert verdict("25", "The rate is \\boxed{25\\%}", policy).passed is as_number


def test_policy_units() -> None:
    keep = VerifyPolicy(strip_units=False)
    assert verdict("12", "\\boxed{12 \\text{ cm}}").passed
    assert not verdict("12", "\\boxed{12 \\text{ cm}}", keep).passed
    assert verdict("12 \\text{ cm}", "\\boxed{12\\text{ cm}}", keep).passed
    assert not verdict("12 \\text{ cm}", "\\boxed{12\\text{ m}}", keep).passed
    assert verdict("5 dollars", "Answer: 5 dollar", keep).passed


def test_policy_list_order() -> None:
    assert not verdict("1, 2, 3", "\\boxed{3, 1, 2}").passed
    unordered = VerifyPolicy(unordered_lists=True)
    assert verdict("1, 2, 3", "\\boxed{3, 1, 2}", unordered).passed
    assert not verdict("1, 2, 2", "\\boxed{1, 1, 2}", unordered).passed  # a permutation, not a set
    assert not verdict("1, 2, 3", "\\boxed{3, 1}", unordered).passed


def test_math_words_after_a_number_are_not_units() -> None:
    assert not verdict("2", "\\boxed{2pi}").passed
    assert not verdict("3", "The answer is 3 x").passed
    assert read_number("2pi", P) is None and read_number("5 m", P).unit == "m"


def test_policy_thousands_separators() -> None:
    assert verdict("1234", "\\boxed{1,234}").passed
    off = VerifyPolicy(thousands_separators=False)
    assert not verdict("1234", "\\boxed{1,234}", off).passed
    assert verdict("1, 234", "\\boxed{1,234}", off).passed
    assert split_list("1,234", off) == ["1", "234"]
    assert read_number("1,234", off) is None


def test_policy_float_rounding_reaches_math_verify() -> None:
    # the non-plain path: math-verify compares after rounding to `float_rounding` digits
    assert verdict("\\frac{\\pi}{10}", "\\boxed{0.314159}").passed
    assert not verdict("\\frac{\\pi}{10}", "\\boxed{0.314159}", VerifyPolicy(float_rounding=8)).passed


def test_policy_case_sensitivity() -> None:
    assert verdict("Paris", "The answer is paris", kind="exact").passed
    assert not verdict("Paris", "The answer is paris", VerifyPolicy(case_sensitive=True), kind="exact").passed


def test_policy_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="percent_sign"):
        VerifyPolicy(percent_sign=True)  # type: ignore[call-arg]


def test_equivalent_is_the_bare_cascade() -> None:
    assert equivalent("\\frac{1}{2}", "0.5", P)
    assert not equivalent("\\frac{1}{2}", "0.25", P)


def test_policy_math_timeout_turns_a_runaway_answer_into_a_timeout_verdict() -> None:
    import time

    start = time.monotonic()
    v = verdict("1", "The answer is \\boxed{9^{9^{9^{9}}}}", VerifyPolicy(math_timeout_s=1))
    assert (v.passed, v.reason) == (False, Reason.TIMEOUT)
    assert time.monotonic() - start < 5
