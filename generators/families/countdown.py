"""Countdown: reach a target by combining some of the given numbers with + − × ÷.

Level sets how many numbers (3, 4, 4, 5, 6), their range (small numbers, then "large" numbers
25/50/75/100 from level 3) and the target range, so the search space and the nodes the solver
expands grow with the level. Each number is used at most once; every intermediate value must be
a positive integer. The target is built from a random combination, so a solution exists.

The gold answer is the expression of the first solution a best-first depth-first search finds
(closest result to the target first, never expanding a multiset of values twice), written with
"*" and "/" and only the parentheses precedence needs. Other valid expressions exist, so the
answer kind is "countdown": the gold is JSON {"numbers", "target", "expression"} and the countdown
verifier accepts any expression that follows the rules and reaches the target; traces box the
expression their own search found (`shown_answer` is the gold one).

Narration (`reasonmill.generators.search`): the solver's depth-first search told as it ran. A
state is the numbers left (with the expression behind each); a move combines two of them. The
backtrack knob sets the policy: move-order noise around closest-to-target first and a patience
after which a first move is abandoned for another (and come back to if all else fails). A dead
end is a state the search entered and left: one number left that is not the target, no
solution anywhere below it (the search explored all of it), or none in the patience it had.
Errors of the fallible teacher: a search stopped at its budget that commits to the closest value
it made, or a misread number.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from reasonmill.generators import search
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun
from reasonmill.generators.registry import FAMILIES
from reasonmill.generators.search import Domain, Node, Policy, ordered
from reasonmill.records import Problem

# (numbers, small range, how many large, target range) per level
LEVELS = {
    1: (3, 10, 0, (10, 60)),
    2: (4, 10, 0, (20, 100)),
    3: (4, 10, 1, (100, 500)),
    4: (5, 10, 1, (100, 999)),
    5: (6, 10, 1, (300, 999)),
}
LARGE = (25, 50, 75, 100)
PREC = {"+": 1, "-": 1, "*": 2, "/": 2}
MAX_NODES = 20_000

Item = tuple[int, str, int]  # (value, expression text, precedence of its top operator; 3 = a number)


def _combine(a: Item, b: Item, op: str) -> Item | None:
    """a op b as a new item, or None when the result is not a positive integer (or trivial)."""
    x, y = a[0], b[0]
    if op == "+":
        v = x + y
    elif op == "-":
        v = x - y
        if v <= 0:
            return None
    elif op == "*":
        if x == 1 or y == 1:
            return None
        v = x * y
    else:
        if y == 1 or x % y:
            return None
        v = x // y
    p = PREC[op]
    left = a[1] if a[2] >= p else f"({a[1]})"
    right = b[1] if b[2] > p or (b[2] == p and op in "+*") else f"({b[1]})"
    return v, f"{left} {op} {right}", p


def _moves(items: list[Item], target: int) -> list[tuple[int, int, Item]]:
    """All (i, j, result) pair moves of a state, closest result to the target first."""
    out = []
    for i in range(len(items)):
        for j in range(len(items)):
            if i == j:
                continue
            for op in "+-*/":
                if op in "+*" and i > j:
                    continue
                r = _combine(items[i], items[j], op)
                if r is not None:
                    out.append((i, j, r))
    out.sort(key=lambda m: (abs(m[2][0] - target), m[2][1]))
    return out


class _Search:
    """Depth-first search with a visited set; records the failed moves along the solution line."""

    def __init__(self, target: int) -> None:
        self.target, self.nodes, self.seen = target, 0, set()
        self.line: list[tuple[list[Item], Item]] = []  # (state, move result) along the solution
        self.dead: list[tuple[int, Item, int]] = []  # (depth, failed move result, states it cost)

    def run(self, items: list[Item]) -> bool:
        """Search from `items`; True once the target is made (the line then holds the solution)."""
        key = tuple(sorted(v for v, _, _ in items))
        if key in self.seen or self.nodes > MAX_NODES:
            return False
        self.seen.add(key)
        self.nodes += 1
        depth = len(self.line)
        for i, j, r in _moves(items, self.target):
            rest = [it for k, it in enumerate(items) if k not in (i, j)] + [r]
            self.line.append((items, r))
            before = self.nodes
            if r[0] == self.target or self.run(rest):
                return True
            self.line.pop()
            if self.nodes > before:
                self.dead.append((depth, r, self.nodes - before))
        return False


STUDENT_BUDGET = 150  # states the offline student may expand
SHOWN_OP = {"+": "+", "-": "-", "*": "×", "/": "÷"}


def _values(state: tuple[Item, ...]) -> str:
    return ", ".join(str(v) for v, _, _ in state)


def _back(depth: int) -> str:
    return "go back to the start" if depth <= 0 else f"go back to step {depth}"


class CountdownDomain(Domain):
    """The numbers left as a state; a move combines two of them (see the module docstring)."""

    unit = "combinations"

    def __init__(self, numbers: list[int], target: int) -> None:
        self.numbers, self.target = list(numbers), target

    def root(self) -> tuple[Item, ...]:
        return tuple((n, str(n), 3) for n in sorted(self.numbers))

    def key(self, state: tuple[Item, ...]) -> tuple[int, ...]:
        return tuple(sorted(v for v, _, _ in state))

    def moves(self, state: Any, rng: random.Random, policy: Policy, bound: float | None) -> Any:
        out = []
        for i, j, op, r in _pair_moves(state):
            rest = tuple(it for k, it in enumerate(state) if k not in (i, j)) + (r,)
            out.append(((state[i][0], op, state[j][0], r[0]), rest))
        scores = [abs(m[0][3] - self.target) + 1e-3 * k for k, m in enumerate(out)]
        return ordered(out, scores, rng, policy.noise)

    def is_goal(self, state: Any) -> bool:
        return any(v == self.target for v, _, _ in state)

    def dead(self, state: Any) -> dict[str, Any] | None:
        if len(state) == 1 and state[0][0] != self.target:
            return {"left": state[0][0]}
        return None

    def encode(self, state: Any) -> Any:
        return [list(it) for it in state]

    def decode(self, data: Any) -> Any:
        return tuple((int(v), str(e), int(p)) for v, e, p in data)

    def encode_move(self, move: Any) -> Any:
        return list(move)

    def intro(self, root: Any) -> list[str]:
        return [
            f"I need {self.target} from {', '.join(map(str, self.numbers))}. I combine two numbers at a time, trying results close to {self.target} first."
        ]

    def enter_text(self, parent: Any, move: Any, child: Any, depth: int, alt: bool, node: Node) -> str:
        x, op, y, r = move
        done = f" That is {self.target}." if r == self.target else f" Left: {_values(child)}."
        body = f"step {depth}: {x} {SHOWN_OP[op]} {y} = {r}.{done}"
        if node.revisit:
            return f"{'Alternatively, back' if alt else 'Back'} to {body[:-1]}, a line I left unfinished."
        return f"Alternatively, {body}" if alt else body[0].upper() + body[1:]

    def fail_text(self, node: Node, parent: Any) -> str:
        back = _back(node.depth - 1)
        if node.outcome == "dead":
            return f"Wait, that leaves only {node.state[0][0]}, not {self.target}. Let me {back}."
        if node.outcome == "exhausted":
            return f"Wait, from {_values(node.state)} nothing makes {self.target}: I tried every way on ({node.nodes} combinations). Let me {back}."
        return f"Hmm, {node.nodes} combinations from {_values(node.state)} and none makes {self.target} yet. I leave this line for now and {back}."

    def short(self, node: Node) -> str:
        x, op, y, r = node.move
        why = (
            f"only {r} left"
            if node.outcome == "dead"
            else f"{node.nodes} combinations, none makes {self.target}"
        )
        return f"{x} {SHOWN_OP[op]} {y} = {r} ({why})"

    def group_text(self, nodes: list[Node], parent: Any, depth: int) -> str:
        return (
            f"Hmm, from {_values(parent)} I also try "
            + "; ".join(self.short(n) for n in nodes)
            + f". None of them reaches {self.target}."
        )

    def conclude(self, goal: Any) -> tuple[str, str]:
        expr = next(e for v, e, _ in goal if v == self.target)
        return f"So {expr} = {self.target}.", expr

    def guess(self, found: search.Search, line: list[Node]) -> tuple[str, str]:
        best: Item | None = None
        stack = [line[0]]
        while stack:
            n = stack.pop()
            stack.extend(n.children)
            for it in n.state:
                if it[2] != 3 and (best is None or abs(it[0] - self.target) < abs(best[0] - self.target)):
                    best = it
        if best is None:
            best = min(line[0].state, key=lambda it: abs(it[0] - self.target))
        return (
            f"I have used my budget of {found.nodes} combinations without making {self.target}. The closest I got is {best[1]} = {best[0]}, so I go with it.",
            best[1],
        )

    def policy(self, backtracks: int) -> Policy:
        if backtracks <= 0:
            return Policy(budget=MAX_NODES * 10)
        return Policy(
            noise=min(1.0, 0.2 * backtracks), patience=max(4, 30 // backtracks), budget=MAX_NODES * 10
        )


def _pair_moves(state: tuple[Item, ...]) -> list[tuple[int, int, str, Item]]:
    """Every (i, j, op, result) pair move of a state (+ and × once per unordered pair)."""
    out = []
    for i in range(len(state)):
        for j in range(len(state)):
            if i == j:
                continue
            for op in "+-*/":
                if op in "+*" and i > j:
                    continue
                r = _combine(state[i], state[j], op)
                if r is not None:
                    out.append((i, j, op, r))
    return out


class Countdown(Family):
    """Make the target from the numbers with + − × ÷, each number at most once."""

    name = "countdown"
    description = "Countdown numbers game (depth-first search with dead ends)"
    answer_kind = "countdown"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        count, small, large, (lo, hi) = LEVELS[params.level]
        while True:
            nums = [rng.choice(LARGE) for _ in range(large)] + [
                rng.randint(1, small) for _ in range(count - large)
            ]
            items: list[Item] = [(n, str(n), 3) for n in nums]
            while len(items) > 1:  # a random combination of the numbers gives the target
                i, j = rng.sample(range(len(items)), 2)
                r = _combine(items[i], items[j], rng.choice("+-**/"))
                if r is None:
                    continue
                items = [it for k, it in enumerate(items) if k not in (i, j)] + [r]
                if lo <= r[0] <= hi and rng.random() < 0.5:
                    break
            target = items[-1][0]
            if not lo <= target <= hi or target in nums:
                continue
            found = _Search(target)
            if found.run([(n, str(n), 3) for n in sorted(nums)]):
                break
        rng.shuffle(nums)
        answer = found.line[-1][1][1]
        q = f"Using the numbers {', '.join(map(str, nums))} (each at most once) and + - * /, make {target}. Every intermediate result must be a positive integer. Give one expression."
        gold = json.dumps({"numbers": nums, "target": target, "expression": answer}, separators=(",", ":"))
        return Problem(
            question=q, answer=gold, kind="countdown", meta={"spec": {"numbers": nums, "target": target}}
        )

    def shown_answer(self, problem: Problem) -> str:
        """The expression found by the best-first search (the gold is the verifier's JSON record)."""
        return json.loads(problem.answer)["expression"]

    def perturb(self, problem: Problem, rng: random.Random) -> str:
        """The found expression with one number changed: it misses the target or uses a number
        that was not given."""
        expr = self.shown_answer(problem)
        nums = re.findall(r"\d+", expr)
        k = rng.randrange(len(nums))
        parts = re.split(r"(\d+)", expr)
        idx = [i for i, p in enumerate(parts) if p.isdigit()][k]
        parts[idx] = str(int(parts[idx]) + rng.choice([1, 2, 3]))
        return "".join(parts)

    @staticmethod
    def domain(problem: Problem) -> CountdownDomain:
        """The search domain of a problem's spec."""
        return CountdownDomain(problem.meta["spec"]["numbers"], problem.meta["spec"]["target"])

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        dom = self.domain(problem)
        return search.solve(dom, dom.policy(backtracks), rng)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Errors: "budget": the same search stopped before it found a solution, committing to the
        closest value it made; "misread": one number read as another, solved as read."""
        dom = self.domain(problem)
        spec = problem.meta["spec"]

        def misread() -> SolverRun:
            nums = list(spec["numbers"])
            k = rng.randrange(len(nums))
            nums[k] = nums[k] + rng.choice([-1, 1]) if nums[k] > 1 else nums[k] + 1
            heard = CountdownDomain(nums, spec["target"])
            run = search.solve(heard, heard.policy(backtracks), rng)
            run.meta["misread"] = {"numbers": nums}
            return run

        makers = {
            "budget": lambda: search.stopped_early(
                lambda p, r: search.solve(dom, p, r), dom.policy(backtracks), rng
            ),
            "misread": misread,
        }
        return search.first_error(
            kinds, makers, lambda run: not _valid(run.answer, spec["numbers"], spec["target"])
        )

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return search.resume(
            self.domain(problem), records, rng, Policy(noise=0.5, budget=budget or MAX_NODES)
        )

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """A depth-first search with a random move order and a budget of `STUDENT_BUDGET` states."""
        dom = self.domain(problem)
        run = search.solve(dom, Policy(noise=1.0, budget=STUDENT_BUDGET), rng)
        return run.answer, run.nodes


def _valid(expr: str, numbers: list[int], target: int) -> bool:
    """True when `expr` uses only the given numbers (each at most once) and makes `target`."""
    import ast
    from collections import Counter
    from fractions import Fraction

    used = [int(t) for t in re.findall(r"\d+", expr)]
    if Counter(used) - Counter(numbers):
        return False

    def ev(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant):
            return Fraction(node.value)
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            ops = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}
            if isinstance(node.op, ast.Div):
                return a / b
            return ops[type(node.op)]
        raise ValueError(expr)

    try:
        return ev(ast.parse(expr, mode="eval").body) == target
    except (SyntaxError, ValueError, ZeroDivisionError, KeyError):
        return False


FAMILIES.register(Countdown.name, Countdown())
