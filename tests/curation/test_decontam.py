"""Decontamination: planted verbatim, prefixed and reworded benchmark questions are caught; the
same template with other numbers is reported as a template match, not contaminated.

Rewordings are derived at test time from the benchmark files (tests/curation/rewording.py) or
written here by hand in reworded form; no benchmark text is stored in the repository.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

import numpy as np
import pytest
from rewording import cases

from reasonmill.benchmark_data import iter_benchmark_rows
from reasonmill.pipelines.curation import CurationConfig, DecontamConfig, Decontaminator, plan_curation
from reasonmill.pipelines.curation.benchmarks import build_index, load_index
from reasonmill.pipelines.curation.config import JudgeConfirmConfig

# Hand paraphrases (benchmark, id, reworded text): the same problem, other words and order.
HAND = [
    (
        "GSM8K",
        "gsm8k_test_1",
        "To make one robe you need 2 bolts of blue fabric plus half as much white fabric. What is the total number of bolts required?",
    ),
    (
        "GSM8K",
        "gsm8k_test_2",
        "Josh flips a house: he pays $80,000 for it and spends another $50,000 fixing it up, which raises its value by 150%. What was his profit?",
    ),
    (
        "GSM8K",
        "gsm8k_test_3",
        "Each week James runs 3 sprints, 3 times. Every sprint is 60 meters long. In total, how many meters does he cover per week?",
    ),
    (
        "MATH",
        "MATH-500/test/algebra/2584.json",
        "Let $f(x) = \\frac{3x-2}{x-2}$. Compute $f(-2)+f(-1)+f(0)$ and give the result as a common fraction.",
    ),
    (
        "MATH",
        "MATH-500/test/number_theory/572.json",
        "What is the number of positive integer divisors of 196?",
    ),
]
# Hand hard negatives: a number of the benchmark question replaced (applied to the file's text).
HAND_NEGATIVES = [
    ("gsm8k_test_1", "2 bolts", "5 bolts"),
    ("gsm8k_test_3", "60 meters", "70 meters"),
    ("test/number_theory/572.json", "196", "210"),
]


def _bench_text(rid: str) -> str:
    for name in ("gsm8k_test_first500.jsonl", "math500_test.jsonl"):
        for row in iter_benchmark_rows(name):
            if row["id"] == rid:
                return row["question"]
    raise AssertionError(rid)


@pytest.fixture(scope="module")
def deco(embedder):
    return Decontaminator(DecontamConfig(), embedder)


def test_shipped_index_holds_no_benchmark_text(benchmark_rows):
    from importlib import resources

    folder = resources.files("reasonmill.data").joinpath("curation")
    meta = json.loads(folder.joinpath("benchmark_index.json").read_text())
    idx = load_index()
    for arr in (idx.text_keys, idx.ngram_hash, idx.number_hash, idx.short_hash):
        assert arr.dtype.kind in "ui"
    assert idx.embeddings is not None and idx.embeddings.dtype == np.float16
    blob = folder.joinpath("benchmark_index.json").read_bytes()
    rng = random.Random(0)
    for _, _, q in rng.sample(benchmark_rows, 200):
        words = q.split()
        if len(words) >= 6:
            assert " ".join(words[:6]).encode() not in blob
    assert set(meta) >= {"version", "ngram", "model", "entries"} and meta["questions"] == idx.size


def test_shipped_index_matches_the_benchmark_files(benchmark_rows):
    shipped = load_index()
    rebuilt = build_index(benchmark_rows, shipped.ngram)
    assert rebuilt.size == shipped.size
    assert np.array_equal(rebuilt.text_keys, shipped.text_keys)
    assert np.array_equal(rebuilt.ngram_hash, shipped.ngram_hash)
    assert np.array_equal(rebuilt.number_hash, shipped.number_hash)
    assert rebuilt.entries == shipped.entries


def test_hand_paraphrases_are_contaminated_and_hand_negatives_are_templates(deco):
    res = deco.check([text for _, _, text in HAND])
    for (bench, rid, _), r in zip(HAND, res, strict=True):
        assert r.contaminated, f"hand paraphrase of {rid} not caught"
        assert (r.match.benchmark, r.match.benchmark_id) == (
            bench,
            rid,
        ) or f"{bench}:{rid}" in r.match.also_in
    negatives = []
    for rid, old, new in HAND_NEGATIVES:
        text = _bench_text(rid)
        assert old in text
        negatives.append(text.replace(old, new))
    for (rid, _, _), r in zip(HAND_NEGATIVES, deco.check(negatives), strict=True):
        assert not r.contaminated, f"{rid} with another number flagged: {r.match}"
        names = [m.benchmark_id for m in r.templates] + [a for m in r.templates for a in m.also_in]
        assert any(n.endswith(rid) for n in names), f"{rid}: no template match reported ({r.templates})"


def test_heldout_rewordings_and_hard_negatives(deco, benchmark_rows):
    """The measurement of the issue, on a sample of the held-out family (the benchmark script
    runs the full set): recall ≥ 90% on rewordings, 100% verbatim, ≤ 10% hard negatives flagged."""
    held = [r for r in benchmark_rows if int(hashlib.sha256(r[1].encode()).hexdigest(), 16) % 5 == 0]
    sample = random.Random(5).sample(held, 50)
    cs = list(cases(sample, "heldout", seed=1))
    res = deco.check([c[3] for c in cs])
    rate: dict[str, list[bool]] = {}
    for (kind, _, _, _), r in zip(cs, res, strict=True):
        rate.setdefault(kind, []).append(r.contaminated)
    got = {k: sum(v) / len(v) for k, v in rate.items()}
    assert got["verbatim"] == 1.0
    assert got["prefixed"] >= 0.95, got
    assert got["reworded"] >= 0.90, got
    assert got["reworded_dense"] >= 0.90, got  # most 13-grams broken: the embeddings find these
    for k in ("negative_one", "negative_all", "negative_reworded"):
        assert got[k] <= 0.10, got


def test_template_matches_are_reported_not_dropped(embedder):
    q = _bench_text("gsm8k_test_3")
    rows = [
        {"question": q.replace("60 meters", "45 meters")},
        {"question": "Reply with a haiku about the sea."},
        {"question": q},
    ]
    import pandas as pd

    plan = plan_curation(pd.DataFrame(rows), CurationConfig(), embedder=embedder)
    assert plan.decisions["reason"].tolist() == [None, None, "contaminated"]
    assert [m["row"] for m in plan.report.templates] == [0]
    t = plan.report.templates[0]
    assert t["benchmark"] == "GSM8K" and t["benchmark_id"] == "gsm8k_test_3" and t["numbers_missing"] == 1
    c = plan.report.contamination[0]
    assert c["method"] == "exact" and c["score"] == 1.0 and c["id"] == plan.decisions["id"][2]


def test_the_configured_ngram_size_is_used(tmp_path, benchmark_rows):
    rng = random.Random(2)
    long_q = next(q for b, _, q in benchmark_rows if b == "GSM8K" and len(q.split()) > 60)
    words = long_q.split()
    for i in range(9, len(words), 10):  # no 13-word run survives; 9-word runs do
        words[i] = "zzz"
    text = " ".join(words)
    plain = {"embeddings": False, "ngram_min_overlap": 0.05}
    assert not Decontaminator(DecontamConfig(**plain)).check([text])[0].contaminated
    d8 = Decontaminator(DecontamConfig(ngram=8, **plain), cache_dir=tmp_path)
    r = d8.check([text])[0]
    assert d8.index().ngram == 8
    assert r.contaminated and r.match.method == "ngram" and r.match.benchmark == "GSM8K"
    assert list((tmp_path / "benchmark-index").glob("*.npz"))  # built from the files once, cached
    del rng


def test_a_users_own_benchmark_file(tmp_path, embedder):
    mine = tmp_path / "mine.jsonl"
    qs = [
        {
            "uid": "m1",
            "problem": "A snail climbs 3 metres up a 20 metre well each day and slips back 2 metres each night. On which day does it reach the top?",
        },
        {
            "uid": "m2",
            "problem": "How many ways can 5 distinct books be arranged on a shelf if two particular books must be adjacent?",
        },
    ]
    mine.write_text("".join(json.dumps(q) + "\n" for q in qs))
    cfg = DecontamConfig(
        benchmarks=[],
        files=[{"name": "mine", "path": str(mine), "question_field": "problem", "id_field": "uid"}],
    )
    d = Decontaminator(cfg, embedder, cache_dir=tmp_path / "cache")
    res = d.check(
        [
            "Each day a snail goes up 3 metres of a 20 metre well, but every night it slides down 2 metres. What day does it get out?",
            "How many ways can 6 distinct books be arranged on a shelf if two particular books must be adjacent?",
            "What is the capital of France?",
        ]
    )
    assert res[0].contaminated and (res[0].match.benchmark, res[0].match.benchmark_id) == ("mine", "m1")
    assert not res[1].contaminated and res[1].templates[0].benchmark_id == "m2"
    assert not res[2].contaminated and not res[2].templates


class SameProblemJudge:
    """A judge backend that answers from a fixed rule: "1" when the candidate mentions `yes_word`."""

    model_id = "fake"

    def __init__(self, yes_word: str) -> None:
        from reasonmill.llm.base import BackendStats

        self.stats, self.yes_word, self.asked = BackendStats(), yes_word, 0

    def generate(self, conversations, sampling):
        from reasonmill.llm.types import Completion

        assert sampling.top_logprobs == 5
        out = []
        for conv in conversations:
            self.asked += 1
            b = conv[-1]["content"].split("Problem B:")[1]
            yes = self.yes_word in b
            out.append(
                [
                    Completion(
                        "1" if yes else "0",
                        "stop",
                        meta={"top_logprobs": {"1": -0.05 if yes else -3.0, "0": -3.0 if yes else -0.05}},
                    )
                ]
            )
        return out

    def continue_prefix(self, *a, **k):
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_judge_confirmation_can_overrule_the_rules(embedder):
    q = _bench_text("gsm8k_test_3")
    reworded = re.sub(r"^James", "Jim", q)
    judge = SameProblemJudge(yes_word="never")  # says "different problem" to everything
    d = Decontaminator(DecontamConfig(judge=JudgeConfirmConfig(backend="j")), embedder, backends={"j": judge})
    r = d.check([reworded, q])
    assert judge.asked >= 1
    assert not r[0].contaminated and r[0].judge_rejected and r[0].judge_rejected[0].judge_score < 0.5
    assert r[1].contaminated and r[1].match.method == "exact"  # exact matches are never asked
    # scope "candidates": the judge is asked about weaker candidates too and can flag them
    loose = "Jim does 3 sprints 3 times a week and each is 60 meters, how far is that per week in total"
    judge = SameProblemJudge(yes_word="Jim")
    d = Decontaminator(
        DecontamConfig(judge=JudgeConfirmConfig(backend="j", scope="candidates", min_cosine=0.5)),
        embedder,
        backends={"j": judge},
    )
    r = d.check([loose])[0]
    assert r.contaminated and r.match.method.endswith("+judge") and r.match.benchmark_id == "gsm8k_test_3"


def test_unknown_benchmark_and_missing_backend_are_config_errors():
    from reasonmill.errors import ConfigError

    with pytest.raises(ConfigError, match=r"decontam.benchmarks\[0\].*known: AIME, AMC, GSM8K"):
        Decontaminator(DecontamConfig(benchmarks=["MMLU"]))
    with pytest.raises(ConfigError, match="decontam.judge.backend"):
        Decontaminator(DecontamConfig(judge=JudgeConfirmConfig(backend="nope")))


def test_legacy_import_path_still_works():
    from reasonmill.pipelines.curation.fingerprints import contaminated, load_fingerprints

    q = next(iter_benchmark_rows("math500_test.jsonl"))["question"]
    assert contaminated(q, load_fingerprints()) and not contaminated(
        "Reply with a haiku.", load_fingerprints()
    )
