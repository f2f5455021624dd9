"""Every narrated dead end is a state the search visited and abandoned, in visiting order, and
every claim about it is true.

For 1,050 items of the search families (countdown, knights and knaves, sudoku, zebra, shortest
path, quadratic and polynomial roots; levels 1–5, backtracks by level as the default build), the
trace's step records (`trace.meta["steps"]`, one per paragraph) are replayed with this file's own
checkers, written from the puzzles' rules and not from the families' code:

* each state entered is a legal successor of the state it was entered from (a legal Countdown
  combination, one more islander decided, a candidate placed and only consistent digits added, a
  house guessed inside its domain, an edge of the graph, a rational-root candidate tried);
* no state is left without a closing claim (only a branch-and-bound route, a success, is);
* each claim is checked independently: a named contradiction holds; "nothing makes the target",
  "no choice for the others works", "every way on fails" mean no solution exists from that state
  (brute force); "nothing through this route beats B" means no completion is cheaper than B and B
  is the best route told so far; a candidate said not to be a root evaluates to the value told;
  a premature switch ("gave_up") claims nothing about the rest of the branch;
* each narrated state appears in the search's own visit log (`run.meta["visits"]`), after the one
  narrated before it (visiting order).

On the narration before this test existed (no step records, detours drawn from moves the search
never made) it fails at the first item; measured on that code by text, 35.8% of 2,000 narrated
dead ends on 1,000 items were visited states with true claims.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
from collections import Counter
from fractions import Fraction
from functools import lru_cache
from typing import Any

import pytest

from reasonmill.generators import FAMILIES
from reasonmill.generators.families.countdown import Countdown
from reasonmill.generators.families.knights_knaves import KnightsKnaves
from reasonmill.generators.families.quadratic_equation import RootDomain
from reasonmill.generators.families.shortest_path import ShortestPath
from reasonmill.generators.families.sudoku import SudokuDomain
from reasonmill.generators.families.zebra import ZebraDomain
from reasonmill.generators.teacher import trace_from_run
from reasonmill.rng import item_rng
from reasonmill.text import split_paragraphs

BACKTRACKS_BY_LEVEL = [0, 1, 1, 3, 5]
ITEMS = {
    "countdown": 250,
    "knights_knaves": 200,
    "shortest_path": 200,
    "sudoku": 150,
    "zebra": 150,
    "quadratic_equation": 50,
    "polynomial_roots": 50,
}
FAIL = ("dead", "exhausted", "gave_up")


# --- independent checkers ------------------------------------------------------------------------


def _value(expr: str) -> Fraction:
    def ev(n: ast.AST) -> Fraction:
        if isinstance(n, ast.Constant):
            return Fraction(n.value)
        assert isinstance(n, ast.BinOp)
        a, b = ev(n.left), ev(n.right)
        if isinstance(n.op, ast.Add):
            return a + b
        if isinstance(n.op, ast.Sub):
            return a - b
        if isinstance(n.op, ast.Mult):
            return a * b
        return a / b

    return ev(ast.parse(expr, mode="eval").body)


@lru_cache(maxsize=200_000)
def _reachable(values: tuple[int, ...], target: int) -> bool:
    """Can some combination of `values` (each at most once, + − × ÷ with positive integer
    results) make `target`?"""
    if target in values:
        return True
    n = len(values)
    for i in range(n):
        for j in range(i + 1, n):
            a, b = values[i], values[j]
            rest = [values[k] for k in range(n) if k not in (i, j)]
            outs = {a + b, a * b}
            if a != b:
                outs.add(abs(a - b))
            if a % b == 0:
                outs.add(a // b)
            if b % a == 0:
                outs.add(b // a)
            for r in outs:
                if r > 0 and _reachable(tuple(sorted([*rest, r])), target):
                    return True
    return False


class CountdownCheck:
    def __init__(self, problem):
        self.target = problem.meta["spec"]["target"]
        self.numbers = Counter(problem.meta["spec"]["numbers"])

    def root(self, s):
        assert Counter(v for v, _, _ in s) == self.numbers

    def child(self, parent, move, child, text):
        x, op, y, r = move
        pv, cv = Counter(v for v, _, _ in parent), Counter(v for v, _, _ in child)
        assert pv - Counter([x, y]) + Counter([r]) == cv and not Counter([x, y]) - pv, (parent, move, child)
        exact = {"+": x + y, "-": x - y, "*": x * y, "/": Fraction(x, y)}[op]
        assert exact == r and r > 0 and Fraction(r).denominator == 1
        for v, e, _ in child:
            assert _value(e) == v, e
        assert text is None or f"= {r}." in text

    def claim(self, state, claim, text):
        values = tuple(sorted(v for v, _, _ in state))
        if claim["kind"] == "dead":
            assert len(values) == 1 and values[0] != self.target and str(values[0]) in text
        elif claim["kind"] == "exhausted":
            assert not _reachable(values, self.target), (values, self.target, text)
            assert f"{claim['n']} combinations" in text

    def goal(self, state):
        return any(v == self.target for v, _, _ in state)


def _truth(s: list, a: dict[int, bool]) -> bool | None:
    kind = s[0]
    if kind == "count":
        return sum(a.values()) == s[1] if len(a) == s[2] else None
    people = [s[1]] if kind == "is" else [s[1], s[2]] if kind == "same" else [s[1], s[3]]
    if any(p not in a for p in people):
        return None
    if kind == "is":
        return a[s[1]] == s[2]
    if kind == "same":
        return a[s[1]] == a[s[2]]
    x, y = a[s[1]] == s[2], a[s[3]] == s[4]
    return (x and y) if kind == "and" else (x or y) if kind == "or" else (not x or y)


class KnightsCheck:
    def __init__(self, problem):
        self.stmts = problem.meta["spec"]["statements"]
        self.n = len(problem.meta["spec"]["names"])

    def root(self, s):
        assert s == []

    def _ok(self, roles) -> bool:
        a = dict(enumerate(roles))
        return all(_truth(st, a) in (None, a[sp]) for sp, st in enumerate(self.stmts) if sp in a)

    def child(self, parent, move, child, text):
        assert child == [*parent, move]

    def claim(self, state, claim, text):
        if claim["kind"] == "dead":
            sp = claim["reason"]["speaker"]
            t = _truth(self.stmts[sp], dict(enumerate(state)))
            assert sp < len(state) and t is not None and t == claim["reason"]["truth"] and t != state[sp]
        elif claim["kind"] == "exhausted":
            rest = self.n - len(state)
            assert not any(
                self._ok([*state, *ext]) for ext in itertools.product((True, False), repeat=rest)
            ), state

    def goal(self, state):
        return len(state) == self.n and self._ok(state)


ROWS = [[r * 9 + c for c in range(9)] for r in range(9)]
COLS = [[r * 9 + c for r in range(9)] for c in range(9)]
BOXES = [[(b // 3 * 3 + r) * 9 + b % 3 * 3 + c for r in range(3) for c in range(3)] for b in range(9)]
UNITS = ROWS + COLS + BOXES
PEERS = [{j for u in UNITS if i in u for j in u} - {i} for i in range(81)]


def _cands(g: list[int], i: int) -> set[int]:
    return set(range(1, 10)) - {g[j] for j in PEERS[i]}


def _consistent(g: list[int]) -> bool:
    return all(len([g[i] for i in u if g[i]]) == len({g[i] for i in u if g[i]}) for u in UNITS)


def _completable(g: list[int]) -> bool:
    """Has the grid a completion? Plain backtracking on the cell with fewest candidates."""
    if not _consistent(g):
        return False
    empty = [i for i in range(81) if g[i] == 0]
    if not empty:
        return True
    i = min(empty, key=lambda i: len(_cands(g, i)))
    for d in _cands(g, i):
        g[i] = d
        if _completable(g):
            g[i] = 0
            return True
    g[i] = 0
    return False


class SudokuCheck:
    def __init__(self, problem):
        self.puzzle = problem.meta["spec"]["puzzle"]

    @staticmethod
    def _grid(s):
        return [int(c) for c in s["g"]]

    def root(self, s):
        g = self._grid(s)
        assert all(p == 0 or p == x for p, x in zip(self.puzzle, g, strict=True)) and _consistent(g)

    def child(self, parent, move, child, text):
        pg, cg = self._grid(parent), self._grid(child)
        cell, d = move
        assert pg[cell] == 0 and d in _cands(pg, cell) and cg[cell] == d
        assert all(p == 0 or p == c for p, c in zip(pg, cg, strict=True))
        assert _consistent(cg), "a forced placement breaks a rule"

    def claim(self, state, claim, text):
        g = self._grid(state)
        if claim["kind"] == "dead":
            why = claim["reason"]["why"]
            stuck = any(g[i] == 0 and not _cands(g, i) for i in range(81))
            nowhere = any(
                d not in {g[i] for i in u} and not any(g[i] == 0 and d in _cands(g, i) for i in u)
                for u in UNITS
                for d in range(1, 10)
            )
            assert stuck or nowhere, why
            assert not _completable(g)
        elif claim["kind"] == "exhausted":
            assert not _completable(g)

    def goal(self, state):
        g = self._grid(state)
        return 0 not in g and _consistent(g)


class ZebraCheck:
    def __init__(self, problem):
        spec = problem.meta["spec"]
        self.n, self.k = spec["n"], len(spec["attrs"])
        self.clues = spec["clues"]

    def root(self, s):
        assert len(s["dom"]) == self.n * self.k

    def _holds(self, c, house):
        kind, x = c[0], c[1]
        if kind == "at":
            return house[x] == c[2]
        if kind == "not":
            return house[x] != c[2]
        y = c[2]
        if kind == "same":
            return house[x] == house[y]
        if kind == "left":
            return house[x] + 1 == house[y]
        return abs(house[x] - house[y]) == 1

    def solvable(self, dom) -> bool:
        """Is there a solution (a permutation of houses per attribute, every clue true) inside
        the house domains `dom`?"""
        n = self.n

        def go(a: int, house: dict[int, int]) -> bool:
            if a == self.k:
                return all(self._holds(c, house) for c in self.clues)
            for perm in itertools.permutations(range(n)):
                trial = dict(house)
                ok = True
                for i, h in enumerate(perm):
                    v = a * n + i
                    if not dom[v] >> h & 1:
                        ok = False
                        break
                    trial[v] = h
                if ok and all(
                    self._holds(c, trial)
                    for c in self.clues
                    if c[1] in trial and (len(c) < 3 or c[0] in ("at", "not") or c[2] in trial)
                ):
                    if go(a + 1, trial):
                        return True
            return False

        return go(0, {})

    def child(self, parent, move, child, text):
        v, h = move
        assert parent["dom"][v] >> h & 1
        assert child["dom"][v] == 1 << h or (child["x"] and child["dom"][v] & ~(1 << h) == 0)
        assert all(c & ~p == 0 for p, c in zip(parent["dom"], child["dom"], strict=True)), (
            "domains only shrink"
        )

    def claim(self, state, claim, text):
        if claim["kind"] in ("dead", "exhausted"):
            assert not self.solvable(state["dom"]), claim

    def goal(self, state):
        return all(d and d & (d - 1) == 0 for d in state["dom"]) and self.solvable(state["dom"])


class RouteCheck:
    def __init__(self, problem):
        spec = problem.meta["spec"]
        self.adj, self.start, self.goal_node = spec["adj"], spec["start"], spec["goal"]
        self.best: float | None = None

    def root(self, s):
        assert s == [self.start, 0, [self.start]]

    def child(self, parent, move, child, text):
        u, v, w = move
        assert parent[0] == u and self.adj[u][v] == w and v not in parent[2]
        assert child == [v, parent[1] + w, [*parent[2], v]]
        if v == self.goal_node:
            self.best = child[1] if self.best is None else min(self.best, child[1])

    def _cheapest_rest(self, node: str, avoid: set[str]) -> float | None:
        import heapq

        dist, heap = {node: 0}, [(0, node)]
        while heap:
            d, u = heapq.heappop(heap)
            if u == self.goal_node:
                return d
            if d > dist[u]:
                continue
            for v, w in self.adj[u].items():
                if v not in avoid and d + w < dist.get(v, float("inf")):
                    dist[v] = d + w
                    heapq.heappush(heap, (d + w, v))
        return None

    def claim(self, state, claim, text):
        node, cost, route = state
        if claim["kind"] == "dead":
            assert all(v in route for v in self.adj[node])
        elif claim["kind"] == "exhausted":
            rest = self._cheapest_rest(node, set(route[:-1]))
            if claim.get("bound") is None:
                assert rest is None and self.best is None
            else:
                assert claim["bound"] == self.best, "the bound is the best route told so far"
                assert rest is None or cost + rest >= claim["bound"]

    def goal(self, state):
        return state[0] == self.goal_node


def _poly_value(coeffs: list[int], x: Fraction) -> Fraction:
    out = Fraction(0)
    for c in coeffs:
        out = out * x + c
    return out


class RootCheck:
    def __init__(self, problem):
        self.coeffs = problem.meta["spec"]["coeffs"]

    def root(self, s):
        assert s == [self.coeffs, [], None]

    def child(self, parent, move, child, text):
        poly, x = parent[0], Fraction(move)
        p, q = x.numerator, x.denominator
        assert poly[-1] % p == 0 and poly[0] % q == 0, "a rational root theorem candidate"
        v = _poly_value(poly, x)
        if child[2] is not None:
            assert child[0] == poly and Fraction(child[2][1]) == v != 0 and child[2][0] == move
        else:
            assert v == 0 and child[1] == [*parent[1], move]
            # the quotient times (q·x − p) is a multiple of the polynomial
            prod = [0] * (len(child[0]) + 1)
            for i, c in enumerate(child[0]):
                prod[i] += c * q
                prod[i + 1] -= c * p
            ratio = Fraction(poly[0], prod[0])
            assert [Fraction(c) * ratio for c in prod] == [Fraction(c) for c in poly]

    def claim(self, state, claim, text):
        x, v = state[2]
        assert _poly_value(state[0], Fraction(x)) == Fraction(v) != 0 and (
            f"{v} ≠ 0" in text or f"gives {v}" in text
        )

    def goal(self, state):
        return state[2] is None and len(state[0]) <= 2


CHECKERS = {
    "countdown": (CountdownCheck, lambda p: Countdown.domain(p)),
    "knights_knaves": (KnightsCheck, lambda p: KnightsKnaves.domain(p)),
    "sudoku": (SudokuCheck, lambda p: SudokuDomain(p.meta["spec"]["puzzle"])),
    "zebra": (ZebraCheck, lambda p: ZebraDomain(p.meta["spec"])),
    "shortest_path": (RouteCheck, lambda p: ShortestPath.domain(p)),
    "quadratic_equation": (RootCheck, lambda p: RootDomain(p.meta["spec"]["coeffs"], "quadratic")),
    "polynomial_roots": (RootCheck, lambda p: RootDomain(p.meta["spec"]["coeffs"], "poly")),
}


def replay_and_check(name: str, problem, run, trace) -> dict[str, int]:
    """Replay one trace's records with the independent checker; returns what was checked."""
    make_check, make_domain = CHECKERS[name]
    chk, dom = make_check(problem), make_domain(problem)
    records = trace.meta["steps"]
    paras = split_paragraphs(trace.text.split("<think>", 1)[1].split("</think>", 1)[0])
    assert len(records) == len(paras), "one record per paragraph"
    visits, pos = run.meta["visits"], -1

    def visited(state: Any) -> None:
        nonlocal pos
        key = dom.key(dom.decode(state))
        pos = visits.index(key, pos + 1)  # ValueError: never visited, or not in visiting order

    stack: list[Any] = []
    counts = Counter()
    for rec, text in zip(records, paras, strict=True):
        t = rec["t"]
        if t == "start":
            chk.root(rec["s"])
            stack = [rec["s"]]
            visited(rec["s"])
        elif t == "enter":
            d = rec["d"]
            assert 1 <= d <= len(stack), "entered from a state on the current line"
            if d < len(stack):  # the state left behind without a claim must be a route found
                assert name == "shortest_path" and chk.goal(stack[-1]) and d == len(stack) - 1, (
                    rec,
                    stack[-1],
                )
            chk.child(stack[d - 1], rec["m"], rec["s"], text)
            stack = stack[:d] + [rec["s"]]
            visited(rec["s"])
            counts["entered"] += 1
        elif t in FAIL:
            d = rec["d"]
            if name == "shortest_path" and d == len(stack) - 2 and chk.goal(stack[-1]):
                stack.pop()  # a route found: a success, not a dead end
            assert d == len(stack) - 1 >= 1, "the state abandoned is the one on top"
            assert text.startswith(("Wait", "Hmm")), text
            if t == "gave_up":
                assert "yet" in text, "a premature switch claims nothing about the rest"
            chk.claim(stack[-1], rec["claim"], text)
            stack.pop()
            counts["dead_ends"] += 1
        elif t == "group":
            d = rec["d"]
            if name == "shortest_path" and d == len(stack) - 1 and chk.goal(stack[-1]):
                stack.pop()
            assert d == len(stack) >= 1 and text.startswith("Hmm")
            for item in rec["items"]:
                chk.child(stack[-1], item["m"], item["s"], None)
                visited(item["s"])
                chk.claim(item["s"], item["claim"], text)
                counts["dead_ends"] += 1
        elif t == "answer":
            if name != "shortest_path":
                assert chk.goal(stack[-1]), "concluded at a goal"
        else:
            assert t == "note", t
    return counts


