"""Notebooks run against a small build, so they cannot rot."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

from reasonmill.pipelines.runner import build

ROOT = Path(__file__).resolve().parents[1]


def test_explore_corpus_notebook_runs(tmp_path, small_config, monkeypatch, capsys):
    out = tmp_path / "out"
    build(small_config, out)
    monkeypatch.setenv("REASONMILL_OUT", str(out))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(str(ROOT / "notebooks" / "explore_corpus.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "rows, config" in printed and "by source" in printed
    assert (out / "report" / "notebook_difficulty.png").stat().st_size > 1000
    # the build itself wrote its plots and a dataset card
    assert (out / "report" / "retro_search.png").exists()
    card = (out / "README.md").read_text()
    assert "corpus/sft/*.parquet" in card and "| verify |" in card
    assert os.environ["REASONMILL_OUT"] == str(out)


def test_train_tiny_notebook_runs(tmp_path, small_config, monkeypatch, capsys):
    out = tmp_path / "out"
    build(small_config, out)
    monkeypatch.setenv("REASONMILL_OUT", str(out))
    monkeypatch.setenv("REASONMILL_TRAIN_STEPS", "3")
    monkeypatch.delenv("REASONMILL_MODEL", raising=False)
    runpy.run_path(str(ROOT / "notebooks" / "train_tiny.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "SFT: 3 steps" in printed and "GRPO: 3 steps" in printed
    assert (out / "report" / "notebook_training.png").stat().st_size > 1000
    assert (out / "train_runs" / "grpo" / "final" / "config.json").exists()
