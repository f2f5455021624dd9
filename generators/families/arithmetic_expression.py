"""Basic arithmetic: evaluate an expression with + − × ÷ and parentheses, by precedence.

Level sets the number of operands (3 up to 7), the operators (+ − at level 1, × from level 2,
exact ÷ from level 4) and parentheses (from level 3), so the solver reduces more operations as
the level rises. The expression is a random binary tree whose values stay integers. The solver
reduces one operation at a time, innermost and highest precedence first (a post-order walk),
rewriting the expression after each step; its wrong branches slip on one reduction, check the
slip with the inverse operation, and go back.
"""

from __future__ import annotations

import random

from reasonmill.generators.base import Family, FamilyParams, SolverRun, detour, finish, spread
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

# (operands, operators, parentheses allowed, operand max) per level
LEVELS = {
    1: (3, "+-", False, 20),
    2: (4, "+-*", False, 20),
    3: (5, "+-*", True, 30),
    4: (6, "+-*/", True, 50),
    5: (7, "+-*/", True, 99),
}
PREC = {"+": 1, "-": 1, "*": 2, "/": 2}
SYM = {"+": "+", "-": "-", "*": "*", "/": "/"}

Node = int | list  # a leaf value, or [op, left, right]


def _apply(op: str, a: int, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a // b


def _value(node: Node) -> int:
    return node if isinstance(node, int) else _apply(node[0], _value(node[1]), _value(node[2]))


def _show(node: Node, parent: int = 0, right: bool = False) -> str:
    """Infix text with only the parentheses precedence needs."""
    if isinstance(node, int):
        return f"({node})" if node < 0 else str(node)
    op, p = node[0], PREC[node[0]]
    text = f"{_show(node[1], p)} {SYM[op]} {_show(node[2], p, True)}"
    return f"({text})" if p < parent or (right and p == parent) else text


def _tree(rng: random.Random, n: int, ops: str, parens: bool, top: int) -> Node:
    """A random expression on `n` operands whose every value is an integer.

    With `parens` the tree shape is random (so parentheses appear); without, a flat token list is
    parsed by precedence, so the text needs none.
    """
    if not parens:
        nums = [rng.randint(1, top) for _ in range(n)]
        signs = [rng.choice(ops) for _ in range(n - 1)]
        terms: list[Node] = [nums[0]]  # products first, then a left-to-right sum
        joins: list[str] = []
        for op, v in zip(signs, nums[1:], strict=True):
            if op == "*":
                terms[-1] = ["*", terms[-1], v]
            else:
                terms.append(v)
                joins.append(op)
        node = terms[0]
        for op, t in zip(joins, terms[1:], strict=True):
            node = [op, node, t]
        return node
    if n == 1:
        return rng.randint(1, top)
    k = rng.randint(1, n - 1)
    left, right = _tree(rng, k, ops, parens, top), _tree(rng, n - k, ops, parens, top)
    op = rng.choice(ops)
    lv, rv = _value(left), _value(right)
    if op == "/" and (rv == 0 or lv % rv):
        op = "*"
    if op == "*" and abs(lv * rv) > 10**5:
        op = "-"
    return [op, left, right]


def _check(op: str, a: int, b: int, slip: int) -> str:
    """The inverse-operation check that exposes a wrong result `slip` of `a op b`."""
    if op == "+":
        return f"Checking with the inverse: {slip} - {b} = {slip - b}, not {a}."
    if op == "-":
        return f"Checking with the inverse: {slip} + {b} = {slip + b}, not {a}."
    if op == "/":
        return f"Checking with the inverse: {slip} * {b} = {slip * b}, not {a}."
    if b == 0:
        return "Checking: anything times 0 is 0."
    if slip % b:
        return f"Checking: {slip} is not a multiple of {b}, so it cannot be {a} * {b}."
    return f"Checking with the inverse: {slip} / {b} = {slip // b}, not {a}."


class ArithmeticExpression(Family):
    """Evaluate an integer expression with the usual order of operations."""

    name = "arithmetic_expression"
    description = "evaluate + − × ÷ expressions with precedence and parentheses"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        n, ops, parens, top = LEVELS[params.level]
        tree = _tree(rng, n, ops, parens, top)
        text = _show(tree)
        return Problem(
            question=f"Evaluate {text}. Give an integer.",
            answer=str(_value(tree)),
            meta={"spec": {"tree": tree}},
        )

    def bridge(self, rng: random.Random, params: FamilyParams, value: int, symbol: str) -> Problem | None:
        """The bridged value replaces the leftmost operand (no ÷, so every value stays an integer)."""
        n, ops, parens, top = LEVELS[params.level]
        tree = _tree(rng, n, ops.replace("/", ""), parens, top)
        node = tree
        if isinstance(node, int):
            return None
        while not isinstance(node[1], int):
            node = node[1]
        node[1] = value
        text = _show(tree).replace(f"({value})" if value < 0 else str(value), symbol, 1)
        return Problem(
            question=f"Evaluate {text}. Give an integer.",
            answer=str(_value(tree)),
            meta={"spec": {"tree": tree}},
        )

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        tree = problem.meta["spec"]["tree"]
        path = [f"The expression is {_show(tree)}. I work innermost first, × and ÷ before + and −."]
        reductions: list[tuple[str, int, int, int]] = []
        work = _copy(tree)
        for node, holder, slot in _postorder(work):
            op, a, b = node
            value = _apply(op, a, b)
            reductions.append((op, a, b, value))
            if holder is None:
                path.append(f"{a} {SYM[op]} {b} = {value}.")
            else:
                holder[slot] = value
                path.append(f"{a} {SYM[op]} {b} = {value}, so the expression becomes {_show(work)}.")
        answer = str(_value(tree))
        path.append(f"The value is {answer}.")

        detours = []
        for k in spread(rng, backtracks, len(reductions)):
            op, a, b, value = reductions[k]
            slip = value + rng.choice([-10, -2, -1, 1, 2, 10]) * (1 + len(detours))
            detours.append(
                detour(
                    k,
                    f"maybe {a} {SYM[op]} {b} is {slip}.",
                    _check(op, a, b, slip),
                    reason=f"{slip} is wrong.",
                )
            )
        return finish(path, detours, answer, len(reductions))


def _copy(node: Node) -> Node:
    return node if isinstance(node, int) else [node[0], _copy(node[1]), _copy(node[2])]


def _postorder(root: Node) -> list[tuple[list, list | None, int]]:
    """Operation nodes in evaluation order, each with its parent and its slot in the parent.

    Evaluating in this order (children first) makes every node's operands plain integers by the
    time it is reached, because the caller writes each value into the parent's slot.
    """
    out: list[tuple[list, list | None, int]] = []

    def walk(node: Node, parent: list | None, slot: int) -> None:
        if isinstance(node, int):
            return
        walk(node[1], node, 1)
        walk(node[2], node, 2)
        out.append((node, parent, slot))

    walk(root, None, 0)
    return out


FAMILIES.register(ArithmeticExpression.name, ArithmeticExpression())
