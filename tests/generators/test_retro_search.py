"""Retro-Search: segmentation, the programmatic reviser's rollouts on real traces (rebuilt from the
step records, never from the on-path tags), the loop's guards and provenance, and the LLM reviser
through the loopback OpenAI-compatible server."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from reasonmill.generators import FAMILIES, PRINCIPLES
from reasonmill.generators.errors_model import ErrorModel
from reasonmill.generators.retro_search import (
    LLMReviser,
    ProgrammaticReviser,
    RetroSearchConfig,
    Rollout,
    TraceParts,
    opening_keyword,
    revise,
    revise_many,
    segment,
)
from reasonmill.generators.teacher import ProgrammaticTeacher, render_trace, solve_record
from reasonmill.records import Record, Trace, Verdict
from reasonmill.rng import item_rng
from reasonmill.text import TRANSITION_KEYWORDS

LLM_TRACE = """<think>
Okay, so I need to find 15% of 80. Let me think.

10% of 80 is 8, and 5% is half of that, 4.
So 15% is 8 + 4 = 12.

Hmm, maybe I should compute it directly instead: 0.15 × 80.

0.15 × 80 = 12. Same result.

But wait, did the question ask for 15% or 1.5%? It says 15%. Waiting on nothing else, that's fine.

However, let me make sure the arithmetic holds: 12 / 80 = 0.15. Yes.

**Let me double-check** with fractions: 3/20 × 80 = 12.
</think>

