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

from reasonmill.llm.registry import make_backend
from reasonmill.llm.types import SamplingParams

RESULTS = Path(__file__).parent / "results"


def free_port() -> int:
    """An ephemeral port the OS considers free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(latency: float, reply: str | None = None) -> tuple[subprocess.Popen, str]:
    """Start the loopback server in a subprocess (answering `reply` to every request when given)
    and wait for /health."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "reasonmill.testing.loopback",
        "--port",
        str(port),
        "--latency",
        str(latency),
    ]
    if reply is not None:
        cmd += ["--reply", reply]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, f"http://127.0.0.1:{port}/v1"
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("loopback server did not start")


def bench_backend(url: str, requests: int, cap: int, transport: str = "auto") -> dict:
    """The reasonmill backend: `requests` conversations in one `generate` call, at most `cap` in flight."""
    backend = make_backend(
        {
            "kind": "openai",
            "model": "loopback",
            "base_url": url,
            "max_concurrency": cap,
            "http_transport": transport,
        }
    )
    convs = [[{"role": "user", "content": f"question {i}: what is {i} + {i}?"}] for i in range(requests)]
    sampling = SamplingParams(max_tokens=64)
    backend.generate(convs[: cap * 2], sampling)  # warm up connections
    t0, cpu0 = time.perf_counter(), time.process_time()
    results = backend.generate(convs, sampling)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    ok = sum(1 for r in results for c in r if c.ok)
    stats = backend.stats.as_dict()
    states = backend.endpoint_states()
    backend.close()
    return {
        "requests": requests,
        "ok": ok,
        "seconds": elapsed,
        "rps": requests / elapsed,
        "client_cpu_ms_per_request": 1000 * cpu / requests,
        "stats": stats,
        "endpoint": states[0],
    }


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
    """Run the configurations and the sequential baseline; write the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--sequential-requests", type=int, default=200)
    ap.add_argument(
        "--configs",
        default="32x0.1,16x0.1,64x0.1,64x0.05",
        help="comma-separated CAPxLATENCY; the first is the headline",
    )
    ap.add_argument("--transport", default="auto", choices=["auto", "httpx", "aiohttp"])
    args = ap.parse_args()
    configs = [(int(c.split("x")[0]), float(c.split("x")[1])) for c in args.configs.split(",")]

    runs = []
    load_before = os.getloadavg()
    for cap, latency in configs:
        proc, url = start_server(latency)
        try:
            run = bench_backend(url, args.requests, cap, args.transport)
            if not runs:
                run["sequential_openai"] = bench_sequential(url, args.sequential_requests)
        finally:
            proc.terminate()
            proc.wait(10)
        ideal = cap / latency
        run.update(
            cap=cap,
            latency_s=latency,
            ideal_rps=ideal,
            fraction_of_ideal=run["rps"] / ideal,
            cpu_ceiling_rps=1000 / run["client_cpu_ms_per_request"],
        )
        runs.append(run)
        print(
            f"cap {cap} latency {latency}: {run['rps']:.1f} req/s = {run['fraction_of_ideal']:.3f} of {ideal:.0f}"
        )
    load_after = os.getloadavg()
    head, seq = runs[0], runs[0]["sequential_openai"]
    result = {
        "headline": {
            "cap": head["cap"],
            "latency_s": head["latency_s"],
            "fraction_of_ideal": head["fraction_of_ideal"],
        },
        "runs": runs,
        "sequential_fraction_of_ideal": seq["rps"] / head["ideal_rps"],
        "speedup_vs_sequential": head["rps"] / seq["rps"],
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "python": platform.python_version(),
            "openai": openai.__version__,
            "transport": args.transport,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "llm_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = "\n".join(
        f"| reasonmill `openai` backend | {r['cap']} | {r['latency_s'] * 1000:.0f} | {r['requests']} | {r['seconds']:.2f} "
        f"| {r['rps']:.1f} | {r['ideal_rps']:.0f} | **{r['fraction_of_ideal']:.3f}** | {r['client_cpu_ms_per_request']:.2f} "
        f"| {r['cpu_ceiling_rps']:.0f} |"
        for r in runs
    )
    md = f"""# LLM backend throughput (loopback server)

Server: `reasonmill.testing.loopback` in its own process, fixed latency per reply. Ideal = cap / latency.
Machine: {os.cpu_count()} CPUs, shared (load average {load_before[0]:.2f} before, {load_after[0]:.2f} after),
Python {platform.python_version()}, openai {openai.__version__}, transport `{args.transport}`.
"CPU ceiling" = 1000 / client CPU ms per request: the most one Python event loop can push whatever the cap.

| client | cap | latency ms | requests | seconds | req/s | ideal req/s | fraction of ideal | client CPU ms/req | CPU ceiling req/s |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}
| plain sequential `openai.OpenAI` | 1 | {head["latency_s"] * 1000:.0f} | {seq["requests"]} | {seq["seconds"]:.2f} | {seq["rps"]:.1f} | {head["ideal_rps"]:.0f} | {seq["rps"] / head["ideal_rps"]:.3f} | | |

The sequential client ran {seq["requests"]} requests, not {head["requests"]}: one at a time it would take
{head["requests"] * head["latency_s"] / 60:.0f} minutes. Speed-up of the backend over it at cap {head["cap"]}:
{head["rps"] / seq["rps"]:.1f}×. Backend replies complete: {", ".join(f"{r['ok']}/{r['requests']}" for r in runs)}.

Reading the table: the fraction of ideal is bounded by the client's CPU cost per request (nearly
all of it inside the `openai` SDK and its HTTP transport; the backend's own pool, retry and
parsing code is under 10 % of it by cProfile; CPython's full garbage collections were another
~15 % until the backend relaxed the GC thresholds during a batch, see `base.relaxed_gc`).
At cap C and latency L the client must do C / L requests per second; as C x (CPU ms per request)
approaches L the event loop queues and each request waits for the others' processing, so the
fraction falls (cap 64 at 50 ms asks for 1,280
req/s, above the CPU ceiling of one Python process). The machine is shared with other builds;
rerun for your own figures.
"""
    (RESULTS / "llm_throughput.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
