"""The curation report: counts per reason, every benchmark match, selection before/after, plots.

`CurationReport.write(folder)` writes `report.json` (everything), `report.md` and `report.html`
(summary tables: reasons, contamination matches with benchmark, id and score, template matches
listed apart, per-selector counts, timings) and PNG plots (matplotlib, Agg backend):
`reasons.png`, `difficulty.png` and `length.png` (histograms before and after selection).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reasonmill.shards import atomic_write_json


@dataclass(slots=True)
class CurationReport:
    """What a curation run decided and found (see the module doc)."""

    rows: int
    kept: int
    reasons: dict[str, int]
    contamination: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    judge_rejected: list[dict[str, Any]] = field(default_factory=list)
    selection: list[dict[str, Any]] = field(default_factory=list)
    difficulty_before: list[float] = field(default_factory=list)
    difficulty_after: list[float] = field(default_factory=list)
    length_before: list[float] = field(default_factory=list)
    length_after: list[float] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CurationReport:
        """Inverse of `to_dict`."""
        return cls(**d)

    def matches_frame(self) -> pd.DataFrame:
        """Contamination matches as a DataFrame (id, benchmark, benchmark_id, method, score, ...)."""
        return pd.DataFrame(self.contamination)

    def templates_frame(self) -> pd.DataFrame:
        """Template matches (same template, other numbers: not contaminated) as a DataFrame."""
        return pd.DataFrame(self.templates)

    # -- rendering ------------------------------------------------------------------------

    def _plots(self, folder: Path) -> list[Path]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        paths = []
        fig, ax = plt.subplots(figsize=(6, 3.2))
        names = ["kept", *sorted(self.reasons)]
        values = [self.kept, *[self.reasons[k] for k in sorted(self.reasons)]]
        ax.barh(names, values, color=["#4c956c"] + ["#bc4b51"] * len(self.reasons))
        ax.set_xlabel("rows")
        ax.set_title(f"curation: {self.kept} of {self.rows} rows kept")
        fig.tight_layout()
        p = folder / "reasons.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
        for name, before, after, label in (
            ("difficulty", self.difficulty_before, self.difficulty_after, "difficulty"),
            ("length", self.length_before, self.length_after, "trace tokens"),
        ):
            b = np.array([x for x in before if x == x], dtype=float)
            a = np.array([x for x in after if x == x], dtype=float)
            fig, ax = plt.subplots(figsize=(6, 3.2))
            if len(b):
                bins = np.histogram_bin_edges(np.concatenate([b, a]) if len(a) else b, bins=30)
                ax.hist(b, bins=bins, alpha=0.55, label=f"before selection ({len(b)})", color="#577590")
                if len(a):
                    ax.hist(a, bins=bins, alpha=0.75, label=f"after selection ({len(a)})", color="#f3722c")
                ax.legend()
            else:
                ax.text(0.5, 0.5, f"no {label} in the data", ha="center", va="center", transform=ax.transAxes)
            ax.set_xlabel(label)
            ax.set_ylabel("rows")
            ax.set_title(f"{label} before and after selection")
            fig.tight_layout()
            p = folder / f"{name}.png"
            fig.savefig(p, dpi=110)
            plt.close(fig)
            paths.append(p)
        return paths

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        reasons = pd.DataFrame(
            [{"outcome": "kept", "rows": self.kept}]
            + [{"outcome": k, "rows": v} for k, v in sorted(self.reasons.items())]
        )
        cols = [
            "id",
            "benchmark",
            "benchmark_id",
            "method",
            "score",
            "cosine",
            "ngram_overlap",
            "numbers_missing",
            "numbers_total",
            "judge_score",
        ]
        out = [("Rows per outcome", reasons)]
        out.append(("Contamination matches", pd.DataFrame(self.contamination, columns=cols)))
        out.append(
            (
                "Template matches (same template, other numbers: kept)",
                pd.DataFrame(self.templates, columns=cols),
            )
        )
        if self.judge_rejected:
            out.append(
                ("Candidates the judge rejected (kept)", pd.DataFrame(self.judge_rejected, columns=cols))
            )
        if self.selection:
            out.append(("Selection steps", pd.DataFrame(self.selection)))
        stats = []
        for name, before, after in (
            ("difficulty", self.difficulty_before, self.difficulty_after),
            ("trace tokens", self.length_before, self.length_after),
        ):
            b, a = pd.Series(before, dtype=float).dropna(), pd.Series(after, dtype=float).dropna()
            if len(b):
                stats.append(
                    {
                        "measure": name,
                        "rows before": len(b),
                        "mean before": round(b.mean(), 3),
                        "median before": round(b.median(), 3),
                        "rows after": len(a),
                        "mean after": round(a.mean(), 3) if len(a) else None,
                        "median after": round(a.median(), 3) if len(a) else None,
                    }
                )
        if stats:
            out.append(("Before and after selection", pd.DataFrame(stats)))
        if self.timings:
            out.append(
                (
                    "Timings (s)",
                    pd.DataFrame([{"step": k, "seconds": round(v, 3)} for k, v in self.timings.items()]),
                )
            )
        return out

    def markdown(self, limit: int = 200) -> str:
        """The summary as Markdown (at most `limit` rows per table)."""
        lines = ["# Curation report", "", f"{self.kept} of {self.rows} rows kept.", ""]
        for title, frame in self._tables():
            lines += [f"## {title}", ""]
            if frame.empty:
                lines += ["(none)", ""]
                continue
            shown = frame.head(limit)
            lines.append("| " + " | ".join(map(str, shown.columns)) + " |")
            lines.append("|" + "---|" * len(shown.columns))
            for row in shown.itertuples(index=False):
                lines.append("| " + " | ".join("" if v is None or v != v else str(v) for v in row) + " |")
            if len(frame) > limit:
                lines.append(f"\n… {len(frame) - limit} more rows in report.json")
            lines.append("")
        lines += [
            "## Plots",
            "",
            "![outcomes](reasons.png)",
            "![difficulty](difficulty.png)",
            "![length](length.png)",
            "",
        ]
        return "\n".join(lines)

    def html(self, limit: int = 200) -> str:
        """The summary as a standalone HTML page (tables via pandas, plots as images)."""
        parts = [
            "<!doctype html><meta charset='utf-8'><title>Curation report</title>",
            "<h1>Curation report</h1>",
            f"<p>{self.kept} of {self.rows} rows kept.</p>",
        ]
        for title, frame in self._tables():
            parts.append(f"<h2>{html.escape(title)}</h2>")
            parts.append(
                "<p>(none)</p>" if frame.empty else frame.head(limit).to_html(index=False, na_rep="")
            )
        parts += ["<h2>Plots</h2>", "<img src='reasons.png'><img src='difficulty.png'><img src='length.png'>"]
        return "\n".join(parts)

    def write(self, folder: Path) -> list[Path]:
        """Write report.json, report.md, report.html and the plots into `folder`; return the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / "report.json", self.to_dict())
        paths = [folder / "report.json"]
        for name, text in (("report.md", self.markdown()), ("report.html", self.html())):
            tmp = folder / f".{name}.tmp"
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(folder / name)
            paths.append(folder / name)
        return paths + self._plots(folder)


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write (NaN written as null)."""
    atomic_write_json(path, json.loads(json.dumps(obj, default=str).replace("NaN", "null")))
