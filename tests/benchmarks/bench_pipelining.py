"""Shards flowing through stages without a barrier, against the stage-by-stage flow, in one run.

Run on demand: `python tests/benchmarks/bench_pipelining.py [--shards 8 --rows 20 --rounds 2]`.

The build has an LLM teacher answering through the loopback server (its own process, 200 ms per
reply, one request in flight: a model server at its throughput limit) and a CPU-heavy verify (every trace boxes a nested surd that
math-verify must parse and compare symbolically). With a barrier, the server idles while the CPU
verifies and the CPU idles while the server answers; pipelined, distill of shard k+1 runs while
shard k is verified. Both flows run the same shards with the thread task runner (3 workers), the
request cache off (every request really made), alternating, after one warm-up flow so Prefect's
first-flow start-up is excluded; the corpus files of both are compared byte for byte. Results:
tests/benchmarks/results/pipelining.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_llm_throughput import start_server  # noqa: E402

from reasonmill.config import validate_config  # noqa: E402
from reasonmill.shards import file_sha256  # noqa: E402

RESULTS = Path(__file__).parent / "results"
HARD = r"\frac{\sqrt{2}+\sqrt{3}}{\sqrt{5}-\sqrt{2}} + \frac{\sqrt{7}}{\sqrt{11}+\sqrt{3}}"
REPLY = "<think>\nI simplify the expression step by step.\n</think>\n\nThe answer is \\boxed{" + HARD + "}."


def config(url: str, shards: int, rows: int) -> dict:
    """The benchmark build: `shards` × `rows` seeds, LLM teacher, heavy verify, nothing else."""
    return {
        "name": "bench-pipelining",
        "shard_rows": rows,
        "seeds": [{"generator": "arithmetic_chain", "count": shards * rows}],
        "compose": {"rules": []},
        "distill": {"backend": "teacher", "samples": 1, "max_tokens": 256},
        # One verify worker: on this 2-core machine the other core is the model server's and the
        # HTTP client's, as a GPU server would be elsewhere; with two workers the verifier starves
        # the server, and the benchmark would measure CPU contention instead of scheduling.
        "verify": {"workers": 1, "timeout_s": 30, "require_passing_trace": False},
        "retro_search": {"enabled": False},
        "score": {"student": None},
        "curate": None,
        "llm": {
            "cache": False,
            "backends": {
                "teacher": {"kind": "openai", "model": "loopback", "base_url": url, "max_concurrency": 1}
            },
        },
    }


def corpus_digest(out: Path) -> str:
    """One digest over every corpus file (name and bytes)."""
    parts = sorted(f"{p.relative_to(out)}:{file_sha256(p)}" for p in (out / "corpus").rglob("*.parquet"))
    return file_sha256_text("\n".join(parts))


def file_sha256_text(text: str) -> str:
    """sha256 of a text."""
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def main() -> None:
    """Warm up, then alternate barrier and pipelined flows; write the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--rows", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=3)
    args = ap.parse_args()
    from reasonmill.pipelines.flows import run_build

    proc, url = start_server(0.2, reply=REPLY)
    tmp = Path(tempfile.mkdtemp(prefix="bench-pipelining-"))
    times: dict[str, list[float]] = {"barrier": [], "pipelined": []}
    digests: dict[str, set[str]] = {"barrier": set(), "pipelined": set()}
    try:
        cfg = validate_config(config(url, args.shards, args.rows))
        warm = validate_config(config(url, 1, 2))
        run_build(warm, tmp / "warm", workers=args.workers)  # Prefect's first flow in a process
        for r in range(args.rounds):
            for mode in ("barrier", "pipelined") if r % 2 == 0 else ("pipelined", "barrier"):
                out = tmp / f"{mode}-{r}"
                t0 = time.perf_counter()
                run_build(cfg, out, workers=args.workers, barrier=mode == "barrier")
                times[mode].append(time.perf_counter() - t0)
                digests[mode].add(corpus_digest(out))
                print(f"{mode:9s} round {r}: {times[mode][-1]:.1f} s", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    barrier, pipelined = statistics.median(times["barrier"]), statistics.median(times["pipelined"])
    identical = len(digests["barrier"] | digests["pipelined"]) == 1
    result = {
        "shards": args.shards,
        "rows_per_shard": args.rows,
        "samples": 1,
        "latency_s": 0.2,
        "max_concurrency": 1,
        "workers": args.workers,
        "times": times,
        "barrier_s": barrier,
        "pipelined_s": pipelined,
        "speedup": barrier / pipelined,
        "corpus_identical": identical,
        "load": os.getloadavg(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipelining.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# Pipelined shards against the barrier flow (one run)",
        "",
        f"{args.shards} shards × {args.rows} seeds, LLM teacher (1 sample, loopback server 200 ms per reply, 1 in flight),",
        f"CPU-heavy verify (a nested surd per trace, 1 worker process), Prefect thread runner with {args.workers} workers,",
        f"request cache off, median of {args.rounds} alternating rounds after a warm-up flow; load average {result['load'][0]:.2f}.",
        "",
        "| flow | wall seconds |",
        "|---|---:|",
        f"| barrier (stage by stage) | {barrier:.1f} |",
        f"| pipelined (shard k starts when shard k of the stage before is done) | {pipelined:.1f} |",
        "",
        f"Speed-up: **{barrier / pipelined:.2f}×** (target ≥ 1.3×). Corpus byte-identical between the two: **{identical}**.",
    ]
    (RESULTS / "pipelining.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
