"""Curation for builds and for any dataset: dedup (exact, near, semantic), decontamination that
catches paraphrases, and selection methods from the research (issue 13).

    from reasonmill.pipelines.curation import CurationConfig, plan_curation
    plan = plan_curation(df, CurationConfig(selectors=[{"name": "select2reason"}]), cache_dir=cache)
    plan.decisions          # one row per input row: id, kept, reason, detail, duplicate_of, scores
    plan.report.write(out)  # counts per reason, benchmark matches, template matches, plots

Modules: `config` (every knob and its default), `table` (column mapping, ids), `text` (keys),
`dedup`, `embed`, `benchmarks` (registry + shipped index), `decontam`, `judge`, `selectors`
(registry), `plan`, `report`, `files` (read any dataset, write kept/rejected).
"""

from reasonmill.pipelines.curation.benchmarks import BENCHMARKS, BenchmarkSource
from reasonmill.pipelines.curation.config import (
    CurationConfig,
    DecontamConfig,
    EmbeddingConfig,
    NearDedupConfig,
    SelectorSpec,
    SemanticDedupConfig,
    load_curation_config,
)
from reasonmill.pipelines.curation.decontam import BenchmarkMatch, Decontaminator
from reasonmill.pipelines.curation.embed import Embedder
from reasonmill.pipelines.curation.plan import REASONS, CurationPlan, Decision, plan_curation
from reasonmill.pipelines.curation.report import CurationReport
from reasonmill.pipelines.curation.selectors import SELECTORS, Selection, SelectionContext, Selector
from reasonmill.pipelines.curation.table import curation_table, records_table

__all__ = [
    "BENCHMARKS",
    "REASONS",
    "SELECTORS",
    "BenchmarkMatch",
    "BenchmarkSource",
    "CurationConfig",
    "CurationPlan",
    "CurationReport",
    "Decision",
    "DecontamConfig",
    "Decontaminator",
    "EmbeddingConfig",
    "Embedder",
    "NearDedupConfig",
    "Selection",
    "SelectionContext",
    "Selector",
    "SelectorSpec",
    "SemanticDedupConfig",
    "curation_table",
    "load_curation_config",
    "plan_curation",
    "records_table",
]
