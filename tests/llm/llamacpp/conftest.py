"""Fixtures for the llama.cpp server tests.

- `tiny_model` (session): a random-weight llama GGUF and its tokenizer folder, written here;
- `llamacpp` (session): a `LlamaCppServer` serving it on loopback (started once, stopped at the
  end, no process left behind: checked at teardown); tests that kill it restart it themselves;
- `llamacpp_url` (session): its OpenAI base URL, `http://127.0.0.1:PORT/v1`.

The gate: llama-cpp-python and gguf are in the `test` extra, so CI always has them. Without them
these tests FAIL with one line saying what to install, never skip: a missing server must not look
like a passing suite.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import LlamaCppServer
from .tiny_gguf import TinyModel, write_tiny_model

_NEEDED = {
    "llama_cpp": "llama-cpp-python[server]==0.3.36",
    "gguf": "gguf",
    "sse_starlette": "llama-cpp-python[server]",
}


def require_llama_cpp() -> None:
    """Fail (not skip) with one clear line when llama-cpp-python's server or gguf is missing."""
    for module, package in _NEEDED.items():
        try:
            importlib.import_module(module)
        except ImportError as e:
            pytest.fail(
                f"the llama.cpp server tests need '{package}' (pip install -e '.[test]'); import {module} failed: {e}",
                pytrace=False,
            )


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """The tiny random GGUF and its Hugging Face tokenizer folder (written once per session)."""
    require_llama_cpp()
    return write_tiny_model(tmp_path_factory.mktemp("llamacpp-model"))


@pytest.fixture(scope="session")
def llamacpp(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppServer]:
    """The session's llama.cpp server (seed fixed, n_ctx 1024, one thread); stopped at the end."""
    log = Path(tmp_path_factory.mktemp("llamacpp-log")) / "server.log"
    server = LlamaCppServer(tiny_model.gguf, log)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        left = server.leftovers()
        assert not left, f"llama.cpp server processes left behind: {left}"


@pytest.fixture
def live(llamacpp: LlamaCppServer) -> LlamaCppServer:
    """The session's server, (re)started if an earlier test killed it."""
    llamacpp.start()
    return llamacpp


@pytest.fixture(scope="session")
def llamacpp_url(llamacpp: LlamaCppServer) -> str:
    """The session server's OpenAI base URL (…/v1)."""
    return llamacpp.url
