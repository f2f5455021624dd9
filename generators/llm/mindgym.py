"""MindGYM-style seed synthesis: a background scenario per sample, then single-hop sub-questions.

Per sample t (area `areas[t % len(areas)]`):
1. render_background → call → parse_background: a 150–200-word scenario. If its TF-IDF cosine
   similarity to a background accepted earlier exceeds `threshold` (0.75), it is asked again,
   with the too-similar opening quoted as "avoid this", up to `max_retries` (5) times.
2. render_subquestions → call → parse_subquestions: up to 5 single-hop questions answerable from
   the background alone, each with a short answer, as JSON.

`synthesize` batches each round over all pending samples (one `generate` call per round), so an
HTTP backend runs them concurrently. Dedup looks at earlier backgrounds *of the same call*
(the seeds stage calls it once per shard): a shard's output depends only on the config and that
shard, which is what makes resume exact; cross-shard repeats are left to the score stage's dedup.

Variation between samples comes from the prompt (area, an angle and a setting drawn from
`item_rng("mindgym", seed, t)`, the scenario number), not from per-request seeds, so one batched
call serves every sample and the request cache keys each sample apart. Sampling defaults follow
MindGYM: temperature 0.9, top_p 0.95.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from reasonmill.generators.llm.parsing import (
    MALFORMED,
    ParseError,
    ReplyProblem,
    completion_problem,
    extract_json,
    marker,
)
from reasonmill.generators.llm.tfidf import TfidfIndex
from reasonmill.llm.base import LLMBackend
from reasonmill.llm.types import SamplingParams
from reasonmill.rng import item_rng

BACKGROUND_MARKER = marker("mindgym-background")
SUBQUESTIONS_MARKER = marker("mindgym-subquestions")
DUPLICATE = "duplicate_background"


@dataclass(frozen=True, slots=True)
class Area:
    """One of the eight semantic areas: its title and angles a scenario can take."""

    title: str
    angles: tuple[str, ...]


AREAS: dict[str, Area] = {
    "mathematical_reasoning": Area(
        "Mathematical Reasoning",
        ("budgets and rates", "geometry of a site", "counting arrangements", "growth over time"),
    ),
    "scientific_knowledge": Area(
        "Scientific Knowledge",
        ("a field experiment", "a lab measurement", "an ecosystem change", "a physical process"),
    ),
    "logical_deduction": Area(
        "Logical Deduction",
        ("a scheduling puzzle", "who did what", "rules of a game", "an inspection checklist"),
    ),
    "technical_procedures": Area(
        "Technical Procedures",
        ("a maintenance routine", "a software rollout", "a manufacturing step", "a safety protocol"),
    ),
    "historical_events": Area(
        "Historical Events",
        ("a treaty negotiation", "a city's founding", "an expedition", "a reform movement"),
    ),
    "ethical_considerations": Area(
        "Ethical Considerations",
        ("a hospital triage policy", "a data-sharing decision", "a whistleblower case", "a fair allocation"),
    ),
    "economic_principles": Area(
        "Economic Principles",
        ("a price change", "a small firm's costs", "a trade agreement", "a labour market shift"),
    ),
    "psychological_insights": Area(
        "Psychological Insights",
        ("a team under pressure", "a habit study", "a negotiation", "memory in witnesses"),
    ),
}
"""The eight MindGYM areas by config name (the config vocabulary is these keys)."""

SETTINGS = (
    "a coastal town",
    "a mountain village",
    "a university campus",
    "a river port",
    "a desert research station",
    "an industrial city",
    "a farming cooperative",
    "a small island",
    "a regional hospital",
    "a startup office",
)


def render_background(
    area: str, rng: random.Random, number: int, avoid: str | None = None
) -> list[dict[str, str]]:
    """The chat asking for scenario `number` of `area`; `avoid` quotes a too-similar earlier one.

    Pure: the angle and setting come from `rng`, so the same (area, rng state, number) gives the
    same prompt and hence the same cache key.
    """
    a = AREAS[area]
    angle, setting = rng.choice(a.angles), rng.choice(SETTINGS)
    lines = [
        BACKGROUND_MARKER,
        f"Area: {a.title}",
        f"Angle: {angle}",
        f"Setting: {setting}",
        f"Scenario number: {number}",
        "",
        "Write a realistic background scenario of 150-200 words for reasoning questions in this area.",
        "State concrete facts: names, numbers, dates, causes and effects, so that several short questions",
        "can be answered from the scenario alone. Reply with the scenario text only, no title, no list.",
    ]
    if avoid:
        lines += [
            "",
            "It must differ clearly from this earlier scenario (do not reuse its entities or events):",
            avoid,
        ]
    return [{"role": "user", "content": "\n".join(lines)}]


def parse_background(text: str, min_words: int = 60) -> str:
    """The scenario text of a reply: code fences, a leading "Background:"/"Scenario:" label and
    surrounding quotes removed. Fewer than `min_words` words is a malformed reply (ParseError).

    >>> parse_background("Scenario: " + "word " * 70)[:9]
    'word word'
    """
    t = text.strip()
    if t.startswith("```"):
        t = t.strip("`").split("\n", 1)[-1] if "\n" in t else t.strip("`")
        t = t.rstrip("`").strip()
    lines = t.splitlines()
    if lines and lines[0].strip().rstrip(":").lower() in ("background", "scenario", "background scenario"):
        lines = lines[1:]
    t = "\n".join(lines).strip()
    for label in ("background scenario:", "background:", "scenario:"):
        if t.lower().startswith(label):
            t = t[len(label) :].strip()
    t = t.strip('"“”').strip()
    words = len(t.split())
    if words < min_words:
        raise ParseError(
            ReplyProblem(MALFORMED, f"background has {words} words, fewer than {min_words}", text)
        )
    return t


@dataclass(frozen=True, slots=True)
class SubQuestion:
    """One single-hop question answerable from the background, with its short answer."""

    question: str
    answer: str


def render_subquestions(area: str, background: str, max_questions: int = 5) -> list[dict[str, str]]:
    """The chat asking for up to `max_questions` single-hop questions with answers, as JSON."""
    content = "\n".join(
        [
            SUBQUESTIONS_MARKER,
            f"Area: {AREAS[area].title}",
            "",
            "Background:",
            background,
            "",
            f"Write up to {max_questions} single-hop questions, each answerable from the background alone in",
            "one step, each with a short answer (a number, a name, a date or a short phrase).",
            'Reply with JSON only: [{"question": "...", "answer": "..."}, ...]',
        ]
    )
    return [{"role": "user", "content": content}]


_QUESTION_KEYS = ("question", "sub_question", "q")
_ANSWER_KEYS = ("answer", "a", "solution")


def _first(d: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for k in keys:
        v = d.get(k)
        if isinstance(v, str | int | float) and not isinstance(v, bool) and str(v).strip():
            return str(v).strip()
    return None


def parse_subquestions(text: str, max_questions: int = 5) -> tuple[list[SubQuestion], list[str]]:
    """Sub-questions from a reply, robust to fences and prose; returns (items, notes on skipped).

    Accepts a JSON list, or an object holding the list under "questions"/"sub_questions"/"items".
    Items without a question or an answer, and repeated questions, are skipped (noted); at most
    `max_questions` are kept. No usable item at all is a malformed reply (ParseError).

    >>> items, notes = parse_subquestions('Sure:\\n```json\\n[{"question": "Q?", "answer": 3}, {"question": "R?"}]\\n```')
    >>> items, notes
    ([SubQuestion(question='Q?', answer='3')], ['item 1: missing answer'])
    """
    try:
        data = extract_json(text)
    except ValueError as exc:
        raise ParseError(ReplyProblem(MALFORMED, f"sub-questions: {exc}", text)) from None
    if isinstance(data, dict):
        data = next(
            (data[k] for k in ("questions", "sub_questions", "items") if isinstance(data.get(k), list)),
            [data],
        )
    items: list[SubQuestion] = []
    notes: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            notes.append(f"item {i}: not an object")
            continue
        q, a = _first(item, _QUESTION_KEYS), _first(item, _ANSWER_KEYS)
        if q is None or a is None:
            notes.append(f"item {i}: missing {'question' if q is None else 'answer'}")
            continue
        if q.casefold() in seen:
            notes.append(f"item {i}: repeated question")
            continue
        if len(items) == max_questions:
            notes.append(f"item {i}: beyond {max_questions} questions")
            continue
        seen.add(q.casefold())
        items.append(SubQuestion(q, a))
    if not items:
        raise ParseError(
            ReplyProblem(
                MALFORMED, "no usable sub-question (" + "; ".join(notes or ["empty list"]) + ")", text
            )
        )
    return items, notes


@dataclass(slots=True)
class SynthSample:
    """What synthesis made of sample `index`: the background and sub-questions, or the problem.

    `attempts` counts background requests; `similarity` is the accepted (or last rejected)
    background's highest TF-IDF cosine to an earlier one; `raw` keeps every reply text seen.
    """

    index: int
    area: str
    background: str = ""
    subquestions: list[SubQuestion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problem: ReplyProblem | None = None
    attempts: int = 0
    similarity: float = 0.0
    raw: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SynthesisSettings:
    """Knobs of `synthesize` (the build config's `synthesis` section maps onto these)."""

    subquestions: int = 5
    threshold: float = 0.75
    max_retries: int = 5
    temperature: float = 0.9
    top_p: float = 0.95
    max_tokens: int = 1024
    seed: int | None = None


def _avoid_quote(text: str, words: int = 40) -> str:
    ws = text.split()
    return " ".join(ws[:words]) + (" …" if len(ws) > words else "")


def synthesize(
    backend: LLMBackend,
    areas: list[str],
    indices: range,
    seed: int,
    settings: SynthesisSettings | None = None,
) -> list[SynthSample]:
    """Synthesize the samples `indices` (see the module docstring); one result per index, in order.

    A failed, truncated or malformed reply ends its sample with `problem` set (raw text kept);
    a background still too similar after `max_retries` regenerations ends as "duplicate_background".
    """
    s = settings or SynthesisSettings()
    sampling = SamplingParams(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens, seed=s.seed)
    samples = {t: SynthSample(index=t, area=areas[t % len(areas)]) for t in indices}
    avoid: dict[int, str | None] = {t: None for t in indices}
    index = TfidfIndex()
    pending = list(indices)
    for attempt in range(s.max_retries + 1):
        if not pending:
            break
        convs = [
            render_background(samples[t].area, item_rng("mindgym", seed, t), t, avoid[t]) for t in pending
        ]
        replies = backend.generate(convs, sampling)
        retry = []
        for t, reply in zip(pending, replies, strict=True):
            smp, c = samples[t], reply[0]
            smp.attempts += 1
            smp.raw.append(c.text or str(c.meta.get("raw", "")))
            try:
                if (bad := completion_problem(c)) is not None:
                    raise ParseError(bad)
                bg = parse_background(c.text)
            except ParseError as exc:
                smp.problem = exc.problem
                continue
            sims = index.similarities(bg)
            smp.similarity = max(sims, default=0.0)
            if smp.similarity > s.threshold:
                if attempt == s.max_retries:
                    smp.problem = ReplyProblem(
                        DUPLICATE,
                        f"TF-IDF cosine {smp.similarity:.3f} > {s.threshold} after {smp.attempts} tries",
                        c.text,
                    )
                else:
                    retry.append(t)
                    avoid[t] = _avoid_quote(index.texts[sims.index(smp.similarity)])
                continue
            smp.background = bg
            index.add(bg)
        pending = retry
    ready = [t for t in indices if samples[t].background and samples[t].problem is None]
    if ready:
        convs = [render_subquestions(samples[t].area, samples[t].background, s.subquestions) for t in ready]
        for t, reply in zip(ready, backend.generate(convs, sampling), strict=True):
            smp, c = samples[t], reply[0]
            smp.raw.append(c.text or str(c.meta.get("raw", "")))
            try:
                if (bad := completion_problem(c)) is not None:
                    raise ParseError(bad)
                smp.subquestions, smp.notes = parse_subquestions(c.text, s.subquestions)
            except ParseError as exc:
                smp.problem = exc.problem
    return [samples[t] for t in indices]
