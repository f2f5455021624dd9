"""Basic arithmetic: evaluate an expression with + − × ÷ and parentheses, by precedence.

Level sets the number of operands (3 up to 7), the operators (+ − at level 1, × from level 2,
exact ÷ from level 4) and parentheses (from level 3), so the solver reduces more operations as
the level rises. The expression is a random binary tree whose values stay integers. The solver
reduces one operation at a time, innermost and highest precedence first (a post-order walk),
rewriting the expression after each step (`ExpressionMachine`, `reasonmill.generators.calc`).
With the backtrack knob it really slips on a reduction now and then, and its inverse-operation
check catches the slip at once; the fallible teacher slips once and does not check.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from reasonmill.generators import calc
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun, canon
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

    def rebridge(self, spec: dict[str, Any], value: str) -> dict[str, Any] | None:
        """The bridged value is the leftmost operand."""
        try:
            v = Fraction(value)
        except (ValueError, ZeroDivisionError):
            return None
        if v.denominator != 1 or isinstance(spec["tree"], int):
            return None
        tree = _copy(spec["tree"])
        node = tree
        while not isinstance(node[1], int):
            node = node[1]
        node[1] = int(v)
        return {**spec, "tree": tree}

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        return calc.run(
            ExpressionMachine(problem.meta["spec"]["tree"]), rng, slip_rate(backtracks), max_slips=backtracks
        )

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Error "slip": one reduction computed wrongly and not checked."""
        return calc.slipped(ExpressionMachine(problem.meta["spec"]["tree"]), rng) if "slip" in kinds else None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return calc.resume(ExpressionMachine(problem.meta["spec"]["tree"]), records, rng)

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Every reduction by hand, slipping with `STUDENT_SLIP` per digit operation, no checks."""
        run = calc.run(
            ExpressionMachine(problem.meta["spec"]["tree"]), rng, checks=False, student=STUDENT_SLIP
        )
        return run.answer, run.nodes


STUDENT_SLIP = 0.03  # the offline student's slip probability per digit operation


def slip_rate(backtracks: int) -> float:
    """The teacher's slip probability per reduction for a backtrack knob value."""
    return min(0.5, 0.1 * backtracks)


def _num(v: int | Fraction) -> str:
    text = str(v) if type(v) is int else canon(v)
    return f"({text})" if v < 0 or (type(v) is not int and v.denominator != 1) else text


def _shown(
    node: Node, values: dict[int, Fraction], ids: dict[int, int], parent: int = 0, right: bool = False
) -> str:
    """Infix text of `node` with every reduced operation replaced by the value written for it."""
    if isinstance(node, int):
        return f"({node})" if node < 0 else str(node)
    j = ids[id(node)]
    if j in values:
        return _num(values[j])
    op, p = node[0], PREC[node[0]]
    text = f"{_shown(node[1], values, ids, p)} {SYM[op]} {_shown(node[2], values, ids, p, True)}"
    return f"({text})" if p < parent or (right and p == parent) else text


class ExpressionMachine(calc.Machine):
    """Reduce the operations innermost first (post-order), each checked by its inverse."""

    def __init__(self, tree: Node) -> None:
        self.tree = tree
        self.order = [n for n, _, _ in _postorder(tree)]
        self.ids = {id(n): j for j, n in enumerate(self.order)}

    def start(self) -> dict[str, Any]:
        return {"done": []}

    def intro(self) -> str:
        return f"The expression is {_show(self.tree)}. I work innermost first, × and ÷ before + and −."

    def _value(self, node: Node, done: list[Any]) -> int | Fraction:
        if isinstance(node, int):
            return node
        v = done[self.ids[id(node)]]
        return v if type(v) is int else calc.frac(v)

    def next_op(self, env: dict[str, Any]) -> calc.Op | None:
        done = env["done"]
        j = len(done)
        if j >= len(self.order):
            return None
        op, left, right = self.order[j]
        a, b = self._value(left, done), self._value(right, done)
        ints = type(a) is int and type(b) is int and (op != "/" or (b and a % b == 0))
        if ints:
            exact: int | Fraction = (
                a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a // b
            )
        else:  # after an uncaught slip: exact fractions
            fa, fb = Fraction(a), Fraction(b)
            exact = (
                fa + fb
                if op == "+"
                else fa - fb
                if op == "-"
                else fa * fb
                if op == "*"
                else (fa / fb if fb else Fraction(0))
            )
            exact = int(exact) if exact.denominator == 1 else exact
        value: Any = exact if type(exact) is int else canon(exact)
        last = j == len(self.order) - 1

        def text(v: Any) -> str:
            head = f"{_num(a)} {SYM[op]} {_num(b)} = {v}"
            if last:
                return head + "."
            values = {k: calc.frac(x) for k, x in enumerate(done)}
            values[j] = calc.frac(v)
            return f"{head}, so the expression becomes {_shown(self.tree, values, self.ids)}."

        return calc.Op(
            value=value,
            text=text,
            apply=lambda env, v: {"done": [*env["done"], v]},
            check=(lambda v: _check(op, a, b, v)) if ints else None,
            slip=(lambda rng: calc.nudge(rng, exact)) if ints else None,
            work=calc.digits(a) * calc.digits(b) if op in "*/" else calc.digits(a, b),
            label=f"{_num(a)} {SYM[op]} {_num(b)}",
        )

    def conclude(self, env: dict[str, Any]) -> tuple[str, str]:
        v = str(env["done"][-1])
        return f"The value is {v}.", v


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
