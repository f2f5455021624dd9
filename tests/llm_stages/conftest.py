"""A scripted "world model" behind the loopback server, for the LLM stages' tests.

`WorldResponder` answers every prompt the LLM stages render, dispatching on the marker line each
render function puts first ("[reasonmill:mindgym-background]", …). Its replies are realistic and
checkable: backgrounds built from structured scenarios (so sub-questions have true answers),
sub-question JSON in fences or prose, multi-hop JSON consistent with the sub-answers, teacher
traces that reach the known gold (programmatic solver traces for procedural problems), judge
digits, students right with a per-question probability. A fixed share of replies is malformed
(no JSON, an unclosed `<think>`, an inconsistent multi-hop answer, an unreadable judge reply) so
the tests can prove that rejections keep the raw text. Everything is a pure function of the
request, so replies are reproducible and cacheable.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from reasonmill.config import BuildConfig, validate_config
from reasonmill.generators.teacher import ProgrammaticTeacher
from reasonmill.pipelines.context import make_context
from reasonmill.pipelines.stages.compose import ComposeStage
from reasonmill.pipelines.stages.seeds import SeedStage
from reasonmill.records import Record
from reasonmill.testing.loopback import Faults, LoopbackServer, ReplyRequest


def h(*parts: object) -> int:
    """A stable hash of the parts (Python's `hash` is salted per process)."""
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


FIRST = ["Maria", "Tomas", "Aiko", "Kwame", "Lena", "Ravi", "Sofia", "Jonas", "Imani", "Pavel", "Chen", "Olga"]
LAST = ["Lopez", "Berg", "Tanaka", "Mensah", "Novak", "Iyer", "Rossi", "Keller", "Okafor", "Petrov", "Wu", "Larsen"]
ORGS = ["water board", "fishing guild", "textile mill", "county library", "rail company", "seed bank", "glass works",
        "harbour authority", "orchard cooperative", "observatory", "brewery", "clinic"]
TOWNS = ["Arlow", "Bexmoor", "Calder", "Dunmere", "Elsby", "Fenwick", "Greyhaven", "Holloway", "Ivybridge", "Jarrow"]
UNITS = ["tonnes of grain", "visitors", "kilometres of pipe", "barrels", "patients", "books", "wagons", "hectares"]
FILLER = [
    "Old maps of the valley show a second road that was never finished.",
    "Winters there are long, and the river freezes for several weeks.",
    "Local newspapers argued for months about the cost of every decision.",
    "A small museum now keeps the ledgers, letters and photographs of that time.",
    "Merchants from the coast brought salt, cloth and news twice a month.",
    "Several families left for the cities, while others arrived from the hills.",
    "The council met in a converted chapel with a leaking roof.",
    "Children still learn a rhyme about the flood that ruined the lower fields.",
    "Engineers complained that the clay soil made every foundation expensive.",
    "A travelling doctor visited each spring and wrote detailed reports.",
    "Prices at the weekly market rose sharply after the bridge closed.",
    "Historians disagree about who first proposed the plan.",
    "Farmers rotated barley, beans and clover on the terraces above the town.",
    "The archive lost some records in a fire, but the tax rolls survived.",
]


def scenario(area: str, k: int) -> tuple[str, list[tuple[str, str]]]:
    """Background text (150-200 words) and its facts [(question, answer)] for scenario k of area."""
    r = random.Random(f"{area}:{k}")
    town, org, unit = r.choice(TOWNS), r.choice(ORGS), r.choice(UNITS)
    leader = f"{r.choice(FIRST)} {r.choice(LAST)}"
    rival = f"{r.choice(FIRST)} {r.choice(LAST)}"
    y1 = r.randint(1820, 1950)
    y2 = y1 + r.randint(3, 30)
    n1, n2 = r.randint(100, 900), r.randint(100, 900)
    facts_text = [
        f"In {y1} the {org} of {town}, led by {leader}, recorded {n1} {unit}.",
        f"By {y2} a rival venture under {rival} reported {n2} {unit}.",
        f"The {org} was founded in {y1}, and the rival venture opened in {y2}.",
        f"{leader} argued that the {org} should expand, while {rival} wanted to share the work.",
    ]
    filler = r.sample(FILLER, 9)
    text = " ".join(facts_text[:2] + filler[:4] + facts_text[2:] + filler[4:])
    facts = [
        (f"How many {unit} did the {org} record in {y1}?", str(n1)),
        (f"Who led the {org} of {town}?", leader),
        ("In which year did the rival venture open?", str(y2)),
        (f"How many {unit} did the rival venture report by {y2}?", str(n2)),
        ("Who led the rival venture?", rival),
    ]
    return f"[{area}] " + text, facts


def _line(prompt: str, label: str) -> str:
    m = re.search(rf"^{label}: (.*)$", prompt, re.M)
    return m.group(1).strip() if m else ""


class WorldResponder:
    """Answers the LLM stages' prompts (see the module docstring); `knowledge` maps question → gold."""

    def __init__(self) -> None:
        self.knowledge: dict[str, str] = {}
        self.traces: dict[str, str] = {}  # question → programmatic trace text (procedural problems)
        self.facts: dict[str, list[tuple[str, str]]] = {}
        self.calls: dict[str, int] = {}

    def learn(self, question: str, answer: str, trace: str | None = None) -> None:
        """Teach the world a question's gold (and, for procedural problems, a solver's trace)."""
        self.knowledge[question] = answer
        if trace is not None:
            self.traces[question] = trace

    def __call__(self, req: ReplyRequest) -> str:
        text = "\n".join(str(m.get("content", "")) for m in req.messages) or req.prompt
        for mark, fn in (
            ("[reasonmill:mindgym-background]", self.background),
            ("[reasonmill:mindgym-subquestions]", self.subquestions),
            ("[reasonmill:mindgym-compose]", self.compose),
            ("[reasonmill:judge]", self.judge),
            ("[reasonmill:student]", self.student),
            ("[reasonmill:teacher]", self.teacher),
        ):
            if mark in text:
                self.calls[mark] = self.calls.get(mark, 0) + 1
                return fn(req, text)
        return "I do not understand the request."

    # -- MindGYM ------------------------------------------------------------------------------

    def background(self, req: ReplyRequest, prompt: str) -> str:
        area, number = _line(prompt, "Area"), int(_line(prompt, "Scenario number") or 0)
        if "It must differ clearly" in prompt:
            k = 100 + h(prompt) % 10_000  # a retry: something new
        else:
            k = number // 4  # samples 4j..4j+3 (one shard of 4, two areas) share a scenario per area: duplicates
        if h(area, number) % 11 == 5:
            return "A scenario."  # too short: malformed
        bg, facts = scenario(area, k)
        self.facts[bg] = facts
        return bg if number % 3 else f"Background:\n{bg}"

    def subquestions(self, req: ReplyRequest, prompt: str) -> str:
        bg = prompt.split("Background:\n", 1)[1].split("\n\nWrite up to", 1)[0].strip()
        facts = self.facts.get(bg)
        if facts is None:
            return "Sorry, I cannot see a background."
        for q, a in facts:
            self.learn(f"{bg}\n\n{q}", a)
        style = h(bg) % 6
        if style == 0:
            return "These are good questions to ask about the scenario, but I would rather not write JSON today."
        items = [{"question": q, "answer": a} for q, a in facts]
        if style == 1:
            items.append({"question": "What colour was the chapel?"})  # missing answer: skipped, noted
        body = ",\n".join("  " + json.dumps(it) for it in items)
        if style == 2:
            return "Here are the questions you asked for: [\n" + body + ",\n] I hope they help."  # prose + trailing comma
        return "```json\n[\n" + body + "\n]\n```"

    def compose(self, req: ReplyRequest, prompt: str) -> str:
        principle = _line(prompt, "Principle")
        bg = prompt.split("Background:\n", 1)[1].split("\n\nSub-questions", 1)[0].strip()
        subs = re.findall(r"^\d+\. Q: (.*)\n   A: (.*)$", prompt, re.M)
        answers = [a for _, a in subs]
        nums = [int(a) for a in answers if a.isdigit()]
        if principle == "comparison" and len(nums) >= 2:
            question, answer = "By how many does the first count exceed the second, given the facts above?", str(nums[0] - nums[1])
        elif principle == "temporal":
            years = [a for a in answers if a.isdigit() and 1800 <= int(a) <= 2000]
            question, answer = "Which year came last among the events described?", years[0] if years else answers[0]
        else:
            question, answer = "Following the chain of facts, who is named at its end?", answers[-1]
        question = f"({principle}) {question} [{h(bg) % 1000}]"
        if h(bg, principle) % 7 == 3:
            answer = "a purple elephant"  # inconsistent with every sub-answer
        self.learn(f"{bg}\n\n{question}", answer)
        return "Sure.\n" + json.dumps({"question": question, "answer": answer, "reasoning": "uses every sub-answer"})

    # -- teacher, judge, student ---------------------------------------------------------------

    def teacher(self, req: ReplyRequest, prompt: str) -> str:
        users = [str(m.get("content", "")) for m in req.messages if m.get("role") == "user"]
        question = users[-1] if users else ""
        if req.prefix:  # Retro-Search rollout: finish straight away
            gold = self.knowledge.get(question, "0")
            return f"\n\n</think>\n\nThe answer is \\boxed{{{gold}}}."
        gold = self.knowledge.get(question)
        if gold is None:
            return "<think>\nI do not know this one.\n</think>\n\nThe answer is \\boxed{0}."
        if h(question) % 9 == 4:
            return "<think>\nLet me think about this for a long time and never close the tag"  # every sample bad
        if req.sample == 1 and h(question) % 4 == 1:
            return "<think>\nI computed it.\n</think>\n\nI am fairly confident."  # no final answer: a bad sample
        if question in self.traces:
            return self.traces[question]
        shown = gold if gold.isdigit() or req.sample == 0 else f"It was {gold}"
        return (f"<think>\nThe background states the facts we need.\n\nWait, let me double-check the relevant sentence."
                f"\n\nYes, it confirms the value.\n</think>\n\nThe answer is \\boxed{{{shown}}}.")

    def judge(self, req: ReplyRequest, prompt: str) -> str:
        ref = prompt.split("Reference answer:\n", 1)[1].split("\n\nCandidate answer:", 1)[0].strip().casefold()
        cand = prompt.split("Candidate answer:\n", 1)[1].split("\n\nSame meaning?", 1)[0].strip().casefold()
        if h(ref, cand) % 10 == 7:
            return "Hmm, hard to say."
        return "1" if ref in cand else "0"

    def student(self, req: ReplyRequest, prompt: str) -> str:
        question = prompt.split("\n", 1)[1].rsplit("\n\nSolve it and give", 1)[0]
        gold = self.knowledge.get(question, "0")
        p = (h(question) % 5) / 4
        right = (h(question, req.sample, req.params.get("seed")) % 1000) / 1000 < p
        return f"So the result is \\boxed{{{gold if right else 'nothing'}}}."


@pytest.fixture
def world() -> WorldResponder:
    """A fresh world responder."""
    return WorldResponder()


@pytest.fixture
def world_server(world: WorldResponder) -> Iterator[LoopbackServer]:
    """A loopback server answering with `world`, no faults until a test sets them."""
    with LoopbackServer(responder=world, faults=Faults()) as s:
        yield s


def backend(url: str, model: str) -> dict:
    """An "openai" backend config for the loopback server with fast retries."""
    return {"kind": "openai", "model": model, "base_url": url, "max_attempts": 5, "backoff_initial_s": 0.01,
            "backoff_max_s": 0.05, "timeout_s": 10.0, "retry_after_max_s": 0.2}


def llm_config(url: str) -> BuildConfig:
    """A small build with every LLM stage on: synthesis, LLM composition, teacher, judge, reviser, student."""
    return validate_config(
        {
            "name": "llm-e2e",
            "shard_rows": 20,
            "seeds": [{"generator": "arithmetic_chain", "count": 8}, {"generator": "linear_equation", "count": 8}],
            "synthesis": {"backend": "teacher", "count": 8, "areas": ["economic_principles", "historical_events"], "samples_per_shard": 4},
            "compose": {"rules": [{"principle": "bridging", "count": 2, "hops": 2}], "llm": {"backend": "teacher", "per_sample": 2}},
            "distill": {"backend": "teacher", "samples": 2},
            "verify": {"judge": {"backend": "judge"}},
            "retro_search": {"backend": "teacher", "max_boundaries": 2},
            "score": {"student": {"backend": "student", "k": 4, "filter": True}},
            "llm": {"backends": {"teacher": backend(url, "teacher-model"), "judge": backend(url, "judge-model"), "student": backend(url, "student-model")}},
        }
    )


def teach_procedural(world, cfg: BuildConfig) -> None:
    """Give the world the gold and a programmatic trace of every procedural and composed item."""
    ctx = make_context(cfg, Path(tempfile.mkdtemp(prefix="reasonmill-teach-")))
    seeds, compose = SeedStage(ctx), ComposeStage(ctx)
    for k in range(ctx.plan.procedural_shards):
        recs = [r for r in seeds.run([], k) if isinstance(r, Record)]
        for r in compose.run(recs, k):
            if isinstance(r, Record):
                world.learn(r.problem.question, r.problem.answer, ProgrammaticTeacher().traces(r, 1, 1, cfg.seed)[0].text)


@pytest.fixture
def llm_build_config(world: WorldResponder, world_server: LoopbackServer) -> BuildConfig:
    """The LLM build config pointed at `world_server`, with the world taught the procedural items."""
    cfg = llm_config(world_server.url)
    teach_procedural(world, cfg)
    return cfg
