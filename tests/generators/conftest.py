"""Shared fixtures for the generators tests: the verifier they check gold answers with."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def check() -> Any:
    """`reasonmill.verifiers.check` (the generators package itself never imports the verifiers).

    Imported plainly: if the verifiers package is broken, these tests fail with its error.
    """
    from reasonmill.verifiers import check as fn

    return fn
