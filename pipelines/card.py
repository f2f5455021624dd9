"""The dataset card of a build: the README.md people read on the Hub and `datasets` reads to load it.

`render_card(out)` returns the card's text; `write_card(out)` writes it to `OUT/README.md`
atomically (the report calls it at the end of every build; `publish` renders it again with the
repo id so the usage snippet names the real repo). The card is a pure function of the build
folder, so an unchanged build renders byte-identical cards and a re-publish uploads nothing.

YAML front matter (what the Hub and `datasets.load_dataset(repo, NAME)` read): one config per corpus
subset (`corpus.dataset_card_configs`),
one per curated folder, the license, task categories, tags and size category. Then, in order: how
to load it, the build (config and its hash), the models, the prompt template hashes per LLM stage,
counts per stage and per rejection reason, verification per verifier, teacher accuracy per family
and level, decontamination, difficulty and length histograms, Retro-Search's token reduction, and
the methods with their papers. A section without data says so rather than disappearing.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from statistics import mean, median
from typing import Any

import pyarrow.parquet as pq
import yaml

from reasonmill.pipelines import build_stats
from reasonmill.pipelines import corpus as corpus_subsets
from reasonmill.pipelines.build_stats import PLOTS, PROMPTS_FILE, ordered_stages, record_rows
from reasonmill.shards import atomic_write_bytes

DEFAULT_LICENSE = "apache-2.0"
"""License in the front matter unless the publisher names another (reasonmill's own; procedural
data carries no third-party terms, but an LLM teacher's outputs may: pass `license` then)."""

TASK_CATEGORIES = ["text-generation", "question-answering"]
BASE_TAGS = ["reasoning", "synthetic", "verified", "math", "reasonmill"]

SUBSET_USE = {
    "sft": "SFT, conversational `messages` (TRL `SFTTrainer`)",
    "prompt_completion": "SFT, conversational prompt-completion (TRL `SFTTrainer`)",
    "grpo": "RL: `prompt` + `solution` for reward functions (TRL `GRPOTrainer`)",
    "preference": "preference pairs `prompt`/`chosen`/`rejected` (TRL `DPOTrainer`)",
    "records": "analysis: one flat row per record (provenance, tokens, difficulty, scores)",
    "default": "SFT and RL: `messages`, `prompt`/`completion`, `solution` (one flat row per record)",
}
"""What each corpus subset is for, by config name."""

TEMPLATE_STAGES: dict[str, tuple[str, ...]] = {
    "mindgym_background": ("seeds",),
    "mindgym_subquestions": ("seeds",),
    "compose": ("compose",),
    "teacher": ("distill", "retro_search"),
    "judge": ("verify", "score"),
    "student": ("score",),
}
"""Prompt template → the LLM stages that render it (retro_search prompts its reviser like the
teacher; score asks the judge about free-form student answers)."""

SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
]


def size_category(rows: int) -> str:
    """The Hub's size category label for a dataset of `rows` rows.

    >>> size_category(132), size_category(25_000)
    ('n<1K', '10K<n<100K')
    """
    for limit, label in SIZE_CATEGORIES:
        if rows < limit:
            return label
    return "n>1B"


# ---------------------------------------------------------------------------------------------
# Prompt templates


def _llm_task(*names: str) -> Any:
    # The LLM render functions live in reasonmill.generators.llm_tasks (earlier: .llm, with
    # multihop.py named compose.py); take whichever this install has.
    import importlib

    for package in ("reasonmill.generators.llm_tasks", "reasonmill.generators.llm"):
        for name in names:
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError:
                continue
    raise ModuleNotFoundError(f"no LLM task module {' or '.join(names)} under reasonmill.generators")


