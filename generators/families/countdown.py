"""Countdown: reach a target by combining some of the given numbers with + − × ÷.

Level sets how many numbers (3, 4, 4, 5, 6), their range (small numbers, then "large" numbers
25/50/75/100 from level 3) and the target range, so the search space and the nodes the solver
expands grow with the level. Each number is used at most once; every intermediate value must be
a positive integer. The target is built from a random combination, so a solution exists.

The solver is a depth-first search over states (the multiset of values left), trying at each
state the pair moves whose result is closest to the target first, and never expanding a state
twice. The gold answer is the expression of the first solution this search finds (deterministic),
written with "*" and "/" and only the parentheses precedence needs. Other valid expressions
exist, so the answer kind is "countdown": the gold is JSON {"numbers", "target", "expression"} and
the countdown verifier accepts any expression that follows the rules and reaches the target; traces
box the expression (`shown_answer`).

Narration: the correct line is told one move at a time. The narrated wrong branches are real
dead ends of the search: moves tried at a state on the correct line whose whole subtree failed,
each told with how many states it took to rule out, then "Wait, this doesn't reach T."
"""

from __future__ import annotations

import json
import random
import re

from reasonmill.generators.base import Family, FamilyParams, SolverRun, detour, finish
from reasonmill.generators.registry import FAMILIES
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


def _rollout(state: list[Item], first: Item, target: int) -> list[Item] | None:
    """The greedy line that starts with move `first` at `state`: closest-to-target moves until one
    value is left. None when it would hit the target (then it is not a dead end)."""
    line = [first]
    items = next(
        (
            [it for k, it in enumerate(state) if k not in (i, j)] + [r]
            for i, j, r in _moves(state, target)
            if r == first
        ),
        None,
    )
    if items is None or first[0] == target:
        return None
    while len(items) > 1:
        moves = _moves(items, target)
        if not moves or moves[0][2][0] == target:
            return None
        i, j, r = moves[0]
        items = [it for k, it in enumerate(items) if k not in (i, j)] + [r]
        line.append(r)
    return line


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
            search = _Search(target)
            if search.run([(n, str(n), 3) for n in sorted(nums)]):
                break
        rng.shuffle(nums)
        answer = search.line[-1][1][1]
        q = f"Using the numbers {', '.join(map(str, nums))} (each at most once) and + - * /, make {target}. Every intermediate result must be a positive integer. Give one expression."
        gold = json.dumps({"numbers": nums, "target": target, "expression": answer}, separators=(",", ":"))
        return Problem(question=q, answer=gold, kind="countdown", meta={"spec": {"numbers": nums, "target": target}})

    def shown_answer(self, problem: Problem) -> str:
        """The expression found by the search (the gold is the verifier's JSON record)."""
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

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        nums, target = problem.meta["spec"]["numbers"], problem.meta["spec"]["target"]
        search = _Search(target)
        search.run([(n, str(n), 3) for n in sorted(nums)])
        path = [
            f"I need {target} from {', '.join(map(str, nums))}. I combine two numbers at a time, trying results close to {target} first."
        ]
        for depth, (_, r) in enumerate(search.line, start=1):
            path.append(f"Step {depth}: {r[1]} = {r[0]}." + (f" That is {target}." if r[0] == target else ""))
        answer = search.line[-1][1][1]
        path.append(f"So {answer} = {target}.")
        # Wrong branches: from a state on the correct line, a different first move followed
        # greedily down to a leaf that misses the target; distinct (depth, first move) pairs.
        options = list(
            dict.fromkeys(
                (d, r)
                for d, (state, good) in enumerate(search.line)
                for _, _, r in _moves(state, target)
                if r[1] != good[1]
            )
        )
        rng.shuffle(options)
        picked: list[tuple[int, list[Item]]] = []
        for d, r in options:
            if len(picked) == backtracks:
                break
            line = _rollout(search.line[d][0], r, target)
            if line is not None:
                picked.append((d, line))
        detours, extra = [], 0
        for d, line in sorted(picked, key=lambda p: p[0]):
            extra += len(line)
            told = ", then ".join(f"{x[1]} = {x[0]}" for x in line)
            detours.append(
                detour(
                    d,
                    f"try {told}.",
                    f"That leaves me at {line[-1][0]} with nothing useful left to combine.",
                    reason=f"this doesn't reach {target}.",
                )
            )
        return finish(path, detours, answer, search.nodes + extra)


FAMILIES.register(Countdown.name, Countdown())
