"""Backend and build configs pointed at the llama.cpp server, and readers of a build's rows.

Every backend is kind "openai" (reasonmill's client for any OpenAI-compatible server) with the
role's GBNF grammar in `extra_body`, fast retries (a killed server is noticed in a second, not a
minute) and a timeout that covers the server's queue (llama-cpp-python answers one request at a
time).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from reasonmill.config import BuildConfig, validate_config
from reasonmill.pipelines.stages import STAGE_ORDER

from . import grammars

FAST = {
    "max_attempts": 3,
    "backoff_initial_s": 0.02,
    "backoff_max_s": 0.1,
    "retry_after_max_s": 0.2,
    "cooldown_s": 0.2,
    "cooldown_max_s": 0.5,
    "timeout_s": 120.0,
    "max_concurrency": 8,
}


def backend(url: str, model: str, grammar: str | None, **extra: Any) -> dict[str, Any]:
    """An "openai" backend config for the llama.cpp server, constrained by `grammar`."""
    cfg: dict[str, Any] = {"kind": "openai", "model": model, "base_url": url, **FAST}
    if grammar is not None:
        cfg["extra_body"] = {"grammar": grammar}
    cfg.update(extra)
    return cfg


def build_dict(url: str, tokenizer_dir: Path | None, name: str = "llamacpp-e2e") -> dict[str, Any]:
    """A small build with an LLM teacher (4 samples), LLM Retro-Search, an LLM student (k = 4) and
    a configured judge, over procedural seeds (largest prime factor and linear equations at level
    1: one-digit golds the random model boxes now and then, so some records verify), no
    composition, two shards of four records.

    The reviser backend has the continuation grammar and, when `tokenizer_dir` is given, the
    tokenizer folder for `prefix_mode: completions_template` (llama.cpp ignores
    `continue_final_message`, so that is the mode that can work)."""
    reviser_extra: dict[str, Any] = {}
    if tokenizer_dir is not None:
        reviser_extra["tokenizer"] = str(tokenizer_dir)
    return {
        "name": name,
        "seed": 11,
        "shard_rows": 4,
        "seeds": [
            {"generator": "prime_factors", "count": 6, "levels": [1]},
            {"generator": "linear_equation", "count": 2, "levels": [1]},
        ],
        "compose": {"rules": []},
        "distill": {"backend": "teacher", "samples": 4, "max_tokens": 160, "temperature": 1.0},
        "verify": {"judge": {"backend": "judge"}},
        "retro_search": {
            "backend": "reviser",
            "max_boundaries": 1,
            "rollouts_per_boundary": 2,
            "max_new_tokens": 120,
            "temperature": 1.0,
        },
        "score": {"student": {"backend": "student", "k": 4, "max_tokens": 80}},
        "llm": {
            "backends": {
                "teacher": backend(url, "teacher", grammars.TEACHER),
                "judge": backend(url, "judge", grammars.JUDGE),
                "reviser": backend(url, "reviser", grammars.CONTINUATION, **reviser_extra),
                "student": backend(url, "student", grammars.STUDENT),
            }
        },
    }


def build_config(url: str, tokenizer_dir: Path | None, name: str = "llamacpp-e2e") -> BuildConfig:
    """`build_dict` validated."""
    return validate_config(build_dict(url, tokenizer_dir, name))


def shard_rows(out: Path, folder: str) -> list[dict[str, Any]]:
    """Every row of `out/folder/shard-*.parquet`, shards in order."""
    return [
        r for f in sorted((Path(out) / folder).glob("shard-*.parquet")) for r in pq.read_table(f).to_pylist()
    ]


def corpus_rows(out: Path) -> list[dict[str, Any]]:
    """Every row of the exported corpus (corpus/records/*.parquet)."""
    return [
        r
        for f in sorted((Path(out) / "corpus" / "records").glob("*.parquet"))
        for r in pq.read_table(f).to_pylist()
    ]


def build_rows(out: Path) -> dict[str, list[dict[str, Any]]]:
    """What a build wrote, comparable across build folders: the corpus and, per stage, the kept
    and the rejected shard rows."""
    rows = {"corpus": corpus_rows(out)}
    for stage in STAGE_ORDER:
        rows[stage] = shard_rows(out, stage)
        rows[f"rejected/{stage}"] = shard_rows(out, f"rejected/{stage}")
    return rows
