"""End-to-end builds with the plain runner: counts, determinism, resume, SIGKILL and rerun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from datasets import load_dataset

from reasonmill.config import validate_config
from reasonmill.pipelines.runner import build, verify_manifest
from reasonmill.pipelines.stages import STAGE_ORDER
from reasonmill.verifiers import CheckItem, check_many


def _corpus(out: Path) -> list[dict]:
    rows = []
    for f in sorted((out / "corpus" / "records").glob("*.parquet")):
        rows.extend(pq.read_table(f).to_pylist())
    return rows


def _all_stage_rows(out: Path) -> dict[str, list]:
    res = {}
    for stage in STAGE_ORDER:
        for sub in ("", "rejected/"):
            files = sorted((out / stage / sub).glob("shard-*.parquet")) if (out / stage / sub).exists() else []
            res[stage + "/" + sub] = [r["id"] for f in files for r in pq.read_table(f).to_pylist()]
    return res


def test_build_accounts_for_every_row_and_loads_with_datasets(tmp_path, small_config):
    out = tmp_path / "out"
    manifest = build(small_config, out)
    stages = manifest["stages"]
    assert stages["seeds"]["counts"]["created"] == 120
    for name, s in stages.items():
        c = s["counts"]
        assert c["read"] + c["created"] == c["written"] + c["rejected"], name
        assert sum(c["reasons"].values()) == c["rejected"]
    assert stages["compose"]["counts"]["created"] == 12
    rows = _corpus(out)
    assert len(rows) == manifest["corpus"]["rows"] == stages["curate"]["counts"]["written"]
    assert len({r["id"] for r in rows}) == len(rows)
    ds = load_dataset(str(out), "sft", split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert ds.num_rows == len(rows)
    assert set(ds.column_names) >= {"id", "messages"}
    assert ds[0]["messages"][0]["role"] == "user" and ds[0]["messages"][1]["role"] == "assistant"
    # the gold answers re-verify against the exported completions
    verdicts = check_many([CheckItem(r["kind"], r["answer"], r["completion"]) for r in rows])
    assert all(v.passed for v in verdicts)
    assert verify_manifest(out) == []
    composed = [r for r in rows if r["principle"] == "bridging"]
    assert composed and all(len(r["parents"]) == 2 for r in composed)


def test_same_config_same_ids_and_rows(tmp_path, small_config, small_dict):
    build(small_config, tmp_path / "a")
    build(small_config, tmp_path / "b")
    assert _corpus(tmp_path / "a") == _corpus(tmp_path / "b")
    other = validate_config({**small_dict, "seed": 1})
    build(other, tmp_path / "c")
    assert {r["id"] for r in _corpus(tmp_path / "c")}.isdisjoint({r["id"] for r in _corpus(tmp_path / "a")})


def test_rerun_of_finished_build_does_no_work(tmp_path, small_config):
    out = tmp_path / "out"
    build(small_config, out)
    seen = []
    build(small_config, out, progress=lambda stage, shard, info: seen.append(info["skipped"]))
    assert seen and all(seen)


def test_config_change_reruns_only_downstream_stages(tmp_path, small_config, small_dict):
    out = tmp_path / "out"
    build(small_config, out)
    changed = validate_config({**small_dict, "verify": {"timeout_s": 5.0}})
    skipped = {}
    build(changed, out, progress=lambda stage, shard, info: skipped.setdefault(stage, []).append(info["skipped"]))
    assert all(skipped["seeds"]) and all(skipped["distill"])
    assert not any(skipped["verify"]) and not any(skipped["score"])


def _killed_then_resumed(tmp_path: Path, cfg_file: Path, kill_after_markers: int) -> Path:
    out = tmp_path / f"killed{kill_after_markers}"
    code = (
        "import sys; from reasonmill.config import load_config; from reasonmill.pipelines.runner import build; "
        "build(load_config(sys.argv[1]), sys.argv[2])"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(cfg_file), str(out)], start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(out.glob("*/.done/*.json"))) >= kill_after_markers:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "build finished before the kill; raise the shard count"
    build(validate_config(yaml.safe_load(cfg_file.read_text())), out)
    return out


def test_sigkill_at_any_point_then_rerun_gives_the_same_corpus(tmp_path, small_dict):
    data = {**small_dict, "shard_rows": 20}
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(yaml.safe_dump(data))
    ref = tmp_path / "ref"
    build(validate_config(data), ref)
    want_corpus, want_rows = _corpus(ref), _all_stage_rows(ref)
    for k in (1, 14, 31):
        out = _killed_then_resumed(tmp_path, cfg_file, k)
        assert _corpus(out) == want_corpus
        assert _all_stage_rows(out) == want_rows
        assert not list(out.rglob(".*.tmp"))
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["stages"] == json.loads((ref / "manifest.json").read_text())["stages"]
