"""What a finished build shows a person: plots and a dataset card.

`write_report(out)` reads the corpus and the manifest and writes
  - `OUT/report/difficulty.png`: difficulty histogram per source,
  - `OUT/report/retro_search.png`: trace tokens before and after Retro-Search,
  - `OUT/report/rejections.png`: rows kept and rejected per stage, by reason,
  - `OUT/README.md`: a dataset card (Hugging Face YAML header with the corpus data files, the config
    hash, counts per stage and reason, verification and decontamination results).
Plots use matplotlib's Agg backend, so they work on headless machines.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from reasonmill.pipelines.export import dataset_card_configs
from reasonmill.shards import atomic_write_bytes


def _corpus_rows(out: Path) -> list[dict[str, Any]]:
    cols = ["source", "difficulty", "trace_tokens", "parent_trace_id", "scores", "level"]
    rows: list[dict[str, Any]] = []
    for f in sorted((out / "corpus" / "records").glob("*.parquet")):
        rows.extend(pq.read_table(f, columns=cols).to_pylist())
    return rows


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
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)


def plot_difficulty(rows: list[dict[str, Any]], path: Path) -> None:
    """Histogram of difficulty, one series per source."""
    plt = _pyplot()
    by_source: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        by_source[r["source"]].append(r["difficulty"])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(list(by_source.values()), bins=20, range=(0, 1), stacked=True, label=list(by_source))
    ax.set_xlabel("difficulty (intrinsic: solver effort)")
    _save(fig, ax, path, "Difficulty by source", "records")


def plot_retro_search(rows: list[dict[str, Any]], path: Path) -> None:
    """Trace tokens of the corpus before and after Retro-Search, per level."""
    plt = _pyplot()
    before: dict[int, list[float]] = defaultdict(list)
    after: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        scores = r["scores"] if isinstance(r["scores"], dict) else json.loads(r["scores"])
        red = scores.get("retro_token_reduction") or 0.0
        after[r["level"]].append(r["trace_tokens"])
        before[r["level"]].append(r["trace_tokens"] / (1 - red) if red < 1 else r["trace_tokens"])
    levels = sorted(after)
    fig, ax = plt.subplots(figsize=(7, 4))
    w = 0.38
    ax.bar([lv - w / 2 for lv in levels], [sum(before[lv]) / len(before[lv]) for lv in levels], w, label="teacher trace (shortest correct)")
    ax.bar([lv + w / 2 for lv in levels], [sum(after[lv]) / len(after[lv]) for lv in levels], w, label="corpus trace (after Retro-Search)")
    ax.set_xlabel("level")
    _save(fig, ax, path, "Retro-Search: trace length per level", "mean tokens")


def plot_rejections(manifest: dict[str, Any], path: Path) -> None:
    """Kept and rejected rows per stage, rejections split by reason."""
    plt = _pyplot()
    stages = list(manifest["stages"])
    reasons = sorted({r for s in manifest["stages"].values() for r in s["counts"]["reasons"]})
    fig, ax = plt.subplots(figsize=(7, 4))
    kept = [manifest["stages"][s]["counts"]["written"] for s in stages]
    ax.bar(stages, kept, label="kept")
    bottom = kept
    for reason in reasons:
        vals = [manifest["stages"][s]["counts"]["reasons"].get(reason, 0) for s in stages]
        ax.bar(stages, vals, bottom=bottom, label=reason)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    _save(fig, ax, path, "Rows kept and rejected per stage", "rows")


def dataset_card(manifest: dict[str, Any]) -> str:
    """A Hugging Face dataset card for the build: YAML header, what it is, counts, provenance."""
    stages = manifest["stages"]
    configs = []
    for c in dataset_card_configs(manifest["corpus"]):
        configs += [f"- config_name: {c['config_name']}"] + (["  default: true"] if c.get("default") else [])
        configs += ["  data_files:"] + [f"  - split: {d['split']}\n    path: \"{d['path']}\"" for d in c["data_files"]]
    lines = [
        "---",
        "configs:",
        *configs,
        "tags: [reasoning, synthetic, verified, reasonmill]",
        "---",
        f"# {manifest['name']}",
        "",
        "A verified, difficulty-scored reasoning corpus built with reasonmill.",
        "",
        f"- config hash: `{manifest['config_hash']}` (the full config is in `manifest.json`)",
        f"- rows: {manifest['corpus']['rows']} (preference pairs: {manifest['corpus']['preference_pairs']})",
        f"- teacher: `{manifest['config']['distill']['teacher']}`, samples per question: {manifest['config']['distill']['samples']}",
        f"- Retro-Search: {'on, reviser `' + manifest['config']['retro_search']['reviser'] + '`' if manifest['config']['retro_search']['enabled'] else 'off'}",
        "- every answer verified (math equivalence, exact match or sandboxed code, in worker processes)",
        "- decontaminated against MATH, GSM8K, OlympiadBench, Minerva math, AMC23, AIME24/25 (exact and 13-gram)",
        "",
        "## Counts per stage",
        "",
        "| stage | read | created | kept | rejected | reasons |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in stages.items():
        c = s["counts"]
        reasons = ", ".join(f"{k}: {v}" for k, v in c["reasons"].items()) or "-"
        lines.append(f"| {name} | {c['read']} | {c['created']} | {c['written']} | {c['rejected']} | {reasons} |")
    lines += ["", "## Plots", "", "![difficulty](report/difficulty.png)", "![retro-search](report/retro_search.png)", "![rejections](report/rejections.png)", ""]
    return "\n".join(lines)


def write_report(out: Path) -> dict[str, str]:
    """Write the plots and the dataset card of a finished build; return name → path."""
    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    rows = _corpus_rows(out)
    report = out / "report"
    report.mkdir(exist_ok=True)
    paths = {}
    if rows:
        plot_difficulty(rows, report / "difficulty.png")
        plot_retro_search(rows, report / "retro_search.png")
        paths.update(difficulty=str(report / "difficulty.png"), retro_search=str(report / "retro_search.png"))
    plot_rejections(manifest, report / "rejections.png")
    paths["rejections"] = str(report / "rejections.png")
    atomic_write_bytes(out / "README.md", dataset_card(manifest).encode())
    paths["card"] = str(out / "README.md")
    return paths
