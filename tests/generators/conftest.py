"""Shared fixtures for the generators tests: the optional verifier."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def check() -> Any:
    """`reasonmill.verifiers.check`, or skip: the verifiers package is written separately."""
    try:
        from reasonmill.verifiers import check as fn
    except ImportError as exc:
        pytest.skip(f"reasonmill.verifiers.check is not available yet ({exc})")
    return fn
