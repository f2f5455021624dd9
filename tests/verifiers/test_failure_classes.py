"""One table per failure class of issue 10, written from first principles and from answer styles
real models produce. Where a style comes from is said next to it:

- R1: DeepSeek-R1-style `<think>...</think>` then a boxed answer;
- Qwen: Qwen2.5-Math's prompt "put your final answer within \\boxed{}";
- Llama: Meta's Llama 3 eval prompt, "Therefore, the final answer is: $\\boxed{ANSWER}$. I hope it is correct";
- Minerva: Minerva's "Final Answer: The final answer is X. I hope it is correct.";
- GSM8K: the dataset's "#### n" answer line and its "A:" few-shot style;
- lighteval: its prompts asking for a last line "Answer: $ANSWER";
- multilingual: the answer words multilingual prompts ask for (lighteval's translation literals
  cover the same languages).

All run inline on the main thread (`check_inline`), where the verifier's own deadline works.
"""

from __future__ import annotations

import pytest

from reasonmill.records import Reason
from reasonmill.verifiers import CheckItem, VerifyPolicy, check_inline

P = VerifyPolicy()


def verdict(gold: str, prediction: str, policy: VerifyPolicy = P, kind: str = "math"):
    return check_inline(CheckItem(kind, gold, prediction), policy)


def assert_table(cases: list[tuple[str, str, bool]], policy: VerifyPolicy = P) -> None:
    bad = []
    for gold, pred, ok in cases:
        v = verdict(gold, pred, policy)
        if v.passed is not ok:
            bad.append((gold, pred[-80:], ok, v.reason, v.detail[:120]))
    assert not bad, "\n".join(map(repr, bad))


# 1. Several \boxed{} in a final answer -------------------------------------------------------
BOXES = [
    ("\\{1, 2, 3\\}", "The solutions are \\boxed{1}, \\boxed{2}, \\boxed{3}.", True),
    ("1, 2, 3", "So $x = \\boxed{1}$, $x = \\boxed{2}$ and $x = \\boxed{3}$.", True),
    ("(2, 3)", "Therefore $x = \\boxed{2}$ and $y = \\boxed{3}$.", True),  # Qwen, a coordinate pair
    ("-2, 1", "The roots are $\\boxed{-2}$ and $\\boxed{1}$.", True),
    ("1, 2", "The roots are $\\boxed{1}$ or $\\boxed{3}$.", False),
    # an intermediate box separated by prose is not part of the answer
    ("3", "First I got \\boxed{5}, but that ignores the second case. Redoing it gives \\boxed{3}.", True),
    ("5", "First I got \\boxed{5}, but that ignores the second case. Redoing it gives \\boxed{3}.", False),
    ("12", "<think>maybe \\boxed{11}</think>\nThe area is $\\boxed{12}$.", True),  # R1
    # two boxes that state one value twice
    ("\\frac{3}{2}", "so $d = \\boxed{1\\frac{1}{2}}$, or $\\boxed{\\frac{3}{2}}$ inches.", True),
]


def test_several_boxes_form_one_answer() -> None:
    assert_table(BOXES)


def test_boxed_parts_policy_last() -> None:
    last = VerifyPolicy(boxed_parts="last")
    assert verdict("3", "The solutions are \\boxed{1}, \\boxed{2}, \\boxed{3}.", last).passed
    assert not verdict("1, 2, 3", "The solutions are \\boxed{1}, \\boxed{2}, \\boxed{3}.", last).passed


# 2. Minerva format ---------------------------------------------------------------------------
MINERVA = [
    ("\\frac{3}{4}", "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", True),
    ("1, 2, 3", "Final Answer: The final answer is $1, 2, 3$. I hope it is correct.", True),
    ("(-\\infty, 2]", "Final Answer: The final answer is $(-\\infty,2]$. I hope it is correct.", True),
    ("12, 13", 'Final Answer: The final answer is "$12 $ and $13 $". I hope it is correct.', True),
    ("7", "Final Answer: The final answer is 7. I hope it is correct.", True),
    ("8", "Final Answer: The final answer is 7. I hope it is correct.", False),
    # Llama 3's eval prompt
    ("\\sqrt{2}", "Therefore, the final answer is: $\\boxed{\\sqrt{2}}$. I hope it is correct", True),
]


