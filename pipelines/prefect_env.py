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
    # The ephemeral server of a one-off build needs no scheduling or housekeeping services; left on,
    # they share the build's process (and its GIL) for nothing. A real server (`prefect server
    # start`, for schedules) is another process and keeps its own settings.
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CLEANUP_RECONCILER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
}


def apply() -> None:
    """Set the offline defaults in `os.environ` where the user has not set them."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


apply()
