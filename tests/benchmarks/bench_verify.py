"""Verification benchmark: agreement with labels, and checks per second, against plain math-verify.

Run on demand (not collected by pytest):

    python tests/benchmarks/bench_verify.py [--limit N] [--workers 2]

Sets (benchmark text is read at run time, never written to the results: ids and rule names only):

(a) `equivalence`: pairs that need real equivalence — no prediction is string-equal to its gold
    after trimming, nor after removing whitespace. Built from MATH-500's answer column: each
    answer rewritten into equivalent forms by value-preserving rules (fraction <-> decimal,
    `\\frac` <-> `a/b`, thousands separators, reordered sets and sums, `\\dfrac`, `\\left(`,
    vectors as tuples, degrees, `\\text{}`...) and into wrong forms by value-changing rules (a digit
    changed, a sign flipped, an interval end flipped, a tuple swapped, an integer + 1, a matrix
    or tuple whose last entry is the gold); the label comes from the construction. Plus GSM8K's
    labelled model answers (`pred_final` against `gold`, label `equal`) that are not string-equal.
    Each prediction is a short model-style output in one of the styles math-verify itself reads
    (Qwen's boxed sentence, Minerva's final-answer line, an R1 think block then a display box,
    lighteval's "Answer: $X$", GSM8K's "####"), so neither side wins on locating the answer.
(b) `gsm8k_solutions`: the 5,276 labelled GSM8K model solutions, whole texts, label `equal`.
(c) `hard`: pathological expressions (towers of powers, huge factorials, deep nesting, 10^4-digit
    integers, unbalanced braces, 100 kB outputs); every item must come back as a verdict within
    the pool's timeout. Labels: the verdict a correct grader gives (a timeout counts as "not
    passed", never as agreement on a right answer).
Also `math500_self`: every MATH-500 reference solution against its answer (all must pass).

Baseline, in the same run: plain math-verify, `verify(parse(f"${gold}$"), parse(prediction))`,
sequential on one main thread, in a fresh interpreter per set with the same ANTLR warm-up the
workers get. Agreement is always against the labels, never against the baseline's verdicts.
Ours: `VerifierPool.check_many` with 1 and with `--workers` processes, speed with the pool's
start-up included and excluded; CPU seconds of parent and workers from /proc. A second pool
built on pebble (`pebble.ProcessPool`, per-task timeouts, dead workers replaced) runs the same
sets so the two pool designs are compared in one run. Writes tests/benchmarks/results/verify.md
and verify.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "tests" / "benchmarks" / "results"
TIMEOUT_S = 10.0


# --- (a) equivalence pairs from MATH-500 answers ------------------------------------------------

_INT = re.compile(r"-?\d+")
_FRAC = re.compile(r"^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$")


def _split_top(t: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for c in t:
        depth += c in "([{"
        depth -= c in ")]}"
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    return [*parts, cur]


def equivalent_forms(a: str) -> list[tuple[str, str]]:
    """(rule, rewritten answer) pairs that keep the value of MATH answer `a`."""
    out: list[tuple[str, str]] = []
    s = a.strip()
    if re.fullmatch(r"-?\d+", s):
        n = int(s)
        out += [("int_decimal", f"{n}.0"), ("int_frac", f"\\frac{{{2 * n}}}{{2}}")]
        if abs(n) >= 1000:
            out += [("int_thousands", f"{n:,}"), ("int_latex_thousands", f"{n:,}".replace(",", "{,}"))]
            out.append(("int_latex_thinspace", f"{n:,}".replace(",", ",\\!")))
        out.append(("int_assignment", f"x = {n}"))
    elif re.fullmatch(r"-?\d*\.\d+", s):
        from fractions import Fraction

        f = Fraction(s)
        out += [("decimal_frac", f"\\frac{{{f.numerator}}}{{{f.denominator}}}"), ("decimal_zero", s + "0")]
    m = _FRAC.match(s)
    if m:
        sign, p, q = m.groups()
        out += [("frac_slash", f"{sign}{p}/{q}"), ("frac_dfrac", f"{sign}\\dfrac{{{p}}}{{{q}}}")]
        out.append(("frac_scaled", f"{sign}\\frac{{{2 * int(p)}}}{{{2 * int(q)}}}"))
        if sign:
            out.append(("frac_sign_inside", f"\\frac{{-{p}}}{{{q}}}"))
        if 10**8 % int(q) == 0:
            out.append(("frac_decimal", f"{sign}{int(p) / int(q)}"))
    if "\\frac" in s and not m:
        out.append(("dfrac", s.replace("\\frac", "\\dfrac")))
    if s.startswith("\\left(") or (s.startswith("(") and s.endswith(")") and "," in s):
        inner = s.replace("\\left(", "(").replace("\\right)", ")")
        if inner != s:
            out.append(("drop_left_right", inner))
        else:
            out.append(("add_left_right", "\\left(" + s[1:-1] + "\\right)"))
    if s.startswith("\\begin{pmatrix}"):
        out.append(("bmatrix", s.replace("pmatrix", "bmatrix")))
        # (a vector written as a tuple is a policy choice, `vector_as_tuple`: not in this set)
    if s.startswith("\\{") and s.endswith("\\}"):
        items = _split_top(s[2:-2])
        if len(items) > 1:
            out.append(("set_reordered", "\\{" + ",".join(reversed(items)) + "\\}"))
    if re.fullmatch(r"\d+\^\\circ", s):
        out.append(("degrees_dropped", s.split("^")[0]))
    if s.startswith("\\text{") and s.endswith("}") and "{" not in s[6:-1]:
        out.append(("text_unwrapped", s[6:-1]))
    terms = re.split(r"(?<=[^\s^{(_])\s*\+\s*", s)
    if len(terms) == 2 and all(t and "=" not in t and "," not in t and "\\" not in t[:1] for t in terms):
        if all(t.count("{") == t.count("}") and t.count("(") == t.count(")") for t in terms):
            out.append(("sum_reordered", f"{terms[1]} + {terms[0]}"))
    if re.fullmatch(r"\\sqrt\{\d+\}", s):
        out.append(("sqrt_power", f"{s[6:-1]}^{{\\frac{{1}}{{2}}}}"))
    if re.fullmatch(r"\d+\\sqrt\{\d+\}", s):
        k, r = s.split("\\sqrt")
        out.append(("sqrt_absorbed", f"\\sqrt{{{int(k) ** 2 * int(r[1:-1])}}}"))
    if re.fullmatch(r"\d*\\pi", s):
        out.append(("pi_commuted", f"\\pi \\cdot {s[:-3] or 1}"))
    key = re.sub(r"\s", "", s)
    return [(r, f) for r, f in out if re.sub(r"\s", "", f) != key]


def wrong_forms(a: str) -> list[tuple[str, str]]:
    """(rule, rewritten answer) pairs that change the value of MATH answer `a`."""
    out: list[tuple[str, str]] = []
    s = a.strip()
    nums = list(_INT.finditer(s))
    if nums and s not in ("0", "-0"):
        m = nums[0]  # the first number: a later one may be a unit's exponent
        digit = m.group(0)
        changed = digit[:-1] + str((int(digit[-1]) + 1) % 10)
        if changed.lstrip("-") not in ("0", "") and changed != digit:
            out.append(("digit_changed", s[: m.start()] + changed + s[m.end() :]))
    if re.fullmatch(r"-?\d+", s):
        n = int(s)
        out += [("int_plus_one", str(n + 1)), ("trap_tuple_ending_in_gold", f"(1, {n})")]
        out.append(("trap_matrix_ending_in_gold", f"\\begin{{pmatrix}} 1 & 2 \\\\ 3 & {n} \\end{{pmatrix}}"))
        if abs(n) >= 10:
            out.append(("int_times_ten", str(10 * n)))
    elif (
        s
        and s[0] != "-"
        and re.search(r"\d|\\pi|\\sqrt", s)
        and not s.startswith(("(", "[", "\\{", "\\begin", "\\left"))
    ):
        out.append(("sign_flipped", f"-{s}" if "," not in s and "=" not in s else s))
    if s[:1] in "[(" and s[-1:] in "])" and "," in s and not s.startswith("\\"):
        flip = {"[": "(", "(": "[", "]": ")", ")": "]"}
        if not s[:-1].rstrip().endswith("\\infty"):  # (2, \infty] is the same set of reals
            out.append(("interval_end_flipped", s[:-1] + flip[s[-1]]))
        items = _split_top(s[1:-1])
        if len(items) == 2 and items[0].strip() != items[1].strip():
            out.append(("tuple_swapped", s[0] + items[1].strip() + ", " + items[0].strip() + s[-1]))
    return [(r, f) for r, f in out if f != s]


# Output styles, rotated over the rows: Qwen's boxed sentence, Minerva's final-answer line, an
# R1-style think block then a display box, lighteval's "Answer: $X$" last line, GSM8K's "####".
STYLES = (
    lambda x: f"The answer is $\\boxed{{{x}}}$.",
    lambda x: f"Final Answer: The final answer is ${x}$. I hope it is correct.",
    lambda x: f"<think>\nLet me work it out.\n</think>\n\n**Final Answer**\n\\[\n\\boxed{{{x}}}\n\\]",
    lambda x: f"So that is the result.\nAnswer: ${x}$",
)


def model_output(answer: str, key: str = "", gsm8k: bool = False) -> str:
    """`answer` inside a short model-style output (style chosen by a stable hash of `key`)."""
    import zlib

    i = zlib.crc32(key.encode()) % (len(STYLES) + gsm8k)
    return f"She worked it out step by step.\n#### {answer}" if i == len(STYLES) else STYLES[i](answer)


def equivalence_set(limit: int | None) -> list[dict]:
    from reasonmill.benchmark_data import iter_benchmark_rows

    rows: list[dict] = []
    for r in iter_benchmark_rows("math500_test.jsonl"):
        gold = r["answer"]
        for rule, form in equivalent_forms(gold):
            rows.append(
                {
                    "id": f"{r['id']}#{rule}",
                    "gold": gold,
                    "pred": model_output(form, f"{r['id']}#{rule}"),
                    "label": True,
                    "src": "math500",
                }
            )
        for rule, form in wrong_forms(gold):
            rows.append(
                {
                    "id": f"{r['id']}#{rule}",
                    "gold": gold,
                    "pred": model_output(form, f"{r['id']}#{rule}"),
                    "label": False,
                    "src": "math500",
                }
            )
    for r in iter_benchmark_rows("gsm8k_model_solutions_labeled.jsonl"):
        final = (r["pred_final"] or "").strip()
        if final and re.sub(r"\s", "", final) != re.sub(r"\s", "", r["gold"]):
            rows.append(
                {
                    "id": r["id"],
                    "gold": r["gold"],
                    "pred": model_output(final, r["id"], gsm8k=True),
                    "label": bool(r["equal"]),
                    "src": "gsm8k",
                }
            )
    rows = [x for x in rows if x["pred"].strip() != x["gold"].strip()]
    return rows[:limit] if limit else rows


def hard_set() -> list[dict]:
    """Pathological predictions; label = what a correct grader says."""
    deep = "(" * 3000 + "1" + ")" * 3000
    nested_frac = "1"
    for _ in range(200):
        nested_frac = f"\\frac{{1}}{{1+{nested_frac}}}"
    items = [
        ("power_tower", "1", "\\boxed{9^{9^{9^{9}}}}", False),
        ("power_tower_10", "1", "\\boxed{10^{10^{10^{10}}}}", False),
        ("huge_factorial", "1", "\\boxed{1000000!}", False),
        ("polynomial_power", "1", "\\boxed{(x+1)^{100000}}", False),
        ("huge_sum", "1", "\\boxed{\\sum_{n=1}^{10^{12}} n^{n}}", False),
        ("hard_integral", "1", "\\boxed{\\int_0^{\\infty} e^{-x^{2}} \\sin(x^{50}) \\, dx}", False),
        ("deep_parens", "1", f"\\boxed{{{deep}}}", True),
        ("nested_fractions", "1", f"\\boxed{{{nested_frac}}}", False),
        ("nested_sqrt", "2", "\\boxed{" + "\\sqrt{" * 300 + "2" + "}" * 300 + "}", False),
        ("long_sum", "5000", "\\boxed{" + "+".join(["1"] * 5000) + "}", True),
        ("big_integer_plus_one", "1" + "0" * 10000, "\\boxed{1" + "0" * 9999 + "1}", False),
        ("big_integer_equal", "1" + "0" * 10000, "\\boxed{1" + "0" * 10000 + "}", True),
        (
            "matrix_50x50",
            "1",
            "\\boxed{\\begin{pmatrix}"
            + "\\\\".join("&".join("1" for _ in range(50)) for _ in range(50))
            + "\\end{pmatrix}}",
            False,
        ),
        ("unbalanced", "1", "\\boxed{\\frac{1}{", False),
        ("many_boxes", "1", " ".join(f"Step {i}: \\boxed{{{i}}}." for i in range(2000)), False),
        ("text_100kb", "7", ("The quick brown fox jumps over the lazy dog. " * 2300) + "\nAnswer: 7", True),
        ("symbolic_tower", "x", "\\boxed{x^{x^{x^{x^{x^{x}}}}}}", False),
        ("limit", "1", "\\boxed{\\lim_{n \\to \\infty} (1 + 1/n)^{n^{2}}}", False),
        ("many_variables", "0", "\\boxed{" + "+".join(f"x_{{{i}}}" for i in range(3000)) + "}", False),
        ("expand_bomb", "0", "\\boxed{" + "*".join(f"(x_{{{i}}}+1)" for i in range(200)) + " - 1}", False),
    ]
    return [{"id": i, "gold": g, "pred": p, "label": lab, "src": "hard"} for i, g, p, lab in items]


def load(limit: int | None) -> dict[str, list[dict]]:
    """Rows as {id, gold, pred, label, src} per set."""
    from reasonmill.benchmark_data import iter_benchmark_rows

    gsm = list(iter_benchmark_rows("gsm8k_model_solutions_labeled.jsonl"))
    math = list(iter_benchmark_rows("math500_test.jsonl"))
    sets = {
        "equivalence": equivalence_set(None),
        "gsm8k_solutions": [
            {"id": r["id"], "gold": r["gold"], "pred": r["pred"], "label": bool(r["equal"]), "src": "gsm8k"}
            for r in gsm
        ],
        "math500_self": [
            {"id": r["id"], "gold": r["answer"], "pred": r["solution"], "label": True, "src": "math500"}
            for r in math
        ],
        "hard": hard_set(),
    }
    if limit:
        random.Random(0).shuffle(sets["equivalence"])
        sets = {k: v[:limit] for k, v in sets.items()}
    return sets


# --- the baseline: plain math-verify, sequential ------------------------------------------------


def baseline(rows: list[dict]) -> tuple[list[bool | None], float, float]:
    """`verify(parse(f"${gold}$"), parse(prediction))` per row; (results, wall s, CPU s)."""
    import math_verify.parser
    from math_verify import parse, verify

    math_verify.parser.parse_latex_cached.cache_clear()
    math_verify.parser.parse_expr_cached.cache_clear()
    out: list[bool | None] = []
    start, cpu = time.perf_counter(), time.process_time()
    for r in rows:
        gold = parse(f"${r['gold']}$")
        pred = parse(r["pred"])
        out.append(bool(gold) and bool(verify(gold, pred)))
    return out, time.perf_counter() - start, time.process_time() - cpu


def baseline_fresh(name: str, limit: int | None, timeout: float | None = None) -> tuple[list, float, float]:
    """`baseline` for one set in a fresh interpreter with the workers' warm-up and nothing else."""
    cmd = [sys.executable, __file__, "--baseline-set", name] + (["--limit", str(limit)] if limit else [])
    r = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=timeout)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out["results"], out["wall"], out["cpu"]


