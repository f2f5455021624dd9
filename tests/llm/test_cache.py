"""The request cache: reuse on rerun, regenerate only what a change affects, never keep bad replies."""

from __future__ import annotations

import threading

from reasonmill.llm.cache import CachedBackend, RequestCache, request_key
from reasonmill.llm.types import Completion, SamplingParams
from reasonmill.testing.loopback import Faults

from .conftest import user


def test_hit_on_rerun_miss_when_one_param_changes(server, backend_for, tmp_path):
    cache = RequestCache(tmp_path / "llm-cache.sqlite")
    b = CachedBackend(backend_for(server.url), cache, tag="distill:v1")
    convs = [user(f"q{i}") for i in range(5)]
    first = b.generate(convs, SamplingParams(n=2, temperature=0.7))
    assert server.counts["requests"] == 5 and len(cache) == 10
    again = b.generate(convs, SamplingParams(n=2, temperature=0.7))
    assert server.counts["requests"] == 5  # all from the cache
    assert [[c.text for c in r] for r in again] == [[c.text for c in r] for r in first]
    assert all(c.meta["cached"] for r in again for c in r)
    assert b.stats.cache_hits == 10
    # A fresh process (new cache object on the same file) reuses it too.
    b2 = CachedBackend(backend_for(server.url), RequestCache(tmp_path / "llm-cache.sqlite"), tag="distill:v1")
    b2.generate(convs, SamplingParams(n=2, temperature=0.7))
    assert server.counts["requests"] == 5
    # One parameter changes: only the requests that use it are asked again.
    b.generate(convs[:2], SamplingParams(n=2, temperature=0.9))
    assert server.counts["requests"] == 7
    # A new stage version misses; one more conversation misses alone.
    b.with_tag("distill:v2").generate(convs[:1], SamplingParams(n=2, temperature=0.7))
    b.generate(convs + [user("new")], SamplingParams(n=2, temperature=0.7))
    assert server.counts["requests"] == 9


def test_truncated_and_failed_replies_are_not_cached(server, backend_for, tmp_path):
    cache = RequestCache(tmp_path / "c.sqlite")
    b = CachedBackend(backend_for(server.url, max_attempts=1), cache)
    server.faults = Faults(truncate_every=1)
    out = b.generate([user("a question of several words")], SamplingParams())
    assert out[0][0].finish_reason == "length" and len(cache) == 0
    server.faults = Faults(always_status=500)
    out = b.generate([user("a question of several words")], SamplingParams())
    assert out[0][0].finish_reason == "error" and len(cache) == 0
    server.faults = Faults()
    out = b.generate([user("a question of several words")], SamplingParams())
    assert out[0][0].ok and len(cache) == 1
    assert server.counts["requests"] == 3


def test_only_missing_slots_are_taken_from_a_repeat_of_the_same_request(server, backend_for, tmp_path):
    # Slot j is the j-th sample of a request; a request with a missing slot is asked again as a
    # whole (same n, same seed), and only the missing slot is taken from the answer, so a
    # deterministic server gives the same samples however the cache was filled.
    cache = RequestCache(tmp_path / "c.sqlite")
    b = CachedBackend(backend_for(server.url), cache)
    key = request_key("loopback", "chat", user("q"), SamplingParams(n=3))
    cache.put(key, {0: Completion("kept 0", "stop"), 1: Completion("cut", "length"), 2: Completion("kept 2", "stop")})
    assert len(cache) == 2
    seen_n: list[int] = []
    server._state.responder = lambda req: (seen_n.append(req.params["n"]), f"new {req.sample}")[1]
    out = b.generate([user("q")], SamplingParams(n=3))
    assert [c.text for c in out[0]] == ["kept 0", "new 1", "kept 2"]
    assert seen_n == [3, 3, 3] and len(cache) == 3  # one request for n = 3 (the responder runs per choice)
    out = b.generate([user("q")], SamplingParams(n=3))
    assert [c.text for c in out[0]] == ["kept 0", "new 1", "kept 2"] and len(seen_n) == 3


def test_continue_prefix_is_cached_by_prefix_and_banned_words(server, backend_for, tmp_path):
    # The server is declared to continue prefixes (no probe requests), so every request is counted.
    b = CachedBackend(backend_for(server.url, prefix_mode="chat_continue"), RequestCache(tmp_path / "c.sqlite"), tag="retro:v1")
    b.continue_prefix([user("q")], ["p1"], SamplingParams(), ["Wait"])
    b.continue_prefix([user("q")], ["p1"], SamplingParams(), ["Wait"])
    assert server.counts["requests"] == 1
    b.continue_prefix([user("q")], ["p2"], SamplingParams(), ["Wait"])
    b.continue_prefix([user("q")], ["p1"], SamplingParams(), ["Wait", "Hmm"])
    assert server.counts["requests"] == 3


def test_cache_is_safe_across_threads(tmp_path):
    cache = RequestCache(tmp_path / "c.sqlite")

    def writer(i: int) -> None:
        for j in range(20):
            cache.put(f"k{j % 5}", {i * 20 + j: Completion(f"t{i}-{j}", "stop")})
            cache.put("race", {j: Completion(f"t{i}-{j}", "stop")})  # every thread writes the same slots

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 80 + 20
    assert len(cache.get("k0", 100)) == 16
    race = cache.get("race", 100)
    assert sorted(race) == list(range(20)) and all(c.text.endswith(f"-{j}") for j, c in race.items())


def test_make_backend_with_a_cache_path(server, tmp_path):
    from reasonmill.llm.registry import make_backend

    cfg = {"kind": "openai", "model": "loopback", "base_url": server.url}
    for _ in range(2):
        b = make_backend(cfg, cache=tmp_path / "out" / "llm-cache.sqlite", tag="seed_synthesis:v1")
        assert isinstance(b, CachedBackend)
        b.generate([user("q")], SamplingParams())
        b.close()
    assert server.counts["requests"] == 1


def test_a_missing_slot_is_asked_with_the_request_s_own_seed(server, backend_for, tmp_path):
    cache = RequestCache(tmp_path / "c.sqlite")
    b = CachedBackend(backend_for(server.url), cache)
    sampling = SamplingParams(n=3, seed=11)
    cache.put(request_key("loopback", "chat", user("q"), sampling), {0: Completion("kept", "stop")})
    seeds: list[int] = []
    server._state.responder = lambda req: (seeds.append(req.params["seed"]), f"new {req.sample}")[1]
    out = b.generate([user("q")], sampling)
    assert [c.text for c in out[0]] == ["kept", "new 1", "new 2"]
    assert seeds and set(seeds) == {11}
