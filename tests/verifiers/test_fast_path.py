"""The fast paths give the slow path's verdict: proof that they are shortcuts, not other rules.

`equivalent(gold, answer, policy)` decides plain numbers as exact rationals and equal strings
without parsing; `equivalent(..., fast=False)` sends the same pair through math-verify's parse and
verify with the fixes on top. Over a generated grid of number formats models write (integers,
decimals, fractions, mixed numbers, separators, scientific notation, repeating decimals,
percentages, currency, LaTeX units, big integers) and the right and wrong answers built from each
gold, both must agree on every pair, under several policies.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from reasonmill.verifiers import VerifyPolicy
from reasonmill.verifiers.math_equivalence import equivalent, grade_fast


def renderings(v: Fraction, rng: random.Random) -> list[str]:
    """Ways a model may write the value `v`."""
    out = []
    if v.denominator == 1:
        n = int(v)
        out += [str(n), f"{n}.0", f"{n:,}", f"{n:,}".replace(",", "{,}"), f"\\frac{{{2 * n}}}{{2}}"]
        if abs(n) >= 1000:
            out += [f"{n:,}".replace(",", ",\\!"), f"{n:.3e}".replace("e+0", "e").replace("e+", "e")]
    else:
        out += [f"\\frac{{{v.numerator}}}{{{v.denominator}}}", f"{v.numerator}/{v.denominator}"]
        out += [f"\\dfrac{{{v.numerator}}}{{{v.denominator}}}"]
        if 10**6 % v.denominator == 0:
            out.append(str(float(v)))
        whole, rest = divmod(abs(v.numerator), v.denominator)
        if whole and v > 0:
            out.append(f"{whole}\\frac{{{rest}}}{{{v.denominator}}}")
    if v == Fraction(1, 3):
        out += ["0.\\overline{3}", "0.3333", "0.333333333333"]
    rng.shuffle(out)
    return out[:4]


def wrong(v: Fraction) -> list[Fraction]:
    return [v + 1, -v if v else Fraction(1), v * 10, v + Fraction(1, 1000)]


VALUES = [Fraction(x) for x in (0, 7, -12, 100, 1080, 3088508208, 10**12, 123456789)] + [
    Fraction(1, 2),
    Fraction(-3, 4),
    Fraction(1, 3),
    Fraction(5, 2),
    Fraction(7, 8),
]


def pairs() -> list[tuple[str, str]]:
    rng = random.Random(7)
    out = []
    for v in VALUES:
        golds = renderings(v, rng)[:2]
        for g in golds:
            for a in renderings(v, rng):
                out.append((g, a))
            for w in wrong(v):
                out.append((g, renderings(w, rng)[0]))
    # percentages, currency, units, assignments, scientific notation
    out += [
        ("50\\%", "50"),
        ("50\\%", "0.5"),
        ("0.25", "25\\%"),
        ("25", "25\\%"),
        ("\\$18.50", "18.5"),
        ("18.5", "\\$18.50"),
        ("12", "12\\text{ cm}"),
        ("12\\text{ cm}", "12"),
        ("12\\text{ cm}", "13\\text{ cm}"),
        ("5", "x = 5"),
        ("5", "x = 6"),
        ("6.02 \\times 10^{23}", "6.02e23"),
        ("6.02 \\times 10^{23}", "6.03e23"),
        ("10^{12}", "1000000000000"),
        ("10^{12}", "1000000000001"),
        ("3.14159", "3.1416"),
        ("1", "0.9999999999"),
        ("1", "1.0000000001"),
    ]
    return out


POLICIES = [
    VerifyPolicy(),
    VerifyPolicy(percent="fraction"),
    VerifyPolicy(percent="number"),
    VerifyPolicy(rel_tol=1e-4),
    VerifyPolicy(rel_tol=0, abs_tol=0.5),
    VerifyPolicy(strip_units=False),
]


@pytest.mark.parametrize(
    "policy",
    POLICIES,
    ids=lambda p: p.model_dump_json(include={"percent", "rel_tol", "abs_tol", "strip_units"}),
)
def test_fast_path_gives_the_slow_paths_verdict(policy: VerifyPolicy) -> None:
    disagree = []
    decided = 0
    for gold, answer in pairs():
        if grade_fast(gold, answer, policy) is None:
            continue
        decided += 1
        fast, slow = equivalent(gold, answer, policy), equivalent(gold, answer, policy, fast=False)
        if fast != slow:
            disagree.append((gold, answer, fast, slow))
    assert decided > 100
    assert not disagree, disagree


def test_string_fast_path_agrees_on_identical_normalised_strings() -> None:
    policy = VerifyPolicy()
    for text in (
        "\\frac{\\sqrt{3}}{2}",
        "[2, 5)",
        "x^2 + 1",
        "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
        "\\pi",
    ):
        for variant in (text, f" {text} ", f"{text}."):
            assert equivalent(text, variant, policy) == equivalent(text, variant, policy, fast=False) is True
