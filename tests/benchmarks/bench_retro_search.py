"""Benchmark: Retro-Search with the programmatic rollout reviser, against fair baselines.

Run on demand (not collected by pytest):

    .venv/bin/python tests/benchmarks/bench_retro_search.py [--items 400] [--samples 4] [--seed 0]

Inputs mirror the default offline build (seeds → compose → distill → verify → retro_search): the
default seed mix (`reasonmill.config.DEFAULT_SEEDS`, every native family in its proportion, levels
1–5 evenly), composed items in the proportions of `DEFAULT_COMPOSE` (parents drawn from the seeds,
level = the harder parent's), `--samples` traces per item from the default programmatic teacher
(fallible: the default `ErrorModel`) with backtracks by level [0, 1, 1, 3, 5], verification with
the real verifier pool, then `revise` with `ProgrammaticReviser()` and `RetroSearchConfig()` on
every verified trace. Every revised text is verified again from scratch.

The reviser rebuilds the solver state from each prefix's step records and continues the search
from there with its own move order; it never reads the on-path tags. Baselines, per item, on the
same verified traces:

* original: the mean tokens of the item's verified traces (what the build keeps without revision);
* shortest-correct-of-n: the fewest tokens among the item's verified traces (needs no reviser; it
  can beat Retro-Search, since samples differ in their search order and the reviser can only cut a
  trace where a continuation that verifies is shorter);
* straight-line solve: the teacher's solve with 0 backtracks (what the old reviser emitted for
  every trace); for search families it still holds the dead ends of a best-first search.

Reported: token reduction against the originals (mean per trace, over revised traces, of all
tokens), the share of revised traces that verify again, the share identical to the straight-line
solve, the share that keep at least one real reflection (a paragraph that opens a new thought and
whose step record is a dead end the search met or a caught slip), the Retro-Search-per-item vs
baseline comparisons, the teacher's accuracy by family and level, and the paper's self-revision
figure beside ours (R1-distill-7B on its own traces: −31.2% tokens with accuracy kept, +7.7%).
The paper's number is on natural-language math traces from a 7B model; ours is on procedural
traces whose switches are real dead ends, so the two measure the same algorithm on different
data. Results go to tests/benchmarks/results/retro_search.md and .json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from reasonmill.config import DEFAULT_COMPOSE, DEFAULT_SEEDS
from reasonmill.generators import FAMILIES, PRINCIPLES
from reasonmill.generators.errors_model import ErrorModel
from reasonmill.generators.retro_search import ProgrammaticReviser, RetroSearchConfig, TraceParts, revise
from reasonmill.generators.retro_search.segment import opening_keyword
from reasonmill.generators.teacher import ProgrammaticTeacher, render_trace, solve_record
from reasonmill.records import Record
from reasonmill.rng import item_rng

BACKTRACKS_BY_LEVEL = [0, 1, 1, 3, 5]
RESULTS = Path(__file__).parent / "results"
PAPER = {
    "token_reduction": 0.312,
    "accuracy_change": 0.077,
    "model": "R1-distill-7B on its own traces, 7 math benchmarks",
}
REFLECTION_RECORDS = ("dead", "exhausted", "gave_up", "check", "group")


def build_items(n_items: int, seed: int) -> list[Record]:
    """The default build's seed mix scaled to about `n_items`, plus composed items."""
    seed_total = sum(c for _, c in DEFAULT_SEEDS)
    compose_total = sum(c for _, c, _ in DEFAULT_COMPOSE)
    n_seed = round(n_items * seed_total / (seed_total + compose_total))
    seeds: list[Record] = []
    for name, count in DEFAULT_SEEDS:
        fam = FAMILIES.get(name)
        for i in range(max(1, round(n_seed * count / seed_total))):
            level = 1 + i % 5
            problem = fam.generate(item_rng(name, seed, i), fam.params({"level": level}))
            seeds.append(Record(Record.make_id(name, seed, i, problem), name, seed, i, level, problem))
    composed: list[Record] = []
    numeric = [r for r in seeds if r.problem.kind == "math"]
    for principle, count, hops in DEFAULT_COMPOSE:
        want = max(1, round((n_items - n_seed) * count / compose_total))
        j, made = 0, 0
        while made < want and j < 50 * want:
            rng = item_rng(f"compose:{principle}", seed, j)
            parents = rng.sample(numeric, hops)
            problem = PRINCIPLES.get(principle).compose(rng, parents)
            j += 1
            if problem is None:
                continue
            ids = [p.id for p in parents]
            level = max(p.level for p in parents)
            rid = Record.make_id(principle, seed, j, problem, ids)
            composed.append(Record(rid, principle, seed, j, level, problem, parents=ids, principle=principle))
            made += 1
    return seeds + composed


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else float("nan")


