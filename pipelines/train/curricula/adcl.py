"""ADCL — Adaptive Difficulty Curriculum Learning: train easy → hard, re-estimating as the model changes.

The dataset is sorted by its stored difficulty and cut into `chunks` (4) equal chunks. Before the
scheduler hands out the first prompt of chunk k+1 it re-estimates that chunk's difficulty with the
current model (an estimator the trainer supplies: pass rates of fresh rollouts; difficulty =
1 − pass rate) and reorders the chunk easy → hard by the new estimate, since a model's perception of
difficulty shifts during training ("difficulty shift"). The first chunk uses the stored estimate.
After the last chunk the schedule starts over (re-estimating every chunk again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from reasonmill.pipelines.train.curricula import CURRICULA, CurriculumEntry
from reasonmill.pipelines.train.curricula.base import PromptScheduler


class ADCLParams(BaseModel):
    """ADCL's knobs."""

    model_config = ConfigDict(extra="forbid")
    chunks: int = Field(4, ge=1, description="chunks from easy to hard")
    estimate_samples: int = Field(4, ge=1, description="rollouts per prompt when re-estimating a chunk")


class ADCLScheduler(PromptScheduler):
    """Chunks easy → hard by `difficulty`; each chunk after the first re-estimated and reordered."""

    def __init__(self, difficulty: Sequence[float], params: ADCLParams | None = None, seed: int = 0) -> None:
        super().__init__(len(difficulty), seed)
        self.params = params or ADCLParams()
        order = sorted(range(len(difficulty)), key=lambda i: (float(difficulty[i]), i))
        n, c = len(order), min(self.params.chunks, len(order))
        self.chunks = [order[(n * j) // c : (n * (j + 1)) // c] for j in range(c)]
        self.estimator: Callable[[list[int]], list[float]] | None = None
        self.chunk = 0
        self.pos = 0
        self.current = list(self.chunks[0])
        self.estimates: list[dict[int, float]] = []

    def set_estimator(self, estimator: Callable[[list[int]], list[float]]) -> None:
        """`estimator(indices) -> pass rates` with the current model."""
        self.estimator = estimator

    def _enter(self, j: int) -> None:
        chunk = list(self.chunks[j])
        if self.estimator is None:
            raise RuntimeError("ADCL needs an estimator of pass rates with the current model before chunk 2")
        rates = self.estimator(chunk)
        fresh = {i: 1.0 - float(r) for i, r in zip(chunk, rates, strict=True)}
        self.estimates.append(fresh)
        self.current = sorted(chunk, key=lambda i: (fresh[i], i))

    def next_prompts(self, k: int) -> list[int]:
        """The next `k` prompts in curriculum order, re-estimating at each chunk boundary."""
        out = []
        while len(out) < k:
            if self.pos >= len(self.current):
                self.chunk = (self.chunk + 1) % len(self.chunks)
                self.pos = 0
                self._enter(self.chunk)
            out.append(self.current[self.pos])
            self.pos += 1
        return out

    def state_dict(self) -> dict:
        """Where the schedule is."""
        return {"chunk": self.chunk, "pos": self.pos, "current": list(self.current)}

    def load_state_dict(self, state: dict) -> None:
        """Continue where a checkpoint left off."""
        self.chunk, self.pos = int(state.get("chunk", 0)), int(state.get("pos", 0))
        self.current = list(state.get("current", self.current))


CURRICULA.register(
    "adcl",
    CurriculumEntry(
        "Adaptive Difficulty Curriculum Learning: 4 chunks easy→hard, next chunk re-estimated",
        ADCLParams,
        ("grpo",),
    ),
)
