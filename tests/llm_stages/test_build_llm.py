"""End to end: a build whose every LLM stage talks to an OpenAI-compatible endpoint (the loopback
server) under injected faults — no row lost, rejections with reasons and raw text, reruns free."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from reasonmill.pipelines.backends import CACHE_FILE
from reasonmill.pipelines.runner import build
from reasonmill.pipelines.stages import STAGE_ORDER
from reasonmill.testing.loopback import Faults

LLM_REASONS = {"malformed_reply", "truncated_reply", "request_failed", "inconsistent_answer", "duplicate_background"}
FAULTS = Faults(rate_limit_prob=0.05, retry_after_s=0.05, drop_prob=0.03, malformed_prob=0.03, truncate_prob=0.04, seed=7)


def rejected_rows(out: Path) -> list[dict]:
    rows = []
    for stage in STAGE_ORDER:
        for f in sorted((out / "rejected" / stage).glob("shard-*.parquet")):
            rows.extend(pq.read_table(f).to_pylist())
    return rows


def corpus(out: Path) -> list[dict]:
    return [r for f in sorted((out / "corpus" / "records").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def fresh(out: Path) -> None:
    """Remove every stage output but keep the request cache (a rebuild from scratch, same cache)."""
    for p in out.iterdir():
        if p.name != CACHE_FILE and not p.name.startswith(CACHE_FILE):
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def test_llm_build_under_faults_loses_no_row_and_reruns_from_cache(tmp_path, world_server, llm_build_config):
    cfg = llm_build_config
    out = tmp_path / "out"

    world_server.faults = FAULTS
    manifest = build(cfg, out)
    stages = manifest["stages"]
    for name, s in stages.items():
        c = s["counts"]
        assert c["read"] + c["created"] == c["written"] + c["rejected"], name
        assert sum(c["reasons"].values()) == c["rejected"], name
    for prev, nxt in zip(STAGE_ORDER, STAGE_ORDER[1:], strict=False):
        assert stages[prev]["counts"]["written"] == stages[nxt]["counts"]["read"], (prev, nxt)
    # every LLM stage asked the endpoint, and the faults really happened and were absorbed
    for name in ("seeds", "compose", "distill", "verify", "retro_search", "score"):
        assert stages[name]["counts"]["extra"].get("llm_requests", 0) > 0, name
    assert world_server.counts["rate_limit"] and world_server.counts["drop"] and world_server.counts["malformed"]
    assert sum(s["counts"]["extra"].get("llm_retries", 0) for s in stages.values()) > 0
    # LLM-made items exist downstream
    assert stages["seeds"]["counts"]["created"] > 16
    rejected = rejected_rows(out)
    llm_rejections = [r for r in rejected if r["reason"] in LLM_REASONS]
    assert llm_rejections, [r["reason"] for r in rejected]
    for r in rejected:
        assert r["reason"] and r["detail"], r["id"]
    for r in llm_rejections:
        assert "raw" in r["detail"], r
    assert {"malformed_reply", "inconsistent_answer"} <= {r["reason"] for r in rejected}
    revised = [json.loads(r["meta"])["retro_search"]["revised"] for f in sorted((out / "retro_search").glob("shard-*.parquet"))
               for r in pq.read_table(f, columns=["meta"]).to_pylist()]
    assert sum(revised) > 0  # the LLM reviser's rollouts were verified and accepted
    scored = [r for f in sorted((out / "score").glob("shard-*.parquet")) for r in pq.read_table(f, columns=["scores"]).to_pylist()]
    assert scored and all(0.2 <= {s["name"]: s["value"] for s in r["scores"]}["pass_rate"] <= 0.8 for r in scored)
    rows = corpus(out)
    assert rows and len(rows) == stages["curate"]["counts"]["written"]
    assert {"mindgym", "arithmetic_chain"} & {r["source"] for r in rows}

    # Rebuild from scratch without faults: only what failed or was truncated is asked again.
    first_requests = world_server.counts["requests"]
    world_server.faults = Faults()
    fresh(out)
    build(cfg, out)
    second_requests = world_server.counts["requests"] - first_requests
    assert second_requests < first_requests
    second = corpus(out)

    # And once more: everything is answered from the cache, the corpus is identical.
    fresh(out)
    manifest3 = build(cfg, out)
    assert world_server.counts["requests"] == first_requests + second_requests
    assert all(not s["counts"]["extra"].get("llm_requests") for s in manifest3["stages"].values())
    assert corpus(out) == second
