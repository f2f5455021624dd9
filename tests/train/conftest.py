"""Fixtures for the training tests: one small build, a tiny random Llama with a tokenizer trained on
its corpus (nothing downloaded), a corpus copy with constructed preference pairs, a loopback server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SMALL = {
    "name": "train-small",
    "shard_rows": 40,
    "seeds": [{"generator": "arithmetic_chain", "count": 30}, {"generator": "linear_equation", "count": 30}],
    "distill": {"samples": 2},
}


@pytest.fixture(scope="session")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished small build (60 seeds)."""
    from reasonmill.config import validate_config
    from reasonmill.pipelines.runner import build

    out = tmp_path_factory.mktemp("build") / "out"
    build(validate_config(SMALL), out)
    return out


@pytest.fixture(scope="session")
def perfect_teacher_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small build with an infallible teacher: no wrong trace, so no preference pair."""
    from reasonmill.config import validate_config
    from reasonmill.pipelines.runner import build

    out = tmp_path_factory.mktemp("perfect") / "out"
    build(validate_config({**SMALL, "distill": {"samples": 2, "errors": {"rate_by_level": [0.0]}}}), out)
    return out


@pytest.fixture(scope="session")
def tiny_model(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama and a byte-level BPE tokenizer trained on the build's corpus."""
    from reasonmill.pipelines.train.tiny import corpus_texts, make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", corpus_texts(small_build))


@pytest.fixture(scope="session")
def pref_build(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small build's corpus with preference pairs constructed from it: chosen = the verified
    trace, rejected = the same trace with a wrong boxed answer (the default offline teacher is never wrong)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reasonmill.pipelines.corpus import read_subset

    out = tmp_path_factory.mktemp("pref") / "out"
    shutil.copytree(small_build / "corpus", out / "corpus")
    rows = []
    for r in read_subset(small_build, "prompt_completion").to_pylist()[:24]:
        text = r["completion"][0]["content"]
        wrong = text.rsplit("\\boxed{", 1)[0] + "\\boxed{999}."
        rows.append(
            {
                **{k: r[k] for k in ("id", "prompt", "source", "level", "difficulty", "scores")},
                "chosen": r["completion"],
                "rejected": [{"role": "assistant", "content": wrong}],
            }
        )
    path = out / "corpus" / "preference" / "shard-00000.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(path)), path)
    return out


@pytest.fixture
def loopback():
    """The OpenAI-compatible loopback server class (`reasonmill.testing.loopback`)."""
    from reasonmill.testing.loopback import LoopbackServer

    return LoopbackServer