def _placeholder_renders() -> dict[str, Callable[[], Any]]:
    from reasonmill.verifiers.judge import render_judge

    multihop, mindgym = _llm_task("multihop", "compose"), _llm_task("mindgym")
    render_student, render_teacher = _llm_task("student").render_student, _llm_task("teacher").render_teacher
    LLM_PRINCIPLES, render_compose = multihop.LLM_PRINCIPLES, multihop.render_compose  # noqa: N806
    AREAS, SETTINGS, SubQuestion = mindgym.AREAS, mindgym.SETTINGS, mindgym.SubQuestion  # noqa: N806
    render_background, render_subquestions = mindgym.render_background, mindgym.render_subquestions

    subs = [SubQuestion("{question_1}", "{answer_1}"), SubQuestion("{question_2}", "{answer_2}")]
    return {
        # The scenario prompt draws an angle and a setting from tables: they are part of it.
        "mindgym_background": lambda: {
            "areas": {k: [a.title, list(a.angles)] for k, a in sorted(AREAS.items())},
            "settings": list(SETTINGS),
            "rendered": [
                render_background(k, random.Random(0), 0, avoid)
                for k in sorted(AREAS)
                for avoid in (None, "{avoid}")
            ],
        },
        "mindgym_subquestions": lambda: [render_subquestions(k, "{background}") for k in sorted(AREAS)],
        "compose": lambda: {p: render_compose(p, "{background}", subs) for p in sorted(LLM_PRINCIPLES)},
        "teacher": lambda: render_teacher("{question}"),
        "judge": lambda: render_judge("{question}", "{gold}", "{candidate}"),
        "student": lambda: render_student("{question}"),
    }


