"""The `reasonmill train {sft,dpo,grpo}` and `reasonmill eval` commands.

    reasonmill train sft  CORPUS --model MODEL --out DIR [CONFIG] [--max-steps N] [--lora] ...
    reasonmill train dpo  CORPUS --model MODEL --out DIR [CONFIG] [--beta 0.1] ...
    reasonmill train grpo CORPUS --model MODEL --out DIR [CONFIG] [--curriculum sec] [--use-vllm] ...
    reasonmill eval MODEL_OR_URL --bench FILE [--bench FILE ...] [--samples 4] [--out DIR]

CORPUS is a build folder or its corpus/ folder; MODEL a local folder or a model name. CONFIG is an
optional YAML file with any `TrainConfig` field; command-line options win over it. Multi-GPU:
`accelerate launch --config_file data/configs/accelerate/multi_gpu.yaml -m reasonmill.pipelines.train_cmd
grpo CORPUS --model MODEL --out DIR`. Bad input prints one line naming the field or file, exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from reasonmill.errors import ReasonmillError

train_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Train on a corpus with TRL: sft, dpo, grpo."
)
console = Console()


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


Corpus = Annotated[Path, typer.Argument(help="A build folder or its corpus/ folder.")]
Config = Annotated[Path | None, typer.Argument(help="Optional YAML file of train-config fields.")]
Model = Annotated[str | None, typer.Option("--model", "-m", help="Local model folder or model name.")]
Out = Annotated[
    Path | None, typer.Option("--out", "-o", help="Output folder: checkpoints, logs, final model.")
]
MaxSteps = Annotated[int | None, typer.Option(help="Optimiser steps (-1: run the epochs).")]
Epochs = Annotated[float | None, typer.Option(help="Epochs over the subset.")]
LR = Annotated[
    float | None, typer.Option("--lr", "--learning-rate", help="Learning rate (TRL's default per trainer).")
]
Batch = Annotated[int | None, typer.Option(help="Per-device batch size.")]
Accum = Annotated[int | None, typer.Option("--grad-accum", help="Gradient accumulation steps.")]
MaxLen = Annotated[int | None, typer.Option(help="SFT/DPO: longest tokenised sequence.")]
Lora = Annotated[bool, typer.Option("--lora", help="Train a LoRA adapter (peft) instead of all weights.")]
LoraR = Annotated[int | None, typer.Option(help="LoRA rank (with --lora).")]
BF16 = Annotated[str | None, typer.Option(help="bf16: auto (when the device has it), true, false.")]
Resume = Annotated[
    str | None, typer.Option(help="'latest' (newest checkpoint in --out) or a checkpoint folder.")
]
SaveSteps = Annotated[int | None, typer.Option(help="Save a checkpoint every N steps.")]
Seed = Annotated[int | None, typer.Option(help="Random seed.")]
Curriculum = Annotated[str | None, typer.Option(help="Curriculum name (see `reasonmill train curricula`).")]
Subset = Annotated[str | None, typer.Option(help="Corpus subset (default by trainer).")]
ReportTo = Annotated[str | None, typer.Option(help="Comma list of jsonl, tensorboard.")]
Limit = Annotated[int | None, typer.Option(help="Use only the first N rows (smoke runs).")]


def _run(
    trainer: str, corpus: Path, config: Path | None, model: str | None, out: Path | None, **opts: Any
) -> None:
    from reasonmill.pipelines.train import load_train_config, train

    lora = opts.pop("lora", False)
    lora_r = opts.pop("lora_r", None)
    curriculum = opts.pop("curriculum", None)
    report_to = opts.pop("report_to", None)
    resume = opts.pop("resume", None)
    try:
        overrides: dict[str, Any] = {
            "trainer": trainer,
            "corpus": str(corpus),
            "model": model,
            "out": str(out) if out else None,
            **opts,
        }
        if lora or lora_r:
            overrides["lora"] = {"r": lora_r} if lora_r else {}
        if curriculum:
            overrides["curriculum"] = {"name": curriculum}
        if report_to:
            overrides["report_to"] = [s.strip() for s in report_to.split(",") if s.strip()]
        if resume:
            overrides["resume"] = True if resume in ("latest", "true") else resume
        cfg = load_train_config(config, **overrides)
        if config is not None and curriculum:  # keep the file's curriculum params when only the name is given
            import yaml

            file_cur = (yaml.safe_load(config.read_text()) or {}).get("curriculum") or {}
            if file_cur.get("name") == curriculum:
                cfg = cfg.model_copy(update={"curriculum": type(cfg.curriculum).model_validate(file_cur)})
        summary = train(cfg)
    except ReasonmillError as e:
        _fail(e)
        return
    console.print(
        f"[bold green]{trainer}[/] {summary['steps']} steps, train loss {summary['train_loss']:.4f}, "
        f"{summary['steps_per_s']:.3f} steps/s; final model: {summary['final']}"
    )


@train_app.command("sft")
def sft(
    corpus: Corpus,
    config: Config = None,
    model: Model = None,
    out: Out = None,
    max_steps: MaxSteps = None,
    epochs: Epochs = None,
    lr: LR = None,
    batch_size: Batch = None,
    grad_accum: Accum = None,
    max_length: MaxLen = None,
    lora: Lora = False,
    lora_r: LoraR = None,
    bf16: BF16 = None,
    resume: Resume = None,
    save_steps: SaveSteps = None,
    seed: Seed = None,
    curriculum: Curriculum = None,
    subset: Subset = None,
    report_to: ReportTo = None,
    limit_rows: Limit = None,
) -> None:
    """Supervised fine-tuning (TRL SFTTrainer) on the conversational corpus; curricula: masked_thought, mindgym."""
    _run("sft", corpus, config, model, out, max_steps=max_steps, epochs=epochs, learning_rate=lr, batch_size=batch_size,
         grad_accum=grad_accum, max_length=max_length, lora=lora, lora_r=lora_r, bf16=bf16, resume=resume,
         save_steps=save_steps, seed=seed, curriculum=curriculum, subset=subset, report_to=report_to, limit_rows=limit_rows)  # fmt: skip


@train_app.command("dpo")
def dpo(
    corpus: Corpus,
    config: Config = None,
    model: Model = None,
    out: Out = None,
    max_steps: MaxSteps = None,
    epochs: Epochs = None,
    lr: LR = None,
    batch_size: Batch = None,
    grad_accum: Accum = None,
    max_length: MaxLen = None,
    beta: Annotated[float | None, typer.Option(help="DPO beta (default 0.1).")] = None,
    lora: Lora = False,
    lora_r: LoraR = None,
    bf16: BF16 = None,
    resume: Resume = None,
    save_steps: SaveSteps = None,
    seed: Seed = None,
    subset: Subset = None,
    report_to: ReportTo = None,
    limit_rows: Limit = None,
) -> None:
    """Direct preference optimisation (TRL DPOTrainer) on verified-vs-wrong trace pairs."""
    _run("dpo", corpus, config, model, out, max_steps=max_steps, epochs=epochs, learning_rate=lr, batch_size=batch_size,
         grad_accum=grad_accum, max_length=max_length, beta=beta, lora=lora, lora_r=lora_r, bf16=bf16, resume=resume,
         save_steps=save_steps, seed=seed, subset=subset, report_to=report_to, limit_rows=limit_rows)  # fmt: skip


@train_app.command("grpo")
def grpo(
    corpus: Corpus,
    config: Config = None,
    model: Model = None,
    out: Out = None,
    max_steps: MaxSteps = None,
    epochs: Epochs = None,
    lr: LR = None,
    batch_size: Batch = None,
    grad_accum: Accum = None,
    num_generations: Annotated[int | None, typer.Option(help="Completions per prompt.")] = None,
    max_completion_length: Annotated[int | None, typer.Option(help="Longest generated completion.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    rewards: Annotated[
        str | None, typer.Option(help="Comma list of reward names (accuracy, format, length_aware).")
    ] = None,
    beta: Annotated[float | None, typer.Option(help="KL coefficient (default 0).")] = None,
    use_vllm: Annotated[
        bool, typer.Option("--use-vllm", help="Generate with vLLM (TRL's use_vllm).")
    ] = False,
    vllm_mode: Annotated[
        str | None, typer.Option(help="colocate, or server (a running `trl vllm-serve`).")
    ] = None,
    vllm_server: Annotated[str | None, typer.Option(help="vLLM server base URL (vllm_mode=server).")] = None,
    lora: Lora = False,
    lora_r: LoraR = None,
    bf16: BF16 = None,
    resume: Resume = None,
    save_steps: SaveSteps = None,
    seed: Seed = None,
    curriculum: Curriculum = None,
    subset: Subset = None,
    report_to: ReportTo = None,
    limit_rows: Limit = None,
) -> None:
    """GRPO (TRL GRPOTrainer) with the verifiers as rewards; curricula: sec, adcl, online_filter, bstar."""
    vllm: dict[str, Any] = {}
    if vllm_mode:
        vllm["mode"] = vllm_mode
    if vllm_server:
        vllm["server_base_url"] = vllm_server
    _run("grpo", corpus, config, model, out, max_steps=max_steps, epochs=epochs, learning_rate=lr, batch_size=batch_size,
         grad_accum=grad_accum, num_generations=num_generations, max_completion_length=max_completion_length,
         temperature=temperature, beta=beta, use_vllm=use_vllm or None, vllm=vllm or None, lora=lora, lora_r=lora_r,
         bf16=bf16, resume=resume, save_steps=save_steps, seed=seed, curriculum=curriculum, subset=subset,
         report_to=report_to, limit_rows=limit_rows,
         rewards=[r.strip() for r in rewards.split(",")] if rewards else None)  # fmt: skip


@train_app.command("curricula")
def curricula() -> None:
    """List the curricula, the trainer each applies to, and their default params."""
    from rich.table import Table

    from reasonmill.pipelines.train.curricula import CURRICULA

    table = Table(title="curricula")
    for col in ("name", "trainer", "what", "defaults"):
        table.add_column(col)
    for name, e in CURRICULA.items():
        table.add_row(name, ", ".join(e.trainers), e.description, str(e.params().model_dump()))
    console.print(table)


def eval_command(
    target: Annotated[
        str,
        typer.Argument(help="A local model folder, or an OpenAI-compatible base URL (http://host:port/v1)."),
    ],
    bench: Annotated[
        list[Path], typer.Option("--bench", "-b", help="Benchmark file (JSONL or Parquet); repeatable.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for eval.json, eval.md, eval.png, samples.jsonl."),
    ] = None,
    model_name: Annotated[str | None, typer.Option(help="Model name to request from an endpoint.")] = None,
    engine: Annotated[
        str, typer.Option(help="Local models: auto (vLLM when importable), vllm, transformers.")
    ] = "auto",
    samples: Annotated[int, typer.Option(help="Completions per question (pass@k up to this k).")] = 1,
    temperature: Annotated[
        float, typer.Option(help="Sampling temperature (at least 0.6 when samples > 1).")
    ] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Longest completion.")] = 1024,
    question_column: Annotated[
        str | None, typer.Option(help="Question column (default: question/problem/prompt).")
    ] = None,
    answer_column: Annotated[
        str | None, typer.Option(help="Answer column (default: answer/final_answer/solution).")
    ] = None,
    kind: Annotated[str, typer.Option(help="Answer kind when the file has no `kind` column.")] = "math",
    limit: Annotated[int | None, typer.Option(help="First N questions of each file.")] = None,
    workers: Annotated[int, typer.Option(help="Verifier worker processes.")] = 2,
) -> None:
    """Score a model or endpoint on benchmark files with the verifiers: accuracy, pass@k, length, per subject/level."""
    from reasonmill.pipelines.evaluate import evaluate, make_eval_backend

    try:
        backend = make_eval_backend(target, model_name=model_name, engine=engine)
        try:
            res = evaluate(backend, list(bench), samples=samples, temperature=temperature, max_tokens=max_tokens,
                           question_column=question_column, answer_column=answer_column, kind=kind, limit=limit,
                           workers=workers, out=out)  # fmt: skip
        finally:
            backend.close()
    except ReasonmillError as e:
        _fail(e)
        return
    for name, b in res["benchmarks"].items():
        ks = " ".join(f"{k} {v:.3f}" for k, v in b.items() if k.startswith("pass@"))
        console.print(
            f"[bold]{name}[/]: {b['questions']} questions, accuracy {b['accuracy']:.3f}, {ks}, mean length {b['mean_length']:.1f}"
        )
    if out is not None:
        console.print(f"results: {out / 'eval.md'}, plot: {out / 'eval.png'}")


def main() -> None:
    """Entry point for `python -m reasonmill.pipelines.train_cmd` (e.g. under `accelerate launch`)."""
    train_app()


if __name__ == "__main__":
    main()


__all__ = ["eval_command", "train_app"]
