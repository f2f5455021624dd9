"""The corpus layout TRL reads without surprises: one format per subset, typed scores, empty subsets declared."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from reasonmill.pipelines.corpus import SUBSETS, dataset_card_configs, read_subset


def test_every_subset_loads_with_datasets_by_name(small_build, tmp_path):
    manifest = json.loads((small_build / "manifest.json").read_text())
    subsets = manifest["corpus"]["subsets"]
    assert set(subsets) == set(SUBSETS)
    for name in SUBSETS:
        if subsets[name]["rows"] == 0:
            continue
        # a fresh cache: `datasets` can serve a stale cached split for another folder of the same name
        ds = load_dataset(str(small_build), name, split="train", cache_dir=str(tmp_path / "hf"))
        assert ds.num_rows == subsets[name]["rows"] == read_subset(small_build, name).num_rows
    assert manifest["corpus"]["rows"] == subsets["sft"]["rows"] > 0


def test_one_format_per_subset_and_conversational(small_build):
    from trl.data_utils import is_conversational

    cols = {name: set(read_subset(small_build, name).column_names) for name in SUBSETS}
    prov = {"id", "source", "level", "difficulty", "scores"}
    assert cols["sft"] == {"messages"} | prov
    assert cols["prompt_completion"] == {"prompt", "completion"} | prov
    assert cols["grpo"] == {"prompt", "solution", "kind"} | prov
    assert cols["preference"] == {"prompt", "chosen", "rejected"} | prov
    for name in ("sft", "prompt_completion", "grpo"):
        row = read_subset(small_build, name).slice(0, 1).to_pylist()[0]
        assert is_conversational(row), name
    pc = read_subset(small_build, "prompt_completion").slice(0, 1).to_pylist()[0]
    assert pc["prompt"][0]["role"] == "user" and pc["completion"][0]["role"] == "assistant"


def test_scores_are_typed_and_the_same_type_everywhere(small_build):
    types = {
        name: pq.read_schema(next((small_build / "corpus" / name).glob("*.parquet"))).field("scores").type
        for name in SUBSETS
    }
    first = types["records"]
    assert str(first).startswith("struct<") and all(t == first for t in types.values())
    row = read_subset(small_build, "records").slice(0, 1).to_pylist()[0]
    assert isinstance(row["scores"], dict) and isinstance(row["scores"]["difficulty_intrinsic"], float)


def test_empty_preference_subset_is_declared_not_missing(perfect_teacher_build, tmp_path):
    small_build = perfect_teacher_build
    manifest = json.loads((small_build / "manifest.json").read_text())
    assert manifest["corpus"]["subsets"]["preference"]["rows"] == manifest["corpus"]["preference_pairs"] == 0
    files = list((small_build / "corpus" / "preference").glob("*.parquet"))
    assert len(files) == 1 and pq.read_schema(files[0]).names[:4] == ["id", "prompt", "chosen", "rejected"]
    assert read_subset(small_build, "preference").num_rows == 0
    # `datasets` (5.x) refuses a 0-row split when materialising; streaming reads it as empty.
    assert (
        list(
            load_dataset(
                str(small_build), "preference", split="train", streaming=True, cache_dir=str(tmp_path)
            )
        )
        == []
    )


def test_card_configs_list_each_subset_with_sft_default(small_build):
    configs = dataset_card_configs(json.loads((small_build / "manifest.json").read_text())["corpus"])
    assert [c["config_name"] for c in configs] == list(SUBSETS)
    assert [c for c in configs if c.get("default")] == [configs[0]] and configs[0]["config_name"] == "sft"
    assert configs[2]["data_files"] == [{"split": "train", "path": "corpus/grpo/*.parquet"}]
    card = (small_build / "README.md").read_text()
    assert "config_name: grpo" in card and 'path: "corpus/preference/*.parquet"' in card


def test_read_subset_names_unknown_subsets(small_build):
    from reasonmill.errors import ReasonmillError

    with pytest.raises(ReasonmillError, match="known subsets"):
        read_subset(small_build, "nope")
    assert read_subset(small_build / "corpus", "sft").num_rows > 0  # a corpus folder works too
