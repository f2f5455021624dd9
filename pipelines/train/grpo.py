"""`reasonmill train grpo`: TRL's GRPOTrainer with our verifiers as rewards and the RL curricula.

Generation: vLLM where TRL supports it (`use_vllm: true`; `vllm.mode: colocate` inside the trainer,
or `server` against `trl vllm-serve --model MODEL`), plain transformers generation otherwise.

`CurriculumGRPOTrainer` hooks the curricula into TRL's loop:
  - a prompt scheduler (SEC, ADCL, or uniform) replaces TRL's RepeatSampler with a sampler that
    asks the scheduler for each generation batch's prompts, keeping TRL's layout (each prompt
    `num_generations` times, the block repeated `num_iterations × steps_per_generation` times);
  - after every rollout batch the scheduler observes the (gathered) dataset rows, rewards,
    advantages and verifier correctness: SEC updates Q from mean |advantage| per arm;
  - ADCL's estimator rolls out the next chunk with the current policy (TRL's own generation path);
  - online filtering drops prompt groups whose pass rate is outside [0.2, 0.8] and rolls out fresh
    prompts until the batch is full again, merging the rollouts into one training batch;
  - B-STaR's monitor reads every rollout batch and logs exploration, exploitation and balance.
Every reward function is wrapped in a recorder so the curricula see exactly what TRL saw.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from typing import Any

from reasonmill.errors import ReasonmillError
from reasonmill.pipelines.train.common import (
    callbacks,
    finish,
    load_model,
    load_tokenizer,
    peft_config,
    resume_checkpoint,
    trl_config,
)
from reasonmill.pipelines.train.config import TrainConfig
from reasonmill.pipelines.train.curricula import curriculum_params
from reasonmill.pipelines.train.curricula.base import PromptScheduler
from reasonmill.pipelines.train.curricula.bstar import BStarMonitor, bstar_callback, group_samples
from reasonmill.pipelines.train.curricula.filtering import BatchFiller, FilterParams, pass_rates
from reasonmill.pipelines.train.data import load_train_dataset
from reasonmill.pipelines.train.rewards import make_rewards
from reasonmill.verifiers.rewards import AccuracyReward, completion_text


class RecordingReward:
    """A reward function that remembers its last inputs and outputs (under the wrapped name)."""

    def __init__(self, func: Callable[..., list[float | None]]) -> None:
        self.func = func
        self.__name__ = getattr(func, "__name__", type(func).__name__)
        self.last: list[float | None] = []
        self.last_completions: list[Any] = []

    def __call__(self, *args: Any, **kwargs: Any) -> list[float | None]:
        """Call the wrapped reward and keep its result."""
        out = self.func(*args, **kwargs)
        self.last = list(out)
        self.last_completions = list(kwargs.get("completions", args[0] if args else []))
        return out


class CurriculumSampler:
    """TRL's RepeatSampler layout, with each generation batch's prompts chosen by a scheduler."""

    def __init__(
        self, scheduler: PromptScheduler, prompts_per_batch: int, mini_repeat: int, repeat: int, batches: int
    ) -> None:
        self.scheduler, self.k, self.mini, self.repeat, self.batches = (
            scheduler,
            prompts_per_batch,
            mini_repeat,
            repeat,
            batches,
        )

    def __iter__(self) -> Iterator[int]:
        for _ in range(self.batches):
            idx = self.scheduler.next_prompts(self.k)
            for _ in range(self.repeat):
                for i in idx:
                    for _ in range(self.mini):
                        yield i

    def __len__(self) -> int:
        return self.batches * self.k * self.mini * self.repeat


def _pad_to(t: Any, length: int, value: float, left: bool) -> Any:
    import torch

    if t.shape[1] == length:
        return t
    pad = torch.full((t.shape[0], length - t.shape[1], *t.shape[2:]), value, dtype=t.dtype, device=t.device)
    return torch.cat([pad, t] if left else [t, pad], dim=1)


def merge_rollouts(parts: list[tuple[dict[str, Any], list[int]]], group: int, pad_id: int) -> dict[str, Any]:
    """One training batch from groups of several rollout batches: `parts` = [(output, group numbers)].

    Row tensors are selected per group and concatenated; prompts are left-padded and completions
    right-padded to a common length (as TRL pads them); `num_items_in_batch` is recounted.
    """
    import torch

    outs = [o for o, _ in parts]
    rows_of = [[g * group + j for g in gs for j in range(group)] for _, gs in parts]
    merged: dict[str, Any] = {}
    for key, first in outs[0].items():
        if not isinstance(first, torch.Tensor) or first.dim() == 0:
            continue
        pieces = [
            o[key][torch.tensor(r, dtype=torch.long, device=o[key].device)]
            for o, r in zip(outs, rows_of, strict=True)
        ]
        if first.dim() >= 2:
            length = max(p.shape[1] for p in pieces)
            left = key.startswith("prompt")
            value = pad_id if key in ("prompt_ids", "completion_ids") else 0
            pieces = [_pad_to(p, length, value, left) for p in pieces]
        merged[key] = torch.cat(pieces, dim=0)
    mask = (
        merged["completion_mask"]
        if "tool_mask" not in merged
        else merged["completion_mask"] * merged["tool_mask"]
    )
    merged["num_items_in_batch"] = mask.sum()
    return merged


def _trainer_class() -> type:
    from trl import GRPOTrainer

    class CurriculumGRPOTrainer(GRPOTrainer):
        """GRPOTrainer driven by a prompt scheduler, with optional online filtering and B-STaR."""

        def setup_curriculum(
            self,
            scheduler: PromptScheduler | None,
            accuracy: RecordingReward,
            recorders: list[RecordingReward],
            batch_filter: FilterParams | None = None,
            bstar: BStarMonitor | None = None,
            estimate_samples: int = 4,
        ) -> None:
            self.scheduler = scheduler
            self.accuracy = accuracy
            self.recorders = recorders
            self.batch_filter = batch_filter
            self.bstar = bstar
            self.estimate_samples = estimate_samples
            self.refill = scheduler or PromptScheduler(len(self.train_dataset), self.args.seed + 1)
            self.curriculum_log: list[dict[str, Any]] = []
            if scheduler is not None:
                scheduler.set_estimator(self.estimate_pass_rates)

        def _get_train_sampler(self, dataset: Any = None) -> Any:
            if getattr(self, "scheduler", None) is None:
                return super()._get_train_sampler(dataset)
            ds = dataset if dataset is not None else self.train_dataset
            k = self.args.generation_batch_size // self.num_generations
            return CurriculumSampler(
                self.scheduler,
                k,
                self.num_generations,
                self.num_iterations * self.args.steps_per_generation,
                max(1, len(ds) // k),
            )

        def estimate_pass_rates(self, indices: list[int]) -> list[float]:
            """Pass rates of `indices` with the current policy (TRL's generation path; metrics untouched)."""
            metrics = copy.deepcopy(self._metrics)
            seen = self.state.num_input_tokens_seen
            rows = [self.train_dataset[i] for i in indices]
            k = self.estimate_samples
            rates: list[float] = []
            step = max(1, self.args.generation_batch_size // k)
            for s in range(0, len(rows), step):
                part = rows[s : s + step]
                prompts = [r["prompt"] for r in part for _ in range(k)]
                completions = self._generate(prompts)[3]
                correct = self.accuracy.func(
                    completions=completions,
                    solution=[r["solution"] for r in part for _ in range(k)],
                    kind=[r["kind"] for r in part for _ in range(k)],
                )
                rates += [r if r is not None else 0.0 for r in pass_rates(correct, k)]
            self._metrics, self.state.num_input_tokens_seen = metrics, seen
            return rates

        def _score(self, inputs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
            out = super()._generate_and_score_completions(inputs)
            rec: dict[str, list[Any]] = {r.__name__: list(r.last) for r in self.recorders}
            comps = list(self.recorders[0].last_completions)
            if self.accuracy in self.recorders:
                corr = list(self.accuracy.last)
            else:
                corr = self.accuracy(
                    completions=comps,
                    solution=[x["solution"] for x in inputs],
                    kind=[x["kind"] for x in inputs],
                )
            # correctness: length-aware accuracy is > 0 exactly when the answer verified
            rec["__correct__"] = [None if c is None else float(c > 0) for c in corr]
            rec["__completions__"] = comps
            return out, rec

        def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
            if not self.model.training or getattr(self, "scheduler", "unset") == "unset":
                return super()._generate_and_score_completions(inputs)
            g = self.num_generations
            if self.batch_filter is None:
                out, rec = self._score(inputs)
                self._observe(inputs, out["advantages"].tolist(), rec)
                return out
            if self.accelerator.num_processes > 1:
                raise ReasonmillError(
                    "online_filter runs on one process (it regroups rollouts); drop it or use one GPU"
                )
            filler = BatchFiller(len(inputs) // g, self.batch_filter)
            rounds: list[tuple[list[dict[str, Any]], dict[str, Any], dict[str, list[Any]]]] = []
            batch = inputs
            while True:
                out, rec = self._score(batch)
                rates = pass_rates(rec["__correct__"], g)
                filler.offer([(len(rounds), j) for j in range(len(rates))], rates)
                rounds.append((batch, out, rec))
                if filler.full:
                    break
                fresh = self.refill.next_prompts(filler.missing)
                batch = [self.train_dataset[i] for i in fresh for _ in range(g)]
            chosen = filler.result()
            by_round: dict[int, list[int]] = {}
            for r, j in chosen:
                by_round.setdefault(r, []).append(j)
            parts = [(rounds[r][1], js) for r, js in sorted(by_round.items())]
            merged = merge_rollouts(
                parts,
                g,
                self.processing_class.pad_token_id if hasattr(self.processing_class, "pad_token_id") else 0,
            )
            kept_inputs: list[dict[str, Any]] = []
            kept_rec: dict[str, list[Any]] = {k: [] for k in rounds[0][2]}
            for r, js in sorted(by_round.items()):
                for j in js:
                    sl = slice(j * g, (j + 1) * g)
                    kept_inputs += rounds[r][0][sl]
                    for key in kept_rec:
                        kept_rec[key] += rounds[r][2][key][sl]
            self._metrics["train"]["curriculum/filter_rounds"].append(float(len(rounds)))
            self._metrics["train"]["curriculum/filter_kept_in_band"].append(float(len(filler.kept)))
            self._observe(kept_inputs, merged["advantages"].tolist(), kept_rec)
            return merged

        def _observe(
            self, inputs: list[dict[str, Any]], advantages: list[float], rec: dict[str, list[Any]]
        ) -> None:
            from accelerate.utils import gather_object

            from reasonmill.verifiers.extract import extract_answer

            idx = gather_object([int(x["row_index"]) for x in inputs])
            adv = gather_object([float(a) for a in advantages])
            correct = gather_object(list(rec["__correct__"]))
            weights = list(self.reward_weights.tolist())
            names = [r.__name__ for r in self.recorders]
            local_total = [
                sum(w * (rec[n][i] or 0.0) for w, n in zip(weights, names, strict=True))
                for i in range(len(inputs))
            ]
            total = gather_object(local_total)
            if self.scheduler is not None:
                self.scheduler.observe(idx, total, adv, correct)
                q = getattr(self.scheduler, "q", None)
                if q:
                    for arm, v in q.items():
                        self._metrics["train"][f"curriculum/q/{arm}"].append(float(v))
            if self.bstar is not None:
                answers = gather_object([extract_answer(completion_text(c)) for c in rec["__completions__"]])
                rep = self.bstar.observe_groups(group_samples(answers, correct, total, self.num_generations))
                self._metrics["train"]["bstar/balance"].append(rep.balance)
            self.curriculum_log.append({"step": self.state.global_step, "rows": idx[:: self.num_generations]})

        def _save_checkpoint(self, model: Any, trial: Any) -> None:
            super()._save_checkpoint(model, trial)
            if getattr(self, "scheduler", None) is not None:
                import json
                from pathlib import Path

                from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

                folder = (
                    Path(self._get_output_dir(trial=trial))
                    / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
                )
                if folder.is_dir():
                    (folder / "curriculum_state.json").write_text(
                        json.dumps(self.scheduler.state_dict(), default=list)
                    )

    return CurriculumGRPOTrainer


def make_scheduler(config: TrainConfig, rows: list[dict[str, Any]]) -> tuple[PromptScheduler | None, Any]:
    """The prompt scheduler the config's curriculum asks for (None: TRL's own sampler), and its params."""
    cur = config.curriculum
    if cur is None:
        return None, None
    params = curriculum_params(cur.name, "grpo", cur.params)
    if cur.name == "sec":
        from reasonmill.pipelines.train.curricula.sec import make_sec

        return make_sec(rows, params, config.seed), params
    if cur.name == "adcl":
        from reasonmill.pipelines.train.curricula.adcl import ADCLScheduler

        return ADCLScheduler([float(r["difficulty"]) for r in rows], params, config.seed), params
    return PromptScheduler(len(rows), config.seed), params  # online_filter, bstar: uniform prompts


def build_grpo_trainer(config: TrainConfig, model: Any = None, tokenizer: Any = None) -> Any:
    """The configured GRPO trainer with rewards, curriculum hooks and generation backend."""
    from trl import GRPOConfig

    ds = load_train_dataset(config.corpus, config.subset_name, config.limit_rows)
    ds = ds.add_column("row_index", list(range(len(ds))))
    tok = tokenizer or load_tokenizer(config.model)
    model = model if model is not None else load_model(config)
    rewards = make_rewards(config)
    recorders = [RecordingReward(f) for f in rewards]
    accuracy = next((r for r in recorders if type(r.func) is AccuracyReward), None)
    accuracy = accuracy or next((r for r in recorders if isinstance(r.func, AccuracyReward)), None)
    if accuracy is None:  # the curricula need verifier correctness even when it is not a reward
        accuracy = RecordingReward(
            AccuracyReward(workers=config.reward_workers, timeout_s=config.reward_timeout_s)
        )
    vllm = config.vllm
    fields: dict[str, Any] = {
        "num_generations": config.num_generations,
        "max_completion_length": config.max_completion_length,
        "temperature": config.temperature,
        "beta": 0.0 if config.beta is None else config.beta,
        "use_vllm": config.use_vllm,
        "log_completions": False,
    }
    if config.reward_weights is not None:
        fields["reward_weights"] = config.reward_weights
    if config.use_vllm:
        fields.update(
            vllm_mode=vllm.mode,
            vllm_server_base_url=vllm.server_base_url,
            vllm_server_host=vllm.server_host,
            vllm_server_port=vllm.server_port,
            vllm_server_timeout=vllm.server_timeout,
            vllm_gpu_memory_utilization=vllm.gpu_memory_utilization,
            vllm_tensor_parallel_size=vllm.tensor_parallel_size,
            vllm_max_model_length=vllm.max_model_length,
            vllm_enable_sleep_mode=vllm.enable_sleep_mode,
        )
    args = trl_config(GRPOConfig, config, **fields)
    rows = ds.select_columns([c for c in ("difficulty", "level", "source") if c in ds.column_names]).to_list()
    scheduler, params = make_scheduler(config, rows)
    trainer = _trainer_class()(
        model=model,
        reward_funcs=recorders,
        args=args,
        train_dataset=ds,
        processing_class=tok,
        peft_config=peft_config(config),
        callbacks=callbacks(config),
    )
    name = config.curriculum.name if config.curriculum else None
    bstar = BStarMonitor(params) if name == "bstar" else None
    if bstar is not None:
        trainer.add_callback(bstar_callback(bstar))
    trainer.setup_curriculum(
        scheduler,
        accuracy,
        recorders,
        batch_filter=params if name == "online_filter" else None,
        bstar=bstar,
        estimate_samples=getattr(params, "estimate_samples", 4),
    )
    return trainer


def train_grpo(config: TrainConfig) -> dict[str, Any]:
    """Run GRPO end to end; return the run summary."""
    started = time.time()
    trainer = build_grpo_trainer(config)
    ckpt = resume_checkpoint(config)
    if ckpt and trainer.scheduler is not None:
        import json
        from pathlib import Path

        state = Path(ckpt) / "curriculum_state.json"
        if state.exists():
            trainer.scheduler.load_state_dict(json.loads(state.read_text()))
    trainer.train(resume_from_checkpoint=ckpt)
    extra = {}
    if trainer.scheduler is not None:
        extra["curriculum_state"] = trainer.scheduler.state_dict()
        extra["curriculum_state"].pop("rng", None)
    return finish(trainer, config, started, extra)


__all__ = ["CurriculumSampler", "RecordingReward", "build_grpo_trainer", "merge_rollouts", "train_grpo"]
