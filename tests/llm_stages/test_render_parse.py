"""Render and parse of every LLM use, on literal replies (fences, prose, missing fields, bad tags),
and the batched helpers on a scripted in-memory backend."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from reasonmill.config import validate_config
from reasonmill.errors import ConfigError
from reasonmill.generators.llm_tasks.mindgym import (
    AREAS,
    BACKGROUND_MARKER,
    SubQuestion,
    SynthesisSettings,
    parse_background,
    parse_subquestions,
    render_background,
    render_subquestions,
    synthesize,
)
from reasonmill.generators.llm_tasks.multihop import (
    COMPOSE_MARKER,
    ComposeJob,
    check_consistency,
    compose_many,
    compose_one,
    parse_compose,
    render_compose,
)
from reasonmill.generators.llm_tasks.parsing import (
    ParseError,
    as_number,
    completion_problem,
    extract_final,
    extract_json,
    infer_kind,
    mentions,
    same_answer,
    split_think,
)
from reasonmill.generators.llm_tasks.student import render_student, sample_students
from reasonmill.generators.llm_tasks.teacher import LLMTeacher, parse_teacher, render_teacher
from reasonmill.generators.llm_tasks.tfidf import TfidfIndex
from reasonmill.llm.base import BackendStats
from reasonmill.llm.types import Completion, SamplingParams
from reasonmill.records import Problem, Reason, Record
from reasonmill.verifiers.judge import JudgeItem, LLMJudge, logprob_score, parse_judge, render_judge

LONG = " ".join(f"word{i}" for i in range(80))


class ScriptedBackend:
    """An in-memory backend: `script(conversation_text, sample) -> Completion | str`."""

    model_id = "scripted"

    def __init__(self, script: Callable[[str, int], Completion | str]) -> None:
        self.script, self.stats, self.calls = script, BackendStats(), 0

    def generate(self, conversations, sampling: SamplingParams) -> list[list[Completion]]:
        self.calls += 1
        out = []
        for conv in conversations:
            text = "\n".join(m["content"] for m in conv)
            row = []
            for i in range(sampling.n):
                r = self.script(text, i)
                row.append(Completion(text=r, finish_reason="stop") if isinstance(r, str) else r)
            out.append(row)
        return out

    def continue_prefix(self, *a, **k):  # pragma: no cover - not used here
        raise NotImplementedError

    def close(self) -> None:
        pass


# -- shared parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure! Here it is:\n```json\n{"a": [1, 2]}\n```\nAnything else?', {"a": [1, 2]}),
        ("```\n[1, 2, 3]\n```", [1, 2, 3]),
        ('The questions: [{"q": "x",},] — enjoy.', [{"q": "x"}]),
        ('Note {not json} then {"ok": true}', {"ok": True}),
    ],
)
def test_extract_json_survives_fences_prose_and_trailing_commas(text, value):
    assert extract_json(text) == value


@pytest.mark.parametrize("text", ["no json here", "{broken: json", ""])
def test_extract_json_raises_without_json(text):
    with pytest.raises(ValueError):
        extract_json(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<think>a\n\nb</think>\nanswer", ("a\n\nb", "answer", None)),
        ("no tags at all", (None, "no tags at all", None)),
        ("<think>cut off here", ("cut off here", "", "unclosed <think>")),
        ("template put the open tag in the prompt</think> rest", ("template put the open tag in the prompt", "rest", None)),
        ("<think>a <think>b</think> c", ("a <think>b", "c", "nested <think>")),
    ],
)
def test_split_think(text, expected):
    assert split_think(text) == expected


def test_extract_final_forms():
    assert extract_final("x \\boxed{\\frac{1}{2}} y") == "\\frac{1}{2}"
    assert extract_final("first \\boxed{1} then \\boxed{2}") == "2"
    assert extract_final("unbalanced \\boxed{3 <answer>4</answer>") == "4"
    assert extract_final("We get it.\nFinal answer: **Paris**.") == "Paris"
    assert extract_final("no answer stated") is None


def test_kinds_and_loose_comparisons():
    assert [infer_kind(a) for a in ("42", "-3/4", "1,200", "2x+1", "\\sqrt{2}", "Maria Lopez", "12 km", "")] == [
        "math", "math", "math", "math", "math", "free_form", "free_form", "free_form"]
    assert as_number("50%") == 50 and as_number("3.") == 3 and as_number("x") is None
    assert same_answer("1,200", "1200") and same_answer("The Berg.", "the berg") and not same_answer("12", "13")
    assert mentions("It was Maria Lopez, clearly", "maria lopez") and not mentions("Marian", "Maria")


def test_completion_problems_keep_raw_text():
    assert completion_problem(Completion("ok", "stop")) is None
    cut = completion_problem(Completion("half a repl", "length"))
    assert (cut.reason, cut.raw) == ("truncated_reply", "half a repl")
    failed = completion_problem(Completion("", "error", error="HTTP 500", meta={"raw": '{"choices": ['}))
    assert (failed.reason, failed.raw) == ("request_failed", '{"choices": [')
    assert completion_problem(Completion("  ", "stop")).reason == "malformed_reply"


def test_tfidf_duplicates_and_distinct_texts():
    idx = TfidfIndex()
    idx.add("The harbour authority of Arlow recorded 420 barrels in 1901.")
    assert idx.max_similarity("The harbour authority of Arlow recorded 420 barrels in 1901.") > 0.99
    assert idx.max_similarity("A glass works in Calder hired Tanaka to design kilns.") < 0.2
    assert TfidfIndex().max_similarity("anything") == 0.0


# -- MindGYM -------------------------------------------------------------------------------------


def test_render_background_is_pure_and_marked():
    a = render_background("economic_principles", random.Random(3), 7)
    b = render_background("economic_principles", random.Random(3), 7)
    assert a == b and a[0]["content"].startswith(BACKGROUND_MARKER)
    assert "Economic Principles" in a[0]["content"] and "Scenario number: 7" in a[0]["content"]
    avoid = render_background("economic_principles", random.Random(3), 7, avoid="An earlier one")
    assert avoid != a and "An earlier one" in avoid[0]["content"]
    assert len(AREAS) == 8


def test_parse_background_strips_labels_and_rejects_short_replies():
    assert parse_background(f"Background:\n{LONG}") == LONG
    assert parse_background(f'Scenario: "{LONG}"') == LONG
    assert parse_background(f"```\n{LONG}\n```") == LONG
    with pytest.raises(ParseError) as err:
        parse_background("Too short.")
    assert err.value.problem.reason == "malformed_reply" and err.value.problem.raw == "Too short."


def test_parse_subquestions_realistic_replies():
    fenced = 'Here you go:\n```json\n[{"question": "Who led?", "answer": "Maria"}, {"question": "When?", "answer": 1901}]\n```'
    items, notes = parse_subquestions(fenced)
    assert items == [SubQuestion("Who led?", "Maria"), SubQuestion("When?", "1901")] and notes == []
    wrapped = '{"questions": [{"question": "A?", "answer": "1"}, {"question": "B?"}, {"answer": "3"}, {"question": "a?", "answer": "2"}]}'
    items, notes = parse_subquestions(wrapped)
    assert [i.question for i in items] == ["A?"] and len(notes) == 3
    many = "[" + ",".join(f'{{"question": "Q{i}?", "answer": "{i}"}}' for i in range(8)) + "]"
    assert len(parse_subquestions(many, 5)[0]) == 5
    with pytest.raises(ParseError) as err:
        parse_subquestions("I'd rather describe it in words.")
    assert err.value.problem.raw == "I'd rather describe it in words."
    with pytest.raises(ParseError):
        parse_subquestions('[{"question": "no answer"}]')
    assert "Background:" in render_subquestions("historical_events", "BG text", 3)[0]["content"]


def _bg(i: int) -> str:
    topics = ["harbour barrels salt", "orchard apples frost", "observatory comet lens", "brewery hops barley", "clinic fever doctor"]
    return " ".join(f"{topics[i % len(topics)]} detail{j}" for j in range(30))


def test_synthesize_regenerates_near_duplicates_then_gives_up():
    def script(text: str, i: int) -> Completion | str:
        if "[reasonmill:mindgym-subquestions]" in text:
            return '[{"question": "What?", "answer": "42"}, {"question": "Who?", "answer": "Maria"}]'
        n = int(text.split("Scenario number: ")[1].split("\n")[0])
        if n == 2:
            return Completion("A cut-off backgro", "length")
        if n == 3 and "It must differ" not in text:
            return _bg(0)  # duplicate of sample 0: regenerated
        return _bg(n)

    backend = ScriptedBackend(script)
    out = synthesize(backend, ["economic_principles"], range(5), seed=0)
    assert [s.problem.reason if s.problem else "ok" for s in out] == ["ok", "ok", "truncated_reply", "ok", "ok"]
    assert out[3].attempts == 2 and out[0].subquestions[0].answer == "42"
    assert out[2].raw == ["A cut-off backgro"]
    stubborn = synthesize(ScriptedBackend(lambda t, i: _bg(0) if "background" in t else "[]"), ["historical_events"], range(2), 0,
                          SynthesisSettings(max_retries=2))
    assert stubborn[1].problem.reason == "duplicate_background" and stubborn[1].attempts == 3
    assert stubborn[0].problem.reason == "malformed_reply"  # "[]" has no sub-question


# -- LLM composition -----------------------------------------------------------------------------


SUBS = [SubQuestion("How many barrels in 1901?", "420"), SubQuestion("How many by 1910?", "300"), SubQuestion("Who led?", "Maria Lopez")]


def test_render_and_parse_compose():
    content = render_compose("comparison", "BG", SUBS)[0]["content"]
    assert content.startswith(COMPOSE_MARKER) and "A: 420" in content and "A: Maria Lopez" in content
    assert parse_compose('```json\n{"question": "Q?", "answer": "120", "reasoning": "420-300"}\n```').answer == "120"
    assert parse_compose('[{"question": "Q?", "answer": "x"}]').question == "Q?"
    for bad in ('{"question": "Q?"}', '{"question": "", "answer": "1"}', "no json", "[1, 2]"):
        with pytest.raises(ParseError):
            parse_compose(bad)


@pytest.mark.parametrize(
    "principle, answer, ok",
    [
        ("bridging", "Maria Lopez", True),
        ("bridging", "420.0", True),
        ("bridging", "Tomas", False),
        ("comparison", "120", True),
        ("comparison", "-120", True),
        ("comparison", "720", True),
        ("comparison", "The 1901 count, 420", True),
        ("comparison", "17", False),
        ("temporal", "300 came after 420", True),
        ("temporal", "1999", False),
        ("temporal", "Maria Lopez in 1850", False),
    ],
)
def test_consistency_checks(principle, answer, ok):
    assert check_consistency(principle, answer, [s.answer for s in SUBS])[0] is ok


def test_compose_one_and_many_keep_raw_text():
    job = ComposeJob("bridging", "BG", SUBS)
    assert compose_one(job, '{"question": "Q?", "answer": "Maria Lopez"}').problem is None
    repeat = compose_one(job, '{"question": "Who led?", "answer": "Maria Lopez"}')
    assert repeat.problem.reason == "inconsistent_answer"
    wrong = compose_one(job, '{"question": "Q?", "answer": "a purple elephant"}')
    assert wrong.problem.reason == "inconsistent_answer" and "purple" in wrong.problem.raw
    replies = iter([Completion('{"question": "Q?", "answer": "300"}', "stop"), Completion('{"question": "Q', "length")])
    res = compose_many(ScriptedBackend(lambda t, i: next(replies)), [job, job])
    assert res[0].problem is None and res[1].problem.reason == "truncated_reply" and res[1].raw == '{"question": "Q'


# -- teacher, student, judge -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, answer",
    [
        ("<think>\nStep.\n\nWait, check.\n</think>\n\nThe answer is \\boxed{12}.", "12"),
        ("Reasoning</think>\n<answer>Paris</answer>", "Paris"),
        ("No tags. Answer: 7", "7"),
    ],
)
def test_parse_teacher_good(text, answer):
    assert parse_teacher(text).answer == answer


@pytest.mark.parametrize("text", ["<think>never closed \\boxed{3}", "<think>done</think> but no answer", "<think>a<think>b</think>\\boxed{1}"])
def test_parse_teacher_malformed_keeps_raw(text):
    with pytest.raises(ParseError) as err:
        parse_teacher(text)
    assert err.value.problem.reason == "malformed_reply" and err.value.problem.raw == text


def _rec(q: str = "What is 2+2?", answer: str = "4") -> Record:
    p = Problem(q, answer)
    return Record(id=Record.make_id("t", 0, 0, p), source="t", seed=0, index=0, level=1, problem=p)


def test_llm_teacher_keeps_good_samples_and_records_bad_ones():
    def script(text: str, i: int) -> Completion | str:
        if "all truncated" in text:
            return Completion("<think>half", "length")
        return "<think>\n2 and 2.\n\nSo 4.\n</think>\n\nThe answer is \\boxed{4}." if i == 0 else "<think>oops"

    assert render_teacher("Q")[0]["content"].startswith("[reasonmill:teacher]")
    teacher = LLMTeacher(ScriptedBackend(script), "llm:t")
    good, bad = teacher.outcomes([_rec(), _rec("all truncated")], samples=2)
    assert len(good.traces) == 1 and good.traces[0].answer == "4" and good.traces[0].steps == 2
    assert good.traces[0].text.startswith("<think>\n") and good.record_problem() is None
    assert [b.reason for b in good.bad] == ["malformed_reply"] and good.bad[0].raw == "<think>oops"
    problem = bad.record_problem()
    assert problem.reason == "truncated_reply" and "<think>half" in problem.raw and "<think>half" in problem.detail
    with pytest.raises(ParseError):
        teacher.traces(_rec("all truncated"), 2)


def test_student_marks_unusable_samples():
    replies = iter([Completion("\\boxed{4}", "stop"), Completion("", "error", error="boom")])
    rows = sample_students(ScriptedBackend(lambda t, i: next(replies)), ["Q"], k=2)
    assert [s.unusable for s in rows[0]] == [None, "request_failed"]
    assert "\\boxed{ANSWER}" in render_student("Q")[0]["content"]


@pytest.mark.parametrize(
    "text, score",
    [("1", 1.0), ("0", 0.0), ("0.", 0.0), ("**1**", 1.0), ("Verdict: 1", 1.0), ('{"verdict": 0}', 0.0),
     ('```json\n{"correct": true}\n```', 1.0), ("Yes, same.", 1.0), ("1 or 0", None), ("10", None), ("maybe", None)],
)
def test_parse_judge(text, score):
    assert parse_judge(text) == score


def test_judge_logprobs_and_unreadable_replies_are_errors():
    assert math.isclose(logprob_score({"1": math.log(0.3), "0": math.log(0.1)}), 0.75)
    assert logprob_score({"yes": -0.1}) is None
    judge = LLMJudge(ScriptedBackend(lambda t, i: "1"))
    assert judge.read(Completion("0", "stop", meta={"top_logprobs": {"1": math.log(0.9), "0": math.log(0.1)}})).passed
    garbled = judge.read(Completion("Hmm, hard to say.", "stop"))
    assert (garbled.passed, garbled.reason) == (False, Reason.ERROR) and "hard to say" in garbled.detail
    assert judge.read(Completion("", "error", error="HTTP 500", meta={"raw": "<html>"})).reason == Reason.ERROR
    assert judge.read(Completion("1", "length")).reason == Reason.ERROR
    assert "Reference answer:\nG" in render_judge("Q", "G", "C")[1]["content"]


def test_judge_check_many_batches_only_what_needs_a_model():
    backend = ScriptedBackend(lambda t, i: "1" if "Candidate answer:\nIt was Maria Lopez" in t else "0")
    items = [
        JudgeItem("Who?", "Maria Lopez", "The answer is \\boxed{Maria Lopez}."),  # equal: no call needed
        JudgeItem("Who?", "Maria Lopez", "The answer is \\boxed{It was Maria Lopez}."),
        JudgeItem("Who?", "Maria Lopez", "The answer is \\boxed{Tomas}."),
        JudgeItem("Who?", "Maria Lopez", "I thought about it for a long time\nand could not decide."),
    ]
    v = LLMJudge(backend).check_many(items)
    assert [x.passed for x in v] == [True, True, False, False]
    assert [x.reason for x in v] == [None, None, Reason.MISMATCH, Reason.NO_ANSWER]
    assert backend.calls == 1


# -- config --------------------------------------------------------------------------------------


def _llm(**sections) -> dict:
    return {"llm": {"backends": {"t": {"kind": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1"}}}, **sections}


@pytest.mark.parametrize(
    "data, field",
    [
        (_llm(verify={"judge": "nope"}), "verify.judge"),
        (_llm(distill={"teacher": "llm:nope"}), "distill.teacher"),
        (_llm(synthesis={"backend": "nope", "count": 1}), "synthesis.backend"),
        (_llm(compose={"llm": {"backend": "nope"}}), "compose.llm.backend"),
        (_llm(score={"student": {"backend": "nope"}}), "score.student.backend"),
        (_llm(retro_search={"reviser": "nope"}), "retro_search.reviser"),
        (_llm(verify={"judge": {"backend": "nope"}}), "verify.judge.backend"),
        (_llm(distill={"backend": "nope"}), "distill.backend"),
        (_llm(retro_search={"backend": "nope"}), "retro_search.backend"),
        (_llm(distill={"backend": "t", "teacher": "other"}), "distill"),
        ({"llm": {"backends": {"t": {"kind": "openai", "model": "m"}}}}, "llm.backends.t.base_url"),
        ({"llm": {"backends": {"t": {"kind": "warp"}}}}, "llm.backends.t.kind"),
        (_llm(score={"student": {"backend": "t", "band": [0.9, 0.1]}}), "score.student.band"),
    ],
)
def test_llm_config_errors_name_the_field(data, field):
    with pytest.raises(ConfigError) as err:
        validate_config(data)
    assert err.value.field == field


def test_llm_config_lists_known_backends_and_accepts_a_full_setup():
    with pytest.raises(ConfigError, match="known: t"):
        validate_config(_llm(verify={"judge": {"backend": "nope"}}))
    cfg = validate_config(_llm(synthesis={"backend": "t", "count": 2}, distill={"backend": "t"}, verify={"judge": {"backend": "t"}},
                               score={"student": {"backend": "t"}}, compose={"llm": {"backend": "t"}}))
    assert cfg.distill.backend == "t" and cfg.score.student.k == 8 and cfg.score.student.band == (0.2, 0.8)
    assert cfg.synthesis.dedup_threshold == 0.75 and cfg.synthesis.temperature == 0.9 and cfg.synthesis.top_p == 0.95