The answer is \\boxed{12}."""


# --- helpers ------------------------------------------------------------------------------------


def make_record(source: str, level: int, index: int, seed: int = 0) -> Record:
    """A family record as the build makes it."""
    fam = FAMILIES.get(source)
    problem = fam.generate(item_rng(source, seed, index), fam.params({"level": level}))
    return Record(Record.make_id(source, seed, index, problem), source, seed, index, level, problem)


def make_bridging(seed: int = 0) -> Record:
    """A two-hop bridging record: an arithmetic chain feeding a linear equation."""
    a, b = make_record("arithmetic_chain", 3, 10, seed), make_record("linear_equation", 3, 11, seed)
    problem = PRINCIPLES.get("bridging").compose(random.Random(seed), [a, b])
    assert problem is not None
    rid = Record.make_id("bridging", seed, 12, problem, [a.id, b.id])
    return Record(rid, "bridging", seed, 12, 4, problem, parents=[a.id, b.id], principle="bridging")


@pytest.fixture(scope="module")
def pool():
    """The real verifier pool (the generators package itself never imports it)."""
    import reasonmill.verifiers as verifiers

    return verifiers.shared_pool(2, 10.0), verifiers.CheckItem


@pytest.fixture(scope="module")
def verifier(pool) -> Callable[[Record], Callable[[list[str]], list[Verdict]]]:
    """verifier(record) -> the `verify(texts)` callable `revise` takes, gold and kind bound."""
    shared, item = pool

    def bind(record: Record) -> Callable[[list[str]], list[Verdict]]:
        return lambda texts: shared.check_many(
            [item(record.problem.kind, record.problem.answer, t) for t in texts]
        )

    return bind


def verified(record: Record, trace: Trace, verifier) -> Trace:
    """`trace` with its verdict set, as the verify stage leaves it."""
    trace.verdict = verifier(record)([trace.text])[0]
    return trace


INFALLIBLE = ErrorModel(rate_by_level=(0.0,))


def teacher_trace(record: Record, backtracks: int, verifier, sample: int = 0) -> Trace:
    """One programmatic trace (the infallible teacher), verified."""
    return verified(
        record, ProgrammaticTeacher(INFALLIBLE).traces(record, sample + 1, backtracks, 0)[sample], verifier
    )


# --- segmentation -------------------------------------------------------------------------------


def test_segment_llm_style_trace_splits_at_opening_keywords_only():
    thoughts = segment(LLM_TRACE)
    assert [t.keyword for t in thoughts] == [None, "Hmm", "But wait", "However", "Let me double-check"]
    assert [len(t.steps) for t in thoughts] == [2, 2, 1, 1, 1]
    assert [t.start for t in thoughts] == [0, 2, 4, 5, 6]
    # a keyword inside a paragraph ("Waiting", mid-sentence) opens nothing; the answer line is no step
    assert all("boxed" not in s and "<think>" not in s for t in thoughts for s in t.steps)


def test_segment_without_switch_or_wrapper():
    plain = "First I add 2 and 3 to get 5.\n\nThen 5 times 4 is 20.\n\nSo the answer is 20."
    (only,) = segment(plain)
    assert only.keyword is None and len(only.steps) == 3
    assert (
        len(segment("<think>\nOne step, and I wait no further.\n</think>\n\nThe answer is \\boxed{1}.")) == 1
    )
    assert segment("") == []


def test_segment_custom_keywords_and_whole_words():
    text = "Start here.\n\nActually, no.\n\nWait, hold on."
    assert [t.keyword for t in segment(text, keywords=["Actually"])] == [None, "Actually"]
    assert opening_keyword("But wait, that's it.") == "But wait"
    assert opening_keyword("Waiting is over.") is None and opening_keyword("wait, lower case") == "Wait"


@pytest.mark.parametrize("backtracks", [0, 1, 3])
def test_segment_programmatic_traces(backtracks: int):
    record = make_record("countdown", 4, 1)
    run = solve_record(record, 0, 0, backtracks)
    text = render_trace(run)
    thoughts = segment(text)
    # every switch is a paragraph the solver opened with a transition keyword: an abandonment
    # ("Wait", "Hmm") or a sibling tried after one ("Alternatively")
    switches = sum(1 for st in run.steps if opening_keyword(st.text) is not None)
    assert len(thoughts) == 1 + switches - (1 if opening_keyword(run.steps[0].text) else 0)
    assert sum(len(t.steps) for t in thoughts) == len(run.steps)
    assert TraceParts.parse(text).join() == text


# --- the programmatic reviser -------------------------------------------------------------------

SEARCH = [
    "countdown",
    "knights_knaves",
    "shortest_path",
    "sudoku",
    "zebra",
    "quadratic_equation",
    "polynomial_roots",
]


def _traces(
    name: str, n: int, verifier, backtracks: int = 3, level: int | None = None
) -> list[tuple[Record, Trace]]:
    out = []
    for i in range(n):
        record = make_record(name, level or 1 + i % 5, 100 + i)
        out.append((record, teacher_trace(record, backtracks, verifier)))
    return out


def _scrambled(trace: Trace, how: str) -> Trace:
    meta = dict(trace.meta)
    tags = list(meta["on_path"])
    if how == "shuffle":
        random.Random(0).shuffle(tags)
        meta["on_path"] = tags
    elif how == "none":
        meta["on_path"] = [None] * len(tags)
    elif how == "lies":  # every paragraph claims to be on the solution line
        meta["on_path"] = list(range(len(tags)))
    else:
        meta.pop("on_path")
    return Trace(
        trace.id,
        trace.text,
        trace.answer,
        trace.teacher,
        trace.tokens,
        trace.steps,
        trace.parent_id,
        trace.verdict,
        meta,
    )


@pytest.mark.parametrize("name", [*SEARCH, "arithmetic_chain", "linear_equation"])
def test_scrambled_on_path_tags_give_the_same_revision(name: str, verifier):
    """The reviser rebuilds the solver state from the step records; the on-path tags (which line
    is correct) are never read: shuffled, blanked, all-true or removed, the revision is the same."""
    compared = 0
    for record, trace in _traces(name, 6, verifier):
        want = revise(record, trace, ProgrammaticReviser(), verifier(record))
        for how in ("shuffle", "none", "lies", "drop"):
            got = revise(record, _scrambled(trace, how), ProgrammaticReviser(), verifier(record))
            assert got.trace.text == want.trace.text and got.reason == want.reason, how
            assert [e["verdicts"] for e in got.entries] == [e["verdicts"] for e in want.entries]
        compared += 1
    assert compared == 6


def test_revisions_are_real_rollouts(verifier):
    """On search traces some revisions are accepted; each verifies and is shorter; they are not
    all the straight-line solve; some keep a real reflection (a dead end the search met)."""
    revised = identical = reflective = 0
    for name in ("countdown", "shortest_path", "knights_knaves", "quadratic_equation"):
        for record, trace in _traces(name, 15, verifier):
            res = revise(record, trace, ProgrammaticReviser(), verifier(record))
            if not res.revised:
                continue
            revised += 1
            assert res.tokens_after < res.tokens_before and res.steps_after < res.steps_before
            assert verifier(record)([res.trace.text])[0].passed and res.trace.verdict.passed
            assert res.trace.parent_id == trace.id and res.trace.teacher == "retro:programmatic"
            records = res.trace.meta["steps"]
            assert len(records) == len(TraceParts.parse(res.trace.text).paragraphs), "records stay aligned"
            identical += res.trace.text == render_trace(solve_record(record, 0, 0, 0))
            reflective += any(opening_keyword(p) for p in TraceParts.parse(res.trace.text).paragraphs)
    assert revised >= 10, revised
    assert identical < revised, "every revision was the straight-line solve"
    assert reflective >= 1, "no revision kept a reflection"


def test_rollout_continues_the_current_line(verifier):
    """At every boundary of search traces, each rollout's first step enters a child of the state
    the prefix left (never a backtrack), or the rollout is a dead end with no answer."""
    checked = 0
    for name in ("countdown", "knights_knaves", "sudoku"):
        for record, trace in _traces(name, 5, verifier):
            parts, records = TraceParts.parse(trace.text), trace.meta["steps"]
            for th in segment(trace.text)[:-1]:
                k = th.end
                depth = next(
                    r["d"]
                    for r in reversed(records[:k])
                    if r["t"] in ("start", "enter", "dead", "exhausted", "gave_up")
                )
                last = next(
                    r
                    for r in reversed(records[:k])
                    if r["t"] in ("start", "enter", "dead", "exhausted", "gave_up")
                )
                top = depth if last["t"] in ("start", "enter") else depth - 1
                for ro in ProgrammaticReviser().rollout(
                    record, trace, parts.prefix(k), 2, list(TRANSITION_KEYWORDS)
                ):
                    if ro.meta.get("dead_end"):
                        assert ro.answer is None
                        continue
                    first = ro.meta["steps"][0]
                    assert opening_keyword(TraceParts.parse(ro.text).paragraphs[0]) is None
                    assert first["t"] == "answer" or (
                        first["t"] in ("enter", "group") and first["d"] == top + 1
                    ), (first, top)
                    checked += 1
    assert checked > 10


def test_failed_rollouts_stay_in_the_provenance(verifier):
    """Every rollout tried is recorded with its verdict; rejected ones too."""
    seen_failed = 0
    for record, trace in _traces("countdown", 12, verifier) + _traces("arithmetic_chain", 12, verifier, 5):
        res = revise(
            record, trace, ProgrammaticReviser(), verifier(record), RetroSearchConfig(rollouts_per_boundary=2)
        )
        for e in res.entries:
            assert len(e["rollouts_tried"]) == e["rollouts"] == 2
            assert [r["verdict"] for r in e["rollouts_tried"]] == e["verdicts"]
            seen_failed += sum(r["verdict"] != "passed" for r in e["rollouts_tried"])
        if res.revised:
            assert res.trace.meta["retro"]["entries"] == res.entries
    assert seen_failed > 0


def test_a_caught_slip_is_not_revised_away(verifier):
    """Continuing the current line after a slip (without the check that caught it) carries the
    slip to a wrong answer: the rollout fails verification and the reflection stays."""
    for i in range(40):
        record = make_record("arithmetic_chain", 4, 200 + i)
        trace = teacher_trace(record, 5, verifier)
        if "Wait, checking" in trace.text:
            break
    else:
        raise AssertionError("no slip in 40 traces")
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    first = res.entries[0]
    assert first["verdicts"] == ["mismatch"] and not first["accepted"]
    assert "Wait, checking" in res.trace.text


def test_rollouts_are_deterministic(verifier):
    record, trace = _traces("countdown", 1, verifier, level=4)[0]
    a = revise(record, trace, ProgrammaticReviser(), verifier(record))
    b = revise(record, trace, ProgrammaticReviser(), verifier(record))
    assert a.trace.text == b.trace.text and a.entries == b.entries


def test_zero_backtracks_left_as_is(verifier):
    record = make_record("linear_equation", 2, 4)
    trace = teacher_trace(record, 0, verifier)
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    assert res.trace is trace and res.reason == "no_switch" and res.entries == []
    assert res.tokens_after == res.tokens_before


def test_failed_or_missing_verdict_passes_through(verifier):
    record = make_record("countdown", 3, 5)
    trace = ProgrammaticTeacher().traces(record, 1, 2, 0)[0]
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    assert res.trace is trace and res.reason == "not_verified" and res.stopped == "unverified"
    trace.verdict = Verdict(False, "math", "mismatch")
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    assert res.trace is trace and res.reason == "not_verified" and "mismatch" in res.stopped


def _dead_end_first(verifier) -> tuple[Record, Trace]:
    """A search trace whose first thought ends inside a branch that failed on sight."""
    for i in range(200):
        record = make_record("knights_knaves", 1 + i % 5, 300 + i)
        trace = teacher_trace(record, 0, verifier)
        recs = trace.meta["steps"]
        k = segment(trace.text)[0].end
        if len(segment(trace.text)) >= 3 and recs[k]["t"] == "dead":
            return record, trace
    raise AssertionError("no trace whose first boundary is inside a dead end")


def test_rollout_inside_a_dead_end_has_no_answer(verifier):
    record, trace = _dead_end_first(verifier)
    prefix = TraceParts.parse(trace.text).prefix(segment(trace.text)[0].end)
    (dead,) = ProgrammaticReviser().rollout(record, trace, prefix, 1, ["Wait"])
    assert dead.answer is None and dead.meta["dead_end"]
    assert not verifier(record)([prefix + dead.text])[0].passed
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    assert res.entries[0]["verdicts"] == ["no_answer"] and not res.entries[0]["accepted"]


def test_partial_retro_search_and_token_budget(verifier):
    record, trace = _dead_end_first(verifier)
    res = revise(record, trace, ProgrammaticReviser(), verifier(record), RetroSearchConfig(max_boundaries=1))
    assert res.trace is trace and res.stopped == "max_boundaries" and len(res.entries) == 1
    assert res.reason == "no_better_rollout"


class _CostlyWrongReviser:
    """Spends 10 tokens per rollout and always answers wrongly: only the budget stops it early."""

    name = "costly"

    def rollout(self, record, trace, prefix, n, banned, config=None):
        return [Rollout("I am sure.\n</think>\n\nThe answer is \\boxed{-999999}.", tokens=10)] * n


def _many_boundaries(verifier, at_least: int = 3) -> tuple[Record, Trace]:
    for i in range(100):
        record = make_record("countdown", 4, 400 + i)
        trace = teacher_trace(record, 3, verifier)
        if len(segment(trace.text)) > at_least:
            return record, trace
    raise AssertionError("no trace with enough boundaries")


def test_token_budget_stops_the_loop(verifier):
    record, trace = _many_boundaries(verifier)
    res = revise(record, trace, _CostlyWrongReviser(), verifier(record), RetroSearchConfig(token_budget=15))
    assert res.trace is trace and res.stopped == "token_budget" and res.rollout_tokens == 20
    assert [e["verdicts"] for e in res.entries] == [["mismatch"], ["mismatch"]]


class _TwoRolloutsReviser:
    """Two correct rollouts per boundary: the straight line padded with filler, and the bare line."""

    name = "two"

    def rollout(self, record, trace, prefix, n, banned, config=None):
        path = solve_record(record, 0, 0, 0).path
        done = TraceParts.parse(prefix).paragraphs
        rest = path[max(path.index(p) for p in done if p in path) + 1 :]
        end = f"</think>\n\nThe answer is \\boxed{{{record.problem.answer}}}."
        padded = "".join(f"{p}\n\nThat step is done.\n\n" for p in rest) + end
        return [Rollout(padded, tokens=5), Rollout("".join(p + "\n\n" for p in rest) + end, tokens=3)]


def _slipped_chain(verifier) -> tuple[Record, Trace]:
    for i in range(60):
        record = make_record("arithmetic_chain", 4, 500 + i)
        trace = teacher_trace(record, 5, verifier)
        if len(segment(trace.text)) >= 3:
            return record, trace
    raise AssertionError("no chain with two caught slips")


def test_highest_value_rollout_wins(verifier):
    record, trace = _slipped_chain(verifier)
    res = revise(
        record, trace, _TwoRolloutsReviser(), verifier(record), RetroSearchConfig(rollouts_per_boundary=2)
    )
    first = res.entries[0]
    assert first["accepted"] and first["verdicts"] == ["passed", "passed"]
    assert "That step is done" not in res.trace.text and res.trace.verdict.passed


def test_config_is_validated_once():
    with pytest.raises(ValidationError, match="rollout_per_boundary"):
        RetroSearchConfig(rollout_per_boundary=2)
    with pytest.raises(ValidationError):
        RetroSearchConfig(gamma=0)
    cfg = RetroSearchConfig()
    assert (cfg.gamma, cfg.temperature, cfg.top_p) == (0.9, 0.6, 0.95)


# --- the LLM reviser through the loopback server ------------------------------------------------


def _correct_continuation(record: Record) -> Callable[[object], str]:
    """A responder that continues the straight line from wherever the prefix stops."""
    path = solve_record(record, 0, 0, 0).path

    def reply(req) -> str:
        done = TraceParts.parse(req.prefix).paragraphs
        last = max((path.index(p) for p in done if p in path), default=-1)
        return (
            "\n\n".join(path[last + 1 :]) + f"\n</think>\n\nThe answer is \\boxed{{{record.problem.answer}}}."
        )

    return reply


RESPONDERS = {
    "always_switches": lambda record: lambda req: "Wait, let me reconsider the whole thing from the start.",
    "never_finishes": lambda record: lambda req: " ".join(["and then I keep going"] * 200),
    "answers_wrongly": lambda record: (
        lambda req: re.sub(r"\\boxed\{[^}]*\}", "\\\\boxed{123456789}", _correct_continuation(record)(req))
    ),
}


@pytest.fixture(scope="module")
def loopback():
    """Start a loopback server with a swappable responder; yields (set_responder, backend)."""
    import reasonmill.llm as base
    import reasonmill.testing.loopback as lb

    current: dict[str, Callable] = {"fn": lb.echo_responder}
    with lb.LoopbackServer(responder=lambda req: current["fn"](req)) as server:
        backend = base.make_backend(
            {
                "kind": "openai",
                "model": "loopback",
                "base_url": server.url,
                "banned_max_tries": 2,
                "max_attempts": 1,
            }
        )
        try:
            yield (lambda fn: current.__setitem__("fn", fn)), backend
        finally:
            backend.close()


@pytest.mark.parametrize("kind", sorted(RESPONDERS))
def test_llm_reviser_failures_leave_the_original_untouched(kind, loopback, verifier):
    set_responder, backend = loopback
    record, trace = _slipped_chain(verifier)
    before = (trace.text, trace.id, dict(trace.meta), trace.verdict)
    set_responder(RESPONDERS[kind](record))
    cfg = RetroSearchConfig(rollouts_per_boundary=2, max_new_tokens=64)
    res = revise(record, trace, LLMReviser(backend), verifier(record), cfg)
    assert res.trace is trace and (trace.text, trace.id, trace.meta, trace.verdict) == before
    assert res.reason == "no_better_rollout" and len(res.entries) == len(segment(trace.text)) - 1
    verdicts = {v.split(":")[0] for e in res.entries for v in e["verdicts"]}
    assert (
        verdicts
        == {
            "always_switches": {"banned_opening"},
            "never_finishes": {"length"},
            "answers_wrongly": {"mismatch"},
        }[kind]
    )


def test_llm_reviser_accepts_a_correct_shorter_rollout(loopback, verifier):
    set_responder, backend = loopback
    record, trace = _slipped_chain(verifier)
    set_responder(_correct_continuation(record))
    res = revise(
        record,
        trace,
        LLMReviser(backend, name="loopback"),
        verifier(record),
        RetroSearchConfig(rollouts_per_boundary=2),
    )
    assert res.revised and res.trace.teacher == "retro:loopback" and res.trace.parent_id == trace.id
    assert res.trace.verdict.passed and res.rollout_tokens > 0 and res.tokens_after < res.tokens_before


def test_revise_many_threads_keep_order(loopback, verifier):
    set_responder, backend = loopback
    jobs = []
    for i in range(200):
        r = make_record("linear_equation", 4, 30 + i)
        t = teacher_trace(r, 5, verifier)
        if len(segment(t.text)) > 1:
            jobs.append((r, t))
        if len(jobs) == 4:
            break
    records = [r for r, _ in jobs]
    paths = {r.problem.question: _correct_continuation(r) for r in records}
    set_responder(lambda req: paths[req.messages[-2]["content"]](req))
    results = revise_many(jobs, LLMReviser(backend), verifier, workers=4)
    assert [res.trace.parent_id for res in results] == [t.id for _, t in jobs]
    assert all(res.revised and res.trace.verdict.passed for res in results)


@pytest.mark.parametrize(
    "name",
    [
        *SEARCH,
        "arithmetic_chain",
        "linear_system",
        "counting",
        "gcd_lcm",
        "modular_power",
        "prime_factors",
        "arithmetic_expression",
        "linear_equation",
    ],
)
def test_records_survive_the_shards_json(name: str, verifier):
    """Trace meta is stored as JSON between stages: the records are strict JSON, and the revision
    of a round-tripped trace is the revision of the original."""
    import json

    for record, trace in _traces(name, 3, verifier):
        text = json.dumps(trace.meta, allow_nan=False)  # no default=: fails on anything not JSON
        back = Trace(
            trace.id,
            trace.text,
            trace.answer,
            trace.teacher,
            trace.tokens,
            trace.steps,
            trace.parent_id,
            trace.verdict,
            json.loads(text),
        )
        a = revise(record, trace, ProgrammaticReviser(), verifier(record))
        b = revise(record, back, ProgrammaticReviser(), verifier(record))
        assert a.trace.text == b.trace.text and [e["verdicts"] for e in a.entries] == [
            e["verdicts"] for e in b.entries
        ]
        json.dumps(a.trace.meta, allow_nan=False)
