"""`reasonmill eval`: score a model or an endpoint on benchmark files with the project's verifiers.

A target is a local model folder (transformers, or in-process vLLM with `engine="vllm"` where it can
be imported) or the URL of any OpenAI-compatible server (`vllm serve`, SGLang, llama.cpp, OpenAI).
A benchmark file is JSONL or Parquet with a question and an answer column; names are found among
common ones (question/problem/prompt, answer/final_answer/target/solution) or mapped explicitly.
The files are the user's; none ship with reasonmill.

For each question, `samples` completions are drawn and each is verified against the gold answer in
the worker pool (hard timeout). Reported per file, and per subject and level where the file has
them: accuracy (mean correctness over all samples, i.e. pass@1), pass@k (unbiased estimator of
Chen et al. 2021 for every k ≤ samples that is a power of two, and k = samples), mean completion
length in tokens, and how many answers could not be checked. Results go to `OUT/eval.json`,
`OUT/eval.md`, per-sample rows to `OUT/samples.jsonl`, and a bar plot to `OUT/eval.png`.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from reasonmill.errors import ReasonmillError
from reasonmill.jsonl import read_jsonl_objects
from reasonmill.shards import atomic_write_bytes, atomic_write_json

QUESTION_COLUMNS = ("question", "problem", "prompt", "input", "query")
ANSWER_COLUMNS = ("answer", "final_answer", "target", "gold", "solution")
SUBJECT_COLUMNS = ("subject", "type", "category", "topic")
LEVEL_COLUMNS = ("level", "difficulty")
DEFAULT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ReasonmillError(f"{path}: benchmark file not found")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return read_jsonl_objects(path)


def _pick(
    columns: set[str], given: str | None, candidates: tuple[str, ...], what: str, path: Path
) -> str | None:
    if given:
        if given not in columns:
            raise ReasonmillError(
                f"{path}: no column {given!r} for the {what} (columns: {', '.join(sorted(columns))})"
            )
        return given
    return next((c for c in candidates if c in columns), None)


def load_benchmark(
    path: Path | str,
    question: str | None = None,
    answer: str | None = None,
    kind: str = "math",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Rows {question, answer, kind, subject, level} of a benchmark file; a row without a question
    or an answer is an error naming the file and row."""
    path = Path(path)
    rows = _read_rows(path)
    if not rows:
        raise ReasonmillError(f"{path}: no rows")
    cols = set().union(*(r.keys() for r in rows[:100]))
    q = _pick(cols, question, QUESTION_COLUMNS, "question", path)
    a = _pick(cols, answer, ANSWER_COLUMNS, "answer", path)
    if q is None or a is None:
        raise ReasonmillError(
            f"{path}: cannot find the {'question' if q is None else 'answer'} column "
            f"(columns: {', '.join(sorted(cols))}); map it with --question-column/--answer-column"
        )
    s = _pick(cols, None, SUBJECT_COLUMNS, "subject", path)
    lv = _pick(cols, None, LEVEL_COLUMNS, "level", path)
    out = []
    for n, r in enumerate(rows[:limit] if limit else rows, 1):
        if r.get(q) in (None, "") or r.get(a) in (None, ""):
            raise ReasonmillError(f"{path}, row {n}: empty {q if r.get(q) in (None, '') else a!r}")
        out.append(
            {
                "id": str(r.get("id", n)),
                "question": str(r[q]),
                "answer": str(r[a]),
                "kind": str(r.get("kind") or kind),
                "subject": str(r[s]) if s and r.get(s) is not None else None,
                "level": str(r[lv]) if lv and r.get(lv) is not None else None,
            }
        )
    return out


def make_eval_backend(
    target: str,
    model_name: str | None = None,
    engine: str = "auto",
    api_key_env: str = "OPENAI_API_KEY",
    device: str = "auto",
    batch_size: int = 8,
) -> Any:
    """An LLM backend for `target`: a URL → "openai" kind; a folder → "vllm" (engine vllm, or auto
    when vllm imports) or "transformers"."""
    from reasonmill.llm import make_backend

    if target.startswith(("http://", "https://")):
        cfg: dict[str, Any] = {"kind": "openai", "model": model_name or "default", "base_url": target}
        if api_key_env and os.environ.get(api_key_env):  # the key itself stays in the environment
            cfg["api_key_env"] = api_key_env
        return make_backend(cfg)
    if not Path(target).is_dir():
        raise ReasonmillError(f"{target}: neither a model folder nor an http(s) endpoint URL")
    if engine in ("vllm", "auto"):
        try:
            import vllm  # noqa: F401

            return make_backend({"kind": "vllm", "model": target})
        except ImportError:
            if engine == "vllm":
                raise ReasonmillError("--engine vllm: vllm is not importable in this environment") from None
    return make_backend(
        {"kind": "transformers", "model_path": target, "device": device, "batch_size": batch_size}
    )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: 1 − C(n−c, k)/C(n, k)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _ks(samples: int) -> list[int]:
    ks = {1, samples}
    k = 2
    while k < samples:
        ks.add(k)
        k *= 2
    return sorted(ks)


