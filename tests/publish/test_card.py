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
from reasonmill.shards import StageDir, atomic_write_json, file_sha256, write_records, write_rejections

REPO = "alice/arith-reasoning"


def front(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text[4:].split("\n---\n", 1)[0])


def published(hub, tmp_path: Path) -> tuple[Path, dict]:
    folder = hub.export(REPO, "main", tmp_path / "published")
    return folder, front((folder / "README.md").read_text())


def _parquet_rows(folder: Path, pattern: str) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob(pattern))


def load_all(folder: Path, meta: dict, cache: Path) -> dict[str, int]:
    """Rows `datasets` loads for each declared config (an empty one streamed: datasets 5.x will
    not materialise a split with no rows)."""
    rows = {}
    for c in meta["configs"]:
        name, pattern = c["config_name"], c["data_files"][0]["path"]
        if _parquet_rows(folder, pattern):
            rows[name] = load_dataset(str(folder), name, split="train", cache_dir=str(cache)).num_rows
        else:
            rows[name] = len(
                list(load_dataset(str(folder), name, split="train", streaming=True, cache_dir=str(cache)))
            )
    return rows


def test_card_of_a_real_build_loads_every_declared_config_from_the_published_folder(
    build_copy, hub, hf_env, tmp_path
):
    """Whichever corpus layout the runner writes today (old: corpus/*.parquet; new: subsets)."""
    publish(build_copy, REPO)
    folder, meta = published(hub, tmp_path)
    assert meta["license"] == "apache-2.0" and meta["task_categories"] == [
        "text-generation",
        "question-answering",
    ]
    assert {"reasoning", "synthetic", "verified", "sft"} <= set(meta["tags"]) and meta["size_categories"] == [
        "n<1K"
    ]
    assert meta["pretty_name"] == "publish-small" and meta["language"] == ["en"]
    assert sum(bool(c.get("default")) for c in meta["configs"]) == 1
    rows = load_all(folder, meta, tmp_path / "cache")
    assert rows and rows[next(c["config_name"] for c in meta["configs"] if c.get("default"))] > 0
    for c in meta["configs"]:
        assert rows[c["config_name"]] == _parquet_rows(folder, c["data_files"][0]["path"])
    ds = load_dataset(
        str(folder), split="train", cache_dir=str(tmp_path / "cache")
    )  # no name: the default config
    default = next(c["config_name"] for c in meta["configs"] if c.get("default"))
    assert ds.num_rows == rows[default] and ds[0]["messages"][1]["role"] == "assistant"


@pytest.fixture
def old_layout(tmp_path: Path) -> Path:
    """A finished build in the old layout, written directly: corpus/*.parquet (flat rows with
    messages, prompt/completion, solution) and preference/*.parquet, with its manifest."""
    import pyarrow as pa

    out = tmp_path / "old"
    rows = [
        {
            "id": f"r{i}",
            "source": "arithmetic_chain",
            "level": 1 + i % 3,
            "question": f"What is {i} + 1?",
            "answer": str(i + 1),
            "messages": [
                {"role": "user", "content": f"What is {i} + 1?"},
                {"role": "assistant", "content": f"<think>{i}+1</think> \\boxed{{{i + 1}}}"},
            ],
            "prompt": f"What is {i} + 1?",
            "completion": f"\\boxed{{{i + 1}}}",
            "solution": str(i + 1),
            "trace_tokens": 5 + i,
            "difficulty": i / 10,
            "scores": json.dumps({"difficulty_intrinsic": i / 10}),
        }
        for i in range(7)
    ]
    prefs = [
        {
            "id": "r1",
            "prompt": "What is 1 + 1?",
            "chosen": "\\boxed{2}",
            "rejected": "\\boxed{3}",
            "solution": "2",
        }
    ]
    for folder, data in (("corpus", rows), ("preference", prefs)):
        (out / folder).mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(data), out / folder / "shard-00000.parquet")
    manifest = {
        "name": "old-layout",
        "reasonmill_version": "0.1.0",
        "schema_version": 1,
        "config_hash": "feedfacecafebeef",
        "config": validate_config({"name": "old-layout"}).model_dump(mode="json"),
        "stages": {},
        "corpus": {
            "rows": 7,
            "preference_pairs": 1,
            "files": {"shard-00000.parquet": file_sha256(out / "corpus/shard-00000.parquet")},
            "preference_files": {"shard-00000.parquet": file_sha256(out / "preference/shard-00000.parquet")},
        },
        "finished_at": "2026-01-01T00:00:00+00:00",
    }
    atomic_write_json(out / "manifest.json", manifest)
    write_report(out)
    return out


