"""reasonmill.pipelines: stages, the runner, Prefect flows, the CLI, corpus export.

The only package that imports Prefect, and the only one that joins generators and verifiers.
Importing it applies the offline Prefect settings (`prefect_env`) before any module here can
import Prefect.
"""

from reasonmill.pipelines import prefect_env as _prefect_env  # noqa: F401
