"""Knights and knaves: knights always tell the truth, knaves always lie. Who is which?

Level sets the number of islanders (3 to 7) and the statements they may make (plain
claims and "and" at level 1 (plain claims alone are symmetric under swapping every role, so
never unique); "same kind" and "or" from level 2; "exactly k of us" and "if ... then"
from level 3). Statements are drawn to be consistent with a hidden assignment, and the puzzle is
kept only when that assignment is the unique solution (checked over all 2^n assignments).

The answer (kind "exact") lists everyone sorted by name: "Ada=knave, Ben=knight, Cal=knight".

The solver is a depth-first search (`reasonmill.generators.search`): it assumes each islander a
knight or a knave, in name order, and checks every statement whose speaker and subjects are all
decided. A failed check is a real dead end (the broken statement is named); a case under which
no choice for the others works is exhausted. The backtrack knob sets the policy: role-order
noise around knight-first and a patience after which a first assumption is left for the other
(and come back to). Errors of the fallible teacher: a search stopped at its budget, or one
statement misheard (a role flipped) and the puzzle solved as heard.
"""

from __future__ import annotations

import random
from itertools import product
from typing import Any

from reasonmill.generators import search
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun
from reasonmill.generators.registry import FAMILIES
from reasonmill.generators.search import Domain, Node, Policy, ordered
from reasonmill.records import Problem

NAMES = [
    "Ada",
    "Ben",
    "Cal",
    "Dee",
    "Eve",
    "Fay",
    "Gus",
    "Hal",
    "Ivy",
    "Jon",
    "Kai",
    "Lea",
    "Max",
    "Nia",
    "Oto",
    "Pia",
    "Quin",
    "Rex",
    "Sue",
    "Tom",
]
KINDS = {
    1: ("is", "and"),
    2: ("is", "same", "and", "or"),
    3: ("is", "same", "and", "or", "count", "if"),
    4: ("is", "same", "or", "count", "if"),
    5: ("is", "same", "and", "or", "count", "if"),
}
PEOPLE = {1: 3, 2: 4, 3: 5, 4: 6, 5: 7}

Stmt = list  # [kind, *args]; persons are indices, roles are booleans (True = knight)


def _role(b: bool) -> str:
    return "a knight" if b else "a knave"


def truth(s: Stmt, a: dict[int, bool]) -> bool | None:
    """The statement's truth under a (partial) assignment, or None while a subject is undecided."""
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


def text(s: Stmt, names: list[str]) -> str:
    """The statement as the speaker says it."""
    kind = s[0]
    if kind == "is":
        return f"{names[s[1]]} is {_role(s[2])}."
    if kind == "same":
        return f"{names[s[1]]} and {names[s[2]]} are the same kind."
    if kind == "count":
        return f"Exactly {s[1]} of us {'is a knight' if s[1] == 1 else 'are knights'}."
    x, y = f"{names[s[1]]} is {_role(s[2])}", f"{names[s[3]]} is {_role(s[4])}"
    return f"{x} and {y}." if kind == "and" else f"{x} or {y}." if kind == "or" else f"If {x}, then {y}."


def _consistent(stmts: list[Stmt], a: dict[int, bool]) -> tuple[bool, int | None]:
    """Whether every decidable statement matches its speaker; else the first speaker it breaks."""
    for speaker, s in enumerate(stmts):
        if speaker in a:
            t = truth(s, a)
            if t is not None and t != a[speaker]:
                return False, speaker
    return True, None


STUDENT_BUDGET = 12  # cases (partial assignments) the offline student may try


def _who(names: list[str], assign: tuple[bool, ...]) -> str:
    return ", ".join(f"{names[p]} {'knight' if r else 'knave'}" for p, r in enumerate(assign))


