"""Fixtures for the LLM backend tests: a loopback server and a fast-retrying backend factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reasonmill.llm.registry import make_backend
from reasonmill.testing.loopback import Faults, LoopbackServer

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "max_attempts": 4, "timeout_s": 5.0}


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A loopback server with no faults; tests set `server.faults` as they need."""
    with LoopbackServer(faults=Faults()) as s:
        yield s


@pytest.fixture
def backend_for() -> Iterator[Callable[..., Any]]:
    """`backend_for(url_or_urls, **config)`: an "openai" backend with fast retries, closed after the test."""
    made: list[Any] = []

    def make(url: str | list[str], **config: Any) -> Any:
        b = make_backend({"kind": "openai", "model": "loopback", "base_url": url, **FAST, **config})
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def user(text: str) -> list[dict[str, str]]:
    """A one-message conversation."""
    return [{"role": "user", "content": text}]
