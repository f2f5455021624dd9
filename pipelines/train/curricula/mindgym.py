"""MindGYM's thinking-induced curriculum for SFT: from scaffolded reasoning to standalone answers.

Four stages, trained in this order (each stage shuffled within itself, stages never mixed):
  1. Q + thinking → A    the reasoning is given; learn to state the answer
  2. Q + A → thinking    the answer is given; learn to produce the reasoning
  3. Q → thinking + A    the full trace
  4. Q → A               the answer directly
A trace `<think>T</think> rest` splits into thinking T and answer `rest`; a trace without think tags
splits at its last paragraph. Rows are conversational prompt/completion pairs with a `stage` column
that the ordered sampler reads. With `max_steps`, each stage gets a quarter of the samples.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reasonmill.pipelines.train.curricula import CURRICULA, CurriculumEntry

STAGES = ("q_thinking_to_a", "q_a_to_thinking", "q_to_thinking_a", "q_to_a")


class MindGYMParams(BaseModel):
    """Which stages to run, in order (the paper's four by default)."""

    model_config = ConfigDict(extra="forbid")
    stages: tuple[str, ...] = Field(STAGES, description=f"a subsequence of {STAGES}")


_THINK = re.compile(r"<think>(?P<t>.*?)</think>(?P<a>.*)$", re.DOTALL)


def split_trace(text: str) -> tuple[str, str]:
    """(thinking, answer) of a trace."""
    m = _THINK.search(text)
    if m:
        return m["t"].strip(), m["a"].strip()
    parts = [p for p in text.strip().split("\n\n") if p.strip()]
    if len(parts) < 2:
        return "", text.strip()
    return "\n\n".join(parts[:-1]).strip(), parts[-1].strip()


def _pc(user: str, assistant: str) -> dict[str, Any]:
    return {
        "prompt": [{"role": "user", "content": user}],
        "completion": [{"role": "assistant", "content": assistant}],
    }


def stage_row(stage: str, question: str, trace: str) -> dict[str, Any]:
    """The prompt/completion pair of one record in one stage."""
    thinking, answer = split_trace(trace)
    if stage == "q_thinking_to_a":
        return _pc(f"{question}\n\nReasoning:\n{thinking}\n\nState the final answer.", answer)
    if stage == "q_a_to_thinking":
        return _pc(
            f"{question}\n\nFinal answer: {answer}\n\nExplain the reasoning that leads to it.",
            f"<think>\n{thinking}\n</think>",
        )
    if stage == "q_to_thinking_a":
        return _pc(question, trace)
    if stage == "q_to_a":
        return _pc(question, answer)
    raise ValueError(f"unknown MindGYM stage {stage!r}; stages: {', '.join(STAGES)}")


def mindgym_rows(
    records: Sequence[dict[str, Any]], params: MindGYMParams | None = None
) -> list[dict[str, Any]]:
    """Every record in every stage: rows with prompt, completion, id, stage (the stage's position)."""
    params = params or MindGYMParams()
    for s in params.stages:
        if s not in STAGES:
            raise ValueError(f"unknown MindGYM stage {s!r}; stages: {', '.join(STAGES)}")
    out = []
    for k, stage in enumerate(params.stages):
        for r in records:
            out.append({**stage_row(stage, r["question"], r["completion"]), "id": r["id"], "stage": k})
    return out


class StageOrderedSampler:
    """Yields dataset indices stage by stage (shuffled within a stage); `per_stage` samples each
    (wrapping around a stage when it asks for more than the stage holds)."""

    def __init__(self, stage_of: Sequence[int], per_stage: int | None = None, seed: int = 0) -> None:
        self.by_stage: dict[int, list[int]] = {}
        for i, s in enumerate(stage_of):
            self.by_stage.setdefault(int(s), []).append(i)
        self.per_stage = per_stage
        self.seed = seed
        self.epoch = 0

    def __iter__(self) -> Iterator[int]:
        rng = random.Random(f"mindgym:{self.seed}:{self.epoch}")
        self.epoch += 1
        for s in sorted(self.by_stage):
            idx = list(self.by_stage[s])
            rng.shuffle(idx)
            want = self.per_stage or len(idx)
            yield from (idx[j % len(idx)] for j in range(want))

    def __len__(self) -> int:
        return sum(self.per_stage or len(v) for v in self.by_stage.values())


CURRICULA.register(
    "mindgym",
    CurriculumEntry(
        "MindGYM curriculum: Q+thinking→A, Q+A→thinking, Q→thinking+A, Q→A", MindGYMParams, ("sft",)
    ),
)
