"""The benchmark registry and the benchmark index: hashes, numbers and embeddings, never text.

`BENCHMARKS` names the public sets decontamination checks against (MATH, GSM8K, AIME, AMC,
OlympiadBench, Minerva); each entry says which rows of which file under the benchmark folder
(`reasonmill.benchmark_data`) hold its questions. A user adds their own file through
`DecontamConfig.files`; its index is built at run time and cached.

The index of a set of questions (`BenchmarkIndex`) holds, per unique normalised question:

- the 64-bit key of its normalised text (exact match);
- the hashes of its word n-grams, sorted, with the question each came from (n-gram overlap), and
  for questions shorter than n words, the hash of their whole word sequence (containment);
- the hashes of the numbers it states (the number-aware check);
- its embedding (float16, L2-normalised) from the packaged MiniLM;
- the (benchmark, id) entries that share it (MATH-500 is a subset of MATH's test set).

The package ships the index of every registered benchmark in `data/curation/`
(`benchmark_index.npz`, `benchmark_embeddings.npy`, `benchmark_index.json`): a few MB, and no
question text. Rebuild it from the benchmark files with

    python -m reasonmill.pipelines.curation.benchmarks --out data/curation
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from reasonmill.benchmark_data import iter_benchmark_rows
from reasonmill.errors import ConfigError, ReasonmillError
from reasonmill.jsonl import read_jsonl_objects
from reasonmill.pipelines.curation.text import h64, ngram_hashes, normalise, numbers, text_key, words
from reasonmill.registry import Registry

INDEX_VERSION = 2
DECONTAM_FILE = "decontam_benchmark_questions.jsonl"
SHIPPED_NGRAM = 13
SHIPPED_MIN_SHORT_WORDS = 2  # short sequences are stored down to 2 words; the config filters further


@dataclass(frozen=True, slots=True)
class BenchmarkSource:
    """Where a registered benchmark's questions are: a file under the benchmark folder and, for the
    combined decontamination list, the values of its `benchmark` field that belong to this set."""

    name: str
    description: str
    file: str = DECONTAM_FILE
    subsets: tuple[str, ...] = ()
    question_field: str = "question"
    id_field: str = "id"

    def rows(self) -> Iterator[tuple[str, str]]:
        """(id, question) pairs, read from the benchmark folder (raises when the file is missing)."""
        for i, row in enumerate(iter_benchmark_rows(self.file)):
            if self.subsets and row.get("benchmark") not in self.subsets:
                continue
            rid = str(row.get(self.id_field, i))
            if self.subsets and len(self.subsets) > 1:
                rid = f"{row['benchmark']}/{rid}"
            yield rid, str(row[self.question_field])


BENCHMARKS: Registry[BenchmarkSource] = Registry("benchmark")
for _src in (
    BenchmarkSource(
        "MATH", "MATH test set (5,000) and its MATH-500 subset", subsets=("MATH_test_5000", "MATH-500")
    ),
    BenchmarkSource("GSM8K", "GSM8K test set (1,319)", subsets=("GSM8K_test",)),
    BenchmarkSource("AIME", "AIME 2024 and 2025 (30 + 30)", subsets=("AIME2024", "AIME2025")),
    BenchmarkSource("AMC", "AMC 2023 (40)", subsets=("AMC2023",)),
    BenchmarkSource(
        "OlympiadBench", "OlympiadBench, English maths (675)", subsets=("OlympiadBench_en_math",)
    ),
    BenchmarkSource("Minerva", "Minerva maths, OCW courses (272)", subsets=("MinervaMath_OCWCourses",)),
):
    BENCHMARKS.register(_src.name, _src)


class BenchmarkIndexError(ReasonmillError):
    """A benchmark index file is missing, foreign or was built with other settings."""


@dataclass(slots=True)
class BenchmarkIndex:
    """Hashes, numbers and embeddings of a set of benchmark questions (see the module doc).

    Arrays are per unique question `u` unless said otherwise; `entries[u]` lists its
    (benchmark, id) pairs.
    """

    ngram: int
    entries: list[list[tuple[str, str]]]
    text_keys: np.ndarray  # (U,) uint64
    n_words: np.ndarray  # (U,) int32
    ngram_hash: np.ndarray  # (G,) uint64, sorted
    ngram_question: np.ndarray  # (G,) int32, question of each n-gram hash
    ngram_count: np.ndarray  # (U,) int32, distinct n-grams per question
    short_hash: np.ndarray  # (S,) uint64, sorted: whole word sequence of questions < ngram words
    short_question: np.ndarray  # (S,) int32
    short_first: np.ndarray  # (S,) uint64: hash of the sequence's first word (where a match can start)
    number_offsets: np.ndarray  # (U+1,) int64 into number_hash
    number_hash: np.ndarray  # (M,) uint64, hashed canonical numbers per question
    embeddings: np.ndarray | None  # (U, d) float16, L2-normalised
    model: str = ""
    _exact: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._exact = {int(k): u for u, k in enumerate(self.text_keys.tolist())}

    @property
    def size(self) -> int:
        """Unique questions."""
        return len(self.entries)

    def exact(self, key: int) -> int | None:
        """The question whose normalised text has `key`, if any."""
        return self._exact.get(key)

    def numbers_of(self, u: int) -> np.ndarray:
        """Hashed numbers of question `u`."""
        return self.number_hash[self.number_offsets[u] : self.number_offsets[u + 1]]

    def benchmarks_of(self, u: int) -> list[str]:
        """Benchmark names that contain question `u`."""
        return sorted({b for b, _ in self.entries[u]})

    def subset(self, names: set[str]) -> BenchmarkIndex:
        """The index restricted to entries of the benchmarks in `names`."""
        keep = [u for u, ents in enumerate(self.entries) if any(b in names for b, _ in ents)]
        return _select(self, keep, names)

    @staticmethod
    def merge(parts: Sequence[BenchmarkIndex]) -> BenchmarkIndex:
        """One index over several (same n-gram size); question numbers are renumbered."""
        if len(parts) == 1:
            return parts[0]
        if len({p.ngram for p in parts}) != 1:
            raise BenchmarkIndexError("cannot merge benchmark indexes built with different n-gram sizes")
        offs = np.cumsum([0] + [p.size for p in parts])
        emb = None
        if all(p.embeddings is not None for p in parts):
            emb = np.concatenate([p.embeddings for p in parts])  # type: ignore[misc]
        g_hash = np.concatenate([p.ngram_hash for p in parts])
        g_q = np.concatenate([p.ngram_question + o for p, o in zip(parts, offs, strict=False)])
        s_hash = np.concatenate([p.short_hash for p in parts])
        s_q = np.concatenate([p.short_question + o for p, o in zip(parts, offs, strict=False)])
        s_first = np.concatenate([p.short_first for p in parts])
        order, s_order = np.argsort(g_hash, kind="stable"), np.argsort(s_hash, kind="stable")
        counts = np.concatenate([np.diff(p.number_offsets) for p in parts])
        return BenchmarkIndex(
            ngram=parts[0].ngram,
            entries=[e for p in parts for e in p.entries],
            text_keys=np.concatenate([p.text_keys for p in parts]),
            n_words=np.concatenate([p.n_words for p in parts]),
            ngram_hash=g_hash[order],
            ngram_question=g_q[order].astype(np.int32),
            ngram_count=np.concatenate([p.ngram_count for p in parts]),
            short_hash=s_hash[s_order],
            short_question=s_q[s_order].astype(np.int32),
            short_first=s_first[s_order],
            number_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            number_hash=np.concatenate([p.number_hash for p in parts]),
            embeddings=emb,
            model=parts[0].model,
        )


def _select(idx: BenchmarkIndex, keep: list[int], names: set[str]) -> BenchmarkIndex:
    remap = np.full(idx.size, -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    g_new = remap[idx.ngram_question]
    s_new = remap[idx.short_question]
    counts = np.diff(idx.number_offsets)
    num = [idx.numbers_of(u) for u in keep]
    return BenchmarkIndex(
        ngram=idx.ngram,
        entries=[[e for e in idx.entries[u] if e[0] in names] for u in keep],
        text_keys=idx.text_keys[keep],
        n_words=idx.n_words[keep],
        ngram_hash=idx.ngram_hash[g_new >= 0],
        ngram_question=g_new[g_new >= 0].astype(np.int32),
        ngram_count=idx.ngram_count[keep],
        short_hash=idx.short_hash[s_new >= 0],
        short_question=s_new[s_new >= 0].astype(np.int32),
        short_first=idx.short_first[s_new >= 0],
        number_offsets=np.concatenate([[0], np.cumsum(counts[keep])]).astype(np.int64),
        number_hash=np.concatenate(num) if num else np.zeros(0, np.uint64),
        embeddings=None if idx.embeddings is None else idx.embeddings[keep],
        model=idx.model,
    )


def number_hashes(text: str) -> np.ndarray:
    """Sorted unique hashes of the canonical numbers of `text`."""
    return np.array(sorted({h64("num:" + n) for n in numbers(text)}), dtype=np.uint64)


def build_index(
    rows: Iterable[tuple[str, str, str]],
    ngram: int = SHIPPED_NGRAM,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    model: str = "",
) -> BenchmarkIndex:
    """Index (benchmark, id, question) rows; `embed` maps questions to L2-normalised vectors."""
    by_text: dict[str, int] = {}
    texts: list[str] = []
    entries: list[list[tuple[str, str]]] = []
    for bench, rid, question in rows:
        key = normalise(question)
        u = by_text.get(key)
        if u is None:
            u = by_text[key] = len(texts)
            texts.append(question)
            entries.append([])
        entries[u].append((bench, rid))
    g_hash: list[int] = []
    g_q: list[int] = []
    s_hash: list[int] = []
    s_q: list[int] = []
    s_first: list[int] = []
    n_words, g_count, num_off, num_hash = [], [], [0], []
    for u, q in enumerate(texts):
        w = words(q)
        n_words.append(len(w))
        grams = sorted(set(ngram_hashes(w, ngram)))
        g_hash.extend(grams)
        g_q.extend([u] * len(grams))
        g_count.append(len(grams))
        if SHIPPED_MIN_SHORT_WORDS <= len(w) < ngram:
            s_hash.append(h64(" ".join(w)))
            s_q.append(u)
            s_first.append(h64(w[0]))
        nums = number_hashes(q)
        num_hash.extend(nums.tolist())
        num_off.append(num_off[-1] + len(nums))
    g = np.array(g_hash, dtype=np.uint64)
    order = np.argsort(g, kind="stable")
    s = np.array(s_hash, dtype=np.uint64)
    s_order = np.argsort(s, kind="stable")
    emb = None
    if embed is not None:
        emb = np.asarray(embed(texts), dtype=np.float16) if texts else np.zeros((0, 384), np.float16)
    return BenchmarkIndex(
        ngram=ngram,
        entries=entries,
        text_keys=np.array([text_key(t) for t in texts], dtype=np.uint64),
        n_words=np.array(n_words, dtype=np.int32),
        ngram_hash=g[order],
        ngram_question=np.array(g_q, dtype=np.int32)[order],
        ngram_count=np.array(g_count, dtype=np.int32),
        short_hash=s[s_order],
        short_question=np.array(s_q, dtype=np.int32)[s_order],
        short_first=np.array(s_first, dtype=np.uint64)[s_order],
        number_offsets=np.array(num_off, dtype=np.int64),
        number_hash=np.array(num_hash, dtype=np.uint64),
        embeddings=emb,
        model=model,
    )


def registered_rows(names: Iterable[str] | None = None) -> Iterator[tuple[str, str, str]]:
    """(benchmark, id, question) of the registered benchmarks (all when `names` is None)."""
    for name in names if names is not None else BENCHMARKS.names():
        for rid, q in BENCHMARKS.get(name).rows():
            yield name, rid, q


def file_rows(cfg: Any) -> Iterator[tuple[str, str, str]]:
    """(benchmark, id, question) of a user's benchmark file (`BenchmarkFileConfig`): JSONL or Parquet."""
    path = Path(cfg.path).expanduser()
    if not path.is_file():
        raise ConfigError("decontam.files.path", f"benchmark file {path} does not exist")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        data = pq.read_table(path).to_pylist()
    else:
        data = read_jsonl_objects(path, lambda msg: ConfigError("decontam.files.path", msg))
    for i, row in enumerate(data):
        if cfg.question_field not in row:
            raise ConfigError(
                "decontam.files.question_field", f"{path} row {i} has no field {cfg.question_field!r}"
            )
        rid = str(row.get(cfg.id_field, i)) if cfg.id_field else str(i)
        yield cfg.name, rid, str(row[cfg.question_field])