def baseline_hard(rows: list[dict]) -> list[dict]:
    """Plain math-verify on each pathological item in its own process, killed after 60 s."""
    out = []
    for i, r in enumerate(rows):
        t0 = time.perf_counter()
        try:
            res, _, _ = baseline_fresh(f"hard:{i}", None, timeout=60)
            out.append({"id": r["id"], "passed": bool(res[0]), "seconds": round(time.perf_counter() - t0, 2)})
        except subprocess.TimeoutExpired:
            out.append({"id": r["id"], "passed": None, "seconds": 60.0, "note": "killed after 60 s"})
        except subprocess.CalledProcessError as exc:
            out.append(
                {
                    "id": r["id"],
                    "passed": None,
                    "seconds": round(time.perf_counter() - t0, 2),
                    "note": f"crashed rc={exc.returncode}",
                }
            )
    return out


# --- ours: the VerifierPool, and a pebble-based pool with the same contract ------------------------


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PebblePool:
    """The pool contract on pebble: one task per item with `timeout=`, so a hanging item is
    cancelled (its worker killed and replaced by pebble) and becomes a timeout verdict."""

    def __init__(self, workers: int, timeout_s: float) -> None:
        import multiprocessing as mp

        import pebble

        from reasonmill.verifiers.pool import _main_not_reimported

        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["reasonmill.verifiers", "reasonmill.verifiers._warmup"])
        with _main_not_reimported():
            self.pool = pebble.ProcessPool(max_workers=workers, context=ctx)
        self.timeout_s = timeout_s

    def check_many(self, items: list) -> list:
        from concurrent.futures import TimeoutError as FutureTimeout

        from reasonmill.records import Verdict
        from reasonmill.verifiers import VerifyPolicy
        from reasonmill.verifiers.pool import _run_op

        policy = VerifyPolicy()
        futures = [
            self.pool.schedule(
                _run_op, args=("check", it.kind, it.gold, it.prediction, policy), timeout=self.timeout_s
            )
            for it in items
        ]
        out = []
        for f in futures:
            try:
                out.append(Verdict(*f.result()))
            except FutureTimeout:
                out.append(Verdict(False, "pool", "timeout", f"check exceeded {self.timeout_s:g}s"))
            except Exception as exc:
                out.append(Verdict(False, "pool", "error", f"{type(exc).__name__}: {exc}"))
        return out

    def pids(self) -> list[int]:
        return [w.pid for w in getattr(self.pool._pool_manager.worker_manager, "workers", {}).values()]

    def close(self) -> None:
        self.pool.stop()
        self.pool.join(timeout=10)


