"""The stage interface: one construction call, row accounting in the runner, exact resume keys."""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from reasonmill.config import validate_config
from reasonmill.pipelines.context import make_context
from reasonmill.pipelines.runner import build, collect, make_stage, stage_keys
from reasonmill.pipelines.stages import STAGE_ORDER
from reasonmill.pipelines.stages.base import STAGES, Stage
from reasonmill.records import Problem, Record, Rejection
from reasonmill.shards import StageDir

ROOT = Path(__file__).resolve().parents[2]


def _rec(i: int) -> Record:
    p = Problem(f"q{i}", str(i))
    return Record(Record.make_id("t", 0, i, p), "t", 0, i, 1, p)


class _Scripted(Stage):
    """A stage whose output is scripted by the test."""

    name = "scripted"

    def __init__(self, ctx, script) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.script = script

    def run(self, records: list[Record], shard: int) -> Iterator:
        yield from self.script(records)


@pytest.fixture
def ctx(tmp_path, small_config):
    return make_context(small_config, tmp_path)


def test_every_stage_is_built_the_same_way(ctx):
    for name in STAGE_ORDER:
        stage = make_stage(name, ctx)
        assert isinstance(stage, STAGES.get(name)) and stage.ctx is ctx and stage.config is ctx.config


def test_no_stage_counts_rows_by_hand():
    # Row accounting lives in the runner only: a stage file never touches ShardCounts.
    offenders = []
    for path in sorted((ROOT / "pipelines" / "stages").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in (
                "read",
                "written",
                "created",
                "reject",
                "rejected",
            ):
                if isinstance(node.value, ast.Name) and node.value.id == "counts":
                    offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Name) and node.id == "ShardCounts":
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


def test_runner_counts_what_a_stage_yields(ctx):
    recs = [_rec(i) for i in range(4)]
    new = _rec(99)
    stage = _Scripted(
        ctx,
        lambda rs: [
            rs[0],
            Rejection(rs[1], "scripted", "why", "d"),
            rs[2],
            Rejection(rs[3], "scripted", "why", "d"),
            new,
        ],
    )
    kept, dropped, counts = collect(stage, recs, 0)
    assert (counts.read, counts.written, counts.rejected, counts.created) == (4, 3, 2, 1)
    assert counts.reasons == {"why": 2} and counts.balanced()
    assert [r.id for r in kept] == [recs[0].id, recs[2].id, new.id] and len(dropped) == 2


def test_runner_refuses_a_lost_row_a_repeated_row_and_anything_else(ctx):
    recs = [_rec(i) for i in range(3)]
    with pytest.raises(AssertionError, match="lost 1 row"):
        collect(_Scripted(ctx, lambda rs: rs[:2]), recs, 0)
    with pytest.raises(AssertionError, match="twice"):
        collect(_Scripted(ctx, lambda rs: [*rs, rs[0]]), recs, 0)
    with pytest.raises(TypeError, match="yields Record or Rejection"):
        collect(_Scripted(ctx, lambda rs: [*rs, {"id": "x"}]), recs, 0)


def test_stage_tallies_go_through_count(tmp_path, small_config):
    manifest = build(small_config, tmp_path / "out")
    # composition redraws are a stage tally, not rows
    assert "compose_redraws" in manifest["stages"]["compose"]["counts"]["extra"]


LLM = {
    "name": "keys",
    "seeds": [{"generator": "arithmetic_chain", "count": 10}],
    "distill": {"backend": "teacher"},
    "verify": {"judge": {"backend": "judge"}},
    "score": {"student": {"backend": "student", "k": 4}},
    "llm": {
        "backends": {
            "teacher": {"kind": "openai", "model": "teacher-model", "base_url": "http://127.0.0.1:1/v1"},
            "judge": {"kind": "openai", "model": "judge-model", "base_url": "http://127.0.0.1:1/v1"},
            "student": {"kind": "openai", "model": "student-model", "base_url": "http://127.0.0.1:1/v1"},
        }
    },
}


def _keys(change) -> dict[str, str]:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(LLM)
    change(data)
    return stage_keys(validate_config(data))


