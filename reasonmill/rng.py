"""Per-item randomness.

Every generated item draws from its own `random.Random` seeded with the string
"source:seed:index". Seeding with `seed + index` (as reasoning-gym does) makes neighbouring seeds
share items: seed 1 item 0 equals seed 0 item 1. A string seed is hashed by `random` with SHA-512,
so nearby seeds give unrelated streams and results are stable across Python versions.

>>> item_rng("chain_sum", 0, 1).random() == item_rng("chain_sum", 1, 0).random()
False
"""

from __future__ import annotations

import random


def item_rng(source: str, seed: int, index: int) -> random.Random:
    """Return the random stream of item `index` of `source` under build seed `seed`."""
    return random.Random(f"{source}:{seed}:{index}")