def test_minerva_format() -> None:
    assert_table(MINERVA)


# 3. Long bare answers and the last-number fallback: never a wrong answer accepted ---------------
STRUCTURED = [
    ("4", "The matrix is \\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", False),
    ("4", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", False),
    ("4", "$\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$", False),
    ("5", "(-\\infty, -3) \\cup (-3, 1) \\cup (1, 5)", False),
    ("5", "The solution set is $(-\\infty, -3) \\cup (-3, 1) \\cup (1, 5)$", False),
    ("3", "Solving the system we get the point (1, 2, 3)", False),
    ("3", "Solving the system we get the point (1, 2, 3).", False),
    ("1", "x^4 - 4x^3 + 6x^2 - 4x + 1", False),
    ("2", "After simplifying, the expression becomes $\\frac{x^2 + 3x + 2}{x + 2}$", False),
    ("2", "So $x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2}$", False),
    # the same structures are read whole, so the right structure passes
    (
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        True,
    ),
    (
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "The matrix is $\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$",
        True,
    ),
    ("(-\\infty,-3)\\cup(-3,1)\\cup(1,5)", "(-\\infty, -3) \\cup (-3, 1) \\cup (1, 5)", True),
    ("(1, 2, 3)", "Solving the system we get the point (1, 2, 3).", True),
    ("(x-1)^4", "x^4 - 4x^3 + 6x^2 - 4x + 1", True),
    # GSM8K-style prose still works through the last number
    (
        "50",
        "She pays 3 * 12 = 36 dollars, and 36 + 14 = 50 dollars in total for everything she bought.",
        True,
    ),
]


def test_structured_answers_never_graded_by_their_last_number() -> None:
    assert_table(STRUCTURED)


def test_no_fallback_for_a_structured_gold() -> None:
    v = verdict("(1, 2)", "I computed many things: 3, then 7, and finally the value was 2 overall")
    assert (v.passed, v.reason) == (False, Reason.NO_ANSWER)


# 4. Number formats -----------------------------------------------------------------------------
NUMBER_FORMATS = [
    ("1000000", "\\boxed{1,\\!000,\\!000}", True),
    ("1000000", "\\boxed{1{,}000{,}000}", True),
    ("1000000", "The answer is 1\u2009000\u2009000.", True),  # thin spaces
    ("1000000", "\\boxed{1\\,000\\,000}", True),
    ("1000000", "\\boxed{1 000 000}", True),
    ("1000001", "\\boxed{1,\\!000,\\!000}", False),
    ("\\frac{3}{2}", "\\boxed{1 1/2}", True),
    ("\\frac{3}{2}", "\\boxed{1\\frac{1}{2}}", True),
    ("\\frac{5}{2}", "\\boxed{1\\frac{1}{2}}", False),
    ("6.02 \\times 10^{23}", "\\boxed{6.02e23}", True),
    ("6.02e23", "\\boxed{6.02 \\times 10^{23}}", True),
    ("6.02e23", "\\boxed{6.03 \\times 10^{23}}", False),
    ("602000000000000000000000", "\\boxed{6.02 \\times 10^{23}}", True),
    ("\\frac{1}{3}", "\\boxed{0.\\overline{3}}", True),
    ("\\frac{1}{6}", "\\boxed{0.1\\overline{6}}", True),
    ("\\frac{1}{3}", "\\boxed{0.\\overline{6}}", False),
    ("\\frac{7}{9}", "$0.\\overline{7}$", True),
    ("1000.99", "1000,99", True),  # a decimal comma against a single number
    ("0.5", "\\boxed{\\frac{1}{2}}", True),
    ("-0.75", "\\boxed{-\\frac{3}{4}}", True),
    ("\\$18.50", "\\boxed{18.5}", True),
]


def test_number_formats() -> None:
    assert_table(NUMBER_FORMATS)


def test_mixed_numbers_policy() -> None:
    assert not verdict("\\frac{3}{2}", "\\boxed{1 1/2}", VerifyPolicy(mixed_numbers=False)).passed


# 5. Big integers compare exactly --------------------------------------------------------------
BIG_INTEGERS = [
    ("3088508208", "\\boxed{3088508209}", False),
    ("3088508208", "\\boxed{3088508208}", True),
    ("3088508208", "\\boxed{3,088,508,208}", True),
    ("10^{12}", "\\boxed{1000000000001}", False),
    ("10^{12}", "\\boxed{1000000000000}", True),
    ("1000000000000", "\\boxed{10^{12} + 1}", False),
    ("1000000000000", "\\boxed{10^{12}}", True),
    ("2^{64}", "\\boxed{18446744073709551617}", False),
    ("2^{64}", "\\boxed{18446744073709551616}", True),
    ("123456789012345678901234567890", "\\boxed{123456789012345678901234567891}", False),
    ("123456789012345678901234567890", "\\boxed{1.2345678901234567890123456789 \\times 10^{29}}", True),
    ("\\frac{1}{3}", "\\boxed{\\frac{333333333}{1000000000}}", False),  # exact rationals, exactly
    ("1", "\\boxed{0.9999999999}", True),  # a decimal within the policy's rel_tol
    ("1" + "0" * 10000, "\\boxed{1" + "0" * 9999 + "1}", False),  # past Python's int-string limit
    ("1" + "0" * 10000, "\\boxed{1" + "0" * 10000 + "}", True),
]


def test_big_integers_compare_exactly() -> None:
    assert_table(BIG_INTEGERS)


def test_base_numerals_are_numbers_in_their_base() -> None:
    # MATH number theory: "52_8"; math-verify drops the subscript, so 52_9 would pass
    assert not verdict("52_8", "\\boxed{52_9}").passed
    assert verdict("52_8", "\\boxed{52_8}").passed
    assert verdict("52_8", "\\boxed{52}").passed  # the subscript left off
    assert not verdict("52_8", "\\boxed{42}").passed
    assert verdict("4210_{5}", "The answer is $4210_5$.").passed


def test_tolerance_never_hides_a_different_integer() -> None:
    loose = VerifyPolicy(rel_tol=0.01)
    assert not verdict("1000", "\\boxed{1001}", loose).passed
    assert verdict("1000", "\\boxed{1000.5}", loose).passed


# 6. `**` is a power, not markdown bold ----------------------------------------------------------
POWERS = [
    ("69y^2", "\\boxed{69*y**2}", True),
    ("69*y**2 - 3*y", "The product is **69*y**2 - 3*y**.", True),  # bold around a power
    ("-896*x**5 + 2240*x**4 + 3584*x**3", "\\boxed{-896x^5 + 2240x^4 + 3584x^3}", True),
    ("-896*x**5 + 2240*x**4 + 3584*x**3", "\\boxed{-896x^5 + 2240x^4 + 3585x^3}", False),
    ("x**2", "\\boxed{x*2}", False),
    ("42", "The answer is **42**.", True),
]


def test_double_star_is_a_power() -> None:
    assert_table(POWERS)


# 7. Sets and solution lists ---------------------------------------------------------------------
SETS = [
    ("\\{(5, 2), (7, 2)\\}", "\\boxed{\\{(7, 2), (5, 2)\\}}", True),
    ("(5, 2), (7, 2)", "\\boxed{(7, 2), (5, 2)}", True),  # a list of pairs is a solution set
    ("(5, 2), (7, 2)", "The solutions are p=5, q=2; p=7, q=2.", True),
    ("(5, 2), (7, 2)", "The solutions are p=5, q=2; p=7, q=3.", False),
    ("21, 16, 11", "\\boxed{21, 16 or 11}", True),
    ("21, 16, 11", "\\boxed{21, 16 or 12}", False),
    ("1, 2", "So $x = 1$ or $x = 2$.\n\nAnswer: $x = 2 \\text{ or } x = 1$", True),
    ("-3, 2", "\\boxed{x=2, x=-3}", True),
    ("\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}", "\\boxed{(1, -2)}", True),
    ("(1, -2)", "\\boxed{\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}}", True),
    ("(1, -2)", "\\boxed{\\begin{pmatrix} -2 \\\\ 1 \\end{pmatrix}}", False),
    ("\\{1, 2, 3\\}", "\\boxed{3, 1, 2}", True),
    ("1, 2, 2", "\\boxed{2, 1, 1}", False),
]


def test_sets_and_solution_lists() -> None:
    assert_table(SETS)


def test_bare_lists_keep_order_unless_the_policy_says() -> None:
    assert not verdict("3, 5", "\\boxed{5, 3}").passed
    assert verdict("3, 5", "\\boxed{5, 3}", VerifyPolicy(unordered_lists=True)).passed
    assert not verdict(
        "(5, 2), (7, 2)", "\\boxed{(7, 2), (5, 2)}", VerifyPolicy(unordered_solutions=False)
    ).passed


def test_vector_as_tuple_policy() -> None:
    strict = VerifyPolicy(vector_as_tuple=False)
    assert not verdict("\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}", "\\boxed{(1, -2)}", strict).passed


# 8. Answer markers in other languages -----------------------------------------------------------
MULTILINGUAL = [
    ("5", "我们计算得到 x = 5。\n答案：5", True),
    ("5", "所以最终答案是 5", True),
    ("12", "Donc, la réponse est 12.", True),
    ("12", "Réponse : 12", True),
    ("\\frac{1}{2}", "Also ist die Antwort $\\frac{1}{2}$.", True),
    ("7", "Die endgültige Antwort lautet 7.", True),
    ("7", "Por lo tanto, la respuesta es 7.", True),
    ("7", "Portanto, a resposta é 7.", True),
    ("9", "Ответ: 9", True),
    ("9", "答え：9", True),
    ("9", "정답: 9", True),
    ("9", "答案：8", False),
    # prose in other scripts: numbers next to CJK characters, bold answers, an answer line with
    # prose around the number (the first number after the marker is the answer, as math-verify's
    # and lighteval's marker rules read it)
    ("15", "小明有7个苹果，又买了8个，所以一共有7 + 8 = 15个苹果。", True),
    ("15", "小明有7个苹果，又买了8个，所以一共有7 + 8 = 16个苹果。", False),
    ("48", "نضرب 6 في 8 فنحصل على 48 لذا، الناتج هو **48**.", True),
    ("340", "Réponse : Paul devra encore 340 € dans 6 mois.", True),
    ("\\frac{3}{7}", "所以比例是 (\\frac{3}{7})。答案：比例是 (\\frac{3}{7})。", True),
]


def test_multilingual_markers() -> None:
    assert_table(MULTILINGUAL)


# 9. Identical prediction and gold ---------------------------------------------------------------
IDENTICAL = [
    "\\text{(C)}",
    "\\emptyset",
    "no solution",
    "all real numbers",
    "\\text{Devon}",
    "x \\in [2, 5)",
    "f(2) < f(1) < f(4)",
    "\\frac{\\sqrt{3}}{2}",
    "Ada=knave, Ben=knight",
]


@pytest.mark.parametrize("text", IDENTICAL)
def test_identical_prediction_and_gold_pass(text: str) -> None:
    assert verdict(text, text).passed


# 10. A gold that is a whole solution ------------------------------------------------------------
GOLD_SOLUTIONS = [
    ("The distance is $\\sqrt{(3-0)^2 + (4-0)^2} = \\boxed{5}$.", "\\boxed{5}", True),
    ("The distance is $\\sqrt{(3-0)^2 + (4-0)^2} = \\boxed{5}$.", "\\boxed{4}", False),
    ("Natalia sold 48/2 = 24 clips in May.\nShe sold 48+24 = 72 clips.\n#### 72", "The answer is 72.", True),
    ("Natalia sold 48/2 = 24 clips in May.\nShe sold 48+24 = 72 clips.\n#### 72", "The answer is 24.", False),
    ("We add the parts.\nAnswer: $\\frac{7}{2}$", "\\boxed{3.5}", True),
]


def test_gold_that_is_a_whole_solution() -> None:
    assert_table(GOLD_SOLUTIONS)


# 11. Symbolic equivalence math-verify misses ----------------------------------------------------
SYMBOLIC = [
    ("\\cos x", "\\boxed{\\sin(90^\\circ - x)}", True),
    ("\\cos x", "\\boxed{\\sin(90^\\circ + x)}", True),
    ("\\cos x", "\\boxed{\\sin(180^\\circ - x)}", False),
    ("1 + 2i", "\\boxed{i(2 - i)}", True),
    ("1 + 2i", "\\boxed{i(2 + i)}", False),
    ("-15.0 + 3.0i", "\\boxed{-15 + 3i}", True),
    ("\\frac{\\sqrt{2}}{2}", "\\boxed{\\sin 45^\\circ}", True),
    ("2\\sqrt{3}", "\\boxed{\\sqrt{12}}", True),
    ("-1", "\\boxed{e^{i\\pi}}", True),
    ("\\emptyset", "\\boxed{\\varnothing}", True),
    ("2t", "\\boxed{2}", False),  # math-verify's unit stripping would read "2t" as 2
    ("x + 2h", "\\boxed{x + 2}", False),
]


def test_symbolic_equivalence() -> None:
    assert_table(SYMBOLIC)


def test_trig_degrees_policy() -> None:
    assert not verdict("\\cos x", "\\boxed{\\sin(90^\\circ - x)}", VerifyPolicy(trig_degrees=False)).passed


# Styles of whole outputs from the model families named above ------------------------------------
STYLES = [
    # R1: long thinking, then a short summary with a box
    (
        "\\frac{14}{3}",
        "<think>\nf(-2) = 2, f(-1) = 5/3 ...\nWait, let me recheck.\n</think>\n\nSumming, $\\boxed{\\frac{14}{3}}$.",
        True,
    ),
    # R1 cut off while thinking: no answer
    ("\\frac{14}{3}", "<think>\nf(-2) = 2, f(-1) = 5/3, and f(0) = ", False),
    # Qwen
    (
        "9",
        "Let's compute step by step.\n129^34 + 96^38 ≡ 9 (mod 11).\n\nTherefore, the final answer is $\\boxed{9}$.",
        True,
    ),
    # Llama 3
    (
        "3\\sqrt{13}",
        "## Step 1: Use the distance formula\n...\n\nTherefore, the final answer is: $\\boxed{3\\sqrt{13}}$. I hope it is correct",
        True,
    ),
    # GSM8K few-shot "A:" and "####"
    ("18", "She sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18.\n#### 18", True),
    ("18", "She sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18.\nA: 18", True),
    # lighteval's "Answer: $ANSWER" last line
    ("\\frac{1}{6}", "There are 36 outcomes and 6 doubles.\nAnswer: $\\frac{1}{6}$", True),
    ("\\frac{1}{6}", "There are 36 outcomes and 6 doubles.\nAnswer: $\\frac{1}{5}$", False),
    # "**Final Answer**" on its own line, answer on the next (R1 distills)
    ("189", "The area is 189.\n\n**Final Answer**\n189", True),
    # answer tags
    ("\\sqrt{3}", "<think>...</think><answer>$\\sqrt{3}$</answer>", True),
]


def test_answer_styles_of_real_models() -> None:
    assert_table(STYLES)
