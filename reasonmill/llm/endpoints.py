"""Several replicas of one model behind one backend: balancing, adaptive concurrency, circuit breaking.

Each `Endpoint` keeps its own concurrency limit, adapted AIMD style (TCP's rule, as in Netflix's
concurrency-limits): every success adds 1/limit (≈ +1 per round of requests) up to the cap; a 429
halves it; a latency well above the best seen shrinks it by 10 %, so a replica that starts to
queue gets less traffic before it starts to refuse. The latency cut is made at most once per round
trip (TCP's once-per-window rule): the requests of one slow round all come back slow together, and
cutting on each of them would take a limit of 64 down to 1 after one hiccup (a GC pause, one slow
batch), from where the additive increase needs dozens of rounds to recover. The limit starts at
the cap, so a healthy replica is driven at full concurrency from the first request.

Each endpoint also has a circuit breaker: after `failure_threshold` consecutive failures (5xx,
dropped connections, timeouts — 429 is back-pressure, not failure) the circuit opens and the
endpoint gets no traffic for `cooldown_s`; then one probe request is let through (half-open): a
success closes the circuit, a failure reopens it for twice as long (capped at `cooldown_max_s`).

`EndpointPool.acquire()` hands out the endpoint with the most spare capacity among those that may
take a request, or waits until one can. When every circuit is open a request waits at most
`max_open_wait_s` for one to half-open, then fails with `CircuitOpenError`, which the backend
treats as a retryable failure: a dead server turns a batch into error results in about
`max_attempts` × (wait + backoff), instead of hanging the build on one probe at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

C = TypeVar("C")
logger = logging.getLogger(__name__)

Outcome = Literal["ok", "rate_limited", "failed", "neutral"]


class CircuitOpenError(Exception):
    """No endpoint could take a request for `max_open_wait_s`: every circuit is open."""


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """Knobs of the pool; see the module docstring for what each does."""

    max_concurrency: int = 64
    min_concurrency: int = 1
    latency_factor: float = 3.0
    failure_threshold: int = 5
    cooldown_s: float = 10.0
    cooldown_max_s: float = 120.0


class Endpoint(Generic[C]):
    """One replica: its client, concurrency limit, latency estimate and circuit state."""

    def __init__(self, url: str, client: C, settings: PoolSettings) -> None:
        self.url, self.client, self.s = url, client, settings
        self.limit = float(settings.max_concurrency)
        self.in_flight = 0
        self.ewma_latency: float | None = None
        self.min_latency: float | None = None
        self.last_cut = float("-inf")  # when the latency rule last cut the limit
        self.consecutive_failures = 0
        self.state: Literal["closed", "open", "half_open"] = "closed"
        self.open_until = 0.0
        self.cooldown = settings.cooldown_s
        self.probing = False
        self.served = 0
        self.failed = 0
        self.times_opened = 0

    def available(self, now: float) -> bool:
        """May this endpoint take one more request now?"""
        if self.state == "open":
            if now < self.open_until:
                return False
            self.state = "half_open"
        if self.state == "half_open":
            return not self.probing
        return self.in_flight < int(self.limit)

    def spare(self) -> float:
        """Free share of the limit; the balancer picks the endpoint with the most."""
        return (self.limit - self.in_flight) / self.limit

    def on_start(self) -> None:
        """Book a request as sent."""
        self.in_flight += 1
        if self.state == "half_open":
            self.probing = True

    def on_done(self, outcome: Outcome, latency: float, now: float) -> None:
        """Adapt the limit and the circuit to how the request went."""
        self.in_flight -= 1
        was_probe, self.probing = self.probing and self.state == "half_open", False
        s = self.s
        if outcome == "ok":
            self.served += 1
            self.consecutive_failures = 0
            if self.state != "closed":
                self.state, self.cooldown = "closed", s.cooldown_s
            self.min_latency = latency if self.min_latency is None else min(self.min_latency, latency)
            self.ewma_latency = (
                latency if self.ewma_latency is None else 0.9 * self.ewma_latency + 0.1 * latency
            )
            if self.ewma_latency > s.latency_factor * self.min_latency and self.ewma_latency > 0.05:
                if now - self.last_cut >= self.ewma_latency:  # once per round trip
                    self.limit = max(s.min_concurrency, self.limit * 0.9)
                    self.last_cut = now
            else:
                self.limit = min(s.max_concurrency, self.limit + 1.0 / self.limit)
        elif outcome == "rate_limited":
            self.limit = max(s.min_concurrency, self.limit / 2)
            if was_probe:
                self.state = "closed"  # it answered: alive, only busy
        elif outcome == "failed":
            self.failed += 1
            self.consecutive_failures += 1
            if was_probe or self.consecutive_failures >= s.failure_threshold:
                if was_probe:
                    self.cooldown = min(s.cooldown_max_s, self.cooldown * 2)
                if self.state != "open":
                    self.times_opened += 1
                    logger.warning("circuit open for %s for %.1fs", self.url, self.cooldown)
                self.state, self.open_until = "open", now + self.cooldown

    def snapshot(self) -> dict[str, object]:
        """State for logs and tests."""
        return {
            "url": self.url,
            "state": self.state,
            "limit": round(self.limit, 2),
            "in_flight": self.in_flight,
            "served": self.served,
            "failed": self.failed,
            "times_opened": self.times_opened,
        }


@dataclass(slots=True)
class Lease(Generic[C]):
    """One request's hold on an endpoint; set `outcome` before the `acquire` block ends."""

    endpoint: Endpoint[C]
    outcome: Outcome = "neutral"


