"""The revision loop: roll out at each thought boundary, accept shorter verified rollouts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reasonmill.generators.retro_search.revisers import RetroSearchConfig, Reviser, Rollout
from reasonmill.generators.retro_search.segment import TraceParts, opening_keyword, segment
from reasonmill.ids import content_id
from reasonmill.records import Record, Trace, Verdict
from reasonmill.text import count_tokens

Verify = Callable[[list[str]], list[Verdict]]
"""Checks full trace texts against the record's gold answer (gold and kind bound by the caller)."""


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
    parts, records = TraceParts.parse(trace.text), trace.meta.get("steps")
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
            {**trace.meta, "steps": records},
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
            "rollouts_tried": [
                {
                    "answer": r.answer,
                    "steps": len(cand.paragraphs) - k,
                    "tokens": r.tokens,
                    "verdict": reasons[i],
                    **({"note": r.meta["note"]} if r.meta.get("note") else {}),
                }
                for i, (r, _, cand) in enumerate(checked)
            ],
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
            if isinstance(records, list):
                records = records[:k] + list(
                    r.meta.get("steps") or [{"t": "text"}] * (len(cand.paragraphs) - k)
                )
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
    if isinstance(records, list):
        meta["steps"] = records
    meta.pop("on_path", None)  # the solution line of a revision is not known to the reviser
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
