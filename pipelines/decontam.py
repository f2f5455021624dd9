"""Thin re-export: the legacy 13-gram + exact-hash decontamination now lives in
`reasonmill.pipelines.curation.fingerprints`; the full check is `reasonmill.pipelines.curation`.

Kept so `from reasonmill.pipelines.decontam import contaminated, load_fingerprints` works until
the score stage switches to the curation package.
"""

from reasonmill.pipelines.curation.fingerprints import (
    MAGIC,
    contaminated,
    fingerprints,
    load_fingerprints,
    main,
    normalise,
    write_fingerprints,
)

__all__ = [
    "MAGIC",
    "contaminated",
    "fingerprints",
    "load_fingerprints",
    "main",
    "normalise",
    "write_fingerprints",
]

if __name__ == "__main__":
    main()
