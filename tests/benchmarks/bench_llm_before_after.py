"""The OpenAI-compatible backend's throughput, this checkout against an earlier one, in one run.

Run on demand: `python tests/benchmarks/bench_llm_before_after.py --before /path/to/old/checkout`
(make one with `git worktree add --detach /tmp/before <commit>`).

Both implementations talk to the same loopback server (this checkout's, in its own process) at a
fixed latency, with the same requests, alternating rounds so machine load hits both alike. Each
measurement runs in a fresh interpreter whose `reasonmill` package comes from the checkout being
measured; only `make_backend`, `SamplingParams` and `generate` are used, which both versions have.
Results go to tests/benchmarks/results/llm_before_after.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_llm_throughput import start_server  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys, time
try:
    from reasonmill.llm.registry import make_backend
except ImportError:
    from reasonmill.llm.base import make_backend
from reasonmill.llm.types import SamplingParams
url, n, cap, extra = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
backend = make_backend({"kind": "openai", "model": "loopback", "base_url": url, "max_concurrency": cap, **extra})
convs = [[{"role": "user", "content": f"question {i}: what is {i} + {i}?"}] for i in range(n)]
sampling = SamplingParams(max_tokens=64)
backend.generate(convs[: cap * 2], sampling)
t0, c0 = time.perf_counter(), time.process_time()
out = backend.generate(convs, sampling)
el, cpu = time.perf_counter() - t0, time.process_time() - c0
backend.close()
print(json.dumps({"rps": n / el, "cpu_ms": 1000 * cpu / n, "ok": sum(c.ok for r in out for c in r)}))
"""


def measure(checkout: Path, url: str, n: int, cap: int, extra: dict) -> dict:
    """One measurement in a fresh interpreter importing `reasonmill` from `checkout`."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONSAFEPATH": "1"}
    r = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(n), str(cap), json.dumps(extra)],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        check=True,
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    """Alternate rounds of the two implementations per configuration; write the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="an earlier checkout of reasonmill")
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--configs", default="32x0.1,64x0.05")
    args = ap.parse_args()
    variants = {
        "before (default)": (args.before, {}),
        "after (default)": (ROOT, {}),
        "after (relax_gc: true)": (ROOT, {"relax_gc": True}),
    }
    rows = []
    load = os.getloadavg()
    for spec in args.configs.split(","):
        cap, latency = int(spec.split("x")[0]), float(spec.split("x")[1])
        proc, url = start_server(latency)
        try:
            got: dict[str, list[dict]] = {k: [] for k in variants}
            for _ in range(args.rounds):
                for name, (checkout, extra) in variants.items():
                    got[name].append(measure(checkout, url, args.requests, cap, extra))
        finally:
            proc.terminate()
            proc.wait(10)
        ideal = cap / latency
        for name, runs in got.items():
            rps = statistics.median(r["rps"] for r in runs)
            rows.append(
                {
                    "variant": name,
                    "cap": cap,
                    "latency_s": latency,
                    "rps": rps,
                    "fraction_of_ideal": rps / ideal,
                    "cpu_ms": statistics.median(r["cpu_ms"] for r in runs),
                    "ok": min(r["ok"] for r in runs),
                    "requests": args.requests,
                }
            )
        base = next(
            r
            for r in rows
            if r["cap"] == cap and r["latency_s"] == latency and r["variant"].startswith("before")
        )
        for r in rows:
            if r["cap"] == cap and r["latency_s"] == latency:
                r["ratio_to_before"] = r["rps"] / base["rps"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "llm_before_after.json").write_text(
        json.dumps({"rows": rows, "load": load, "before": str(args.before)}, indent=2)
    )
    lines = [
        "# LLM backend throughput: before and after the LLM-layer split, one run",
        "",
        f"Same loopback server, same {args.requests} requests, median of {args.rounds} alternating rounds; load average "
        f"{load[0]:.2f} at the start (2 shared cores). `before` = {args.before}.",
        "",
        "| variant | cap | latency ms | req/s | fraction of ideal | client CPU ms/req | ratio to before | complete |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['cap']} | {r['latency_s'] * 1000:.0f} | {r['rps']:.1f} | {r['fraction_of_ideal']:.3f} | "
            f"{r['cpu_ms']:.2f} | {r['ratio_to_before']:.3f} | {r['ok']}/{r['requests']} |"
        )
    (RESULTS / "llm_before_after.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
