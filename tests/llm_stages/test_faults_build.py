"""A build against a server that trickles, hangs, resets, floods, truncates, sends no choices, 429s
and 5xxs: it finishes within a bound set by its config, every row is a record or a rejection that
keeps its real cause, and a rerun against a healthy server recovers every failed row while asking
again for nothing that succeeded — ending with the corpus an uninterrupted healthy build makes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from reasonmill.config import validate_config
from reasonmill.pipelines.runner import build
from reasonmill.pipelines.stages import STAGE_ORDER
from reasonmill.testing.loopback import ReplyRequest

from .conftest import WorldResponder, teach_procedural
from .faulty_server import FaultyServer, body_key

FAULTS = ("trickle", "hang", "reset", "huge", "truncated", "empty", "429", "503")
CLIENT = {
    "timeout_s": 2.0,
    "max_attempts": 2,
    "backoff_initial_s": 0.01,
    "backoff_max_s": 0.05,
    "retry_after_max_s": 0.1,
    "failure_threshold": 3,
    "cooldown_s": 0.3,
    "cooldown_max_s": 0.6,
}


class FaultyPlan:
    """Every other new request fails, in the next fault mode in turn; a request keeps its mode on
    every retry (so its failure is for good in this run, and every mode is seen)."""

    def __init__(self) -> None:
        self.modes: dict[str, str] = {}

    def __call__(self, body: bytes) -> str:
        key = body_key(body)
        if key not in self.modes:
            n = len(self.modes)
            self.modes[key] = FAULTS[(n // 2) % len(FAULTS)] if n % 2 else "ok"
        return self.modes[key]


def _config(url: str) -> dict:
    backend = {"kind": "openai", "base_url": url, **CLIENT}
    return {
        "name": "faults",
        "shard_rows": 8,
        "seeds": [
            {"generator": "arithmetic_chain", "count": 12},
            {"generator": "linear_equation", "count": 12},
        ],
        "compose": {"rules": []},
        "distill": {"backend": "teacher", "samples": 2, "max_tokens": 512},
        "retro_search": {"enabled": False},
        "score": {"student": {"backend": "student", "k": 2, "max_tokens": 256}},
        "llm": {
            "backends": {
                "teacher": {**backend, "model": "teacher-model"},
                "student": {**backend, "model": "student-model"},
            }
        },
    }


def _rows(out: Path, folder: str) -> list[dict]:
    return [r for f in sorted((out / folder).glob("shard-*.parquet")) for r in pq.read_table(f).to_pylist()]


def _bound_s(cfg: dict) -> float:
    # Each LLM call site (distill, score) is one concurrent batch per shard; a failing request costs
    # at most max_attempts × (deadline + backoff) plus a circuit's wait per attempt.
    c = CLIENT
    per_request = c["max_attempts"] * (c["timeout_s"] + c["backoff_max_s"] + c["cooldown_max_s"])
    shards = 3
    return 2 * shards * per_request + 60  # + the CPU stages and start-up on a shared 2-core machine


@pytest.fixture
def world() -> WorldResponder:
    return WorldResponder()


def test_faults_then_a_healthy_rerun_recover_everything(tmp_path, world):
    respond = lambda req: world(ReplyRequest("chat", req["messages"], "", req, req["_sample"]))  # noqa: E731
    with FaultyServer(respond, plan=FaultyPlan(), trickle_s=0.5) as server:
        cfg = validate_config(_config(server.url))
        teach_procedural(world, cfg)
        out = tmp_path / "out"
        t0 = time.monotonic()
        build(cfg, out)
        took = time.monotonic() - t0
        assert took < _bound_s(_config(server.url)), took
        modes = {m for _, m in server.log}
        assert set(FAULTS) <= modes, modes  # every fault really happened
        good_first = {k for k, m in server.log if m == "ok"}

        rejected = _rows(out, "rejected/distill")
        failed = [r for r in rejected if r["reason"] == "request_failed"]
        assert failed, [r["reason"] for r in rejected]
        causes = (
            "no complete reply in time",
            "reply too large",
            "connection failed",
            "malformed reply",
            "HTTP 429",
            "HTTP 503",
            "no endpoint available",
        )
        for r in failed:
            assert any(c in r["detail"] for c in causes), r["detail"]
            if "no endpoint available" in r["detail"]:
                assert "last error" in r["detail"], r["detail"]  # the real cause survives an open circuit
        markers = [json.loads(p.read_text()) for p in sorted((out / "distill" / ".done").glob("*.json"))]
        assert any(m["retry"] for m in markers)
        huge = [r for r in rejected if "reply too large" in r["detail"]]
        assert all(len(r["detail"]) < 10_000 for r in huge)
        assert (
            sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 20_000_000
        )  # no 20 MB reply kept

        # Heal the server and rerun into the same folder.
        server.plan = lambda body: "ok"
        before = len(server.log)
        build(cfg, out)
        again = {k for k, _ in server.log[before:]}
        assert again and not (again & good_first), "a request that had succeeded was asked again"
        assert not [r for r in _rows(out, "rejected/distill") if r["reason"] == "request_failed"]
        recs = _rows(out, "distill")
        assert recs
        for r in (
            recs
        ):  # every sample is a trace or a reply the model really got wrong (no transport failure left)
            bad = json.loads(r["meta"]).get("llm_teacher", {}).get("bad_samples", [])
            assert len(r["traces"]) + len(bad) == 2 and not [
                b for b in bad if b["reason"] == "request_failed"
            ], bad
        for r in _rows(out, "score"):
            student = json.loads(r["meta"])["student"]
            assert student["k"] == 2 and student["unusable"] == 0, student

        # A third run has nothing left to retry: no request at all.
        before = len(server.log)
        build(cfg, out)
        assert len(server.log) == before

        # The recovered build is the build a healthy server gives from the start.
        healthy = tmp_path / "healthy"
        build(cfg, healthy)
    for stage in STAGE_ORDER:
        assert _rows(out, stage) == _rows(healthy, stage), stage
    assert _rows(out, "corpus/records") == _rows(healthy, "corpus/records")
