"""Dedup, three kinds: exact, near-duplicate (MinHash LSH) and semantic (SemDeDup-style).

Each function takes the questions of the rows still in play (in input order) and returns, per
row, the position of the row it duplicates (or -1) and a score, so the caller decides reasons and
details. The kept row of a group is chosen by a fixed rule, so reruns and a build vs a
`reasonmill curate` run agree:

- exact: the first row in input order of each normalised question;
- near: connected components of verified candidate pairs; the first row in input order;
- semantic: `SemanticDedupConfig.keep` (SemDeDup's order inside k-means clusters, or input order).

Near-duplicate memory is bounded: signatures are hashed into band keys batch by batch and only the
band keys (`bands` × 8 bytes per row) stay in memory; signatures are recomputed for the rows that
LSH proposes as candidates, to verify each pair's Jaccard estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from reasonmill.pipelines.curation.config import NearDedupConfig, SemanticDedupConfig
from reasonmill.pipelines.curation.embed import ProgressFn
from reasonmill.pipelines.curation.text import content_key, shingles, text_key


def exact_duplicates(questions: Sequence[str]) -> np.ndarray:
    """For each row, the position of the first row with the same normalised question (-1 for itself).

    >>> exact_duplicates(["A b", "x", "a  B"]).tolist()
    [-1, -1, 0]
    """
    first: dict[int, int] = {}
    out = np.full(len(questions), -1, dtype=np.int64)
    for i, q in enumerate(questions):
        j = first.setdefault(text_key(q), i)
        if j != i:
            out[i] = j
    return out


# --- near duplicates -------------------------------------------------------------------------


def _area(f: Callable[[float], float], a: float, b: float, steps: int = 200) -> float:
    xs = np.linspace(a, b, steps)
    ys = np.array([f(x) for x in xs])
    return float(np.sum((ys[1:] + ys[:-1]) / 2 * np.diff(xs)))


@lru_cache(maxsize=32)
def lsh_bands(threshold: float, num_perm: int, fp_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows per band) minimising `fp_weight`·false-positive + (1 − fp_weight)·false-negative
    probability mass around `threshold` (datasketch's `_optimal_param` rule).

    >>> lsh_bands(0.7, 128), lsh_bands(0.7, 128, fp_weight=0.2)
    ((14, 9), (18, 7))
    """
    best, best_err = (1, num_perm), math.inf
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = _area(lambda s, b=b, r=r: 1 - (1 - s**r) ** b, 0.0, threshold, 60)
            fn = _area(lambda s, b=b, r=r: (1 - s**r) ** b, threshold, 1.0, 60)
            err = fp_weight * fp + (1 - fp_weight) * fn
            if err < best_err:
                best_err, best = err, (b, r)
    return best


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 keys: each band's `rows` signature values mixed into one 64-bit word."""
    n = sig.shape[0]
    s = sig[:, : bands * rows].astype(np.uint64).reshape(n, bands, rows)
    with np.errstate(over="ignore"):
        h = np.full((n, bands), np.uint64(0xCBF29CE484222325), dtype=np.uint64)
        for j in range(rows):
            h = (h ^ s[:, :, j]) * _MIX
            h ^= h >> np.uint64(29)
    return h


