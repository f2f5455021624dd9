"""OpenAI-compatible HTTP backend: vLLM serve, SGLang, llama.cpp server, OpenAI itself.

Per request:
- a replica from the `EndpointPool` (balanced, adaptive AIMD concurrency, circuit breaker);
- one POST through the transport (`reasonmill.llm.transport`) with a *total* deadline of
  `timeout_s` per attempt and a size limit on the reply (`max_reply_bytes`, default from
  `max_tokens`);
- retries with tenacity under the policy of `reasonmill.llm.retry` (429/5xx/timeouts/drops/
  malformed bodies; `Retry-After` honoured), so a retry can move to another replica and is counted;
- after the last attempt, "error" Completions that keep the last real error and the raw body
  (never just "every circuit is open"), so one bad item never sinks a batch; 401/403/404 raise
  `LLMRequestError` at once because every other request would fail alike;
- n samples that are really n: a server that returns fewer choices than asked (llama.cpp's and
  several proxies ignore `n`) gets the missing slots asked one by one, slot j with a seed derived
  from the request's seed and j, so every slot is reproducible on a deterministic server.

Prefix continuation (`_continue`, for `continue_prefix` in `BaseBackend`):
- `prefix_mode="chat_continue"` (default): the prefix is sent as a final assistant message with
  vLLM's/SGLang's `continue_final_message=True, add_generation_prompt=False` (extra body);
- `prefix_mode="completions"`: the conversation is rendered as plain `role: content` blocks
  followed by the prefix and sent to `/v1/completions` (for base models).
When `banned_token_ids` gives the token ids that start a banned word (for the served model's
tokenizer), the first token is sampled alone with those ids at `logit_bias` -100 and each sample
then continues freely from prefix + that token; the rejection check in `BaseBackend` follows.

API key: read from the environment variable named by `api_key_env`, never from the config text,
never logged; servers that need none (vLLM, loopback) get the placeholder "EMPTY".
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from reasonmill.errors import ConfigError, LLMCapabilityError, LLMRequestError
from reasonmill.llm.aio import LoopThread
from reasonmill.llm.base import BackendStats, BaseBackend, derived_seed
from reasonmill.llm.endpoints import CircuitOpenError, Endpoint, EndpointPool, PoolSettings
from reasonmill.llm.registry import BACKENDS, BackendConfig, BackendKind
from reasonmill.llm.replies import parse_reply
from reasonmill.llm.retry import (
    FATAL_STATUS,
    HTTPStatusError,
    MalformedReply,
    TransportError,
    WaitRetryAfter,
    failure_cause,
    retryable,
)
from reasonmill.llm.transport import make_transport
from reasonmill.llm.types import (
    Completion,
    Message,
    MessageLike,
    SamplingParams,
    as_messages,
    error_completion,
)

logger = logging.getLogger(__name__)

_CLIENT_OPERATIONAL = frozenset(
    {
        "max_concurrency",
        "min_concurrency",
        "timeout_s",
        "connect_timeout_s",
        "max_attempts",
        "backoff_initial_s",
        "backoff_max_s",
        "retry_after_max_s",
        "failure_threshold",
        "cooldown_s",
        "cooldown_max_s",
        "latency_factor",
        "http_transport",
        "relax_gc",
        "max_reply_bytes",
    }
)


class ClientOptions(BackendConfig):
    """How the HTTP client behaves; shared by the `openai` and `vllm_server` kinds."""

    operational: ClassVar[frozenset[str]] = _CLIENT_OPERATIONAL

    max_concurrency: int = Field(64, ge=1, description="in-flight requests per endpoint, at most")
    min_concurrency: int = Field(1, ge=1)
    timeout_s: float = Field(
        600.0, gt=0, description="total deadline of one attempt, body included (a long trace takes minutes)"
    )
    connect_timeout_s: float = Field(10.0, gt=0)
    max_attempts: int = Field(6, ge=1, description="tries per request, first included")
    backoff_initial_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    retry_after_max_s: float = Field(120.0, ge=0, description="cap on a server's Retry-After")
    failure_threshold: int = Field(5, ge=1, description="consecutive failures that open a circuit")
    cooldown_s: float = Field(10.0, gt=0)
    cooldown_max_s: float = Field(120.0, gt=0)
    latency_factor: float = Field(3.0, gt=1)
    prefix_mode: Literal[
        "auto", "chat_continue", "completions_template", "completions_plain", "completions"
    ] = Field(
        "auto",
        description=(
            "how an assistant prefix is continued: auto = probe the server (chat_continue when it really "
            "continues, else completions_template when `tokenizer` is set, else refuse)"
        ),
    )
    tokenizer: str | None = Field(
        None,
        description="a Hugging Face tokenizer folder whose chat template renders prompts for completions_template",
    )
    n_mode: Literal["auto", "native", "separate"] = Field(
        "auto",
        description="n samples in one request (native), one request per sample (separate), or learn it (auto)",
    )
    banned_max_tries: int = Field(4, ge=1)
    extra_body: dict[str, Any] = Field(default_factory=dict, description="sent with every request")
    banned_token_ids: dict[str, list[int]] = Field(
        default_factory=dict,
        description="word -> ids of the tokens that can start it, for this server's tokenizer; enables logit_bias",
    )
    http_transport: Literal["auto", "httpx", "aiohttp"] = Field(
        "auto", description="HTTP client; auto = aiohttp when importable (C parser, less CPU per request)"
    )
    relax_gc: bool = Field(
        False, description="rarer full GC collections while a batch is in flight (very high rates)"
    )
    max_reply_bytes: int | None = Field(
        None, ge=1024, description="largest reply body accepted; default 64 KiB + 64 bytes per asked token"
    )

    @field_validator("prefix_mode")
    @classmethod
    def _old_name(cls, v: str) -> str:
        return "completions_plain" if v == "completions" else v  # the earlier name of the plain mode

    def reply_limit(self, max_tokens: int, n: int) -> int:
        """The reply size limit for a request of `n` samples of at most `max_tokens` tokens."""
        return self.max_reply_bytes or (65536 + 64 * max_tokens * n)

    def pool_settings(self) -> PoolSettings:
        """The endpoint pool's knobs from these options."""
        return PoolSettings(
            max_concurrency=self.max_concurrency,
            min_concurrency=self.min_concurrency,
            latency_factor=self.latency_factor,
            failure_threshold=self.failure_threshold,
            cooldown_s=self.cooldown_s,
            cooldown_max_s=self.cooldown_max_s,
        )


