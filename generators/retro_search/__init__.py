"""Retro-Search: revise a verified trace so it reaches its answer without needless switches.

A trace is split into *thoughts* at paragraphs that open with a transition keyword ("Wait",
"Alternatively", ...) and each thought into *steps* at blank lines. At the end of each thought the
reviser rolls out from the prefix, forbidden to open with a transition keyword (so it continues
the current line of search instead of switching) and then free to an answer. A rollout replaces
the rest of the trace when its answer verifies and it needs fewer steps; with several rollouts the
one with the highest value γ^(steps to go) wins. The loop then moves to the next boundary of the
updated trace and stops when no switch is left, the boundary cap is reached (partial
Retro-Search) or the rollout token budget is spent.

Revisers: `ProgrammaticReviser` rebuilds the solver state from the step records of the prefix
(`trace.meta["steps"]`: the moves and states told, never the on-path tags) and continues the
solver's own search from there with its own move order, so the offline build revises its traces
by real rollouts: a rollout wins only where a continuation of the current line really reaches a
verified answer sooner (a branch the teacher left too early, an optimality proof after the best
route), and a real dead end or a caught slip stays. `LLMReviser` uses any LLM backend's prefix
continuation (self mode with the teacher's model, weak-to-strong with a smaller one).
Verification is passed in as a callable, so this package never imports `reasonmill.verifiers`.

Modules: `segment` (thoughts and steps), `revisers` (knobs, rollouts, revisers), `loop` (`revise`).

>>> [t.keyword for t in segment("<think>\\nA.\\n\\nWait, no.\\n\\nB.\\n</think>\\n\\nThe answer is 1.")]
[None, 'Wait']
"""

from reasonmill.generators.retro_search.loop import RevisionResult, Verify, revise, revise_many
from reasonmill.generators.retro_search.revisers import (
    LLMReviser,
    ProgrammaticReviser,
    RetroSearchConfig,
    Reviser,
    Rollout,
)
from reasonmill.generators.retro_search.segment import Thought, TraceParts, opening_keyword, segment

__all__ = [
    "LLMReviser",
    "ProgrammaticReviser",
    "RetroSearchConfig",
    "RevisionResult",
    "Reviser",
    "Rollout",
    "Thought",
    "TraceParts",
    "Verify",
    "opening_keyword",
    "revise",
    "revise_many",
    "segment",
]