def _reflections(trace: Any) -> int:
    """Paragraphs that open a new thought and record a dead end the search met or a caught slip."""
    paras = TraceParts.parse(trace.text).paragraphs
    recs = trace.meta.get("steps") or []
    return sum(
        1
        for p, r in zip(paras, recs, strict=False)
        if opening_keyword(p) and r.get("t") in REFLECTION_RECORDS
    )


def run(n_items: int, samples: int, seed: int) -> dict[str, Any]:
    """Generate, verify, revise and measure; returns the result dict written to results/."""
    from reasonmill.verifiers import CheckItem, shared_pool

    pool = shared_pool(2, 10.0)
    t0 = time.perf_counter()
    items = build_items(n_items, seed)
    teacher = ProgrammaticTeacher()
    for rec in items:
        rec.traces = teacher.traces(rec, samples, BACKTRACKS_BY_LEVEL[min(rec.level, 5) - 1], seed)
    verdicts = iter(
        pool.check_many(
            [CheckItem(r.problem.kind, r.problem.answer, t.text) for r in items for t in r.traces]
        )
    )
    for rec in items:
        for t in rec.traces:
            t.verdict = next(verdicts)
    t_gen = time.perf_counter() - t0

    reviser, config = ProgrammaticReviser(), RetroSearchConfig()
    t1 = time.perf_counter()
    results: dict[str, list[Any]] = {}
    for rec in items:

        def verify(texts: list[str], rec: Record = rec) -> list[Any]:
            return pool.check_many([CheckItem(rec.problem.kind, rec.problem.answer, x) for x in texts])

        results[rec.id] = [revise(rec, t, reviser, verify, config) for t in rec.traces if t.verdict.passed]
    t_rev = time.perf_counter() - t1

    pairs = [(rec, res) for rec in items for res in results[rec.id]]
    changed = [(rec, res) for rec, res in pairs if res.revised]
    recheck = pool.check_many(
        [CheckItem(r.problem.kind, r.problem.answer, res.trace.text) for r, res in changed]
    )
    infallible = ErrorModel(rate_by_level=(0.0,))
    straight = {r.id: render_trace(solve_record(r, seed, 0, 0, infallible)) for r in items}
    straight_tokens = {rid: _tokens(text) for rid, text in straight.items()}

    def summary(sel: list[tuple[Record, Any]], recs: list[Record]) -> dict[str, Any]:
        before = sum(res.tokens_before for _, res in sel)
        after = sum(res.tokens_after for _, res in sel)
        revised = [(r, res) for r, res in sel if res.revised]
        per_item_orig, per_item_base, per_item_rev, per_item_min_rev, per_item_straight = [], [], [], [], []
        for rec in recs:
            rs = results[rec.id]
            if not rs:
                continue
            per_item_orig.append(_mean([res.tokens_before for res in rs]))
            per_item_base.append(min(res.tokens_before for res in rs))
            per_item_rev.append(_mean([res.tokens_after for res in rs]))
            per_item_min_rev.append(min(res.tokens_after for res in rs))
            per_item_straight.append(straight_tokens[rec.id])
        with_switch = [(r, res) for r, res in sel if res.entries]
        return {
            "items": len(per_item_orig),
            "traces_verified": len(sel),
            "traces_with_switch": len(with_switch),
            "traces_revised": len(revised),
            "mean_token_reduction_all_verified": _mean(
                [1 - res.tokens_after / res.tokens_before for _, res in sel]
            ),
            "mean_token_reduction_with_switch": _mean(
                [1 - res.tokens_after / res.tokens_before for _, res in with_switch]
            ),
            "mean_token_reduction_revised": _mean(
                [1 - res.tokens_after / res.tokens_before for _, res in revised]
            ),
            "total_token_reduction": 1 - after / before if before else float("nan"),
            "mean_steps_before": _mean([res.steps_before for _, res in sel]),
            "mean_steps_after": _mean([res.steps_after for _, res in sel]),
            "revised_identical_to_straight_line": _mean(
                [float(res.trace.text == straight[r.id]) for r, res in revised]
            ),
            "revised_keep_reflection": _mean([float(_reflections(res.trace) > 0) for _, res in revised]),
            "originals_with_reflection": _mean(
                [
                    float(
                        _reflections(
                            next(t for t in r.traces if t.id == (res.trace.parent_id or res.trace.id))
                        )
                        > 0
                    )
                    for r, res in sel
                ]
            ),
            "tokens_per_item_original": _mean(per_item_orig),
            "tokens_per_item_shortest_of_n": _mean(per_item_base),
            "tokens_per_item_straight_line": _mean(per_item_straight),
            "tokens_per_item_revised_mean": _mean(per_item_rev),
            "tokens_per_item_revised_shortest": _mean(per_item_min_rev),
            "items_where_shortest_of_n_beats_revised_mean": sum(
                b < r for b, r in zip(per_item_base, per_item_rev, strict=True)
            ),
        }

    by_level = {
        lv: summary([p for p in pairs if p[0].level == lv], [r for r in items if r.level == lv])
        for lv in range(1, 6)
    }
    by_source = {
        s: summary([p for p in pairs if p[0].source == s], [r for r in items if r.source == s])
        for s in sorted({r.source for r in items})
    }
    overall = summary(pairs, items)
    reasons: dict[str, int] = defaultdict(int)
    for _, res in pairs:
        reasons[res.reason] += 1
    accuracy: dict[str, dict[str, float]] = defaultdict(dict)
    for src in sorted({r.source for r in items}):
        for lv in range(1, 6):
            ts = [t for r in items if r.source == src and r.level == lv for t in r.traces]
            if ts:
                accuracy[src][str(lv)] = sum(t.verdict.passed for t in ts) / len(ts)
    questions = len(items)
    pairable = sum(
        1
        for r in items
        if any(t.verdict.passed for t in r.traces) and not all(t.verdict.passed for t in r.traces)
    )
    rollouts = [ro for _, res in pairs for e in res.entries for ro in e["rollouts_tried"]]
    n_traces = sum(len(r.traces) for r in items)
    return {
        "config": {
            "items": questions,
            "samples": samples,
            "seed": seed,
            "backtracks_by_level": BACKTRACKS_BY_LEVEL,
            "retro_search": config.model_dump(mode="json"),
            "reviser": reviser.name,
            "error_model": ErrorModel().model_dump(mode="json"),
        },
        "traces": n_traces,
        "teacher_accuracy": sum(t.verdict.passed for r in items for t in r.traces) / n_traces,
        "teacher_accuracy_by_family_level": accuracy,
        "questions_with_preference_pair": pairable / questions,
        "revised_verify_rate": _mean([float(v.passed) for v in recheck]),
        "accuracy_after_retro_search": _mean(
            [float(v.passed) for v in recheck] + [1.0 for _, res in pairs if not res.revised]
        ),
        "rollouts": len(rollouts),
        "rollouts_failed": sum(ro["verdict"] != "passed" for ro in rollouts),
        "rollout_verdicts": dict(sorted(_count(ro["verdict"].split(":")[0] for ro in rollouts).items())),
        "reasons": dict(sorted(reasons.items())),
        "overall": overall,
        "by_level": by_level,
        "by_source": by_source,
        "paper": PAPER,
        "seconds": {
            "generate_and_verify": round(t_gen, 2),
            "revise": round(t_rev, 2),
            "revise_per_trace_ms": round(1000 * t_rev / max(1, len(pairs)), 2),
        },
    }


