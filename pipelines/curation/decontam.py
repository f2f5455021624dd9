"""Decontamination that tells the same problem reworded from the same template with other numbers.

For each question, candidate benchmark questions come from three places (`DecontamConfig`):

1. the exact normalised text (certain: contaminated);
2. word n-grams (n = `ngram`, 13 by default): the share of the benchmark question's n-grams that
   the row contains (evidence from `ngram_min_overlap` = 0.5 on); a benchmark question shorter than n words (but ≥ `min_short_words`) is a
   candidate when its whole word sequence appears in the row ("Solve this: <question>");
3. the `top_k` nearest benchmark questions by embedding cosine (MiniLM, shipped as float16).

Every candidate then goes through the number-aware check. A reworded problem keeps its numbers
(written as digits or words: "three" and "3" are one number); a template with other numbers does
not. So a candidate with evidence (an n-gram hit, a contained short question, or cosine ≥
`cosine` — `cosine_few_numbers` when the benchmark question states fewer than `many_numbers`
numbers, 0–10 counting half, since a 2 and a 3 appear in many problems; and with cosine evidence
alone the row may state at most `max_extra_numbers` numbers of its own) is *contaminated* when
every number the benchmark question states appears in the row,
and a *template match* (reported, not dropped) when some are missing and cosine ≥
`template_cosine` (or it had n-gram evidence). A benchmark question that states no number cannot
be checked this way: it needs cosine ≥ `numberless_cosine` or n-gram evidence.

With `judge`, an LLM confirms candidates (see `JudgeConfirmConfig`): a "0" turns a contaminated
candidate into `judge_rejected` (reported), a "1" turns any asked candidate into contaminated.

The decision per candidate is the pure function `classify`, tested on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reasonmill.errors import ConfigError
from reasonmill.llm.base import LLMBackend
from reasonmill.pipelines.curation.benchmarks import (
    BENCHMARKS,
    SHIPPED_NGRAM,
    BenchmarkIndex,
    build_index,
    file_rows,
    load_index,
    number_hashes,
    registered_rows,
    save_index,
)
from reasonmill.pipelines.curation.config import DecontamConfig
from reasonmill.pipelines.curation.embed import PACKAGED_MODEL, Embedder, ProgressFn
from reasonmill.pipelines.curation.judge import ask, render_same_problem
from reasonmill.pipelines.curation.text import h64, text_key, words

SMALL_NUMBERS = np.array(sorted({h64("num:" + str(k)) for k in range(11)}), dtype=np.uint64)
"""Hashes of 0–10: numbers so common that sharing them says little."""


@dataclass(slots=True)
class Candidate:
    """One (row, benchmark question) pair with the evidence gathered for it."""

    row: int
    question: int  # index into the benchmark index
    exact: bool = False
    ngram_overlap: float = 0.0
    contained: bool = False
    cosine: float | None = None
    numbers_total: int = 0
    numbers_missing: int = 0
    numbers_extra: int = 0  # numbers the row states that the benchmark question does not
    numbers_strength: float = 0.0  # distinct benchmark numbers, 0–10 counting half (weak evidence)


@dataclass(slots=True)
class BenchmarkMatch:
    """A reported match: which benchmark question, how it was found, and the verdict.

    `verdict` is "contaminated", "template" (same template, other numbers: not contaminated) or
    "judge_rejected" (the rules flagged it, the judge said it is another problem).
    """

    benchmark: str
    benchmark_id: str
    verdict: str
    method: str
    score: float
    cosine: float | None
    ngram_overlap: float
    numbers_missing: int
    numbers_total: int
    judge_score: float | None = None
    also_in: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (report, JSON)."""
        return asdict(self)

    def describe(self) -> str:
        """One line for a rejection's `detail`."""
        cos = "" if self.cosine is None else f", cosine {self.cosine:.3f}"
        nums = (
            f", numbers {self.numbers_total - self.numbers_missing}/{self.numbers_total}"
            if self.numbers_total
            else ""
        )
        judge = "" if self.judge_score is None else f", judge {self.judge_score:.2f}"
        return f"{self.benchmark}:{self.benchmark_id} ({self.method}{cos}, n-gram overlap {self.ngram_overlap:.2f}{nums}{judge})"


