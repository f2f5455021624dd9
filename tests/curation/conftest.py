"""Shared fixtures for the curation tests: one embedder (the packaged MiniLM) per session, the
benchmark rows read from the benchmark folder, and the rewording helpers on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # rewording.py, a helper shared with the benchmarks


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory):
    """An `Embedder` with its cache in a session temp folder (the model loads once per process)."""
    from reasonmill.pipelines.curation import Embedder, EmbeddingConfig

    return Embedder(EmbeddingConfig(), cache_dir=tmp_path_factory.mktemp("embeddings"))


@pytest.fixture(scope="session")
def benchmark_rows() -> list[tuple[str, str, str]]:
    """(benchmark, id, question) of every registered benchmark, from the benchmark files."""
    from reasonmill.pipelines.curation.benchmarks import registered_rows

    return list(registered_rows())
