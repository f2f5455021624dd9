"""Shortest path on a weighted undirected graph, by depth-first branch and bound.

Level sets the graph: nodes (5, 7, 9, 12, 15), extra edges beyond a random spanning tree, and
weights (1–9 up to 1–20). The question asks for the cheapest route between two nodes; graphs are
redrawn until that route is unique. The answer (kind "exact") is the route as node letters joined
by " -> ", e.g. "A -> D -> C".

The generator checks uniqueness with Dijkstra. The solver (`reasonmill.generators.search`) is a
depth-first branch and bound over simple routes from the start, cheap edges that head for the
goal first (edge cost + mean cost × hops left): it keeps the
cheapest route to the goal found so far and cuts any partial route that already costs as much.
Every state it leaves is a dead end with a true claim: every neighbour already on the route, or
nothing through it beats the best cost at that time (no way on at all before a first route), or
it gave up after its patience. Routes found and later beaten are told as they were found. After
the cheapest route, the rest of the search proves that nothing beats it (what Retro-Search may
cut: the reviser stops at the first route cheaper than the best so far). The backtrack knob sets
edge-order noise and patience. Errors of the fallible teacher: a search stopped at its budget
(answering its best route so far) or a misread edge cost.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import replace
from typing import Any

from pydantic import Field, field_validator

from reasonmill.generators import search
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun
from reasonmill.generators.registry import FAMILIES
from reasonmill.generators.search import Domain, Node, Policy, ordered
from reasonmill.records import Problem

LEVELS = {
    1: (5, 2, 9),
    2: (7, 4, 9),
    3: (9, 6, 12),
    4: (12, 9, 15),
    5: (15, 12, 20),
}  # (nodes, extra edges, max weight)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ShortestPathParams(FamilyParams):
    """Level 1..5; `nodes` overrides the level's node count (3..26: one letter each)."""

    nodes: int | None = Field(default=None, le=26)

    @field_validator("nodes")
    @classmethod
    def _enough_nodes(cls, v: int | None) -> int | None:
        if v is not None and v < 3:  # a route needs a start, a goal and a choice between them
            raise ValueError(f"a shortest-path puzzle needs at least 3 nodes, got {v}")
        return v


def dijkstra(
    adj: dict[str, dict[str, int]], start: str
) -> tuple[dict[str, int], dict[str, str], list[str], list[tuple[str, str, int, str, int]]]:
    """Distances, predecessors, settle order and superseded routes (node, old via, old cost, new via, new cost)."""
    dist, prev, order, superseded = {start: 0}, {}, [], []
    heap = [(0, start)]
    done = set()
    while heap:
        d, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        order.append(u)
        for v, w in sorted(adj[u].items()):
            nd = d + w
            if v not in dist or nd < dist[v]:
                if v in dist and v not in done:
                    superseded.append((v, prev[v], dist[v], u, nd))
                dist[v], prev[v] = nd, u
                heapq.heappush(heap, (nd, v))
    return dist, prev, order, superseded


def _count_shortest(adj: dict[str, dict[str, int]], dist: dict[str, int], start: str, goal: str) -> int:
    """How many distinct shortest routes lead from start to goal (2 means "not unique")."""
    ways = {start: 1}
    for u in sorted(dist, key=dist.get):
        if u == start:
            continue
        ways[u] = min(
            2, sum(ways.get(p, 0) for p, w in adj[u].items() if p in dist and dist[p] + w == dist[u])
        )
    return ways.get(goal, 0)


