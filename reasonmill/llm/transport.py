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

    async def close(self) -> None:
        """Close connections."""
        ...


def _too_large(max_bytes: int) -> TransportError:
    return TransportError("too_large", f"reply body over the {max_bytes:,}-byte limit")


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
        aiohttp = self._aiohttp
        try:
            async with asyncio.timeout(deadline_s):
                async with self._session.post(url, data=body, headers=headers) as r:
                    length = r.content_length
                    if length is not None and length > max_bytes:
                        raise _too_large(max_bytes)
                    chunks, size = [], 0
                    async for chunk in r.content.iter_chunked(CHUNK):
                        size += len(chunk)
                        if size > max_bytes:
                            raise _too_large(max_bytes)
                        chunks.append(chunk)
                    data = b"".join(chunks)
                    hdrs = {k.lower(): v for k, v in r.headers.items()}
                    if r.status >= 300:
                        raise HTTPStatusError(r.status, data[:2000].decode(errors="replace"), hdrs)
                    return RawReply(r.status, hdrs, data)
        except TimeoutError:
            raise TransportError("timeout", f"no complete reply within {deadline_s:g} s") from None
        except (aiohttp.ClientError, OSError) as e:
            raise TransportError("connection", f"{type(e).__name__}: {e}") from None

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
        httpx = self._httpx
        try:
            async with asyncio.timeout(deadline_s):
                async with self._client.stream("POST", url, content=body, headers=headers) as r:
                    chunks, size = [], 0
                    async for chunk in r.aiter_bytes(CHUNK):
                        size += len(chunk)
                        if size > max_bytes:
                            raise _too_large(max_bytes)
                        chunks.append(chunk)
                    data = b"".join(chunks)
                    hdrs = {k.lower(): v for k, v in r.headers.items()}
                    if r.status_code >= 300:
                        raise HTTPStatusError(r.status_code, data[:2000].decode(errors="replace"), hdrs)
                    return RawReply(r.status_code, hdrs, data)
        except TimeoutError:
            raise TransportError("timeout", f"no complete reply within {deadline_s:g} s") from None
        except (httpx.TransportError, OSError) as e:
            raise TransportError("connection", f"{type(e).__name__}: {e}") from None

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
