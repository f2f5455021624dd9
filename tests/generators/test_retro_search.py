"""Retro-Search: segmentation, the programmatic reviser on real traces, the loop's guards, and the
LLM reviser through the loopback OpenAI-compatible server."""

from __future__ import annotations

import importlib.util
import random
import re
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from reasonmill.generators import FAMILIES, PRINCIPLES
from reasonmill.generators.base import SolverRun, narrate
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
from reasonmill.generators.teacher import ProgrammaticTeacher, render_trace, solve_record, trace_from_run
from reasonmill.records import Record, Trace, Verdict
from reasonmill.rng import item_rng

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


def teacher_trace(record: Record, backtracks: int, verifier, sample: int = 0) -> Trace:
    """One programmatic trace, verified."""
    return verified(record, ProgrammaticTeacher().traces(record, sample + 1, backtracks, 0)[sample], verifier)


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
    record = make_record("arithmetic_chain", 4, 1)
    run = solve_record(record, 0, 0, backtracks)
    text = render_trace(run)
    thoughts = segment(text)
    # each wrong branch opens with "Alternatively" and is abandoned by "Wait"
    assert len(thoughts) == 1 + 2 * backtracks
    assert sum(len(t.steps) for t in thoughts) == len(run.steps)
    assert TraceParts.parse(text).join() == text


# --- the programmatic reviser -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_record("arithmetic_chain", 5, 2),
        lambda: make_record("linear_equation", 4, 3),
        make_bridging,
    ],
)
def test_programmatic_revision_is_shorter_and_verifies(make, verifier):
    record = make()
    trace = teacher_trace(record, 3, verifier)
    original_text = trace.text
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    new = res.trace
    assert res.revised and res.stopped == "no_switch_left"
    assert new is not trace and trace.text == original_text
    assert new.parent_id == trace.id and new.teacher == "retro:programmatic" and new.id != trace.id
    assert res.tokens_after < res.tokens_before and res.steps_after < res.steps_before
    assert new.tokens == res.tokens_after and new.steps == res.steps_after
    assert verifier(record)([new.text])[0].passed and new.verdict is not None and new.verdict.passed
    # the current line continued: exactly the straight-line solve, in the teacher's fixed format
    assert new.text == render_trace(solve_record(record, 0, 0, 0))
    assert new.meta["on_path"] == list(range(new.steps)) and segment(new.text)[1:] == []
    assert (
        res.entries[0]["accepted"]
        and res.entries[0]["steps_to_go_after"] < res.entries[0]["steps_to_go_before"]
    )
    assert new.meta["retro"]["parent"] == trace.id


def _families() -> list:
    """Every registered family; the reasoning-gym adapter only when its package is installed."""
    gym = importlib.util.find_spec("reasoning_gym") is not None
    return [n for n in FAMILIES.names() if n != "reasoning_gym" or gym]


EXTRA_PARAMS = {"reasoning_gym": {"task": "chain_sum"}}


@pytest.mark.parametrize("name", _families())
def test_every_family_revises_to_its_straight_line(name: str, verifier):
    """Contract: any family whose solver narrates with `on_path` tags gets revised to its path."""
    fam = FAMILIES.get(name)
    problem = fam.generate(item_rng(name, 0, 21), fam.params({"level": 3, **EXTRA_PARAMS.get(name, {})}))
    record = Record(Record.make_id(name, 0, 21, problem), name, 0, 21, 3, problem)
    trace = teacher_trace(record, 2, verifier)
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    assert res.revised and res.tokens_after < res.tokens_before and res.trace.verdict.passed
    assert res.trace.text == render_trace(solve_record(record, 0, 0, 0))


def test_zero_backtracks_left_as_is(verifier):
    record = make_record("linear_equation", 2, 4)
    trace = teacher_trace(record, 0, verifier)
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    assert res.trace is trace and res.reason == "no_switch" and res.entries == []
    assert res.tokens_after == res.tokens_before


def test_failed_or_missing_verdict_passes_through(verifier):
    record = make_record("arithmetic_chain", 3, 5)
    trace = ProgrammaticTeacher().traces(record, 1, 2, 0)[0]
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    assert res.trace is trace and res.reason == "not_verified" and res.stopped == "unverified"
    trace.verdict = Verdict(False, "math", "mismatch")
    res = revise(record, trace, ProgrammaticReviser(), verifier(record))
    assert res.trace is trace and res.reason == "not_verified" and "mismatch" in res.stopped


