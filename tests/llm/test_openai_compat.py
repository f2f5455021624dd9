"""The "openai" backend over real HTTP on loopback: round trip, retries, faults, banned openings."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from reasonmill.errors import ConfigError, LLMRequestError, RegistryError
from reasonmill.llm import LLMBackend, make_backend
from reasonmill.llm.types import Message, SamplingParams
from reasonmill.testing.loopback import Faults, LoopbackServer, ReplyRequest

from .conftest import user


def test_round_trip_chat_n_samples(server, backend_for):
    b = backend_for(server.url)
    assert isinstance(b, LLMBackend)
    out = b.generate([user("two plus two"), [Message("user", "hello")]], SamplingParams(n=3, max_tokens=50))
    assert [len(r) for r in out] == [3, 3]
    assert out[0][0].text == "echo 0: two plus two" and out[0][2].text == "echo 2: two plus two"
    assert out[1][1].text == "echo 1: hello"
    assert all(c.finish_reason == "stop" and c.ok for r in out for c in r)
    # The loopback counts prompt tokens of the rendered chat template ("<|user|>", three words,
    # "<|end|>", "<|assistant|>"), as a real server counts its template's tokens.
    assert out[0][0].prompt_tokens == 6 and out[0][0].model == "loopback"
    assert b.stats.requests == 2 and b.stats.prompt_tokens == 10 and b.stats.completion_tokens > 0


def test_continue_prefix_chat_and_completions_modes(server, backend_for):
    seen: list[ReplyRequest] = []

    def responder(req: ReplyRequest) -> str:
        seen.append(req)
        return " then 4."

    server._state.responder = responder
    out = backend_for(server.url).continue_prefix([user("q")], ["2+2 is"], SamplingParams())
    assert out[0][0].text == " then 4."
    assert seen[-1].kind == "chat" and seen[-1].prefix == "2+2 is"
    assert seen[-1].params["add_generation_prompt"] is False
    out = backend_for(server.url, prefix_mode="completions").continue_prefix(
        [user("q")], ["2+2 is"], SamplingParams()
    )
    assert out[0][0].text == " then 4."
    assert seen[-1].kind == "completion" and seen[-1].prompt.endswith("assistant: 2+2 is")


def test_retry_after_is_honoured(server, backend_for):
    server.faults = Faults(rate_limit_every=2, retry_after_s=0.6)
    b = backend_for(server.url)
    b.generate([user("first")], SamplingParams())  # request 1: fine
    t0 = time.monotonic()
    out = b.generate([user("second")], SamplingParams())  # request 2: 429, retry after 0.6 s
    waited = time.monotonic() - t0
    assert out[0][0].ok
    assert waited >= 0.6, waited
    assert b.stats.rate_limited == 1 and b.stats.retries == 1
    # Without Retry-After the wait is the (small) exponential backoff, not 0.6 s.
    server.faults = Faults(error_every=2)
    b.generate([user("third")], SamplingParams())
    t0 = time.monotonic()
    assert b.generate([user("fourth")], SamplingParams())[0][0].ok
    assert time.monotonic() - t0 < 0.5


def test_server_errors_and_dropped_connections_are_retried(server, backend_for):
    server.faults = Faults(error_every=4, drop_every=7)
    b = backend_for(server.url, max_attempts=8, failure_threshold=100)
    out = b.generate([user(f"q{i}") for i in range(30)], SamplingParams())
    assert all(r[0].ok for r in out)
    assert server.counts["error"] > 0 and server.counts["drop"] > 0
    assert b.stats.retries == server.counts["error"] + server.counts["drop"]


def test_malformed_json_becomes_error_result_not_a_crash(server, backend_for):
    server.faults = Faults(malformed_every=3)
    b = backend_for(server.url, failure_threshold=100)  # one replica: keep its circuit out of this test
    out = b.generate([user(f"q{i}") for i in range(12)], SamplingParams())
    assert all(r[0].ok for r in out)  # retried onto good replies
    server.faults = Faults(malformed_prob=1.0)
    out = b.generate([user("a"), user("b")], SamplingParams(n=2))
    assert [len(r) for r in out] == [2, 2]
    c = out[0][0]
    assert c.finish_reason == "error" and not c.ok
    assert "malformed reply after 4 tries" in (c.error or "")
    assert c.meta["raw"].startswith('{"id"')
    assert b.stats.failures == 2


def test_truncated_reply_has_finish_reason_length(server, backend_for):
    server.faults = Faults(truncate_every=1)
    out = backend_for(server.url).generate([user("a long question with many words")], SamplingParams())
    assert out[0][0].finish_reason == "length" and not out[0][0].ok


def test_bad_key_or_model_raises_at_once(server, backend_for):
    server.faults = Faults(always_status=401)
    with pytest.raises(LLMRequestError, match="401"):
        backend_for(server.url).generate([user("a")], SamplingParams())
    assert server.counts["requests"] == 1


def test_banned_opening_words_resampled(server, backend_for):
    calls: dict[str, int] = {}

    def responder(req: ReplyRequest) -> str:
        key = req.messages[0]["content"]
        calls[key] = calls.get(key, 0) + 1
        if key == "stubborn" or calls[key] == 1:
            return "Wait, let me check again."
        return " so x = 3."

    server._state.responder = responder
    # known to continue: no probe
    b = backend_for(server.url, banned_max_tries=3, prefix_mode="chat_continue")
    out = b.continue_prefix(
        [user("easy"), user("stubborn")],
        ["x + 1 = 4", "y"],
        SamplingParams(seed=7),
        ["Wait", "Alternatively"],
    )
    assert out[0][0].text == " so x = 3." and "banned_violation" not in out[0][0].meta
    assert out[1][0].meta["banned_violation"] == "Wait"
    assert calls == {"easy": 2, "stubborn": 3}
    assert b.stats.banned_resamples == 3


def test_sync_facade_works_from_threads_and_inside_a_running_loop(server, backend_for):
    b = backend_for(server.url)
    results: list[str] = []

    def worker(i: int) -> None:
        results.append(b.generate([user(f"t{i}")], SamplingParams())[0][0].text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [f"echo 0: t{i}" for i in range(4)]

    async def inside_loop() -> str:
        return b.generate([user("in loop")], SamplingParams())[0][0].text

    assert asyncio.run(inside_loop()) == "echo 0: in loop"


def test_concurrency_cap_is_respected():
    in_flight, peak = 0, 0
    lock = threading.Lock()

    def responder(req: ReplyRequest) -> str:
        return "ok"

    with LoopbackServer(responder=responder, faults=Faults(latency_s=0.05)) as s:
        b = make_backend({"kind": "openai", "model": "m", "base_url": s.url, "max_concurrency": 4})
        orig = b.pool.acquire

        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def counting():
            nonlocal in_flight, peak
            async with orig() as lease:
                with lock:
                    in_flight += 1
                    peak = max(peak, in_flight)
                try:
                    yield lease
                finally:
                    with lock:
                        in_flight -= 1

        b.pool.acquire = counting
        t0 = time.monotonic()
        b.generate([user(str(i)) for i in range(20)], SamplingParams())
        elapsed = time.monotonic() - t0
        b.close()
    assert peak == 4
    assert elapsed >= 20 / 4 * 0.05 * 0.9


def test_make_backend_validates_config(monkeypatch, server):
    with pytest.raises(RegistryError, match="known llm backends: openai, transformers, vllm, vllm_server"):
        make_backend({"kind": "nope"})
    with pytest.raises(ConfigError, match="llm.max_concurency"):
        make_backend({"kind": "openai", "model": "m", "base_url": server.url, "max_concurency": 3})
    with pytest.raises(ConfigError, match="RM_TEST_KEY is not set"):
        monkeypatch.delenv("RM_TEST_KEY", raising=False)
        make_backend({"kind": "openai", "model": "m", "base_url": server.url, "api_key_env": "RM_TEST_KEY"})
    monkeypatch.setenv("RM_TEST_KEY", "sk-secret")
    b = make_backend({"kind": "openai", "model": "m", "base_url": server.url, "api_key_env": "RM_TEST_KEY"})
    assert "sk-secret" not in repr(b.config)
    b.close()


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])  # both are dependencies
def test_faults_and_timeouts_on_each_transport(server, backend_for, transport):
    server.faults = Faults(
        error_every=5, drop_every=6, malformed_every=7, rate_limit_every=11, retry_after_s=0.05
    )
    b = backend_for(server.url, http_transport=transport, max_attempts=8, failure_threshold=100)
    out = b.generate([user(f"q{i}") for i in range(25)], SamplingParams())
    assert all(r[0].ok for r in out)
    assert b.stats.retries >= 4
    # A reply slower than the per-request timeout is a timeout, retried, then an error result.
    server.faults = Faults(latency_s=1.0)
    fast = backend_for(server.url, http_transport=transport, timeout_s=0.2, max_attempts=2)
    t0 = time.monotonic()
    out = fast.generate([user("slow")], SamplingParams())
    assert out[0][0].finish_reason == "error" and "after 2 tries" in out[0][0].error
    assert time.monotonic() - t0 < 0.9


def test_banned_first_token_by_logit_bias_when_ids_are_known(server, backend_for):
    seen: list[dict] = []

    def responder(req: ReplyRequest) -> str:
        seen.append(dict(req.params))
        if req.params.get("logit_bias"):
            return "So then"  # cut to one token by max_tokens=1
        assert req.prefix.endswith("So")
        return " x = 3."

    server._state.responder = responder
    b = backend_for(server.url, banned_token_ids={"Wait": [42, 7]}, prefix_mode="chat_continue")
    out = b.continue_prefix([user("q")], ["x + 1 = 4."], SamplingParams(max_tokens=20, n=2), ["Wait", "Hmm"])
    assert [c.text for c in out[0]] == ["So x = 3.", "So x = 3."]
    assert out[0][0].meta["first_token_logit_bias"] and "banned_violation" not in out[0][0].meta
    assert (
        seen[0]["logit_bias"] == {"42": -100, "7": -100} and seen[0]["max_tokens"] == 1 and seen[0]["n"] == 2
    )
    assert all("logit_bias" not in p and p["max_tokens"] == 19 and p["n"] == 1 for p in seen[2:])


def test_gc_thresholds_are_relaxed_during_a_batch_and_restored(server, backend_for):
    import gc

    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    server._state.responder = lambda req: (seen.append(gc.get_threshold()), "ok")[1]
    backend_for(server.url, relax_gc=True).generate([user("q")], SamplingParams())  # opt-in
    assert seen[0][1] >= 1000 and seen[0][2] >= 1000
    assert gc.get_threshold() == before
    backend_for(server.url).generate([user("q")], SamplingParams())  # by default: untouched
    assert seen[1] == before
