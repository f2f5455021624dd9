"""Countdown answers: any expression that reaches the target under the puzzle's rules passes.

An exact match against the one expression the generator's search found would under-credit every
other valid solution (Countdown has many). The gold is compact JSON
`{"numbers": [...], "target": T, "expression": "..."}` (the expression is shown in traces); the
candidate expression is parsed with `ast` (numbers, + − × ÷ and parentheses only; anything else is
a mismatch, nothing is executed), and passes when it obeys the rules and its value is T.

The rules are policy (`VerifyPolicy.countdown`, a `CountdownRules`): by default the classic game
our family states — each given number at most once, every intermediate result a positive
integer, no unary minus; `VerifyPolicy(countdown="reasoning_gym")` takes reasoning-gym's
convention — every number exactly once, any intermediate value (fractions, negatives), a unary
minus allowed. Values are exact fractions, so no float tolerance is needed either way.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from fractions import Fraction

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, CountdownRules, Verifier, VerifyPolicy
from reasonmill.verifiers.extract import extract_answer

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class CountdownRuleError(ValueError):
    """The expression breaks a Countdown rule; the message says which."""


def evaluate(expr: str, rules: CountdownRules | None = None) -> tuple[Fraction, list[int]]:
    """Value of a Countdown expression and the numbers it uses; raises `CountdownRuleError`.

    >>> evaluate("(25 - 7) * 6 + 1")
    (Fraction(109, 1), [25, 7, 6, 1])
    >>> evaluate("-3 + 25 / 2 * 2", CountdownRules.reasoning_gym())[0]
    Fraction(22, 1)
    """
    rules = rules or CountdownRules()
    text = (
        expr.replace("×", "*")
        .replace("÷", "/")
        .replace("−", "-")
        .replace("\\times", "*")
        .replace("\\div", "/")
    )
    text = text.replace("\\cdot", "*").replace("\\left", "").replace("\\right", "")
    text = text.replace("\\", "").strip("$ ")
    text = text.split("=")[0].strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CountdownRuleError(f"not an arithmetic expression: {exc.msg}") from None
    used: list[int] = []

    def walk(node: ast.AST) -> Fraction:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            used.append(node.value)
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if not rules.unary_minus:
                raise CountdownRuleError("a unary minus is not allowed")
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            a, b = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div):
                if b == 0:
                    raise CountdownRuleError("division by zero")
                v = a / b
            else:
                v = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}[type(node.op)]
            if (
                rules.positive_intermediates
                and rules.integer_intermediates
                and (v <= 0 or v.denominator != 1)
            ):
                raise CountdownRuleError(f"intermediate result {v} is not a positive integer")
            if rules.positive_intermediates and v <= 0:
                raise CountdownRuleError(f"intermediate result {v} is not positive")
            if rules.integer_intermediates and v.denominator != 1:
                raise CountdownRuleError(f"intermediate result {v} is not an integer")
            return v
        raise CountdownRuleError(
            f"only numbers, + - * / and parentheses are allowed, found {type(node).__name__}"
        )

    return walk(tree.body), used


def countdown_gold(numbers: list[int], target: int, expression: str) -> str:
    """The gold string of a Countdown item (what the family stores and this verifier reads)."""
    return json.dumps({"numbers": numbers, "target": target, "expression": expression}, separators=(",", ":"))


class CountdownVerifier(Verifier):
    """Checks the rules and the value, not the wording of one expression."""

    name = "countdown"
    kinds = ("countdown",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for the expression in `prediction` under `policy.countdown`'s rules."""
        try:
            spec = json.loads(gold)
            numbers, target = Counter(int(n) for n in spec["numbers"]), int(spec["target"])
        except (ValueError, KeyError, TypeError) as exc:
            return self.verdict(False, Reason.UNVERIFIABLE, f"gold is not Countdown JSON: {exc}")
        answer = extract_answer(prediction)
        if answer is None:
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        rules = policy.countdown
        try:
            value, used = evaluate(answer, rules)
        except CountdownRuleError as exc:
            return self.verdict(False, Reason.MISMATCH, f"{answer!r}: {exc}")
        extra = Counter(used) - numbers
        if extra:
            return self.verdict(
                False, Reason.MISMATCH, f"{answer!r} uses numbers not available: {sorted(extra.elements())}"
            )
        if rules.use_all_numbers and Counter(used) != numbers:
            missing = sorted((numbers - Counter(used)).elements())
            return self.verdict(
                False, Reason.MISMATCH, f"{answer!r} does not use every number: {missing} unused"
            )
        if value != target:
            return self.verdict(False, Reason.MISMATCH, f"{answer!r} = {value}, not {target}")
        return self.verdict(True)


VERIFIERS.register(CountdownVerifier.name, CountdownVerifier())
