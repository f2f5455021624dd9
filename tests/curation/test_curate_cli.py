"""`reasonmill curate` through typer's CliRunner: a public-dataset-shaped JSONL with a column
mapping, a `datasets` folder, and a reasonmill build folder (whose curation must agree with the
library planned over the build's records)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import typer
from typer.testing import CliRunner

from reasonmill.benchmark_data import iter_benchmark_rows
from reasonmill.pipelines.curate_cmd import curate_command


def app() -> typer.Typer:
    a = typer.Typer(add_completion=False)

    @a.callback()
    def main() -> None:
        """Test app holding the curate command as a sub-command, the way cli.py will."""

    a.command("curate")(curate_command)
    return a


def _rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def openr1_like(path: Path) -> list[dict]:
    """Rows shaped like a public reasoning dataset: problem, solution, answer, a list of generations."""
    gsm = next(r for r in iter_benchmark_rows("gsm8k_test_first500.jsonl") if r["id"] == "gsm8k_test_3")
    rows = []
    for i in range(12):
        a, b = 3 + i, 7 + 2 * i
        rows.append(
            {
                "uuid": f"u{i}",
                "problem": f"A tank holds {a * 10} litres and leaks {b} litres an hour while a pump adds {a} litres an hour. After how many hours is it empty?",
                "solution": f"Net loss {b - a} per hour.",
                "answer": str(round(a * 10 / (b - a), 3)),
                "generations": [
                    f"<think>net {b - a}</think> The answer is \\boxed{{{round(a * 10 / (b - a), 3)}}}",
                    "second try",
                ],
                "source": "synthetic",
            }
        )
    rows.append({**rows[2], "uuid": "dup-of-u2", "problem": rows[2]["problem"].upper()})  # exact duplicate
    rows.append(
        {**rows[4], "uuid": "bench", "problem": gsm["question"].replace("James", "Jim")}
    )  # contaminated
    rows.append(
        {**rows[5], "uuid": "template", "problem": gsm["question"].replace("60 meters", "75 meters")}
    )  # template match
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def test_curate_jsonl_with_a_column_mapping(tmp_path):
    src = tmp_path / "openr1.jsonl"
    rows = openr1_like(src)
    out = tmp_path / "curated"
    res = CliRunner().invoke(
        app(),
        [
            "curate",
            str(src),
            "--out",
            str(out),
            "-c",
            "question=problem",
            "-c",
            "completion=generations",
            "-c",
            "id=uuid",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    manifest = json.loads(res.stdout.strip().splitlines()[-1])
    kept, rejected = _rows(out / "kept"), _rows(out / "rejected")
    assert sorted(r["uuid"] for r in kept + rejected) == sorted(
        r["uuid"] for r in rows
    )  # every row exactly once
    assert set(kept[0]) == set(rows[0])  # every input column, nothing lost
    assert set(rejected[0]) == set(rows[0]) | {"reason", "detail"}
    assert isinstance(kept[0]["generations"], list) and len(kept[0]["generations"]) == 2
    by_id = {r["uuid"]: r for r in rejected}
    assert by_id["dup-of-u2"]["reason"] == "duplicate" and "u2" in by_id["dup-of-u2"]["detail"]
    assert by_id["bench"]["reason"] == "contaminated" and "GSM8K:gsm8k_test_3" in by_id["bench"]["detail"]
    assert "template" not in by_id  # the same template with another number is kept ...
    assert manifest["template_matches"] >= 1  # ... and reported
    assert manifest["rows"] == len(rows) and manifest["kept"] == len(kept)
    assert manifest["reasons"] == {"contaminated": 1, "duplicate": 1}
    report = out / "report"
    for name in ("report.md", "report.html", "report.json", "reasons.png", "difficulty.png", "length.png"):
        assert (report / name).is_file() and (report / name).stat().st_size > 0, name
    md = (report / "report.md").read_text()
    assert "gsm8k_test_3" in md and "Template matches" in md
    # a rerun writes the same rows (the embedding cache in OUT/cache is reused)
    res2 = CliRunner().invoke(
        app(),
        [
            "curate",
            str(src),
            "--out",
            str(out),
            "-c",
            "question=problem",
            "-c",
            "completion=generations",
            "-c",
            "id=uuid",
            "--json",
        ],
    )
    assert res2.exit_code == 0
    assert _rows(out / "kept") == kept and _rows(out / "rejected") == rejected


def test_curate_without_ids_makes_them_and_reads_a_datasets_folder(tmp_path):
    from datasets import Dataset

    data = [
        {"problem": f"Compute {i} times {i + 3} and add {i}.", "answer": str(i * (i + 3) + i)}
        for i in range(8)
    ]
    data.append(dict(data[0]))  # an identical row: its own id, rejected as a duplicate
    Dataset.from_list(data).save_to_disk(str(tmp_path / "ds"))
    out = tmp_path / "o"
    res = CliRunner().invoke(
        app(),
        [
            "curate",
            str(tmp_path / "ds"),
            "--out",
            str(out),
            "-c",
            "question=problem",
            '{"semantic": {"enabled": false}}',
        ],
    )
    assert res.exit_code == 0, res.output
    kept, rejected = _rows(out / "kept"), _rows(out / "rejected")
    assert len(kept) == 8 and len(rejected) == 1 and rejected[0]["reason"] == "duplicate"
    assert json.loads((out / "manifest.json").read_text())["input_kind"] == "datasets_saved"


def test_bad_input_is_one_clear_line(tmp_path):
    src = tmp_path / "x.jsonl"
    src.write_text('{"text": "hello"}\n')
    res = CliRunner().invoke(app(), ["curate", str(src), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "no question column 'question'" in res.output and "--column question=NAME" in res.output
    res = CliRunner().invoke(app(), ["curate", str(src), "--out", str(tmp_path / "o"), "-c", "question"])
    assert res.exit_code == 2 and "expected STANDARD=COLUMN" in res.output
    res = CliRunner().invoke(
        app(),
        [
            "curate",
            str(src),
            "--out",
            str(tmp_path / "o"),
            "-c",
            "question=text",
            '{"near": {"threshold": 3}}',
        ],
    )
    assert res.exit_code == 2 and "near.threshold" in res.output


def test_curate_a_build_folder_agrees_with_the_library_over_its_records(tmp_path, small_config):
    from reasonmill.pipelines.curation import CurationConfig, plan_curation, records_table
    from reasonmill.pipelines.runner import build, num_shards
    from reasonmill.shards import StageDir, iter_records

    build_dir = tmp_path / "build"
    # A build without its own curate step, so `reasonmill curate` sees every scored record.
    build(small_config.model_copy(update={"curate": None}), build_dir)
    config = {"selectors": [{"name": "select2reason", "params": {"fraction": 0.25}}]}
    cfg_file = tmp_path / "curate.yaml"
    cfg_file.write_text(json.dumps(config))
    out = tmp_path / "curated"
    res = CliRunner().invoke(
        app(),
        ["curate", str(build_dir), "--out", str(out), str(cfg_file), "--cache-dir", str(tmp_path / "cache")],
    )
    assert res.exit_code == 0, res.output
    corpus = _rows(build_dir / "corpus" / "records")
    kept, rejected = _rows(out / "kept"), _rows(out / "rejected")
    assert sorted(r["id"] for r in kept + rejected) == sorted(r["id"] for r in corpus)
    assert set(kept[0]) == set(corpus[0]) | {"curation_select2reason"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input_kind"] == "build"
    survivors = len(corpus) - sum(v for k, v in manifest["reasons"].items() if k != "not_selected")
    assert len(kept) == math.ceil(0.25 * survivors)
    # Select2Reason keeps the best joint rank of difficulty and trace length
    worst_kept = max(r["curation_select2reason"] for r in kept)
    assert all(r["curation_select2reason"] >= worst_kept for r in rejected if r["reason"] == "not_selected")
    # the build's own records, planned by the library (what the curate stage does), decide the same
    records = iter_records(StageDir(build_dir, "score").shard(k) for k in range(num_shards(small_config)))
    plan = plan_curation(
        records_table(records), CurationConfig.model_validate(config), cache_dir=tmp_path / "cache"
    )
    assert plan.kept_ids() == [r["id"] for r in kept]
    assert {r["id"]: r["reason"] for r in rejected} == {
        rid: plan.decision(rid).reason for rid in plan.decisions["id"] if not plan.decision(rid).kept
    }
    # and the build's curate stage with the same config keeps exactly those rows
    curated_build = tmp_path / "curated-build"
    build(small_config.model_copy(update={"curate": config}), curated_build)
    assert sorted(r["id"] for r in _rows(curated_build / "corpus" / "records")) == sorted(plan.kept_ids())
