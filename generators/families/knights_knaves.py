"""Knights and knaves: knights always tell the truth, knaves always lie. Who is which?

Level sets the number of islanders (3 to 7) and the statements they may make (plain
claims and "and" at level 1 (plain claims alone are symmetric under swapping every role, so
never unique); "same kind" and "or" from level 2; "exactly k of us" and "if ... then"
from level 3). Statements are drawn to be consistent with a hidden assignment, and the puzzle is
kept only when that assignment is the unique solution (checked over all 2^n assignments).

The answer (kind "exact") lists everyone sorted by name: "Ada=knave, Ben=knight, Cal=knight".

The solver is a depth-first search: it assumes each islander a knight, then a knave, in name
order, and checks every statement whose speaker and subjects are all decided. A failed check is
a real dead end. The narrated wrong branches are those dead ends, then (when more are asked)
complete assignments that differ from the solution, each refuted by the statement it breaks.
"""

from __future__ import annotations

import random
from itertools import product

from reasonmill.generators.base import Family, FamilyParams, SolverRun, detour, finish, spread
from reasonmill.generators.registry import FAMILIES
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

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        names, stmts = problem.meta["spec"]["names"], problem.meta["spec"]["statements"]
        n = len(names)
        path = [
            f"I assume each person a knight first, then a knave, in order {', '.join(names)}, and check every statement whose subjects are decided."
        ]
        dead: list[tuple[int, dict[int, bool], int]] = []
        nodes = 0
        a: dict[int, bool] = {}

        def dfs(i: int) -> bool:
            nonlocal nodes
            if i == n:
                return True
            for role in (True, False):
                nodes += 1
                a[i] = role
                ok, broken = _consistent(stmts, a)
                if ok:
                    path.append(
                        f"Suppose {names[i]} is {_role(role)}. Everything decided so far is consistent."
                    )
                    if dfs(i + 1):
                        return True
                    path.pop()
                else:
                    dead.append((i, dict(a), broken))
                del a[i]
            return False

        dfs(0)
        answer = ", ".join(f"{names[i]}={'knight' if a[i] else 'knave'}" for i in range(n))
        path.append(f"All statements hold: {answer}.")

        def refute(assign: dict[int, bool], broken: int) -> tuple[str, str]:
            t = truth(stmts[broken], assign)
            what = ", ".join(f"{names[p]} {'knight' if r else 'knave'}" for p, r in sorted(assign.items()))
            return (
                f"suppose {what}.",
                f'{names[broken]}\'s statement "{text(stmts[broken], names)}" would be {"true" if t else "false"}, but {names[broken]} would be {_role(assign[broken])}',
            )

        picks = rng.sample(dead, min(backtracks, len(dead)))
        detours = []
        for i, assign, broken in sorted(picks, key=lambda d: d[0]):
            opening, why = refute(assign, broken)
            detours.append(detour(min(i, len(path) - 2), opening, reason=f"{why}. That's a contradiction."))
        if len(detours) < backtracks:  # complete assignments that differ from the solution
            seen = {tuple(sorted(d[1].items())) for d in picks}
            others = [
                dict(enumerate(x))
                for x in product((True, False), repeat=n)
                if list(x) != [a[i] for i in range(n)]
            ]
            others = [o for o in others if tuple(sorted(o.items())) not in seen]
            for k, other in zip(
                spread(rng, backtracks - len(detours), len(path) - 1),
                rng.sample(others, min(backtracks - len(detours), len(others))),
                strict=False,
            ):
                opening, why = refute(other, _consistent(stmts, other)[1])
                detours.append(detour(k, opening, reason=f"{why}. That's a contradiction."))
        return finish(path, detours, answer, nodes)

    def perturb(self, problem: Problem, rng: random.Random) -> str:
        """Swap one person's role."""
        parts = problem.answer.split(", ")
        i = rng.randrange(len(parts))
        who, role = parts[i].split("=")
        parts[i] = f"{who}={'knave' if role == 'knight' else 'knight'}"
        return ", ".join(parts)


FAMILIES.register(KnightsKnaves.name, KnightsKnaves())
