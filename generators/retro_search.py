"""Retro-Search: revise a verified trace so it reaches its answer without needless switches.

A trace is split into *thoughts* at paragraphs that open with a transition keyword ("Wait",
"Alternatively", ...) and each thought into *steps* at blank lines. At the end of each thought the
reviser rolls out from the prefix, forbidden to open with a transition keyword (so it continues
the current line of search instead of switching) and then free to an answer. A rollout replaces
the rest of the trace when its answer verifies and it needs fewer steps; with several rollouts the
one with the highest value γ^(steps to go) wins. The loop then moves to the next boundary of the
updated trace and stops when no switch is left, the boundary cap is reached (partial
Retro-Search) or the rollout token budget is spent.

Revisers: `ProgrammaticReviser` continues the programmatic teacher's solve from any prefix (using
the per-paragraph `on_path` tags the teacher stores), so the offline build revises its own
backtracking traces; `LLMReviser` uses any LLM backend's prefix continuation (self mode with the
teacher's model, weak-to-strong with a smaller one). Verification is passed in as a callable, so
this module never imports `reasonmill.verifiers`.

>>> [t.keyword for t in segment("<think>\\nA.\\n\\nWait, no.\\n\\nB.\\n</think>\\n\\nThe answer is 1.")]
[None, 'Wait']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from reasonmill.generators.base import TRANSITION_KEYWORDS
from reasonmill.generators.teacher import ANSWER_FORMAT, solve_record
from reasonmill.ids import content_id
from reasonmill.records import Record, Trace, Verdict
from reasonmill.text import count_tokens, split_paragraphs

Verify = Callable[[list[str]], list[Verdict]]
"""Checks full trace texts against the record's gold answer (gold and kind bound by the caller)."""

_OPEN, _CLOSE = "<think>", "</think>"


# --- segmentation -----------------------------------------------------------------------------


@dataclass(slots=True)
class TraceParts:
    """A trace cut into what precedes the thinking (`head`, e.g. "<think>\\n"), the thinking's
    paragraphs (the steps) and what follows it (`tail`, from "</think>" to the end).

    A text without "</think>" is all thinking: its tail is empty.
    """

    head: str
    paragraphs: list[str]
    tail: str

    @classmethod
    def parse(cls, text: str) -> TraceParts:
        """Split `text`; `TraceParts.parse(t).join() == t` for traces in the teacher's fixed format."""
        start = text.find(_OPEN)
        head = "" if start < 0 else text[: start + len(_OPEN)].rstrip() + "\n"
        body_start = 0 if start < 0 else start + len(_OPEN)
        close = text.find(_CLOSE, body_start)
        body, tail = (text[body_start:], "") if close < 0 else (text[body_start:close], text[close:])
        return cls(head, split_paragraphs(body), tail)

    def join(self) -> str:
        """The text back, paragraphs separated by one blank line (the step separator)."""
        return self.head + "\n\n".join(self.paragraphs) + ("\n" + self.tail if self.tail else "")

    def prefix(self, k: int) -> str:
        """The text a reviser continues after the first `k` paragraphs: it ends with a blank line,
        so the continuation opens a new step."""
        return self.head + "".join(p + "\n\n" for p in self.paragraphs[:k])


@dataclass(slots=True)
class Thought:
    """A run of steps from one switch to the next. `start` is the index of its first paragraph in
    the trace's thinking; `keyword` is the transition word that opened it (None for the first)."""

    index: int
    start: int
    steps: list[str]
    keyword: str | None = None

    @property
    def end(self) -> int:
        """Paragraph index just past this thought: the boundary where a rollout starts."""
        return self.start + len(self.steps)


def opening_keyword(paragraph: str, keywords: Sequence[str] = TRANSITION_KEYWORDS) -> str | None:
    """The transition keyword `paragraph` opens with (whole word, any case, markdown emphasis
    ignored), else None. Longer keywords win, so "But wait" is reported rather than "But".

    >>> opening_keyword("**Wait**, that is wrong."), opening_keyword("Waiting is over.")
    ('Wait', None)
    """
    head = paragraph.lstrip(" \t*_#>-").lower()
    for word in sorted(keywords, key=len, reverse=True):
        w = word.strip().lower()
        if w and head.startswith(w) and not re.match(r"\w", head[len(w) : len(w) + 1]):
            return word
    return None


