"""Corpus export: the final records as flat rows in the shapes TRL reads.

Each kept record becomes one row of `OUT/corpus/*.parquet` with a stable `id` and:
  - `messages`: [{"role": "user", ...}, {"role": "assistant", ...}] (SFT, conversational)
  - `prompt` / `completion`: the same as plain strings (SFT, prompt-completion)
  - `solution`: the gold answer, for GRPO reward functions (`prompt` + `solution`)
  - provenance and scores: source, level, principle, parents, difficulty, tokens, trace ids.
The assistant turn is the record's best trace: the shortest one that verified (after Retro-Search
that is usually the revised one). Records that also have a wrong trace give a preference pair in
`OUT/preference/*.parquet` (`prompt`, `chosen`, `rejected`). Files rotate at `rows_per_file`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from reasonmill.records import Record, Trace
from reasonmill.shards import atomic_write_table, file_sha256, shard_name

MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])
CORPUS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("level", pa.int64(), nullable=False),
        pa.field("principle", pa.string()),
        pa.field("parents", pa.list_(pa.string()), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("answer", pa.string(), nullable=False),
        pa.field("messages", pa.list_(MESSAGE), nullable=False),
        pa.field("prompt", pa.string(), nullable=False),
        pa.field("completion", pa.string(), nullable=False),
        pa.field("solution", pa.string(), nullable=False),
        pa.field("trace_id", pa.string(), nullable=False),
        pa.field("parent_trace_id", pa.string()),
        pa.field("teacher", pa.string(), nullable=False),
        pa.field("trace_tokens", pa.int64(), nullable=False),
        pa.field("trace_steps", pa.int64(), nullable=False),
        pa.field("verifier", pa.string(), nullable=False),
        pa.field("n_traces", pa.int64(), nullable=False),
        pa.field("n_correct", pa.int64(), nullable=False),
        pa.field("difficulty", pa.float64(), nullable=False),
        pa.field("scores", pa.string(), nullable=False),
    ]
)
PREFERENCE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("prompt", pa.string(), nullable=False),
        pa.field("chosen", pa.string(), nullable=False),
        pa.field("rejected", pa.string(), nullable=False),
        pa.field("solution", pa.string(), nullable=False),
    ]
)


def best_trace(rec: Record) -> Trace | None:
    """The shortest verified trace of a record (ties: the first)."""
    passing = [t for t in rec.traces if t.verdict is not None and t.verdict.passed]
    return min(passing, key=lambda t: t.tokens) if passing else None


def corpus_row(rec: Record) -> dict[str, Any] | None:
    """The flat corpus row of a record, or None when it has no verified trace."""
    import json

    t = best_trace(rec)
    if t is None:
        return None
    q = rec.problem.question
    return {
        "id": rec.id,
        "source": rec.source,
        "level": rec.level,
        "principle": rec.principle,
        "parents": rec.parents,
        "kind": rec.problem.kind,
        "question": q,
        "answer": rec.problem.answer,
        "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": t.text}],
        "prompt": q,
        "completion": t.text,
        "solution": rec.problem.answer,
        "trace_id": t.id,
        "parent_trace_id": t.parent_id,
        "teacher": t.teacher,
        "trace_tokens": t.tokens,
        "trace_steps": t.steps,
        "verifier": t.verdict.verifier if t.verdict else "",
        "n_traces": len(rec.traces),
        "n_correct": sum(1 for x in rec.traces if x.verdict is not None and x.verdict.passed),
        "difficulty": rec.scores.get("difficulty", rec.scores.get("difficulty_intrinsic", 0.0)),
        "scores": json.dumps(rec.scores, sort_keys=True),
    }


def preference_row(rec: Record) -> dict[str, Any] | None:
    """A (chosen = best correct, rejected = shortest wrong) pair, when the record has both."""
    good = best_trace(rec)
    wrong = [t for t in rec.traces if t.verdict is not None and not t.verdict.passed and t.verdict.checked]
    if good is None or not wrong:
        return None
    bad = min(wrong, key=lambda t: t.tokens)
    return {"id": rec.id, "prompt": rec.problem.question, "chosen": good.text, "rejected": bad.text, "solution": rec.problem.answer}


def write_rotated(rows: list[dict[str, Any]], folder: Path, schema: pa.Schema, rows_per_file: int) -> dict[str, str]:
    """Write rows into `folder/shard-NNNNN.parquet` files of at most `rows_per_file` rows.

    Returns file name → SHA-256. Stale files from an earlier export with more files are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for k, start in enumerate(range(0, max(len(rows), 1), rows_per_file)):
        path = folder / shard_name(k)
        atomic_write_table(path, pa.Table.from_pylist(rows[start : start + rows_per_file], schema=schema))
        files[path.name] = file_sha256(path)
    for stale in folder.glob("shard-*.parquet"):
        if stale.name not in files:
            stale.unlink()
    return files


def export_corpus(records: Iterable[Record], out: Path, rows_per_file: int) -> dict[str, Any]:
    """Write `out/corpus/` and `out/preference/`; return counts and file checksums."""
    rows, prefs = [], []
    for rec in records:
        row = corpus_row(rec)
        if row is not None:
            rows.append(row)
        pref = preference_row(rec)
        if pref is not None:
            prefs.append(pref)
    corpus_files = write_rotated(rows, out / "corpus", CORPUS_SCHEMA, rows_per_file)
    pref_files = write_rotated(prefs, out / "preference", PREFERENCE_SCHEMA, rows_per_file) if prefs else {}
    return {"rows": len(rows), "preference_pairs": len(prefs), "files": corpus_files, "preference_files": pref_files}
