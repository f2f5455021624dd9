"""The plan: one decision per row, the order of reasons, the decision format, save/load, the
report files, the embedding cache, and the config's validation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from reasonmill.benchmark_data import iter_benchmark_rows
from reasonmill.errors import ConfigError
from reasonmill.pipelines.curation import (
    CurationConfig,
    CurationPlan,
    curation_table,
    load_curation_config,
    plan_curation,
)
from reasonmill.pipelines.curation.table import CurationInputError


def table() -> pd.DataFrame:
    gsm = next(iter_benchmark_rows("gsm8k_test_first500.jsonl"))["question"]
    rows = [
        {
            "question": f"Compute {i} + {2 * i} - {i % 3}.",
            "answer": str(3 * i - i % 3),
            "completion": "x " * (5 + i),
            "difficulty": i / 20,
        }
        for i in range(20)
    ]
    rows.append({"question": gsm, "answer": "18", "completion": "", "difficulty": 0.9})  # contaminated
    rows.append(
        {"question": gsm.lower(), "answer": "18", "completion": "", "difficulty": 0.9}
    )  # contaminated, not "duplicate"
    rows.append(
        {"question": "compute 4 + 8 - 1.", "answer": "11", "completion": "y", "difficulty": 0.1}
    )  # duplicate of row 4
    return pd.DataFrame(rows)


def test_every_row_gets_one_decision_in_the_documented_format(embedder):
    cfg = CurationConfig.model_validate(
        {"selectors": [{"name": "select2reason", "params": {"fraction": 0.5}}]}
    )
    steps = []
    plan = plan_curation(
        pa.Table.from_pandas(table()), cfg, embedder=embedder, progress=lambda s, d, t: steps.append(s)
    )
    d = plan.decisions
    assert list(d.columns[:6]) == ["row", "id", "kept", "reason", "detail", "duplicate_of"]
    assert d["row"].tolist() == list(range(23)) and d["id"].is_unique
    assert d.loc[20, "reason"] == d.loc[21, "reason"] == "contaminated"  # decontamination comes before dedup
    assert d.loc[22, "reason"] == "duplicate" and d.loc[22, "duplicate_of"] == d.loc[4, "id"]
    assert (d.loc[d["kept"], "reason"].isna()).all() and (d.loc[d["kept"], "detail"] == "").all()
    assert d.loc[~d["kept"], "detail"].str.len().min() > 0
    assert d["kept"].sum() == 10 and plan.counts() == {
        "kept": 10,
        "contaminated": 2,
        "duplicate": 1,
        "not_selected": 10,
    }
    assert (
        "curation_select2reason" in d.columns
        and d.loc[20, "curation_select2reason"] != d.loc[20, "curation_select2reason"]
    )  # NaN
    assert plan.decision(d.loc[22, "id"]).reason == "duplicate" and d.loc[22, "id"] in plan
    kept_id = d.loc[d["kept"], "id"].iloc[0]
    assert set(plan.scores(kept_id)) == {"curation_select2reason"} and plan.scores(d.loc[20, "id"]) == {}
    assert "embed" in steps
    r = plan.report
    assert (
        r.rows == 23 and r.kept == 10 and r.reasons == {"contaminated": 2, "duplicate": 1, "not_selected": 10}
    )
    assert [m["benchmark_id"] for m in r.contamination] == ["gsm8k_test_0", "gsm8k_test_0"]
    assert len(r.difficulty_before) == 20 and len(r.difficulty_after) == 10
    assert min(r.difficulty_after) >= np.median(r.difficulty_before) - 0.3


def test_plan_save_load_and_report_files(tmp_path, embedder):
    plan = plan_curation(table(), CurationConfig(), embedder=embedder)
    plan.save(tmp_path / "plan")
    again = CurationPlan.load(tmp_path / "plan")
    assert again.decisions[["id", "kept", "reason", "detail", "duplicate_of"]].equals(
        plan.decisions[["id", "kept", "reason", "detail", "duplicate_of"]]
    )
    assert again.report.reasons == plan.report.reasons and again.config == plan.config
    paths = plan.report.write(tmp_path / "report")
    assert {p.name for p in paths} == {
        "report.json",
        "report.md",
        "report.html",
        "reasons.png",
        "difficulty.png",
        "length.png",
    }
    assert json.loads((tmp_path / "report" / "report.json").read_text())["kept"] == plan.report.kept
    assert (tmp_path / "report" / "difficulty.png").read_bytes()[:4] == b"\x89PNG"
    assert plan.report.matches_frame()["benchmark"].tolist() == ["GSM8K", "GSM8K"]


def test_embedding_cache_serves_a_rerun(tmp_path):
    from reasonmill.pipelines.curation import Embedder, EmbeddingConfig

    texts = ["What is 2 + 2?", "Name a prime above 10.", "What is 2 + 2?"]
    a = Embedder(EmbeddingConfig(), cache_dir=tmp_path)
    va = a.encode(texts)
    assert a.encoded == 2  # equal texts embedded once
    b = Embedder(EmbeddingConfig(), cache_dir=tmp_path)
    vb = b.encode(texts)
    assert b.encoded == 0 and np.array_equal(va, vb)  # from the cache, bit for bit
    assert list(tmp_path.glob("embeddings-*.sqlite"))
    assert va.shape == (3, 384) and np.allclose(np.linalg.norm(va, axis=1), 1, atol=1e-2)


def test_curation_table_mapping_ids_and_errors():
    df = pd.DataFrame(
        {
            "problem": ["a", "b", "a"],
            "generations": [["", "first"], ["x", "y"], ["", "first"]],
            "scores": ['{"pass_rate": 0.5}', "{}", '{"pass_rate": 1.0}'],
        }
    )
    t = curation_table(df, {"question": "problem", "completion": "generations"})
    assert t["completion"].tolist() == ["first", "x", "first"] and t["n_generations"].tolist() == [2, 2, 2]
    assert t["id"].is_unique and t["id"][0] != t["id"][2]  # equal content, distinct stable ids
    assert (
        t["id"].tolist()
        == curation_table(df, {"question": "problem", "completion": "generations"})["id"].tolist()
    )
    assert t["pass_rate"].tolist()[0] == 0.5 and np.isnan(t["pass_rate"][1])
    with pytest.raises(CurationInputError, match="column 'nope'"):
        curation_table(df, {"question": "nope"})
    with pytest.raises(CurationInputError, match="input row 1: column 'q'"):
        curation_table(pd.DataFrame({"q": ["x", " "]}), {"question": "q"})
    with pytest.raises(CurationInputError, match="id 'k' repeats"):
        curation_table(pd.DataFrame({"question": ["x", "y"], "id": ["k", "k"]}))


def test_config_defaults_and_errors(tmp_path):
    cfg = CurationConfig()
    assert (cfg.near.num_perm, cfg.near.shingle, cfg.near.threshold, cfg.semantic.threshold) == (
        128,
        3,
        0.7,
        0.92,
    )
    assert (cfg.decontam.ngram, cfg.decontam.top_k, cfg.decontam.cosine) == (13, 5, 0.75)
    f = tmp_path / "c.yaml"
    f.write_text("curate:\n  near:\n    threshold: 0.8\n  selectors:\n    - name: balanced_band\n")
    loaded = load_curation_config(str(f))
    assert loaded.near.threshold == 0.8 and loaded.selectors[0].name == "balanced_band"
    with pytest.raises(ConfigError, match=r"config field 'curate\.near\.threshold'"):
        load_curation_config({"near": {"threshold": 2}}, prefix="curate")
    with pytest.raises(ConfigError, match="decontam.top_k"):
        load_curation_config('{"decontam": {"top_k": 0}}')
    with pytest.raises(ConfigError, match="near.bands"):
        load_curation_config({"near": {"bands": 500}})
    with pytest.raises(ConfigError, match="backends.j.kind"):
        load_curation_config({"backends": {"j": {"kind": "nope"}}})
    with pytest.raises(ConfigError, match="backend 'judge' is named but not defined"):
        plan_curation(
            pd.DataFrame({"question": ["x"]}),
            load_curation_config(
                {
                    "decontam": {"enabled": False},
                    "semantic": {"enabled": False},
                    "selectors": [{"name": "judge_difficulty", "params": {"backend": "judge"}}],
                }
            ),
        )
