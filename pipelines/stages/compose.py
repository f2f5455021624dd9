"""Multi-hop composition: combine seeds of one shard into harder problems by named principles.

Each rule of `config.compose.rules` creates `count` items in total, spread evenly over the
procedural seed shards (the shard plan says how many). Item `j` of a rule draws its parents from
its shard's seeds with `item_rng("compose:<principle>", seed, j)`; a draw the principle cannot
combine (e.g. a non-integer answer to bridge) is redrawn up to `MAX_DRAWS` times, and the misses
are tallied (`compose_redraws`, `compose_failed`). Seeds pass through unchanged when `keep_seeds`
is set, else they end as `composed_away` rejections, so every seed read is accounted for.

With `compose.llm`, the MindGYM sub-questions of each background sample in the shard (grouped by
`problem.meta["mindgym"]["sample"]`, two or more needed) are composed by the LLM
(`reasonmill.generators.llm_tasks.multihop`) under `per_sample` principles drawn without
replacement by `item_rng("llm_compose", seed, sample)`. Item (sample t, principle p) has index
`3 t + position of p in LLM_PRINCIPLES`. A malformed, truncated or failed reply, or an answer
inconsistent with the sub-answers, is a rejection that keeps the raw reply in `record.meta["llm"]`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from reasonmill.config import BuildConfig
from reasonmill.errors import ConfigError
from reasonmill.generators import PRINCIPLES
from reasonmill.generators.llm_tasks.mindgym import SubQuestion
from reasonmill.generators.llm_tasks.multihop import LLM_PRINCIPLES, ComposeJob, compose_many, render_compose
from reasonmill.generators.llm_tasks.parsing import infer_kind
from reasonmill.llm.types import SamplingParams
from reasonmill.pipelines.context import StageContext
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import AnswerKind, Problem, Record, Rejection
from reasonmill.rng import item_rng

MAX_DRAWS = 20


class ComposeStage(Stage):
    """Seeds in, seeds plus composed items out."""

    name = "compose"
    version = "1"
    sections = ("compose",)

    def __init__(self, ctx: StageContext) -> None:
        super().__init__(ctx)
        config = ctx.config
        for i, rule in enumerate(config.compose.rules):
            if rule.principle not in PRINCIPLES:
                raise ConfigError(
                    f"compose.rules[{i}].principle",
                    f"unknown principle '{rule.principle}'; known: {', '.join(PRINCIPLES.names())}",
                )
            p = PRINCIPLES.get(rule.principle)
            if rule.hops < p.min_hops:
                raise ConfigError(
                    f"compose.rules[{i}].hops", f"{rule.principle} needs at least {p.min_hops} hops"
                )
        if config.compose.llm is not None:
            for i, name in enumerate(config.compose.llm.principles):
                if name not in LLM_PRINCIPLES:
                    raise ConfigError(
                        f"compose.llm.principles[{i}]",
                        f"unknown LLM principle '{name}'; known: {', '.join(LLM_PRINCIPLES)}",
                    )
        # Synthesized seeds live in shards after the procedural ones; rules only use those.
        self.rule_shards = max(1, min(ctx.plan.num_shards, ctx.plan.procedural_shards))

    @classmethod
    def backends(cls, config: BuildConfig) -> list[str]:
        return [config.compose.llm.backend] if config.compose.llm else []

    @classmethod
    def prompts(cls, config: BuildConfig) -> list[Callable[..., Any]]:
        return [render_compose]

    def _share(self, total: int, shard: int) -> range:
        n = self.rule_shards
        if shard >= n:
            return range(0)
        start = shard * total // n
        return range(start, (shard + 1) * total // n)

    def run(self, records: list[Record], shard: int) -> Iterator[Output]:
        for rec in records:
            if self.config.compose.keep_seeds:
                yield rec
            else:
                yield Rejection(rec, self.name, "composed_away", "compose.keep_seeds is false")
        yield from self._compose_llm([s for s in records if "mindgym" in s.problem.meta])
        seeds = [s for s in records if "mindgym" not in s.problem.meta]
        for rule in self.config.compose.rules:
            principle = PRINCIPLES.get(rule.principle)
            if len(seeds) < rule.hops:
                continue
            for j in self._share(rule.count, shard):
                rng = item_rng(f"compose:{rule.principle}", self.config.seed, j)
                for _ in range(MAX_DRAWS):
                    parents = rng.sample(seeds, rule.hops)
                    problem = principle.compose(rng, parents)
                    if problem is not None:
                        break
                    self.count("compose_redraws")
                else:
                    self.count("compose_failed")
                    continue
                ids = [p.id for p in parents]
                yield Record(
                    id=Record.make_id(rule.principle, self.config.seed, j, problem, ids),
                    source=rule.principle,
                    seed=self.config.seed,
                    index=j,
                    level=max(p.level for p in parents),
                    problem=problem,
                    parents=ids,
                    principle=rule.principle,
                    meta={"compose": {"hops": rule.hops}},
                )

    def _compose_llm(self, seeds: list[Record]) -> Iterator[Output]:
        cfg = self.config.compose.llm
        if cfg is None or not seeds:
            return
        groups: dict[int, list[Record]] = {}
        for rec in seeds:
            groups.setdefault(int(rec.problem.meta["mindgym"]["sample"]), []).append(rec)
        jobs: list[tuple[int, str, list[Record], ComposeJob]] = []
        for t, recs in sorted(groups.items()):
            if len(recs) < 2:
                self.count("llm_compose_too_few_subs")
                continue
            recs.sort(key=lambda r: r.index)
            subs = [SubQuestion(r.problem.meta["mindgym"]["sub_question"], r.problem.answer) for r in recs]
            background = recs[0].problem.meta["mindgym"]["background"]
            rng = item_rng("llm_compose", self.config.seed, t)
            for name in rng.sample(cfg.principles, min(cfg.per_sample, len(cfg.principles))):
                jobs.append((t, name, recs, ComposeJob(name, background, subs)))
        if not jobs:
            return
        sampling = SamplingParams(
            temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens, seed=self.config.seed
        )
        results = compose_many(self.backend(cfg.backend), [j for *_, j in jobs], sampling)
        order = list(LLM_PRINCIPLES)
        for (t, name, recs, job), res in zip(jobs, results, strict=True):
            index = len(order) * t + order.index(name)
            ids = [r.id for r in recs]
            info = {
                "sample": t,
                "area": recs[0].problem.meta["mindgym"]["area"],
                "background": job.background,
                "hops": len(recs),
            }
            question = f"{job.background}\n\n{res.qa.question}" if res.qa else job.background
            answer = res.qa.answer if res.qa else ""
            problem = Problem(
                question,
                answer,
                infer_kind(answer) if answer else AnswerKind.FREE_FORM.value,
                meta={
                    "mindgym_compose": {
                        **info,
                        "check": res.check,
                        "reasoning": res.qa.reasoning if res.qa else "",
                    }
                },
            )
            rec = Record(
                id=Record.make_id(f"mindgym_compose:{name}", self.config.seed, index, problem, ids),
                source="mindgym_compose",
                seed=self.config.seed,
                index=index,
                level=len(recs),
                problem=problem,
                parents=ids,
                principle=name,
                meta={"compose": {"hops": len(recs), "llm": True}},
            )
            if res.problem is not None:
                rec.meta["llm"] = res.problem.as_meta()
                yield Rejection(
                    rec,
                    self.name,
                    res.problem.reason,
                    f"{res.problem.detail}; raw: {res.problem.raw[:1000]!r}",
                )
                continue
            yield rec


STAGES.register(ComposeStage.name, ComposeStage)