OPERATIONAL = {
    "llm.cache off": lambda d: d["llm"].update(cache=False),
    "judge timeout": lambda d: d["llm"]["backends"]["judge"].update(timeout_s=5),
    "teacher retries": lambda d: d["llm"]["backends"]["teacher"].update(max_attempts=2, backoff_max_s=1),
    "teacher concurrency": lambda d: d["llm"]["backends"]["teacher"].update(max_concurrency=3),
    "teacher moved": lambda d: d["llm"]["backends"]["teacher"].update(
        base_url=["http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"]
    ),
    "student key": lambda d: d["llm"]["backends"]["student"].update(api_key_env="SOME_KEY"),
    "an unused backend": lambda d: d["llm"]["backends"].update(
        spare={"kind": "openai", "model": "x", "base_url": "http://h/v1"}
    ),
    "verify workers": lambda d: d["verify"].update(workers=7),
    "gc relaxed": lambda d: d["llm"]["backends"]["teacher"].update(relax_gc=True),
}


@pytest.mark.parametrize("what", sorted(OPERATIONAL))
def test_operational_fields_rerun_no_stage(what):
    assert _keys(OPERATIONAL[what]) == _keys(lambda d: None), what


def test_a_changed_model_reruns_its_stage_and_everything_after_it_only():
    base = _keys(lambda d: None)
    teacher = _keys(lambda d: d["llm"]["backends"]["teacher"].update(model="bigger-teacher"))
    i = STAGE_ORDER.index("distill")
    assert all(teacher[s] == base[s] for s in STAGE_ORDER[:i])
    assert all(teacher[s] != base[s] for s in STAGE_ORDER[i:])
    student = _keys(lambda d: d["llm"]["backends"]["student"].update(model="other-student"))
    j = STAGE_ORDER.index("score")  # the student is score's: score and what follows rerun, nothing before
    assert all(student[s] == base[s] for s in STAGE_ORDER[:j]) and all(student[s] != base[s] for s in STAGE_ORDER[j:])
    judge = _keys(lambda d: d["llm"]["backends"]["judge"].update(extra_body={"grammar": "root ::= [01]"}))
    assert judge["distill"] == base["distill"] and judge["verify"] != base["verify"]


def test_sampling_and_sections_change_the_stages_that_read_them():
    base = _keys(lambda d: None)
    assert _keys(lambda d: d["distill"].update(temperature=0.1))["seeds"] == base["seeds"]
    assert _keys(lambda d: d["distill"].update(temperature=0.1))["distill"] != base["distill"]
    assert _keys(lambda d: d.update(seed=3))["seeds"] != base["seeds"]


def test_rebuild_after_operational_changes_reuses_every_shard(tmp_path, small_dict):
    out = tmp_path / "out"
    build(validate_config(small_dict), out)
    markers = {p: p.read_bytes() for p in out.glob("*/.done/*.json")}
    changed = copy.deepcopy(small_dict)
    changed["verify"] = {"workers": 1}
    changed["llm"] = {
        "cache": False,
        "backends": {
            "spare": {"kind": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1", "timeout_s": 3}
        },
    }
    seen = []
    build(validate_config(changed), out, progress=lambda stage, shard, info: seen.append(info["skipped"]))
    assert seen and all(seen)
    assert {p: p.read_bytes() for p in out.glob("*/.done/*.json")} == markers


def test_a_changed_input_reruns_exactly_the_shards_downstream_of_it(tmp_path, small_config):
    out = tmp_path / "out"
    build(small_config, out)
    # Remove one distill shard: distill shard 1 is redone; the rest downstream of it is checked
    # against its new content (identical here, so later stages' markers still hold).
    StageDir(out, "distill").marker(1).unlink()
    ran = []
    build(
        small_config,
        out,
        progress=lambda stage, shard, info: ran.append((stage, shard)) if not info["skipped"] else None,
    )
    assert ran == [("distill", 1)]


def test_one_checking_path_for_every_stage_that_checks():
    # verify, retro_search and score check answers through the context's AnswerChecker only.
    for name in ("verify", "retro_search", "score"):
        src = (ROOT / "pipelines" / "stages" / f"{name}.py").read_text()
        assert "checker" in src, name
        assert "shared_pool" not in src and "check_many" not in src, name
