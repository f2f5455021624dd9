"""Countdown answers: any expression that reaches the target under the puzzle's rules passes.

An exact match against the one expression the generator's search found would under-credit every
other valid solution (Countdown has many). The gold is compact JSON
`{"numbers": [...], "target": T, "expression": "..."}` (the expression is shown in traces); the
candidate expression is parsed with `ast` (numbers, + − × ÷ and parentheses only; anything else is
a mismatch, nothing is executed), and passes when it uses each given number at most once, every
intermediate result is a positive integer (the rule the question states), and its value is T.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from fractions import Fraction

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.extract import extract_answer

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class CountdownRuleError(ValueError):
    """The expression breaks a Countdown rule; the message says which."""


def evaluate(expr: str) -> tuple[Fraction, list[int]]:
    """Value of a Countdown expression and the numbers it uses; raises `CountdownRuleError`.

    >>> evaluate("(25 - 7) * 6 + 1")
    (Fraction(109, 1), [25, 7, 6, 1])
    """
    text = expr.replace("×", "*").replace("÷", "/").replace("−", "-").replace("\\times", "*").replace("\\div", "/")
    text = text.split("=")[0].strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CountdownRuleError(f"not an arithmetic expression: {exc.msg}") from None
    used: list[int] = []

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            used.append(node.value)
            return Fraction(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            a, b = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div):
                if b == 0:
                    raise CountdownRuleError("division by zero")
                v = a / b
            else:
                v = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}[type(node.op)]
            if v <= 0 or v.denominator != 1:
                raise CountdownRuleError(f"intermediate result {v} is not a positive integer")
            return v
        raise CountdownRuleError(f"only numbers, + - * / and parentheses are allowed, found {type(node).__name__}")

    return walk(tree.body), used


def countdown_gold(numbers: list[int], target: int, expression: str) -> str:
    """The gold string of a Countdown item (what the family stores and this verifier reads)."""
    return json.dumps({"numbers": numbers, "target": target, "expression": expression}, separators=(",", ":"))


class CountdownVerifier(Verifier):
    """Checks the rules and the value, not the wording of one expression."""

    name = "countdown"
    kinds = ("countdown",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        try:
            spec = json.loads(gold)
            numbers, target = Counter(int(n) for n in spec["numbers"]), int(spec["target"])
        except (ValueError, KeyError, TypeError) as exc:
            return self.verdict(False, Reason.UNVERIFIABLE, f"gold is not Countdown JSON: {exc}")
        answer = extract_answer(prediction)
        if answer is None:
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        try:
            value, used = evaluate(answer)
        except CountdownRuleError as exc:
            return self.verdict(False, Reason.MISMATCH, f"{answer!r}: {exc}")
        extra = Counter(used) - numbers
        if extra:
            return self.verdict(False, Reason.MISMATCH, f"{answer!r} uses numbers not available: {sorted(extra.elements())}")
        if value != target:
            return self.verdict(False, Reason.MISMATCH, f"{answer!r} = {value}, not {target}")
        return self.verdict(True)


VERIFIERS.register(CountdownVerifier.name, CountdownVerifier())