@pytest.mark.parametrize("name", sorted(ITEMS))
def test_every_narrated_dead_end_is_real(name: str) -> None:
    fam = FAMILIES.get(name)
    totals = Counter()
    for i in range(ITEMS[name]):
        level = 1 + i % 5
        problem = fam.generate(item_rng(name, 21, i), fam.params({"level": level}))
        run = fam.solve(problem, item_rng("truth", 21, i), BACKTRACKS_BY_LEVEL[level - 1])
        trace = trace_from_run(run, f"{name}-{i}", "programmatic", 0)
        totals.update(replay_and_check(name, problem, run, trace))
        totals["items"] += 1
    assert totals["items"] == ITEMS[name]
    assert totals["dead_ends"] > 0 and totals["entered"] > 0, totals


def test_items_in_total_cover_a_thousand() -> None:
    assert sum(ITEMS.values()) >= 1000


def _forge(trace, pairs: list[tuple[str, dict]]):
    """A copy of `trace` whose paragraphs and records are `pairs`."""
    fake = dataclasses.replace(trace)
    fake.text = "<think>\n" + "\n\n".join(p for p, _ in pairs) + "\n</think>\n\nThe answer is \\boxed{x}."
    fake.meta = {**trace.meta, "steps": [r for _, r in pairs]}
    return fake