@dataclass(slots=True)
class RowContamination:
    """The outcome for one row: the contaminating match (None when clean) and template matches."""

    match: BenchmarkMatch | None = None
    templates: list[BenchmarkMatch] = field(default_factory=list)
    judge_rejected: list[BenchmarkMatch] = field(default_factory=list)

    @property
    def contaminated(self) -> bool:
        """True when some candidate is the same problem."""
        return self.match is not None


def classify(c: Candidate, cfg: DecontamConfig) -> tuple[str | None, str]:
    """(verdict, method) of one candidate under `cfg`: verdict "contaminated", "template" or None.

    >>> cfg = DecontamConfig()
    >>> classify(Candidate(0, 0, cosine=0.9, numbers_total=3, numbers_strength=3), cfg)
    ('contaminated', 'embedding')
    >>> classify(Candidate(0, 0, cosine=0.9, numbers_total=3, numbers_strength=3, numbers_missing=1), cfg)
    ('template', 'embedding')
    >>> classify(Candidate(0, 0, cosine=0.9, numbers_total=3, numbers_strength=3, numbers_extra=2), cfg)
    (None, 'embedding')
    >>> classify(Candidate(0, 0, ngram_overlap=0.6, cosine=0.6, numbers_total=2, numbers_strength=2), cfg)
    ('contaminated', 'ngram')
    >>> classify(Candidate(0, 0, cosine=0.8, numbers_total=3, numbers_strength=1.5), cfg)  # 1, 2, 3: weak
    (None, 'embedding')
    """
    if c.exact:
        return "contaminated", "exact"
    ngram_hit = c.ngram_overlap > 0 and c.ngram_overlap >= cfg.ngram_min_overlap
    method = "ngram" if ngram_hit else "contained" if c.contained else "embedding"
    textual = ngram_hit or c.contained
    cos = -1.0 if c.cosine is None else c.cosine
    if not cfg.number_aware or c.numbers_total == 0:
        if textual or cos >= cfg.numberless_cosine:
            return "contaminated", method
        return None, method
    # few numbers are weak evidence (a 2 and a 3 are in many problems): ask for more similarity
    need = cfg.cosine if c.numbers_strength >= cfg.many_numbers else cfg.cosine_few_numbers
    # with embedding evidence alone, a row that adds numbers of its own is another problem
    semantic = cos >= need and c.numbers_extra <= cfg.max_extra_numbers
    if c.numbers_missing == 0 and (textual or semantic):
        return "contaminated", method
    if c.numbers_missing and (textual or cos >= cfg.template_cosine):
        return "template", method
    return None, method


def _score(c: Candidate) -> float:
    if c.exact:
        return 1.0
    return max(c.cosine if c.cosine is not None else 0.0, c.ngram_overlap, 1.0 if c.contained else 0.0)


