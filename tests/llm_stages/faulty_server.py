"""An OpenAI-compatible server of the tests' own that misbehaves the ways real servers and proxies do.

Not the product's loopback server: a separate, deliberately crude implementation on raw asyncio
streams, so the client is tested against what it did not grow up with. Each chat request gets a
*mode*, chosen by `plan(body)` (a pure function of the request body, so a test can say which
requests fail and check the rerun asks again for exactly those):

    ok          a normal reply from `responder`
    trickle     headers, then the body one byte every `trickle_s` seconds (never a read timeout)
    hang        accept the request, never answer
    reset       close the connection abruptly after reading the request
    huge        a 200 OK body of `huge_bytes` bytes
    truncated   a 200 OK whose JSON stops half-way
    empty       a 200 OK with `"choices": []`
    429         Too Many Requests with Retry-After
    503         Service Unavailable

`log` records (request body hash, mode) for every request received.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

MODES = ("ok", "trickle", "hang", "reset", "huge", "truncated", "empty", "429", "503")


def body_key(body: bytes) -> str:
    """A stable short hash of a request body."""
    return hashlib.sha256(body).hexdigest()[:16]


class FaultyServer:
    """The server on its own thread (see the module docstring); a context manager."""

    def __init__(
        self,
        responder: Callable[[dict[str, Any]], str],
        plan: Callable[[bytes], str] = lambda body: "ok",
        trickle_s: float = 3.0,
        huge_bytes: int = 20_000_000,
    ) -> None:
        self.responder, self.plan = responder, plan
        self.trickle_s, self.huge_bytes = trickle_s, huge_bytes
        self.log: list[tuple[str, str]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self.port = 0
        self._ready = threading.Event()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """OpenAI base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def _read(self, reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v)
        body = await reader.readexactly(length) if length else b""
        return method, path, body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    got = await self._read(reader)
                except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                    return
                if got is None:
                    return
                method, path, body = got
                if method == "GET":
                    await self._send(writer, 200, b'{"object": "list", "data": [{"id": "faulty"}]}')
                    continue
                mode = self.plan(body)
                with self._lock:
                    self.log.append((body_key(body), mode))
                if not await self._answer(writer, mode, body):
                    return
        finally:
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes, extra: str = "") -> None:
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode()
            + body
        )
        await writer.drain()

    async def _answer(self, writer: asyncio.StreamWriter, mode: str, body: bytes) -> bool:
        """Answer one request in `mode`; False when the connection is done for."""
        if mode == "hang":
            await asyncio.sleep(3600)
            return False
        if mode == "reset":
            writer.transport.abort()
            return False
        if mode == "429":
            await self._send(writer, 429, b'{"error": {"message": "slow down"}}', "retry-after: 0.05\r\n")
            return True
        if mode == "503":
            await self._send(writer, 503, b'{"error": {"message": "overloaded"}}')
            return True
        if mode == "empty":
            await self._send(
                writer,
                200,
                b'{"id": "x", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 0}}',
            )
            return True
        if mode == "truncated":
            await self._send(writer, 200, b'{"id": "x", "choices": [{"index": 0, "message": {"role": "assis')
            return True
        if mode == "huge":
            chunk = b"x" * 1_000_000
            n = self.huge_bytes // len(chunk)
            head = b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "'
            total = len(head) + n * len(chunk) + 4
            writer.write(
                f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {total}\r\n\r\n".encode()
                + head
            )
            try:
                for _ in range(n):
                    writer.write(chunk)
                    await writer.drain()
                writer.write(b'"}}]}')
                await writer.drain()
            except ConnectionError:
                return False
            return True
        req = json.loads(body)
        n = int(req.get("n") or 1)
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": self.responder({**req, "_sample": i})},
                "finish_reason": "stop",
            }
            for i in range(n)
        ]
        payload = json.dumps(
            {
                "id": "x",
                "model": req.get("model"),
                "choices": choices,
                "usage": {"prompt_tokens": 10, "completion_tokens": 10},
            }
        ).encode()
        if mode == "trickle":
            writer.write(
                f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n".encode()
            )
            try:
                for b in payload:
                    writer.write(bytes([b]))
                    await writer.drain()
                    await asyncio.sleep(self.trickle_s)
            except ConnectionError:
                return False
            return True
        await self._send(writer, 200, payload)
        return True

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        loop.run_until_complete(start())
        loop.run_forever()

    def __enter__(self) -> FaultyServer:
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = self._loop
        if loop is not None:

            def stop() -> None:
                if self._server is not None:
                    self._server.close()
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.stop()

            loop.call_soon_threadsafe(stop)
            self._thread.join(10)
