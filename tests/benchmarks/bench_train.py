"""CPU throughput of `reasonmill train` sft / dpo / grpo on a tiny random Llama and a small build.

Run: `python tests/benchmarks/bench_train.py` (writes tests/benchmarks/results/train.{json,md}).
Each trainer runs the same number of optimiser steps at batch size 4 on the same corpus; reported:
steps/s of the training loop alone (TRL's train_runtime, start-up excluded) and of the whole run
(model load, dataset preparation and saving included), and tokens/s where TRL counts tokens.
The figures are for a 2-layer, 32-wide model: they measure the trainers' overhead, not model speed.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "tests" / "benchmarks" / "results"
SMALL = {
    "name": "bench-train",
    "shard_rows": 40,
    "seeds": [{"generator": "arithmetic_chain", "count": 40}, {"generator": "linear_equation", "count": 40}],
    "distill": {"samples": 2},
}


def _preference(src: Path, dst: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reasonmill.pipelines.corpus import read_subset

    shutil.copytree(src / "corpus", dst / "corpus")
    rows = []
    for r in read_subset(src, "prompt_completion").to_pylist():
        wrong = r["completion"][0]["content"].rsplit("\\boxed{", 1)[0] + "\\boxed{999}."
        rows.append({**{k: r[k] for k in ("id", "prompt", "source", "level", "difficulty", "scores")},
                     "chosen": r["completion"], "rejected": [{"role": "assistant", "content": wrong}]})  # fmt: skip
    path = dst / "corpus" / "preference" / "shard-00000.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(path)), path)
    return dst


def main(steps: int = 10) -> dict:
    """Run the three trainers and write the results."""
    from reasonmill.config import validate_config
    from reasonmill.pipelines.runner import build
    from reasonmill.pipelines.train import TrainConfig, train
    from reasonmill.pipelines.train.tiny import corpus_texts, make_tiny_model

    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    out = tmp / "build"
    build(validate_config(SMALL), out)
    pref = _preference(out, tmp / "pref")
    model = str(make_tiny_model(tmp / "model", corpus_texts(out)))
    runs = {
        "sft": {"corpus": str(out), "max_length": 384},
        "dpo": {"corpus": str(pref), "max_length": 384},
        "grpo": {"corpus": str(out), "num_generations": 4, "max_completion_length": 64},
    }
    results = {"steps": steps, "batch_size": 4, "model": "tiny Llama (2 layers, hidden 32)", "trainers": {}}
    for name, extra in runs.items():
        t = time.perf_counter()
        s = train(TrainConfig(trainer=name, model=model, out=str(tmp / f"run-{name}"), max_steps=steps, batch_size=4,
                              save_steps=steps, report_to=["jsonl"], **extra))  # fmt: skip
        wall = time.perf_counter() - t
        logs = [
            json.loads(x) for x in (tmp / f"run-{name}" / "logs" / "train_log.jsonl").read_text().splitlines()
        ]
        runtime = next(r["train_runtime"] for r in logs if "train_runtime" in r)
        tokens = max((r.get("num_tokens", 0) for r in logs), default=0)
        results["trainers"][name] = {
            "steps_per_s_train": round(steps / runtime, 3),
            "steps_per_s_wall": round(steps / wall, 3),
            "train_runtime_s": round(runtime, 2),
            "wall_s": round(wall, 2),
            "tokens_per_s_train": round(tokens / runtime, 1) if tokens else None,
            "final_loss": s["train_loss"],
        }
        print(name, results["trainers"][name], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "train.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# reasonmill train: CPU throughput (tiny random Llama, batch 4)", "",
             f"{steps} optimiser steps per trainer; GRPO: 4 generations × 64 tokens per prompt. Train = TRL's train_runtime "
             "(start-up excluded); wall = whole `train()` call (model load, dataset prep, saving included).", "",
             "| trainer | steps/s (train) | steps/s (wall) | tokens/s (train) | final loss |", "|---|---|---|---|---|"]  # fmt: skip
    for name, r in results["trainers"].items():
        lines.append(
            f"| {name} | {r['steps_per_s_train']} | {r['steps_per_s_wall']} | {r['tokens_per_s_train']} | {r['final_loss']:.4f} |"
        )
    (RESULTS / "train.md").write_text("\n".join(lines) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return results


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
