"""Zebra-style grid puzzles: houses in a row, attributes to place, clues that pin them down.

Level sets houses × attributes (3×2, 3×3, 4×3, 4×4, 5×4; the first attribute is always the
owner's name). A hidden solution is drawn; clues (a value in a house, not in a house, two values
in the same house, directly left of, next to) are added one at a time until the solution is
unique: each new clue is one the current clues' second solution breaks, so few are needed. The
question asks who has one value (e.g. "Who keeps the fish?"); the answer (kind "exact") is that
owner's name, e.g. "Carol".

The solver is constraint propagation over the house domains of every value (clues, one value per
house per attribute, the only house left for a value) with depth-first guessing when stuck.
Each value it pins down is a narrated step; failed guesses are real dead ends, and when more
wrong branches are asked it puts a value in a wrong house and propagates to the contradiction.
"""

from __future__ import annotations

import random

from reasonmill.generators.base import Family, FamilyParams, SolverRun, detour, finish, spread
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem

LEVELS = {1: (3, 2), 2: (3, 3), 3: (4, 3), 4: (4, 4), 5: (5, 4)}  # (houses, attributes)
ATTRS = [
    ("name", ["Alice", "Bob", "Carol", "Dave", "Eve", "Finn", "Gina"]),
    ("colour", ["red", "green", "blue", "yellow", "white", "black", "pink"]),
    ("pet", ["cat", "dog", "bird", "fish", "horse", "rabbit", "snake"]),
    ("drink", ["tea", "coffee", "milk", "water", "juice", "cocoa", "soda"]),
    ("hobby", ["chess", "painting", "hiking", "music", "cooking", "reading", "gardening"]),
]
PHRASE = {
    "name": "{v}",
    "colour": "the {v} house",
    "pet": "the {v} owner",
    "drink": "the {v} drinker",
    "hobby": "the person who likes {v}",
}


class Puzzle:
    """Domains (bitmask of houses) for each value; clues as tuples over value indices."""

    def __init__(self, n: int, values: list[list[str]], attrs: list[str], clues: list[tuple]) -> None:
        self.n, self.values, self.attrs, self.clues = n, values, attrs, clues
        self.full = (1 << n) - 1
        self.nv = len(attrs) * n
        self.eliminated = 0  # house possibilities ruled out by propagation: the work it did

    def label(self, v: int) -> str:
        """How value `v` is named in clues ("the red house", "Bob")."""
        a, i = divmod(v, self.n)
        return PHRASE[self.attrs[a]].format(v=self.values[a][i])

    def propagate(self, dom: list[int], log: list[tuple[int, str]] | None) -> int:
        """Narrow `dom` in place until nothing changes; returns passes made, or -1 on a contradiction."""
        n, full, passes = self.n, self.full, 0
        fixed = [d & (d - 1) == 0 for d in dom]
        start = sum(d.bit_count() for d in dom)
        while True:
            passes += 1
            before = list(dom)
            for k, c in enumerate(self.clues):
                kind, x = c[0], c[1]
                if kind == "at":
                    dom[x] &= 1 << c[2]
                elif kind == "not":
                    dom[x] &= ~(1 << c[2])
                else:
                    y = c[2]
                    if kind == "same":
                        dom[x] &= dom[y]
                        dom[y] &= dom[x]
                    elif kind == "left":
                        dom[x] &= dom[y] >> 1
                        dom[y] &= (dom[x] << 1) & full
                    else:
                        dom[x] &= ((dom[y] << 1) | (dom[y] >> 1)) & full
                        dom[y] &= ((dom[x] << 1) | (dom[x] >> 1)) & full
                self._note(dom, fixed, log, f"clue {k + 1}")
            for a in range(len(self.attrs)):
                group = range(a * n, a * n + n)
                for v in group:  # a pinned value takes its house from the others
                    if dom[v] and dom[v] & (dom[v] - 1) == 0:
                        for w in group:
                            if w != v:
                                dom[w] &= ~dom[v]
                self._note(dom, fixed, log, f"each house has one {self.attrs[a]}")
                for h in range(n):  # a house only one value can take
                    bit = 1 << h
                    holders = [v for v in group if dom[v] & bit]
                    if not holders:
                        return -1
                    if len(holders) == 1:
                        dom[holders[0]] = bit
                self._note(dom, fixed, log, f"it is the only {self.attrs[a]} left for that house")
            if any(d == 0 for d in dom):
                return -1
            if dom == before:
                self.eliminated += start - sum(d.bit_count() for d in dom)
                return passes

    def _note(self, dom: list[int], fixed: list[bool], log: list[tuple[int, str]] | None, why: str) -> None:
        for v, d in enumerate(dom):
            if not fixed[v] and d and d & (d - 1) == 0:
                fixed[v] = True
                if log is not None:
                    log.append((v, why))

    def search(self, dom: list[int], limit: int, sols: list[list[int]], stats: list[int]) -> None:
        """Depth-first search for up to `limit` solutions; stats[0] counts nodes."""
        stats[0] += 1
        dom = list(dom)
        if self.propagate(dom, None) < 0:
            return
        open_ = [v for v in range(self.nv) if dom[v] & (dom[v] - 1)]
        if not open_:
            sols.append([d.bit_length() - 1 for d in dom])
            return
        v = min(open_, key=lambda v: dom[v].bit_count())
        m = dom[v]
        while m and len(sols) < limit:
            bit = m & -m
            m ^= bit
            trial = list(dom)
            trial[v] = bit
            self.search(trial, limit, sols, stats)

    def clue_text(self, c: tuple) -> str:
        """A clue as an English sentence."""
        kind, x = c[0], c[1]
        if kind == "at":
            return f"{self.label(x)} is in house {c[2] + 1}."
        if kind == "not":
            return f"{self.label(x)} is not in house {c[2] + 1}."
        y = self.label(c[2])
        return {
            "same": f"{self.label(x)} and {y} are in the same house.",
            "left": f"{self.label(x)} is directly left of {y}.",
            "next": f"{self.label(x)} and {y} are next to each other.",
        }[kind]


