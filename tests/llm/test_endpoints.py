"""Several replicas behind one backend: balancing, circuit breaker, AIMD concurrency."""

from __future__ import annotations

import time

from reasonmill.llm.endpoints import Endpoint, PoolSettings
from reasonmill.llm.types import SamplingParams
from reasonmill.testing.loopback import Faults, LoopbackServer

from .conftest import user


def test_broken_replica_is_cut_out_and_probed_again(backend_for):
    with (
        LoopbackServer() as good1,
        LoopbackServer() as good2,
        LoopbackServer(faults=Faults(always_status=500)) as bad,
    ):
        b = backend_for(
            [good1.url, bad.url, good2.url],
            failure_threshold=3,
            cooldown_s=0.4,
            max_attempts=6,
            max_concurrency=8,
        )
        out = b.generate([user(f"q{i}") for i in range(60)], SamplingParams())
        assert all(r[0].ok for r in out)
        states = {s["url"]: s for s in b.endpoint_states()}
        assert states[bad.url]["state"] == "open" and states[bad.url]["times_opened"] >= 1
        assert states[bad.url]["served"] == 0
        assert good1.counts["requests"] + good2.counts["requests"] >= 60
        hits_while_open = bad.counts["requests"]
        assert hits_while_open <= 3 + 8  # threshold, plus what was in flight when it opened
        # After the cooldown the broken replica gets one probe, fails it and is opened for longer.
        time.sleep(0.5)
        out = b.generate([user(f"r{i}") for i in range(20)], SamplingParams())
        assert all(r[0].ok for r in out)
        assert bad.counts["requests"] == hits_while_open + 1
        assert b.endpoint_states()[1]["state"] == "open"
        # The replica heals: the next probe closes the circuit and it carries load again.
        bad.faults = Faults()
        time.sleep(1.0)  # cooldown doubled to 0.8 s
        b.generate([user(f"s{i}") for i in range(40)], SamplingParams())
        assert b.endpoint_states()[1]["state"] == "closed"
        assert b.endpoint_states()[1]["served"] > 1


def test_load_is_balanced_across_healthy_replicas(backend_for):
    with (
        LoopbackServer(faults=Faults(latency_s=0.02)) as a,
        LoopbackServer(faults=Faults(latency_s=0.02)) as c,
    ):
        b = backend_for([a.url, c.url], max_concurrency=4)
        b.generate([user(f"q{i}") for i in range(40)], SamplingParams())
        assert abs(a.counts["requests"] - c.counts["requests"]) <= 8


def test_aimd_halves_on_429_and_grows_back():
    ep = Endpoint("u", None, PoolSettings(max_concurrency=16, min_concurrency=1))
    now = time.monotonic()
    ep.on_start()
    ep.on_done("rate_limited", 0.01, now)
    assert ep.limit == 8
    for _ in range(200):
        ep.on_start()
        ep.on_done("ok", 0.01, now)
    assert ep.limit == 16
    for _ in range(10):
        ep.on_start()
        ep.on_done("rate_limited", 0.01, now)
    assert ep.limit == 1


def test_latency_rise_shrinks_the_limit():
    ep = Endpoint("u", None, PoolSettings(max_concurrency=16, latency_factor=2.0))
    now = time.monotonic()
    for _ in range(5):
        ep.on_start()
        ep.on_done("ok", 0.1, now)
    for k in range(30):  # one slow reply per second: the latency stays high round after round
        ep.on_start()
        ep.on_done("ok", 1.0, now + k)
    assert ep.limit < 8


def test_one_slow_round_cuts_the_limit_once():
    # 64 replies of one round come back slow together (a GC pause, one slow batch): one cut, not
    # 64 (0.9**64 of 64 would be 1, and the additive increase would need dozens of rounds)
    ep = Endpoint("u", None, PoolSettings(max_concurrency=64, latency_factor=2.0))
    now = 1000.0
    for _ in range(5):
        ep.on_start()
        ep.on_done("ok", 0.1, now)
    for i in range(64):
        ep.on_start()
        ep.on_done("ok", 1.0, now + 1.0 + i * 0.001)
    assert 64 * 0.9 - 1 <= ep.limit < 64
    for i in range(64):  # the next round is slow too: one more cut
        ep.on_start()
        ep.on_done("ok", 1.0, now + 2.5 + i * 0.001)
    assert 64 * 0.81 - 1 <= ep.limit < 64 * 0.9


def test_circuit_opens_half_opens_and_closes():
    ep = Endpoint("u", None, PoolSettings(failure_threshold=2, cooldown_s=1.0))
    t = 100.0
    for _ in range(2):
        ep.on_start()
        ep.on_done("failed", 0.01, t)
    assert ep.state == "open" and not ep.available(t + 0.5)
    assert ep.available(t + 1.1) and ep.state == "half_open"
    ep.on_start()
    assert not ep.available(t + 1.1)  # one probe at a time
    ep.on_done("failed", 0.01, t + 1.2)
    assert ep.state == "open" and ep.cooldown == 2.0
    assert ep.available(t + 3.3)
    ep.on_start()
    ep.on_done("ok", 0.01, t + 3.3)
    assert ep.state == "closed" and ep.cooldown == 1.0


def test_dead_single_server_gives_error_results_not_a_hang(backend_for):
    with LoopbackServer(faults=Faults(always_status=503)) as dead:
        b = backend_for(dead.url, failure_threshold=2, cooldown_s=0.2, max_attempts=3)
        t0 = time.monotonic()
        out = b.generate([user(f"q{i}") for i in range(200)], SamplingParams())
        assert time.monotonic() - t0 < 5
        assert all(r[0].finish_reason == "error" for r in out)
        assert dead.counts["requests"] < 200  # the open circuit kept most requests off the dead server