def segment(text: str, keywords: Sequence[str] = TRANSITION_KEYWORDS) -> list[Thought]:
    """Split a trace's thinking into thoughts at paragraphs opening with a keyword, and thoughts
    into steps at blank lines. The <think> wrapper and the answer line are not steps.

    A trace with no switch is one thought; an empty thinking gives no thoughts.
    """
    thoughts: list[Thought] = []
    for i, para in enumerate(TraceParts.parse(text).paragraphs):
        kw = opening_keyword(para, keywords)
        if not thoughts or kw is not None:
            thoughts.append(Thought(len(thoughts), i, [], kw))
        thoughts[-1].steps.append(para)
    return thoughts


# --- config, rollouts, revisers ---------------------------------------------------------------


class RetroSearchConfig(BaseModel):
    """The knobs of Retro-Search, validated once (`extra="forbid"` names a misspelt field).

    `max_boundaries` caps the boundaries tried per trace (partial Retro-Search); `token_budget` caps
    the rollout tokens spent per trace; `max_new_tokens` caps one rollout. Sampling defaults follow
    the paper (temperature 0.6, top_p 0.95); the programmatic reviser ignores them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    keywords: tuple[str, ...] = TRANSITION_KEYWORDS
    max_boundaries: int | None = Field(default=None, ge=1)
    rollouts_per_boundary: int = Field(default=1, ge=1)
    gamma: float = Field(default=0.9, gt=0.0, le=1.0)
    token_budget: int | None = Field(default=None, ge=1)
    max_new_tokens: int = Field(default=4096, ge=1)
    temperature: float = Field(default=0.6, ge=0.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    seed: int | None = None


@dataclass(slots=True)
class Rollout:
    """A reviser's continuation of a prefix: the text after the prefix, how it finished ("stop" is
    the only finished kind), the tokens it cost, its answer when the reviser knows it, and notes
    (`on_path` tags of its paragraphs for programmatic rollouts, `error`, `banned_violation`)."""

    text: str
    finish_reason: str = "stop"
    tokens: int = 0
    answer: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class Reviser(Protocol):
    """Anything that continues a trace's prefix. `banned` words must not open the first step."""

    name: str

    def rollout(
        self,
        record: Record,
        trace: Trace,
        prefix: str,
        n: int,
        banned: list[str],
        config: RetroSearchConfig | None = None,
    ) -> list[Rollout]:
        """Up to `n` continuations of `prefix` (a prefix of `trace.text`)."""
        ...


class ProgrammaticReviser:
    """Continues the current line of the programmatic teacher's search instead of switching.

    If the prefix's last paragraph completes step i of the solve's straight line (`on_path` tag i),
    the rollout tells steps i+1.. of that line and the answer. If it ends inside a detour, the only
    way on is the switch that abandons it, which is forbidden: the rollout is a dead end with no
    answer and fails verification. Deterministic, so it returns one rollout whatever `n` is.
    """

    name = "programmatic"

    def __init__(self) -> None:
        self._paths: dict[str, tuple[list[str], str]] = {}

    def _path(self, record: Record, trace: Trace) -> tuple[list[str], str]:
        # The straight line is a function of the spec alone (randomness only places detours), so a
        # re-solve without backtracks recovers it; `rollout` checks it against the trace's tags.
        if record.id not in self._paths:
            run = solve_record(record, record.seed, int(trace.meta.get("sample", 0)), 0)
            self._paths[record.id] = (run.path, run.answer)
        return self._paths[record.id]

    def rollout(
        self,
        record: Record,
        trace: Trace,
        prefix: str,
        n: int,
        banned: list[str],
        config: RetroSearchConfig | None = None,
    ) -> list[Rollout]:
        """One continuation of `prefix` along the current line (see the class docstring)."""
        tags = trace.meta.get("on_path")
        paras = TraceParts.parse(trace.text).paragraphs
        if not isinstance(tags, list) or len(tags) != len(paras):
            return [Rollout("", "error", meta={"error": "trace has no on_path tags matching its paragraphs"})]
        path, answer = self._path(record, trace)
        if any(t is not None and (t >= len(path) or path[t] != p) for t, p in zip(tags, paras, strict=True)):
            return [Rollout("", "error", meta={"error": "trace does not match the solver's straight line"})]
        k = len(TraceParts.parse(prefix).paragraphs)
        last = tags[k - 1] if k else -1
        if last is None:
            return [Rollout(_CLOSE + "\n\n", meta={"dead_end": True, "on_path": []})]
        rest = path[last + 1 :]
        text = "".join(p + "\n\n" for p in rest) + f"{_CLOSE}\n\n{ANSWER_FORMAT.format(answer=answer)}"
        return [
            Rollout(
                text,
                tokens=count_tokens(text),
                answer=answer,
                meta={"on_path": list(range(last + 1, len(path)))},
            )
        ]


