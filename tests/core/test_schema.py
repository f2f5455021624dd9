"""Schema round trip and validation of shards read from disk."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reasonmill.errors import ShardError
from reasonmill.records import Problem, Record, Rejection, Trace, Verdict
from reasonmill.schema import RECORD_SCHEMA, records_to_table
from reasonmill.shards import (
    ShardCounts,
    StageDir,
    read_records,
    read_rejections,
    write_records,
    write_rejections,
)


def _record(i: int = 0) -> Record:
    p = Problem(question=f"What is {i} + 1?", answer=str(i + 1), kind="math", meta={"spec": {"a": i, "nested": [1, 2]}})
    t = Trace(
        id=f"t{i}",
        text=f"<think>\nadd one\n</think>\n\nThe answer is \\boxed{{{i + 1}}}.",
        answer=str(i + 1),
        teacher="programmatic",
        tokens=12,
        steps=1,
        parent_id=None,
        verdict=Verdict(passed=True, verifier="math"),
        meta={"solver": {"nodes": 3}},
    )
    t2 = Trace(id=f"u{i}", text="no", answer=None, teacher="x", tokens=1, verdict=Verdict(False, "math", "no_answer", "nothing"))
    return Record(
        id=Record.make_id("src", 0, i, p), source="src", seed=0, index=i, level=2, problem=p,
        parents=["a", "b"], principle="bridging", traces=[t, t2], scores={"difficulty": 0.5}, meta={"x": {"y": 1}},
    )


def test_records_round_trip_through_parquet(tmp_path):
    recs = [_record(i) for i in range(5)]
    write_records(tmp_path / "s.parquet", recs)
    back = read_records(tmp_path / "s.parquet")
    assert back == recs


def test_rejections_round_trip_with_full_record(tmp_path):
    rej = [Rejection(_record(1), "verify", "no_correct_trace", "mismatch×2")]
    write_rejections(tmp_path / "r.parquet", rej)
    assert read_rejections(tmp_path / "r.parquet") == rej


def test_ids_are_content_hashes():
    a, b = _record(1), _record(1)
    assert a.id == b.id and a.id != _record(2).id


def test_corrupt_shard_error_names_the_file(tmp_path):
    path = tmp_path / "shard-00000.parquet"
    write_records(path, [_record(0)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ShardError) as err:
        read_records(path)
    assert str(path) in str(err.value) and "Parquet" in str(err.value)


def test_foreign_parquet_file_is_refused(tmp_path):
    path = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"id": ["x"], "text": ["hello"]}), path)
    with pytest.raises(ShardError, match="not a reasonmill record shard"):
        read_records(path)


def test_wrong_field_type_names_the_field(tmp_path):
    table = records_to_table([_record(0)])
    bad = table.set_column(table.schema.get_field_index("level"), pa.field("level", pa.string()), pa.array(["two"]))
    bad = bad.replace_schema_metadata(RECORD_SCHEMA.metadata)
    path = tmp_path / "bad.parquet"
    pq.write_table(bad, path)
    with pytest.raises(ShardError) as err:
        read_records(path)
    assert err.value.field == "level" and str(path) in str(err.value)


def test_bad_meta_json_names_row_and_field(tmp_path):
    table = records_to_table([_record(0), _record(1)])
    metas = pa.array(['{"ok": 1}', "{not json"])
    bad = table.set_column(table.schema.get_field_index("meta"), RECORD_SCHEMA.field("meta"), metas)
    path = tmp_path / "bad.parquet"
    pq.write_table(bad, path)
    with pytest.raises(ShardError) as err:
        read_records(path)
    assert err.value.row == 1 and err.value.field == "meta"


def test_commit_refuses_lost_rows(tmp_path):
    sdir = StageDir(tmp_path, "verify")
    counts = ShardCounts(read=2, written=1)
    with pytest.raises(AssertionError, match="lost rows"):
        sdir.commit(0, "k", [_record(0)], [], counts)


def test_marker_detects_tampered_shard(tmp_path):
    sdir = StageDir(tmp_path, "verify")
    sdir.commit(0, "key1", [_record(0)], [], ShardCounts(read=1, written=1))
    assert sdir.is_complete(0, "key1")
    assert not sdir.is_complete(0, "other-key")
    write_records(sdir.shard(0), [_record(1)])
    assert not sdir.is_complete(0, "key1")
