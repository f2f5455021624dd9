"""Verification benchmark: agreement with labels, and verified answers per second vs plain math-verify.

Run on demand (not collected by pytest):

    python tests/benchmarks/bench_verify.py [--limit N]

Data (read, never copied into the repo): `$REASONMILL_BENCHMARKS` or `../shared/data/benchmarks`
relative to the repository —
- gsm8k_model_solutions_labeled.jsonl: 5,276 real model solutions with a correctness label;
- math500_test.jsonl: each reference solution (its boxed answer) against the answer column, all
  of which should verify ("math500"); and each answer against the *next* problem's solution
  ("math500_shifted": mostly wrong answers that need math-verify, no labels, so agreement there
  is measured against plain math-verify's verdicts).

Baseline, in the same run: plain math-verify as TRL's accuracy reward uses it, sequential on the
main thread — `verify(parse(gold), parse(full output))` — each set in a fresh interpreter with the
same parser warm-up the pool's workers get (`reasonmill.verifiers._warmup`), so neither side pays
ANTLR's first-parse cost and neither has learnt from an earlier set. Ours: `VerifierPool.check_many` (2 worker
processes, extraction, fast paths, cached gold parses). Writes tests/benchmarks/results/verify.md
and verify.json: agreement with the labels, every disagreement (id, label, verdict, short gold and
extracted answers only — no benchmark text), answers per second and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "tests" / "benchmarks" / "results"


def data_dir() -> Path:
    """Where the benchmark files are: $REASONMILL_BENCHMARKS, else ../shared/data/benchmarks."""
    return Path(os.environ.get("REASONMILL_BENCHMARKS", REPO.parent / "shared" / "data" / "benchmarks"))


def load(limit: int | None) -> dict[str, list[dict]]:
    """Rows as {id, gold, pred, label} per data set."""
    d = data_dir()
    gsm = [json.loads(line) for line in (d / "gsm8k_model_solutions_labeled.jsonl").open()]
    math = [json.loads(line) for line in (d / "math500_test.jsonl").open()]
    sets = {
        "gsm8k_solutions": [
            {"id": r["id"], "gold": r["gold"], "pred": r["pred"], "label": bool(r["equal"])} for r in gsm
        ],
        "math500": [{"id": r["id"], "gold": r["answer"], "pred": r["solution"], "label": True} for r in math],
        # Each gold against the next problem's solution: mostly wrong answers, most of which need
        # math-verify (no string match). No label; agreement is measured against plain math-verify.
        "math500_shifted": [
            {
                "id": f"{r['id']}~{math[(i + 1) % len(math)]['id']}",
                "gold": r["answer"],
                "pred": math[(i + 1) % len(math)]["solution"],
                "label": None,
            }
            for i, r in enumerate(math)
        ],
    }
    return {k: v[:limit] if limit else v for k, v in sets.items()}


def baseline(rows: list[dict]) -> tuple[list[bool], float, float]:
    """Plain math-verify: parse(gold), parse(output), verify — sequential, main thread.
    Returns (results, wall seconds, CPU seconds)."""
    import math_verify.parser
    from math_verify import parse, verify

    # Same starting point as a fresh worker: warm parser tables, but no cached parses of these
    # strings left over from an earlier set (math-verify memoises LaTeX parses per process).
    math_verify.parser.parse_latex_cached.cache_clear()
    math_verify.parser.parse_expr_cached.cache_clear()
    out = []
    start, cpu = time.perf_counter(), time.process_time()
    for r in rows:
        gold = parse(f"${r['gold']}$")
        pred = parse(r["pred"])
        out.append(bool(gold) and bool(verify(gold, pred)))
    return out, time.perf_counter() - start, time.process_time() - cpu


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline_fresh(name: str, limit: int | None) -> tuple[list[bool], float, float]:
    """`baseline` for one set in a fresh interpreter with the workers' warm-up and nothing else, so
    neither side's parser has learnt from an earlier set."""
    import subprocess

    cmd = [sys.executable, __file__, "--baseline-set", name] + (["--limit", str(limit)] if limit else [])
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out["results"], out["wall"], out["cpu"]


def start_pool(workers: int) -> tuple[Any, float]:
    """A started `VerifierPool` and the seconds it took to start."""
    from reasonmill.verifiers import CheckItem, VerifierPool

    t0 = time.perf_counter()
    pool = VerifierPool(workers=workers, timeout_s=10.0)
    pool.check_many([CheckItem("math", "1", "1")] * workers)
    return pool, time.perf_counter() - t0