class OpenAICompatConfig(ClientOptions):
    """Config of kind "openai": one model behind one or more OpenAI-compatible base URLs."""

    operational: ClassVar[frozenset[str]] = _CLIENT_OPERATIONAL | {"base_url", "api_key_env"}

    kind: Literal["openai"] = "openai"
    model: str
    base_url: str | list[str] = Field(description="one base URL (…/v1) or a list of replicas")
    api_key_env: str | None = Field(None, description="name of the env var holding the key")

    @field_validator("base_url")
    @classmethod
    def _non_empty(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and not v:
            raise ValueError("needs at least one URL")
        return v


_FAILURE_WORDS = {
    "malformed": "malformed reply",
    "connection": "connection failed",
    "timeout": "no complete reply in time",
    "too_large": "reply too large",
    "circuit_open": "no endpoint available",
}


def render_plain(messages: Sequence[Message], prefix: str) -> str:
    """Plain-text rendering for `prefix_mode="completions"`: `role: content` blocks, then the prefix."""
    body = "".join(f"{m.role}: {m.content}\n\n" for m in messages)
    return f"{body}assistant: {prefix}"


class OpenAICompatBackend(BaseBackend):
    """The "openai" backend. Build it with `make_backend({...})` or directly from a config."""

    def __init__(self, config: OpenAICompatConfig) -> None:
        self.config = config
        self.model_id = config.model
        self.stats = BackendStats()
        self.banned_max_tries = config.banned_max_tries
        urls = [config.base_url] if isinstance(config.base_url, str) else list(config.base_url)
        api_key = "EMPTY"
        if config.api_key_env:
            api_key = os.environ.get(config.api_key_env, "")
            if not api_key:
                raise ConfigError("llm.api_key_env", f"environment variable {config.api_key_env} is not set")
        self._headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
        self._loop = LoopThread(f"llm-{config.model}", relax_gc=config.relax_gc)
        settings = config.pool_settings()

        async def build() -> EndpointPool[Any]:
            eps = [
                Endpoint(
                    url.rstrip("/"),
                    make_transport(
                        config.http_transport, config.max_concurrency + 16, config.connect_timeout_s
                    ),
                    settings,
                )
                for url in urls
            ]
            return EndpointPool(eps, max_open_wait_s=config.cooldown_s)

        self.pool = self._loop.run(build())
        self._closed = False
        # What the server turned out to support (see `capabilities`): learnt from replies (n,
        # logprobs, served model) or probed once (prefix continuation).
        self._caps: dict[str, Any] = {"served_model": None, "n": None, "prefix": None, "logprobs": None}
        if config.n_mode != "auto":
            self._caps["n"] = config.n_mode
        if config.prefix_mode not in ("auto",):
            self._caps["prefix"] = config.prefix_mode
        self._prefix_probe: asyncio.Lock | None = None
        self._probed = False
        self._template: Any = None

    # -- sync facade -------------------------------------------------------------------------

    def generate(
        self, conversations: Sequence[Sequence[MessageLike]], sampling: SamplingParams
    ) -> list[list[Completion]]:
        """`sampling.n` chat completions per conversation (see the module docstring for failures)."""
        convs = [as_messages(c) for c in conversations]
        return self._loop.run(self._gather([self._chat(c, sampling) for c in convs]))

    def _continue(
        self,
        conversations: list[list[Message]],
        prefixes: list[str],
        sampling: SamplingParams,
        banned: Sequence[str],
    ) -> list[list[Completion]]:
        bias = {str(t): -100 for w in banned for t in self.config.banned_token_ids.get(w, ())}
        coros = [
            self._continue_one(c, p, sampling, bias) for c, p in zip(conversations, prefixes, strict=True)
        ]
        return self._loop.run(self._gather(coros))

    def close(self) -> None:
        """Close the HTTP clients and the loop thread; idempotent."""
        if self._closed:
            return
        self._closed = True

        async def shut() -> None:
            for ep in self.pool.endpoints:
                await ep.client.close()

        self._loop.run(shut())
        self._loop.close()

    def capabilities(self, probe: bool = True) -> dict[str, Any]:
        """What this server supports: `served_model` (the name /v1/models lists), `n` ("native" |
        "separate"), `prefix` ("chat_continue" | "completions_template" | "completions_plain" |
        "unsupported"), `logprobs` (bool). Asking finds out: unless `probe` is False, the first
        call probes what is not yet known (once per backend; None stays where the server could not
        be reached)."""
        if probe and not self._probed and any(v is None for v in self._caps.values()):
            self.probe()
        return dict(self._caps)

    def probe(self, prefix: bool = True) -> dict[str, Any]:
        """Find out what the server supports before the build relies on it, with three tiny
        requests (what the config fixes, or `adopt` was told, is not asked again): `n` (does a
        reply to n = 2 hold two choices), logprobs and the served model (from the same reply), and
        prefix continuation (see `_probe_chat_continue`; `prefix=False` skips it, for a backend
        that will not continue prefixes). A probe that cannot complete (the server is down) leaves
        the unknowns unknown; they are learnt on use."""
        self._probed = self._probed or prefix
        try:
            self._loop.run(self._probe(prefix))
        except LLMRequestError:
            pass
        return dict(self._caps)

    def adopt(self, capabilities: dict[str, Any]) -> None:
        """Take capabilities found by an earlier probe of the same server (for this build), so
        other processes and reruns do not probe again; what the config fixes wins."""
        for k in self._caps:
            if self._caps[k] is None and capabilities.get(k) is not None:
                self._caps[k] = capabilities[k]

    async def _probe(self, prefix: bool = True) -> None:
        if self._caps["served_model"] is None:
            ep = self.pool.endpoints[0]
            try:
                listed = await ep.client.get(
                    ep.url + "/models", self._headers, self.config.connect_timeout_s + 5
                )
                models = [
                    m.get("id") for m in (json.loads(listed.body).get("data") or []) if isinstance(m, dict)
                ]
                self._caps["served_model"] = (
                    self.model_id if self.model_id in models else (models[0] if models else None)
                )
            except (TransportError, HTTPStatusError, ValueError, AttributeError):
                pass
        if self._caps["n"] is None or self._caps["logprobs"] is None or self._caps["served_model"] is None:
            two = SamplingParams(max_tokens=1, temperature=0.0, n=2, seed=0, top_logprobs=2)
            payload = {
                **self._payload(two, 2, 0),
                "logprobs": True,
                "top_logprobs": 2,
                "messages": [{"role": "user", "content": "Reply with one word."}],
            }
            got = await self._request("chat", payload, 2)
            if got and got[0].error is None:
                if self._caps["n"] is None:
                    self._caps["n"] = "native" if len(got) >= 2 else "separate"
                self._caps["logprobs"] = any("top_logprobs" in c.meta for c in got)
        if prefix and self._caps["prefix"] is None:
            await self._resolve_prefix()

    def endpoint_states(self) -> list[dict[str, object]]:
        """Per-replica state (limit, circuit, counts) for logs and tests."""
        return self.pool.snapshot()

    # -- async internals ---------------------------------------------------------------------

    @staticmethod
    async def _gather(coros: list[Any]) -> list[list[Completion]]:
        # One task per conversation, parked on the pool until a slot is free.
        tasks = [asyncio.ensure_future(c) for c in coros]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for t in tasks:
                t.cancel()
            raise

    def _payload(self, sampling: SamplingParams, n: int, seed: int | None) -> dict[str, Any]:
        p: dict[str, Any] = {
            "model": self.config.model,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "n": n,
        }
        if sampling.stop:
            p["stop"] = list(sampling.stop)
        if seed is not None:
            p["seed"] = seed
        return p

    async def _chat(
        self,
        messages: list[Message],
        sampling: SamplingParams,
        *,
        prefix: str | None = None,
        n: int | None = None,
        seed: int | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> list[Completion]:
        n = sampling.n if n is None else n
        payload = {**self._payload(sampling, n, sampling.seed if seed is None else seed), **(overrides or {})}
        if sampling.top_logprobs:
            payload.update(logprobs=True, top_logprobs=sampling.top_logprobs)
        payload["messages"] = [m.as_dict() for m in messages]
        if prefix is not None:
            payload["messages"].append({"role": "assistant", "content": prefix})
            payload.update(continue_final_message=True, add_generation_prompt=False)
        return await self._sampled("chat", payload, sampling)

    async def _completion(
        self,
        prompt: str,
        sampling: SamplingParams,
        n: int,
        seed: int | None,
        overrides: dict[str, Any] | None = None,
    ) -> list[Completion]:
        payload = {**self._payload(sampling, n, seed), **(overrides or {})}
        if sampling.top_logprobs:
            payload["logprobs"] = sampling.top_logprobs  # the completions API takes the count here
        payload["prompt"] = prompt
        return await self._sampled("completion", payload, sampling)

    async def _from_prefix(
        self,
        messages: list[Message],
        prefix: str,
        sampling: SamplingParams,
        n: int,
        seed: int | None,
        overrides: dict[str, Any] | None = None,
    ) -> list[Completion]:
        mode = await self._prefix_mode()
        if mode == "completions_plain":
            return await self._completion(render_plain(messages, prefix), sampling, n, seed, overrides)
        if mode == "completions_template":
            return await self._completion(
                self._render_template(messages, prefix), sampling, n, seed, overrides
            )
        return await self._chat(messages, sampling, prefix=prefix, n=n, seed=seed, overrides=overrides)

    def _render_template(self, messages: list[Message], prefix: str) -> str:
        """The prompt of `messages` with the assistant reply open at `prefix`, rendered client-side
        with the model's own chat template (so /v1/completions continues exactly the prefix)."""
        if self._template is None:
            try:
                from transformers import AutoTokenizer
            except ImportError:
                raise LLMCapabilityError(
                    f"backend {self.model_id}: prefix_mode completions_template needs transformers to render the chat template"
                ) from None
            self._template = AutoTokenizer.from_pretrained(self.config.tokenizer)
        msgs = [m.as_dict() for m in messages] + [{"role": "assistant", "content": prefix}]
        return str(self._template.apply_chat_template(msgs, tokenize=False, continue_final_message=True))

    async def _resolve_prefix(self) -> str:
        """The prefix-continuation mode, probing the server once when `prefix_mode` is auto."""
        if self._caps["prefix"] is None:
            if self._prefix_probe is None:
                self._prefix_probe = asyncio.Lock()
            async with self._prefix_probe:
                if self._caps["prefix"] is None:
                    continues = await self._probe_chat_continue()
                    if continues:
                        self._caps["prefix"] = "chat_continue"
                    elif self.config.tokenizer:
                        self._caps["prefix"] = "completions_template"
                    else:
                        self._caps["prefix"] = "unsupported"
        return str(self._caps["prefix"])

    async def _prefix_mode(self) -> str:
        """The prefix-continuation mode to use; raises `LLMCapabilityError` when none works."""
        mode = await self._resolve_prefix()
        if mode == "unsupported":
            raise LLMCapabilityError(
                f"model {self.model_id}: the server does not continue an assistant prefix (it ignores "
                "continue_final_message); set `tokenizer:` to the model's tokenizer folder so the prefix is sent "
                "to /v1/completions with the chat template rendered here (prefix_mode: completions_template)"
            )
        return str(mode)

    async def _probe_chat_continue(self) -> bool:
        """Does the server continue a final assistant message? Compare prompt sizes: continuing,
        the prompt grows by exactly the prefix's tokens; answering afresh, it also closes the
        assistant turn and opens a new one (end-of-turn and header tokens). The prefix's own size is
        measured by appending it to the user's message."""
        user = "Reply with one word."
        word = "The"
        base = [Message("user", user)]
        one = SamplingParams(max_tokens=1, temperature=0.0)
        plain, longer, cont = await asyncio.gather(
            self._chat(base, one, n=1),
            self._chat([Message("user", f"{user} {word}")], one, n=1),
            self._chat(base, one, prefix=word, n=1),
        )
        for c in (plain[0], longer[0], cont[0]):
            if c.error is not None:
                raise LLMRequestError(f"{self.model_id}: the prefix-continuation probe failed: {c.error}")
        if not (plain[0].prompt_tokens and cont[0].prompt_tokens):
            return False  # no usage reported: continuation cannot be verified
        word_tokens = longer[0].prompt_tokens - plain[0].prompt_tokens
        return 0 <= cont[0].prompt_tokens - plain[0].prompt_tokens <= max(1, word_tokens)

    async def _continue_one(
        self, messages: list[Message], prefix: str, sampling: SamplingParams, bias: dict[str, int]
    ) -> list[Completion]:
        if not bias:
            return await self._from_prefix(messages, prefix, sampling, sampling.n, sampling.seed)
        # Two phases, because `logit_bias` holds for every position of a request: first one token
        # with the banned ids at -100, then each sample continues freely from prefix + that token.
        firsts = await self._from_prefix(
            messages, prefix, sampling, sampling.n, sampling.seed, {"max_tokens": 1, "logit_bias": bias}
        )
        rest_sampling = sampling.model_copy(update={"max_tokens": max(1, sampling.max_tokens - 1)})

        async def finish(first: Completion) -> Completion:
            if not first.text or first.error is not None or first.finish_reason != "length":
                return first  # failed, or the reply ended after one token
            rest = (await self._from_prefix(messages, prefix + first.text, rest_sampling, 1, sampling.seed))[
                0
            ]
            rest.text = first.text + rest.text
            rest.completion_tokens += first.completion_tokens
            rest.meta["first_token_logit_bias"] = True
            return rest

        return list(await asyncio.gather(*(finish(f) for f in firsts)))

    async def _sampled(
        self, kind: str, payload: dict[str, Any], sampling: SamplingParams
    ) -> list[Completion]:
        """`payload["n"]` samples: one request for all of them where the server honours `n`, else
        one request per slot (slot j with seed `derived_seed(seed, j)`, slot 0 with the request's
        own seed) — and the same for the slots of a reply that came back short — so n samples
        come back whenever they can, the same ones however they were asked for."""
        n = int(payload["n"])
        seed = payload.get("seed")
        if n > 1 and self._caps["n"] == "separate":
            out = (await self._request(kind, {**payload, "n": 1}, 1))[:1]
        else:
            out = await self._request(kind, payload, n)
            if n > 1 and out and out[0].error is None:
                if len(out) >= n:
                    self._caps["n"] = self._caps["n"] or "native"
                else:
                    self.stats.add("short_replies")
                    if self.config.n_mode == "auto":
                        self._caps["n"] = "separate"
        if len(out) >= n:
            return out[:n]

        async def slot(j: int) -> Completion:
            one = {**payload, "n": 1, **({"seed": derived_seed(seed, j)} if seed is not None else {})}
            got = await self._request(kind, one, 1)
            return got[0] if got else error_completion("the server returned no choice", self.model_id)

        out += await asyncio.gather(*(slot(j) for j in range(len(out), n)))
        return out

    async def _request(self, kind: str, payload: dict[str, Any], n: int) -> list[Completion]:
        cfg = self.config
        body = json.dumps({**cfg.extra_body, **payload}).encode()
        limit = cfg.reply_limit(int(payload.get("max_tokens") or 1), n)
        last: dict[str, Any] = {"error": None, "raw": None}  # the last real error seen (not "circuit open")
        retrying = AsyncRetrying(
            stop=stop_after_attempt(cfg.max_attempts),
            wait=WaitRetryAfter(cfg.backoff_initial_s, cfg.backoff_max_s, cfg.retry_after_max_s),
            retry=retry_if_exception(retryable),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(kind, body, limit, last)
        except HTTPStatusError as e:
            if e.status in FATAL_STATUS:
                raise LLMRequestError(
                    f"{self.model_id} answered {e.status}: {e.body[:300]}", status=e.status
                ) from None
            return self._failed(e, last, n)
        except (TransportError, MalformedReply, CircuitOpenError) as e:
            return self._failed(e, last, n)
        raise AssertionError("unreachable")  # pragma: no cover

    def _failed(self, exc: BaseException, last: dict[str, Any], n: int) -> list[Completion]:
        cause = failure_cause(exc)
        self.stats.fail(cause)
        what = _FAILURE_WORDS.get(cause, cause)
        message = f"{what} after {self.config.max_attempts} tries: {exc}"
        if last["error"] is not None and cause == "circuit_open":
            message += f"; last error: {last['error']}"
        raw = getattr(exc, "raw", None) or last["raw"]
        return [error_completion(message, self.model_id, raw) for _ in range(n)]

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.add("retries")
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        # Error class only: never the request (it may echo a key) or the body.
        logger.debug(
            "retry %d for %s in %.2fs: %s", state.attempt_number, self.model_id, wait, type(exc).__name__
        )

    async def _attempt(self, kind: str, body: bytes, limit: int, last: dict[str, Any]) -> list[Completion]:
        path = "/chat/completions" if kind == "chat" else "/completions"
        async with self.pool.acquire() as lease:
            self.stats.add("requests")
            try:
                reply = await lease.endpoint.client.post(
                    lease.endpoint.url + path, body, self._headers, self.config.timeout_s, limit
                )
                result = parse_reply(kind, reply.body, self.config.model)
            except HTTPStatusError as e:
                if e.status == 429:
                    self.stats.add("rate_limited")
                    lease.outcome = "rate_limited"
                else:
                    lease.outcome = "failed" if retryable(e) else "neutral"
                last["error"], last["raw"] = str(e), e.body
                raise
            except TransportError as e:
                lease.outcome = "failed"
                last["error"] = str(e)
                raise
            except MalformedReply as e:
                lease.outcome = "failed"
                last["error"], last["raw"] = str(e), e.raw
                raise
            lease.outcome = "ok"
            if result:
                if b'"top_logprobs"' in body:
                    self._caps["logprobs"] = any("top_logprobs" in c.meta for c in result)
            if result:  # usage is per request: the prompt once, the completion tokens of every choice
                self.stats.add("prompt_tokens", result[0].prompt_tokens)
                self.stats.add("completion_tokens", sum(c.completion_tokens for c in result))
            return result


BACKENDS.register("openai", BackendKind(OpenAICompatConfig, OpenAICompatBackend))