def minhash_signatures(questions: Sequence[str], cfg: NearDedupConfig) -> np.ndarray:
    """(n, num_perm) uint32 MinHash signatures of the questions' word shingles (rensa RMinHash)."""
    from rensa import RMinHash

    sets = [shingles(q, cfg.shingle) for q in questions]
    if not sets:
        return np.zeros((0, cfg.num_perm), dtype=np.uint32)
    matrix = RMinHash.digest_matrix_from_token_sets(sets, cfg.num_perm, cfg.seed)
    return np.array(matrix.to_rows(), dtype=np.uint32)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p[root] != root:
            root = p[root]
        while p[x] != root:
            p[x], x = root, p[x]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the smaller position is the root: the first row in input order is kept
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def near_duplicates(
    questions: Sequence[str],
    cfg: NearDedupConfig,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(duplicate_of, jaccard): for each row, the position of the kept row of its near-duplicate
    cluster (-1 when it is kept) and the Jaccard estimate between the two signatures.

    With `cfg.same_numbers`, a pair only counts when both rows state the same numbers (computed
    for the candidate rows only): the same template with other numbers is a different problem.
    """
    n = len(questions)
    bands, rows = (
        (cfg.bands, cfg.num_perm // cfg.bands)
        if cfg.bands
        else lsh_bands(cfg.threshold, cfg.num_perm, cfg.fp_weight)
    )
    keys = np.empty((n, bands), dtype=np.uint64)
    for start in range(0, n, cfg.batch_rows):
        sig = minhash_signatures(questions[start : start + cfg.batch_rows], cfg)
        keys[start : start + len(sig)] = _band_keys(sig, bands, rows)
        if progress:
            progress(min(start + cfg.batch_rows, n), n)
    # Candidate pairs: rows sharing a band key, each paired with the first row of its bucket.
    pa, pb = [], []
    for b in range(bands):
        col = keys[:, b]
        order = np.argsort(col, kind="stable")
        sorted_keys = col[order]
        same = sorted_keys[1:] == sorted_keys[:-1]
        if not same.any():
            continue
        starts = np.flatnonzero(np.concatenate([[True], ~same]))
        group = np.cumsum(np.concatenate([[True], ~same])) - 1
        anchor = order[starts[group]]
        dup = anchor != order
        pa.append(anchor[dup])
        pb.append(order[dup])
    del keys
    dup_of = np.full(n, -1, dtype=np.int64)
    score = np.zeros(n, dtype=np.float64)
    if not pa:
        return dup_of, score
    pairs = np.unique(np.stack([np.concatenate(pa), np.concatenate(pb)], axis=1), axis=0)
    involved = np.unique(pairs)
    sig = np.empty((len(involved), cfg.num_perm), dtype=np.uint32)
    for start in range(0, len(involved), cfg.batch_rows):
        chunk = involved[start : start + cfg.batch_rows]
        sig[start : start + len(chunk)] = minhash_signatures([questions[i] for i in chunk], cfg)
    ia, ib = np.searchsorted(involved, pairs[:, 0]), np.searchsorted(involved, pairs[:, 1])
    jac = np.empty(len(pairs))
    for start in range(0, len(pairs), 100_000):
        sl = slice(start, start + 100_000)
        jac[sl] = (sig[ia[sl]] == sig[ib[sl]]).mean(axis=1)
    good = jac >= cfg.threshold
    if cfg.same_numbers:
        nums = {i: content_key(questions[i]) for i in np.unique(pairs[good]).tolist()}
        good &= np.array(
            [g and nums[a] == nums[b] for (a, b), g in zip(pairs.tolist(), good.tolist(), strict=True)],
            dtype=bool,
        )
    uf = _UnionFind(n)
    for a, b in pairs[good].tolist():
        uf.union(a, b)
    for i in involved.tolist():
        root = uf.find(i)
        if root != i:
            dup_of[i] = root
    dup_rows = np.flatnonzero(dup_of >= 0)
    if len(dup_rows):
        da = np.searchsorted(involved, dup_rows)
        db = np.searchsorted(involved, dup_of[dup_rows])
        score[dup_rows] = (sig[da] == sig[db]).mean(axis=1)
    return dup_of, score


# --- semantic duplicates ---------------------------------------------------------------------


def _clusters(emb: np.ndarray, cfg: SemanticDedupConfig) -> tuple[np.ndarray, np.ndarray]:
    """(labels, centroids): k-means clusters of the embeddings (one cluster for small inputs;
    mini-batch k-means above 50,000 rows)."""
    n = len(emb)
    k = cfg.clusters or max(1, math.ceil(n / cfg.rows_per_cluster))
    k = min(k, n)
    if k <= 1:
        return np.zeros(n, dtype=np.int64), emb.mean(axis=0, keepdims=True)
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if n <= 50_000:
        km = KMeans(n_clusters=k, random_state=cfg.seed, n_init=1, max_iter=50).fit(emb)
    else:
        km = MiniBatchKMeans(n_clusters=k, random_state=cfg.seed, n_init=1, batch_size=4096, max_iter=20).fit(
            emb
        )
    return km.labels_.astype(np.int64), km.cluster_centers_


def semantic_duplicates(
    emb: np.ndarray,
    cfg: SemanticDedupConfig,
    number_keys: Sequence[tuple[tuple[str, ...], frozenset[str]]] | None = None,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(duplicate_of, cosine) per row: the kept row it is a semantic duplicate of (-1 when kept).

    Inside each cluster rows are visited in the keep order (`cfg.keep`); a row is dropped when its
    cosine to an already kept row is ≥ `cfg.threshold` (and, with `number_keys`, that row states
    the same numbers); it points at the most similar such kept row. Unlike SemDeDup's one-shot
    rule, a row is only dropped for a row that stays, so every drop names a kept row. Similarities
    are computed block by block and only pairs above the threshold are kept, so memory stays
    bounded by the block size whatever the cluster size.
    """
    n = len(emb)
    dup_of = np.full(n, -1, dtype=np.int64)
    score = np.zeros(n, dtype=np.float64)
    if n == 0:
        return dup_of, score
    labels, centroids = _clusters(emb, cfg)
    done = 0
    for c in range(len(centroids)):
        members = np.flatnonzero(labels == c)
        done += len(members)
        if len(members) < 2:
            continue
        vecs = emb[members]
        if cfg.keep == "semdedup":
            cen = centroids[c] / max(np.linalg.norm(centroids[c]), 1e-12)
            order = np.argsort(vecs @ cen, kind="stable")  # least typical first; ties in input order
        else:
            order = np.arange(len(members))
        members, vecs = members[order], vecs[order]
        # neighbours[j]: (earlier position, cosine) pairs above the threshold, in keep order
        neighbours: dict[int, list[tuple[int, float]]] = {}
        for a in range(0, len(members), 2048):
            sims = vecs[a : a + 2048] @ vecs[: a + 2048].T
            rows, cols = np.nonzero(sims >= cfg.threshold)
            earlier = cols < rows + a
            for r, col, v in zip(
                (rows[earlier] + a).tolist(),
                cols[earlier].tolist(),
                sims[rows[earlier], cols[earlier]].tolist(),
                strict=True,
            ):
                neighbours.setdefault(r, []).append((col, v))
        dropped = np.zeros(len(members), dtype=bool)
        for j in sorted(neighbours):
            mine = number_keys[members[j]] if number_keys is not None else None
            best, best_v = -1, -2.0
            for i, v in neighbours[j]:
                if dropped[i] or (mine is not None and number_keys[members[i]] != mine):  # type: ignore[index]
                    continue
                if v > best_v:
                    best, best_v = i, v
            if best >= 0:
                dropped[j] = True
                dup_of[members[j]] = members[best]
                score[members[j]] = best_v
        if progress:
            progress(done, n)
    return dup_of, score
