"""Zebra-style grid puzzles: houses in a row, attributes to place, clues that pin them down.

Level sets houses × attributes (3×2, 3×3, 4×3, 4×4, 5×4; the first attribute is always the
owner's name). A hidden solution is drawn; clues (a value in a house, not in a house, two values
in the same house, directly left of, next to) are added one at a time until the solution is
unique: each new clue is one the current clues' second solution breaks, so few are needed. The
question asks who has one value (e.g. "Who keeps the fish?"); the answer (kind "exact") is that
owner's name, e.g. "Carol".

The solver (`reasonmill.generators.search`) is constraint propagation over the house domains of
every value (clues, one value per house per attribute, the only house left for a value) with
depth-first guessing when stuck. Each value it pins down is a narrated step; a dead end is a
guess it made and undid (what broke is named, or every way on from it failed, or it gave up on
it after its patience). The backtrack knob sets the policy: value and house-order noise,
patience, and a hasty solver that guesses again after a single propagation pass. Errors of the
fallible teacher: a search stopped at its budget, or a misread clue.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from reasonmill.generators import search
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun
from reasonmill.generators.registry import FAMILIES
from reasonmill.generators.search import Domain, Node, Policy, ordered
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

    def propagate(
        self,
        dom: list[int],
        log: list[tuple[int, str]] | None,
        max_passes: int | None = None,
        weak: bool = False,
    ) -> int:
        """Narrow `dom` in place until nothing changes (or `max_passes` passes are made); returns
        passes made, or -1 on a contradiction (`self.why` then says what broke)."""
        n, full, passes = self.n, self.full, 0
        self.why = ""
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
                for h in range(n) if not weak else ():  # a house only one value can take
                    bit = 1 << h
                    holders = [v for v in group if dom[v] & bit]
                    if not holders:
                        self.why = f"no {self.attrs[a]} is left for house {h + 1}"
                        return -1
                    if len(holders) == 1:
                        dom[holders[0]] = bit
                self._note(dom, fixed, log, f"it is the only {self.attrs[a]} left for that house")
            empty = next((v for v, d in enumerate(dom) if d == 0), None)
            if empty is not None:
                self.why = f"{self.label(empty)} has no house left"
                return -1
            if dom == before or (max_passes is not None and passes >= max_passes):
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


STUDENT_BUDGET = 3  # states (guesses) the offline student may try


class ZebraState(NamedTuple):
    """House domains after a guess and what it forced: `log` the values pinned on entering
    (value, why), `contra` what broke, if anything."""

    dom: tuple[int, ...]
    log: tuple[tuple[int, str], ...] = ()
    contra: str | None = None


class ZebraDomain(Domain):
    """Propagation over house domains with depth-first guessing on one value at a time.
    `hasty`: the chance that after a guess the solver makes one propagation pass only before
    guessing again (an impatient solver; the reviser and the student are never hasty)."""

    unit = "states"

    def __init__(
        self, spec: dict[str, Any], rng: random.Random | None = None, hasty: float = 0.0, weak: bool = False
    ) -> None:
        self.spec, self.weak = spec, weak
        self.pz = Puzzle(spec["n"], spec["values"], spec["attrs"], [tuple(c) for c in spec["clues"]])
        self.rng, self.hasty = rng or random.Random(0), hasty
        self.work = 0

    @staticmethod
    def teacher_policy(backtracks: int) -> Policy:
        """The teacher's policy for a backtrack knob value."""
        if backtracks <= 0:
            return Policy(budget=50_000)
        return Policy(
            noise=min(1.0, 0.25 * backtracks),
            patience=max(2, 8 // backtracks),
            hasty=min(0.6, 0.25 * backtracks),
            budget=50_000,
        )

    def policy(self, backtracks: int) -> Policy:
        return self.teacher_policy(backtracks)

    def _settle(self, dom: tuple[int, ...] | list[int]) -> ZebraState:
        work = list(dom)
        log: list[tuple[int, str]] = []
        hasty = self.hasty and self.rng.random() < self.hasty
        before = self.pz.eliminated
        passes = self.pz.propagate(work, log, 1 if hasty else None, self.weak)
        self.work += max(passes, 0) + self.pz.eliminated - before
        return ZebraState(tuple(work), tuple(log), self.pz.why if passes < 0 else None)

    def root(self) -> ZebraState:
        return self._settle([self.pz.full] * self.pz.nv)

    def key(self, state: ZebraState) -> tuple[int, ...]:
        return state.dom

    def moves(self, state: Any, rng: random.Random, policy: Policy, bound: float | None) -> Any:
        open_ = [v for v in range(self.pz.nv) if state.dom[v] & (state.dom[v] - 1)]
        if not open_:
            return
        v = ordered(open_, [state.dom[v].bit_count() + v / 100 for v in open_], rng, policy.noise)[0]
        houses = [h for h in range(self.pz.n) if state.dom[v] >> h & 1]
        for h in ordered(houses, [float(h) for h in houses], rng, policy.noise):
            trial = list(state.dom)
            trial[v] = 1 << h
            yield (v, h), self._settle(trial)

    def _broken(self, dom: tuple[int, ...]) -> str | None:
        """With every value pinned (possibly after a hasty single pass): the clue or rule the
        assignment breaks, else None."""
        if not all(d and d & (d - 1) == 0 for d in dom):
            return None
        house = [d.bit_length() - 1 for d in dom]
        n = self.pz.n
        for a in range(len(self.pz.attrs)):
            if len(set(house[a * n : a * n + n])) < n:
                return f"two {self.pz.attrs[a]}s share a house"
        for k, c in enumerate(self.pz.clues):
            kind, x = c[0], c[1]
            ok = (
                house[x] == c[2]
                if kind == "at"
                else house[x] != c[2]
                if kind == "not"
                else house[x] == house[c[2]]
                if kind == "same"
                else house[x] + 1 == house[c[2]]
                if kind == "left"
                else abs(house[x] - house[c[2]]) == 1
            )
            if not ok:
                return f"clue {k + 1} is broken"
        return None

    def dead(self, state: Any) -> dict[str, Any] | None:
        if state.contra is not None:
            return {"why": state.contra}
        broken = self._broken(state.dom)
        return None if broken is None else {"why": broken}

    def is_goal(self, state: Any) -> bool:
        return (
            state.contra is None
            and all(d and d & (d - 1) == 0 for d in state.dom)
            and self._broken(state.dom) is None
        )

    def encode(self, state: Any) -> Any:
        return {"dom": list(state.dom), "x": state.contra}

    def decode(self, data: Any) -> Any:
        return ZebraState(tuple(int(d) for d in data["dom"]), (), data.get("x"))

    def encode_move(self, move: Any) -> Any:
        return list(move)

    def _label(self, v: int) -> str:
        t = self.pz.label(v)
        return t[0].upper() + t[1:]

    def intro(self, root: Any) -> list[str]:
        return [
            f"I track which houses each value can still be in, apply the {len(self.pz.clues)} clues and the one-per-house rule, and guess only when stuck."
        ]

    def _pinned(self, state: ZebraState) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for v, why in state.log:
            d = state.dom[v]
            if d and d & (d - 1) == 0:
                out.append(
                    (
                        f"{self._label(v)} is in house {d.bit_length()} ({why}).",
                        {"value": v, "house": d.bit_length() - 1},
                    )
                )
        return out

    def root_notes(self, root: Any) -> list[tuple[str, dict[str, Any]]]:
        return self._pinned(root)

    def notes(self, parent: Any, move: Any, child: Any) -> list[tuple[str, dict[str, Any]]]:
        return self._pinned(child)

    def enter_text(self, parent: Any, move: Any, child: Any, depth: int, alt: bool, node: Node) -> str:
        v, h = move
        what = f"{self.pz.label(v)} is in house {h + 1}"
        if node.revisit:
            text = f"{'Alternatively, back' if alt else 'Back'} to {what}, a guess I left unfinished."
        elif alt:
            text = f"Alternatively, {what}."
        else:
            houses = [str(k + 1) for k in range(self.pz.n) if parent.dom[v] >> k & 1]
            settled = list(parent.dom)
            stuck = (
                parent.contra is None
                and self.pz.propagate(settled, None) >= 0
                and tuple(settled) == parent.dom
            )
            lead = "Stuck, I guess" if stuck else "Before making every deduction, I guess"
            text = f"{lead} {what} (it can be in houses {', '.join(houses)})."
        if node.outcome in ("dead", "exhausted", "gave_up") and child.log:
            pinned = [
                f"{self.pz.label(w)} in house {child.dom[w].bit_length()}"
                for w, _ in child.log
                if child.dom[w] and child.dom[w] & (child.dom[w] - 1) == 0
            ]
            if pinned:
                more = f" and {len(pinned) - 3} more" if len(pinned) > 3 else ""
                text += " That puts " + ", ".join(pinned[:3]) + more + "."
        return text

    def fail_text(self, node: Node, parent: Any) -> str:
        v, h = node.move
        what = f"{self.pz.label(v)} in house {h + 1}"
        if node.outcome == "dead":
            return f"Wait, then {node.reason['why']}. So {what} is wrong here. Let me go back to the state before that guess."
        if node.outcome == "exhausted":
            return f"Wait, every way on from {what} breaks a clue ({node.nodes} states). Let me go back to the state before that guess."
        return f"Hmm, {node.nodes} states under {what} and no solution yet. I leave this guess for now and go back to the state before it."

    def short(self, node: Node) -> str:
        v, h = node.move
        why = (
            node.reason["why"]
            if node.outcome == "dead"
            else f"every way on breaks a clue ({node.nodes} states)"
        )
        return f"{self.pz.label(v)} in house {h + 1} ({why})"

    def group_text(self, nodes: list[Node], parent: Any, depth: int) -> str:
        return "Hmm, I also try " + "; ".join(self.short(n) for n in nodes) + ". None of them works."

    def _owner(self, dom: tuple[int, ...]) -> tuple[int, str]:
        t = self.spec["target"]
        house = (dom[t] & -dom[t]).bit_length() - 1 if dom[t] else 0
        names = [w for w in range(self.pz.n) if dom[w] >> house & 1] or [0]
        return house, self.spec["values"][0][names[0]]

    def conclude(self, goal: Any) -> tuple[str, str]:
        house, owner = self._owner(goal.dom)
        return (
            f"{self._label(self.spec['target'])} is in house {house + 1}, where {owner} lives. The answer is {owner}.",
            owner,
        )

    def guess(self, found: search.Search, line: list[Node]) -> tuple[str, str]:
        state = next((n.state for n in reversed(line) if n.state.contra is None), line[0].state)
        house, owner = self._owner(state.dom)
        why = (
            f"I have used my budget of {found.nodes} states"
            if found.stopped
            else "Every branch I tried breaks a clue"
        )
        return (
            f"{why}. {self._label(self.spec['target'])} may be in house {house + 1}, and {owner} may live there, so I answer {owner}.",
            owner,
        )


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

    @staticmethod
    def domain(
        problem: Problem,
        spec: dict[str, Any] | None = None,
        rng: random.Random | None = None,
        hasty: float = 0.0,
    ) -> ZebraDomain:
        """The search domain of a problem's spec (or of `spec`, a misread copy)."""
        return ZebraDomain(spec or problem.meta["spec"], rng, hasty)

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        policy = ZebraDomain.teacher_policy(backtracks)
        return search.solve(self.domain(problem, rng=rng, hasty=policy.hasty), policy, rng)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Errors: "budget": the search stopped early, guessing the target's house; "misread": one clue
        read wrongly (another house, or the two sides swapped), solved as read."""
        policy = ZebraDomain.teacher_policy(backtracks)
        spec = problem.meta["spec"]

        def misread() -> SolverRun:
            clues = [list(c) for c in spec["clues"]]
            k = rng.randrange(len(clues))
            c = clues[k]
            if c[0] in ("at", "not"):
                c[2] = (c[2] + rng.randint(1, spec["n"] - 1)) % spec["n"]
            elif c[0] == "left":
                c[1], c[2] = c[2], c[1]
            else:
                c[0] = "left" if c[0] == "next" else "next"
            heard = {**spec, "clues": clues}
            run = search.solve(self.domain(problem, heard, rng, policy.hasty), policy, rng)
            run.meta["misread"] = {"clue": k}
            return run

        def seeded(p: Policy, r: random.Random) -> SolverRun:
            return search.solve(self.domain(problem, rng=r, hasty=p.hasty), p, r)

        makers = {
            "budget": lambda: search.stopped_early(seeded, policy, rng, search.visited),
            "misread": misread,
        }
        return search.first_error(kinds, makers, lambda run: run.answer != problem.answer)

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return search.resume(
            self.domain(problem, rng=rng), records, rng, Policy(noise=0.5, budget=budget or 5_000)
        )

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Weaker propagation (clues and one value per house, not "the only value left for a
        house") and guesses in a random order, `STUDENT_BUDGET` states at most."""
        dom = ZebraDomain(problem.meta["spec"], rng, weak=True)
        run = search.solve(dom, Policy(noise=1.0, budget=STUDENT_BUDGET), rng)
        return run.answer, run.nodes

    def perturb(self, problem: Problem, rng: random.Random) -> str:
        """Another owner's name."""
        return rng.choice([v for v in problem.meta["spec"]["values"][0] if v != problem.answer])


FAMILIES.register(Zebra.name, Zebra())
