"""The Prefect flow runs the LLM stages in concurrent shard threads (a backend and a cache
connection per shard) and writes the corpus the plain runner writes."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from reasonmill.pipelines.runner import build


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _rows(out):
    return [r for f in sorted((out / "corpus" / "records").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_flow_with_llm_stages_matches_plain_runner(tmp_path, llm_build_config, prefect_harness):
    from reasonmill.pipelines.flows import run_build

    cfg = llm_build_config
    manifest = run_build(cfg, tmp_path / "flow", workers=3)
    build(cfg, tmp_path / "plain")
    plain = json.loads((tmp_path / "plain" / "manifest.json").read_text())
    assert _rows(tmp_path / "flow") == _rows(tmp_path / "plain")
    for name, s in manifest["stages"].items():
        assert s["counts"]["reasons"] == plain["stages"][name]["counts"]["reasons"], name
