"""Curation benchmarks: near-duplicate dedup at 100k and 1M questions, embeddings on 2 cores,
decontamination throughput and accuracy against labels.

Run on demand (not collected by pytest):

    python tests/benchmarks/bench_curation.py [--sizes 100000,1000000] [--decontam 600] [--skip-minhash]

Writes tests/benchmarks/results/curation.json and curation.md.

1. MinHash LSH dedup (`near_duplicates`, rensa signatures + banded LSH + verification): synthetic
   questions (30–40 words from a 5,000-word vocabulary, numbers included) with 1% planted near
   duplicates (one word replaced) as labels. Each size runs in a fresh interpreter; peak memory is
   its maximum resident set minus the resident set after the questions were made (the input's
   own memory). Baseline, same work at 100k: datasketch MinHash (bulk) + MinHashLSH insert/query
   + the same verification rule, in the same run.
2. Embeddings: the packaged MiniLM on 2 torch threads over benchmark-like questions (the
   benchmark files' questions: real lengths), model load (start-up) apart; then the same texts
   again from the cache.
3. Decontamination on the held-out rewording family (tests/curation/rewording.py, derived at run
   time from the benchmark files; thresholds were tuned on the "dev" family): recall on verbatim,
   prefixed and reworded copies, hard negatives flagged, and questions per second with and
   without embedding; baseline in the same run: the legacy exact-hash + 13-gram check
   (`reasonmill.pipelines.curation.fingerprints.contaminated`). "Including embedding" combines the check's rate
   with the embedding benchmark's sentences/s (the embedding cache may be warm).
   Leave-one-out: each benchmark question checked
   against the index without itself (other benchmark problems are distinct problems, so flags are
   false positives, bar real near-copies inside MATH).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "tests" / "benchmarks" / "results"
sys.path.insert(0, str(REPO / "tests" / "curation"))


def rss_mb() -> float:
    """Current resident set, MB (from /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """Peak resident set of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_questions(n: int, seed: int = 0, planted: float = 0.01) -> tuple[list[str], dict[int, int]]:
    """n distinct questions, and {row: source row} for the planted near duplicates."""
    rng = random.Random(seed)
    syll = ["ka", "lo", "mi", "ne", "tu", "ra", "si", "po", "ve", "do", "an", "er", "il", "os", "ub"]
    vocab = sorted({"".join(rng.choice(syll) for _ in range(rng.randint(2, 4))) for _ in range(8000)})[:5000]
    qs: list[str] = []
    labels: dict[int, int] = {}
    for i in range(n):
        if qs and rng.random() < planted:
            src = rng.randrange(len(qs))
            words = qs[src].split()
            j = rng.choice([k for k, w in enumerate(words) if not w[0].isdigit()])
            words[j] = rng.choice(vocab)
            labels[i] = src
            qs.append(" ".join(words))
            continue
        words = [rng.choice(vocab) for _ in range(rng.randint(30, 40))]
        for _ in range(3):
            words[rng.randrange(len(words))] = str(rng.randint(2, 999))
        qs.append(" ".join(words) + "?")
    return qs, labels


def _score(dup_of: Any, labels: dict[int, int]) -> dict[str, float]:
    flagged = {i for i, d in enumerate(dup_of.tolist()) if d >= 0}
    hit = sum(1 for i in labels if i in flagged)
    return {
        "planted": len(labels),
        "recall": round(hit / max(len(labels), 1), 4),
        "flagged": len(flagged),
        "precision": round(hit / max(len(flagged), 1), 4),
    }


def worker_minhash(n: int) -> dict[str, Any]:
    """One size in this interpreter: make the questions, dedup, report time and memory."""
    from reasonmill.pipelines.curation.config import NearDedupConfig
    from reasonmill.pipelines.curation.dedup import near_duplicates

    qs, labels = synthetic_questions(n)
    base = rss_mb()
    start = time.perf_counter()
    cpu = time.process_time()
    dup_of, _ = near_duplicates(qs, NearDedupConfig())
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {
        "n": n,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_s, 2),
        "questions_per_s": round(n / seconds),
        "input_mb": round(base, 1),
        "peak_mb": round(peak_mb(), 1),
        "dedup_peak_mb": round(peak_mb() - base, 1),
        **_score(dup_of, labels),
    }


def worker_datasketch(n: int) -> dict[str, Any]:
    """Baseline: the same near-duplicate work with datasketch (bulk MinHash, MinHashLSH)."""
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    from reasonmill.pipelines.curation.config import NearDedupConfig
    from reasonmill.pipelines.curation.dedup import lsh_bands
    from reasonmill.pipelines.curation.text import numbers, shingles

    cfg = NearDedupConfig()
    qs, labels = synthetic_questions(n)
    base = rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    mhs = MinHash.bulk(
        [[s.encode() for s in shingles(q, cfg.shingle)] for q in qs], num_perm=cfg.num_perm, seed=cfg.seed
    )
    b, r = lsh_bands(cfg.threshold, cfg.num_perm, cfg.fp_weight)  # the same banding as ours
    lsh = MinHashLSH(num_perm=cfg.num_perm, params=(b, r))
    dup_of = np.full(n, -1)
    for i, m in enumerate(mhs):
        for j in lsh.query(m):
            if m.jaccard(mhs[j]) >= cfg.threshold and numbers(qs[i]) == numbers(qs[j]):
                dup_of[i] = j if dup_of[i] < 0 else min(dup_of[i], j)
        lsh.insert(i, m)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {
        "n": n,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_s, 2),
        "questions_per_s": round(n / seconds),
        "dedup_peak_mb": round(peak_mb() - base, 1),
        **_score(dup_of, labels),
    }


def run_worker(kind: str, n: int) -> dict[str, Any]:
    """Run a worker in a fresh interpreter (its own peak memory)."""
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(n)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_embeddings(texts: list[str], tmp: Path) -> dict[str, Any]:
    """Sentences per second on 2 torch threads; model load apart; cached re-encode."""
    from reasonmill.pipelines.curation import Embedder, EmbeddingConfig

    cfg = EmbeddingConfig(threads=2)
    start = time.perf_counter()
    emb = Embedder(cfg, cache_dir=tmp)
    emb.model()
    load_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    emb.encode(texts)
    enc_s, enc_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    emb.encode(texts)
    cached_s = time.perf_counter() - start
    return {
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "model_load_s": round(load_s, 2),
        "sentences_per_s": round(len(texts) / enc_s, 1),
        "sentences_per_s_incl_load": round(len(texts) / (enc_s + load_s), 1),
        "cpu_s_per_1000": round(enc_cpu / len(texts) * 1000, 2),
        "cached_sentences_per_s": round(len(texts) / cached_s, 1),
    }


def bench_decontam(n_questions: int, tmp: Path) -> dict[str, Any]:
    """Accuracy against labels and throughput on the held-out family; legacy baseline; leave-one-out."""
    import numpy as np
    from rewording import cases

    from reasonmill.pipelines.curation import DecontamConfig, Decontaminator, Embedder, EmbeddingConfig
    from reasonmill.pipelines.curation.benchmarks import registered_rows
    from reasonmill.pipelines.curation.decontam import classify
    from reasonmill.pipelines.curation.fingerprints import contaminated, load_fingerprints

    rows = list(registered_rows())
    out: dict[str, Any] = {}
    emb = Embedder(EmbeddingConfig(threads=2), cache_dir=tmp)
    for family in ("heldout", "dev"):
        in_split = [
            r
            for r in rows
            if (int(hashlib.sha256(r[1].encode()).hexdigest(), 16) % 5 == 0) == (family == "heldout")
        ]
        sample = random.Random(11).sample(in_split, min(n_questions, len(in_split)))
        cs = list(cases(sample, family, seed=3))
        texts = [c[3] for c in cs]
        deco = Decontaminator(DecontamConfig(), emb)
        deco.index()
        t0 = time.perf_counter()
        vecs = emb.encode(texts)
        embed_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = deco.check(texts, vecs)
        check_s = time.perf_counter() - t0
        table = load_fingerprints()
        t0 = time.perf_counter()
        legacy = [contaminated(t, table) for t in texts]
        legacy_s = time.perf_counter() - t0
        by_kind: dict[str, dict[str, Any]] = {}
        for (kind, _, _, _), r, old in zip(cs, res, legacy, strict=True):
            k = by_kind.setdefault(kind, {"cases": 0, "flagged": 0, "legacy_flagged": 0})
            k["cases"] += 1
            k["flagged"] += r.contaminated
            k["legacy_flagged"] += old
        for k in by_kind.values():
            k["rate"] = round(k["flagged"] / k["cases"], 4)
            k["legacy_rate"] = round(k["legacy_flagged"] / k["cases"], 4)
        out[family] = {
            "benchmark_questions": len(sample),
            "cases": len(cs),
            "by_kind": by_kind,
            "check_questions_per_s_embeddings_given": round(len(cs) / check_s, 1),
            "check_questions_per_s_incl_embedding": round(len(cs) / (check_s + embed_s), 1),
            "legacy_questions_per_s": round(len(cs) / legacy_s, 1),
        }
        if family == "heldout":
            # leave-one-out over every benchmark question, using the shipped embeddings (no model call)
            idx = deco.index()
            texts_all: dict[int, str] = {}
            from reasonmill.pipelines.curation.text import text_key

            for _, _, q in rows:
                u = idx.exact(text_key(q))
                texts_all.setdefault(u, q)
            order = sorted(texts_all)
            assert idx.embeddings is not None
            t0 = time.perf_counter()
            cands = deco.candidates([texts_all[u] for u in order], idx.embeddings[order].astype(np.float32))
            loo_s = time.perf_counter() - t0
            flagged = templates = 0
            methods: dict[str, int] = {}
            for u, cl in zip(order, cands, strict=True):
                verdicts = [classify(c, deco.cfg) for c in cl if c.question != u]
                hits = [m for v, m in verdicts if v == "contaminated"]
                if hits:
                    flagged += 1
                    m = "ngram" if "ngram" in hits else "contained" if "contained" in hits else "embedding"
                    methods[m] = methods.get(m, 0) + 1
                elif any(v == "template" for v, _ in verdicts):
                    templates += 1
            out["leave_one_out"] = {
                "questions": len(order),
                "flagged_as_another": flagged,
                "rate": round(flagged / len(order), 4),
                "by_method": methods,
                "template_only": templates,
                "questions_per_s_embeddings_given": round(len(order) / loo_s, 1),
            }
    return out


def markdown(res: dict[str, Any]) -> str:
    """The results as Markdown."""
    lines = [
        "# Curation benchmarks",
        "",
        f"Machine: {res['machine']}; load average {res['load_start']} at the start, {res['load_end']} at the end (shared 2-core machine: rates are noisy).",
        "Generated by `python tests/benchmarks/bench_curation.py`.",
        "",
    ]
    if "minhash" in res:
        lines += [
            "## Near-duplicate dedup (MinHash LSH, 128 permutations, 3-shingles, Jaccard 0.7, 20 bands × 6 rows)",
            "",
            "Synthetic questions with 1% planted near duplicates (labels). Peak memory = peak RSS − RSS after making the input.",
            "",
            "| implementation | questions | seconds | CPU s | questions/s | dedup peak MB | input MB | recall | precision |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in res["minhash"]:
            lines.append(
                f"| ours (rensa + banded numpy LSH) | {r['n']:,} | {r['seconds']} | {r.get('cpu_seconds', '')} | {r['questions_per_s']:,} | {r['dedup_peak_mb']} | {r['input_mb']} | {r['recall']} | {r['precision']} |"
            )
        for r in res.get("datasketch", []):
            lines.append(
                f"| baseline: datasketch MinHash.bulk + MinHashLSH, same banding | {r['n']:,} | {r['seconds']} | {r.get('cpu_seconds', '')} | {r['questions_per_s']:,} | {r['dedup_peak_mb']} | | {r['recall']} | {r['precision']} |"
            )
        if "scaling" in res:
            s = res["scaling"]
            lines += [
                "",
                f"Scaling 1M / 100k: wall time × {s['time_ratio']}, CPU time × {s.get('cpu_time_ratio', '-')} (linear = 10), dedup memory × {s['memory_ratio']}. The wall figures share 2 cores with other work (see the load average); CPU seconds are the steadier measure.",
            ]
        lines.append("")
    if "embeddings" in res:
        e = res["embeddings"]
        lines += [
            "## Embeddings (packaged all-MiniLM-L6-v2, 2 torch threads, CPU)",
            "",
            "| texts | mean chars | model load s | sentences/s | incl. load | CPU s / 1000 | cached sentences/s |",
            "|---|---|---|---|---|---|---|",
            f"| {e['texts']} | {e['mean_chars']} | {e['model_load_s']} | {e['sentences_per_s']} | {e['sentences_per_s_incl_load']} | {e['cpu_s_per_1000']} | {e['cached_sentences_per_s']} |",
            "",
        ]
    if "decontam" in res:
        d = res["decontam"]
        lines += [
            "## Decontamination",
            "",
            "Rates are the share of cases flagged contaminated; labels: verbatim, prefixed and reworded copies should be flagged, hard negatives (same template, other numbers) should not. Thresholds were tuned on `dev`; `heldout` is the measurement.",
            "",
        ]
        for fam in ("heldout", "dev"):
            f = d[fam]
            lines += [
                f"### {fam}: {f['benchmark_questions']} benchmark questions, {f['cases']} cases",
                "",
                "| case | cases | ours flagged | legacy 13-gram flagged |",
                "|---|---|---|---|",
            ]
            for kind, k in f["by_kind"].items():
                lines.append(f"| {kind} | {k['cases']} | {k['rate']:.1%} | {k['legacy_rate']:.1%} |")
            lines += [
                "",
                f"Throughput: {f['check_questions_per_s_embeddings_given']} questions/s with embeddings given, {f['check_questions_per_s_incl_embedding']} including embedding; legacy check {f['legacy_questions_per_s']} questions/s.",
                "",
            ]
        loo = d["leave_one_out"]
        lines += [
            f"Leave-one-out: {loo['flagged_as_another']} of {loo['questions']} distinct benchmark questions ({loo['rate']:.2%}) flagged as another benchmark question"
            f" (by evidence: {', '.join(f'{k} {v}' for k, v in sorted(loo.get('by_method', {}).items()))}). An upper bound on false positives: the n-gram ones are mostly"
            " multi-part problems sharing a preamble (Minerva, OlympiadBench) and near-copies inside MATH, which a decontamination should flag;"
            f" {loo['template_only']} more had only template matches. {loo['questions_per_s_embeddings_given']} questions/s.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmarks and write the results."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=2)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--baseline-size", type=int, default=100_000)
    ap.add_argument("--embed", type=int, default=1000)
    ap.add_argument("--decontam", type=int, default=600)
    ap.add_argument("--skip-minhash", action="store_true")
    ap.add_argument(
        "--cache", default=None, help="embedding cache folder kept between runs (default: a temporary one)"
    )
    args = ap.parse_args()
    if args.worker:
        kind, n = args.worker
        print(json.dumps((worker_minhash if kind == "minhash" else worker_datasketch)(int(n))))
        return
    import tempfile

    res: dict[str, Any] = {
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_start": round(os.getloadavg()[0], 1),
    }
    path = RESULTS / "curation.json"
    if path.exists():  # keep sections not rerun
        old = json.loads(path.read_text())
        res = {**old, **res}
    if not args.skip_minhash:
        fresh = {r["n"]: r for r in (run_worker("minhash", int(n)) for n in args.sizes.split(","))}
        kept = {r["n"]: r for r in res.get("minhash", []) if r["n"] not in fresh}  # sizes not rerun stay
        res["minhash"] = sorted([*kept.values(), *fresh.values()], key=lambda r: r["n"])
        res["datasketch"] = [run_worker("datasketch", args.baseline_size)] if args.baseline_size else []
        print(json.dumps(res["minhash"]), json.dumps(res.get("datasketch")), flush=True)
    if "minhash" in res:  # recomputed from the stored sizes, whichever were rerun
        by_n = {r["n"]: r for r in res["minhash"]}
        if 100_000 in by_n and 1_000_000 in by_n:
            res["scaling"] = {
                "time_ratio": round(by_n[1_000_000]["seconds"] / by_n[100_000]["seconds"], 2),
                "cpu_time_ratio": round(by_n[1_000_000]["cpu_seconds"] / by_n[100_000]["cpu_seconds"], 2),
                "memory_ratio": round(
                    by_n[1_000_000]["dedup_peak_mb"] / max(by_n[100_000]["dedup_peak_mb"], 1e-9), 2
                ),
            }
    from reasonmill.pipelines.curation.benchmarks import registered_rows

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = args.cache or tmp_dir
        if args.embed:
            texts = [q for _, _, q in registered_rows()]
            texts = random.Random(0).sample(texts, min(args.embed, len(texts)))
            res["embeddings"] = bench_embeddings(texts, Path(tmp_dir) / "emb")  # always a cold cache
            print(json.dumps(res["embeddings"]), flush=True)
        if args.decontam:
            res["decontam"] = bench_decontam(args.decontam, Path(tmp) / "deco")
    if (
        "decontam" in res and "embeddings" in res
    ):  # with a warm cache the embedding step is not measured: use the embedding benchmark
        rate = res["embeddings"]["sentences_per_s"]
        for fam in ("heldout", "dev"):
            f = res["decontam"][fam]
            f["check_questions_per_s_incl_embedding"] = round(
                1 / (1 / f["check_questions_per_s_embeddings_given"] + 1 / rate), 1
            )
    res["load_end"] = round(os.getloadavg()[0], 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=2) + "\n")
    (RESULTS / "curation.md").write_text(markdown(res) + "\n")
    print(markdown(res))


if __name__ == "__main__":
    main()
