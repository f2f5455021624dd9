"""Every selector on a synthetic table whose answer is known by construction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reasonmill.llm.base import BackendStats
from reasonmill.llm.types import Completion
from reasonmill.pipelines.curation import SELECTORS, CurationConfig, SelectionContext, plan_curation
from reasonmill.pipelines.curation.selectors import k_center_greedy, repetition_share, trace_quality

GOOD_TRACE = (
    " ".join(
        f"Step {i}: adding {3 * i} gives {i * i + 1}; since {i} < 9, wait, let me verify {i + 2} again, perhaps {7 * i}."
        for i in range(1, 16)
    )
    + " Therefore the answer is \\boxed{12}."
)


def ctx(embeddings=None, backends=None) -> SelectionContext:
    return SelectionContext(embeddings=lambda: embeddings, backends=backends or {})


def run(name: str, table: pd.DataFrame, **params):
    cls = SELECTORS.get(name)
    return cls().select(table, cls.validate_params(params), ctx())


def test_registry_lists_the_research_selectors():
    assert {"select2reason", "limo_hard", "balanced_band", "judge_difficulty", "diversity"} <= set(
        SELECTORS.names()
    )


def test_select2reason_joint_rank_weights_length_three_to_one():
    # 20 rows; row 0 is the hardest but has the shortest trace; row 1 has the longest trace but is
    # easy; with w = 0.25 the length rank dominates: the top 10% (2 rows) are 1 and 2.
    n = 20
    difficulty = np.linspace(0.0, 0.5, n)
    difficulty[0] = 1.0
    tokens = np.arange(100, 100 + n * 10, 10, dtype=float)[::-1].copy()  # row 0 longest ... row 19 shortest
    tokens[0], tokens[1] = 10.0, 5000.0
    tokens[2] = 4000.0
    difficulty[2] = 0.9
    table = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "question": ["q"] * n,
            "completion": [""] * n,
            "difficulty": difficulty,
            "trace_tokens": tokens,
        }
    )
    sel = run("select2reason", table)
    assert np.flatnonzero(sel.keep).tolist() == [1, 2]
    joint = sel.scores["select2reason"]
    # by hand for row 2: difficulty rank 1 of 19 steps (only row 0 is harder), length rank 1 (row 1 longer)
    assert math.isclose(joint[2], 0.25 * (1 / 19) + 0.75 * (1 / 19))
    assert all(r == "not_selected" for r in np.array(sel.reasons)[~sel.keep])
    # with w = 1 it is pure difficulty: rows 0 and 2
    assert np.flatnonzero(run("select2reason", table, weight=1.0).keep).tolist() == [0, 2]


def test_select2reason_without_difficulty_is_unscored():
    table = pd.DataFrame({"question": ["a", "b"], "completion": ["x", "y y"], "difficulty": [np.nan, 0.3]})
    sel = run("select2reason", table)
    assert sel.reasons[0] == "unscored" and sel.keep[1]


def test_limo_hard_keeps_one_to_three_of_32_with_a_good_trace():
    rows = [
        {"question": "a", "completion": GOOD_TRACE, "student_passed": 2, "student_k": 32},  # kept
        {"question": "b", "completion": GOOD_TRACE, "student_passed": 0, "student_k": 32},  # never solved
        {"question": "c", "completion": GOOD_TRACE, "student_passed": 9, "student_k": 32},  # too easy
        {
            "question": "d",
            "completion": GOOD_TRACE.replace(" Therefore the answer is \\boxed{12}.", ""),
            "student_passed": 1,
            "student_k": 32,
        },  # no answer
        {
            "question": "e",
            "completion": "so " * 300 + "\\boxed{1}",
            "student_passed": 3,
            "student_k": 32,
        },  # degenerate loop
        {"question": "f", "completion": "\\boxed{1}", "student_passed": 1, "student_k": 32},  # too short
        {
            "question": "g",
            "completion": GOOD_TRACE,
            "student_passed": np.nan,
            "student_k": np.nan,
        },  # no counts
        {
            "question": "h",
            "completion": GOOD_TRACE,
            "pass_rate": 0.25,
            "student_passed": 2,
            "student_k": 8,
        },  # 2/8 = 25% ≫ 3/32
    ]
    sel = run("limo_hard", pd.DataFrame(rows))
    assert sel.keep.tolist() == [True] + [False] * 7
    assert sel.reasons[1:] == [
        "not_selected",
        "not_selected",
        "low_quality",
        "low_quality",
        "low_quality",
        "unscored",
        "not_selected",
    ]
    assert "no final answer" in sel.details[3] and "repeat" in sel.details[4]


def test_limo_count_keeps_the_best_traces():
    weak = (
        " ".join(f"We add {i} and {i + 1} to get {2 * i + 1} here." for i in range(30))
        + " The answer is \\boxed{3}."
    )
    rows = [
        {
            "question": str(i),
            "completion": GOOD_TRACE if i % 2 else weak,
            "student_passed": 1,
            "student_k": 32,
        }
        for i in range(6)
    ]
    sel = run("limo_hard", pd.DataFrame(rows), count=3)
    assert np.flatnonzero(sel.keep).tolist() == [1, 3, 5]
    assert trace_quality(GOOD_TRACE) > trace_quality(weak)
    assert repetition_share(GOOD_TRACE) < 0.3 and repetition_share(weak) < 0.3


@pytest.mark.parametrize(
    ("rate", "kept"),
    [
        (0.0, False),
        (0.19, False),
        (0.2, True),
        (0.5, True),
        (0.8, True),
        (0.81, False),
        (1.0, False),
        (np.nan, False),
    ],
)
def test_balanced_band(rate, kept):
    sel = run("balanced_band", pd.DataFrame({"question": ["q"], "completion": [""], "pass_rate": [rate]}))
    assert bool(sel.keep[0]) is kept
    if not kept:
        assert sel.reasons[0] == ("unscored" if np.isnan(rate) else "not_selected")


def test_k_center_greedy_picks_one_per_cluster_hardest_first():
    rng = np.random.default_rng(0)
    centers = np.eye(4, 16)
    emb, diff = [], []
    for c in range(4):
        for k in range(5):
            v = centers[c] + 0.05 * rng.standard_normal(16)
            emb.append(v / np.linalg.norm(v))
            diff.append(0.2 + 0.1 * k + 0.01 * c)  # within each cluster, member 4 is the hardest
    emb, diff = np.array(emb), np.array(diff)
    picks = k_center_greedy(emb, diff, 4)
    assert sorted(p // 5 for p in picks) == [0, 1, 2, 3]  # one per cluster
    assert picks[0] == 19  # the hardest overall first
    table = pd.DataFrame(
        {"question": [str(i) for i in range(20)], "completion": [""] * 20, "difficulty": diff}
    )
    cls = SELECTORS.get("diversity")
    sel = cls().select(table, cls.validate_params({"count": 4}), ctx(embeddings=emb))
    assert sorted(np.flatnonzero(sel.keep).tolist()) == [4, 9, 14, 19]  # the hardest of each cluster


class FakeJudge:
    """An `LLMBackend` whose first-token logprobs say how difficult a question is (by its length)."""

    model_id = "fake-judge"

    def __init__(self, logprobs: bool = True) -> None:
        self.stats = BackendStats()
        self.logprobs, self.calls = logprobs, []

    def generate(self, conversations, sampling):
        self.calls.append(sampling)
        out = []
        for conv in conversations:
            text = conv[-1]["content"]
            p1 = 0.9 if "hard" in text else 0.3 if "medium" in text else 0.05
            if "broken" in text:
                out.append([Completion("", "error", error="boom")])
                continue
            meta = (
                {"top_logprobs": {"1": math.log(p1), "0": math.log(1 - p1), "The": -6.0}}
                if self.logprobs
                else {}
            )
            out.append([Completion("1" if p1 > 0.5 else "0", "stop", meta=meta)])
        return out

    def continue_prefix(self, conversations, prefixes, sampling, banned_prefix_words=()):
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_judge_difficulty_scores_from_logprobs_and_asks_for_them():
    judge = FakeJudge()
    table = pd.DataFrame(
        {"question": ["a hard one", "a medium one", "an easy one", "broken"], "completion": [""] * 4}
    )
    cls = SELECTORS.get("judge_difficulty")
    sel = cls().select(
        table, cls.validate_params({"backend": "j", "min_score": 0.25}), ctx(backends={"j": judge})
    )
    assert judge.calls[0].top_logprobs == 5 and judge.calls[0].temperature == 0.0
    assert sel.keep.tolist() == [True, True, False, False]
    assert sel.scores["judge_difficulty"][:3].round(3).tolist() == [0.9, 0.3, 0.05]
    assert sel.reasons[2] == "not_selected" and sel.reasons[3] == "unscored"
    # without logprobs the parsed digit is the score
    sel = cls().select(
        table,
        cls.validate_params({"backend": "j", "min_score": 0.5}),
        ctx(backends={"j": FakeJudge(logprobs=False)}),
    )
    assert sel.keep.tolist() == [True, False, False, False]


def test_judge_difficulty_through_a_real_server_requests_logprobs():
    from reasonmill.llm import make_backend
    from reasonmill.testing.loopback import LoopbackServer

    seen = []

    def responder(req):
        seen.append(req.params)
        return "1" if "hard" in req.messages[-1]["content"] else "0"

    with LoopbackServer(responder=responder) as server:
        backend = make_backend({"kind": "openai", "model": "loopback", "base_url": server.url})
        try:
            table = pd.DataFrame({"question": ["a hard one", "an easy one"], "completion": [""] * 2})
            cfg = CurationConfig.model_validate(
                {
                    "exact": {"enabled": False},
                    "near": {"enabled": False},
                    "semantic": {"enabled": False},
                    "decontam": {"enabled": False},
                    "selectors": [{"name": "judge_difficulty", "params": {"backend": "judge"}}],
                }
            )
            plan = plan_curation(table, cfg, backends={"judge": backend})
        finally:
            backend.close()
    assert all(p.get("logprobs") is True and p.get("top_logprobs") == 5 for p in seen)
    assert plan.decisions["kept"].tolist() == [True, False]
    assert plan.decisions["curation_judge_difficulty"].tolist() == [1.0, 0.0]


def test_selectors_chain_in_config_order():
    n = 40
    table = pd.DataFrame(
        {
            "question": [f"question number {i} about topic {i % 7}" for i in range(n)],
            "completion": ["x " * (i + 1) for i in range(n)],
            "difficulty": [i / n for i in range(n)],
            "pass_rate": [1 - i / n for i in range(n)],
        }
    )
    cfg = CurationConfig.model_validate(
        {
            "exact": {"enabled": False},
            "near": {"enabled": False},
            "semantic": {"enabled": False},
            "decontam": {"enabled": False},
            "selectors": [{"name": "balanced_band"}, {"name": "select2reason", "params": {"fraction": 0.25}}],
        }
    )
    plan = plan_curation(table, cfg)
    d = plan.decisions
    band = [i for i in range(n) if 0.2 <= 1 - i / n <= 0.8]
    assert set(np.flatnonzero(d["kept"])) <= set(band)
    assert d["kept"].sum() == math.ceil(0.25 * len(band))
    assert plan.report.selection[0]["selector"] == "balanced_band" and plan.report.selection[1][
        "rows in"
    ] == len(band)


def test_unknown_selector_and_bad_params_name_the_field():
    from reasonmill.errors import ConfigError
    from reasonmill.pipelines.curation import load_curation_config

    with pytest.raises(ConfigError, match=r"selectors\[0\]\.name.*known: balanced_band, diversity"):
        load_curation_config({"selectors": [{"name": "nope"}]})
    with pytest.raises(ConfigError, match=r"selectors\[0\]\.params\.weight"):
        load_curation_config({"selectors": [{"name": "select2reason", "params": {"weight": 2}}]})
    with pytest.raises(ConfigError, match=r"near\.threshhold|threshhold"):
        load_curation_config({"near": {"threshhold": 0.5}})


def test_backends_from_the_config_are_cached_between_runs(tmp_path):
    from reasonmill.testing.loopback import LoopbackServer

    asked = []

    def responder(req):
        asked.append(req.messages[-1]["content"])
        return "1" if "hard" in req.messages[-1]["content"] else "0"

    table = pd.DataFrame({"question": ["a hard one", "an easy one"], "completion": [""] * 2})
    with LoopbackServer(responder=responder) as server:
        cfg = CurationConfig.model_validate(
            {
                "exact": {"enabled": False},
                "near": {"enabled": False},
                "semantic": {"enabled": False},
                "decontam": {"enabled": False},
                "backends": {"judge": {"kind": "openai", "model": "loopback", "base_url": server.url}},
                "selectors": [{"name": "judge_difficulty", "params": {"backend": "judge"}}],
            }
        )
        first = plan_curation(table, cfg, cache_dir=tmp_path)
        second = plan_curation(table, cfg, cache_dir=tmp_path)
    assert len(asked) == 2  # the rerun was answered from OUT/cache/llm-cache.sqlite
    assert first.kept_ids() == second.kept_ids() == [first.decisions["id"][0]]