class ShortestPath(Family):
    """Cheapest route between two nodes of a weighted graph."""

    name = "shortest_path"
    description = "shortest path by Dijkstra (unique route)"
    answer_kind = "exact"
    Params = ShortestPathParams

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        n, extra, top = LEVELS[params.level]
        n = getattr(params, "nodes", None) or n
        names = LETTERS[:n]
        while True:
            adj: dict[str, dict[str, int]] = {v: {} for v in names}
            order = list(names)
            rng.shuffle(order)
            edges = [(order[i], order[rng.randrange(i)]) for i in range(1, n)]  # a random spanning tree
            while len(edges) < n - 1 + min(extra, n * (n - 1) // 2 - (n - 1)):
                a, b = rng.sample(names, 2)
                if b not in adj[a] and (a, b) not in edges and (b, a) not in edges:
                    edges.append((a, b))
            for a, b in edges:
                adj[a][b] = adj[b][a] = rng.randint(1, top)
            start, goal = rng.sample(names, 2)
            dist, prev, _, _ = dijkstra(adj, start)
            if goal in adj[start] and n > 3:
                continue
            if _count_shortest(adj, dist, start, goal) == 1:
                break
        route = [goal]
        while route[-1] != start:
            route.append(prev[route[-1]])
        edges_text = ", ".join(f"{a}-{b} ({adj[a][b]})" for a in names for b in sorted(adj[a]) if a < b)
        q = f"An undirected graph has edges with costs: {edges_text}. What is the cheapest route from {start} to {goal}? Write it as nodes joined by ' -> '."
        spec = {"adj": adj, "start": start, "goal": goal}
        return Problem(question=q, answer=" -> ".join(reversed(route)), kind="exact", meta={"spec": spec})

    @staticmethod
    def domain(problem: Problem, adj: dict[str, dict[str, int]] | None = None) -> RouteDomain:
        """The search domain of a problem's spec (or of a misread graph `adj`)."""
        spec = problem.meta["spec"]
        return RouteDomain(adj or spec["adj"], spec["start"], spec["goal"])

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        dom = self.domain(problem)
        return search.solve(dom, dom.policy(backtracks), rng)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Errors: "budget": the search stopped before it proved a route cheapest, answering the best
        route so far (wrong when a cheaper one was still to come); "misread": one edge cost read
        wrongly, solved as read."""
        dom = self.domain(problem)

        def budget() -> SolverRun | None:
            seed = rng.random()
            full = search.solve(dom, dom.policy(backtracks), random.Random(seed))
            cuts = list(range(1, full.nodes))
            rng.shuffle(cuts)
            for cut in sorted(cuts[:12]):  # small budgets first: stopped before a good route
                cand = search.solve(dom, replace(dom.policy(backtracks), budget=cut), random.Random(seed))
                if cand.answer != problem.answer:
                    return cand
            return None

        def misread() -> SolverRun:
            # a cost on the cheapest route read too high, so another route looks cheaper
            adj = {u: dict(vs) for u, vs in problem.meta["spec"]["adj"].items()}
            route = problem.answer.split(" -> ")
            k = rng.randrange(len(route) - 1)
            u, v = route[k], route[k + 1]
            adj[u][v] = adj[v][u] = adj[u][v] + rng.randint(5, 12)
            run = search.solve(self.domain(problem, adj), dom.policy(backtracks), rng)
            run.meta["misread"] = {"edge": [u, v], "cost": adj[u][v]}
            return run

        makers = {"budget": budget, "misread": misread}
        return search.first_error(kinds, makers, lambda run: run.answer != problem.answer)

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        """The reviser runs to the first route cheaper than the best so far (or concludes with the
        best so far when the current state is a route's end): it does not prove optimality."""
        return search.resume(self.domain(problem), records, rng, Policy(noise=0.5, budget=budget or 20_000))

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Branch and bound in a random edge order, stopped after `STUDENT_BUDGET` partial routes
        (answering its best route so far)."""
        run = search.solve(
            self.domain(problem), Policy(noise=1.0, budget=STUDENT_BUDGET, first_goal=False), rng
        )
        return run.answer, run.nodes


STUDENT_BUDGET = 25  # partial routes the offline student may extend

Route = tuple[str, int, tuple[str, ...]]  # (node, cost so far, route)


class RouteDomain(Domain):
    """Partial routes from the start; branch and bound on their cost."""

    unit = "partial routes"

    def __init__(self, adj: dict[str, dict[str, int]], start: str, goal: str) -> None:
        self.adj, self.start, self.goal = adj, start, goal
        # the heuristic: hops to the goal (breadth-first over the graph's shape, not its costs)
        self.hops, frontier = {goal: 0}, [goal]
        while frontier:
            nxt = []
            for u in frontier:
                for v in adj[u]:
                    if v not in self.hops:
                        self.hops[v] = self.hops[u] + 1
                        nxt.append(v)
            frontier = nxt
        weights = [w for u in adj for w in adj[u].values()]
        self.mean_w = sum(weights) / len(weights) if weights else 1.0
        self.work = sum(
            len(vs) for vs in adj.values()
        )  # edges looked at (the heuristic's breadth-first pass reads them all)

    def policy(self, backtracks: int) -> Policy:
        if backtracks <= 0:
            return Policy(first_goal=False, budget=200_000)
        return Policy(
            noise=min(1.0, 0.4 * backtracks),
            patience=max(3, 24 // backtracks),
            first_goal=False,
            budget=200_000,
        )

    def root(self) -> Route:
        return (self.start, 0, (self.start,))

    def key(self, state: Route) -> tuple[str, ...]:
        return state[2]

    def moves(self, state: Any, rng: random.Random, policy: Policy, bound: float | None) -> Any:
        u, g, route = state
        out = []
        self.work += len(self.adj[u])
        for v, w in sorted(self.adj[u].items()):
            if v in route or (bound is not None and g + w >= bound):
                continue
            out.append(((u, v, w), (v, g + w, (*route, v))))
        scores = [m[0][2] + self.mean_w * self.hops.get(m[1][0], len(self.adj)) for m in out]
        return ordered(out, scores, rng, policy.noise)

    def dead(self, state: Any) -> dict[str, Any] | None:
        u, _, route = state
        if u != self.goal and all(v in route for v in self.adj[u]):
            return {"stuck": u}
        return None

    def is_goal(self, state: Any) -> bool:
        return state[0] == self.goal

    def cost(self, state: Any) -> float:
        return float(state[1])

    def encode(self, state: Any) -> Any:
        return [state[0], state[1], list(state[2])]

    def decode(self, data: Any) -> Any:
        return (str(data[0]), int(data[1]), tuple(data[2]))

    def encode_move(self, move: Any) -> Any:
        return list(move)

    def intro(self, root: Any) -> list[str]:
        return [
            f"I search routes from {self.start} depth-first, trying cheap edges towards it first, keep the cheapest route to {self.goal} found so far, and cut any partial route that already costs as much."
        ]

    @staticmethod
    def _back(depth: int) -> str:
        return "go back to the start" if depth <= 0 else f"go back to step {depth}"

    def enter_text(self, parent: Any, move: Any, child: Any, depth: int, alt: bool, node: Node) -> str:
        u, v, w = move
        body = f"step {depth}: {u} -> {v}, cost {parent[1]} + {w} = {child[1]}."
        if child[0] == self.goal:
            body += f" That reaches {self.goal}: {' -> '.join(child[2])} costs {child[1]}, the best so far."
        if node.revisit:
            return f"{'Alternatively, back' if alt else 'Back'} to {body[:-1]}, a line I left unfinished."
        return f"Alternatively, {body}" if alt else body[0].upper() + body[1:]

    def fail_text(self, node: Node, parent: Any) -> str:
        back = self._back(node.depth - 1)
        route = " -> ".join(node.state[2])
        if node.outcome == "dead":
            return f"Wait, every neighbour of {node.state[0]} is already on this route: a dead end. Let me {back}."
        if node.outcome == "exhausted":
            if node.bound is None:
                return f"Wait, no way on from {route} reaches {self.goal}. Let me {back}."
            return f"Wait, nothing through {route} beats {node.bound:g}: every way on costs as much or more. Let me {back}."
        return f"Hmm, {node.nodes} partial routes from {route} and nothing better yet. I leave this line for now and {back}."

    def short(self, node: Node) -> str:
        route = " -> ".join(node.state[2])
        if node.outcome == "dead":
            return f"{route} (a dead end)"
        return f"{route} (nothing beats {node.bound:g})" if node.bound is not None else f"{route} (no way on)"

    def group_text(self, nodes: list[Node], parent: Any, depth: int) -> str:
        return "Hmm, I also try " + "; ".join(self.short(n) for n in nodes) + "."

    def conclude(self, goal: Any) -> tuple[str, str]:
        answer = " -> ".join(goal[2])
        return f"Nothing beats {goal[1]}, so the cheapest route is {answer}.", answer

    def guess(self, found: search.Search, line: list[Node]) -> tuple[str, str]:
        if found.goal is not None:
            answer = " -> ".join(found.goal.state[2])
            return (
                f"I have used my budget of {found.nodes} partial routes; the best route I have is {answer}, cost {found.goal.state[1]}, so I go with it.",
                answer,
            )
        route = list(line[-1].state[2])
        if route[-1] != self.goal:
            route.append(self.goal)
        answer = " -> ".join(route)
        return (
            f"I have used my budget of {found.nodes} partial routes without reaching {self.goal}; my guess is {answer}.",
            answer,
        )


FAMILIES.register(ShortestPath.name, ShortestPath())
