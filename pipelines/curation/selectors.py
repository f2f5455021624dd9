"""Selection methods from the research, each a registered selector named in config.

A selector sees the rows still in play (a pandas DataFrame in input order with the standard
columns: id, question, answer, completion, and when known difficulty, pass_rate, trace_tokens,
student_passed, student_k) and answers, per row, kept or (reason, detail), plus score columns it
computed (added to the output as `curation_<name>`). Selectors run in config order, each on the
survivors of the one before. Reasons: `not_selected` (ranked or filtered out), `unscored` (the
row lacks what the selector needs, or its judge call failed), `low_quality` (a trace check failed).

Registered (`SELECTORS`):

- `select2reason`: joint = w·rank_difficulty + (1 − w)·rank_length (ranks as fractions, 0 = the
  hardest / the longest), w = 0.25; keep the best (lowest joint) `fraction` = 10% (Select2Reason).
- `limo_hard`: keep rows a student solved `min_solved`..`max_solved` times of `k` = 32 (1–3),
  whose trace passes the checks (a final answer, no degenerate repetition, ≥ `min_trace_tokens`),
  optionally only the `count` best by LIMO's trace-quality signals (LIMO).
- `balanced_band`: pass rate in [0.2, 0.8], for RL (balanced online filtering).
- `judge_difficulty`: P("1") / (P("1") + P("0")) from an LLM judge asked "1 if difficult, 0 if
  not", first-token logprobs requested; keep score ≥ `min_score` and/or the top `fraction`.
- `diversity`: difficulty plus k-center greedy over question embeddings (s1): start at the hardest
  row, then repeatedly take the row maximising (distance to the chosen set) × difficulty^alpha.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reasonmill.errors import ConfigError
from reasonmill.llm.base import LLMBackend
from reasonmill.pipelines.curation.judge import ask, render_difficulty
from reasonmill.registry import Registry
from reasonmill.text import count_tokens
from reasonmill.verifiers.extract import extract

if TYPE_CHECKING:  # a type only: embed imports the config, which checks selector names
    from reasonmill.pipelines.curation.embed import ProgressFn


@dataclass(slots=True)
class SelectionContext:
    """What a selector may use besides the table: embeddings of the table's questions (computed on
    first call, aligned with the rows), LLM backends by name, a progress callback."""

    embeddings: Callable[[], np.ndarray]
    backends: Mapping[str, LLMBackend] = field(default_factory=dict)
    progress: ProgressFn | None = None


@dataclass(slots=True)
class Selection:
    """A selector's answer over n rows: `keep`, and for dropped rows `reasons`/`details`;
    `scores` are extra per-row columns (name → array of n floats, NaN where not computed)."""

    keep: np.ndarray
    reasons: list[str | None]
    details: list[str]
    scores: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def all_kept(cls, n: int) -> Selection:
        """n rows, all kept."""
        return cls(np.ones(n, dtype=bool), [None] * n, [""] * n)

    def drop(self, i: int, reason: str, detail: str) -> None:
        """Mark row `i` dropped."""
        self.keep[i] = False
        self.reasons[i] = reason
        self.details[i] = detail


class Params(BaseModel):
    """Base of selector parameter models: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Selector:
    """Base class: `name`, a `Params` model, and `select(table, params, ctx)`."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = Params
    needs_embeddings: ClassVar[bool] = False

    @classmethod
    def validate_params(cls, params: Mapping[str, Any], where: str = "params") -> BaseModel:
        """The validated parameters; a `ConfigError` naming the field otherwise."""
        try:
            return cls.Params.model_validate(dict(params))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{where}.{loc}" if loc else where, err["msg"]) from None

    def select(self, table: pd.DataFrame, params: Any, ctx: SelectionContext) -> Selection:
        """Decide every row of `table` (override)."""
        raise NotImplementedError


SELECTORS: Registry[type[Selector]] = Registry("selector")


def register(cls: type[Selector]) -> type[Selector]:
    """Class decorator: register a selector under its `name`."""
    SELECTORS.register(cls.name, cls)
    return cls


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    """A float column (NaN where missing or not a number); all NaN when the table lacks it."""
    if name not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)


def trace_lengths(table: pd.DataFrame, column: str = "trace_tokens") -> np.ndarray:
    """Trace length per row: `column` where present, else the approximate token count of the completion."""
    lengths = _column(table, column)
    if np.isnan(lengths).any():
        counted = np.array([count_tokens(str(c or "")) for c in table["completion"]], dtype=float)
        lengths = np.where(np.isnan(lengths), counted, lengths)
    return lengths


def _top(score: np.ndarray, eligible: np.ndarray, count: int) -> np.ndarray:
    """Mask of the `count` eligible rows with the lowest score (ties: input order)."""
    idx = np.flatnonzero(eligible)
    order = idx[np.argsort(score[idx], kind="stable")]
    mask = np.zeros(len(score), dtype=bool)
    mask[order[:count]] = True
    return mask


class _Amount(Params):
    fraction: float | None = Field(default=None, gt=0.0, le=1.0)
    count: int | None = Field(default=None, ge=1)

    def amount(self, n: int, default_fraction: float | None) -> int | None:
        """How many rows to keep out of n (None: no cut)."""
        if self.count is not None:
            return min(self.count, n)
        frac = self.fraction if self.fraction is not None else default_fraction
        return None if frac is None else max(1, math.ceil(frac * n)) if n else 0


# --- Select2Reason ---------------------------------------------------------------------------


class Select2ReasonParams(_Amount):
    """Select2Reason: weight of the difficulty rank (0.25), the share kept (10%) or a count."""

    weight: float = Field(default=0.25, ge=0.0, le=1.0)
    fraction: float | None = Field(default=0.10, gt=0.0, le=1.0)
    difficulty_column: str = "difficulty"
    length_column: str = "trace_tokens"


@register
class Select2Reason(Selector):
    """Rank by difficulty and by trace length; keep the best joint rank (see module doc)."""

    name = "select2reason"
    Params = Select2ReasonParams

    def select(self, table: pd.DataFrame, params: Any, ctx: SelectionContext) -> Selection:
        """Keep the `fraction` (or `count`) rows with the lowest joint rank."""
        n = len(table)
        out = Selection.all_kept(n)
        diff = _column(table, params.difficulty_column)
        length = trace_lengths(table, params.length_column)
        ok = ~np.isnan(diff)
        for i in np.flatnonzero(~ok).tolist():
            out.drop(i, "unscored", f"select2reason: no {params.difficulty_column}")
        joint = np.full(n, np.nan)
        if ok.any():
            sub = pd.DataFrame({"d": diff[ok], "l": length[ok]})
            m = int(ok.sum())
            # rank 0 = the hardest / the longest; ties share their average rank; scaled to [0, 1]
            rd = (sub["d"].rank(ascending=False, method="average").to_numpy() - 1) / max(m - 1, 1)
            rl = (sub["l"].rank(ascending=False, method="average").to_numpy() - 1) / max(m - 1, 1)
            joint[ok] = params.weight * rd + (1 - params.weight) * rl
        keep_n = params.amount(int(ok.sum()), 0.10)
        chosen = _top(joint, ok, keep_n if keep_n is not None else int(ok.sum()))
        for i in np.flatnonzero(ok & ~chosen).tolist():
            out.drop(i, "not_selected", f"select2reason: joint rank {joint[i]:.3f} not in the best {keep_n}")
        out.scores["select2reason"] = joint
        return out


# --- LIMO ------------------------------------------------------------------------------------

_VERIFY = re.compile(r"\b(?:check|verify|verifying|confirm|double-check|let me make sure|sanity)\b", re.I)
_EXPLORE = re.compile(
    r"\b(?:perhaps|maybe|alternatively|wait|might|suppose|what if|another approach)\b", re.I
)
_CONNECT = re.compile(r"\b(?:therefore|thus|so|because|since|hence)\b", re.I)


def repetition_share(text: str, n: int = 8) -> float:
    """Share of word n-grams that repeat an earlier one (degenerate loops score near 1).

    >>> repetition_share("a b c d e f g h i j"), round(repetition_share("x y " * 40), 2)
    (0.0, 0.97)
    """
    w = text.split()
    grams = [" ".join(w[i : i + n]) for i in range(len(w) - n + 1)]
    return 0.0 if not grams else 1.0 - len(set(grams)) / len(grams)


def trace_quality(text: str) -> float:
    """LIMO's trace-quality signals as one score: elaboration (log length), self-verification,
    exploration and connective density (per 100 words, each capped), higher is better."""
    nw = max(len(text.split()), 1)
    per100 = lambda rx: min(len(rx.findall(text)) * 100 / nw, 3.0) / 3.0  # noqa: E731
    return round(
        0.4 * min(math.log10(nw) / 4, 1.0)
        + 0.25 * per100(_VERIFY)
        + 0.2 * per100(_EXPLORE)
        + 0.15 * per100(_CONNECT),
        4,
    )


STATED_ANSWER = ("boxed", "answer_tag", "marker")
"""Extraction rules that mean the trace states its final answer (not a guess at the last number)."""


class LimoParams(Params):
    """LIMO hard set: solved min_solved..max_solved of k; trace checks; optional best `count`."""

    k: int = Field(default=32, ge=1)
    min_solved: int = Field(default=1, ge=0)
    max_solved: int = Field(default=3, ge=0)
    passed_column: str = "student_passed"
    k_column: str = "student_k"
    pass_rate_column: str = "pass_rate"
    min_trace_tokens: int = Field(default=64, ge=0)
    max_repetition: float = Field(default=0.3, ge=0.0, le=1.0)
    require_answer: bool = True
    count: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _order(self) -> LimoParams:
        if self.min_solved > self.max_solved:
            raise ValueError("min_solved must be ≤ max_solved")
        return self


@register
class LimoHard(Selector):
    """Keep the questions a student rarely solves, with a good trace (see module doc)."""

    name = "limo_hard"
    Params = LimoParams

    def select(self, table: pd.DataFrame, params: Any, ctx: SelectionContext) -> Selection:
        """Filter by solve count out of k, then by trace checks; optionally keep the best `count`."""
        n = len(table)
        out = Selection.all_kept(n)
        passed, k = _column(table, params.passed_column), _column(table, params.k_column)
        rate = _column(table, params.pass_rate_column)
        k = np.where(np.isnan(k), float(params.k), k)
        passed = np.where(np.isnan(passed), np.round(rate * k), passed)
        quality = np.full(n, np.nan)
        lengths = trace_lengths(table)
        for i in range(n):
            if np.isnan(passed[i]):
                out.drop(i, "unscored", f"limo_hard: no {params.passed_column} or {params.pass_rate_column}")
                continue
            solved, of = int(passed[i]), int(k[i])
            if of != params.k:  # another k: scale the band (1–3 of 32 ≈ 3.1%–9.4%)
                lo, hi = params.min_solved / params.k * of, params.max_solved / params.k * of
            else:
                lo, hi = params.min_solved, params.max_solved
            if not (lo <= solved <= hi):
                out.drop(
                    i,
                    "not_selected",
                    f"limo_hard: solved {solved}/{of}, outside {params.min_solved}–{params.max_solved} of {params.k}",
                )
                continue
            text = str(table["completion"].iat[i] or "")
            found = extract(text)
            if params.require_answer and (found is None or found.method not in STATED_ANSWER):
                out.drop(i, "low_quality", "limo_hard: the trace states no final answer")
            elif lengths[i] < params.min_trace_tokens:
                out.drop(
                    i,
                    "low_quality",
                    f"limo_hard: trace of {int(lengths[i])} tokens < {params.min_trace_tokens}",
                )
            elif (rep := repetition_share(text)) > params.max_repetition:
                out.drop(i, "low_quality", f"limo_hard: {rep:.0%} of the trace's 8-grams repeat")
            else:
                quality[i] = trace_quality(text)
        if params.count is not None:
            ok = out.keep.copy()
            chosen = _top(-np.nan_to_num(quality, nan=-1.0), ok, params.count)
            for i in np.flatnonzero(ok & ~chosen).tolist():
                out.drop(
                    i,
                    "not_selected",
                    f"limo_hard: trace quality {quality[i]:.3f} not in the best {params.count}",
                )
        out.scores["limo_quality"] = quality
        return out


# --- balanced band ---------------------------------------------------------------------------


class BandParams(Params):
    """Balanced band: keep pass rates in [low, high] (inclusive)."""

    low: float = Field(default=0.2, ge=0.0, le=1.0)
    high: float = Field(default=0.8, ge=0.0, le=1.0)
    pass_rate_column: str = "pass_rate"

    @model_validator(mode="after")
    def _order(self) -> BandParams:
        if self.low > self.high:
            raise ValueError("low must be ≤ high")
        return self


@register
class BalancedBand(Selector):
    """Keep rows whose student pass rate is in the band (neither solved always nor never)."""

    name = "balanced_band"
    Params = BandParams

    def select(self, table: pd.DataFrame, params: Any, ctx: SelectionContext) -> Selection:
        """Drop pass rates outside [low, high]; rows without one are `unscored`."""
        out = Selection.all_kept(len(table))
        rate = _column(table, params.pass_rate_column)
        for i, r in enumerate(rate.tolist()):
            if math.isnan(r):
                out.drop(i, "unscored", f"balanced_band: no {params.pass_rate_column}")
            elif r < params.low:
                out.drop(i, "not_selected", f"balanced_band: pass rate {r:.3f} below {params.low} (too hard)")
            elif r > params.high:
                out.drop(
                    i, "not_selected", f"balanced_band: pass rate {r:.3f} above {params.high} (too easy)"
                )
        return out


# --- judge difficulty ------------------------------------------------------------------------


class JudgeParams(_Amount):
    """Judge difficulty: which backend, the kept score floor and/or the kept share."""

    backend: str
    min_score: float | None = Field(default=0.5, ge=0.0, le=1.0)
    max_tokens: int = Field(default=8, ge=1)


@register
class JudgeDifficulty(Selector):
    """Score difficulty with an LLM judge's P("1") and keep the hard ones (see module doc)."""

    name = "judge_difficulty"
    Params = JudgeParams

    def select(self, table: pd.DataFrame, params: Any, ctx: SelectionContext) -> Selection:
        """One batched judge call over the rows; keep by `min_score` and/or `fraction`/`count`."""
        if params.backend not in ctx.backends:
            raise ConfigError(
                "selectors.judge_difficulty.backend",
                f"no LLM backend named {params.backend!r}; known: {', '.join(sorted(ctx.backends)) or '(none)'}",
            )
        n = len(table)
        out = Selection.all_kept(n)
        scores = ask(
            ctx.backends[params.backend],
            [render_difficulty(str(q)) for q in table["question"]],
            params.max_tokens,
        )
        value = np.array([np.nan if s.score is None else s.score for s in scores])
        for i, s in enumerate(scores):
            if s.score is None:
                out.drop(i, "unscored", f"judge_difficulty: {s.detail}")
            elif params.min_score is not None and s.score < params.min_score:
                out.drop(
                    i,
                    "not_selected",
                    f"judge_difficulty: P(difficult) {s.score:.3f} ({s.source}) < {params.min_score}",
                )
        keep_n = params.amount(int(out.keep.sum()), None)
        if keep_n is not None:
            ok = out.keep.copy()
            chosen = _top(-np.nan_to_num(value, nan=-1.0), ok, keep_n)
            for i in np.flatnonzero(ok & ~chosen).tolist():
                out.drop(
                    i,
                    "not_selected",
                    f"judge_difficulty: P(difficult) {value[i]:.3f} not in the top {keep_n}",
                )
        out.scores["judge_difficulty"] = value
        return out


