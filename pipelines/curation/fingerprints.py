"""Legacy decontamination: exact-hash + word 13-gram fingerprints (the score stage's check).

Superseded by `reasonmill.pipelines.curation.decontam` (n-grams, embeddings, the number-aware
check), used by the decontamination step as its fast exact and n-gram pass.

The repository ships no benchmark text: `data/decontam_fingerprints.bin` holds 64-bit hashes of
(a) each benchmark question's normalised text and (b) every word 13-gram of it. A question is
contaminated when its normalised text hash or any of its 13-grams' hashes is in the set.
Rebuild the file from the benchmark JSONL files with:

    python -m reasonmill.pipelines.curation.fingerprints SRC.jsonl [...] --out data/decontam_fingerprints.bin
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from array import array
from functools import lru_cache
from importlib import resources
from pathlib import Path

_WORD = re.compile(r"[a-z0-9]+")
MAGIC = b"RMFP1\n"


def normalise(text: str) -> str:
    """Lower-cased text with whitespace collapsed (the benchmark file's own normalisation)."""
    return " ".join(text.lower().split())


def _h64(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")


def fingerprints(text: str, n: int = 13) -> set[int]:
    """Hashes of the normalised text and of each of its word `n`-grams."""
    words = _WORD.findall(normalise(text))
    out = {_h64("text:" + normalise(text))}
    out.update(_h64(" ".join(words[i : i + n])) for i in range(len(words) - n + 1))
    return out


def write_fingerprints(questions: list[str], out: Path, n: int = 13) -> int:
    """Write the sorted fingerprint set of `questions` to `out`; return how many hashes."""
    allfp: set[int] = set()
    for q in questions:
        allfp |= fingerprints(q, n)
    arr = array("Q", sorted(allfp))
    out.write_bytes(MAGIC + json.dumps({"n": n, "count": len(arr)}).encode() + b"\n" + arr.tobytes())
    return len(arr)


@lru_cache(maxsize=4)
def load_fingerprints(path: str | None = None) -> tuple[int, frozenset[int]]:
    """(n, hash set) from `path`, or from the fingerprints shipped with the package."""
    if path is None:
        blob = resources.files("reasonmill.data").joinpath("decontam_fingerprints.bin").read_bytes()
    else:
        blob = Path(path).read_bytes()
    if not blob.startswith(MAGIC):
        raise ValueError(f"{path or 'decontam_fingerprints.bin'} is not a reasonmill fingerprint file")
    header_end = blob.index(b"\n", len(MAGIC))
    meta = json.loads(blob[len(MAGIC) : header_end])
    arr = array("Q")
    arr.frombytes(blob[header_end + 1 :])
    return meta["n"], frozenset(arr)


def contaminated(text: str, table: tuple[int, frozenset[int]]) -> bool:
    """True when `text` matches a benchmark question exactly or shares a word n-gram with one."""
    n, fps = table
    return not fps.isdisjoint(fingerprints(text, n))


def main() -> None:
    """Command line: build the fingerprint file from benchmark JSONL files with a `question` field."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("-n", type=int, default=13)
    args = ap.parse_args()
    questions = []
    for src in args.sources:
        with open(src) as fh:
            questions.extend(json.loads(line)["question"] for line in fh if line.strip())
    count = write_fingerprints(questions, Path(args.out), args.n)
    print(f"{len(questions)} questions -> {count} fingerprints -> {args.out}")


if __name__ == "__main__":
    main()
