"""The Arrow schema of stage shards, and the converters between rows and typed records.

`RECORD_SCHEMA` and `REJECTION_SCHEMA` are the single source of truth for what a shard holds.
Free-form `meta` dicts are stored as JSON text so the schema never changes with their content.
`validate_table` checks a table read from disk field by field and names the first bad row and field.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from reasonmill.errors import ShardError
from reasonmill.records import Problem, Record, Rejection, Trace, Verdict

SCHEMA_VERSION = 2

VERDICT_TYPE = pa.struct(
    [
        pa.field("passed", pa.bool_(), nullable=False),
        pa.field("verifier", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("detail", pa.string(), nullable=False),
    ]
)
# Scores are named numbers whose names grow with the stages that set them: a list of
# (name, value) pairs, sorted by name. (Arrow's map type would say the same, but `datasets`
# cannot load a map column, and every stage folder must load with `load_dataset`.)
SCORE_TYPE = pa.struct(
    [pa.field("name", pa.string(), nullable=False), pa.field("value", pa.float64(), nullable=False)]
)
PROBLEM_TYPE = pa.struct(
    [
        pa.field("question", pa.string(), nullable=False),
        pa.field("answer", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("meta", pa.string(), nullable=False),
    ]
)
TRACE_TYPE = pa.struct(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("answer", pa.string()),
        pa.field("teacher", pa.string(), nullable=False),
        pa.field("tokens", pa.int64(), nullable=False),
        pa.field("steps", pa.int64(), nullable=False),
        pa.field("parent_id", pa.string()),
        pa.field("verdict", VERDICT_TYPE),
        pa.field("meta", pa.string(), nullable=False),
    ]
)
RECORD_FIELDS = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("seed", pa.int64(), nullable=False),
    pa.field("index", pa.int64(), nullable=False),
    pa.field("level", pa.int64(), nullable=False),
    pa.field("problem", PROBLEM_TYPE, nullable=False),
    pa.field("parents", pa.list_(pa.string()), nullable=False),
    pa.field("principle", pa.string()),
    pa.field("traces", pa.list_(TRACE_TYPE), nullable=False),
    pa.field("scores", pa.list_(SCORE_TYPE), nullable=False),
    pa.field("meta", pa.string(), nullable=False),
]
RECORD_TYPE = pa.struct(RECORD_FIELDS)
RECORD_SCHEMA = pa.schema(
    RECORD_FIELDS, metadata={"reasonmill.kind": "record", "reasonmill.schema_version": str(SCHEMA_VERSION)}
)
REJECTION_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
        pa.field("record", RECORD_TYPE, nullable=False),
    ],
    metadata={"reasonmill.kind": "rejection", "reasonmill.schema_version": str(SCHEMA_VERSION)},
)


def _dump(meta: dict[str, Any]) -> str:
    return json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str)


def _verdict_row(v: Verdict | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {"passed": v.passed, "verifier": v.verifier, "reason": v.reason, "detail": v.detail}


def trace_to_row(t: Trace) -> dict[str, Any]:
    """The Arrow row of a trace."""
    return {
        "id": t.id,
        "text": t.text,
        "answer": t.answer,
        "teacher": t.teacher,
        "tokens": t.tokens,
        "steps": t.steps,
        "parent_id": t.parent_id,
        "verdict": _verdict_row(t.verdict),
        "meta": _dump(t.meta),
    }


def record_to_row(r: Record) -> dict[str, Any]:
    """The Arrow row of a record (meta dicts become JSON text)."""
    return {
        "id": r.id,
        "source": r.source,
        "seed": r.seed,
        "index": r.index,
        "level": r.level,
        "problem": {
            "question": r.problem.question,
            "answer": r.problem.answer,
            "kind": r.problem.kind,
            "meta": _dump(r.problem.meta),
        },
        "parents": list(r.parents),
        "principle": r.principle,
        "traces": [trace_to_row(t) for t in r.traces],
        "scores": [{"name": k, "value": v} for k, v in sorted(r.scores.items())],
        "meta": _dump(r.meta),
    }


def rejection_to_row(j: Rejection) -> dict[str, Any]:
    """The Arrow row of a rejection, with the full record kept inside it."""
    return {
        "id": j.record.id,
        "stage": j.stage,
        "reason": j.reason,
        "detail": j.detail,
        "record": record_to_row(j.record),
    }


def _verdict(d: dict[str, Any] | None) -> Verdict | None:
    if d is None:
        return None
    return Verdict(passed=d["passed"], verifier=d["verifier"], reason=d["reason"], detail=d["detail"])


def row_to_trace(d: dict[str, Any]) -> Trace:
    """The trace of an Arrow row."""
    return Trace(
        id=d["id"],
        text=d["text"],
        answer=d["answer"],
        teacher=d["teacher"],
        tokens=d["tokens"],
        steps=d["steps"],
        parent_id=d["parent_id"],
        verdict=_verdict(d["verdict"]),
        meta=json.loads(d["meta"]),
    )


def row_to_record(d: dict[str, Any]) -> Record:
    """The record of an Arrow row (as produced by `pa.Table.to_pylist`)."""
    p = d["problem"]
    scores = d["scores"]
    return Record(
        id=d["id"],
        source=d["source"],
        seed=d["seed"],
        index=d["index"],
        level=d["level"],
        problem=Problem(
            question=p["question"], answer=p["answer"], kind=p["kind"], meta=json.loads(p["meta"])
        ),
        parents=list(d["parents"]),
        principle=d["principle"],
        traces=[row_to_trace(t) for t in d["traces"]],
        scores={s["name"]: s["value"] for s in scores} if scores is not None else {},
        meta=json.loads(d["meta"]),
    )


def row_to_rejection(d: dict[str, Any]) -> Rejection:
    """The rejection of an Arrow row."""
    return Rejection(
        record=row_to_record(d["record"]), stage=d["stage"], reason=d["reason"], detail=d["detail"]
    )


def records_to_table(records: list[Record]) -> pa.Table:
    """An Arrow table of records under `RECORD_SCHEMA`."""
    return pa.Table.from_pylist([record_to_row(r) for r in records], schema=RECORD_SCHEMA)


def rejections_to_table(rejections: list[Rejection]) -> pa.Table:
    """An Arrow table of rejections under `REJECTION_SCHEMA`."""
    return pa.Table.from_pylist([rejection_to_row(j) for j in rejections], schema=REJECTION_SCHEMA)


def _first_null(col: pa.ChunkedArray) -> int:
    return int(pa.compute.index(pa.compute.is_null(col), True).as_py())


def validate_table(table: pa.Table, expected: pa.Schema, path: str) -> None:
    """Raise `ShardError` naming the field (and row) where `table` departs from `expected`.

    Checks the column set and types, then nulls in non-nullable columns and nested JSON fields.
    """
    kind = (table.schema.metadata or {}).get(b"reasonmill.kind", b"").decode()
    want_kind = (expected.metadata or {}).get(b"reasonmill.kind", b"").decode()
    if kind != want_kind:
        raise ShardError(
            path, f"not a reasonmill {want_kind} shard (schema metadata kind={kind or 'missing'!r})"
        )
    for f in expected:
        if f.name not in table.column_names:
            raise ShardError(path, "column missing", field=f.name)
        got = table.schema.field(f.name).type
        if not got.equals(f.type):
            raise ShardError(path, f"type {got} does not match schema type {f.type}", field=f.name)
        if not f.nullable and table.column(f.name).null_count:
            raise ShardError(
                path, "null in a non-nullable field", row=_first_null(table.column(f.name)), field=f.name
            )
    extra = set(table.column_names) - set(expected.names)
    if extra:
        raise ShardError(path, f"unexpected columns {sorted(extra)}")
    if "meta" in table.column_names:
        for i, text in enumerate(table.column("meta").to_pylist()):
            try:
                json.loads(text)
            except (TypeError, ValueError) as exc:
                raise ShardError(path, f"meta is not JSON ({exc})", row=i, field="meta") from None
