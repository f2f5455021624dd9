"""What a finished build shows a person: plots, and the dataset card (written by `card`).

`write_report(out)` reads the corpus records and the manifest and writes
  - `OUT/report/difficulty.png`: difficulty histogram, stacked by source,
  - `OUT/report/lengths.png`: corpus trace length histogram, stacked by source,
  - `OUT/report/retro_search.png`: trace tokens before and after Retro-Search, per level,
  - `OUT/report/rejections.png`: rows kept and rejected per stage, by reason,
  - `OUT/report/prompt_templates.json`: the hashes of the prompt templates of the code that ran
    the build (the card quotes these, so a card rendered later by newer code stays true),
  - `OUT/README.md`: the dataset card (`reasonmill.pipelines.card.write_card`).
Plots use matplotlib's Agg backend, so they work on headless machines. A plot without data is
not drawn (the card says "no data" where it would be).

The corpus is read through `corpus_records`, which knows both layouts: the flat analysis subset
`OUT/corpus/records/` (via `reasonmill.pipelines.corpus.read_subset` where it exists) and the
older single `OUT/corpus/*.parquet`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from reasonmill.pipelines.build_stats import (  # noqa: E402  (re-exported: the card and notebooks use them)
    PLOTS,
    PROMPTS_FILE,
    corpus_records,
    ordered_stages,
    record_rows,
    score_map,
)
from reasonmill.shards import atomic_write_json


def _pyplot() -> Any:
    # Agg: plots are files, and build machines have no display.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, ax: Any, path: Path, title: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    # PNG metadata without the matplotlib version: the same build gives the same bytes, so a
    # re-publish after a matplotlib upgrade uploads nothing new.
    fig.savefig(path, dpi=100, metadata={"Software": None})
    _pyplot().close(fig)


def _by_source(rows: list[dict[str, Any]], key: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.get(key) is not None:
            out[r["source"]].append(r[key])
    return dict(sorted(out.items()))


def plot_difficulty(rows: list[dict[str, Any]], path: Path) -> None:
    """Histogram of difficulty in [0, 1], stacked by source."""
    plt = _pyplot()
    by_source = _by_source(rows, "difficulty")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(list(by_source.values()), bins=20, range=(0, 1), stacked=True, label=list(by_source))
    ax.set_xlabel("difficulty")
    _save(fig, ax, path, "Difficulty by source", "records")


def plot_lengths(rows: list[dict[str, Any]], path: Path) -> None:
    """Histogram of the corpus traces' length in tokens, stacked by source."""
    plt = _pyplot()
    by_source = _by_source(rows, "tokens")
    top = max((max(v) for v in by_source.values() if v), default=1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(list(by_source.values()), bins=30, range=(0, top), stacked=True, label=list(by_source))
    ax.set_xlabel("trace length (tokens)")
    _save(fig, ax, path, "Trace length by source", "records")


def plot_retro_search(rows: list[dict[str, Any]], path: Path) -> None:
    """Mean trace tokens per level before and after Retro-Search, from corpus rows alone.

    Before is estimated from each row's `retro_token_reduction` score (rows: `level`, tokens as
    `trace_tokens` or `tokens`, `scores`); the build report uses `plot_retro_search_levels`, which
    has the exact per-record counts from the retro_search stage.
    """
    before: dict[int, list[float]] = defaultdict(list)
    after: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        tokens = r.get("trace_tokens", r.get("tokens"))
        if tokens is None:
            continue
        red = score_map(r.get("scores")).get("retro_token_reduction", 0.0)
        after[r["level"]].append(tokens)
        before[r["level"]].append(tokens / (1 - red) if red < 1 else tokens)
    by_level = {
        lv: {"records": len(after[lv]), "tokens_before": sum(before[lv]), "tokens_after": sum(after[lv])}
        for lv in after
    }
    plot_retro_search_levels(by_level, path)


def plot_retro_search_levels(by_level: dict[int, dict[str, Any]], path: Path) -> None:
    """Mean corpus trace tokens per level before and after Retro-Search (`retro_search_summary`'s
    "by_level": records, tokens_before, tokens_after per level)."""
    plt = _pyplot()
    levels = sorted(by_level)
    before = [by_level[lv]["tokens_before"] / max(by_level[lv]["records"], 1) for lv in levels]
    after = [by_level[lv]["tokens_after"] / max(by_level[lv]["records"], 1) for lv in levels]
    fig, ax = plt.subplots(figsize=(7, 4))
    w = 0.38
    ax.bar([lv - w / 2 for lv in levels], before, w, label="shortest verified teacher trace")
    ax.bar([lv + w / 2 for lv in levels], after, w, label="corpus trace (after Retro-Search)")
    ax.set_xlabel("level")
    _save(fig, ax, path, "Retro-Search: trace length per level", "mean tokens")


def plot_rejections(manifest: dict[str, Any], path: Path) -> None:
    """Kept and rejected rows per stage, rejections split by reason."""
    plt = _pyplot()
    by_stage = ordered_stages(manifest)
    stages = list(by_stage)
    reasons = sorted({r for s in by_stage.values() for r in s["counts"]["reasons"]})
    fig, ax = plt.subplots(figsize=(7, 4))
    kept = [by_stage[s]["counts"]["written"] for s in stages]
    ax.bar(stages, kept, label="kept")
    bottom = kept
    for reason in reasons:
        vals = [by_stage[s]["counts"]["reasons"].get(reason, 0) for s in stages]
        ax.bar(stages, vals, bottom=bottom, label=reason)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    _save(fig, ax, path, "Rows kept and rejected per stage", "rows")


def write_report(out: Path) -> dict[str, str]:
    """Write the plots, the prompt template hashes and the dataset card of a finished build;
    return name → path of what was written."""
    from reasonmill.pipelines import build_stats
    from reasonmill.pipelines.card import template_hashes, write_card

    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    rows = record_rows(out)
    paths: dict[str, str] = {}
    for rel in PLOTS.values():  # a plot that has no data this time must not linger from a rerun
        (out / rel).unlink(missing_ok=True)
    if any(r["difficulty"] is not None for r in rows):
        plot_difficulty(rows, out / PLOTS["difficulty"])
        paths["difficulty"] = str(out / PLOTS["difficulty"])
    if any(r["tokens"] is not None for r in rows):
        plot_lengths(rows, out / PLOTS["lengths"])
        paths["lengths"] = str(out / PLOTS["lengths"])
    retro = build_stats.retro_search_summary(
        build_stats.retro_search_records(out, manifest, {r["id"] for r in rows})
    )
    if retro and retro["by_level"]:
        plot_retro_search_levels(retro["by_level"], out / PLOTS["retro_search"])
        paths["retro_search"] = str(out / PLOTS["retro_search"])
    plot_rejections(manifest, out / PLOTS["rejections"])
    paths["rejections"] = str(out / PLOTS["rejections"])
    atomic_write_json(
        out / PROMPTS_FILE,
        {"reasonmill_version": manifest.get("reasonmill_version"), "templates": template_hashes()},
    )
    paths["prompt_templates"] = str(out / PROMPTS_FILE)
    paths["card"] = str(write_card(out))
    return paths


__all__ = [
    "ordered_stages",
    "PLOTS",
    "PROMPTS_FILE",
    "corpus_records",
    "plot_difficulty",
    "plot_lengths",
    "plot_rejections",
    "plot_retro_search",
    "plot_retro_search_levels",
    "record_rows",
    "write_report",
]
