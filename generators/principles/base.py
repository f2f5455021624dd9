"""What a composition principle is: a rule that combines seed problems into one harder problem.

Procedural and symbolic seeds are composed programmatically, so the gold answer is computed
(sympy substitution, comparison, combination), never guessed. A composed problem keeps in
`problem.meta["compose"]` the parts it was made of (family, level, spec, answer), so the
programmatic teacher can solve it part by part and narrate how the parts connect.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from fractions import Fraction
from typing import Any, ClassVar

from reasonmill.generators.base import Continuation, SolverRun, Step
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem, Record

PART_SYMBOLS = "ABCDEFGH"


class Principle(ABC):
    """A composition principle. Subclasses set `name` and implement `compose` and `combine`.

    Solving (`solve`, `solve_wrong`, `resume`, `student`) goes part by part with each family's
    own solver; the combination uses the answers the solver got for the parts (never the stored
    gold), and a bridged part takes the answer of the part before as its input (`Family.rebridge`),
    so a wrong part answer really carries on. Every paragraph's record gains `"part": i`; a part
    opens with `{"t": "part"}` and closes with `{"t": "part_answer", "a": ...}`; the combination
    paragraphs are `{"t": "combine"}`, the last one `{"t": "answer", "a": ...}`.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    min_hops: ClassVar[int] = 2
    #: whether each part after the first takes the answer of the one before as its input
    bridged: ClassVar[bool] = False

    @abstractmethod
    def compose(self, rng: random.Random, parents: list[Record]) -> Problem | None:
        """Combine `parents` into one problem with a computed answer, or None if they don't fit."""

    @abstractmethod
    def combine(self, problem: Problem, answers: list[str]) -> tuple[list[str], str]:
        """Paragraphs that combine the parts' answers (as the solver got them), and the answer."""

    def part_intro(self, i: int, parts: list[dict[str, Any]], answers: list[str]) -> str:
        """The paragraph that opens part `i` of the solution."""
        return f"Part {i + 1}: {parts[i]['question']}"

    def _sub(self, i: int, parts: list[dict[str, Any]], answers: list[str]) -> Problem | None:
        """Part `i` as a problem for its family; a bridged part takes the answer before it."""
        part = parts[i]
        spec = part["spec"]
        if self.bridged and i > 0:
            spec = FAMILIES.get(part["family"]).rebridge(spec, answers[i - 1])
            if spec is None:
                return None
        return Problem(question=part["question"], answer=part["answer"], meta={"spec": spec})

    def _tell(self, i: int, run: SolverRun, out: _Told) -> None:
        for st in run.steps:
            rec = dict(st.record) if st.record is not None else {"t": "text"}
            rec["part"] = i
            out.add(st.text, rec, st.on_path is not None and out.on_line)
        out.nodes += run.nodes
        out.backtracks += run.backtracks

    def _finish(self, problem: Problem, answers: list[str], out: _Told) -> SolverRun:
        texts, answer = self.combine(problem, answers)
        for k, text in enumerate(texts):
            out.add(
                text, {"t": "answer", "a": answer} if k == len(texts) - 1 else {"t": "combine"}, out.on_line
            )
        return SolverRun(out.steps, out.path, answer, out.nodes + 1, out.backtracks, meta=out.meta)

    def _solve(
        self, problem: Problem, rng: random.Random, backtracks: int, wrong: int | None, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        parts = problem.meta["compose"]["parts"]
        out, answers = _Told(), []
        for i, part in enumerate(parts):
            sub = self._sub(i, parts, answers)
            if sub is None:
                return None
            fam = FAMILIES.get(part["family"])
            run = (
                fam.solve_wrong(sub, rng, backtracks, kinds)
                if i == wrong
                else fam.solve(sub, rng, backtracks)
            )
            if run is None:
                return None
            if i == wrong:
                out.meta["error"] = {**(run.meta.get("error") or {}), "part": i}
            out.add(self.part_intro(i, parts, answers), {"t": "part", "part": i}, True)
            self._tell(i, run, out)
            answers.append(run.answer)
            out.part_answer(i, run.answer, True)
        return self._finish(problem, answers, out)

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        """Solve part by part with each family's narrating solver (the knob applies to every
        part), then combine the answers."""
        run = self._solve(problem, rng, backtracks, None, ())
        assert run is not None, "a composed problem's parts always solve"
        return run

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """One part solved wrongly (its family's error), the rest carried on from it. Bridged
        principles err in the last part (an earlier wrong answer may not fit the next part)."""
        n = len(problem.meta["compose"]["parts"])
        order = [n - 1] if self.bridged else rng.sample(range(n), n)
        for i in order:
            run = self._solve(problem, rng, backtracks, i, kinds)
            if run is not None and run.answer != problem.answer:
                return run
        return None

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        """Continue the part the prefix is in with its family's `resume`, solve the parts after
        it, and combine (the combination uses the answers as this continuation got them)."""
        parts = problem.meta["compose"]["parts"]
        if not records:
            return Continuation([], None, note="empty prefix")
        last = records[-1]
        if last.get("t") in ("combine", "answer") and "part" not in last:
            return Continuation([], None, note="the prefix is already combining the parts")
        answers = [str(r["a"]) for r in records if r.get("t") == "part_answer"]
        out = _Told(on_line=False)
        cur = last.get("part")
        if cur is None:
            return Continuation([], None, note="the prefix has no part record")
        nxt = cur + 1
        if last.get("t") != "part_answer":
            sub = self._sub(cur, parts, answers)
            if sub is None:
                return Continuation([], None, note=f"part {cur + 1} does not take the answer before it")
            mine = [
                {k: v for k, v in r.items() if k != "part"}
                for r in records
                if r.get("part") == cur and r.get("t") not in ("part", "part_answer")
            ]
            fam = FAMILIES.get(parts[cur]["family"])
            if mine:
                cont = fam.resume(sub, mine, rng, budget)
            else:  # the prefix stops at the part's opening: solve the part from its start
                fresh = fam.solve(sub, rng, 0)
                cont = Continuation(fresh.steps, fresh.answer, fresh.nodes)
            if cont.answer is None:
                return Continuation([], None, cont.nodes, note=cont.note)
            self._tell(cur, SolverRun(cont.steps, [], cont.answer, cont.nodes), out)
            answers.append(cont.answer)
            out.part_answer(cur, cont.answer, False)
        for i in range(nxt, len(parts)):
            sub = self._sub(i, parts, answers)
            if sub is None:
                return Continuation(
                    [], None, out.nodes, note=f"part {i + 1} does not take the answer before it"
                )
            run = FAMILIES.get(parts[i]["family"]).solve(sub, rng, 0)
            out.add(self.part_intro(i, parts, answers), {"t": "part", "part": i}, False)
            self._tell(i, run, out)
            answers.append(run.answer)
            out.part_answer(i, run.answer, False)
        done = self._finish(problem, answers, out)
        return Continuation(done.steps, done.answer, done.nodes)

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Each part answered by its family's student, the answers combined."""
        parts = problem.meta["compose"]["parts"]
        answers, nodes = [], 0
        for i, part in enumerate(parts):
            sub = self._sub(i, parts, answers)
            got = FAMILIES.get(part["family"]).student(sub, rng) if sub is not None else None
            if got is None:
                return None
            answers.append(got[0])
            nodes += got[1]
        return self.combine(problem, answers)[1], nodes


class _Told:
    """Paragraphs being told for a composed solve."""

    def __init__(self, on_line: bool = True) -> None:
        self.steps: list[Step] = []
        self.path: list[str] = []
        self.nodes = self.backtracks = 0
        self.on_line = on_line
        self.meta: dict[str, Any] = {}

    def add(self, text: str, record: dict[str, Any], on_line: bool) -> None:
        tag = None
        if on_line and self.on_line:
            tag = len(self.path)
            self.path.append(text)
        self.steps.append(Step(text, tag, record))

    def part_answer(self, i: int, answer: str, on_line: bool) -> None:
        """The paragraph that closes part `i` with the answer the solver got for it."""
        self.add(
            f"So the answer to Part {i + 1} is {PART_SYMBOLS[i]} = {answer}.",
            {"t": "part_answer", "part": i, "a": answer},
            on_line,
        )


def part_entry(source: str, level: int, p: Problem) -> dict[str, Any]:
    """The stored description of one part of a composed problem."""
    return {
        "family": source,
        "level": level,
        "question": p.question,
        "answer": p.answer,
        "spec": p.meta["spec"],
    }


def scalar(answer: str) -> Fraction | None:
    """The answer as an exact rational when it is a single number ("3", "-5/7"), else None.

    Comparison, conjunction and bridging combine numbers; sets, tuples, grids and names do not fit.
    """
    try:
        return Fraction(answer)
    except (ValueError, ZeroDivisionError):
        return None


def composed(
    principle: str, lines: list[str], answer: str, parts: list[dict[str, Any]], parents: list[Record]
) -> Problem:
    """The composed Problem: question lines, computed answer, and the parts with the parents' ids."""
    meta = {
        "compose": {
            "principle": principle,
            "parts": parts,
            "parents": [p.id for p in parents],
            "hops": len(parts),
        }
    }
    return Problem(question="\n".join(lines), answer=answer, meta=meta)


def numeric_parts(parents: list[Record]) -> list[Fraction] | None:
    """Each parent's answer as a number, or None when any answer is not a single number or a
    parent has no spec (its family could not solve it again)."""
    values = [scalar(p.problem.answer) for p in parents]
    if any(v is None for v in values) or any(
        "spec" not in p.problem.meta or p.problem.kind != "math" for p in parents
    ):
        return None
    return values  # type: ignore[return-value]


def side_by_side(parents: list[Record], intro: str) -> tuple[list[str], list[dict[str, Any]]] | None:
    """Question lines and part entries for principles that solve the parents independently
    (comparison, conjunction): an intro, then "Part i (X): question" per parent. None when a
    parent's answer is not a single number."""
    if numeric_parts(parents) is None:
        return None
    lines = [intro] + [
        f"Part {i + 1} ({PART_SYMBOLS[i]}): {p.problem.question}" for i, p in enumerate(parents)
    ]
    return lines, [part_entry(p.source, p.level, p.problem) for p in parents]