def template_hashes() -> dict[str, str]:
    """Prompt template name → first 16 hex of the sha256 of its messages rendered with
    placeholder inputs ("{question}", …): equal hashes, equal prompts, for this code.

    >>> sorted(template_hashes())
    ['compose', 'judge', 'mindgym_background', 'mindgym_subquestions', 'student', 'teacher']
    """
    out = {}
    for name, render in _placeholder_renders().items():
        blob = json.dumps(render(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        out[name] = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return out


def backend_refs(config: dict[str, Any]) -> dict[str, str | None]:
    """Role → the LLM backend name it uses (None: offline or off), from a build config dict.

    Knows both config vocabularies: `distill.backend` / `retro_search.backend` /
    `verify.judge.backend` and the older `distill.teacher: "llm:NAME"` /
    `retro_search.reviser: NAME` / `verify.judge: NAME`.
    """

    def strip(name: Any) -> str | None:
        return str(name).removeprefix("llm:") if name else None

    distill = config.get("distill") or {}
    teacher = str(distill.get("teacher") or "programmatic")
    rs = config.get("retro_search") or {}
    reviser = rs.get("backend") or (
        rs.get("reviser") if rs.get("reviser", "programmatic") != "programmatic" else None
    )
    judge = (config.get("verify") or {}).get("judge")
    return {
        "teacher": strip(distill.get("backend") or (teacher if teacher.startswith("llm:") else None)),
        "reviser": strip(reviser) if rs.get("enabled", True) else None,
        "judge": strip(judge.get("backend") if isinstance(judge, dict) else judge),
        "student": strip(((config.get("score") or {}).get("student") or {}).get("backend")),
        "synthesis": strip((config.get("synthesis") or {}).get("backend")),
        "composer": strip(((config.get("compose") or {}).get("llm") or {}).get("backend")),
    }


def llm_stage_backends(config: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """LLM stage → {template: backend name or None (not used)} for a build config dict."""
    refs = backend_refs(config)
    return {
        "seeds": {"mindgym_background": refs["synthesis"], "mindgym_subquestions": refs["synthesis"]},
        "compose": {"compose": refs["composer"]},
        "distill": {"teacher": refs["teacher"]},
        "verify": {"judge": refs["judge"]},
        "retro_search": {"teacher": refs["reviser"]},
        "score": {"student": refs["student"], "judge": refs["judge"] if refs["student"] else None},
    }


def _model(config: dict[str, Any], name: str | None) -> tuple[str, str]:
    backend = ((config.get("llm") or {}).get("backends") or {}).get(name or "")
    if not backend:
        return "-", "-"
    return str(backend.get("kind", "?")), str(backend.get("model") or backend.get("model_path") or "?")


def models(config: dict[str, Any]) -> list[dict[str, str]]:
    """Rows {role, backend, kind, model} for the teacher, reviser, judge and student (and the
    synthesis and composition models when those stages use an LLM)."""
    refs = backend_refs(config)
    rs = config.get("retro_search") or {}
    offline = {
        "teacher": (
            str((config.get("distill") or {}).get("teacher") or "programmatic"),
            "procedural solver narrating its search",
        ),
        "reviser": ("programmatic", "solver rollouts from the trace prefix")
        if rs.get("enabled", True)
        else ("none (Retro-Search off)", "-"),
        "judge": ("none (free-form answers stay unverifiable)", "-"),
        "student": ("none (difficulty from solver effort)", "-"),
    }
    rows = []
    for role in ("teacher", "reviser", "judge", "student", "synthesis", "composer"):
        name = refs[role]
        if name is not None:
            kind, model = _model(config, name)
            rows.append({"role": role, "backend": name, "kind": kind, "model": model})
        elif role in offline:
            backend, model = offline[role]
            kind = "programmatic" if model != "-" else "-"
            rows.append({"role": role, "backend": backend, "kind": kind, "model": model})
    return rows


# ---------------------------------------------------------------------------------------------
# Configs (the front matter)


SUBSET_ORDER = corpus_subsets.SUBSETS
"""Corpus subsets in the order a reader meets them."""


def _old_layout_configs(corpus: dict[str, Any]) -> list[dict[str, Any]]:
    configs: list[dict[str, Any]] = [
        {
            "config_name": "default",
            "data_files": [{"split": "train", "path": "corpus/*.parquet"}],
            "default": True,
        }
    ]
    if corpus.get("preference_files"):
        configs.append(
            {"config_name": "preference", "data_files": [{"split": "train", "path": "preference/*.parquet"}]}
        )
    return configs


def corpus_configs(out: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The `configs:` entries of the front matter: each corpus subset, then each curated folder of
    Parquet files the manifest lists (config name = its path with "/" as "_")."""
    corpus = manifest.get("corpus") or {}
    if "subsets" in corpus:
        configs = list(corpus_subsets.dataset_card_configs(corpus))
    else:
        configs = _old_layout_configs(corpus)
    covered = {Path(df["path"]).parent.as_posix() for c in configs for df in c["data_files"]}
    folders = sorted(
        {
            Path(rel).parent.as_posix()
            for rel in build_stats.data_files(out, manifest)
            if rel.endswith(".parquet")
        }
    )
    for folder in folders:
        if folder not in covered and folder != ".":
            configs.append(
                {
                    "config_name": folder.replace("/", "_"),
                    "data_files": [{"split": "train", "path": f"{folder}/*.parquet"}],
                }
            )
    return configs


def _config_files(out: Path, config: dict[str, Any]) -> list[Path]:
    return sorted(p for df in config["data_files"] for p in Path(out).glob(df["path"]))


def _rows_and_columns(files: list[Path]) -> tuple[int, list[str]]:
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return rows, (pq.read_schema(files[0]).names if files else [])


class _CardDumper(yaml.SafeDumper):
    """YAML for the front matter: globs in double quotes (a leading `*` would read as an alias)."""


def _quoted_globs(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if "*" in value else None)


_CardDumper.add_representer(str, _quoted_globs)


def front_matter(out: Path, manifest: dict[str, Any], license: str = DEFAULT_LICENSE) -> dict[str, Any]:
    """The card's YAML front matter as a dict (configs, license, task categories, tags, size).

    Every subset is declared, an empty one too (the corpus layout's contract: its schema is
    visible and `load_dataset(..., streaming=True)` reads it as empty; `datasets` 5.x refuses to
    materialise a split without rows, which the card's table says next to it).
    """
    configs = corpus_configs(out, manifest)
    if configs and not any(c.get("default") for c in configs):  # `load_dataset(repo)` needs one
        configs = [{**configs[0], "default": True}, *configs[1:]]
    default = next((c for c in configs if c.get("default")), None)
    rows = _rows_and_columns(_config_files(out, default))[0] if default else 0
    names = {c["config_name"] for c in configs}
    tags = BASE_TAGS + [
        t
        for t, n in (("sft", "sft"), ("dpo", "preference"), ("grpo", "grpo"))
        if n in names or (n == "sft" and "default" in names)
    ]
    return {
        "license": license,
        "language": ["en"],
        "pretty_name": manifest.get("name", "reasonmill corpus"),
        "task_categories": TASK_CATEGORIES,
        "tags": tags,
        "size_categories": [size_category(rows)],
        "configs": configs,
    }


# ---------------------------------------------------------------------------------------------
# Markdown


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _section(title: str) -> list[str]:
    return ["", f"## {title}", ""]


def _prompt_hashes(out: Path) -> tuple[dict[str, str], str]:
    path = Path(out) / PROMPTS_FILE
    if path.is_file():
        try:
            return json.loads(path.read_text())["templates"], f"recorded at build time in `{PROMPTS_FILE}`"
        except (ValueError, KeyError):
            pass
    return (
        template_hashes(),
        "computed from the reasonmill code that rendered this card (the build recorded none)",
    )


def _load_section(out: Path, configs: list[dict[str, Any]], repo_id: str | None) -> list[str]:
    repo = repo_id or "NAMESPACE/NAME"
    default = next(
        (c["config_name"] for c in configs if c.get("default")),
        configs[0]["config_name"] if configs else "default",
    )
    lines = [
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{repo}", "{default}", split="train")',
        "```",
        "",
    ]
    rows = []
    for c in configs:
        n, cols = _rows_and_columns(_config_files(out, c))
        use = SUBSET_USE.get(c["config_name"], "curated subset")
        if not n:
            use += " (empty: load it with `streaming=True`; `datasets` will not materialise a split with no rows)"
        rows.append(
            [
                f"`{c['config_name']}`" + (" (default)" if c.get("default") else ""),
                n,
                use,
                ", ".join(f"`{x}`" for x in cols) or "-",
            ]
        )
    return lines + _table(["config", "rows", "for", "columns"], rows)


def _build_section(manifest: dict[str, Any]) -> list[str]:
    config = manifest.get("config") or {}
    stages = manifest.get("stages") or {}
    shards = next(iter(stages.values()), {}).get("shards", "?") if stages else "?"
    lines = [
        f"- config name: `{manifest.get('name')}`, config hash: `{manifest.get('config_hash')}`",
        f"- reasonmill {manifest.get('reasonmill_version')}, shard schema v{manifest.get('schema_version')}, finished {manifest.get('finished_at')}",
        f"- seed {config.get('seed')}, {shards} shards of up to {config.get('shard_rows')} rows per stage",
        "- `manifest.json` holds the full config, counts per stage and the sha256 of every file",
        "",
        "<details><summary>Full build config</summary>",
        "",
        "```yaml",
        yaml.safe_dump(config, sort_keys=True, allow_unicode=True).rstrip(),
        "```",
        "",
        "</details>",
    ]
    return lines


def _models_section(manifest: dict[str, Any]) -> list[str]:
    config = manifest.get("config") or {}
    lines = _table(
        ["role", "backend", "kind", "model"],
        [[m["role"], m["backend"], m["kind"], m["model"]] for m in models(config)],
    )
    usage = manifest.get("llm")
    if isinstance(usage, dict) and usage:
        rows = []
        for name, u in sorted(usage.items()):
            st = u.get("stats") or {}
            rows.append(
                [
                    name,
                    u.get("model", "-"),
                    ", ".join(u.get("stages") or []) or "-",
                    st.get("requests", 0),
                    st.get("prompt_tokens", 0),
                    st.get("completion_tokens", 0),
                    st.get("cache_hits", 0),
                    st.get("failures", 0),
                ]
            )
        lines += ["What each backend was asked over the whole build:", ""]
        lines += _table(
            [
                "backend",
                "model",
                "stages",
                "requests",
                "prompt tokens",
                "completion tokens",
                "cache hits",
                "failures",
            ],
            rows,
        )
    return lines


def _prompts_section(out: Path, config: dict[str, Any]) -> list[str]:
    hashes, where = _prompt_hashes(out)
    rows = []
    for stage, templates in llm_stage_backends(config).items():
        for template, backend in templates.items():
            rows.append(
                [
                    stage,
                    template,
                    f"`{hashes.get(template, '?')}`",
                    f"yes (backend `{backend}`)" if backend else "no",
                ]
            )
    return [
        f"sha256 (first 16 hex) of each template's messages rendered with placeholder inputs, {where}.",
        "",
        *_table(["stage", "template", "hash", "used in this build"], rows),
    ]


def _counts_section(out: Path, manifest: dict[str, Any]) -> list[str]:
    rows = []
    for name, s in ordered_stages(manifest).items():
        c = s["counts"]
        extra = ", ".join(f"{k}: {v}" for k, v in sorted(c.get("extra", {}).items())) or "-"
        rows.append([name, c["read"], c["created"], c["written"], c["rejected"], extra])
    lines = (
        _table(["stage", "read", "created", "kept", "rejected", "other tallies"], rows)
        if rows
        else ["No stage counts in the manifest.", ""]
    )
    reasons = [
        [stage, reason, n]
        for stage, s in ordered_stages(manifest).items()
        for reason, n in sorted(s["counts"]["reasons"].items())
    ]
    lines += ["### Rejections by reason", ""]
    lines += (
        _table(["stage", "reason", "rows"], reasons)
        if reasons
        else ["No record was rejected by any stage.", ""]
    )
    if (Path(out) / PLOTS["rejections"]).exists():
        lines += [f"![rows kept and rejected per stage]({PLOTS['rejections']})", ""]
    return lines


def _verification_section(out: Path, manifest: dict[str, Any]) -> list[str]:
    summary = build_stats.verification_summary(out, manifest)
    if summary is None:
        return ["No data: the verify stage's shards are not in the build folder."]
    seen = [v for v in build_stats.VERDICT_ORDER if any(v in c for c in summary.values())]
    seen += sorted({k for c in summary.values() for k in c} - set(seen) - {"traces"})
    rows = [[v, c["traces"], *[c.get(k, 0) for k in seen]] for v, c in summary.items()]
    lines = [
        "Every teacher trace the verify stage checked, by verifier and verdict. `timeout`, `error` and",
        "`unverifiable` mean the answer could not be checked, never that it was wrong.",
        "",
    ]
    return lines + (
        _table(["verifier", "traces", *seen], rows) if rows else ["The verify stage checked no traces.", ""]
    )


def _accuracy_section(out: Path, manifest: dict[str, Any]) -> list[str]:
    acc = build_stats.teacher_accuracy(out, manifest)
    if acc is None:
        return ["No data: the verify stage's shards are not in the build folder."]
    if not acc:
        return ["The verify stage checked no traces."]
    rows = [
        [a["source"], a["level"], a["records"], a["traces"], a["passed"], f"{a['accuracy']:.1%}"] for a in acc
    ]
    lines = [
        "Share of the teacher's sampled traces whose final answer verified, per source and level",
        "(records whose gold answer the verifier cannot read are left out).",
        "",
    ]
    return lines + _table(["source", "level", "records", "traces", "passed", "accuracy"], rows)


def _decontam_section(out: Path, manifest: dict[str, Any]) -> list[str]:
    report = build_stats.decontamination_report(out, manifest)
    if report is None:
        return [
            "Not run: the build's `curate` step was off (`curate: null`) and no curation report was found."
        ]
    flat = [
        [k, v if not isinstance(v, dict | list) else json.dumps(v, sort_keys=True)] for k, v in report.items()
    ]
    return _table(["", ""], flat)


def _lengths_section(out: Path, rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["No data: the corpus is empty."]
    diffs = [r["difficulty"] for r in rows]
    toks = sorted(r["tokens"] for r in rows if r["tokens"] is not None)
    lines = [f"- difficulty: mean {mean(diffs):.3f}, median {median(diffs):.3f} over {len(rows)} records"]
    if toks:
        lines.append(
            f"- trace length: mean {mean(toks):.0f}, median {median(toks):.0f}, 90th percentile {toks[int(0.9 * (len(toks) - 1))]} tokens"
        )
    lines.append("")
    for name, alt in (("difficulty", "difficulty histogram"), ("lengths", "trace length histogram")):
        lines += [
            f"![{alt}]({PLOTS[name]})"
            if (Path(out) / PLOTS[name]).exists()
            else f"({alt}: no plot in this build)",
            "",
        ]
    return lines


def _retro_section(out: Path, manifest: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    rs = (manifest.get("config") or {}).get("retro_search") or {}
    if not rs.get("enabled", True):
        return ["Off (`retro_search.enabled: false`): corpus traces are the teacher's."]
    summary = build_stats.retro_search_summary(
        build_stats.retro_search_records(out, manifest, {r["id"] for r in rows})
    )
    if summary is None:
        return ["No data: the retro_search stage's shards are not in the build folder."]
    if not summary["records"]:
        return ["No corpus record had a verified trace to revise."]
    lines = [
        f"Reviser `{rs.get('reviser', 'programmatic')}`. Over the {summary['records']} corpus records, the shortest verified",
        f"trace went from {summary['tokens_before']} to {summary['tokens_after']} tokens in total, a **{summary['reduction']:.1%}** reduction;",
        f"{summary['records_shortened']} records got a shorter trace ({summary['traces_revised']} of {summary['traces']} verified traces revised).",
        "",
    ]
    per_level = [
        [lv, s["records"], s["tokens_before"], s["tokens_after"], f"{s['reduction']:.1%}"]
        for lv, s in summary["by_level"].items()
    ]
    lines += _table(["level", "records", "tokens before", "tokens after", "reduction"], per_level)
    if (Path(out) / PLOTS["retro_search"]).exists():
        lines += [f"![Retro-Search trace length per level]({PLOTS['retro_search']})", ""]
    return lines


RETRO_SEARCH = "Retro-Search: Exploring Untaken Paths for Deeper and Efficient Reasoning"
MINDGYM = "MindGYM: Enhancing Vision-Language Models via Synthetic Self-Challenging Questions"
BACKTRACKING = (
    "How Much Backtracking is Enough? Exploring the Interplay of SFT and RL in Enhancing LLM Reasoning"
)
ONLINE_FILTERING = "Online Difficulty Filtering for Reasoning Oriented Reinforcement Learning"
GPT3 = "Language Models are Few-Shot Learners (13-gram contamination analysis)"
SEMDEDUP = "SemDeDup: Data-efficient learning at web-scale through semantic deduplication"
REPHRASED = "Rethinking Benchmark and Contamination for Language Models with Rephrased Samples"
SELECT2REASON = "Select2Reason: Efficient Instruction-Tuning Data Selection for Long-CoT Reasoning"
LIMO = "LIMO: Less is More for Reasoning"
S1 = "s1: Simple test-time scaling"


def methods(config: dict[str, Any]) -> list[list[str]]:
    """Rows [stage, method, paper] of what this build ran ("-" where no paper applies)."""
    rows = []
    rows.append(["seeds", "procedural generators with narrating solvers, per-item RNG", "-"])
    if config.get("synthesis"):
        rows.append(
            [
                "seeds",
                "MindGYM seed synthesis: background scenarios (TF-IDF dedup) and single-hop questions",
                MINDGYM,
            ]
        )
    compose = config.get("compose") or {}
    if compose.get("rules"):
        principles = ", ".join(sorted({r["principle"] for r in compose["rules"]}))
        rows.append(["compose", f"programmatic multi-hop composition ({principles}), gold computed", MINDGYM])
    if compose.get("llm"):
        rows.append(["compose", "LLM multi-hop composition, answer checked against the sub-answers", MINDGYM])
    refs = backend_refs(config)
    if refs["teacher"]:
        rows.append(
            ["distill", "LLM teacher, n samples per question, rejection sampling on verified answers", "-"]
        )
    else:
        rows.append(
            [
                "distill",
                "programmatic teacher narrating real dead ends, more backtracking at higher levels",
                BACKTRACKING,
            ]
        )
    rows.append(
        ["verify", "answer extraction, math-verify equivalence, exact/choice/sandboxed code checks", "-"]
    )
    if refs["judge"]:
        rows.append(["verify", "LLM judge for free-form answers, P(1) / (P(1) + P(0))", "-"])
    rs = config.get("retro_search") or {}
    if rs.get("enabled", True):
        mode = "self / weak-to-strong LLM reviser" if refs["reviser"] else "programmatic reviser"
        rows.append(["retro_search", f"Retro-Search revision at thought boundaries ({mode})", RETRO_SEARCH])
    score = config.get("score") or {}
    curate = config.get("curate")
    if curate is not None:
        rows.append(
            ["curate", "exact, MinHash near-duplicate and embedding (SemDeDup-style) dedup", SEMDEDUP]
        )
        rows.append(
            [
                "curate",
                "decontamination: exact, 13-gram, embedding retrieval with a number-aware check",
                REPHRASED,
            ]
        )
        papers = {
            "select2reason": SELECT2REASON,
            "limo_hard": LIMO,
            "diversity": S1,
            "balanced_band": ONLINE_FILTERING,
        }
        for sel in curate.get("selectors") or []:
            rows.append(["curate", f"selection: {sel.get('name')}", papers.get(str(sel.get("name")), "-")])
    if score.get("student"):
        rows.append(
            ["score", "empirical difficulty: student pass rate over k samples, band filter", ONLINE_FILTERING]
        )
    else:
        rows.append(["score", "intrinsic difficulty from solver effort (nodes expanded)", "-"])
    rows.append(
        ["corpus", "export to TRL's conversational SFT, prompt-completion, GRPO and preference formats", "-"]
    )
    return rows


def render_card(out: Path, repo_id: str | None = None, license: str = DEFAULT_LICENSE) -> str:
    """The dataset card of the build in `out` (front matter and Markdown); `repo_id` names the
    repo in the usage snippet (a placeholder when None)."""
    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    config = manifest.get("config") or {}
    meta = front_matter(out, manifest, license)
    rows = record_rows(out)
    name = manifest.get("name", "reasonmill corpus")
    lines = [
        "---",
        yaml.dump(meta, Dumper=_CardDumper, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        f"# {name}",
        "",
        f"A verified, difficulty-scored reasoning corpus built by reasonmill "
        f"{manifest.get('reasonmill_version', '')} from config `{manifest.get('config_hash')}`. Every record kept has at least",
        "one teacher trace whose final answer verified against a gold answer computed by the generator (or checked",
        "against its sub-answers); rejected rows are counted by reason below, never dropped silently.",
        *_section("Load it"),
        *_load_section(out, meta["configs"], repo_id),
        *_section("Build"),
        *_build_section(manifest),
        *_section("Models"),
        *_models_section(manifest),
        *_section("Prompt templates"),
        *_prompts_section(out, config),
        *_section("Counts per stage"),
        *_counts_section(out, manifest),
        *_section("Verification"),
        *_verification_section(out, manifest),
        *_section("Teacher accuracy per family and level"),
        *_accuracy_section(out, manifest),
        *_section("Decontamination"),
        *_decontam_section(out, manifest),
        *_section("Difficulty and length"),
        *_lengths_section(out, rows),
        *_section("Retro-Search"),
        *_retro_section(out, manifest, rows),
        *_section("Methods"),
        *_table(["stage", "method", "paper"], methods(config)),
    ]
    return "\n".join(lines).rstrip() + "\n"


def write_card(out: Path, repo_id: str | None = None, license: str = DEFAULT_LICENSE) -> Path:
    """Write the dataset card to `OUT/README.md` atomically; return its path."""
    path = Path(out) / "README.md"
    atomic_write_bytes(path, render_card(out, repo_id, license).encode("utf-8"))
    return path


__all__ = [
    "DEFAULT_LICENSE",
    "corpus_configs",
    "front_matter",
    "llm_stage_backends",
    "methods",
    "models",
    "render_card",
    "size_category",
    "template_hashes",
    "write_card",
]
