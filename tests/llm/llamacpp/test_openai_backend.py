"""reasonmill's "openai" backend against llama.cpp's server: n samples are n, deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reasonmill.generators.llm_tasks.teacher import parse_teacher, render_teacher
from reasonmill.llm import make_backend
from reasonmill.llm.types import SamplingParams
from reasonmill.verifiers.judge import JudgeItem, LLMJudge

from . import grammars
from .configs import backend

QUESTIONS = ["What is the largest prime factor of 35?", "Solve for x: 3x - 1 = 8. Give x as an integer."]
SAMPLING = SamplingParams(n=4, seed=21, temperature=1.0, max_tokens=200)


@pytest.fixture
def make(live) -> Iterator[Any]:
    """`make(model, grammar, **config)`: an "openai" backend on the live server, closed after."""
    made: list[Any] = []

    def _make(model: str, grammar: str | None, **extra: Any) -> Any:
        b = make_backend(backend(live.url, model, grammar, **extra))
        made.append(b)
        return b

    yield _make
    for b in made:
        b.close()


def test_n_4_gives_4_distinct_parseable_samples_per_conversation(live, make):
    # Server behaviour: llama.cpp answers `n: 4` with ONE choice, so each extra sample has to be
    # asked for separately (one choice per request: at least 4 POSTs per conversation).
    teacher = make("teacher", grammars.TEACHER)
    before = live.posts()
    out = teacher.generate([render_teacher(q) for q in QUESTIONS], SAMPLING)
    assert [len(cs) for cs in out] == [4, 4]
    for cs in out:
        assert all(c.ok for c in cs), [(c.finish_reason, c.error) for c in cs]
        for c in cs:
            assert parse_teacher(c.text).answer.isdigit()
        # four samples, not one sample four times (each slot is sampled with its own seed)
        assert len({c.text for c in cs}) > 1, [c.text for c in cs]
    assert live.posts() - before >= 8


def test_identical_calls_give_identical_samples(make):
    # Server behaviour: with a fixed `seed` llama.cpp samples deterministically, whatever it served
    # in between, so the same call twice returns the same texts slot by slot.
    teacher = make("teacher", grammars.TEACHER)
    convs = [render_teacher(q) for q in QUESTIONS]
    first = [[c.text for c in cs] for cs in teacher.generate(convs, SAMPLING)]
    teacher.generate([render_teacher("What is the largest prime factor of 14?")], SAMPLING.with_n(2))
    again = [[c.text for c in cs] for cs in make("teacher", grammars.TEACHER).generate(convs, SAMPLING)]
    assert first == again
    other = [[c.text for c in cs] for cs in teacher.generate(convs, SAMPLING.model_copy(update={"seed": 22}))]
    assert other != first


def test_judge_reads_the_servers_digit(make):
    # Server behaviour: with the judge grammar the reply is exactly "0" or "1" (finish "stop"); the
    # judge turns it into a verdict through its logprob or digit path.
    judge = LLMJudge(make("judge", grammars.JUDGE))
    items = [JudgeItem("What grew?", "the harvest", f"candidate {i}") for i in range(3)]
    verdicts = judge.check_many(items)
    assert len(verdicts) == 3
    for v in verdicts:
        assert v.reason in (None, "mismatch"), v
        assert v.detail.startswith("judge "), v.detail
