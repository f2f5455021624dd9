"""reasoning-gym's oracle answers for its numeric and polynomial tasks pass the math kind, in its
own notation (`x**2`, `2.0 + 3.0i`, "-3.625, 0.0", "+ C") and in the LaTeX a model would write;
perturbed answers (one digit changed) fail. reasoning-gym 0.1.25 is a test dependency."""

from __future__ import annotations

import re

import pytest

from reasonmill.verifiers import CheckItem, VerifyPolicy, check_inline

TASKS = [
    "basic_arithmetic",
    "chain_sum",
    "decimal_arithmetic",
    "decimal_chain_sum",
    "products",
    "gcd",
    "lcm",
    "simple_equations",
    "fraction_simplification",
    "dice",
    "coin_flip",
    "power_function",
    "complex_arithmetic",
    "count_bits",
    "count_primes",
    "leg_counting",
    "gsm_symbolic",
    "number_format",
    "prime_factorization",
    "polynomial_multiplication",
    "polynomial_equations",
    "simple_integration",
    "intermediate_integration",
]
P = VerifyPolicy()


def entries(task: str, n: int = 6) -> list[dict]:
    from reasoning_gym import factory

    ds = factory.create_dataset(task, seed=5, size=n)
    return [ds[i] for i in range(n)]


def as_latex(answer: str) -> str | None:
    """The answer as a model would write it in LaTeX (sympy's printer), or None when it is not one
    sympy expression (lists, products written with ×, unevaluated integrals)."""
    import sympy
    from sympy.parsing.sympy_parser import (
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    if "Integral" in answer or "," in answer or "×" in answer:
        return None
    try:
        expr = parse_expr(
            answer.replace("i", "*I")
            if re.fullmatch(r"[-+\d.\s]+i", answer.replace(" ", "")[-1:] and answer)
            else answer,
            transformations=(*standard_transformations, implicit_multiplication_application),
            evaluate=False,
        )
    except Exception:
        return None
    return sympy.latex(expr)


def perturb(answer: str) -> str | None:
    """The answer with its first significant digit changed (None when it has none)."""
    m = re.search(r"[1-9]", answer)
    if m is None:
        return None
    d = str(int(m.group(0)) % 9 + 1)
    return answer[: m.start()] + d + answer[m.end() :]


@pytest.mark.parametrize("task", TASKS)
def test_oracle_answers_pass_and_perturbed_fail(task: str) -> None:
    bad = []
    for e in entries(task):
        gold = str(e["answer"]).strip()
        latex = as_latex(gold)
        preds = [f"The answer is \\boxed{{{gold}}}.", f"<answer>{gold}</answer>"]
        preds += [f"$\\boxed{{{latex}}}$"] if latex and latex != gold else []
        for pred in preds:
            v = check_inline(CheckItem("math", gold, pred), P)
            if not v.passed:
                bad.append(("right", gold, pred, v.reason, v.detail[:100]))
        wrong = perturb(gold)
        if wrong is not None and wrong != gold:
            v = check_inline(CheckItem("math", gold, f"\\boxed{{{wrong}}}"), P)
            if v.passed:
                bad.append(("wrong", gold, wrong, v.reason, v.detail))
    assert not bad, "\n".join(map(repr, bad))
