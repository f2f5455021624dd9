"""`reasonmill eval` on a local tiny model and on an OpenAI-compatible loopback endpoint."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from reasonmill.benchmark_data import benchmark_file
from reasonmill.pipelines.evaluate import evaluate, load_benchmark, make_eval_backend, pass_at_k
from reasonmill.pipelines.train_cmd import eval_command

app = typer.Typer()
app.command("eval")(eval_command)
app.command("noop")(lambda: None)


def test_pass_at_k_estimator():
    assert pass_at_k(4, 0, 1) == 0.0 and pass_at_k(4, 4, 2) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25) and pass_at_k(4, 1, 2) == pytest.approx(0.5)


def test_benchmark_columns_are_found_or_mapped(tmp_path):
    rows = load_benchmark(benchmark_file("math500_test.jsonl"), limit=3)
    assert rows[0]["subject"] and rows[0]["level"] and rows[0]["answer"]
    f = tmp_path / "b.jsonl"
    f.write_text(json.dumps({"problem": "1+1?", "final": "2"}) + "\n")
    assert load_benchmark(f, answer="final")[0] == {
        "id": "1",
        "question": "1+1?",
        "answer": "2",
        "kind": "math",
        "subject": None,
        "level": None,
    }
    from reasonmill.errors import ReasonmillError

    with pytest.raises(ReasonmillError, match="answer column"):
        load_benchmark(f)


def test_eval_local_tiny_model_cli(tiny_model, tmp_path):
    out = tmp_path / "ev"
    res = CliRunner().invoke(app, ["eval", str(tiny_model), "--bench", str(benchmark_file("math500_test.jsonl")), "--limit", "3",
                                   "--samples", "2", "--max-tokens", "8", "--engine", "transformers", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    r = json.loads((out / "eval.json").read_text())["benchmarks"]["math500_test.jsonl"]
    assert (
        r["questions"] == 3
        and 0.0 <= r["accuracy"] <= r["pass@2"] <= 1.0
        and r["by_subject"]
        and r["by_level"]
    )
    assert (out / "eval.png").stat().st_size > 1000 and len(
        (out / "samples.jsonl").read_text().splitlines()
    ) == 6


def test_eval_loopback_endpoint_scores_against_gold(loopback, tmp_path):
    gold = {
        r["question"]: r["answer"]
        for r in load_benchmark(benchmark_file("gsm8k_test_first500.jsonl"), limit=6)
    }

    def responder(req):  # right on even-numbered samples for the first three questions, else wrong
        q = req.messages[-1]["content"].split("\n\n")[0]
        ok = q in list(gold)[:3] and req.sample % 2 == 0
        return f"<think>work</think> The answer is \\boxed{{{gold[q] if ok else '-1'}}}."

    with loopback(responder=responder) as server:
        backend = make_eval_backend(server.url, model_name="loopback")
        try:
            r = evaluate(
                backend,
                [benchmark_file("gsm8k_test_first500.jsonl")],
                samples=2,
                limit=6,
                out=tmp_path / "lb",
            )
        finally:
            backend.close()
    b = r["benchmarks"]["gsm8k_test_first500.jsonl"]
    assert (
        b["questions"] == 6 and b["accuracy"] == pytest.approx(3 / 12) and b["pass@2"] == pytest.approx(3 / 6)
    )
    assert "| all | 6 | 0.250 |" in (tmp_path / "lb" / "eval.md").read_text()