class Decontaminator:
    """Checks questions against the benchmark index chosen by a `DecontamConfig`.

    `embedder` embeds rows (and user benchmark files); `backends` resolves the judge's backend
    name; `cache_dir` keeps indexes built at run time (user files, another n-gram size).
    """

    def __init__(
        self,
        cfg: DecontamConfig,
        embedder: Embedder | None = None,
        cache_dir: Path | None = None,
        backends: Mapping[str, LLMBackend] | None = None,
    ) -> None:
        self.cfg, self.embedder = cfg, embedder
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.backends = dict(backends or {})
        if cfg.judge is not None and cfg.judge.backend not in self.backends:
            raise ConfigError(
                "decontam.judge.backend",
                f"no LLM backend named {cfg.judge.backend!r}; known: {', '.join(sorted(self.backends)) or '(none)'}",
            )
        names = cfg.benchmarks if cfg.benchmarks is not None else BENCHMARKS.names()
        for i, name in enumerate(names):
            if name not in BENCHMARKS:
                raise ConfigError(
                    f"decontam.benchmarks[{i}]",
                    f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS.names())}",
                )
        self.names = list(names)
        self._index: BenchmarkIndex | None = None
        self._short_starts: dict[int, dict[int, dict[int, list[int]]]] | None = None

    # -- the index ------------------------------------------------------------------------

    def _use_embeddings(self) -> bool:
        return self.cfg.embeddings and self.embedder is not None

    def _cached_build(self, tag: str, rows: Callable[[], Any], embed: bool) -> BenchmarkIndex:
        folder = None if self.cache_dir is None else self.cache_dir / "benchmark-index"
        stem = hashlib.blake2b(tag.encode(), digest_size=8).hexdigest()
        if folder is not None and (folder / f"{stem}.json").is_file():
            return load_index(folder, stem)
        assert self.embedder is not None or not embed
        idx = build_index(
            rows(),
            self.cfg.ngram,
            self.embedder.encode if embed else None,
            self.embedder.config.model if embed else "",
        )  # type: ignore[union-attr]
        if folder is not None:
            save_index(idx, folder, stem)
        return idx

    def index(self) -> BenchmarkIndex:
        """The merged index of the configured benchmarks and files (built or loaded once)."""
        if self._index is not None:
            return self._index
        embed = self._use_embeddings()
        model = self.embedder.config.model if self.embedder is not None else PACKAGED_MODEL
        parts = []
        if self.names:
            if self.cfg.ngram == SHIPPED_NGRAM and (not embed or model == PACKAGED_MODEL):
                parts.append(load_index().subset(set(self.names)))
            else:  # another n or another model: needs the benchmark text, read from the benchmark folder
                tag = f"registered|{','.join(self.names)}|{self.cfg.ngram}|{model if embed else ''}"
                parts.append(self._cached_build(tag, lambda: registered_rows(self.names), embed))
        for f in self.cfg.files:
            path = Path(f.path).expanduser()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
            tag = f"file|{f.name}|{digest}|{f.question_field}|{f.id_field}|{self.cfg.ngram}|{model if embed else ''}"
            parts.append(self._cached_build(tag, lambda f=f: file_rows(f), embed))
        if not parts:
            raise ConfigError("decontam.benchmarks", "no benchmark selected and no benchmark file given")
        idx = BenchmarkIndex.merge(parts)
        if not embed:
            idx.embeddings = None
        self._index = idx
        return idx

    # -- checking -------------------------------------------------------------------------

    def _ngram_candidates(
        self, idx: BenchmarkIndex, word_lists: list[list[str]], found: dict[tuple[int, int], Candidate]
    ) -> None:
        n = idx.ngram
        owners, hashes = [], []
        for i, w in enumerate(word_lists):
            hs = {h64(" ".join(w[j : j + n])) for j in range(len(w) - n + 1)}
            hashes.extend(hs)
            owners.extend([i] * len(hs))
        if hashes and len(idx.ngram_hash):
            h = np.array(hashes, dtype=np.uint64)
            own = np.array(owners, dtype=np.int64)
            lo = np.searchsorted(idx.ngram_hash, h, side="left")
            hi = np.searchsorted(idx.ngram_hash, h, side="right")
            width = hi - lo
            hit = width > 0
            if hit.any():
                rows = np.repeat(own[hit], width[hit])
                starts = np.repeat(lo[hit], width[hit])
                offs = np.arange(len(starts)) - np.repeat(np.cumsum(width[hit]) - width[hit], width[hit])
                qs = idx.ngram_question[starts + offs].astype(np.int64)
                pair = rows * idx.size + qs
                uniq, counts = np.unique(pair, return_counts=True)
                for p, k in zip(uniq.tolist(), counts.tolist(), strict=True):
                    r, q = divmod(p, idx.size)
                    c = found.setdefault((r, q), Candidate(r, q))
                    c.ngram_overlap = k / max(int(idx.ngram_count[q]), 1)
        if not len(idx.short_hash):
            return
        # Short benchmark questions (< n words) match when their whole word sequence appears in the
        # row. They are indexed by the hash of their first word, so only the positions of a row
        # that can start one are hashed.
        if self._short_starts is None:
            self._short_starts = {}
            for h, first, q in zip(
                idx.short_hash.tolist(), idx.short_first.tolist(), idx.short_question.tolist(), strict=True
            ):
                length = int(idx.n_words[q])
                if length >= self.cfg.min_short_words:
                    self._short_starts.setdefault(first, {}).setdefault(length, {}).setdefault(h, []).append(
                        q
                    )
        starts = self._short_starts
        if not starts:
            return
        for i, w in enumerate(word_lists):
            for j, word in enumerate(w):
                by_length = starts.get(h64(word))
                if by_length is None:
                    continue
                for length, by_hash in by_length.items():
                    if j + length <= len(w):
                        for q in by_hash.get(h64(" ".join(w[j : j + length])), ()):
                            found.setdefault((i, q), Candidate(i, q)).contained = True

    def candidates(
        self,
        questions: Sequence[str],
        embeddings: np.ndarray | None = None,
        progress: ProgressFn | None = None,
    ) -> list[list[Candidate]]:
        """Every candidate of every question, with its evidence (exact, n-gram, cosine, numbers)."""
        idx = self.index()
        found: dict[tuple[int, int], Candidate] = {}
        for i, q in enumerate(questions):
            u = idx.exact(text_key(q))
            if u is not None:
                found[(i, u)] = Candidate(i, u, exact=True)
        word_lists = [words(q) for q in questions]
        self._ngram_candidates(idx, word_lists, found)
        if idx.embeddings is not None:
            if embeddings is None:
                assert self.embedder is not None
                embeddings = self.embedder.encode(list(questions), progress)
            bench = idx.embeddings.astype(np.float32)
            floor = min(self.cfg.cosine, self.cfg.template_cosine, self.cfg.numberless_cosine)
            if self.cfg.judge is not None and self.cfg.judge.scope == "candidates":
                floor = min(floor, self.cfg.judge.min_cosine)
            k = min(self.cfg.top_k, idx.size)
            for start in range(0, len(questions), 2048):
                sims = embeddings[start : start + 2048] @ bench.T
                top = (
                    np.argpartition(-sims, k - 1, axis=1)[:, :k]
                    if k < idx.size
                    else np.tile(np.arange(idx.size), (len(sims), 1))
                )
                rows = np.repeat(np.arange(len(sims)), top.shape[1])
                cols = top.ravel()
                keep = sims[rows, cols] >= floor
                for r, q in zip((rows[keep] + start).tolist(), cols[keep].tolist(), strict=True):
                    found.setdefault((r, q), Candidate(r, q))
            if found:  # the cosine of every candidate, however it was found
                keys = list(found)
                ri = np.array([r for r, _ in keys], dtype=np.int64)
                qi = np.array([q for _, q in keys], dtype=np.int64)
                for s0 in range(0, len(keys), 65536):
                    cos = np.einsum("ij,ij->i", embeddings[ri[s0 : s0 + 65536]], bench[qi[s0 : s0 + 65536]])
                    for key, v in zip(keys[s0 : s0 + 65536], cos.tolist(), strict=True):
                        found[key].cosine = v
        out: list[list[Candidate]] = [[] for _ in questions]
        nums_cache: dict[int, np.ndarray] = {}
        for (i, q), c in sorted(found.items()):
            if i not in nums_cache:
                nums_cache[i] = number_hashes(questions[i])
            bench_nums = idx.numbers_of(q)
            c.numbers_total = len(bench_nums)
            c.numbers_missing = int((~np.isin(bench_nums, nums_cache[i])).sum()) if len(bench_nums) else 0
            c.numbers_extra = int((~np.isin(nums_cache[i], bench_nums)).sum())
            c.numbers_strength = float(len(bench_nums) - 0.5 * np.isin(bench_nums, SMALL_NUMBERS).sum())
            out[i].append(c)
        return out

    def _match(self, c: Candidate, verdict: str, method: str) -> BenchmarkMatch:
        idx = self.index()
        bench, bid = idx.entries[c.question][0]
        return BenchmarkMatch(
            benchmark=bench,
            benchmark_id=bid,
            verdict=verdict,
            method=method,
            score=round(_score(c), 4),
            cosine=None if c.cosine is None else round(c.cosine, 4),
            ngram_overlap=round(c.ngram_overlap, 4),
            numbers_missing=c.numbers_missing,
            numbers_total=c.numbers_total,
            also_in=[f"{b}:{i}" for b, i in idx.entries[c.question][1:]],
        )

    def check(
        self,
        questions: Sequence[str],
        embeddings: np.ndarray | None = None,
        progress: ProgressFn | None = None,
    ) -> list[RowContamination]:
        """The contamination outcome of each question, in order."""
        cands = self.candidates(questions, embeddings, progress)
        results = [RowContamination() for _ in questions]
        flagged: list[tuple[int, Candidate, str]] = []
        asked: list[tuple[int, Candidate, str, str | None]] = []
        for i, row in enumerate(cands):
            for c in row:
                verdict, method = classify(c, self.cfg)
                judge = self.cfg.judge
                if judge is not None and not c.exact:
                    in_scope = (
                        verdict == "contaminated"
                        if judge.scope == "flagged"
                        else (verdict is not None or (c.cosine is not None and c.cosine >= judge.min_cosine))
                    )
                    if in_scope:
                        asked.append((i, c, method, verdict))
                        continue
                if verdict == "contaminated":
                    flagged.append((i, c, method))
                elif verdict == "template":
                    results[i].templates.append(self._match(c, "template", method))
        judge_scores: dict[tuple[int, int], float | None] = {}
        if asked:
            threshold = self.cfg.judge.threshold  # type: ignore[union-attr]
            for (i, c, method, verdict), score in zip(asked, self._judge(questions, asked), strict=True):
                judge_scores[(i, c.question)] = score
                if score is not None and score >= threshold:
                    flagged.append((i, c, method + "+judge"))
                elif score is None:  # the judge could not answer: the rules' verdict stands
                    if verdict == "contaminated":
                        flagged.append((i, c, method + "+judge_unavailable"))
                    elif verdict == "template":
                        results[i].templates.append(self._match(c, "template", method))
                elif verdict in ("contaminated", "template"):
                    m = self._match(c, "judge_rejected" if verdict == "contaminated" else "template", method)
                    m.judge_score = round(score, 4)
                    (results[i].judge_rejected if verdict == "contaminated" else results[i].templates).append(
                        m
                    )
        for i, c, method in flagged:
            m = self._match(c, "contaminated", method)
            js = judge_scores.get((i, c.question))
            m.judge_score = None if js is None else round(js, 4)
            best = results[i].match
            if best is None or m.score > best.score:
                results[i].match = m
        for r in results:
            r.templates.sort(key=lambda m: -m.score)
        return results

    def _judge(
        self, questions: Sequence[str], asked: list[tuple[int, Candidate, str, str | None]]
    ) -> list[float | None]:
        judge = self.cfg.judge
        assert judge is not None
        texts = self.benchmark_texts({c.question for _, c, _, _ in asked})
        chats = [render_same_problem(questions[i], texts[c.question]) for i, c, _, _ in asked]
        scores = ask(self.backends[judge.backend], chats, judge.max_tokens)
        return [s.score for s in scores]

    def benchmark_texts(self, wanted: set[int]) -> dict[int, str]:
        """Text of benchmark questions `wanted`, read from the benchmark folder / user files at run
        time (the judge needs it; the repository holds none)."""
        idx = self.index()
        by_entry = {e: q for q in wanted for e in idx.entries[q]}
        out: dict[int, str] = {}
        sources = [registered_rows(self.names)] + [file_rows(f) for f in self.cfg.files]
        for rows in sources:
            for bench, rid, text in rows:
                q = by_entry.get((bench, rid))
                if q is not None:
                    out.setdefault(q, text)
        missing = wanted - set(out)
        if missing:
            raise ConfigError(
                "decontam.judge",
                f"benchmark text for {len(missing)} candidate(s) not found in the benchmark files",
            )
        return out
