"""Prefect settings for offline machines, applied before Prefect is imported.

Telemetry off (it would try the network), a longer ephemeral-server start-up timeout (the 20 s
default can be hit on two cores), and quiet logs unless the user asks otherwise. Values the user
already set in the environment win.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
}


def apply() -> None:
    """Set the offline defaults in `os.environ` where the user has not set them."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


apply()
