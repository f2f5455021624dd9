"""The dataset card: front matter that `datasets` and the Hub read, and numbers that match the build.

Rendering is checked three ways: `yaml.safe_load` of the front matter, `datasets.load_dataset` on
the files the loopback Hub stored (written back to a folder) for every config the card declares,
in both corpus layouts, and the card's statistics against builds whose verdicts are known.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from datasets import load_dataset

from reasonmill.config import validate_config
from reasonmill.pipelines import build_stats, card
from reasonmill.pipelines.publish import publish
from reasonmill.pipelines.report import write_report
from reasonmill.records import Problem, Record, Rejection, Trace, Verdict
from reasonmill.shards import atomic_write_json, file_sha256, write_records, write_rejections

REPO = "alice/arith-reasoning"


def front(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text[4:].split("\n---\n", 1)[0])


def published(hub, tmp_path: Path) -> tuple[Path, dict]:
    folder = hub.export(REPO, "main", tmp_path / "published")
    return folder, front((folder / "README.md").read_text())


def load_all(folder: Path, meta: dict, cache: Path) -> dict[str, int]:
    return {
        c["config_name"]: load_dataset(
            str(folder), c["config_name"], split="train", cache_dir=str(cache)
        ).num_rows
        for c in meta["configs"]
    }


def test_old_layout_card_front_matter_and_load_dataset_on_the_published_folder(
    build_copy, hub, hf_env, tmp_path
):
    publish(build_copy, REPO)
    folder, meta = published(hub, tmp_path)
    manifest = json.loads((build_copy / "manifest.json").read_text())
    assert meta["license"] == "apache-2.0" and meta["task_categories"] == [
        "text-generation",
        "question-answering",
    ]
    assert {"reasoning", "synthetic", "verified", "sft"} <= set(meta["tags"]) and meta["size_categories"] == [
        "n<1K"
    ]
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [{"split": "train", "path": "corpus/*.parquet"}],
            "default": True,
        }
    ]
    rows = load_all(folder, meta, tmp_path / "cache")
    assert rows == {"default": manifest["corpus"]["rows"]}
    ds = load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "cache"))  # the default config
    assert ds.num_rows == manifest["corpus"]["rows"] and ds[0]["messages"][1]["role"] == "assistant"


def test_new_layout_card_declares_every_subset_and_each_loads_from_the_published_folder(
    new_layout, hub, hf_env, tmp_path
):
    result = publish(new_layout, REPO)
    assert (
        "curated/kept/shard-00000.parquet" in result.uploaded
        and "corpus/records/shard-00000.parquet" in result.uploaded
    )
    folder, meta = published(hub, tmp_path)
    names = [c["config_name"] for c in meta["configs"]]
    assert names == [
        "sft",
        "prompt_completion",
        "grpo",
        "records",
        "curated_kept",
    ]  # preference: empty, not declared
    assert [c["config_name"] for c in meta["configs"] if c.get("default")] == ["sft"]
    assert {
        "config_name": "grpo",
        "data_files": [{"split": "train", "path": "corpus/grpo/*.parquet"}],
    } in meta["configs"]
    manifest = json.loads((new_layout / "manifest.json").read_text())
    rows = load_all(folder, meta, tmp_path / "cache")
    assert rows == {
        **{n: s["rows"] for n, s in manifest["corpus"]["subsets"].items() if s["rows"]},
        "curated_kept": 10,
    }
    assert manifest["corpus"]["subsets"]["preference"]["rows"] == 0 and rows["sft"] > 0
    assert (folder / "corpus/preference/shard-00000.parquet").exists()  # published all the same
    sft = load_dataset(str(folder), "sft", split="train", cache_dir=str(tmp_path / "cache"))
    assert set(sft.column_names) == {"id", "source", "level", "messages"}
    text = (folder / "README.md").read_text()
    assert "| `corpus/preference/*.parquet` (empty) | 0 |" in text
    assert "| contaminated | 2 |" in text and "manifest.json (curation)" in text  # the curation's report
    assert (new_layout / "report" / "difficulty.png").exists() and (
        new_layout / "report" / "lengths.png"
    ).exists()  # records subset read
    assert (
        "![difficulty histogram](report/difficulty.png)" in text
        and "report/difficulty.png" in result.uploaded
    )


def test_card_uses_the_exports_dataset_card_configs_when_it_exists(new_layout, monkeypatch):
    from reasonmill.pipelines import export

    def configs(corpus: dict) -> list[dict]:
        return [
            {"config_name": f"x_{n}", "data_files": [{"split": "train", "path": f"corpus/{n}/*.parquet"}]}
            for n in sorted(corpus["subsets"])
        ]

    monkeypatch.setattr(export, "dataset_card_configs", configs, raising=False)
    manifest = json.loads((new_layout / "manifest.json").read_text())
    names = [c["config_name"] for c in card.corpus_configs(new_layout, manifest)]
    assert names == [*(f"x_{n}" for n in sorted(manifest["corpus"]["subsets"])), "curated_kept"]


def _trace(
    tid: str, passed: bool | None, verifier: str = "math", reason: str | None = None, tokens: int = 10
) -> Trace:
    verdict = None if passed is None else Verdict(passed, verifier, None if passed else reason)
    return Trace(tid, f"text {tid}", "1", "programmatic", tokens, verdict=verdict)


def _record(
    rid: str, source: str, level: int, traces: list[Trace], retro: list[dict] | None = None
) -> Record:
    rec = Record(rid, source, 0, 0, level, Problem(f"question {rid}", "1"), traces=traces)
    if retro is not None:
        rec.meta["retro_search"] = {
            "reviser": "programmatic",
            "revised": sum(e["reason"] == "revised" for e in retro),
            "traces": retro,
        }
    return rec


@pytest.fixture
def known_build(tmp_path: Path) -> Path:
    """A build folder whose verify and retro_search shards hold known verdicts and token counts."""
    out = tmp_path / "known"
    a = _record(
        "A",
        "fam1",
        1,
        [_trace("a1", True), _trace("a2", False, reason="mismatch"), _trace("a3", False, reason="timeout")],
    )
    b = _record(
        "B", "fam1", 2, [_trace("b1", False, reason="no_answer"), _trace("b2", False, reason="mismatch")]
    )
    c = _record("C", "fam2", 1, [_trace("c1", False, "exact", "mismatch")])
    d = _record(
        "D",
        "fam2",
        1,
        [_trace("d1", True, "exact"), _trace("d2", False, "judge", "unverifiable"), _trace("d3", None)],
    )
    write_records(out / "verify" / "shard-00000.parquet", [a, d])
    write_rejections(
        out / "verify" / "rejected" / "shard-00000.parquet",
        [Rejection(b, "verify", "no_correct_trace"), Rejection(c, "verify", "unverifiable_gold")],
    )
    ra = _record(
        "A",
        "fam1",
        1,
        a.traces,
        [
            {"trace_id": "a1", "reason": "revised", "tokens_before": 100, "tokens_after": 60},
            {"trace_id": "a2", "reason": "not_verified", "tokens_before": 40, "tokens_after": 40},
        ],
    )
    rd = _record(
        "D",
        "fam2",
        1,
        d.traces,
        [{"trace_id": "d1", "reason": "no_switch", "tokens_before": 50, "tokens_after": 50}],
    )
    rx = _record(
        "X", "fam2", 3, [], [{"trace_id": "x1", "reason": "revised", "tokens_before": 999, "tokens_after": 1}]
    )  # not in the corpus
    write_records(out / "retro_search" / "shard-00000.parquet", [ra, rd, rx])
    write_rejections(out / "retro_search" / "rejected" / "shard-00000.parquet", [])
    import pyarrow as pa

    records = out / "corpus" / "records" / "shard-00000.parquet"
    records.parent.mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist(
            [
                {
                    "id": "A",
                    "source": "fam1",
                    "level": 1,
                    "tokens": 60,
                    "difficulty": 0.2,
                    "scores": {"difficulty": 0.2},
                },
                {
                    "id": "D",
                    "source": "fam2",
                    "level": 1,
                    "tokens": 50,
                    "difficulty": 0.7,
                    "scores": {"difficulty": 0.7},
                },
            ]
        ),
        records,
    )

    def stage(name: str, read: int, written: int, reasons: dict[str, int]) -> dict:
        files = {
            p.relative_to(out).as_posix(): file_sha256(p) for p in sorted((out / name).rglob("*.parquet"))
        }
        counts = {
            "read": read,
            "written": written,
            "rejected": sum(reasons.values()),
            "created": 0,
            "reasons": reasons,
            "extra": {},
        }
        return {"version": "1", "key": name, "shards": 1, "counts": counts, "files": files}

    config = validate_config({"name": "known", "score": {"decontaminate": False}}).model_dump(mode="json")
    manifest = {
        "name": "known",
        "reasonmill_version": "0.1.0",
        "schema_version": 1,
        "config_hash": "0123456789abcdef",
        "config": config,
        "stages": {
            "verify": stage("verify", 4, 2, {"no_correct_trace": 1, "unverifiable_gold": 1}),
            "retro_search": stage("retro_search", 3, 3, {}),
        },
        "corpus": {
            "subsets": {
                "records": {"rows": 2, "files": {"corpus/records/shard-00000.parquet": file_sha256(records)}}
            },
            "rows": 2,
            "preference_pairs": 0,
        },
        "finished_at": "2026-01-01T00:00:00+00:00",
    }
    atomic_write_json(out / "manifest.json", manifest)
    return out


def test_card_numbers_match_the_verdicts_and_tokens_in_the_stage_shards(known_build):
    out = known_build
    manifest = json.loads((out / "manifest.json").read_text())
    summary = build_stats.verification_summary(out, manifest)
    assert summary == {
        "math": {"traces": 5, "passed": 1, "mismatch": 2, "timeout": 1, "no_answer": 1},
        "exact": {"traces": 2, "passed": 1, "mismatch": 1},
        "judge": {"traces": 1, "unverifiable": 1},
        "(none)": {"traces": 1, "unverified": 1},
    }
    acc = {
        (a["source"], a["level"]): (a["records"], a["traces"], a["passed"])
        for a in build_stats.teacher_accuracy(out, manifest)
    }
    assert acc == {
        ("fam1", 1): (1, 3, 1),
        ("fam1", 2): (1, 2, 0),
        ("fam2", 1): (1, 3, 1),
    }  # C: unverifiable gold, left out
    retro = build_stats.retro_search_summary(build_stats.retro_search_records(out, manifest, {"A", "D"}))
    assert (retro["records"], retro["tokens_before"], retro["tokens_after"], retro["records_shortened"]) == (
        2,
        150,
        110,
        1,
    )
    assert (
        retro["reduction"] == pytest.approx(1 - 110 / 150)
        and retro["traces"] == 2
        and retro["traces_revised"] == 1
    )

    write_report(out)
    text = (out / "README.md").read_text()
    assert (
        "| math | 5 | 1 | 2 | 1 | 1 | 0 | 0 |" in text
    )  # passed, mismatch, no_answer, timeout, unverifiable, unverified
    assert "| fam2 | 1 | 1 | 3 | 1 | 33.3% |" in text
    assert "150 to 110 tokens in total, a **26.7%** reduction" in text
    assert "Not run: `score.decontaminate` was off" in text
    assert "| verify | no_correct_trace | 1 |" in text and "| verify | unverifiable_gold | 1 |" in text
    meta = front(text)
    assert [c["config_name"] for c in meta["configs"]] == ["records"] and meta["configs"][0][
        "default"
    ] is True


def test_sections_without_data_say_so(build_copy):
    out = build_copy
    for stage in ("verify", "retro_search"):
        shutil.rmtree(out / stage)
    text = card.render_card(out)
    assert (
        text.count("No data: the verify stage's shards are not in the build folder.") == 2
    )  # verification, accuracy
    assert "No data: the retro_search stage's shards are not in the build folder." in text
    for title in (
        "Verification",
        "Teacher accuracy per family and level",
        "Decontamination",
        "Retro-Search",
        "Methods",
        "Prompt templates",
        "Models",
    ):
        assert f"\n## {title}\n" in text


def test_prompt_template_hashes_follow_the_templates_and_the_llm_stages(monkeypatch):
    from reasonmill.generators.llm import teacher

    base = card.template_hashes()
    assert len(set(base.values())) == len(base) and all(len(h) == 16 for h in base.values())
    monkeypatch.setattr(teacher, "SYSTEM_PROMPT", teacher.SYSTEM_PROMPT + " Be brief.")
    changed = card.template_hashes()
    assert changed["teacher"] != base["teacher"] and {k: v for k, v in changed.items() if k != "teacher"} == {
        k: v for k, v in base.items() if k != "teacher"
    }

    def backend(model: str) -> dict:
        return {"kind": "openai", "model": model, "base_url": "http://127.0.0.1:9/v1"}

    config = validate_config(
        {
            "distill": {"teacher": "llm:big"},
            "verify": {"judge": "judge"},
            "retro_search": {"reviser": "small"},
            "score": {"student": {"backend": "small", "k": 4}},
            "llm": {
                "backends": {
                    "big": backend("Qwen/Qwen3-32B"),
                    "small": backend("Qwen/Qwen3-1.7B"),
                    "judge": backend("judge-7b"),
                }
            },
        }
    ).model_dump(mode="json")
    roles = {m["role"]: (m["backend"], m["model"]) for m in card.models(config)}
    assert roles == {
        "teacher": ("big", "Qwen/Qwen3-32B"),
        "reviser": ("small", "Qwen/Qwen3-1.7B"),
        "judge": ("judge", "judge-7b"),
        "student": ("small", "Qwen/Qwen3-1.7B"),
    }
    uses = card.llm_stage_backends(config)
    assert (
        uses["distill"] == {"teacher": "big"}
        and uses["retro_search"] == {"teacher": "small"}
        and uses["verify"] == {"judge": "judge"}
    )
    assert (
        uses["score"] == {"student": "small", "judge": "judge"}
        and uses["seeds"]["mindgym_background"] is None
    )
    papers = {row[2] for row in card.methods(config)}
    assert card.RETRO_SEARCH in papers and card.ONLINE_FILTERING in papers


def test_report_and_card_are_byte_identical_when_rewritten(build_copy):
    out = build_copy
    files = ["README.md", *(p.relative_to(out).as_posix() for p in sorted((out / "report").iterdir()))]
    before = {f: (out / f).read_bytes() for f in files}
    write_report(out)
    assert {f: (out / f).read_bytes() for f in files} == before
    assert card.render_card(out, REPO) == card.render_card(out, REPO) != card.render_card(out)


def test_report_reads_records_with_map_scores_and_through_export_read_subset(tmp_path, monkeypatch):
    import pyarrow as pa

    from reasonmill.pipelines import export
    from reasonmill.pipelines.report import record_rows

    out = tmp_path / "b"
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("source", pa.string()),
            ("level", pa.int64()),
            ("tokens", pa.int64()),
            ("scores", pa.map_(pa.string(), pa.float64())),
        ]
    )
    table = pa.Table.from_pylist(
        [{"id": "r1", "source": "fam", "level": 2, "tokens": 42, "scores": [("difficulty_intrinsic", 0.25)]}],
        schema=schema,
    )
    (out / "corpus" / "records").mkdir(parents=True)
    pq.write_table(table, out / "corpus" / "records" / "shard-00000.parquet")
    rows = record_rows(out)
    assert rows == [
        {
            "id": "r1",
            "source": "fam",
            "level": 2,
            "difficulty": 0.25,
            "tokens": 42,
            "scores": {"difficulty_intrinsic": 0.25},
        }
    ]
    calls = []
    monkeypatch.setattr(
        export, "read_subset", lambda o, name: calls.append((o, name)) or table, raising=False
    )
    assert record_rows(out) == rows and calls == [(out, "records")]