def summarise(per_question: list[dict[str, Any]], samples: int) -> dict[str, Any]:
    """Accuracy, pass@k, mean length and unchecked count over per-question results."""
    if not per_question:
        return {"questions": 0}
    n_samples = sum(len(q["correct"]) for q in per_question)
    out: dict[str, Any] = {
        "questions": len(per_question),
        "accuracy": sum(sum(q["correct"]) for q in per_question) / max(1, n_samples),
        "mean_length": sum(sum(q["lengths"]) for q in per_question) / max(1, n_samples),
        "unchecked": sum(q["unchecked"] for q in per_question),
    }
    for k in _ks(samples):
        out[f"pass@{k}"] = sum(
            pass_at_k(len(q["correct"]), sum(q["correct"]), k) for q in per_question
        ) / len(per_question)
    return out


def evaluate(
    backend: Any,
    benches: list[Path | str],
    samples: int = 1,
    temperature: float = 0.0,
    max_tokens: int = 1024,
    instruction: str = DEFAULT_INSTRUCTION,
    question_column: str | None = None,
    answer_column: str | None = None,
    kind: str = "math",
    limit: int | None = None,
    workers: int = 2,
    timeout_s: float = 10.0,
    out: Path | str | None = None,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Score `backend` on each benchmark file; write results under `out` when given; return them."""
    from reasonmill.llm import SamplingParams
    from reasonmill.verifiers import CheckItem, check_many
    from reasonmill.verifiers.rewards import require_known_kinds

    sampling = SamplingParams(
        n=samples,
        temperature=temperature if samples == 1 else max(temperature, 0.6),
        max_tokens=max_tokens,
        seed=seed,
    )
    results: dict[str, Any] = {
        "model": getattr(backend, "model_id", ""),
        "samples": samples,
        "benchmarks": {},
    }
    sample_rows: list[dict[str, Any]] = []
    for bench in benches:
        path = Path(bench)
        rows = load_benchmark(path, question_column, answer_column, kind, limit)
        require_known_kinds([r["kind"] for r in rows], str(path))
        convs = [[{"role": "user", "content": f"{r['question']}\n\n{instruction}".strip()}] for r in rows]
        gens = backend.generate(convs, sampling)
        items = [
            CheckItem(r["kind"], r["answer"], c.text) for r, cs in zip(rows, gens, strict=True) for c in cs
        ]
        verdicts = iter(check_many(items, workers=workers, timeout_s=timeout_s))
        per_q = []
        for r, cs in zip(rows, gens, strict=True):
            vs = [next(verdicts) for _ in cs]
            per_q.append(
                {
                    **r,
                    "correct": [int(v.passed) for v in vs],
                    "lengths": [c.completion_tokens or len(c.text.split()) for c in cs],
                    "unchecked": sum(1 for v in vs if not v.passed and not v.checked),
                }
            )
            for c, v in zip(cs, vs, strict=True):
                sample_rows.append(
                    {
                        "bench": path.name,
                        "id": r["id"],
                        "correct": v.passed,
                        "reason": v.reason,
                        "text": c.text,
                        "finish": c.finish_reason,
                    }
                )
        entry: dict[str, Any] = {"file": str(path), **summarise(per_q, samples)}
        for key in ("subject", "level"):
            groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for q in per_q:
                if q[key] is not None:
                    groups[q[key]].append(q)
            if groups:
                entry[f"by_{key}"] = {g: summarise(v, samples) for g, v in sorted(groups.items())}
        results["benchmarks"][path.name] = entry
    if out is not None:
        write_results(results, sample_rows, Path(out))
    return results


def results_markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown table per benchmark (and per subject/level)."""
    lines = [f"# eval: {results['model']} ({results['samples']} sample(s) per question)", ""]
    for name, b in results["benchmarks"].items():
        keys = [k for k in b if k.startswith("pass@")]
        lines += [
            f"## {name}",
            "",
            "| group | questions | accuracy | " + " | ".join(keys) + " | mean length | unchecked |",
        ]
        lines.append("|---" * (5 + len(keys)) + "|")

        def row(label: str, s: dict[str, Any], keys: list[str] = keys) -> str:
            ps = " | ".join(f"{s.get(k, 0):.3f}" for k in keys)
            return f"| {label} | {s['questions']} | {s['accuracy']:.3f} | {ps} | {s['mean_length']:.1f} | {s['unchecked']} |"

        lines.append(row("all", b))
        for key in ("by_subject", "by_level"):
            for g, s in b.get(key, {}).items():
                lines.append(row(f"{key[3:]}={g}", s))
        lines.append("")
    return "\n".join(lines)


def plot_results(results: dict[str, Any], path: Path) -> None:
    """Bar plot of accuracy per benchmark, and per subject/level where present."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values = [], []
    for name, b in results["benchmarks"].items():
        labels.append(name)
        values.append(b["accuracy"])
        for key in ("by_subject", "by_level"):
            for g, s in b.get(key, {}).items():
                labels.append(f"{name}:{key[3:]}={g}")
                values.append(s["accuracy"])
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(labels)), 4))
    ax.bar(range(len(labels)), values)
    ax.set_xticks(range(len(labels)), labels, rotation=75, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (pass@1)")
    ax.set_title(f"eval: {results['model']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_results(results: dict[str, Any], sample_rows: list[dict[str, Any]], out: Path) -> None:
    """eval.json, eval.md, samples.jsonl and eval.png under `out` (atomic writes)."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "eval.json", results)
    atomic_write_bytes(out / "eval.md", results_markdown(results).encode())
    atomic_write_bytes(out / "samples.jsonl", "".join(json.dumps(r) + "\n" for r in sample_rows).encode())
    plot_results(results, out / "eval.png")


__all__ = ["evaluate", "load_benchmark", "make_eval_backend", "pass_at_k", "results_markdown", "summarise"]