class LLMReviser:
    """Rolls out with an LLM backend's prefix continuation (`continue_prefix`), the backend
    forbidding the banned words at the first step. Self mode: the teacher's backend; weak-to-strong:
    a smaller model's. `render` builds the conversation the trace answers (default: the question
    as one user message) and should match how the teacher was prompted.
    """

    def __init__(
        self,
        backend: Any,
        name: str | None = None,
        render: Callable[[Record], list[dict[str, str]]] | None = None,
    ):
        self.backend = backend
        self.name = name or str(getattr(backend, "model_id", "llm"))
        self.render = render or (lambda r: [{"role": "user", "content": r.problem.question}])

    def rollout(
        self,
        record: Record,
        trace: Trace,
        prefix: str,
        n: int,
        banned: list[str],
        config: RetroSearchConfig | None = None,
    ) -> list[Rollout]:
        """`n` sampled continuations of `prefix`; failed requests come back as "error" rollouts."""
        from reasonmill.llm.types import SamplingParams  # the LLM layer stays optional for offline use

        cfg = config or RetroSearchConfig()
        sampling = SamplingParams(
            temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_new_tokens, n=n, seed=cfg.seed
        )
        out = self.backend.continue_prefix([self.render(record)], [prefix], sampling, list(banned))[0]
        return [
            Rollout(
                c.text,
                c.finish_reason,
                c.completion_tokens or count_tokens(c.text),
                meta={**c.meta, "error": c.error},
            )
            for c in out
        ]


# --- the revision loop ------------------------------------------------------------------------


@dataclass(slots=True)
class RevisionResult:
    """What `revise` did to one trace.

    `trace` is a new Trace (parent_id = the original's id) when a rollout was accepted, else the
    original object untouched. `reason` is "revised", "not_verified", "no_switch" or
    "no_better_rollout"; `stopped` says why the loop ended. `entries` has one dict per boundary
    tried. Tokens are `count_tokens` of the texts, so parent and revision are on one scale.
    """

    trace: Trace
    reason: str
    stopped: str
    entries: list[dict[str, Any]]
    tokens_before: int
    tokens_after: int
    steps_before: int
    steps_after: int
    rollout_tokens: int = 0

    @property
    def revised(self) -> bool:
        """True when at least one rollout was accepted."""
        return self.reason == "revised"


def _check(
    rollout: Rollout, parts: TraceParts, k: int, keywords: Sequence[str]
) -> tuple[str | None, TraceParts]:
    """Why `rollout` cannot be accepted before verification (None: it can be verified), and the
    candidate trace it makes."""
    cont = TraceParts.parse(rollout.text)
    cand = TraceParts(parts.head, parts.paragraphs[:k] + cont.paragraphs, cont.tail)
    if rollout.finish_reason != "stop":
        err = rollout.meta.get("error")
        return (f"{rollout.finish_reason}: {err}" if err else rollout.finish_reason), cand
    first = cont.paragraphs[0] if cont.paragraphs else ""
    kw = opening_keyword(first, keywords)
    if kw is not None or rollout.meta.get("banned_violation"):
        return f"banned_opening:{kw or rollout.meta.get('banned_violation')}", cand
    return None, cand


