"""Shortest path on a weighted undirected graph, by Dijkstra's algorithm.

Level sets the graph: nodes (5, 7, 9, 12, 15), extra edges beyond a random spanning tree, and
weights (1–9 up to 1–20). The question asks for the cheapest route between two nodes; graphs are
redrawn until that route is unique. The answer (kind "exact") is the route as node letters joined
by " -> ", e.g. "A -> D -> C".

The solver runs Dijkstra: each settled node is a node expanded and a narrated step. When a
relaxation later finds a cheaper way into a node, the earlier tentative route into it was a real
wrong branch of the search; the narrated detours are those superseded routes ("via E costs 14,
but via B it is 11"), then, if more are asked, other simple routes to the goal that cost more,
then nodes settled out of turn.
"""

from __future__ import annotations

import heapq
import random

from pydantic import Field, field_validator

from reasonmill.generators.base import Family, FamilyParams, SolverRun, detour, finish, spread
from reasonmill.generators.registry import FAMILIES
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

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        adj, start, goal = (
            problem.meta["spec"]["adj"],
            problem.meta["spec"]["start"],
            problem.meta["spec"]["goal"],
        )
        dist, prev, order, superseded = dijkstra(adj, start)
        path = [
            f"I run Dijkstra from {start}: settle the closest unsettled node, then update its neighbours."
        ]
        for u in order:
            if u == start:
                path.append(f"Settle {start} at cost 0.")
            else:
                path.append(
                    f"Settle {u} at cost {dist[u]}, reached from {prev[u]} ({dist[prev[u]]} + {adj[prev[u]][u]})."
                )
            if u == goal:
                break
        route = [goal]
        while route[-1] != start:
            route.append(prev[route[-1]])
        answer = " -> ".join(reversed(route))
        path.append(f"Following the predecessors back from {goal}: {answer}, total cost {dist[goal]}.")

        step_of = {u: i + 1 for i, u in enumerate(order[: len(path) - 2])}
        real = [(step_of[new], v, old, oc, new, nc) for v, old, oc, new, nc in superseded if new in step_of]
        picks = sorted(rng.sample(real, min(backtracks, len(real))))
        detours = [
            detour(
                k,
                f"go to {v} through {old}: that costs {oc}.",
                f"But through {new} it costs {nc}.",
                reason=f"{nc} < {oc}, so the route through {old} is not the cheapest way into {v}.",
            )
            for k, v, old, oc, new, nc in picks
        ]
        if len(detours) < backtracks:
            for k, (r, cost) in zip(
                spread(rng, backtracks - len(detours), len(path) - 1),
                _other_routes(adj, start, goal, answer, backtracks - len(detours)),
                strict=False,
            ):
                detours.append(
                    detour(
                        k,
                        f"take {r}.",
                        f"Its cost is {cost}.",
                        reason=f"{cost} > {dist[goal]}, so this route is longer.",
                    )
                )
        # then nodes settled out of turn: a later node picked before the cheapest one
        early = [
            (i, order[i], v)
            for i in range(1, len(path) - 2)
            for v in order[i + 1 :]
            if dist[v] > dist[order[i]]
        ]
        for i, u, v in sorted(rng.sample(early, min(backtracks - len(detours), len(early)))):
            detours.append(
                detour(
                    i,
                    f"settle {v} next.",
                    f"Its cost is at least {dist[v]}, more than the {dist[u]} of {u}.",
                    reason=f"Dijkstra settles the cheapest node first, so {v} must wait.",
                )
            )
        settled = order[: order.index(goal) + 1]
        return finish(path, detours, answer, len(settled) + sum(len(adj[u]) for u in settled))


def _other_routes(
    adj: dict[str, dict[str, int]], start: str, goal: str, best: str, limit: int
) -> list[tuple[str, int]]:
    """The `limit` cheapest simple routes from start to goal other than `best`, among routes at
    most two hops longer than it (a bounded DFS, as a person would list nearby alternatives)."""
    max_len = best.count("->") + 3
    found: list[tuple[int, str]] = []
    stack = [(start, [start], 0)]
    while stack and len(found) < 500:
        u, route, cost = stack.pop()
        for v, w in adj[u].items():
            if v in route:
                continue
            if v == goal:
                text = " -> ".join([*route, v])
                if text != best:
                    found.append((cost + w, text))
            elif len(route) < max_len:
                stack.append((v, [*route, v], cost + w))
    return [(text, cost) for cost, text in sorted(found)[:limit]]


FAMILIES.register(ShortestPath.name, ShortestPath())
