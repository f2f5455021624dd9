"""The corpus: one Parquet subset per training format, in the shapes TRL reads without guessing.

Layout under the build folder OUT (the dataset card declares these subsets, see `dataset_card_configs`):

    corpus/sft/                conversational `messages`                         (SFTTrainer, language modelling)
    corpus/prompt_completion/  conversational `prompt` and `completion` lists    (SFTTrainer, completion-only loss)
    corpus/grpo/               conversational `prompt` + `solution` + `kind`     (GRPOTrainer, our verifiers as rewards)
    corpus/preference/         conversational `prompt`, `chosen`, `rejected`     (DPOTrainer)
    corpus/records/            one flat analysis row per kept record

Why one format per subset: TRL decides a row's format from its keys (`set.pop()` over the keys it
knows), so a row with both `messages` and `prompt`/`completion` trains one way or the other depending
on `PYTHONHASHSEED`. Why conversational lists: plain-string prompt/completion pairs are glued without
a chat template or separator. Every subset carries `id` and the provenance columns `source`, `level`,
`difficulty` and typed `scores` (a struct of float64 fields, the same type in every folder) that the
curricula read; nothing else. Every subset folder always exists: an empty one holds one empty Parquet
file with the subset's schema, so `datasets.load_dataset(str(OUT), name)` works and says 0 rows.

The assistant turn is a record's best trace: the shortest one that verified (after Retro-Search
usually the revised one). A record with a checked wrong trace gives a preference pair (chosen = best
correct, rejected = shortest wrong).

>>> [c["config_name"] for c in dataset_card_configs({"subsets": {n: {"rows": 0} for n in SUBSETS}})]
['sft', 'prompt_completion', 'grpo', 'preference', 'records']
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reasonmill.errors import ReasonmillError
from reasonmill.records import Record, Trace
from reasonmill.shards import COMPRESSION, atomic_write, atomic_write_table, file_sha256, shard_name

MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])
CONVERSATION = pa.list_(MESSAGE)

# Score names the stages write today; a build's `scores` struct has these plus any others its records
# carry (sorted), so the type is the same in every folder of a build and stable across builds.
BASE_SCORE_NAMES = (
    "difficulty",
    "difficulty_intrinsic",
    "effort_backtracks",
    "effort_nodes",
    "pass_rate",
    "retro_token_reduction",
    "teacher_pass_rate",
    "trace_tokens_min",
)

SUBSETS = ("sft", "prompt_completion", "grpo", "preference", "records")
DEFAULT_SUBSET = "sft"


def scores_type(names: Iterable[str] = ()) -> pa.StructType:
    """The typed `scores` struct: one nullable float64 field per score name (base names plus `names`)."""
    return pa.struct([pa.field(n, pa.float64()) for n in sorted(set(BASE_SCORE_NAMES) | set(names))])


def _provenance(scores: pa.DataType) -> list[pa.Field]:
    return [
        pa.field("source", pa.string(), nullable=False),
        pa.field("level", pa.int64(), nullable=False),
        pa.field("difficulty", pa.float64(), nullable=False),
        pa.field("scores", scores, nullable=False),
    ]


def subset_schemas(scores: pa.DataType | None = None) -> dict[str, pa.Schema]:
    """The Arrow schema of each subset (`scores` defaults to the base struct)."""
    scores = scores or scores_type()
    idf = pa.field("id", pa.string(), nullable=False)
    prov = _provenance(scores)
    conv = lambda name: pa.field(name, CONVERSATION, nullable=False)  # noqa: E731
    return {
        "sft": pa.schema([idf, conv("messages"), *prov]),
        "prompt_completion": pa.schema([idf, conv("prompt"), conv("completion"), *prov]),
        "grpo": pa.schema(
            [
                idf,
                conv("prompt"),
                pa.field("solution", pa.string(), nullable=False),
                pa.field("kind", pa.string(), nullable=False),
                *prov,
            ]
        ),
        "preference": pa.schema([idf, conv("prompt"), conv("chosen"), conv("rejected"), *prov]),
        "records": pa.schema(
            [
                idf,
                pa.field("source", pa.string(), nullable=False),
                pa.field("level", pa.int64(), nullable=False),
                pa.field("principle", pa.string()),
                pa.field("parents", pa.list_(pa.string()), nullable=False),
                pa.field("kind", pa.string(), nullable=False),
                pa.field("question", pa.string(), nullable=False),
                pa.field("answer", pa.string(), nullable=False),
                pa.field("completion", pa.string(), nullable=False),
                pa.field("trace_id", pa.string(), nullable=False),
                pa.field("parent_trace_id", pa.string()),
                pa.field("teacher", pa.string(), nullable=False),
                pa.field("trace_tokens", pa.int64(), nullable=False),
                pa.field("trace_steps", pa.int64(), nullable=False),
                pa.field("verifier", pa.string(), nullable=False),
                pa.field("n_traces", pa.int64(), nullable=False),
                pa.field("n_correct", pa.int64(), nullable=False),
                pa.field("n_wrong", pa.int64(), nullable=False),
                pa.field("difficulty", pa.float64(), nullable=False),
                pa.field("scores", scores, nullable=False),
            ]
        ),
    }


def best_trace(rec: Record) -> Trace | None:
    """The shortest verified trace of a record (ties: the first)."""
    passing = [t for t in rec.traces if t.verdict is not None and t.verdict.passed]
    return min(passing, key=lambda t: t.tokens) if passing else None


def wrong_trace(rec: Record) -> Trace | None:
    """The shortest trace whose answer was checked and found wrong (not a timeout or an error)."""
    wrong = [t for t in rec.traces if t.verdict is not None and not t.verdict.passed and t.verdict.checked]
    return min(wrong, key=lambda t: t.tokens) if wrong else None


def _difficulty(rec: Record) -> float:
    return float(rec.scores.get("difficulty", rec.scores.get("difficulty_intrinsic", 0.0)))


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def subset_rows(rec: Record) -> dict[str, dict[str, Any]]:
    """The rows a record contributes, by subset name (none when it has no verified trace)."""
    good = best_trace(rec)
    if good is None:
        return {}
    q = rec.problem.question
    prov = {
        "source": rec.source,
        "level": rec.level,
        "difficulty": _difficulty(rec),
        "scores": dict(rec.scores),
    }
    rows: dict[str, dict[str, Any]] = {
        "sft": {"id": rec.id, "messages": _user(q) + _assistant(good.text), **prov},
        "prompt_completion": {"id": rec.id, "prompt": _user(q), "completion": _assistant(good.text), **prov},
        "grpo": {
            "id": rec.id,
            "prompt": _user(q),
            "solution": rec.problem.answer,
            "kind": rec.problem.kind,
            **prov,
        },
        "records": {
            "id": rec.id,
            "source": rec.source,
            "level": rec.level,
            "principle": rec.principle,
            "parents": list(rec.parents),
            "kind": rec.problem.kind,
            "question": q,
            "answer": rec.problem.answer,
            "completion": good.text,
            "trace_id": good.id,
            "parent_trace_id": good.parent_id,
            "teacher": good.teacher,
            "trace_tokens": good.tokens,
            "trace_steps": good.steps,
            "verifier": good.verdict.verifier if good.verdict else "",
            "n_traces": len(rec.traces),
            "n_correct": sum(1 for t in rec.traces if t.verdict is not None and t.verdict.passed),
            "n_wrong": sum(
                1 for t in rec.traces if t.verdict is not None and not t.verdict.passed and t.verdict.checked
            ),
            "difficulty": prov["difficulty"],
            "scores": prov["scores"],
        },
    }
    bad = wrong_trace(rec)
    if bad is not None:
        rows["preference"] = {
            "id": rec.id,
            "prompt": _user(q),
            "chosen": _assistant(good.text),
            "rejected": _assistant(bad.text),
            **prov,
        }
    return rows


def _write_empty(path: Path, schema: pa.Schema) -> None:
    # No row group at all: `datasets` reads a 0-row row group as batch size 0 and fails.
    with pq.ParquetWriter(path, schema, compression=COMPRESSION):
        pass


def write_rotated(
    rows: list[dict[str, Any]], folder: Path, schema: pa.Schema, rows_per_file: int
) -> dict[str, str]:
    """Write rows into `folder/shard-NNNNN.parquet` files of at most `rows_per_file` rows.

    No rows still writes one empty file with the schema (an empty subset is declared, not missing).
    Returns file name → SHA-256. Stale files from an earlier export with more files are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for k, start in enumerate(range(0, max(len(rows), 1), rows_per_file)):
        path = folder / shard_name(k)
        if rows:
            atomic_write_table(path, pa.Table.from_pylist(rows[start : start + rows_per_file], schema=schema))
        else:
            atomic_write(path, lambda tmp: _write_empty(tmp, schema))
        files[path.name] = file_sha256(path)
    for stale in folder.glob("shard-*.parquet"):
        if stale.name not in files:
            stale.unlink()
    return files


