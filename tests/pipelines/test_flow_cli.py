"""The Prefect flow and the CLI, end to end on a small config."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from reasonmill.pipelines.cli import app
from reasonmill.pipelines.runner import build

runner = CliRunner()


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _ids(out):
    return [r["id"] for f in sorted((out / "corpus" / "records").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_prefect_flow_builds_the_same_corpus_as_plain_runner(tmp_path, small_config, prefect_harness):
    from reasonmill.pipelines.flows import run_build

    manifest = run_build(small_config, tmp_path / "flow", workers=2)
    build(small_config, tmp_path / "plain")
    assert _ids(tmp_path / "flow") == _ids(tmp_path / "plain")
    plain = json.loads((tmp_path / "plain" / "manifest.json").read_text())
    assert manifest["stages"] == plain["stages"]
    # a second run of the flow resumes: every shard task skips
    again = run_build(small_config, tmp_path / "flow")
    assert again["corpus"] == manifest["corpus"]


def test_cli_build_inspect_list(tmp_path, small_dict):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(small_dict))
    out = tmp_path / "out"
    res = runner.invoke(app, ["build", str(cfg), "--out", str(out), "--engine", "plain"])
    assert res.exit_code == 0, res.output
    assert "build summary" in res.output and "verified records" in res.output
    res = runner.invoke(app, ["inspect", str(out), "--rows", "1"])
    assert res.exit_code == 0, res.output
    assert "all checksums match" in res.output and "Q:" in res.output
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0
    for name in ("arithmetic_chain", "linear_equation", "bridging", "programmatic", "math", "exact"):
        assert name in res.output


def test_cli_bad_config_names_the_field(tmp_path, small_dict):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({**small_dict, "distill": {"samples": -2}}))
    res = runner.invoke(app, ["build", str(cfg), "--out", str(tmp_path / "o"), "--engine", "plain"])
    assert res.exit_code == 2
    assert "distill.samples" in res.output


def test_cli_unknown_generator_lists_known_ones(tmp_path, small_dict):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({**small_dict, "seeds": [{"generator": "nope", "count": 3}]}))
    res = runner.invoke(app, ["build", str(cfg), "--out", str(tmp_path / "o"), "--engine", "plain"])
    assert res.exit_code == 2
    assert "seeds[0].generator" in res.output and "arithmetic_chain" in res.output


def test_cli_inspect_of_a_non_build_folder(tmp_path):
    res = runner.invoke(app, ["inspect", str(tmp_path)])
    assert res.exit_code == 2 and "manifest.json" in res.output


def test_cli_schedule_without_a_server_says_what_to_do(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    res = runner.invoke(app, ["schedule", "--cron", "0 3 * * *"])
    assert res.exit_code == 2 and "prefect server start" in res.output


def test_cli_verify_grades_a_jsonl_file(tmp_path):
    import json

    src = tmp_path / "outputs.jsonl"
    rows = [
        {"gold": "1/2", "prediction": "so the answer is \\boxed{0.5}"},
        {"gold": "7", "prediction": "The answer is 8."},
        {"gold": "Paris", "prediction": "Answer: paris", "kind": "exact"},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "graded.jsonl"
    res = runner.invoke(app, ["verify", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["verdict_passed"] for g in graded] == [True, False, True]
    assert graded[1]["verdict_reason"] == "mismatch"
