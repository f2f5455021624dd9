"""Corpus subsets as `datasets.Dataset`s for the trainers, checked before any model is loaded.

A subset is read with `read_subset` (pyarrow; an empty subset gives 0 rows) and converted to a
`datasets.Dataset`, keeping only the columns the trainer's format needs plus provenance. Checks,
each one clear line naming the folder and the problem: the subset is not empty (an empty
preference subset says the build has no wrong traces to pair), the columns of the format are
present, GRPO's `kind` values all have a verifier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reasonmill.errors import ReasonmillError
from reasonmill.pipelines.corpus import corpus_dir, read_subset

FORMAT_COLUMNS = {
    "sft": ("messages",),
    "prompt_completion": ("prompt", "completion"),
    "grpo": ("prompt", "solution", "kind"),
    "preference": ("prompt", "chosen", "rejected"),
    "records": ("question", "answer", "completion"),
}
PROVENANCE = ("id", "source", "level", "difficulty")


class EmptySubsetError(ReasonmillError):
    """The subset a trainer needs has no rows."""


def load_rows(corpus: str | Path, subset: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of a subset as dicts (the first `limit` rows when given)."""
    table = read_subset(Path(corpus), subset)
    if limit is not None:
        table = table.slice(0, limit)
    return table.to_pylist()


def load_train_dataset(corpus: str | Path, subset: str, limit: int | None = None) -> Any:
    """A `datasets.Dataset` of the subset's format columns plus id and provenance (no `scores`)."""
    from datasets import Dataset

    folder = corpus_dir(Path(corpus)) / subset
    table = read_subset(Path(corpus), subset)
    if table.num_rows == 0:
        hint = (
            " (no record has both a verified and a checked wrong trace: use a fallible teacher or more samples)"
            if subset == "preference"
            else ""
        )
        raise EmptySubsetError(f"{folder}: subset '{subset}' has 0 rows{hint}")
    need = FORMAT_COLUMNS.get(subset, ())
    missing = [c for c in need if c not in table.column_names]
    if missing:
        raise ReasonmillError(f"{folder}: subset '{subset}' lacks column(s) {', '.join(missing)}")
    keep = [c for c in (*need, *PROVENANCE) if c in table.column_names]
    table = table.select(keep)
    if limit is not None:
        table = table.slice(0, limit)
    if "kind" in table.column_names:
        from reasonmill.verifiers.rewards import require_known_kinds

        require_known_kinds(table.column("kind").to_pylist(), str(folder))
    return Dataset(table)


__all__ = ["EmptySubsetError", "FORMAT_COLUMNS", "load_rows", "load_train_dataset"]
