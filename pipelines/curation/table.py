"""The table curation works on: standard columns taken from any dataset through a column mapping.

`curation_table(df, mapping)` returns a new DataFrame, row-aligned with `df`, with:

- `id` (str): the mapped id column, or an id made from the content (question, answer,
  completion) and the number of earlier rows with the same content, so equal rows get distinct,
  stable ids; ids must be unique;
- `question` (str, required), `answer` (str), `completion` (str): a list-valued completion (a
  dataset's `generations`) counts as its first non-empty element, and `n_generations` says how
  many there were;
- when the data has them: `difficulty`, `pass_rate`, `trace_tokens`, `student_passed`,
  `student_k` (floats). A reasonmill corpus's `scores` JSON column fills any of them that is
  absent as a column (`pass_rate`, and `student_passed`/`student_k` when a build records them).

`records_table(records)` makes the same table from build records (the corpus row of each record,
plus its student counts), so a build's curate stage and `reasonmill curate` on the build's corpus
see the same values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from reasonmill.errors import ReasonmillError
from reasonmill.ids import content_id
from reasonmill.pipelines import corpus as corpus_subsets
from reasonmill.records import Record

STANDARD = ("id", "question", "answer", "completion")
NUMERIC = ("difficulty", "pass_rate", "trace_tokens", "student_passed", "student_k")


class CurationInputError(ReasonmillError, ValueError):
    """The input table cannot be curated; the message names the column and row."""


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, tuple, np.ndarray)):
        for v in value:
            t = _text(v)
            if t:
                return t
        return ""
    if isinstance(value, dict):  # a chat message
        return _text(value.get("content"))
    return str(value)


def _n_items(value: Any) -> float:
    return float(len(value)) if isinstance(value, (list, tuple, np.ndarray)) else np.nan


def _scores(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def curation_table(
    df: pd.DataFrame, mapping: Mapping[str, str] | None = None, where: str = "input"
) -> pd.DataFrame:
    """The standard table of `df` (see the module doc); `mapping` is standard name → column name."""
    mapping = dict(mapping or {})
    unknown = set(mapping) - set(STANDARD) - set(NUMERIC)
    if unknown:
        raise CurationInputError(
            f"--column {sorted(unknown)[0]}=...: not a curation column; known: {', '.join(STANDARD + NUMERIC)}"
        )
    for std, col in mapping.items():
        if col not in df.columns:
            raise CurationInputError(
                f"{where}: column {col!r} (mapped to {std}) not found; columns: {', '.join(map(str, df.columns))}"
            )
    col = {name: mapping.get(name, name) for name in STANDARD + NUMERIC}
    if col["question"] not in df.columns:
        raise CurationInputError(
            f"{where}: no question column {col['question']!r}; map one with --column question=NAME (columns: {', '.join(map(str, df.columns))})"
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    questions = df[col["question"]].tolist()
    for i, q in enumerate(questions):
        if not _text(q).strip():
            raise CurationInputError(f"{where} row {i}: column {col['question']!r} (question) is empty")
    out["question"] = [_text(q) for q in questions]
    out["answer"] = [_text(v) for v in df[col["answer"]].tolist()] if col["answer"] in df.columns else ""
    if col["completion"] in df.columns:
        raw = df[col["completion"]].tolist()
        out["completion"] = [_text(v) for v in raw]
        out["n_generations"] = [_n_items(v) for v in raw]
    else:
        out["completion"] = ""
    for name in NUMERIC:
        if col[name] in df.columns:
            out[name] = pd.to_numeric(df[col[name]], errors="coerce").astype(float).to_numpy()
    if "scores" in df.columns and "scores" not in mapping.values():
        parsed = [_scores(v) for v in df["scores"].tolist()]
        for name in NUMERIC:
            if name not in out.columns and any(name in p for p in parsed):
                out[name] = [
                    float(p[name]) if isinstance(p.get(name), (int, float)) else np.nan for p in parsed
                ]
    if col["id"] in df.columns:
        ids = [str(v) for v in df[col["id"]].tolist()]
        seen: dict[str, int] = {}
        for i, v in enumerate(ids):
            if v in seen:
                raise CurationInputError(
                    f"{where} rows {seen[v]} and {i}: id {v!r} repeats in column {col['id']!r}; ids must be unique (map another column, or none to make ids from the content)"
                )
            seen[v] = i
        out["id"] = ids
    else:
        occurrences: dict[str, int] = {}
        ids = []
        for q, a, c in zip(out["question"], out["answer"], out["completion"], strict=True):
            base = content_id(q, a, c)
            k = occurrences.get(base, 0)
            occurrences[base] = k + 1
            ids.append(base if k == 0 else content_id(q, a, c, k))
        out["id"] = ids
    return out[["id", *[c for c in out.columns if c != "id"]]]


def records_table(records: Iterable[Record]) -> pd.DataFrame:
    """The curation table of build records that reach the corpus, in order: exactly the table
    `curation_table` makes from the corpus rows the export would write for them (so the build's
    curate stage and `reasonmill curate` on the build folder decide alike).

    Records without a verified trace have no corpus row and are left out: the export drops them
    anyway, and a record that is never exported must not be the kept row of a duplicate cluster.
    """
    rows = [row for row in (corpus_subsets.subset_rows(rec).get("records") for rec in records) if row]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object if c in STANDARD else float) for c in STANDARD})
    return curation_table(pd.DataFrame(rows), where="records")
