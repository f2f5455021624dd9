"""Dedup with planted duplicates: exact, near (MinHash LSH) and semantic (embeddings)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from reasonmill.pipelines.curation import CurationConfig, plan_curation
from reasonmill.pipelines.curation.config import NearDedupConfig, SemanticDedupConfig
from reasonmill.pipelines.curation.dedup import (
    exact_duplicates,
    lsh_bands,
    near_duplicates,
    semantic_duplicates,
)

ITEMS = ["apples", "pencils", "marbles", "stickers", "books", "cookies", "stamps", "shells", "cards", "beads"]
NAMES = ["Ava", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
VERBS = ["collects", "sorts", "bakes", "paints", "trades", "counts", "packs", "stacks"]


def long_question(rng: random.Random) -> str:
    """A ~60-word word problem with random names, items and numbers (distinct across calls)."""
    a, b = rng.sample(NAMES, 2)
    x, y = rng.sample(ITEMS, 2)
    n1, n2, n3, n4 = (rng.randint(2, 500) for _ in range(4))
    v = rng.choice(VERBS)
    return (
        f"{a} {v} {x} every weekend and keeps them in {n1} boxes on a tall shelf in the garage. "
        f"{b} gives {a} {n2} {y} in exchange for {n3} of the {x}, but only after the market closes on Sunday evening. "
        f"If each box held {n4} {x} at the start and nothing else changed during the month, "
        f"how many {x} and {y} does {a} have together at the end of the month?"
    )


def test_exact_duplicates_keep_the_first_in_input_order():
    qs = ["What is 2+2?", "what is  2+2?", "What is 2+3?", "WHAT IS 2+2?"]
    assert exact_duplicates(qs).tolist() == [-1, 0, -1, 0]


def test_lsh_bands_match_datasketch_rule():
    # datasketch's _optimal_param(threshold, 128, 0.5, 0.5) gives these (checked against datasketch 2.0)
    assert lsh_bands(0.5, 128) == (25, 5)
    assert lsh_bands(0.8, 128) == (9, 13)
    assert lsh_bands(0.7, 128, 0.1) == (20, 6)  # the default: misses weigh 0.9


def test_near_duplicates_found_templates_with_other_numbers_kept():
    rng = random.Random(7)
    base = [long_question(rng) for _ in range(400)]
    rows, planted = list(base), {}
    for k in range(40):  # one word replaced → Jaccard ≈ 0.9
        src = rng.randrange(len(base))
        words = base[src].split()
        j = rng.choice([k for k, w in enumerate(words) if not any(ch.isdigit() for ch in w)])
        words[j] = "zebra"
        planted[len(rows)] = src
        rows.append(" ".join(words))
    template = base[0]
    for k in range(5):  # the same template with other numbers: a different problem
        rows.append(template.replace(template.split(" boxes")[0].split()[-1], str(900 + k), 1))
    dup_of, jac = near_duplicates(rows, NearDedupConfig())
    for i, src in planted.items():
        assert dup_of[i] == src, f"planted near duplicate {i} of {src} not found (jaccard {jac[i]:.2f})"
        assert jac[i] >= 0.7
    assert (dup_of[: len(base)] == -1).all(), "a distinct question was marked a near duplicate"
    assert (dup_of[-5:] == -1).all(), "same template with other numbers is not a near duplicate"
    # without the number rule the template variants do collapse onto the template
    loose, _ = near_duplicates(rows, NearDedupConfig(same_numbers=False))
    assert (loose[-5:] == 0).all()


def test_near_duplicates_deterministic_and_first_kept():
    rng = random.Random(3)
    q = long_question(rng)
    rows = [long_question(rng), q.replace("garage", "shed"), q, q.replace("tall", "high")]
    a, _ = near_duplicates(rows, NearDedupConfig())
    b, _ = near_duplicates(rows, NearDedupConfig())
    assert a.tolist() == b.tolist() == [-1, -1, 1, 1]


def test_semantic_duplicates_need_same_numbers(embedder):
    rows = [
        "A baker makes 24 muffins and sells 9 of them. How many muffins are left?",
        "A baker bakes 24 muffins and then sells 9. How many muffins remain?",  # reworded
        "A baker makes 31 muffins and sells 9 of them. How many muffins are left?",  # other numbers
        "Find the area of a circle with radius 5.",
        "Compute the area of a circle whose radius is 5.",  # reworded
        "Find the area of a circle with radius 6.",  # other numbers
        "Two trains leave a station in opposite directions at 60 and 80 km/h. When are they 420 km apart?",
    ]
    emb = embedder.encode(rows)
    from reasonmill.pipelines.curation.text import numbers

    nums = [frozenset(numbers(r)) for r in rows]
    dup_of, cos = semantic_duplicates(emb, SemanticDedupConfig(keep="first"), nums)
    assert dup_of.tolist() == [-1, 0, -1, -1, 3, -1, -1], cos
    assert cos[1] >= 0.92 and cos[4] >= 0.92
    # SemDeDup keep order: the least typical row of the cluster is visited (and kept) first
    semd, _ = semantic_duplicates(emb, SemanticDedupConfig(), nums)
    assert sorted(np.flatnonzero(semd >= 0).tolist()) == [1, 4] or sorted(
        np.flatnonzero(semd >= 0).tolist()
    ) in ([0, 3], [0, 4], [1, 3])
    assert (semd >= 0).sum() == 2


def test_plan_reasons_for_planted_duplicates(embedder):
    rng = random.Random(11)
    qs = [long_question(rng) for _ in range(30)]
    rows = [{"question": q, "answer": "1"} for q in qs]
    rows.append({"question": qs[3].upper(), "answer": "1"})  # exact (normalised)
    words = qs[5].split()
    words[7] = "giraffe"
    rows.append({"question": " ".join(words), "answer": "1"})  # near
    rows.append(
        {
            "question": "A baker makes 24 muffins and sells 9 of them. How many muffins are left?",
            "answer": "15",
        }
    )
    rows.append(
        {"question": "A baker bakes 24 muffins and then sells 9. How many muffins remain?", "answer": "15"}
    )
    cfg = CurationConfig.model_validate({"decontam": {"enabled": False}, "semantic": {"keep": "first"}})
    plan = plan_curation(pd.DataFrame(rows), cfg, embedder=embedder)
    d = plan.decisions
    ids = d["id"].tolist()
    assert d.loc[30, "reason"] == "duplicate" and d.loc[30, "duplicate_of"] == ids[3]
    assert d.loc[31, "reason"] == "near_duplicate" and d.loc[31, "duplicate_of"] == ids[5]
    assert d.loc[33, "reason"] == "semantic_duplicate" and d.loc[33, "duplicate_of"] == ids[32]
    assert d["kept"].sum() == 31
    assert plan.counts() == {"kept": 31, "duplicate": 1, "near_duplicate": 1, "semantic_duplicate": 1}


@pytest.mark.parametrize("seed", [0, 1])
def test_kept_row_of_a_cluster_does_not_depend_on_the_run(seed, embedder):
    rng = random.Random(seed)
    qs = [long_question(rng) for _ in range(20)]
    rows = pd.DataFrame({"question": qs + [q.lower() for q in qs[:5]]})
    cfg = CurationConfig.model_validate({"decontam": {"enabled": False}})
    a = plan_curation(rows, cfg, embedder=embedder).decisions
    b = plan_curation(rows, cfg, embedder=embedder).decisions
    pd.testing.assert_frame_equal(a, b)
