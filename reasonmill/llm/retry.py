"""Retry policy of HTTP backends: what is worth another try, and how long to wait before it.

Retried: 429, 5xx, 408/409, dropped connections, timeouts, malformed bodies and a moment when
every replica's circuit is open. Waits honour the server's `Retry-After` (or `retry-after-ms`),
capped, else exponential backoff with jitter. Not retried: 401/403/404 (a bad key, an unknown
model or path — every other request would fail alike, so the backend raises at once), other 4xx,
and a reply larger than the size limit (a server that sends 20 MB for 512 tokens will do so again).
"""

from __future__ import annotations

from collections.abc import Mapping

from tenacity import RetryCallState
from tenacity.wait import wait_base, wait_exponential_jitter

from reasonmill.llm.endpoints import CircuitOpenError

FATAL_STATUS = (401, 403, 404)


class HTTPStatusError(Exception):
    """The server answered with a non-2xx status; `body` is the start of what it sent."""

    def __init__(self, status: int, body: str, headers: Mapping[str, str] | None = None) -> None:
        self.status, self.body = status, body
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        super().__init__(f"HTTP {status}: {body[:300]}")

    @property
    def cause(self) -> str:
        """Failure cause code, e.g. "http_503"."""
        return f"http_{self.status}"


class TransportError(Exception):
    """The request did not complete: `cause` is "connection", "timeout" or "too_large"."""

    def __init__(self, cause: str, message: str) -> None:
        self.cause = cause
        super().__init__(message)


class MalformedReply(Exception):
    """The body is not a usable completion (bad JSON, no choices); `raw` keeps its start."""

    cause = "malformed"

    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


def failure_cause(exc: BaseException) -> str:
    """The cause code of a request failure, for stats and rejection details."""
    if isinstance(exc, CircuitOpenError):
        return "circuit_open"
    return str(getattr(exc, "cause", type(exc).__name__))


def retryable(exc: BaseException) -> bool:
    """Is another try worth it after `exc`?"""
    if isinstance(exc, HTTPStatusError):
        return exc.status >= 500 or exc.status in (408, 409, 429)
    if isinstance(exc, TransportError):
        return exc.cause != "too_large"
    return isinstance(exc, MalformedReply | CircuitOpenError)


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms` or `retry-after` in seconds), else None."""
    headers = getattr(exc, "headers", None)
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) / scale)
            except ValueError:
                continue  # an HTTP date: rare from model servers; fall back to backoff
    return None


class WaitRetryAfter(wait_base):
    """Tenacity wait: the server's Retry-After when given (capped), else exponential jitter."""

    def __init__(self, initial: float, maximum: float, retry_after_max: float) -> None:
        self.backoff = wait_exponential_jitter(multiplier=initial, max=maximum)
        self.retry_after_max = retry_after_max

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        ra = retry_after_seconds(exc)
        return min(ra, self.retry_after_max) if ra is not None else self.backoff(retry_state)
