"""Benchmark: the Prefect build flow against the same stages called as plain functions.

Both builds run the default offline pipeline on the same config (scaled to `--records` seeds),
each in a fresh subprocess with a fresh output folder, so the flow's time includes Prefect's
ephemeral start-up. Reports wall time of each and the overhead ratio flow / plain (target ≤ 1.10
at 100k records), checks the two corpora are identical, and writes
tests/benchmarks/results/prefect_overhead.{md,json}.

    python tests/benchmarks/bench_prefect_overhead.py --records 100000
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from reasonmill.config import BuildConfig

RESULTS = Path(__file__).parent / "results"

CODE = {
    "plain": "from reasonmill.config import load_config; from reasonmill.pipelines.runner import build; import sys; build(load_config(sys.argv[1]), sys.argv[2])",
    "prefect": "from reasonmill.config import load_config; from reasonmill.pipelines.flows import run_build; import sys; run_build(load_config(sys.argv[1]), sys.argv[2])",
}


def config_for(records: int, shard_rows: int) -> dict:
    """The default config with its seed counts scaled so seeds total `records`."""
    cfg = BuildConfig().model_dump(mode="json")
    total = sum(s["count"] for s in cfg["seeds"])
    for s in cfg["seeds"]:
        s["count"] = s["count"] * records // total
    for r in cfg["compose"]["rules"]:
        r["count"] = max(1, records // 15)
    cfg["shard_rows"] = shard_rows
    return cfg


def run(engine: str, cfg_path: Path, out: Path) -> float:
    """Wall seconds of one build in a fresh interpreter."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", CODE[engine], str(cfg_path), str(out)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def corpus_ids(out: Path) -> list[str]:
    """Ids of a build's corpus, in file order."""
    return [i for f in sorted((out / "corpus").glob("*.parquet")) for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()]


def main() -> None:
    """Run both engines (plain first, then Prefect, optionally plain again) and report the ratio."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--shard-rows", type=int, default=5_000)
    ap.add_argument("--repeat-plain", type=int, default=0, choices=(0, 1), help="time the plain build a second time, after the flow")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rm-bench-"))
    cfg = config_for(args.records, args.shard_rows)
    cfg_path = tmp / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    times: dict[str, list[float]] = {"plain": [], "prefect": []}
    outs = {}
    order = ("plain", "prefect", "plain")[: 2 + args.repeat_plain]
    for engine in order:
        out = tmp / f"{engine}{len(times[engine])}"
        times[engine].append(run(engine, cfg_path, out))
        outs[engine] = out
        print(f"{engine}: {times[engine][-1]:.1f}s", flush=True)
    same = corpus_ids(outs["plain"]) == corpus_ids(outs["prefect"])
    plain = min(times["plain"])
    ratio = times["prefect"][0] / plain
    rows = len(corpus_ids(outs["prefect"]))
    result = {
        "records_seeded": args.records,
        "corpus_rows": rows,
        "shard_rows": args.shard_rows,
        "plain_s": times["plain"],
        "prefect_s": times["prefect"],
        "overhead_ratio": round(ratio, 4),
        "target": 1.10,
        "met": ratio <= 1.10,
        "identical_corpus": same,
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "prefect_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "prefect_overhead.md").write_text(
        "# Prefect flow vs plain functions\n\n"
        f"{args.records:,} seeds ({rows:,} corpus rows), shards of {args.shard_rows:,} rows, same config, fresh process each.\n\n"
        "| engine | wall s |\n|---|---|\n"
        f"| plain (best of {len(times['plain'])}) | {plain:.1f} |\n| prefect | {times['prefect'][0]:.1f} |\n\n"
        f"Overhead ratio prefect / plain: **{ratio:.3f}** (target ≤ 1.10: {'met' if ratio <= 1.10 else 'MISSED'}); identical corpus: {same}.\n"
        f"\nMachine: {result['machine']}.\n"
    )
    print(json.dumps(result, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
