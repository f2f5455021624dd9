"""Builds under faults and bad input: one build per folder, config edges, inspect's verdict,
a full disk, and one clear line per error under either engine."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reasonmill.errors import ConfigError
from reasonmill.lock import BuildLock, BuildLocked
from reasonmill.pipelines.cli import app
from reasonmill.pipelines.runner import build

runner = CliRunner()


def flat(text: str) -> str:
    """The output with the console's line wrapping undone."""
    return " ".join(text.split())


# -- one build per folder ---------------------------------------------------------------------


def test_a_second_build_into_the_same_folder_is_refused_naming_the_holder(tmp_path):
    code = "import sys, time; from reasonmill.lock import BuildLock; l = BuildLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(BuildLocked, match=f"pid {proc.pid}"):
            BuildLock(tmp_path).acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # The holder was killed: its lock is gone with it, and the next build takes the folder.
    with BuildLock(tmp_path) as lock:
        assert lock.holder()["pid"] == os.getpid()


def test_cli_build_refuses_a_locked_folder_with_one_line(tmp_path, small_dict):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(small_dict))
    out = tmp_path / "out"
    with BuildLock(out):
        res = runner.invoke(app, ["build", str(cfg), "--out", str(out), "--engine", "plain"])
    assert res.exit_code == 2 and "being built by another process" in flat(res.output)
    assert "Traceback" not in res.output


# -- config edges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\n# only a comment\n", "is empty"),
        (b"name: a\xff\xfeb\n", "not UTF-8"),
        (b"name: a\nseed: 1\nname: b\n", "appears twice"),
        (b"seeds: [1, 2\n", "not valid YAML"),
        (b"- a\n- b\n", "must hold a mapping"),
    ],
)
def test_config_file_edges_are_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    res = runner.invoke(app, ["build", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert message in flat(res.output) and str(path.name) in res.output and "Traceback" not in res.output


def test_a_directory_as_config_is_one_line(tmp_path):
    res = runner.invoke(app, ["build", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "is a directory" in flat(res.output)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"distill": {"backtracks_by_level": [-3, 1]}}, "distill.backtracks_by_level[0]"),
        (
            {"seeds": [{"generator": "countdown", "count": 5, "params": {"bogus_knob": 1}}]},
            "seeds[0].params.bogus_knob",
        ),
        ({"seeds": [{"generator": "countdown", "count": 5, "levels": [1, 9]}]}, "seeds[0].levels[1]"),
    ],
)
def test_bad_values_are_named_at_their_own_path(tmp_path, data, field):
    from reasonmill.config import validate_config
    from reasonmill.pipelines.runner import check_config

    with pytest.raises(ConfigError) as err:
        check_config(validate_config(data), tmp_path)
    assert err.value.field == field


def test_a_plan_far_larger_than_the_machine_asks_first(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(
        yaml.safe_dump({"shard_rows": 5, "seeds": [{"generator": "arithmetic_chain", "count": 10_001}]})
    )
    res = runner.invoke(app, ["build", str(path), "--out", str(tmp_path / "o")], input="n\n")
    assert res.exit_code == 1 and "2,001 shards" in flat(res.output)
    assert not (tmp_path / "o" / "seeds").exists()


# -- inspect -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    from reasonmill.config import validate_config

    out = tmp_path_factory.mktemp("inspect") / "out"
    build(
        validate_config(
            {
                "shard_rows": 30,
                "seeds": [{"generator": "arithmetic_chain", "count": 40}],
                "compose": {"rules": []},
            }
        ),
        out,
    )
    return out


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_inspect_a_whole_build_exits_0(finished):
    res = runner.invoke(app, ["inspect", str(finished), "--verify"])
    assert res.exit_code == 0, res.output
    assert "all checksums match" in res.output


def test_inspect_reports_every_problem_and_exits_1(finished, tmp_path):
    out = _copy(finished, tmp_path / "broken")
    corpus = next((out / "corpus").rglob("*.parquet"))
    corpus.write_bytes(corpus.read_bytes()[:100])  # truncated
    distill = out / "distill" / "shard-00001.parquet"
    distill.write_bytes(distill.read_bytes() + b"x")  # changed
    (out / "score" / ".done" / "shard-00000.json").unlink()  # marker gone
    res = runner.invoke(app, ["inspect", str(out)])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    text = flat(res.output)
    assert corpus.name in text and "distill/shard-00001.parquet" in text and "score shard 0" in text


def test_inspect_verify_reads_every_shard(finished, tmp_path):
    out = _copy(finished, tmp_path / "foreign")
    shard = out / "seeds" / "shard-00000.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1]}), shard)
    manifest = json.loads((out / "manifest.json").read_text())
    from reasonmill.shards import file_sha256

    manifest["stages"]["seeds"]["files"]["seeds/shard-00000.parquet"] = file_sha256(
        shard
    )  # a matching checksum
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert (
        runner.invoke(app, ["inspect", str(out), "--rows", "0"]).exit_code == 1
    )  # the marker's checksum differs
    res = runner.invoke(app, ["inspect", str(out), "--rows", "0", "--verify"])
    assert res.exit_code == 1 and "not a reasonmill record shard" in flat(res.output)


# -- a full disk -------------------------------------------------------------------------------


def test_a_full_disk_is_one_line_naming_the_file_and_a_rerun_resumes(tmp_path, small_dict, monkeypatch):
    import pyarrow.parquet as pq

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(small_dict))
    out = tmp_path / "out"
    real = pq.write_table
    calls = {"n": 0}

    def full_after_some(table, where, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 7:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", full_after_some)
    for engine in ("plain", "prefect"):
        calls["n"] = 0
        res = runner.invoke(app, ["build", str(cfg), "--out", str(out), "--engine", engine])
        assert res.exit_code == 2, res.output
        text = flat(res.output)
        assert (
            text.count("error:") == 1 and "no space left on the device writing" in text and ".parquet" in text
        ), res.output
        assert "MB free" in text and "Traceback" not in res.output and res.output.count("\n") < 40
    monkeypatch.setattr(pq, "write_table", real)
    res = runner.invoke(app, ["build", str(cfg), "--out", str(out), "--engine", "plain"])
    assert res.exit_code == 0, res.output
    assert not list(out.rglob(".*.tmp"))


# -- one line per error under Prefect ------------------------------------------------------------


def test_a_stage_error_under_prefect_is_one_line_not_retried(tmp_path, small_dict, monkeypatch):
    from reasonmill.pipelines.stages.distill import DistillStage

    attempts = {"n": 0}

    def broken(self, records, shard):  # type: ignore[no-untyped-def]
        attempts["n"] += 1
        raise ConfigError("distill.teacher", "the teacher broke (injected)")
        yield  # pragma: no cover

    monkeypatch.setattr(DistillStage, "run", broken)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(small_dict))
    t0 = time.monotonic()
    res = runner.invoke(app, ["build", str(cfg), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "the teacher broke (injected)" in flat(res.output) and "Traceback" not in res.output
    assert res.output.count("\n") < 40 and "prefect.log" in flat(res.output)
    assert attempts["n"] <= 3  # one per shard started, never a retry of a deterministic error
    assert (tmp_path / "out" / "logs" / "prefect.log").exists()
    assert time.monotonic() - t0 < 120