def start_pool(kind: str, workers: int) -> tuple[Any, float]:
    """A started pool (one check per worker done) and the seconds that took."""
    from reasonmill.verifiers import CheckItem, VerifierPool

    t0 = time.perf_counter()
    pool = (
        VerifierPool(workers=workers, timeout_s=TIMEOUT_S)
        if kind == "ours"
        else PebblePool(workers, TIMEOUT_S)
    )
    pool.check_many([CheckItem("math", "1", "\\boxed{1}")] * (4 * workers))
    return pool, time.perf_counter() - t0


def pool_pids(pool: Any) -> list[int]:
    return [w.proc.pid for w in pool._pool] if hasattr(pool, "_pool") else pool.pids()


def run_pool(rows: list[dict], pool: Any) -> tuple[list, float, float]:
    """(verdicts, wall s, CPU s of parent and workers) for `rows` on a started pool."""
    from reasonmill.verifiers import CheckItem

    items = [CheckItem("math", r["gold"], r["pred"]) for r in rows]
    pids = pool_pids(pool)
    c1 = sum(cpu_seconds(p) for p in pids) + time.process_time()
    t1 = time.perf_counter()
    verdicts = pool.check_many(items)
    wall = time.perf_counter() - t1
    c2 = sum(cpu_seconds(p) for p in pids if Path(f"/proc/{p}").exists()) + time.process_time()
    return verdicts, wall, c2 - c1


