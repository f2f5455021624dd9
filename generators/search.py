"""Depth-first search, narrated as it ran, and resumed from a narrated prefix.

The search families (countdown, sudoku, zebra, knights and knaves, shortest path, the root
searches) describe their problem as a `Domain`: states, ordered moves, dead states, goals. This
module runs the search under a `Policy`, keeps the tree it really explored, and tells it:

* every child the search entered at a state on the told line is told, in visiting order: the
  first one as the next step of the line, later ones opening with "Alternatively"; a child whose
  subtree failed is told as its entry and one closing paragraph with a claim that is true of what
  the search did there — a contradiction the domain names (`dead`), no solution in the subtree
  (`exhausted`: the search explored all of it, so no solution is reachable from that state), or
  none found in the `patience` states it was given (`gave_up`: a premature switch; nothing is
  claimed about the rest, and the search comes back to it if every other branch fails);
* after `GROUP_AFTER` failed siblings at one state, further consecutive ones are told together in
  one "Hmm," paragraph (each still a visited state with its claim);
* subtrees are collapsed at their root: the states explored inside a failed branch are counted in
  its claim, not told one by one, so a trace stays readable while the claim stays exact.

The backtrack knob changes the policy, never the text: `noise` perturbs the heuristic's move
order (0 = best-first), `patience` makes the search abandon a branch after that many states
(a premature switch, which Retro-Search can later undo), `hasty` lets propagation-based domains
guess before their deductions are done. More backtracks means a search that really took more
wrong turns, as in the synthetic DFS traces of "How Much Backtracking is Enough?".

Every paragraph carries a record (`Step.record`), e.g. `{"t": "enter", "d": 2, "s": <state>}`,
`{"t": "exhausted", "d": 2, "n": 14, "claim": {...}}`, `{"t": "group", "d": 2, "items": [...]}`,
`{"t": "answer", "a": "..."}`. `replay` rebuilds the solver state (the stack of states on the
current line, the states already ruled out, the best goal so far) from the records of any
prefix, and `resume` continues the search from there with its own move order: the first step
enters a child of the current state (it may not backtrack); after that the search runs freely,
backing up the stack when a state is exhausted, to the first goal or its budget.

Branch and bound (`Policy.first_goal = False`, shortest path) keeps searching after a goal for a
cheaper one (`Domain.cost`, moves pruned by the best cost so far); the told line is then the one
to the best goal, and every expanded state ends with a claim that nothing through it beats the
best cost at that time.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reasonmill.generators.base import Continuation, SolverRun, Step

GROUP_AFTER = 3
FAILED = ("dead", "exhausted", "gave_up")


@dataclass(frozen=True, slots=True)
class Policy:
    """How the search chooses: move-order `noise` (0 = the heuristic's order, 1 ≈ random),
    `patience` (states one branch may use before the search switches away from it; None = no
    premature switch), total `budget` of states, `hasty` (chance that a propagation domain guesses
    before finishing its deductions) and `first_goal` (False: branch and bound)."""

    noise: float = 0.0
    patience: int | None = None
    budget: int = 200_000
    hasty: float = 0.0
    first_goal: bool = True


def ordered(items: list[Any], scores: list[float], rng: random.Random, noise: float) -> list[Any]:
    """`items` by ascending heuristic `scores`, the rank of each perturbed by `noise`: with 0 the
    heuristic's order, with 1 close to a random order (rank + noise·n·U(0, 1))."""
    n = len(items)
    if n < 2:
        return list(items)
    rank = sorted(range(n), key=lambda i: scores[i])
    if noise <= 0:
        return [items[i] for i in rank]
    keyed = [(r + noise * n * rng.random(), i) for r, i in enumerate(rank)]
    return [items[i] for _, i in sorted(keyed)]


@dataclass(slots=True, eq=False)
class Node:
    """One visit of a state. `outcome`: "solved" (on the line to the goal), "goal" (a goal leaf of
    branch and bound), "dead", "exhausted", "gave_up", "budget" (on the line when the budget ran
    out) or "open". `nodes` counts the states visited in its subtree, itself included."""

    state: Any
    depth: int
    move: Any = None
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    outcome: str = "open"
    nodes: int = 0
    reason: Any = None
    revisit: bool = False
    has_goal: bool = False
    bound: float | None = None  # branch and bound: the best cost when this state was left


class Domain(ABC):
    """A search problem and how to tell it. States are the domain's own values; `encode` makes
    the JSON form stored in records and `decode` reads it back."""

    #: words for "state" in claims ("combinations", "grids")
    unit: str = "states"

    @abstractmethod
    def root(self) -> Any:
        """The start state."""

    @abstractmethod
    def key(self, state: Any) -> Hashable:
        """Identity of a state for the visited set."""

    @abstractmethod
    def moves(
        self, state: Any, rng: random.Random, policy: Policy, bound: float | None
    ) -> list[tuple[Any, Any]]:
        """(move, child state) pairs in the order the policy tries them."""

    @abstractmethod
    def is_goal(self, state: Any) -> bool:
        """True for a solved state."""

    def dead(self, state: Any) -> dict[str, Any] | None:
        """Why `state` fails on sight (a contradiction, nothing left to try), or None."""
        return None

    def cost(self, state: Any) -> float:
        """Branch and bound: the cost of a (goal) state."""
        return 0.0

    @abstractmethod
    def encode(self, state: Any) -> Any:
        """JSON form of a state."""

    @abstractmethod
    def decode(self, data: Any) -> Any:
        """A state from its JSON form."""

    def encode_move(self, move: Any) -> Any:
        """JSON form of a move."""
        return move

    # --- telling --------------------------------------------------------------------------------

    @abstractmethod
    def intro(self, root: Any) -> list[str]:
        """The opening paragraph(s)."""

    def root_notes(self, root: Any) -> list[tuple[str, dict[str, Any]]]:
        """Paragraphs after the intro about the root state (deductions made before any move)."""
        return []

    @abstractmethod
    def enter_text(self, parent: Any, move: Any, child: Any, depth: int, alt: bool, node: Node) -> str:
        """The paragraph that enters `child`. `alt`: a sibling was told before (open with
        "Alternatively"); `node.revisit`: coming back to a branch left unfinished."""

    def notes(self, parent: Any, move: Any, child: Any) -> list[tuple[str, dict[str, Any]]]:
        """Extra paragraphs after entering a child on the told line (deductions it forced)."""
        return []

    @abstractmethod
    def fail_text(self, node: Node, parent: Any) -> str:
        """The paragraph that abandons `node` (outcome dead, exhausted or gave_up) and returns to
        its parent: opens with "Wait," ("Hmm," for gave_up) and states the claim."""

    def claim(self, node: Node) -> dict[str, Any]:
        """Machine-readable claim of the closing paragraph of `node`."""
        out: dict[str, Any] = {"kind": node.outcome, "n": node.nodes}
        if node.reason is not None:
            out["reason"] = node.reason
        if node.bound is not None:
            out["bound"] = node.bound
        return out

    def group_text(self, nodes: list[Node], parent: Any, depth: int) -> str:
        """One paragraph telling several failed siblings (entered and abandoned) at once."""
        return "Hmm, " + "; ".join(self.short(n) for n in nodes) + ". Let me go back."

    def short(self, node: Node) -> str:
        """A failed sibling in a few words (for `group_text`)."""
        return f"{node.move} fails"

    @abstractmethod
    def conclude(self, goal: Any) -> tuple[str, str]:
        """(closing paragraph, answer) for the goal state reached."""

    def guess(self, search: Search, line: list[Node]) -> tuple[str, str]:
        """(paragraph, answer) when the budget ran out: commit to the best guess so far."""
        raise NotImplementedError

    def policy(self, backtracks: int) -> Policy:
        """The teacher's policy for a backtrack knob value (families calibrate their own)."""
        if backtracks <= 0:
            return Policy()
        return Policy(noise=min(1.0, 0.25 * backtracks), patience=max(3, 24 // backtracks))


class Search:
    """One run of the depth-first search (see the module docstring)."""

    def __init__(
        self,
        domain: Domain,
        policy: Policy,
        rng: random.Random,
        seen: set[Hashable] | None = None,
        bound: float | None = None,
        left: set[Hashable] | None = None,
    ) -> None:
        self.domain, self.policy, self.rng = domain, policy, rng
        self.seen: set[Hashable] = set(seen or ())
        self.paused: set[Hashable] = set()  # branches left by a premature switch, to be revisited
        self.left: set[Hashable] = set(left or ())  # branches a prefix left unfinished (resume)
        self.nodes = 0
        self.stopped = False
        self.goal: Node | None = None
        self.bound = bound
        self.visits: list[Hashable] = []

    def visit(self, node: Node, limit: int | None, patient: bool) -> str:
        """Visit `node` and its subtree; returns and stores its outcome."""
        self.nodes += 1
        start = self.nodes
        self.visits.append(self.domain.key(node.state))
        out = self._visit(node, limit, patient)
        node.nodes = self.nodes - start + 1
        node.outcome = out
        node.bound = self.bound
        return out

    def _visit(self, node: Node, limit: int | None, patient: bool) -> str:
        d = self.domain
        reason = d.dead(node.state)
        if reason is not None:
            node.reason = reason
            return "dead"
        if d.is_goal(node.state):
            node.has_goal = True
            if self.policy.first_goal:
                self.goal = node
                return "solved"
            c = d.cost(node.state)
            if self.bound is None or c < self.bound:
                self.bound, self.goal = c, node
            return "goal"
        self.seen.add(d.key(node.state))
        return self.children(node, limit, patient)

    def children(self, node: Node, limit: int | None, patient: bool) -> str:
        """Try the children of an entered state; the outcome of the state."""
        d, p = self.domain, self.policy
        deferred: list[Node] = []
        for move, child_state in d.moves(node.state, self.rng, p, self.bound):
            if self.nodes >= p.budget:
                self.stopped = True
                return "budget"
            if limit is not None and self.nodes >= limit:
                self.seen.discard(d.key(node.state))
                return "gave_up"
            ck = d.key(child_state)
            if ck in self.seen or ck in self.paused:
                continue
            if self.bound is not None and d.cost(child_state) >= self.bound:
                continue  # branch and bound: the best cost improved after the moves were listed
            child = Node(child_state, node.depth + 1, move, node, revisit=ck in self.left)
            self.left.discard(ck)
            node.children.append(child)
            child_limit = limit
            if patient and p.patience is not None:
                own = self.nodes + p.patience
                child_limit = own if limit is None else min(limit, own)
            out = self.visit(child, child_limit, patient)
            node.has_goal = node.has_goal or child.has_goal
            if out in ("solved", "budget"):
                return out
            if out == "gave_up":
                if limit is not None and self.nodes >= limit:
                    self.seen.discard(d.key(node.state))
                    return "gave_up"
                deferred.append(child)
                self.paused.add(d.key(child.state))
        for child in deferred:  # branches left unfinished: now searched to the end
            if self.nodes >= p.budget:
                self.stopped = True
                return "budget"
            self.paused.discard(d.key(child.state))
            if d.key(child.state) in self.seen:
                continue
            again = Node(child.state, child.depth, child.move, node, revisit=True)
            node.children.append(again)
            out = self.visit(again, limit, False)
            node.has_goal = node.has_goal or again.has_goal
            if out in ("solved", "budget", "gave_up"):
                if out == "gave_up":
                    self.seen.discard(d.key(node.state))
                return out
        return "exhausted"


class Teller:
    """Turns a searched tree into steps with records (and on-path tags for the told line)."""

    def __init__(self, domain: Domain, line: set[int]) -> None:
        self.domain, self.line = domain, line
        self.steps: list[Step] = []
        self.path: list[str] = []
        self.backtracks = 0

    def add(self, text: str, record: dict[str, Any], on_line: bool) -> None:
        """Append one paragraph."""
        tag = None
        if on_line:
            tag = len(self.path)
            self.path.append(text)
        self.steps.append(Step(text, tag, record))

    def enter(self, node: Node, parent: Node, alt: bool) -> None:
        """Tell the entry into `node`."""
        d = self.domain
        text = d.enter_text(parent.state, node.move, node.state, node.depth, alt, node)
        rec = {"t": "enter", "d": node.depth, "s": d.encode(node.state), "m": d.encode_move(node.move)}
        if node.revisit:
            rec["again"] = True
        self.add(text, rec, id(node) in self.line)

    def fail(self, node: Node, parent: Node) -> None:
        """Tell the abandonment of `node` with its claim."""
        d = self.domain
        rec = {"t": node.outcome, "d": node.depth, "claim": d.claim(node)}
        self.add(d.fail_text(node, parent.state), rec, False)
        self.backtracks += 1

    def group(self, nodes: list[Node], parent: Node) -> None:
        """Tell several failed siblings in one paragraph."""
        d = self.domain
        items = [
            {"s": d.encode(n.state), "m": d.encode_move(n.move), "t": n.outcome, "claim": d.claim(n)}
            for n in nodes
        ]
        self.add(
            d.group_text(nodes, parent.state, parent.depth),
            {"t": "group", "d": parent.depth + 1, "items": items},
            False,
        )
        self.backtracks += len(nodes)

    def children(self, node: Node, told: int = 0) -> None:
        """Tell the children of a told state, in visiting order (see the module docstring)."""
        pending: list[Node] = []

        def flush() -> None:
            if len(pending) == 1:
                self.enter(pending[0], node, True)
                self.fail(pending[0], node)
            elif pending:
                self.group(list(pending), node)
            pending.clear()

        for ch in node.children:
            expand = ch.outcome in ("solved", "budget") or ch.has_goal
            if not expand and ch.outcome in ("dead", "exhausted") and told >= GROUP_AFTER:
                pending.append(ch)
                told += 1
                continue
            flush()
            self.enter(ch, node, told > 0)
            told += 1
            if expand:
                for text, rec in self.domain.notes(node.state, ch.move, ch.state):
                    self.add(text, {"t": "note", **rec}, id(ch) in self.line)
                self.children(ch)
                if ch.outcome in FAILED:
                    self.fail(ch, node)
            elif ch.outcome in FAILED:
                self.fail(ch, node)
        flush()


def _line(goal: Node | None) -> set[int]:
    out: set[int] = set()
    while goal is not None:
        out.add(id(goal))
        goal = goal.parent
    return out


def _deepest_open(root: Node) -> list[Node]:
    """The stack of states on the line when the budget ran out."""
    line = [root]
    while True:
        nxt = next((c for c in line[-1].children if c.outcome == "budget"), None)
        if nxt is None:
            return line
        line.append(nxt)


def solve(domain: Domain, policy: Policy, rng: random.Random) -> SolverRun:
    """Run the search from the root and tell it. A budget stop commits to `Domain.guess`."""
    root_state = domain.root()
    search = Search(domain, policy, rng)
    root = Node(root_state, 0)
    search.visit(root, None, True)
    goal = search.goal
    line = _line(goal) if not search.stopped else {id(n) for n in _deepest_open(root)}
    teller = Teller(domain, line)
    intro = domain.intro(root_state)
    teller.add(intro[0], {"t": "start", "d": 0, "s": domain.encode(root_state)}, True)
    for text in intro[1:]:
        teller.add(text, {"t": "note"}, True)
    for text, rec in domain.root_notes(root_state):
        teller.add(text, {"t": "note", **rec}, True)
    teller.children(root)
    if search.stopped or goal is None:
        text, answer = domain.guess(search, _deepest_open(root))
        teller.add(text, {"t": "stop", "n": search.nodes, "a": answer}, True)
    else:
        text, answer = domain.conclude(goal.state)
        teller.add(text, {"t": "answer", "a": answer}, True)
    return SolverRun(
        steps=teller.steps,
        path=teller.path,
        answer=answer,
        nodes=search.nodes + int(getattr(domain, "work", 0)),
        backtracks=teller.backtracks,
        meta={"visits": search.visits, "stopped": search.stopped},
    )


def first_error(
    kinds: tuple[str, ...],
    makers: Mapping[str, Callable[[], SolverRun | None]],
    wrong: Callable[[SolverRun], bool],
) -> SolverRun | None:
    """The first error of `kinds` (in that order) that a family can make and that really ends wrong.

    `makers` maps each error kind the family knows to a call that makes such a run (or None when it
    cannot on this problem); kinds with no maker are skipped. The run kept is tagged
    `meta["error"] = {"kind": ...}`; an error that lands on a right answer is not one, and the
    next kind is tried (the error model in `reasonmill.generators.errors_model`).
    """
    for kind in kinds:
        make = makers.get(kind)
        run = make() if make is not None else None
        if run is not None and wrong(run):
            run.meta["error"] = {"kind": kind}
            return run
    return None


def stopped_early(
    run: Callable[[Policy, random.Random], SolverRun],
    policy: Policy,
    rng: random.Random,
    size: Callable[[SolverRun], int] = lambda r: r.nodes,
) -> SolverRun | None:
    """The "budget" error: the same seeded search, stopped at a random budget short of its full size.

    `run(policy, rng)` builds the domain and searches with that one generator, so the search run
    in full (to learn its `size`) and the stopped one take the same moves until the stop. None when
    the full search is too small (under 3) to stop part-way.
    """
    seed = rng.random()
    full = size(run(policy, random.Random(seed)))
    if full < 3:
        return None
    return run(replace(policy, budget=rng.randint(1, full - 1)), random.Random(seed))


def visited(run: SolverRun) -> int:
    """The number of states a run visited (its size for `stopped_early` where `nodes` counts work)."""
    return len(run.meta["visits"])


@dataclass(slots=True)
class Replayed:
    """The solver state after a prefix: the stack of states on the current line (index = depth),
    the keys ruled out, the best goal so far (branch and bound) and whether the prefix already
    concluded."""

    stack: list[Any]
    seen: set[Hashable]
    left: set[Hashable] = field(default_factory=set)
    moves: list[Any] = field(default_factory=list)  # the move into each state of the stack
    bound: float | None = None
    best: Any = None
    finished: bool = False
    error: str | None = None


def replay(domain: Domain, records: list[dict[str, Any]]) -> Replayed:
    """Rebuild the solver state from the records of a prefix (never from on-path tags)."""
    state = Replayed([], set())
    for r in records:
        t = r.get("t")
        if t == "start":
            state.stack = [domain.decode(r["s"])]
            state.moves = [None]
        elif t == "enter":
            d = int(r["d"])
            if d < 1 or d > len(state.stack):
                return replace(state, error=f"record enters depth {d} from a stack of {len(state.stack)}")
            child = domain.decode(r["s"])
            state.stack = state.stack[:d] + [child]
            state.moves = state.moves[:d] + [r.get("m")]
            state.left.discard(domain.key(child))
            if domain.is_goal(child) and domain.dead(child) is None:
                c = domain.cost(child)
                if state.bound is None or c < state.bound:
                    state.bound, state.best = c, child
        elif t in FAILED:
            d = int(r["d"])
            if d < 1 or d > len(state.stack) - 1:
                return replace(state, error=f"record leaves depth {d} from a stack of {len(state.stack)}")
            key = domain.key(state.stack[d])
            if t != "gave_up":
                state.seen.add(key)
                state.left.discard(key)
            else:
                state.left.add(key)
            state.stack = state.stack[:d]
            state.moves = state.moves[:d]
        elif t == "group":
            for item in r["items"]:
                key = domain.key(domain.decode(item["s"]))
                if item["t"] != "gave_up":
                    state.seen.add(key)
                    state.left.discard(key)
                else:
                    state.left.add(key)
        elif t in ("answer", "stop"):
            state.finished = True
    if not state.stack:
        state.error = "the prefix has no start record"
    return state


def resume(domain: Domain, records: list[dict[str, Any]], rng: random.Random, policy: Policy) -> Continuation:
    """Continue the search from the state a prefix leaves (see the module docstring)."""
    st = replay(domain, records)
    if st.error is not None:
        return Continuation([], None, note=st.error)
    if st.finished:
        return Continuation([], None, note="the prefix already concluded")
    search = Search(domain, replace(policy, patience=None, first_goal=True), rng, st.seen, st.bound, st.left)
    line: set[int] = set()
    steps: list[Step] = []
    backs = 0
    top = len(st.stack) - 1
    for level in range(top, -1, -1):
        node = Node(st.stack[level], level, st.moves[level] if level < len(st.moves) else None)
        if level == top:
            if domain.dead(node.state) is not None:
                return Continuation([], None, note="the current state is a dead end: only a switch leads on")
            if domain.is_goal(node.state):
                text, answer = domain.conclude(node.state)
                return Continuation([Step(text, None, {"t": "answer", "a": answer})], answer)
        search.seen.add(domain.key(node.state))
        out = search.children(node, None, False)
        if level == top and not node.children:
            return Continuation([], None, note="no untried move at the current state: only a switch leads on")
        goal = search.goal
        teller = Teller(domain, line)
        teller.children(node, told=0 if level == top else 1)
        steps.extend(teller.steps)
        backs += teller.backtracks
        if out == "solved" and goal is not None:
            text, answer = domain.conclude(goal.state)
            steps.append(Step(text, None, {"t": "answer", "a": answer}))
            return Continuation(steps, answer, search.nodes, note=f"{backs} backtracks")
        if out == "budget":
            return Continuation(steps, None, search.nodes, note="budget spent")
        if level > 0:
            node.outcome, node.nodes = "exhausted", search.nodes
            parent = Node(st.stack[level - 1], level - 1)
            teller = Teller(domain, line)
            teller.fail(node, parent)
            steps.extend(teller.steps)
            search.seen.add(domain.key(node.state))
    if st.best is not None:
        text, answer = domain.conclude(st.best)
        steps.append(Step(text, None, {"t": "answer", "a": answer}))
        return Continuation(steps, answer, search.nodes)
    return Continuation(steps, None, search.nodes, note="search space exhausted")