def _remove_legacy_layout(out: Path) -> None:
    """Drop files of the earlier flat layout (`corpus/*.parquet`, `preference/`), so no reader mixes them."""
    for f in (out / "corpus").glob("shard-*.parquet"):
        f.unlink()
    legacy = out / "preference"
    if legacy.is_dir():
        for f in legacy.glob("shard-*.parquet"):
            f.unlink()
        if not any(legacy.iterdir()):
            legacy.rmdir()


def write_subsets(records: Iterable[Record], out: Path, rows_per_file: int) -> dict[str, Any]:
    """Write every subset under `out/corpus/`; return the manifest's "corpus" entry.

    {"subsets": {NAME: {"rows": n, "files": {"corpus/NAME/shard-00000.parquet": sha256}}},
     "rows": rows of sft, "preference_pairs": rows of preference,
     "files": {"NAME/shard-00000.parquet": sha256}}  (every file, relative to corpus/, for checksums)
    """
    out = Path(out)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SUBSETS}
    score_names: set[str] = set()
    for rec in records:
        score_names.update(rec.scores)
        for name, row in subset_rows(rec).items():
            rows[name].append(row)
    schemas = subset_schemas(scores_type(score_names))
    _remove_legacy_layout(out)
    subsets: dict[str, Any] = {}
    flat: dict[str, str] = {}
    for name in SUBSETS:
        files = write_rotated(rows[name], out / "corpus" / name, schemas[name], rows_per_file)
        subsets[name] = {
            "rows": len(rows[name]),
            "files": {f"corpus/{name}/{f}": d for f, d in files.items()},
        }
        flat.update({f"{name}/{f}": d for f, d in files.items()})
    return {
        "subsets": subsets,
        "rows": len(rows["sft"]),
        "preference_pairs": len(rows["preference"]),
        "files": flat,
    }


