"""`verify_file` / `reasonmill verify`: grade a JSONL or Parquet file and write verdicts back."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from reasonmill.pipelines.verify_file import VerifyFileError, load_policy, verify_command, verify_file

ROWS = [
    {"id": "a", "gold": "18", "prediction": "16 - 3 - 4 = 9 eggs, 9 * 2 = 18.\nA: 18"},
    {"id": "b", "gold": "\\frac{1}{2}", "prediction": "So the answer is $\\boxed{0.5}$."},
    {"id": "c", "gold": "7", "prediction": "\\boxed{8}"},
    {"id": "d", "gold": "7", "prediction": "I'm not sure how to do this one, sorry about that."},
    {"id": "e", "gold": "B", "prediction": "The answer is (B).", "kind": "choice"},
    {"id": "f", "gold": "0.25", "prediction": "\\boxed{25\\%}"},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_round_trip(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "outputs.jsonl", ROWS)
    summary = verify_file(src)
    assert summary["rows"] == 6 and summary["passed"] == 4
    assert summary["reasons"] == {"mismatch": 1, "no_answer": 1}
    assert summary["kinds"] == {"choice": {"passed": 1}, "math": {"passed": 3, "failed": 2}}
    out = [json.loads(line) for line in (tmp_path / "outputs.verified.jsonl").read_text().splitlines()]
    assert [r["id"] for r in out] == list("abcdef")
    assert [r["verdict_passed"] for r in out] == [True, True, False, False, True, True]
    assert out[2]["verdict_reason"] == "mismatch" and out[2]["extracted_answer"] == "8"
    assert out[4]["extracted_answer"] == "B" and out[4]["verdict_verifier"] == "choice"


def test_parquet_with_policy(tmp_path: Path) -> None:
    src = tmp_path / "outputs.parquet"
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in ("id", "gold", "prediction")} for r in ROWS]), src)
    summary = verify_file(src, tmp_path / "graded.parquet", policy=load_policy('{"percent": "number"}'))
    graded = pq.read_table(tmp_path / "graded.parquet").to_pylist()
    assert graded[5]["verdict_passed"] is False  # 25% is 25, not 0.25, under this policy
    assert graded[4]["verdict_verifier"] == "math"  # no kind column: every row graded as --kind
    assert [r["id"] for r in graded] == list("abcdef") and summary["passed"] == 3


def test_errors_name_the_row_and_field(tmp_path: Path) -> None:
    with pytest.raises(VerifyFileError, match="row 1: missing field 'prediction'"):
        verify_file(write_jsonl(tmp_path / "x.jsonl", [ROWS[0], {"gold": "1"}]))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"gold": "1", "prediction": "1"}\n{oops\n')
    with pytest.raises(VerifyFileError, match="line 2"):
        verify_file(bad)
    with pytest.raises(VerifyFileError, match="registered kinds: .*choice.*math"):
        verify_file(write_jsonl(tmp_path / "y.jsonl", ROWS), kind_default="maths")
    with pytest.raises(VerifyFileError, match="percent_sign"):
        load_policy('{"percent_sign": true}')


def test_command(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(verify_command)
    src = write_jsonl(tmp_path / "o.jsonl", ROWS[:3])
    result = CliRunner().invoke(app, [str(src), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["passed"] == 2
    result = CliRunner().invoke(app, [str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "does not exist" in result.output