def test_old_layout_card_declares_corpus_and_preference_and_both_load_from_the_published_folder(
    old_layout, hub, hf_env, tmp_path
):
    result = publish(old_layout, REPO)
    assert {"corpus/shard-00000.parquet", "preference/shard-00000.parquet"} <= set(result.uploaded)
    folder, meta = published(hub, tmp_path)
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [{"split": "train", "path": "corpus/*.parquet"}],
            "default": True,
        },
        {"config_name": "preference", "data_files": [{"split": "train", "path": "preference/*.parquet"}]},
    ]
    assert "dpo" in meta["tags"]
    assert load_all(folder, meta, tmp_path / "cache") == {"default": 7, "preference": 1}
    text = (folder / "README.md").read_text()
    assert (
        "No data: the verify stage's shards are not in the build folder." in text
    )  # no stages in this manifest


def test_new_layout_card_declares_every_subset_and_each_loads_from_the_published_folder(
    new_layout, hub, hf_env, tmp_path
):
    manifest = json.loads((new_layout / "manifest.json").read_text())
    subsets = manifest["corpus"]["subsets"]
    result = publish(new_layout, REPO)
    assert {"curated/kept/shard-00000.parquet", "curated/rejected/shard-00000.parquet"} <= set(
        result.uploaded
    )
    assert {rel for s in subsets.values() for rel in s["files"]} <= set(result.uploaded)
    folder, meta = published(hub, tmp_path)
    names = [c["config_name"] for c in meta["configs"]]
    ordered = sorted(subsets, key=lambda n: (card.SUBSET_ORDER + (n,)).index(n))
    assert names == [*ordered, "curated_kept", "curated_rejected"]  # empty ones declared too
    assert [c["config_name"] for c in meta["configs"] if c.get("default")] == ["sft"]
    assert {
        "config_name": "grpo",
        "data_files": [{"split": "train", "path": "corpus/grpo/*.parquet"}],
    } in meta["configs"]
    assert 'path: "corpus/grpo/*.parquet"' in (folder / "README.md").read_text()  # globs quoted in the YAML
    rows = load_all(folder, meta, tmp_path / "cache")
    assert rows == {**{n: subsets[n]["rows"] for n in ordered}, "curated_kept": 10, "curated_rejected": 0}
    assert (folder / "curated/rejected/shard-00000.parquet").exists()  # published all the same
    sft = load_dataset(str(folder), "sft", split="train", cache_dir=str(tmp_path / "cache"))
    assert "messages" in sft.column_names and not {"prompt", "completion"} & set(sft.column_names)
    text = (folder / "README.md").read_text()
    assert "| `curated_rejected` | 0 | curated subset (empty: load it with `streaming=True`" in text
    assert "| contaminated | 2 |" in text and "manifest.json (curation)" in text  # the curation's report
    assert (new_layout / "report" / "difficulty.png").exists() and (
        new_layout / "report" / "lengths.png"
    ).exists()
    assert (
        "![difficulty histogram](report/difficulty.png)" in text
        and "report/difficulty.png" in result.uploaded
    )