# --- diversity (s1) --------------------------------------------------------------------------


class DiversityParams(_Amount):
    """s1-style: difficulty floor, then k-center greedy weighted by difficulty^alpha."""

    fraction: float | None = Field(default=0.10, gt=0.0, le=1.0)
    difficulty_column: str = "difficulty"
    min_difficulty: float = Field(default=0.0, ge=0.0, le=1.0)
    alpha: float = Field(default=1.0, ge=0.0)


def k_center_greedy(emb: np.ndarray, weight: np.ndarray, count: int) -> list[int]:
    """Greedy k-center over cosine distance, each pick maximising distance × weight; the first pick
    is the highest weight (ties: the first row). Returns positions in pick order.

    >>> e = np.array([[1, 0], [0.99, 0.14], [0, 1], [0.1, 0.99]], dtype=float)
    >>> k_center_greedy(e, np.array([0.5, 0.9, 0.2, 0.7]), 2)
    [1, 3]
    """
    n = len(emb)
    if n == 0 or count <= 0:
        return []
    first = int(np.argmax(weight))
    picks = [first]
    dist = 1.0 - emb @ emb[first]
    dist[first] = -np.inf
    while len(picks) < min(count, n):
        gain = np.where(np.isinf(dist), -np.inf, np.maximum(dist, 0.0) * weight)
        j = int(np.argmax(gain))
        picks.append(j)
        dist = np.minimum(dist, 1.0 - emb @ emb[j])
        dist[picks] = -np.inf
    return picks


