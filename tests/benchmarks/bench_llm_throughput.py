"""Throughput of the OpenAI-compatible backend against the loopback server, next to a plain client.

Run on demand: `python tests/benchmarks/bench_llm_throughput.py [--requests 5000 --latency 0.1 --cap 32]`.

The loopback server runs in its own process (so it has the second core) and answers every
request after a fixed latency. With a concurrency cap C and latency L the ideal throughput is
C / L requests per second; the backend's figure is reported as a fraction of it. The baseline is
a plain sequential `openai.OpenAI` client (one request at a time, the way a naive stage would
call it), run on fewer requests because at L = 0.1 s it manages about 1/L per second.

Results go to tests/benchmarks/results/llm_throughput.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai

from reasonmill.llm.base import make_backend
from reasonmill.llm.types import SamplingParams

RESULTS = Path(__file__).parent / "results"


def free_port() -> int:
    """An ephemeral port the OS considers free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    """Start the loopback server in a subprocess and wait for /health."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reasonmill.llm.loopback", "--port", str(port), "--latency", str(latency)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, f"http://127.0.0.1:{port}/v1"
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("loopback server did not start")


def bench_backend(url: str, requests: int, cap: int) -> dict:
    """The reasonmill backend: `requests` conversations in one `generate` call, at most `cap` in flight."""
    backend = make_backend({"kind": "openai", "model": "loopback", "base_url": url, "max_concurrency": cap})
    convs = [[{"role": "user", "content": f"question {i}: what is {i} + {i}?"}] for i in range(requests)]
    sampling = SamplingParams(max_tokens=64)
    backend.generate(convs[: cap * 2], sampling)  # warm up connections
    t0 = time.perf_counter()
    results = backend.generate(convs, sampling)
    elapsed = time.perf_counter() - t0
    ok = sum(1 for r in results for c in r if c.ok)
    stats = backend.stats.as_dict()
    states = backend.endpoint_states()
    backend.close()
    return {"requests": requests, "ok": ok, "seconds": elapsed, "rps": requests / elapsed, "stats": stats,
            "endpoint": states[0]}


def bench_sequential(url: str, requests: int) -> dict:
    """A plain sync `openai.OpenAI` client, one request after the other."""
    client = openai.OpenAI(base_url=url, api_key="EMPTY", max_retries=0)
    client.chat.completions.create(model="loopback", messages=[{"role": "user", "content": "warm up"}])
    t0 = time.perf_counter()
    for i in range(requests):
        client.chat.completions.create(
            model="loopback", messages=[{"role": "user", "content": f"question {i}"}], max_tokens=64
        )
    elapsed = time.perf_counter() - t0
    client.close()
    return {"requests": requests, "seconds": elapsed, "rps": requests / elapsed}


def main() -> None:
    """Run both measurements and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--sequential-requests", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--cap", type=int, default=32)
    args = ap.parse_args()

    proc, url = start_server(args.latency)
    try:
        backend = bench_backend(url, args.requests, args.cap)
        seq = bench_sequential(url, args.sequential_requests)
    finally:
        proc.terminate()
        proc.wait(10)
    ideal = args.cap / args.latency
    result = {
        "latency_s": args.latency,
        "concurrency_cap": args.cap,
        "ideal_rps": ideal,
        "backend": backend,
        "backend_fraction_of_ideal": backend["rps"] / ideal,
        "sequential_openai": seq,
        "sequential_fraction_of_ideal": seq["rps"] / ideal,
        "speedup_vs_sequential": backend["rps"] / seq["rps"],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "openai": openai.__version__},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "llm_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    md = f"""# LLM backend throughput (loopback server)

Server: `reasonmill.llm.loopback` in its own process, fixed latency {args.latency * 1000:.0f} ms per reply.
Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, openai {openai.__version__}.
Ideal throughput = cap / latency = {args.cap} / {args.latency} s = **{ideal:.0f} req/s**.

| client | requests | seconds | req/s | fraction of ideal |
|---|---:|---:|---:|---:|
| reasonmill `openai` backend, cap {args.cap} | {backend['requests']} | {backend['seconds']:.2f} | {backend['rps']:.1f} | **{backend['rps'] / ideal:.3f}** |
| plain sequential `openai.OpenAI` | {seq['requests']} | {seq['seconds']:.2f} | {seq['rps']:.1f} | {seq['rps'] / ideal:.3f} |

The sequential client ran {seq['requests']} requests, not {backend['requests']}: one at a time it
would take {backend['requests'] * args.latency / 60:.0f} minutes. Speed-up of the backend over it:
{backend['rps'] / seq['rps']:.1f}×. All {backend['ok']} of {backend['requests']} backend replies were complete
(retries: {backend['stats']['retries']}, failures: {backend['stats']['failures']}).
"""
    (RESULTS / "llm_throughput.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
