"""A small OpenAI-compatible HTTP server on loopback, for tests and benchmarks, with fault injection.

Serves `POST /v1/chat/completions`, `POST /v1/completions`, `GET /v1/models` and `GET /health`
on 127.0.0.1. The reply text comes from a pluggable *responder* (a function of the request), so a
test can answer with the programmatic solvers and check the content; core ships only a
deterministic echo responder (core imports no stage package).

Faults (`Faults`) are injected per request, either on every k-th request or with probability p
from a seeded rng: 429 with `Retry-After`, 500, dropped connections, malformed JSON, truncated
output (finish reason "length"), plus a fixed latency for every reply.

Why a hand-written asyncio protocol instead of uvicorn + starlette: on a 2-core machine the
server shares the CPU with the client being measured; HTTP parsing here is a few string splits
per request, several times cheaper than h11 + ASGI, so the benchmark measures the client.
It only speaks what OpenAI clients send (HTTP/1.1, keep-alive, Content-Length bodies).

In a test::

    with LoopbackServer(faults=Faults(latency_s=0.01)) as server:
        backend = make_backend({"kind": "openai", "model": "loopback", "base_url": server.url})

As a stand-in for `vllm serve`: `python -m reasonmill.testing.loopback --port 8000 --latency 0.05`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


@dataclass(slots=True)
class ReplyRequest:
    """What a responder sees: the endpoint kind, the conversation or prompt, the params, the sample."""

    kind: str  # "chat" or "completion"
    messages: list[dict[str, Any]]
    prompt: str
    params: dict[str, Any]
    sample: int
    prefix: str = ""  # assistant prefix when the chat request continues the final message


Responder = Callable[[ReplyRequest], str]
"""Produces the reply text (for prefix continuation: the continuation only)."""


def echo_responder(req: ReplyRequest) -> str:
    """Deterministic default: echoes the last user message (or the prompt's tail) and the sample."""
    if req.kind == "chat":
        users = [m.get("content", "") for m in req.messages if m.get("role") == "user"]
        last = users[-1] if users else ""
    else:
        last = req.prompt[-200:]
    text = f"echo {req.sample}: {last}"
    return text if not req.prefix else f" continued {req.sample}."


class Faults(BaseModel):
    """Which faults to inject. `*_every=k` hits requests k, 2k, …; `*_prob=p` draws from `seed`.

    Only POST completion requests are subject to faults; /health and /v1/models never fail.
    """

    model_config = ConfigDict(extra="forbid")

    latency_s: float = Field(0.0, ge=0.0)
    rate_limit_every: int = 0
    rate_limit_prob: float = 0.0
    retry_after_s: float = 1.0
    error_every: int = 0
    error_prob: float = 0.0
    error_status: int = 500
    drop_every: int = 0
    drop_prob: float = 0.0
    malformed_every: int = 0
    malformed_prob: float = 0.0
    truncate_every: int = 0
    truncate_prob: float = 0.0
    always_status: int | None = None  # every completion request answers this status (a broken replica)
    seed: int = 0


class Traits(BaseModel):
    """How the server behaves where real servers differ (not faults: each is a real server's way).

    `ignore_n`: answer one choice whatever `n` asks (llama.cpp's server, several proxies).
    `ignore_prefix`: treat a final assistant message as a finished turn and answer afresh, even
    with `continue_final_message` (servers without vLLM's extension).
    `logprobs`: return the first token's top log-probabilities when asked (vLLM, llama.cpp do).
    """

    model_config = ConfigDict(extra="forbid")

    ignore_n: bool = False
    ignore_prefix: bool = False
    logprobs: bool = True


_TOKEN = re.compile(r"<\|\w+\|>|\w+|[^\w\s]")


def _count_tokens(text: str) -> int:
    return len(text.split())


def render_template(messages: list[dict[str, Any]], continue_final: bool) -> str:
    """The prompt a chat template would make of `messages` (roles in markers, each turn closed by
    <|end|>, then the assistant header), or, when `continue_final`, with the last (assistant)
    message left open so the reply continues it. `usage.prompt_tokens` counts its tokens, which
    is how a client can tell a continued prefix from a fresh reply."""
    parts = []
    for i, m in enumerate(messages):
        last = i == len(messages) - 1
        parts.append(f"<|{m.get('role', 'user')}|>\n{m.get('content', '')}")
        if not (last and continue_final):
            parts.append("<|end|>\n")
    if not continue_final:
        parts.append("<|assistant|>\n")
    return "".join(parts)


def template_tokens(text: str) -> int:
    """Tokens of a rendered prompt: markers, words and punctuation marks count one each."""
    return len(_TOKEN.findall(text))


@dataclass
class _State:
    model: str
    responder: Responder
    faults: Faults
    rng: random.Random
    traits: Traits = field(default_factory=Traits)
    n: int = 0
    counts: Counter = field(default_factory=Counter)


def _response(status: int, body: bytes, extra: str = "", reason: str = "OK") -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


class _Protocol(asyncio.Protocol):
    """One connection: parse requests as bytes arrive, answer each after the configured latency."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False  # one request in flight per connection (clients do not pipeline)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._next()

    def _next(self) -> None:
        if self.busy:
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].decode("latin-1")
        lines = head.split("\r\n")
        try:
            method, path, _ = lines[0].split(" ", 2)
        except ValueError:
            self._write(_response(400, b'{"error": "bad request line"}', reason="Bad Request"), close=True)
            return
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        if len(self.buf) < end + 4 + length:
            return
        body = self.buf[end + 4 : end + 4 + length]
        self.buf = self.buf[end + 4 + length :]
        self.busy = True
        self._handle(method, path.split("?", 1)[0], body)

    def _write(self, data: bytes, close: bool = False) -> None:
        if self.transport is not None:
            self.transport.write(data)
            if close:
                self.transport.close()
        self.busy = False
        if not close and self.buf:
            self._next()

    def _drop(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        self.busy = False

    def _handle(self, method: str, path: str, body: bytes) -> None:
        st = self.state
        if method == "GET" and path == "/health":
            self._write(_response(200, b""))
            return
        if method == "GET" and path in ("/v1/models", "/models"):
            data = {"object": "list", "data": [{"id": st.model, "object": "model", "owned_by": "reasonmill"}]}
            self._write(_response(200, json.dumps(data).encode()))
            return
        kind = {"/v1/chat/completions": "chat", "/v1/completions": "completion"}.get(path)
        if method != "POST" or kind is None:
            self._write(_response(404, b'{"error": {"message": "not found"}}', reason="Not Found"))
            return
        st.n += 1
        st.counts["requests"] += 1
        fault = self._pick_fault()
        if fault:
            st.counts[fault] += 1
        delay = st.faults.latency_s
        loop = asyncio.get_running_loop()
        if fault == "drop":
            loop.call_later(delay, self._drop) if delay else self._drop()
            return
        try:
            payload = self._reply(kind, json.loads(body or b"{}"), fault)
        except Exception as e:  # a bad request body is the client's fault: 400, as real servers do
            payload = _response(
                400, json.dumps({"error": {"message": str(e)}}).encode(), reason="Bad Request"
            )
        if delay:
            loop.call_later(delay, self._write, payload)
        else:
            self._write(payload)

    def _pick_fault(self) -> str | None:
        f, st = self.state.faults, self.state
        if f.always_status is not None:
            return "always"
        for name in ("rate_limit", "error", "drop", "malformed", "truncate"):
            every, prob = getattr(f, f"{name}_every"), getattr(f, f"{name}_prob")
            if (every and st.n % every == 0) or (prob and st.rng.random() < prob):
                return name
        return None

    def _reply(self, kind: str, req: dict[str, Any], fault: str | None) -> bytes:
        st, f = self.state, self.state.faults
        if fault == "always":
            status = f.always_status or 500
            extra = f"retry-after: {f.retry_after_s:g}\r\n" if status == 429 else ""
            return _response(status, b'{"error": {"message": "injected failure"}}', extra, reason="Error")
        if fault == "rate_limit":
            return _response(
                429,
                b'{"error": {"message": "rate limited", "type": "rate_limit"}}',
                f"retry-after: {f.retry_after_s:g}\r\n",
                reason="Too Many Requests",
            )
        if fault == "error":
            return _response(
                f.error_status, b'{"error": {"message": "injected server error"}}', reason="Server Error"
            )
        if fault == "malformed":
            return _response(200, b'{"id": "x", "choices": [{"index": 0, "message": ')
        messages = list(req.get("messages") or [])
        prefix = ""
        continuing = (
            kind == "chat"
            and bool(req.get("continue_final_message"))
            and not st.traits.ignore_prefix
            and bool(messages)
            and messages[-1].get("role") == "assistant"
        )
        if continuing:
            prefix = str(messages[-1].get("content", ""))
        prompt = str(req.get("prompt", ""))
        n = 1 if st.traits.ignore_n else int(req.get("n") or 1)
        want_logprobs = st.traits.logprobs and (req.get("logprobs") or req.get("top_logprobs"))
        choices, completion_tokens = [], 0
        for i in range(n):
            text = st.responder(ReplyRequest(kind, messages, prompt, req, i, prefix))
            finish = "stop"
            max_tokens = req.get("max_tokens") or req.get("max_completion_tokens")
            words = text.split(" ")
            if fault == "truncate" or (max_tokens and len(words) > int(max_tokens)):
                keep = max(1, min(len(words) // 2, int(max_tokens or len(words))))
                text, finish = " ".join(words[:keep]), "length"
            completion_tokens += _count_tokens(text)
            first = (text.split() or [""])[0]
            if kind == "chat":
                choice: dict[str, Any] = {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                }
                if want_logprobs:  # the first token sure of itself, one alternative far behind
                    tops = [
                        {"token": first, "logprob": math.log(0.9)},
                        {"token": "?", "logprob": math.log(0.1)},
                    ]
                    choice["logprobs"] = {
                        "content": [{"token": first, "logprob": math.log(0.9), "top_logprobs": tops}]
                    }
                choices.append(choice)
            else:
                lp = {"top_logprobs": [{first: math.log(0.9), "?": math.log(0.1)}]} if want_logprobs else None
                choices.append({"index": i, "text": text, "finish_reason": finish, "logprobs": lp})
        if kind == "chat":
            prompt_tokens = template_tokens(render_template(messages, continuing))
        else:
            prompt_tokens = template_tokens(prompt)
        data = {
            "id": f"cmpl-{st.n}",
            "object": "chat.completion" if kind == "chat" else "text_completion",
            "created": int(time.time()),
            "model": req.get("model", st.model),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return _response(200, json.dumps(data).encode())


class LoopbackServer:
    """The test server, run on its own thread and event loop; a context manager.

    `url` is the OpenAI base URL (`http://127.0.0.1:PORT/v1`); `counts` tallies requests and the
    faults injected; `faults` may be replaced between phases of a test (`server.faults = ...`).
    """

    def __init__(
        self,
        responder: Responder | None = None,
        faults: Faults | None = None,
        model: str = "loopback",
        host: str = "127.0.0.1",
        port: int = 0,
        traits: Traits | None = None,
    ) -> None:
        faults = faults or Faults()
        self._state = _State(
            model, responder or echo_responder, faults, random.Random(faults.seed), traits or Traits()
        )
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._state.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._state.faults = faults
        self._state.rng = random.Random(faults.seed)

    @property
    def traits(self) -> Traits:
        """How the server behaves where real servers differ (`Traits`)."""
        return self._state.traits

    @traits.setter
    def traits(self, traits: Traits) -> None:
        self._state.traits = traits

    @property
    def counts(self) -> Counter:
        """Requests served and faults injected, by name."""
        return self._state.counts

    @property
    def url(self) -> str:
        """OpenAI base URL of the running server."""
        return f"http://{self.host}:{self.port}/v1"

    async def serve_forever(self) -> None:
        """Serve on the current loop until cancelled (the CLI uses this)."""
        await self._bind()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Protocol(self._state), self.host, self.port, backlog=1024, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def start(self) -> LoopbackServer:
        """Bind (an ephemeral port unless one was given) and serve on a daemon thread."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def main() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._bind())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=main, name="loopback-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("loopback server did not start")
        return self

    def stop(self) -> None:
        """Close the listening socket and stop the thread; idempotent."""
        if self._loop is None or self._loop.is_closed():
            return
        loop = self._loop

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """CLI: serve until SIGTERM/SIGINT. Extra arguments (e.g. `vllm serve` flags) are ignored."""
    ap = argparse.ArgumentParser(
        prog="python -m reasonmill.testing.loopback", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--model", "--served-model-name", default="loopback")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds before every completion reply")
    ap.add_argument("--startup-delay", type=float, default=0.0, help="sleep before binding (model load)")
    ap.add_argument("--faults", default="{}", help="JSON of Faults fields, e.g. '{\"rate_limit_every\": 5}'")
    ap.add_argument("--traits", default="{}", help="JSON of Traits fields, e.g. '{\"ignore_n\": true}'")
    ap.add_argument(
        "--started-file",
        default=None,
        help="append one line here when the server starts (tests count starts)",
    )
    ap.add_argument("--reply", default=None, help="answer every request with this text instead of the echo")
    args, _unknown = ap.parse_known_args(argv)
    faults = Faults.model_validate({"latency_s": args.latency, **json.loads(args.faults)})
    traits = Traits.model_validate(json.loads(args.traits))
    if args.started_file:
        with open(args.started_file, "a") as fh:
            fh.write(f"{os.getpid()}\n")
    if args.startup_delay:
        time.sleep(args.startup_delay)
    fixed = args.reply.replace("\\n", "\n") if args.reply is not None else None
    responder = (lambda req: fixed) if fixed is not None else None
    server = LoopbackServer(
        responder, faults=faults, model=args.model, host=args.host, port=args.port, traits=traits
    )
    print(f"loopback server on http://{args.host}:{args.port}/v1 model={args.model}", flush=True)
    try:
        asyncio.run(server.serve_forever())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
