"""reasonmill.pipelines: stages, the runner, Prefect flows, the CLI, corpus export.

The only package that imports Prefect, and the only one that joins generators and verifiers.
"""