def _true_clues(rng: random.Random, n: int, nv: int, house: list[int], other: list[int]) -> list[tuple]:
    """Clues true of the solution (`house`) that the alternative (`other`) breaks."""
    out = []
    for x in range(nv):
        if house[x] != other[x]:
            out += [("at", x, house[x]), ("not", x, other[x])]
        for y in range(nv):
            if x // n == y // n:
                continue
            if house[x] == house[y] and other[x] != other[y] and x < y:
                out.append(("same", x, y))
            if house[x] + 1 == house[y] and other[x] + 1 != other[y]:
                out.append(("left", x, y))
            if abs(house[x] - house[y]) == 1 and abs(other[x] - other[y]) != 1 and x < y:
                out.append(("next", x, y))
    weights = {"at": 1, "not": 2, "same": 4, "left": 3, "next": 3}  # prefer relational clues
    return [c for c in out for _ in range(weights[c[0]])]


class Zebra(Family):
    """Einstein-style houses puzzle; answer is the owner of a value."""

    name = "zebra"
    description = "zebra / Einstein grid puzzles (unique solution, propagation + DFS)"
    answer_kind = "exact"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        n, k = LEVELS[params.level]
        attrs = ["name", *rng.sample([a for a, _ in ATTRS[1:]], k - 1)]
        pools = dict(ATTRS)
        values = [rng.sample(pools[a], n) for a in attrs]
        house = [h for _ in attrs for h in rng.sample(range(n), n)]  # house of each value
        puzzle = Puzzle(n, values, attrs, [])
        while True:
            sols: list[list[int]] = []
            puzzle.search([puzzle.full] * puzzle.nv, 2, sols, [0])
            other = next((s for s in sols if s != house), None)
            if other is None:
                break
            puzzle.clues.append(rng.choice(_true_clues(rng, n, puzzle.nv, house, other)))
        target = rng.randrange(n, puzzle.nv)
        owner = values[0][next(v for v in range(n) if house[v] == house[target])]
        clues = " ".join(f"{i + 1}. {puzzle.clue_text(c)}" for i, c in enumerate(puzzle.clues))
        attr, val = attrs[target // n], values[target // n][target % n]
        ask = {
            "colour": f"Who lives in the {val} house?",
            "pet": f"Who keeps the {val}?",
            "drink": f"Who drinks {val}?",
            "hobby": f"Who likes {val}?",
        }[attr]
        lists = "; ".join(f"{a}s: {', '.join(sorted(vs))}" for a, vs in zip(attrs, values, strict=True))
        q = f"There are {n} houses in a row, numbered 1 to {n} from left to right, each with one of each: {lists}. Clues: {clues} {ask} Answer with a name."
        spec = {
            "n": n,
            "attrs": attrs,
            "values": values,
            "clues": [list(c) for c in puzzle.clues],
            "target": target,
        }
        return Problem(question=q, answer=owner, kind="exact", meta={"spec": spec})

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        s = problem.meta["spec"]
        pz = Puzzle(s["n"], s["values"], s["attrs"], [tuple(c) for c in s["clues"]])
        dead: list[tuple[int, int, int, list[tuple[int, str]]]] = []
        log: list[tuple[int, str]] = []
        nodes = [0]

        def run(dom: list[int]) -> list[int] | None:
            mark = len(log)
            passes = pz.propagate(dom, log)
            nodes[0] += 1 + max(passes, 0)
            if passes < 0:
                return None
            open_ = [v for v in range(pz.nv) if dom[v] & (dom[v] - 1)]
            if not open_:
                return dom
            v = min(open_, key=lambda v: dom[v].bit_count())
            m = dom[v]
            while m:
                bit = m & -m
                m ^= bit
                trial = list(dom)
                trial[v] = bit
                log.append((v, "guess"))
                here = len(log)
                got = run(trial)
                if got:
                    return got
                dead.append((here - 1, v, bit.bit_length() - 1, log[here:]))
                del log[here - 1 :]
            del log[mark:]
            return None

        final = run([pz.full] * pz.nv)
        assert final is not None, "a generated zebra puzzle always has a solution"
        house = [d.bit_length() - 1 for d in final]
        path = [
            f"I track which houses each value can still be in, apply the {len(pz.clues)} clues and the one-per-house rule, and guess only when stuck."
        ]
        for v, why in log:
            path.append(
                f"{pz.label(v)[0].upper() + pz.label(v)[1:]} is in house {house[v] + 1} ({'a guess' if why == 'guess' else why})."
            )
        t = s["target"]
        owner = s["values"][0][next(v for v in range(pz.n) if house[v] == house[t])]
        path.append(
            f"{pz.label(t)[0].upper() + pz.label(t)[1:]} is in house {house[t] + 1}, where {owner} lives. The answer is {owner}."
        )

        picks = rng.sample(dead, min(backtracks, len(dead)))
        detours = [
            detour(k, f"guess {pz.label(v)} is in house {h + 1}.", reason="that leads to a contradiction.")
            for k, v, h, _ in sorted(picks)
        ]
        tried = {(v, h) for _, v, h, _ in picks}
        wrong = [(v, h) for v in range(pz.nv) for h in range(pz.n) if h != house[v] and (v, h) not in tried]
        rng.shuffle(wrong)
        for k, (v, h) in zip(spread(rng, backtracks - len(detours), len(path) - 1), wrong, strict=False):
            dom = [pz.full] * pz.nv
            dom[v] = 1 << h
            sols: list[list[int]] = []
            stats = [0]
            pz.search(dom, 1, sols, stats)  # a unique puzzle: any wrong placement has no solution
            nodes[0] += stats[0]
            detours.append(
                detour(
                    k,
                    f"put {pz.label(v)} in house {h + 1}.",
                    f"Following the clues from there ({stats[0]} states), every branch breaks a clue.",
                    reason=f"{pz.label(v)} cannot be in house {h + 1}.",
                )
            )
        return finish(path, detours, owner, nodes[0] + pz.eliminated)

    def perturb(self, problem: Problem, rng: random.Random) -> str:
        """Another owner's name."""
        return rng.choice([v for v in problem.meta["spec"]["values"][0] if v != problem.answer])


FAMILIES.register(Zebra.name, Zebra())
