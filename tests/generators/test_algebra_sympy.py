"""The algebra families' gold answers agree with sympy solving the same spec independently."""

from __future__ import annotations

import pytest
import sympy as sp

from reasonmill.generators import FAMILIES
from reasonmill.rng import item_rng

X = sp.Symbol("x")


def _side(side: list) -> sp.Expr:
    out = sp.Integer(0)
    for t in side:
        if t[0] == "x":
            out += sp.Rational(t[1]) * X
        elif t[0] == "1":
            out += sp.Rational(t[1])
        else:
            out += sp.Rational(t[1]) * (sp.Rational(t[2]) * X + sp.Rational(t[3]))
    return out


def _sympy_answer(name: str, spec: dict) -> object:
    if name == "linear_equation":
        return sp.solve(sp.Eq(_side(spec["lhs"]), _side(spec["rhs"])), X)[0]
    if name in ("quadratic_equation", "polynomial_roots"):
        poly = sp.Poly([sp.Integer(c) for c in spec["coeffs"]], X)
        return set(sp.roots(poly, filter="Q"))
    if name == "linear_system":
        names = sp.symbols(spec["vars"])
        eqs = [
            sp.Eq(sum(sp.Integer(c) * v for c, v in zip(row, names, strict=True)), sp.Integer(r))
            for row, r in zip(spec["A"], spec["b"], strict=True)
        ]
        sol = sp.solve(eqs, names, dict=True)
        assert len(sol) == 1, "the system must have exactly one solution"
        return tuple(sol[0][v] for v in names)
    raise AssertionError(name)


@pytest.mark.parametrize(
    "name", ["linear_equation", "quadratic_equation", "linear_system", "polynomial_roots"]
)
@pytest.mark.parametrize("level", [1, 3, 5])
def test_gold_matches_sympy(name: str, level: int) -> None:
    assert name in FAMILIES, f"{name} is not registered"
    fam = FAMILIES.get(name)
    for i in range(6):
        p = fam.generate(item_rng(name, 4, i), fam.params({"level": level}))
        expected = _sympy_answer(name, p.meta["spec"])
        gold = sp.sympify(
            p.answer.replace("{", "FiniteSet(").replace("}", ")") if p.answer.startswith("{") else p.answer
        )
        if isinstance(expected, set):
            assert set(gold) == expected, (p.question, p.answer)
        else:
            assert gold == expected, (p.question, p.answer)