def _detour_first_trace(record: Record) -> Trace:
    """A trace that opens with a wrong branch, then has a second one after path step 1."""
    run = solve_record(record, 0, 0, 0)
    wrong = ["Alternatively, maybe guess x = 1000.", "With x = 1000 the sides differ a lot."]
    back = ["Wait, that guess is far off. Let me go back to step 1."]
    steps = narrate(run.path, [(-1, wrong + back), (1, wrong + back)])
    return trace_from_run(SolverRun(steps, run.path, run.answer, backtracks=2), record.id, "programmatic", 0)


def test_rollout_inside_a_detour_is_a_dead_end(verifier):
    record = make_record("linear_equation", 3, 6)
    trace = verified(record, _detour_first_trace(record), verifier)
    reviser = ProgrammaticReviser()
    prefix = TraceParts.parse(trace.text).prefix(2)  # ends inside the first wrong branch
    (dead,) = reviser.rollout(record, trace, prefix, 4, ["Wait"])
    assert dead.answer is None and dead.meta["dead_end"]
    assert not verifier(record)([prefix + dead.text])[0].passed
    res = revise(record, trace, reviser, verifier(record))
    # the first boundary (inside the detour) is rejected; the next one removes the second detour
    assert [e["accepted"] for e in res.entries] == [False, True]
    assert res.entries[0]["verdicts"] == ["no_answer"]
    assert res.revised and res.trace.text.count("Alternatively") == 1 and res.trace.verdict.passed


def test_partial_retro_search_and_token_budget(verifier):
    record = make_record("linear_equation", 3, 6)
    trace = verified(record, _detour_first_trace(record), verifier)
    res = revise(record, trace, ProgrammaticReviser(), verifier(record), RetroSearchConfig(max_boundaries=1))
    assert res.trace is trace and res.stopped == "max_boundaries" and len(res.entries) == 1
    assert res.reason == "no_better_rollout"


class _CostlyWrongReviser:
    """Spends 10 tokens per rollout and always answers wrongly: only the budget stops it early."""

    name = "costly"

    def rollout(self, record, trace, prefix, n, banned, config=None):
        return [Rollout("I am sure.\n</think>\n\nThe answer is \\boxed{-999999}.", tokens=10)] * n


def test_token_budget_stops_the_loop(verifier):
    record = make_record("arithmetic_chain", 4, 7)
    trace = teacher_trace(record, 3, verifier)  # 6 boundaries
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


def test_highest_value_rollout_wins(verifier):
    record = make_record("arithmetic_chain", 4, 12)
    trace = teacher_trace(record, 3, verifier)
    res = revise(
        record, trace, _TwoRolloutsReviser(), verifier(record), RetroSearchConfig(rollouts_per_boundary=2)
    )
    first = res.entries[0]
    assert first["accepted"] and first["verdicts"] == ["passed", "passed"]
    assert "That step is done" not in res.trace.text and res.trace.text == render_trace(
        solve_record(record, 0, 0, 0)
    )


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
    import reasonmill.llm.base as base
    import reasonmill.llm.loopback as lb

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
    record = make_record("arithmetic_chain", 4, 8)
    trace = teacher_trace(record, 2, verifier)
    before = (trace.text, trace.id, dict(trace.meta), trace.verdict)
    set_responder(RESPONDERS[kind](record))
    cfg = RetroSearchConfig(rollouts_per_boundary=2, max_new_tokens=64)
    res = revise(record, trace, LLMReviser(backend), verifier(record), cfg)
    assert res.trace is trace and (trace.text, trace.id, trace.meta, trace.verdict) == before
    assert res.reason == "no_better_rollout" and len(res.entries) == 4
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
    record = make_record("linear_equation", 3, 9)
    trace = teacher_trace(record, 2, verifier)
    set_responder(_correct_continuation(record))
    res = revise(
        record,
        trace,
        LLMReviser(backend, name="loopback"),
        verifier(record),
        RetroSearchConfig(rollouts_per_boundary=2),
    )
    assert res.revised and res.trace.teacher == "retro:loopback" and res.trace.parent_id == trace.id
    assert res.trace.text == render_trace(solve_record(record, 0, 0, 0)) and res.rollout_tokens > 0


def test_revise_many_threads_keep_order(loopback, verifier):
    set_responder, backend = loopback
    records = [make_record("linear_equation", 3, 30 + i) for i in range(4)]
    jobs = [(r, teacher_trace(r, 1, verifier)) for r in records]
    paths = {r.problem.question: _correct_continuation(r) for r in records}
    set_responder(lambda req: paths[req.messages[-2]["content"]](req))
    results = revise_many(jobs, LLMReviser(backend), verifier, workers=4)
    assert [res.trace.parent_id for res in results] == [t.id for _, t in jobs]
    assert all(res.revised and res.trace.verdict.passed for res in results)
