"""Shared fixtures: a small build config that exercises every stage in seconds."""

from __future__ import annotations

import pytest

from reasonmill.config import BuildConfig, validate_config

SMALL = {
    "name": "test-small",
    "shard_rows": 40,
    "seeds": [
        {"generator": "arithmetic_chain", "count": 60},
        {"generator": "linear_equation", "count": 60},
    ],
    "compose": {"rules": [{"principle": "bridging", "count": 12, "hops": 2}]},
    "distill": {"samples": 2},
}


@pytest.fixture
def small_dict() -> dict:
    """The small config as a plain dict (for YAML files and variations)."""
    import copy

    return copy.deepcopy(SMALL)


@pytest.fixture
def small_config() -> BuildConfig:
    """A build of 120 seeds + 12 composed items over 3 shards."""
    return validate_config(SMALL)
