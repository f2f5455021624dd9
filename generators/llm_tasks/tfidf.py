"""TF-IDF cosine similarity against the texts seen so far, for near-duplicate backgrounds.

MindGYM regenerates a background scenario when its TF-IDF cosine similarity to an earlier one
exceeds 0.75. The index is tiny (one shard's backgrounds), so it is pure Python: word unigrams,
sublinear tf, smoothed idf `log((1 + N) / (1 + df)) + 1` over the documents indexed *plus* the
query (scikit-learn's default smoothing), L2-normalised vectors. The idf is recomputed per query,
which is what keeps a word common to every background from dominating.

>>> idx = TfidfIndex()
>>> idx.add("the market crashed after the bank failed")
>>> round(idx.max_similarity("the bank failed and the market crashed"), 2) > 0.75
True
>>> idx.max_similarity("photosynthesis in deep sea algae") < 0.1
True
"""

from __future__ import annotations

import math
import re
from collections import Counter

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were will with".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


class TfidfIndex:
    """Documents added one by one; `max_similarity(text)` is the highest cosine to any of them."""

    def __init__(self) -> None:
        self._docs: list[Counter[str]] = []
        self._df: Counter[str] = Counter()
        self.texts: list[str] = []

    def __len__(self) -> int:
        return len(self._docs)

    def add(self, text: str) -> None:
        """Index `text` as an earlier document."""
        tf = Counter(tokenize(text))
        self.texts.append(text)
        self._docs.append(tf)
        self._df.update(tf.keys())

    def _vector(self, tf: Counter[str], df: Counter[str], n: int) -> dict[str, float]:
        vec = {w: (1 + math.log(c)) * (math.log((1 + n) / (1 + df[w])) + 1) for w, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    def similarities(self, text: str) -> list[float]:
        """Cosine similarity of `text` to every indexed document, in insertion order."""
        q = Counter(tokenize(text))
        if not self._docs or not q:
            return [0.0] * len(self._docs)
        df = self._df + Counter(q.keys())
        n = len(self._docs) + 1
        qv = self._vector(q, df, n)
        out = []
        for doc in self._docs:
            dv = self._vector(doc, df, n)
            out.append(sum(v * dv.get(w, 0.0) for w, v in qv.items()))
        return out

    def max_similarity(self, text: str) -> float:
        """Highest cosine similarity of `text` to an indexed document (0.0 when empty)."""
        return max(self.similarities(text), default=0.0)