# --- persistence ----------------------------------------------------------------------------


def save_index(idx: BenchmarkIndex, folder: Path, stem: str = "benchmark_index") -> list[Path]:
    """Write `STEM.npz` (hashes), `STEM.json` (entries, settings) and, with embeddings,
    `STEM_embeddings.npy` (float16); return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    npz = folder / f"{stem}.npz"
    arrays = {
        "text_keys": idx.text_keys,
        "n_words": idx.n_words,
        "ngram_hash": idx.ngram_hash,
        "ngram_question": idx.ngram_question,
        "ngram_count": idx.ngram_count,
        "short_hash": idx.short_hash,
        "short_question": idx.short_question,
        "short_first": idx.short_first,
        "number_offsets": idx.number_offsets,
        "number_hash": idx.number_hash,
    }
    tmp = folder / f".{stem}.npz.tmp.npz"
    np.savez_compressed(tmp, **arrays)
    tmp.replace(npz)
    paths = [npz]
    meta = {
        "version": INDEX_VERSION,
        "ngram": idx.ngram,
        "model": idx.model,
        "questions": idx.size,
        "entries": idx.entries,
        "npz_sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
    }
    if idx.embeddings is not None:
        emb = folder / f"{stem}_embeddings.npy"
        tmp_e = folder / f".{stem}_embeddings.tmp.npy"
        np.save(tmp_e, idx.embeddings.astype(np.float16))
        tmp_e.replace(emb)
        paths.append(emb)
        meta["embedding_dim"] = int(idx.embeddings.shape[1])
    js = folder / f"{stem}.json"
    js.write_text(json.dumps(meta, separators=(",", ":")) + "\n", encoding="utf-8")
    paths.append(js)
    return paths


def load_index(folder: Path | None = None, stem: str = "benchmark_index") -> BenchmarkIndex:
    """Load an index written by `save_index` (default: the one shipped in `reasonmill.data`)."""
    base: Any = (
        Path(folder) if folder is not None else resources.files("reasonmill.data").joinpath("curation")
    )
    js = base / f"{stem}.json"
    if not js.is_file():
        raise BenchmarkIndexError(
            f"benchmark index {js} not found (rebuild: python -m reasonmill.pipelines.curation.benchmarks)"
        )
    meta = json.loads(js.read_text(encoding="utf-8"))
    if meta.get("version") != INDEX_VERSION:
        raise BenchmarkIndexError(
            f"{js}: index version {meta.get('version')}, this reasonmill reads {INDEX_VERSION}"
        )
    with (base / f"{stem}.npz").open("rb") as fh:
        data = np.load(fh)
        arrays = {k: data[k] for k in data.files}
    emb = None
    emb_file = base / f"{stem}_embeddings.npy"
    if emb_file.is_file():
        with emb_file.open("rb") as fh:
            emb = np.load(fh)
    return BenchmarkIndex(
        ngram=int(meta["ngram"]),
        entries=[[(b, i) for b, i in ents] for ents in meta["entries"]],
        embeddings=emb,
        model=meta.get("model", ""),
        **arrays,
    )


def main(argv: list[str] | None = None) -> None:
    """Rebuild the shipped benchmark index from the benchmark files (hashes and embeddings only)."""
    from reasonmill.pipelines.curation.config import EmbeddingConfig
    from reasonmill.pipelines.curation.embed import Embedder

    ap = argparse.ArgumentParser(description="Rebuild the shipped benchmark index (no text is written).")
    ap.add_argument("--out", default="data/curation", help="output folder (default: data/curation)")
    ap.add_argument("-n", "--ngram", type=int, default=SHIPPED_NGRAM)
    ap.add_argument("--no-embeddings", action="store_true")
    ap.add_argument(
        "--reembed",
        action="store_true",
        help="embed every question again (default: reuse the embeddings already in --out for unchanged questions)",
    )
    args = ap.parse_args(argv)
    cfg = EmbeddingConfig()
    embedder = Embedder(cfg)
    rows = list(registered_rows())
    idx = build_index(rows, args.ngram, None, cfg.model)
    if not args.no_embeddings:
        known: dict[int, np.ndarray] = {}
        npz, npy = Path(args.out) / "benchmark_index.npz", Path(args.out) / "benchmark_index_embeddings.npy"
        if not args.reembed and npz.is_file() and npy.is_file():  # any earlier version: keys and vectors
            old_keys, old_emb = np.load(npz)["text_keys"], np.load(npy)
            if len(old_keys) == len(old_emb):
                known = {int(k): old_emb[u] for u, k in enumerate(old_keys.tolist())}
        texts: dict[int, str] = {}
        for _, _, q in rows:
            texts.setdefault(text_key(q), q)
        todo = [k for k in idx.text_keys.tolist() if int(k) not in known]
        if todo:
            fresh = embedder.encode([texts[int(k)] for k in todo]).astype(np.float16)
            known.update(zip((int(k) for k in todo), fresh, strict=True))
        idx.embeddings = np.stack([known[int(k)] for k in idx.text_keys.tolist()]).astype(np.float16)
        print(f"embedded {len(todo)} questions, reused {idx.size - len(todo)}")
    paths = save_index(idx, Path(args.out))
    print(f"{len(rows)} benchmark rows -> {idx.size} unique questions -> {', '.join(map(str, paths))}")


if __name__ == "__main__":
    main()