@register
class Diversity(Selector):
    """Difficulty plus diversity: k-center greedy over question embeddings (see module doc)."""

    name = "diversity"
    Params = DiversityParams
    needs_embeddings = True

    def select(self, table: pd.DataFrame, params: Any, ctx: SelectionContext) -> Selection:
        """Keep `count` (or `fraction`) rows by difficulty-weighted k-center greedy."""
        n = len(table)
        out = Selection.all_kept(n)
        diff = _column(table, params.difficulty_column)
        has = ~np.isnan(diff)
        if not has.any():  # no difficulty at all: plain k-center (every row weighs the same)
            diff, has = np.ones(n), np.ones(n, dtype=bool)
        for i in np.flatnonzero(~has).tolist():
            out.drop(i, "unscored", f"diversity: no {params.difficulty_column}")
        eligible = has & (diff >= params.min_difficulty)
        for i in np.flatnonzero(has & ~eligible).tolist():
            out.drop(i, "not_selected", f"diversity: difficulty {diff[i]:.3f} below {params.min_difficulty}")
        idx = np.flatnonzero(eligible)
        keep_n = params.amount(len(idx), 0.10) or len(idx)
        emb = ctx.embeddings()[idx]
        weight = (1e-3 + np.clip(diff[idx], 0.0, None)) ** params.alpha
        picks = k_center_greedy(emb, weight, keep_n)
        rank = np.full(n, np.nan)
        rank[idx[picks]] = np.arange(len(picks))
        chosen = np.zeros(n, dtype=bool)
        chosen[idx[picks]] = True
        for i in idx[~chosen[idx]].tolist():
            out.drop(i, "not_selected", f"diversity: not among the {keep_n} k-center picks")
        out.scores["diversity_rank"] = rank
        return out