class KnightsDomain(Domain):
    """Roles assumed in name order as the state; a move decides the next person."""

    unit = "cases"

    def __init__(self, names: list[str], statements: list[Stmt]) -> None:
        self.names, self.stmts, self.n = list(names), [list(x) for x in statements], len(names)
        # speakers whose statement (and role) is first decided when person k is decided
        self._decided_at: list[list[int]] = [[] for _ in range(self.n)]
        for speaker, st in enumerate(self.stmts):
            people = (
                list(range(self.n))
                if st[0] == "count"
                else [st[1]]
                if st[0] == "is"
                else [st[1], st[2]]
                if st[0] == "same"
                else [st[1], st[3]]
            )
            self._decided_at[max([speaker, *people])].append(speaker)

    def root(self) -> tuple[bool, ...]:
        return ()

    def key(self, state: tuple[bool, ...]) -> tuple[bool, ...]:
        return state

    def moves(self, state: Any, rng: random.Random, policy: Policy, bound: float | None) -> Any:
        if len(state) >= self.n:
            return []
        out = [(True, (*state, True)), (False, (*state, False))]
        return ordered(out, [0.0, 1.0], rng, policy.noise)

    def dead(self, state: Any) -> dict[str, Any] | None:
        # Statements become decidable when their last person is decided; the state's parent passed
        # every statement decidable before, so only those decided by the newest person are checked.
        k = len(state) - 1
        if k < 0:
            return None
        a = dict(enumerate(state))
        for speaker in self._decided_at[k]:
            t = truth(self.stmts[speaker], a)
            if t is not None and t != a[speaker]:
                return {"speaker": speaker, "truth": t}
        return None

    def is_goal(self, state: Any) -> bool:
        # the search (and replay) test `dead` first: a full assignment that is not dead is a solution
        return len(state) == self.n

    def encode(self, state: Any) -> Any:
        return list(state)

    def decode(self, data: Any) -> Any:
        return tuple(bool(x) for x in data)

    def intro(self, root: Any) -> list[str]:
        return [
            f"I assume each person a knight or a knave, in order {', '.join(self.names)}, and check every statement whose speaker and subjects are decided."
        ]

    def _back(self, depth: int) -> str:
        return (
            "go back to the start"
            if depth <= 0
            else f"go back to my assumption about {self.names[depth - 1]}"
        )

    def enter_text(self, parent: Any, move: Any, child: Any, depth: int, alt: bool, node: Node) -> str:
        who = self.names[depth - 1]
        body = f"suppose {who} is {_role(move)}."
        if node.outcome not in ("dead",):
            body += " Everything decided so far is consistent."
        if node.revisit:
            return f"{'Alternatively, back' if alt else 'Back'} to {who} as {_role(move)}, a case I left unfinished. Everything decided so far is consistent."
        return f"Alternatively, {body}" if alt else body[0].upper() + body[1:]

    def fail_text(self, node: Node, parent: Any) -> str:
        back = self._back(node.depth - 1)
        if node.outcome == "dead":
            sp = node.reason["speaker"]
            said = text(self.stmts[sp], self.names)
            return (
                f'Wait, {self.names[sp]}\'s statement "{said}" would be {"true" if node.reason["truth"] else "false"}, '
                f"but {self.names[sp]} would be {_role(node.state[sp])}. That's a contradiction. Let me {back}."
            )
        if node.outcome == "exhausted":
            return f"Wait, with {_who(self.names, node.state)}, no choice for the others keeps every statement true to its speaker ({node.nodes} cases). Let me {back}."
        return f"Hmm, {node.nodes} cases under this assumption and no consistent assignment yet. I leave it for now and {back}."

    def short(self, node: Node) -> str:
        who = f"{self.names[node.depth - 1]} as {_role(node.move)}"
        if node.outcome == "dead":
            sp = node.reason["speaker"]
            return f"{who} breaks {self.names[sp]}'s statement"
        return f"{who} leads to no consistent assignment ({node.nodes} cases)"

    def group_text(self, nodes: list[Node], parent: Any, depth: int) -> str:
        return "Hmm, I also try " + "; ".join(self.short(n) for n in nodes) + "."

    def conclude(self, goal: Any) -> tuple[str, str]:
        answer = ", ".join(f"{self.names[i]}={'knight' if r else 'knave'}" for i, r in enumerate(goal))
        return f"All statements hold: {answer}.", answer

    def guess(self, found: search.Search, line: list[Node]) -> tuple[str, str]:
        deep = line[-1].state
        if self.dead(deep) is not None and len(line) > 1:
            deep = line[-2].state
        full = tuple(deep) + (True,) * (self.n - len(deep))
        answer = ", ".join(f"{self.names[i]}={'knight' if r else 'knave'}" for i, r in enumerate(full))
        if found.stopped:
            return (
                f"I have used my budget of {found.nodes} cases. I take the others as knights: {answer}.",
                answer,
            )
        return f"No assignment I tried keeps every statement consistent; my best guess is {answer}.", answer

    def policy(self, backtracks: int) -> Policy:
        if backtracks <= 0:
            return Policy(budget=10_000)
        return Policy(noise=min(1.0, 0.3 * backtracks), patience=max(3, 12 // backtracks), budget=10_000)


class KnightsKnaves(Family):
    """Decide who is a knight and who is a knave from what they say."""

    name = "knights_knaves"
    description = "knights and knaves logic puzzles (unique solution, DFS solver)"
    answer_kind = "exact"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        n, kinds = PEOPLE[params.level], KINDS[params.level]
        names = sorted(rng.sample(NAMES, n))
        while True:
            hidden = {i: rng.random() < 0.5 for i in range(n)}
            stmts = [self._statement(rng, i, n, kinds, hidden) for i in range(n)]
            sols = [a for a in product((True, False), repeat=n) if _consistent(stmts, dict(enumerate(a)))[0]]
            if len(sols) == 1:
                break
        said = " ".join(f'{names[i]} says: "{text(s, names)}"' for i, s in enumerate(stmts))
        q = f"On an island, knights always tell the truth and knaves always lie. You meet {', '.join(names[:-1])} and {names[-1]}. {said} Who is a knight and who is a knave?"
        answer = ", ".join(f"{names[i]}={'knight' if hidden[i] else 'knave'}" for i in range(n))
        return Problem(
            question=q, answer=answer, kind="exact", meta={"spec": {"names": names, "statements": stmts}}
        )

    def _statement(
        self, rng: random.Random, me: int, n: int, kinds: tuple[str, ...], hidden: dict[int, bool]
    ) -> Stmt:
        """A statement by `me` whose truth matches `me`'s hidden role."""
        while True:
            kind = rng.choice(kinds)
            x, y = rng.sample([p for p in range(n) if p != me] if kind != "same" else range(n), 2)
            if kind == "is":
                s = ["is", x, rng.random() < 0.5]
            elif kind == "same":
                s = (
                    ["same", x, y]
                    if me not in (x, y) or rng.random() < 0.5
                    else ["same", me, x if x != me else y]
                )
            elif kind == "count":
                s = ["count", rng.randint(1, n - 1), n]
            else:
                s = [kind, x, rng.random() < 0.5, y, rng.random() < 0.5]
            if truth(s, hidden) == hidden[me] and s != ["same", me, me]:
                return s

    @staticmethod
    def domain(problem: Problem) -> KnightsDomain:
        """The search domain of a problem's spec."""
        return KnightsDomain(problem.meta["spec"]["names"], problem.meta["spec"]["statements"])

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        dom = self.domain(problem)
        return search.solve(dom, dom.policy(backtracks), rng)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Errors: "budget": the search stopped before its solution, completing the deepest consistent
        assumption with knights; "misread": one statement heard with a role flipped, solved as heard."""
        dom = self.domain(problem)

        def misread() -> SolverRun | None:
            stmts = [list(x) for x in problem.meta["spec"]["statements"]]
            order = list(range(len(stmts)))
            rng.shuffle(order)
            for i in order:
                st = stmts[i]
                flip = next((k for k, v in enumerate(st) if isinstance(v, bool)), None)
                if flip is None:
                    continue
                heard = [list(x) for x in stmts]
                heard[i][flip] = not heard[i][flip]
                cand = search.solve(KnightsDomain(dom.names, heard), dom.policy(backtracks), rng)
                if not cand.meta["stopped"] and cand.answer != problem.answer and "=" in cand.answer:
                    cand.meta["misread"] = {"statement": i}
                    return cand
            return None

        makers = {
            "budget": lambda: search.stopped_early(
                lambda p, r: search.solve(dom, p, r), dom.policy(backtracks), rng
            ),
            "misread": misread,
        }
        return search.first_error(kinds, makers, lambda run: run.answer != problem.answer)

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return search.resume(self.domain(problem), records, rng, Policy(noise=0.5, budget=budget or 10_000))

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """The depth-first search in a random role order with a budget of `STUDENT_BUDGET` cases."""
        run = search.solve(self.domain(problem), Policy(noise=1.0, budget=STUDENT_BUDGET), rng)
        return run.answer, run.nodes

    def perturb(self, problem: Problem, rng: random.Random) -> str:
        """Swap one person's role."""
        parts = problem.answer.split(", ")
        i = rng.randrange(len(parts))
        who, role = parts[i].split("=")
        parts[i] = f"{who}={'knave' if role == 'knight' else 'knight'}"
        return ", ".join(parts)


FAMILIES.register(KnightsKnaves.name, KnightsKnaves())