def dataset_card_configs(corpus_manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The dataset card's YAML `configs:` entries: one per subset, `sft` the default.

    Each entry is `{"config_name": NAME, "data_files": [{"split": "train", "path": "corpus/NAME/*.parquet"}]}`
    (plus `"default": True` on sft), so `datasets.load_dataset(str(OUT), NAME)` loads that subset.
    """
    names = [n for n in SUBSETS if n in corpus_manifest.get("subsets", {})] or list(SUBSETS)
    configs = []
    for name in names:
        entry: dict[str, Any] = {
            "config_name": name,
            "data_files": [{"split": "train", "path": f"corpus/{name}/*.parquet"}],
        }
        if name == DEFAULT_SUBSET:
            entry["default"] = True
        configs.append(entry)
    return configs


def corpus_dir(path: Path) -> Path:
    """The corpus folder of `path`: a build folder (holding `corpus/`) or a corpus folder itself."""
    path = Path(path)
    if (path / "corpus").is_dir() and any((path / "corpus" / n).is_dir() for n in SUBSETS):
        return path / "corpus"
    if any((path / n).is_dir() for n in SUBSETS):
        return path
    raise ReasonmillError(
        f"{path}: not a reasonmill build or corpus folder (no {'/, '.join(SUBSETS)}/ subset folders)"
    )


def read_subset(out: Path, name: str) -> pa.Table:
    """All rows of subset `name` of a build (or corpus) folder as one Arrow table."""
    if name not in SUBSETS:
        raise ReasonmillError(f"unknown corpus subset '{name}'; known subsets: {', '.join(SUBSETS)}")
    folder = corpus_dir(Path(out)) / name
    files = sorted(folder.glob("*.parquet"))  # a build's shard files, or a growing corpus's per-run files
    if not files:
        raise ReasonmillError(f"{folder}: subset '{name}' has no shard files")
    return pa.concat_tables([pq.read_table(f) for f in files])


__all__ = [
    "SUBSETS",
    "best_trace",
    "corpus_dir",
    "dataset_card_configs",
    "write_subsets",
    "read_subset",
    "scores_type",
    "subset_rows",
    "subset_schemas",
    "write_rotated",
]
