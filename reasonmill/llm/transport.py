"""HTTP transport of the OpenAI-compatible backend: POST a JSON body, read at most N bytes, by a
total deadline.

Why not the `openai` SDK: a request here needs a *total* deadline (a reply that trickles one byte
every few seconds must not hold a build forever; per-read timeouts never fire on it) and a size
limit on the body (a server that sends megabytes for a 512-token reply), both of which need the
body read in chunks under our control; the SDK's per-request option copying and pydantic parsing
also cost more client CPU than the request itself at high rates. aiohttp is used when importable
(its parser is in C), httpx otherwise.

A transport raises `HTTPStatusError` for non-2xx answers and `TransportError` ("connection",
"timeout", "too_large") when no complete body came back.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

from reasonmill.llm.retry import HTTPStatusError, TransportError

CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class RawReply:
    """A complete 2xx reply: status, lower-cased headers, body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes


class Transport(Protocol):
    """An async HTTP client that can POST a JSON body under a deadline and a size limit."""

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], deadline_s: float, max_bytes: int
    ) -> RawReply:
        """POST `body` to `url`; the whole exchange must finish within `deadline_s`."""
        ...

    async def get(
        self, url: str, headers: dict[str, str], deadline_s: float, max_bytes: int = 1 << 20
    ) -> RawReply:
        """GET `url` (e.g. /v1/models) under the same deadline and size rules."""
        ...

    async def close(self) -> None:
        """Close connections."""
        ...


def _too_large(max_bytes: int) -> TransportError:
    return TransportError("too_large", f"reply body over the {max_bytes:,}-byte limit")


async def _collect(
    status: int, headers: Any, chunks: AsyncIterator[bytes], max_bytes: int, length: int | None = None
) -> RawReply:
    """Read a reply body chunk by chunk, refusing it past `max_bytes`; a non-2xx status raises
    `HTTPStatusError` with the start of the body."""
    if length is not None and length > max_bytes:
        raise _too_large(max_bytes)
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        parts.append(chunk)
    data = b"".join(parts)
    hdrs = {k.lower(): v for k, v in headers.items()}
    if status >= 300:
        raise HTTPStatusError(status, data[:2000].decode(errors="replace"), hdrs)
    return RawReply(status, hdrs, data)


async def _deadlined(
    exchange: Awaitable[RawReply], deadline_s: float, connection_errors: tuple[type[BaseException], ...]
) -> RawReply:
    """Run one request/reply exchange under a total deadline, mapping failures to `TransportError`."""
    try:
        async with asyncio.timeout(deadline_s):
            return await exchange
    except TimeoutError:
        raise TransportError("timeout", f"no complete reply within {deadline_s:g} s") from None
    except (*connection_errors, OSError) as e:
        raise TransportError("connection", f"{type(e).__name__}: {e}") from None


class AiohttpTransport:
    """aiohttp client session with a connection limit (keep-alive, C-accelerated parsing)."""

    def __init__(self, connections: int, connect_timeout_s: float) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s),
            auto_decompress=True,
        )

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], deadline_s: float, max_bytes: int
    ) -> RawReply:
        """See `Transport.post`."""

        async def exchange() -> RawReply:
            async with self._session.post(url, data=body, headers=headers) as r:
                return await _collect(
                    r.status, r.headers, r.content.iter_chunked(CHUNK), max_bytes, r.content_length
                )

        return await _deadlined(exchange(), deadline_s, (self._aiohttp.ClientError,))

    async def get(
        self, url: str, headers: dict[str, str], deadline_s: float, max_bytes: int = 1 << 20
    ) -> RawReply:
        """See `Transport.get`."""

        async def exchange() -> RawReply:
            async with self._session.get(url, headers=headers) as r:
                return await _collect(
                    r.status, r.headers, r.content.iter_chunked(CHUNK), max_bytes, r.content_length
                )

        return await _deadlined(exchange(), deadline_s, (self._aiohttp.ClientError,))

    async def close(self) -> None:
        """See `Transport.close`."""
        await self._session.close()


class HttpxTransport:
    """httpx async client with a connection limit (used when aiohttp is not installed)."""

    def __init__(self, connections: int, connect_timeout_s: float) -> None:
        import httpx

        self._httpx = httpx
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.AsyncClient(
            limits=limits, timeout=httpx.Timeout(None, connect=connect_timeout_s)
        )

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], deadline_s: float, max_bytes: int
    ) -> RawReply:
        """See `Transport.post`."""

        async def exchange() -> RawReply:
            async with self._client.stream("POST", url, content=body, headers=headers) as r:
                return await _collect(r.status_code, r.headers, r.aiter_bytes(CHUNK), max_bytes)

        return await _deadlined(exchange(), deadline_s, (self._httpx.TransportError,))

    async def get(
        self, url: str, headers: dict[str, str], deadline_s: float, max_bytes: int = 1 << 20
    ) -> RawReply:
        """See `Transport.get`."""

        async def exchange() -> RawReply:
            async with self._client.stream("GET", url, headers=headers) as r:
                return await _collect(r.status_code, r.headers, r.aiter_bytes(CHUNK), max_bytes)

        return await _deadlined(exchange(), deadline_s, (self._httpx.TransportError,))

    async def close(self) -> None:
        """See `Transport.close`."""
        await self._client.aclose()


def make_transport(kind: str, connections: int, connect_timeout_s: float) -> Any:
    """A transport: "aiohttp", "httpx", or "auto" (aiohttp when importable)."""
    if kind == "auto":
        kind = "aiohttp" if importlib.util.find_spec("aiohttp") else "httpx"
    if kind == "aiohttp":
        return AiohttpTransport(connections, connect_timeout_s)
    return HttpxTransport(connections, connect_timeout_s)