class EndpointPool(Generic[C]):
    """Hands out endpoints to requests; see the module docstring for the policy."""

    def __init__(self, endpoints: Sequence[Endpoint[C]], max_open_wait_s: float = 10.0) -> None:
        if not endpoints:
            raise ValueError("an endpoint pool needs at least one endpoint")
        self.endpoints = list(endpoints)
        self.max_open_wait_s = max_open_wait_s
        self._cond: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        # Created lazily so it binds to the loop that runs the requests.
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    def _pick(self, now: float) -> Endpoint[C] | None:
        best: Endpoint[C] | None = None
        for ep in self.endpoints:
            if ep.available(now) and (best is None or ep.spare() > best.spare()):
                best = ep
        return best

    def _all_unavailable(self) -> bool:
        # Open, or half-open with its one probe already out: no endpoint can take work soon.
        return all(ep.state != "closed" for ep in self.endpoints)

    def _next_wake(self, now: float) -> float | None:
        opens = [ep.open_until - now for ep in self.endpoints if ep.state == "open"]
        return max(0.01, min(opens)) if opens else None

    def _free_slots(self, now: float) -> int:
        return sum(
            max(0, int(ep.limit) - ep.in_flight) if ep.state == "closed" else 1 for ep in self.endpoints
        )

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Lease[C]]:
        """`async with pool.acquire() as lease:` use `lease.endpoint`, set `lease.outcome`.

        Waiters are woken only as many as there are free slots, so thousands of queued requests
        cost O(1) per completion, not O(waiters).
        """
        cond = self._condition()
        since = time.monotonic()
        async with cond:
            while True:
                now = time.monotonic()
                ep = self._pick(now)
                if ep is not None:
                    break
                timeout = self._next_wake(now)
                if self._all_unavailable():
                    remaining = self.max_open_wait_s - (now - since)
                    if remaining <= 0:
                        cond.notify(1)  # pass the news on: the next waiter may be out of time too
                        urls = [e.url for e in self.endpoints]
                        raise CircuitOpenError(f"every endpoint's circuit is open: {urls}")
                    timeout = remaining if timeout is None else min(timeout, remaining)
                try:
                    await asyncio.wait_for(cond.wait(), timeout=timeout)
                except TimeoutError:
                    pass
            ep.on_start()
        lease: Lease[C] = Lease(ep)
        started = time.monotonic()
        try:
            yield lease
        finally:
            now = time.monotonic()
            ep.on_done(lease.outcome, now - started, now)
            async with cond:
                cond.notify(max(1, self._free_slots(now)))

    def snapshot(self) -> list[dict[str, object]]:
        """Per-endpoint state."""
        return [ep.snapshot() for ep in self.endpoints]
