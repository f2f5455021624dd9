"""Stable content-hash ids.

An id is a hash of what defines an item (its source, seed, index and content), so the same config
produces the same ids on every machine and every rerun, and two different items never share one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_id(*parts: Any, length: int = 16) -> str:
    """Return a hex id of `length` characters from the JSON form of `parts`.

    >>> content_id("chain_sum", 0, 3) == content_id("chain_sum", 0, 3)
    True
    """
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=32).hexdigest()[:length]


def text_fingerprint(text: str) -> str:
    """Return the hash of a whitespace- and case-normalised text, for exact dedup and decontamination."""
    normalised = " ".join(text.lower().split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