def _tokens(text: str) -> int:
    from reasonmill.text import count_tokens

    return count_tokens(text)


def _count(xs: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for x in xs:
        out[x] += 1
    return out


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def _row(name: str, s: dict[str, Any]) -> str:
    return (
        f"| {name} | {s['items']} | {s['traces_revised']}/{s['traces_with_switch']}/{s['traces_verified']} | "
        f"{_pct(s['mean_token_reduction_all_verified'])} | {_pct(s['mean_token_reduction_revised'])} | "
        f"{_pct(s['revised_keep_reflection'])} | {_pct(s['revised_identical_to_straight_line'])} | "
        f"{s['tokens_per_item_original']:.1f} | {s['tokens_per_item_shortest_of_n']:.1f} | {s['tokens_per_item_straight_line']:.1f} | "
        f"{s['tokens_per_item_revised_mean']:.1f} | {s['tokens_per_item_revised_shortest']:.1f} |"
    )


def markdown(r: dict[str, Any]) -> str:
    """The human-readable report."""
    o, c = r["overall"], r["config"]
    head = (
        "| slice | items | revised/with switch/verified | token reduction (all verified) | (revised) | revised keep a reflection | "
        "revised = straight line | original tok/item | shortest-of-n | straight line | revised mean | shortest revised |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    acc = r["teacher_accuracy_by_family_level"]
    acc_rows = [
        "| family | " + " | ".join(f"L{lv}" for lv in range(1, 6)) + " |",
        "|---|" + "---|" * 5,
        *[
            f"| {src} | "
            + " | ".join(_pct(levels[str(lv)]) if str(lv) in levels else "–" for lv in range(1, 6))
            + " |"
            for src, levels in acc.items()
        ],
    ]
    lines = [
        "# Retro-Search benchmark (programmatic rollout reviser, default offline build)",
        "",
        f"{c['items']} items (the default seed mix of every native family, levels 1–5, and composed items), {c['samples']} samples each "
        f"from the default fallible teacher, backtracks by level {c['backtracks_by_level']}, seed {c['seed']}; {r['traces']} traces, "
        f"teacher accuracy {_pct(r['teacher_accuracy'])}; {_pct(r['questions_with_preference_pair'])} of questions have both a correct and a wrong "
        f"trace. Tokens are `reasonmill.text.count_tokens`. Generated by `tests/benchmarks/bench_retro_search.py`.",
        "",
        "The reviser rebuilds the solver state from each prefix's step records and continues the search with its own move order "
        "(never reading the on-path tags); a rollout replaces the rest of the trace only if its answer verifies in fewer steps.",
        "",
        f"- Token reduction vs the original traces: **{_pct(o['mean_token_reduction_all_verified'])}** mean over all {o['traces_verified']} verified traces; "
        f"{_pct(o['mean_token_reduction_with_switch'])} over the {o['traces_with_switch']} with a switch; {_pct(o['mean_token_reduction_revised'])} over the "
        f"{o['traces_revised']} revised; {_pct(o['total_token_reduction'])} of all tokens. Steps per trace {o['mean_steps_before']:.1f} → {o['mean_steps_after']:.1f}.",
        f"- Paper (Retro-Search, self-revision, {PAPER['model']}): −{100 * PAPER['token_reduction']:.1f}% tokens with accuracy kept (+{100 * PAPER['accuracy_change']:.1f}%). "
        f"Ours: −{100 * o['mean_token_reduction_all_verified']:.1f}% tokens per verified trace, revised traces verify {_pct(r['revised_verify_rate'])} "
        f"(accuracy of the kept traces after Retro-Search {_pct(r['accuracy_after_retro_search'])}).",
        f"- Revised traces that verify again from scratch: **{_pct(r['revised_verify_rate'])}**.",
        f"- Revised traces identical to the straight-line solve: **{_pct(o['revised_identical_to_straight_line'])}**; revised traces that keep at least one real "
        f"reflection: **{_pct(o['revised_keep_reflection'])}** (originals with one: {_pct(o['originals_with_reflection'])}).",
        f"- Per item: original {o['tokens_per_item_original']:.1f} tokens, shortest-correct-of-n {o['tokens_per_item_shortest_of_n']:.1f}, straight-line solve "
        f"{o['tokens_per_item_straight_line']:.1f}, Retro-Search {o['tokens_per_item_revised_mean']:.1f} (mean revised trace), "
        f"{o['tokens_per_item_revised_shortest']:.1f} (shortest revised of n); shortest-of-n beats the mean revised trace on "
        f"{o['items_where_shortest_of_n_beats_revised_mean']} of {o['items']} items.",
        f"- Rollouts: {r['rollouts']} tried, {r['rollouts_failed']} failed and kept in the provenance ({', '.join(f'{k} {v}' for k, v in r['rollout_verdicts'].items())}).",
        f"- Outcomes: {', '.join(f'{k} {v}' for k, v in r['reasons'].items())}.",
        f"- Time: {r['seconds']['generate_and_verify']} s to generate and verify, {r['seconds']['revise']} s to revise "
        f"({r['seconds']['revise_per_trace_ms']} ms per trace, verifier round trips included).",
        "",
        head,
        _row("all", o),
        *[_row(f"level {lv}", s) for lv, s in r["by_level"].items()],
        *[_row(src, s) for src, s in r["by_source"].items()],
        "",
        "## Teacher accuracy by family and level (share of traces that verify)",
        "",
        *acc_rows,
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse args, run, print and write the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    result = run(args.items, args.samples, args.seed)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "retro_search.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    md = markdown(result)
    (RESULTS / "retro_search.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