def revise(
    record: Record, trace: Trace, reviser: Reviser, verify: Verify, config: RetroSearchConfig | None = None
) -> RevisionResult:
    """Retro-Search one trace (see the module docstring); only a trace whose verdict passed is revised.

    Each boundary gets `rollouts_per_boundary` rollouts; the verified ones are valued
    γ^(steps to go) and the best replaces the rest of the trace if it needs fewer steps than the
    current trace (ties: fewer tokens). The loop continues at the next boundary of the updated trace.
    """
    cfg = config or RetroSearchConfig()
    tokens0, steps0 = count_tokens(trace.text), len(TraceParts.parse(trace.text).paragraphs)

    def result(
        t: Trace, reason: str, stopped: str, entries: list[dict[str, Any]], spent: int = 0
    ) -> RevisionResult:
        return RevisionResult(
            t,
            reason,
            stopped,
            entries,
            tokens0,
            count_tokens(t.text),
            steps0,
            len(TraceParts.parse(t.text).paragraphs),
            spent,
        )

    if trace.verdict is None or not trace.verdict.passed:
        why = "unverified" if trace.verdict is None else f"verdict {trace.verdict.reason}"
        return result(trace, "not_verified", why, [])
    parts, tags = TraceParts.parse(trace.text), trace.meta.get("on_path")
    verdict, answer, accepted_any, spent, entries = trace.verdict, trace.answer, False, 0, []
    b, stopped = 0, "no_switch_left"
    while True:
        thoughts = segment(parts.join(), cfg.keywords)
        if b >= len(thoughts) - 1:
            break
        if cfg.max_boundaries is not None and len(entries) >= cfg.max_boundaries:
            stopped = "max_boundaries"
            break
        if cfg.token_budget is not None and spent >= cfg.token_budget:
            stopped = "token_budget"
            break
        k, current_text = thoughts[b].end, parts.join()
        view = Trace(
            trace.id,
            current_text,
            trace.answer,
            trace.teacher,
            count_tokens(current_text),
            len(parts.paragraphs),
            trace.parent_id,
            verdict,
            {**trace.meta, "on_path": tags},
        )
        rollouts = reviser.rollout(
            record, view, parts.prefix(k), cfg.rollouts_per_boundary, list(cfg.keywords), cfg
        )
        spent += sum(r.tokens for r in rollouts)
        checked = [(r, *_check(r, parts, k, cfg.keywords)) for r in rollouts]
        to_verify = [i for i, (_, why, _) in enumerate(checked) if why is None]
        verdicts = (
            dict(zip(to_verify, verify([checked[i][2].join() for i in to_verify]), strict=True))
            if to_verify
            else {}
        )
        reasons, best = [], None
        remaining = len(parts.paragraphs) - k
        for i, (r, why, cand) in enumerate(checked):
            v = verdicts.get(i)
            if why is None:
                why = (
                    "passed" if v is not None and v.passed else (v.reason if v is not None else "unverified")
                )
            reasons.append(why)
            if why == "passed":
                steps_to_go = len(cand.paragraphs) - k
                key = (cfg.gamma**steps_to_go, -count_tokens(cand.join()))
                if best is None or key > best[0]:
                    best = (key, r, cand, v, steps_to_go)
        accept = best is not None and best[4] < remaining
        entry: dict[str, Any] = {
            "thought": b,
            "paragraph": k,
            "switch": thoughts[b + 1].keyword,
            "accepted": accept,
            "rollouts": len(rollouts),
            "verdicts": reasons,
            "reason": "accepted"
            if accept
            else ("not_shorter" if best is not None else (reasons[0] if reasons else "no_rollout")),
            "tokens_before": count_tokens(current_text),
            "steps_before": len(parts.paragraphs),
            "tokens_after": None,
            "steps_after": None,
            "steps_to_go_before": remaining,
            "steps_to_go_after": best[4] if best is not None else None,
        }
        if accept:
            _, r, cand, v, _ = best
            parts, verdict, answer, accepted_any = cand, v, r.answer or trace.answer, True
            if isinstance(tags, list):
                tags = tags[:k] + list(r.meta.get("on_path", [None] * (len(cand.paragraphs) - k)))
            entry["tokens_after"], entry["steps_after"] = count_tokens(cand.join()), len(cand.paragraphs)
        entries.append(entry)
        b += 1
    if not accepted_any:
        return result(trace, "no_switch" if not entries else "no_better_rollout", stopped, entries, spent)
    text, teacher = parts.join(), f"retro:{reviser.name}"
    meta = {
        **trace.meta,
        "retro": {"parent": trace.id, "reviser": reviser.name, "entries": entries, "stopped": stopped},
    }
    if isinstance(tags, list):
        meta["on_path"] = tags
    new = Trace(
        id=content_id(record.id, teacher, trace.id, text),
        text=text,
        answer=answer,
        teacher=teacher,
        tokens=count_tokens(text),
        steps=len(parts.paragraphs),
        parent_id=trace.id,
        verdict=verdict,
        meta=meta,
    )
    return result(new, "revised", stopped, entries, spent)


def revise_many(
    jobs: Sequence[tuple[Record, Trace]],
    reviser: Reviser,
    verify_for: Callable[[Record], Verify],
    config: RetroSearchConfig | None = None,
    workers: int = 1,
) -> list[RevisionResult]:
    """`revise` over many (record, trace) pairs, in order, on `workers` threads.

    Why threads: an LLM reviser spends its time waiting on HTTP, and the backends' sync calls are
    safe from any thread, so several traces' boundaries are in flight at once. The programmatic
    reviser is CPU-bound: keep `workers=1` for it. `verify_for(record)` binds gold and kind.
    """
    if workers <= 1 or len(jobs) <= 1:
        return [revise(rec, tr, reviser, verify_for(rec), config) for rec, tr in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="retro-search") as ex:
        return list(ex.map(lambda job: revise(job[0], job[1], reviser, verify_for(job[0]), config), jobs))