def ours(rows: list[dict], pool: Any) -> tuple[list, float, float]:
    """Verdicts from a started pool; returns (verdicts, wall seconds, CPU seconds of the parent and
    the workers while checking). Pools live across sets, as the main process of the baseline does."""
    from reasonmill.verifiers import CheckItem

    items = [CheckItem("math", r["gold"], r["pred"]) for r in rows]
    pids = [w.proc.pid for w in pool._pool]
    c1 = sum(cpu_seconds(p) for p in pids) + time.process_time()
    t1 = time.perf_counter()
    verdicts = pool.check_many(items)
    t2 = time.perf_counter()
    c2 = sum(cpu_seconds(p) for p in pids) + time.process_time()
    return verdicts, t2 - t1, c2 - c1


def main() -> None:
    """Run both data sets, print a summary, write verify.md and verify.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N rows of each set (smoke runs)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--audit-rows", type=int, default=300, help="rows per set for the grader audit")
    ap.add_argument("--baseline-set", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_set:  # child mode of baseline_fresh
        import reasonmill.verifiers._warmup  # noqa: F401

        res, wall, cpu = baseline(load(args.limit)[args.baseline_set])
        print(json.dumps({"results": res, "wall": wall, "cpu": cpu}))
        return
    if not data_dir().exists():
        sys.exit(f"benchmark data not found at {data_dir()} (set REASONMILL_BENCHMARKS)")
    import reasonmill.verifiers._warmup  # noqa: F401  the baseline gets the same warm parser as the workers
    from reasonmill.verifiers.extract import extract_answer

    pools = {w: start_pool(w) for w in sorted({1, args.workers})}
    report: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_start": os.getloadavg()[0],
        },
        "workers": args.workers,
        "sets": {},
    }
    for name, rows in load(args.limit).items():
        base, base_s, base_cpu = baseline_fresh(name, args.limit)
        runs = {w: ours(rows, pool) for w, (pool, _) in pools.items()}
        best = min(runs, key=lambda w: runs[w][1])
        verdicts, warm_s, _ = runs[best]
        cold_s = warm_s + pools[best][1]
        cpu_1 = runs[1][2]
        # Unlabelled sets are measured against plain math-verify's verdicts.
        labels = [r["label"] if r["label"] is not None else b for r, b in zip(rows, base, strict=True)]
        dis = [
            {
                "id": r["id"],
                "label": lab,
                "passed": v.passed,
                "reason": v.reason,
                "gold": r["gold"][:40],
                "extracted": (extract_answer(r["pred"]) or "")[:40],
            }
            for r, v, lab in zip(rows, verdicts, labels, strict=True)
            if v.passed != lab
        ]
        n = len(rows)
        report["sets"][name] = {
            "rows": n,
            "agreement": round(1 - len(dis) / n, 5),
            "baseline_agreement": round(sum(b == lab for b, lab in zip(base, labels, strict=True)) / n, 5),
            "answers_per_s": round(n / warm_s, 1),
            "answers_per_s_incl_pool_start": round(n / cold_s, 1),
            "baseline_answers_per_s": round(n / base_s, 1),
            "speedup": round(base_s / warm_s, 2),
            "speedup_incl_pool_start": round(base_s / cold_s, 2),
            "best_workers": best,
            "cpu_s_per_1000": round(1000 * cpu_1 / n, 3),
            "baseline_cpu_s_per_1000": round(1000 * base_cpu / n, 3),
            "cpu_speedup": round(base_cpu / cpu_1, 2) if cpu_1 else None,
            "answers_per_s_by_workers": {w: round(n / r[1], 1) for w, r in runs.items()},
            "reasons": {
                k: sum(v.reason == k for v in verdicts)
                for k in sorted({str(v.reason) for v in verdicts if v.reason})
            },
            "disagreements": dis,
        }
        s = report["sets"][name]
        print(
            f"{name}: {n} rows, agreement {s['agreement']:.2%} (plain math-verify {s['baseline_agreement']:.2%}), "
            f"{s['answers_per_s']}/s vs {s['baseline_answers_per_s']}/s = {s['speedup']}x "
            f"({s['speedup_incl_pool_start']}x incl. pool start), CPU {s['cpu_speedup']}x less, {len(dis)} disagreements, "
            f"by workers {s['answers_per_s_by_workers']}"
        )
    # How much does a verdict depend on the grader? Every grader side by side on a sample.
    from reasonmill.verifiers import CheckItem, summarise_audit

    sets = load(args.limit)
    report["audit"] = {}
    for name in ("gsm8k_solutions", "math500", "math500_shifted"):
        sample = sets[name][: args.audit_rows]
        rows = pools[max(pools)][0].audit_many([CheckItem("math", r["gold"], r["pred"]) for r in sample])
        report["audit"][name] = summarise_audit(rows)
        report["audit"][name]["disagreeing_rows"] = [
            {
                "id": r["id"],
                "gold": a.gold[:40],
                "answer": (a.answer or "")[:40],
                "verdict": a.passed,
                "graders": a.graders,
            }
            for r, a in zip(sample, rows, strict=True)
            if a.disagreeing
        ]
        print(
            f"audit {name}: {json.dumps(report['audit'][name]['graders'])}, {len(report['audit'][name]['disagreeing_rows'])} rows disagree"
        )
    for pool, _ in pools.values():
        pool.close()
    report["machine"]["load_avg_end"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "verify.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "verify.md").write_text(render(report))


def render(report: dict) -> str:
    """The markdown report."""
    lines = [
        "# Verification benchmark",
        "",
        f"Machine: {report['machine']['cpus']} CPUs, Python {report['machine']['python']}; "
        "ours = `VerifierPool` (extraction, fast paths, cached gold), the faster of 1 and "
        f"{report['workers']} workers; "
        "baseline = plain math-verify `verify(parse(gold), parse(output))`, sequential, one fresh interpreter per set "
        "with the same parser warm-up as the workers.",
        "Generated by `python tests/benchmarks/bench_verify.py`.",
        "",
        "Agreement is with the labels (gsm8k_solutions, math500) or, for math500_shifted, with plain math-verify.",
        f"Load average {report['machine']['load_avg_start']:.1f} at the start, {report['machine']['load_avg_end']:.1f} "
        "at the end: the machine is shared, so rates are noisy and a second worker may add nothing.",
        "CPU seconds (parent + workers, from /proc) do not depend on the load: the CPU ratio is the robust figure.",
        "",
        "Where the speed comes from: gsm8k_solutions — extraction plus the plain-number fast path (no sympy);",
        "math500 — every reference solution's boxed answer is string-equal to the answer column, so the",
        "exact-match fast path decides all 500; math500_shifted — mostly wrong answers that are not plain",
        "numbers, so both sides spend their time in math-verify's LaTeX parser and sympy: parity is expected.",
        "",
        "| set | rows | agreement | baseline agreement | ours answers/s | baseline answers/s | speed-up | incl. pool start | answers/s by workers | CPU s/1000 (1 worker) | baseline CPU s/1000 | CPU ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in report["sets"].items():
        lines.append(
            f"| {name} | {s['rows']} | {s['agreement']:.2%} | {s['baseline_agreement']:.2%} | {s['answers_per_s']} | "
            f"{s['baseline_answers_per_s']} | {s['speedup']}x | {s['speedup_incl_pool_start']}x | "
            f"{', '.join(f'{w}: {v}' for w, v in s['answers_per_s_by_workers'].items())} | "
            f"{s['cpu_s_per_1000']} | {s['baseline_cpu_s_per_1000']} | {s['cpu_speedup']}x |"
        )
    lines += [
        "",
        "## Grader audit: how much a verdict depends on the grader",
        "",
        "Each grader of the cascade run alone on the same extracted answers (first rows of each set);",
        "agreement is with the cascade's verdict, over the items the grader could decide.",
        "",
        "| set | items | rows with a disagreeing grader | fast path | string match | math-verify | sympy simplify |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, a in report.get("audit", {}).items():
        cells = []
        for g in ("fast", "string", "math_verify", "sympy"):
            x = a["graders"][g]
            cells.append("-" if x["agreement"] is None else f"{x['agreement']:.1%} of {x['decided']}")
        lines.append(f"| {name} | {a['items']} | {a['rows_with_disagreement']} | " + " | ".join(cells) + " |")
    for name, a in report.get("audit", {}).items():
        if a["disagreeing_rows"]:
            lines += ["", f"Audit rows where a grader disagrees with the verdict, {name}:", ""]
            lines += ["| id | gold | answer | verdict | graders |", "|---|---|---|---|---|"]
            for d in a["disagreeing_rows"]:
                lines.append(
                    f"| {d['id']} | `{d['gold']}` | `{d['answer']}` | {d['verdict']} | {d['graders']} |"
                )
    for name, s in report["sets"].items():
        lines += ["", f"## Disagreements with the labels: {name} ({len(s['disagreements'])})", ""]
        if not s["disagreements"]:
            lines.append("None.")
            continue
        lines += ["| id | label | verdict | reason | gold | extracted |", "|---|---|---|---|---|---|"]
        for d in s["disagreements"]:
            lines.append(
                f"| {d['id']} | {d['label']} | {d['passed']} | {d['reason']} | `{d['gold']}` | `{d['extracted']}` |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