def test_checker_rejects_invented_dead_ends() -> None:
    """The narration this replaces told dead ends the search never visited and claimed "this
    doesn't reach the target" of branches with a solution; each such narration fails here."""
    fam = FAMILIES.get("countdown")
    for index in range(200):
        problem = fam.generate(item_rng("countdown", 21, index), fam.params({"level": 4}))
        run = fam.solve(problem, item_rng("truth", 21, index), 1)
        trace = trace_from_run(run, "c", "programmatic", 0)
        dom = Countdown.domain(problem)
        root = dom.decode(trace.meta["steps"][0]["s"])
        unvisited = [
            (m, c)
            for m, c in dom.moves(root, item_rng("x", 0, 0), dom.policy(0), None)
            if dom.key(c) not in set(run.meta["visits"])
            and _reachable(dom.key(c), problem.meta["spec"]["target"])
        ]
        if unvisited and len(trace.meta["steps"]) >= 4:
            break
    else:
        raise AssertionError("no countdown trace with an unvisited root move")
    recs = trace.meta["steps"]
    paras = split_paragraphs(trace.text.split("<think>", 1)[1].split("</think>", 1)[0])
    pairs = list(zip(paras, recs, strict=True))
    replay_and_check("countdown", problem, run, trace)  # the real narration passes

    # 1. a false claim: "nothing makes the target" about the last state entered on the line
    line = max(k for k, r in enumerate(recs) if r["t"] == "enter")
    d = recs[line]["d"]
    false_claim = (
        "Wait, nothing makes it: I tried every way on (3 combinations).",
        {"t": "exhausted", "d": d, "claim": {"kind": "exhausted", "n": 3}},
    )
    with pytest.raises(AssertionError):
        replay_and_check(
            "countdown", problem, run, _forge(trace, [*pairs[: line + 1], false_claim, *pairs[line + 1 :]])
        )

    # 2. a dead end the search never visited (a legal move from the start, with a solution below)
    move, child = unvisited[0]
    entry = (
        f"Step 1: {move[0]} + {move[2]} = {move[3]}.",
        {"t": "enter", "d": 1, "s": dom.encode(child), "m": list(move)},
    )
    leave = (
        "Hmm, 1 combinations and none makes it yet.",
        {"t": "gave_up", "d": 1, "claim": {"kind": "gave_up", "n": 1}},
    )
    with pytest.raises(ValueError):
        replay_and_check("countdown", problem, run, _forge(trace, [pairs[0], entry, leave, *pairs[1:]]))

    # 3. the same move claimed a dead end: the claim is false (that state has a solution)
    forged = _forge(
        trace,
        [
            pairs[0],
            entry,
            (
                "Wait, nothing makes it (1 combinations).",
                {"t": "exhausted", "d": 1, "claim": {"kind": "exhausted", "n": 1}},
            ),
            *pairs[1:],
        ],
    )
    visits = [run.meta["visits"][0], dom.key(child), *run.meta["visits"][1:]]
    with pytest.raises(AssertionError):
        replay_and_check(
            "countdown", problem, type(run)(run.steps, run.path, run.answer, meta={"visits": visits}), forged
        )