def test_card_uses_the_exports_dataset_card_configs_when_it_exists(new_layout, monkeypatch):
    from reasonmill.pipelines import corpus as corpus_subsets

    def configs(corpus: dict) -> list[dict]:
        return [
            {"config_name": f"x_{n}", "data_files": [{"split": "train", "path": f"corpus/{n}/*.parquet"}]}
            for n in sorted(corpus["subsets"])
        ]

    monkeypatch.setattr(corpus_subsets, "dataset_card_configs", configs, raising=False)
    manifest = json.loads((new_layout / "manifest.json").read_text())
    names = [c["config_name"] for c in card.corpus_configs(new_layout, manifest)]
    assert names == [
        *(f"x_{n}" for n in sorted(manifest["corpus"]["subsets"])),
        "curated_kept",
        "curated_rejected",
    ]


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
    verify, retro = StageDir(out, "verify"), StageDir(out, "retro_search")  # the paths this install uses
    write_records(verify.shard(0), [a, d])
    write_rejections(
        verify.rejected(0),
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
    write_records(retro.shard(0), [ra, rd, rx])
    write_rejections(retro.rejected(0), [])
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
        sd = StageDir(out, name)
        files = {p.relative_to(out).as_posix(): file_sha256(p) for p in (sd.shard(0), sd.rejected(0))}
        counts = {
            "read": read,
            "written": written,
            "rejected": sum(reasons.values()),
            "created": 0,
            "reasons": reasons,
            "extra": {},
        }
        return {"version": "1", "key": name, "shards": 1, "counts": counts, "files": files}

    config = validate_config({"name": "known", "curate": None}).model_dump(mode="json")
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
    assert "Not run: the build's `curate` step was off" in text
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


def test_prompt_template_hashes_follow_the_templates(monkeypatch):
    teacher = card._llm_task("teacher")  # reasonmill.generators.llm_tasks.teacher (earlier .llm.teacher)
    base = card.template_hashes()
    assert len(set(base.values())) == len(base) and all(len(h) == 16 for h in base.values())
    monkeypatch.setattr(teacher, "SYSTEM_PROMPT", teacher.SYSTEM_PROMPT + " Be brief.")
    changed = card.template_hashes()
    assert changed["teacher"] != base["teacher"]
    assert {k: v for k, v in changed.items() if k != "teacher"} == {
        k: v for k, v in base.items() if k != "teacher"
    }


def _backend(model: str) -> dict:
    return {"kind": "openai", "model": model, "base_url": "http://127.0.0.1:9/v1"}


BACKENDS = {
    "big": _backend("Qwen/Qwen3-32B"),
    "small": _backend("Qwen/Qwen3-1.7B"),
    "judge": _backend("judge-7b"),
}
CONFIG_NOW = {  # distill.backend, retro_search.backend, verify.judge as a section
    "distill": {"teacher": "programmatic", "backend": "big"},
    "retro_search": {"enabled": True, "reviser": "programmatic", "backend": "small"},
    "verify": {"judge": {"backend": "judge"}},
    "score": {"student": {"backend": "small", "k": 4}},
    "llm": {"backends": BACKENDS},
}
CONFIG_BEFORE = {  # distill.teacher "llm:NAME", retro_search.reviser NAME, verify.judge NAME
    "distill": {"teacher": "llm:big"},
    "retro_search": {"enabled": True, "reviser": "small"},
    "verify": {"judge": "judge"},
    "score": {"student": {"backend": "small", "k": 4}},
    "llm": {"backends": BACKENDS},
}


@pytest.mark.parametrize("config", [CONFIG_NOW, CONFIG_BEFORE], ids=["backend-fields", "llm-prefix"])
def test_models_and_llm_stages_come_from_the_config(config):
    roles = {m["role"]: (m["backend"], m["model"]) for m in card.models(config)}
    assert roles == {
        "teacher": ("big", "Qwen/Qwen3-32B"),
        "reviser": ("small", "Qwen/Qwen3-1.7B"),
        "judge": ("judge", "judge-7b"),
        "student": ("small", "Qwen/Qwen3-1.7B"),
    }
    uses = card.llm_stage_backends(config)
    assert uses["distill"] == {"teacher": "big"} and uses["retro_search"] == {"teacher": "small"}
    assert uses["verify"] == {"judge": "judge"} and uses["score"] == {"student": "small", "judge": "judge"}
    assert uses["seeds"]["mindgym_background"] is None and uses["compose"] == {"compose": None}
    papers = {row[2] for row in card.methods(config)}
    assert card.RETRO_SEARCH in papers and card.ONLINE_FILTERING in papers
    offline = {m["role"]: m["backend"] for m in card.models(validate_config({}).model_dump(mode="json"))}
    assert offline["teacher"] == "programmatic" and offline["judge"].startswith("none")


def test_report_and_card_are_byte_identical_when_rewritten(build_copy):
    out = build_copy
    files = ["README.md", *(p.relative_to(out).as_posix() for p in sorted((out / "report").iterdir()))]
    before = {f: (out / f).read_bytes() for f in files}
    write_report(out)
    assert {f: (out / f).read_bytes() for f in files} == before
    assert card.render_card(out, REPO) == card.render_card(out, REPO) != card.render_card(out)


def test_report_reads_records_with_map_scores_and_through_export_read_subset(tmp_path, monkeypatch):
    import pyarrow as pa

    from reasonmill.pipelines import corpus as corpus_subsets
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
        corpus_subsets, "read_subset", lambda o, name: calls.append((o, name)) or table, raising=False
    )
    assert record_rows(out) == rows and calls == [(out, "records")]
