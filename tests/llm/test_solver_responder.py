"""Realistic, checkable replies: a loopback responder that answers with the programmatic solvers."""

from __future__ import annotations

import random
import re

from reasonmill.generators.registry import FAMILIES
from reasonmill.generators.teacher import render_trace
from reasonmill.llm.types import SamplingParams
from reasonmill.testing.loopback import LoopbackServer, ReplyRequest


def solver_responder(problems: dict[str, tuple[str, object]]):
    """Answer a known question with its family's narrated solve (sample i uses i backtracks)."""

    def respond(req: ReplyRequest) -> str:
        question = req.messages[-1]["content"]
        family, problem = problems[question]
        run = FAMILIES.get(family).solve(
            problem, random.Random(f"responder:{question}:{req.sample}"), req.sample
        )
        return render_trace(run)

    return respond


def test_backend_returns_solver_traces_with_correct_answers(backend_for):
    problems = {}
    for family in ("arithmetic_chain", "linear_equation"):
        fam = FAMILIES.get(family)
        for i in range(3):
            p = fam.generate(random.Random(f"{family}:0:{i}"), fam.params({"level": 2}))
            problems[p.question] = (family, p)
    with LoopbackServer(responder=solver_responder(problems)) as server:
        b = backend_for(server.url)
        questions = list(problems)
        out = b.generate(
            [[{"role": "user", "content": q}] for q in questions], SamplingParams(n=2, max_tokens=4096)
        )
    for q, samples in zip(questions, out, strict=True):
        gold = problems[q][1].answer
        for c in samples:
            assert c.ok and c.text.startswith("<think>")
            assert re.search(r"\\boxed\{(.+)\}", c.text).group(1) == gold
