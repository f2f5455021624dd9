"""End-to-end builds whose LLM stages (teacher, judge, Retro-Search reviser, student) all talk to
llama.cpp's server: n samples are n, k is k, and a build, a rebuild into a fresh folder with the
same request cache and a build resumed after killing the server mid-build write identical rows.

One build is made per module and reused by the tests that only read it; the rebuild, rerun,
resume and refusal tests each build into their own folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from reasonmill.errors import ReasonmillError
from reasonmill.pipelines.backends import CACHE_FILE
from reasonmill.pipelines.runner import build

from .configs import build_config, build_rows, shard_rows

LLM_BACKENDS = ("teacher", "judge", "reviser", "student")


@pytest.fixture(scope="module")
def first(llamacpp, tiny_model, tmp_path_factory) -> dict[str, Any]:
    """The reference build: its folder, manifest, rows and the POSTs the server logged for it."""
    llamacpp.start()
    out = tmp_path_factory.mktemp("llamacpp-build") / "out"
    before, before_completions = llamacpp.posts(), llamacpp.posts("/v1/completions")
    manifest = build(build_config(llamacpp.url, tiny_model.tokenizer_dir), out)
    return {
        "out": out,
        "manifest": manifest,
        "rows": build_rows(out),
        "posts": llamacpp.posts() - before,
        "completions_posts": llamacpp.posts("/v1/completions") - before_completions,
    }


def test_every_distill_record_has_4_traces_or_is_a_rejection_with_reasons(first):
    # Server behaviour: one choice per request (n ignored); reasonmill must still get 4 samples.
    kept = shard_rows(first["out"], "distill")
    rejected = shard_rows(first["out"], "rejected/distill")
    assert kept, "no distill record kept"
    for r in kept:
        assert len(r["traces"]) == 4, (r["id"], len(r["traces"]))
    for r in rejected:
        assert r["reason"] and r["detail"], r
    counts = first["manifest"]["stages"]["distill"]["counts"]
    assert counts["written"] == len(kept) and counts["rejected"] == len(rejected)


def test_every_student_tally_has_k_4(first):
    # Server behaviour: one choice per request; the student's k = 4 must stay 4.
    scored = shard_rows(first["out"], "score")
    assert scored, "no record reached the score stage"
    for r in scored:
        tally = json.loads(r["meta"])["student"]
        assert tally["k"] == 4, tally
        assert tally["passed"] + tally["failed"] + tally["unusable"] == 4, tally


def test_stages_balance_and_llm_stages_asked_the_server(first):
    # Server behaviour: it answers every stage's requests (nothing is served from elsewhere).
    stages = first["manifest"]["stages"]
    for name, s in stages.items():
        c = s["counts"]
        assert c["read"] + c["created"] == c["written"] + c["rejected"], name
    for name in ("distill", "retro_search", "score"):
        assert stages[name]["counts"]["extra"].get("llm_requests", 0) > 0, name
    assert first["posts"] > 0
    revised = [json.loads(r["meta"])["retro_search"] for r in shard_rows(first["out"], "retro_search")]
    assert revised and all(m.get("reviser") == "llm:reviser" for m in revised)
    assert sum(len(m["traces"][0]["boundaries"]) for m in revised) > 0  # rollouts really ran


def test_manifest_records_each_backends_capabilities(first, llamacpp):
    # Server behaviour: n ignored, continue_final_message ignored, logprobs returned; the reviser
    # has a tokenizer, so its prefix continuation goes through the client-rendered template.
    llm = first["manifest"]["llm"]
    for name in LLM_BACKENDS:
        caps = llm[name]["capabilities"]
        assert caps["served_model"] == llamacpp.alias, (name, caps)
        assert caps["n"] == "separate", (name, caps)
    assert llm["reviser"]["capabilities"]["prefix"] == "completions_template"
    assert first["completions_posts"] > 0  # the rollouts really went to /v1/completions


def test_rerun_into_the_same_folder_makes_no_request(first, llamacpp, tiny_model):
    # Server behaviour: every POST it receives is logged; a finished build must send none.
    before = llamacpp.posts()
    build(build_config(llamacpp.url, tiny_model.tokenizer_dir), first["out"])
    assert llamacpp.posts() - before == 0
    assert build_rows(first["out"]) == first["rows"]


def test_rebuild_in_a_fresh_folder_with_the_same_cache_is_identical(first, llamacpp, tiny_model, tmp_path):
    # Server behaviour: deterministic for a fixed seed, and every POST is logged. The user copies
    # the one file the docs name, `llm_cache.sqlite` (not its -wal/-shm side files): it must hold
    # every answer once the build has returned, so the rebuild asks the server (almost) nothing —
    # at most a few start-up probe requests per backend, never the build's generation requests.
    out = tmp_path / "rebuild"
    out.mkdir()
    shutil.copy(first["out"] / CACHE_FILE, out / CACHE_FILE)
    before = llamacpp.posts()
    build(build_config(llamacpp.url, tiny_model.tokenizer_dir), out)
    assert build_rows(out) == first["rows"]
    asked = llamacpp.posts() - before
    assert asked <= 4 * len(LLM_BACKENDS) < first["posts"], (asked, first["posts"])


def test_build_resumed_after_killing_the_server_is_identical(first, llamacpp, tiny_model, tmp_path):
    # Server behaviour: SIGKILL mid-distill drops the requests in flight and refuses new ones until
    # it is restarted on the same port; for a fixed seed it then answers as before.
    out = tmp_path / "resumed"
    cfg = build_config(llamacpp.url, tiny_model.tokenizer_dir)
    killed: list[Any] = []

    def arm(stage: str, shard: int, info: dict[str, Any]) -> None:
        if stage == "distill" and shard == 0 and not killed:
            killed.append(llamacpp.kill_after(3))  # a few requests into distill shard 1

    try:
        try:
            build(cfg, out, progress=arm)
        except ReasonmillError:
            pass  # a build may also stop at the outage; resuming is the same command either way
        assert killed and killed[0].wait(30), "the server was never killed"
        assert not llamacpp.alive()
        interrupted = build_rows(out)
        assert interrupted != first["rows"]  # the outage really cost something
    finally:
        llamacpp.start()  # the same port: the config's URL is valid again
    build(cfg, out)
    assert build_rows(out) == first["rows"]


def test_reviser_without_a_working_prefix_mode_refuses_in_one_line(first, llamacpp, tmp_path):
    # Server behaviour: continue_final_message is ignored and no tokenizer is given, so no prefix
    # mode works; the build must refuse, naming the backend, not revise with fresh replies.
    # A fresh folder and no cache: the first build's rollouts, cached under the same request keys,
    # would otherwise answer every continuation without asking the backend.
    out = tmp_path / "refused"
    with pytest.raises(ReasonmillError) as info:
        build(build_config(llamacpp.url, None), out)
    message = str(info.value)
    assert "\n" not in message.strip(), message
    assert "reviser" in message, message
    assert not list(Path(out / "retro_search").glob("shard-*.parquet"))