def agreement(passed: list, rows: list[dict]) -> float:
    return round(sum(bool(p) == r["label"] for p, r in zip(passed, rows, strict=True)) / len(rows), 5)


def main() -> None:
    """Run every set, print a summary, write verify.md and verify.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N rows of each set (smoke runs)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-pebble", action="store_true")
    ap.add_argument("--baseline-set", help=argparse.SUPPRESS)
    ap.add_argument("--start-only", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.start_only:  # child mode: a pool's start-up in a fresh interpreter (forkserver included)
        pool, seconds = start_pool(args.start_only[0], int(args.start_only[1]))
        pool.close()
        print(json.dumps({"start_s": seconds}))
        return
    if args.baseline_set:  # child mode of baseline_fresh
        import reasonmill.verifiers._warmup  # noqa: F401  same warm parser as the workers

        if args.baseline_set.startswith("hard:"):
            rows = [hard_set()[int(args.baseline_set[5:])]]
        else:
            rows = load(args.limit)[args.baseline_set]
        res, wall, cpu = baseline(rows)
        print(json.dumps({"results": res, "wall": wall, "cpu": cpu}))
        return
    from reasonmill.benchmark_data import benchmark_dir

    if not benchmark_dir().exists():
        sys.exit(f"benchmark data not found at {benchmark_dir()} (set REASONMILL_BENCHMARKS)")
    sets = load(args.limit)
    report: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_start": os.getloadavg()[0],
        },
        "workers": args.workers,
        "timeout_s": TIMEOUT_S,
        "sets": {},
        "pools": {},
    }
    kinds = ["ours"] + ([] if args.no_pebble else ["pebble"])
    pools: dict[tuple[str, int], tuple[Any, float]] = {}
    for kind in kinds:
        for w in sorted({1, args.workers}):
            # start-up measured in a fresh interpreter, so no pool inherits another's forkserver
            fresh = subprocess.run(
                [sys.executable, __file__, "--start-only", kind, str(w)],
                capture_output=True,
                text=True,
                check=True,
            )
            start_s = json.loads(fresh.stdout.strip().splitlines()[-1])["start_s"]
            pools[(kind, w)] = (start_pool(kind, w)[0], start_s)
            report["pools"][f"{kind}:{w}"] = {"start_s": round(start_s, 3)}
    for name, rows in sets.items():
        n = len(rows)
        if name == "hard":
            verdicts, wall, _ = run_pool(rows, pools[("ours", args.workers)][0])
            base_rows = baseline_hard(rows)
            report["sets"][name] = {
                "rows": n,
                "all_returned_within_timeout": all(
                    v.reason != "error" or "lost" not in v.detail for v in verdicts
                ),
                "wall_s": round(wall, 2),
                "agreement": agreement([v.passed for v in verdicts], rows),
                "baseline_agreement": round(
                    sum(
                        b["passed"] is not None and b["passed"] == r["label"]
                        for b, r in zip(base_rows, rows, strict=True)
                    )
                    / n,
                    5,
                ),
                "items": [
                    {
                        "id": r["id"],
                        "label": r["label"],
                        "passed": v.passed,
                        "reason": v.reason,
                        "baseline": b,
                    }
                    for r, v, b in zip(rows, verdicts, base_rows, strict=True)
                ],
            }
            s = report["sets"][name]
            print(
                f"{name}: {n} items in {s['wall_s']}s, agreement {s['agreement']:.2%} (math-verify {s['baseline_agreement']:.2%})"
            )
            continue
        base, base_s, base_cpu = baseline_fresh(name, args.limit)
        runs = {key: run_pool(rows, pool) for key, (pool, _) in pools.items()}
        entry: dict = {
            "rows": n,
            "labelled_true": sum(r["label"] for r in rows),
            "baseline_agreement": agreement(base, rows),
            "baseline_answers_per_s": round(n / base_s, 1),
            "baseline_cpu_s_per_1000": round(1000 * base_cpu / n, 3),
            "pools": {},
        }
        for (kind, w), (verdicts, wall, cpu) in runs.items():
            start = pools[(kind, w)][1]
            entry["pools"][f"{kind}:{w}"] = {
                "agreement": agreement([v.passed for v in verdicts], rows),
                "answers_per_s": round(n / wall, 1),
                "answers_per_s_incl_start": round(n / (wall + start), 1),
                "speedup": round(base_s / wall, 2),
                "speedup_incl_start": round(base_s / (wall + start), 2),
                "cpu_s_per_1000": round(1000 * cpu / n, 3),
                "cpu_ratio": round(base_cpu / cpu, 2) if cpu else None,
            }
        ours, _, _ = runs[("ours", args.workers)]
        entry["agreement"] = entry["pools"][f"ours:{args.workers}"]["agreement"]
        entry["by_source"] = {}
        for src in sorted({r["src"] for r in rows}):
            idx = [i for i, r in enumerate(rows) if r["src"] == src]
            entry["by_source"][src] = {
                "rows": len(idx),
                "agreement": round(sum(ours[i].passed == rows[i]["label"] for i in idx) / len(idx), 5),
                "baseline_agreement": round(
                    sum(bool(base[i]) == rows[i]["label"] for i in idx) / len(idx), 5
                ),
            }
        entry["reasons"] = {
            k: sum(v.reason == k for v in ours) for k in sorted({str(v.reason) for v in ours if v.reason})
        }
        entry["disagreements"] = [
            {"id": r["id"], "label": r["label"], "passed": v.passed, "reason": v.reason, "baseline": bool(b)}
            for r, v, b in zip(rows, ours, base, strict=True)
            if v.passed != r["label"]
        ]
        entry["baseline_only_wrong"] = sum(
            bool(b) != r["label"] and v.passed == r["label"] for r, v, b in zip(rows, ours, base, strict=True)
        )
        entry["wrong_accepted"] = sum(v.passed and not r["label"] for r, v in zip(rows, ours, strict=True))
        entry["baseline_wrong_accepted"] = sum(
            bool(b) and not r["label"] for r, b in zip(rows, base, strict=True)
        )
        report["sets"][name] = entry
        p = entry["pools"][f"ours:{args.workers}"]
        print(
            f"{name}: {n} rows, agreement {entry['agreement']:.2%} (math-verify {entry['baseline_agreement']:.2%}), "
            f"{p['answers_per_s']}/s vs {entry['baseline_answers_per_s']}/s = {p['speedup']}x "
            f"({p['speedup_incl_start']}x incl. start), CPU ratio {p['cpu_ratio']}x, "
            + ", ".join(f"{k}: {v['answers_per_s']}/s" for k, v in entry["pools"].items())
        )
    for pool, _ in pools.values():
        pool.close()
    report["machine"]["load_avg_end"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "verify.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "verify.md").write_text(render(report))


def render(report: dict) -> str:
    """The markdown report (ids and rule names only: no benchmark text)."""
    w = report["workers"]
    m = report["machine"]
    lines = [
        "# Verification benchmark",
        "",
        f"Machine: {m['cpus']} CPUs (shared; load average {m['load_avg_start']:.1f} at the start, "
        f"{m['load_avg_end']:.1f} at the end), Python {m['python']}. Generated by `python tests/benchmarks/bench_verify.py`.",
        "",
        'Baseline: plain math-verify `verify(parse(f"${gold}$"), parse(prediction))`, sequential on one main thread,',
        "a fresh interpreter per set with the same parser warm-up as the workers. Ours: `VerifierPool`",
        f"(`ours:1`, `ours:{w}` workers); `pebble:N` is the same contract on `pebble.ProcessPool` (one task per item",
        "with a per-task timeout). Agreement is with the labels only. Speed-up = baseline wall time / ours;",
        '"incl. start" adds the pool\'s start-up (forkserver, imports, parser warm-up) to ours. CPU ratio =',
        "baseline CPU s / ours (parent + workers, from /proc), which the shared machine's load does not distort.",
        "",
        "## Pool start-up (seconds)",
        "",
        "| pool | start-up s |",
        "|---|---|",
    ]
    for k, v in report["pools"].items():
        lines.append(f"| {k} | {v['start_s']} |")
    lines += [
        "",
        "## Agreement and speed",
        "",
        "| set | rows | agreement | math-verify agreement | wrong accepted (ours / math-verify) | pool | answers/s | math-verify answers/s | speed-up | incl. start | CPU ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in report["sets"].items():
        if name == "hard":
            continue
        for k, p in s["pools"].items():
            lines.append(
                f"| {name} | {s['rows']} | {p['agreement']:.2%} | {s['baseline_agreement']:.2%} | "
                f"{s['wrong_accepted']} / {s['baseline_wrong_accepted']} | {k} | {p['answers_per_s']} | "
                f"{s['baseline_answers_per_s']} | {p['speedup']}x | {p['speedup_incl_start']}x | {p['cpu_ratio']}x |"
            )
    lines += [
        "",
        "Agreement by source (ours with the multi-worker pool):",
        "",
        "| set | source | rows | agreement | math-verify |",
        "|---|---|---|---|---|",
    ]
    for name, s in report["sets"].items():
        for src, b in s.get("by_source", {}).items():
            lines.append(
                f"| {name} | {src} | {b['rows']} | {b['agreement']:.2%} | {b['baseline_agreement']:.2%} |"
            )
    hard = report["sets"].get("hard")
    if hard:
        lines += [
            "",
            f"## (c) Pathological items: {hard['rows']} items, {hard['wall_s']} s, every one a verdict within "
            f"{report['timeout_s']:g} s: {hard['all_returned_within_timeout']}",
            "",
            f"Agreement with the correct verdict: ours {hard['agreement']:.2%}, math-verify {hard['baseline_agreement']:.2%} "
            "(math-verify run per item in its own process, killed after 60 s).",
            "",
            "| item | label | ours | reason | math-verify | math-verify s |",
            "|---|---|---|---|---|---|",
        ]
        for it in hard["items"]:
            b = it["baseline"]
            lines.append(
                f"| {it['id']} | {it['label']} | {it['passed']} | {it['reason']} | {b['passed']} {b.get('note', '')} | {b['seconds']} |"
            )
    for name, s in report["sets"].items():
        if name == "hard":
            continue
        lines += ["", f"## Disagreements with the labels: {name} ({len(s['disagreements'])})", ""]
        if not s["disagreements"]:
            lines.append("None.")
            continue
        lines += [
            "| id (MATH-500 id#rule or GSM8K id) | label | ours | reason | math-verify |",
            "|---|---|---|---|---|",
        ]
        for d in s["disagreements"]:
            lines.append(f"| {d['id']} | {d['label']} | {d['passed']} | {d['reason']} | {d['baseline']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
