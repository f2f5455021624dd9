"""`reasonmill publish` end to end: the real huggingface_hub client against the loopback Hub.

The CLI runs in a subprocess with the real environment variables (HF_ENDPOINT → the loopback
server, HF_TOKEN, HF_HUB_DISABLE_XET=1 so files go through the LFS batch protocol the server
implements, HF_HOME → a temporary folder). The endpoints are listed in conftest.ENDPOINTS.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reasonmill.pipelines.build_stats import data_files
from reasonmill.pipelines.publish import PublishError, check_build, commit_message, publish
from reasonmill.shards import StageDir, file_sha256

REPO = "alice/arith-reasoning"


def run_cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`reasonmill publish ARGS` in a fresh process (the command as the lead wires it)."""
    return subprocess.run(
        [sys.executable, "-m", "reasonmill.pipelines.publish_cmd", "publish", *args],
        env=env,
        cwd=cwd or Path(env["HF_HOME"]),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_in_process(*args: str):  # noqa: ANN201
    """The command registered as the lead's cli.py does (`app.command("publish")(publish_command)`),
    run with typer's CliRunner."""
    import typer
    from typer.testing import CliRunner

    from reasonmill.pipelines.publish_cmd import publish_command

    app = typer.Typer()
    app.command("publish")(publish_command)
    app.command("other")(lambda: None)
    return CliRunner().invoke(app, list(args))


def local_bytes(out: Path, rel: str) -> bytes:
    return (out / rel).read_bytes()


def test_publish_uploads_the_build_and_republishing_it_uploads_nothing(build_copy, hub, hf_env):
    out = build_copy
    first = run_cli(hf_env, str(out), "--repo", REPO)
    assert first.returncode == 0, first.stdout + first.stderr
    repo = hub.repos[REPO]
    assert not repo.private
    files = hub.files(REPO)
    manifest = json.loads((out / "manifest.json").read_text())
    data = data_files(out, manifest)  # whichever corpus layout the runner wrote
    assert data and all(rel.startswith(("corpus/", "preference/")) for rel in data)
    expected = {"README.md", "manifest.json", ".gitattributes", *data}
    expected |= {p.relative_to(out).as_posix() for p in (out / "report").iterdir()}
    expected |= {p.relative_to(out).as_posix() for p in (out / "curation").iterdir()}  # the curate stage's report
    assert set(files) == expected
    for rel in expected - {"README.md", ".gitattributes"}:
        assert files[rel] == local_bytes(out, rel), rel
    assert (
        files["README.md"].decode().startswith("---\n")
        and f'load_dataset("{REPO}"' in files["README.md"].decode()
    )
    # parquet and png went up as LFS objects, JSON and the card as regular files
    c = repo.head("main")
    first_shard = next(iter(data))
    assert (
        c is not None
        and c.files[first_shard].lfs_sha256 == file_sha256(out / first_shard) == data[first_shard]
    )
    assert c.files["manifest.json"].lfs_sha256 is None
    assert (
        hub.commits_made == [(REPO, commit_message(manifest))]
        and manifest["config_hash"] in hub.commits_made[0][1]
    )
    uploads = len(hub.lfs_uploads)
    assert uploads == len({file_sha256(out / p) for p in expected if p.endswith((".parquet", ".png"))})
    assert "committed" in first.stdout and hub.token not in first.stdout + first.stderr

    hub.requests.clear()
    again = run_cli(hf_env, str(out), "--repo", REPO)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing changed: no commit made" in again.stdout
    assert len(hub.lfs_uploads) == uploads and len(hub.commits_made) == 1
    assert hub.writes() == []  # no preupload, no LFS batch, no commit: compared by hashes first
    assert {p for _, p in hub.publish_requests()} <= {
        f"/api/datasets/{REPO}",
        f"/api/datasets/{REPO}/refs",
        "/api/whoami-v2",
    } | {p for _, p in hub.publish_requests() if p.startswith(f"/api/datasets/{REPO}/tree/")}
    assert hub.token not in again.stdout + again.stderr


def test_one_changed_file_is_one_commit_with_the_config_hash_and_stale_files_go(build_copy, hub, hf_env):
    out = build_copy
    assert run_cli(hf_env, str(out), "--repo", REPO).returncode == 0
    # a shard left on the Hub by an earlier, bigger build of the same repo
    from huggingface_hub import HfApi

    HfApi(endpoint=hub.url, token=hub.token).upload_file(
        path_or_fileobj=b"PAR1 stale",
        path_in_repo="corpus/shard-00009.parquet",
        repo_id=REPO,
        repo_type="dataset",
        commit_message="stale",
    )
    before, uploads = len(hub.commits_made), len(hub.lfs_uploads)
    png = out / "report" / "difficulty.png"
    png.write_bytes(png.read_bytes() + b"\0")  # a replotted figure: not in the manifest's checksums
    res = run_cli(hf_env, str(out), "--repo", REPO, "--json")
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout)
    assert result["uploaded"] == ["report/difficulty.png"] and result["deleted"] == [
        "corpus/shard-00009.parquet"
    ]
    assert len(hub.commits_made) == before + 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["config_hash"] in hub.commits_made[-1][1]
        and result["commit_message"] == hub.commits_made[-1][1]
    )
    assert len(hub.lfs_uploads) == uploads + 1
    files = hub.files(REPO)
    assert "corpus/shard-00009.parquet" not in files and files["report/difficulty.png"] == png.read_bytes()
    commits = HfApi(endpoint=hub.url, token=hub.token).list_repo_commits(REPO, repo_type="dataset")
    assert commits[0].commit_id == result["commit_oid"] and manifest["config_hash"] in commits[0].title
    assert hub.token not in res.stdout + res.stderr


def test_private_creates_a_private_repo_and_refuses_an_existing_public_one(build_copy, hub, hf_env):
    out = build_copy
    res = run_cli(hf_env, str(out), "--repo", "alice/secret", "--private")
    assert res.returncode == 0, res.stdout + res.stderr
    assert hub.repos["alice/secret"].private
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=False).repo_info("alice/secret", repo_type="dataset")
    assert run_cli(hf_env, str(out), "--repo", REPO).returncode == 0  # public
    commits = len(hub.commits_made)
    refused = run_cli(hf_env, str(out), "--repo", REPO, "--private")
    assert refused.returncode == 2
    assert "exists and is public" in refused.stdout and len(refused.stdout.strip().splitlines()) <= 3
    assert len(hub.commits_made) == commits and not hub.repos[REPO].private


def test_revision_creates_the_branch_and_commits_there(build_copy, hub, hf_env):
    out = build_copy
    assert run_cli(hf_env, str(out), "--repo", REPO).returncode == 0
    main_head = hub.repos[REPO].branches["main"]
    png = out / "report" / "lengths.png"
    png.write_bytes(png.read_bytes() + b"\0")
    res = run_cli(hf_env, str(out), "--repo", REPO, "--revision", "nightly")
    assert res.returncode == 0, res.stdout + res.stderr
    repo = hub.repos[REPO]
    assert "nightly" in repo.branches and repo.branches["main"] == main_head
    assert repo.commits[repo.branches["nightly"]].parent == main_head
    assert (
        hub.files(REPO, "nightly")["report/lengths.png"]
        == png.read_bytes()
        != hub.files(REPO, "main")["report/lengths.png"]
    )
    # a new repo straight onto a branch
    res = run_cli(hf_env, str(out), "--repo", "alice/fresh", "--revision", "v1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert set(hub.repos["alice/fresh"].branches) == {"main", "v1"} and "manifest.json" in hub.files(
        "alice/fresh", "v1"
    )
    assert "manifest.json" not in hub.files("alice/fresh", "main")


@pytest.mark.parametrize(
    "damage, expect",
    [
        (lambda out: _gone(out / "manifest.json"), ": missing; the build has not finished"),
        (
            lambda out: _gone(StageDir(out, "verify").marker(1)),
            ": missing; stage verify is unfinished (shard 1 of 2)",
        ),
        (lambda out: _rekey(StageDir(out, "score").marker(0)), ": written under another stage key"),
        (
            lambda out: _append(out / next(iter(data_files(out, _manifest(out))))),
            ": sha256 differs from manifest.json",
        ),
        (lambda out: _gone(StageDir(out, "distill").rejected(1)), ": listed in manifest.json but missing"),
    ],
    ids=["no-manifest", "missing-marker", "other-key", "changed-corpus", "missing-stage-file"],
)
def test_unfinished_or_altered_builds_are_refused_before_contacting_the_hub(
    build_copy, hub, hf_env, damage, expect
):
    named = damage(build_copy)  # the file the refusal must name
    res = run_in_process("publish", str(build_copy), "--repo", REPO)  # in process: no fresh one needed here
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and expect in lines[0], res.output
    assert named is None or f"{named}{expect}" in lines[0]
    assert hub.publish_requests() == [] and REPO not in hub.repos


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _gone(path: Path) -> Path:
    path.unlink()
    return path


def _rekey(marker: Path) -> Path:
    info = json.loads(marker.read_text())
    info["key"] += "|changed"
    marker.write_text(json.dumps(info))
    return marker


def _append(path: Path) -> Path:
    path.write_bytes(path.read_bytes() + b"x")
    return path


def test_dry_run_lists_exactly_what_would_change_and_changes_nothing(build_copy, hub, hf_env):
    out = build_copy
    res = run_cli(hf_env, str(out), "--repo", REPO, "--dry-run", "--json")
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)
    assert "does not exist" in plan["compared"] and "nothing else contacted" in plan["compared"]
    assert plan["commit_oid"] is None and REPO not in hub.repos
    assert hub.publish_requests() == [("GET", f"/api/datasets/{REPO}")]
    dry_files = set(plan["uploaded"])

    assert run_cli(hf_env, str(out), "--repo", REPO).returncode == 0
    assert set(hub.files(REPO)) - {".gitattributes"} == dry_files  # the dry run listed exactly what went up
    png = out / "report" / "rejections.png"
    png.write_bytes(png.read_bytes() + b"\0")
    hub.requests.clear()
    commits, uploads = len(hub.commits_made), len(hub.lfs_uploads)
    res = run_cli(hf_env, str(out), "--repo", REPO, "--dry-run", "--revision", "nightly", "--json")
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)
    status = {c["path"]: c["status"] for c in plan["changes"]}
    assert status.pop("report/rejections.png") == "changed" and set(status.values()) == {"unchanged"}
    assert set(status) | {"report/rejections.png"} == dry_files
    assert plan["compared"].startswith("branch nightly does not exist: it would be created from main")
    assert all(m == "GET" for m, _ in hub.publish_requests()) and "/api/whoami-v2" not in {
        p for _, p in hub.publish_requests()
    }
    assert (
        len(hub.commits_made) == commits
        and len(hub.lfs_uploads) == uploads
        and "nightly" not in hub.repos[REPO].branches
    )


def test_token_comes_from_the_login_when_hf_token_is_unset_and_is_required(build_copy, hub, hf_env):
    env = {k: v for k, v in hf_env.items() if k != "HF_TOKEN"}
    res = run_cli(env, str(build_copy), "--repo", REPO)
    assert res.returncode == 2 and "no Hugging Face token: set HF_TOKEN or run `hf auth login`" in res.stdout
    assert hub.publish_requests() == []
    (Path(env["HF_HOME"]) / "token").write_text(hub.token)  # what `hf auth login` saves
    res = run_cli(env, str(build_copy), "--repo", REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"Bearer {hub.token}" in hub.seen_auth and hub.token not in res.stdout + res.stderr


def test_hub_refusals_are_one_line_and_never_show_the_token(build_copy, hub, hf_env):
    res = run_cli(hf_env, str(build_copy), "--repo", "someone-else/data")
    assert res.returncode == 2
    assert "creating someone-else/data" in res.stdout and hub.token not in res.stdout + res.stderr
    bad = dict(hf_env, HF_TOKEN="hf_wrong_" + "x" * 30)
    res = run_cli(bad, str(build_copy), "--repo", REPO)
    assert (
        res.returncode == 2
        and "checking the token" in res.stdout
        and bad["HF_TOKEN"] not in res.stdout + res.stderr
    )
    res = run_cli(hf_env, str(build_copy), "--repo", "not-a-repo-id")
    assert res.returncode == 2 and "expected NAMESPACE/NAME" in res.stdout


def test_in_process_publish_logs_no_token_even_at_debug_level(build_copy, hub, hf_env, caplog, capfd):
    from huggingface_hub.utils import logging as hf_logging

    hf_logging.set_verbosity_debug()
    try:
        with caplog.at_level(logging.DEBUG):
            lines: list[str] = []
            result = publish(build_copy, REPO, log=lines.append)
            again = publish(build_copy, REPO, log=lines.append)
    finally:
        hf_logging.set_verbosity_warning()
    assert result.commit_oid and result.repo_created and result.user == hub.user
    assert (
        again.commit_oid is None
        and again.uploaded == []
        and len(again.paths("unchanged")) == len(result.uploaded)
    )
    captured = capfd.readouterr()
    blob = caplog.text + "\n".join(lines) + captured.out + captured.err + json.dumps(result.as_dict())
    assert any(
        r.name.startswith("huggingface_hub") and r.levelno == logging.DEBUG for r in caplog.records
    )  # debug was on
    assert hub.token not in blob
    assert os.environ["HF_TOKEN"] == hub.token


def test_check_build_passes_an_intact_build_and_reports_progress(build_copy):
    seen: list[tuple[int, int]] = []
    manifest = check_build(build_copy, lambda done, total: seen.append((done, total)))
    assert manifest["config_hash"] and seen and seen[-1][0] == seen[-1][1] > 0


def test_publish_refuses_a_folder_that_is_not_a_build(tmp_path, hf_env):
    with pytest.raises(PublishError, match="no such build folder"):
        publish(tmp_path / "nope", REPO)


def test_cli_wiring_as_the_lead_registers_it(build_copy, hub, hf_env):
    res = run_in_process("publish", str(build_copy), "--repo", REPO, "--dry-run")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "would be created" in text and "manifest.json" in text and "new" in text
    assert REPO not in hub.repos


def test_plan_compares_lfs_by_sha256_regular_by_git_blob_and_deletes_only_in_owned_folders(tmp_path):
    import hashlib

    from huggingface_hub.hf_api import RepoFile

    from reasonmill.pipelines.publish import LocalFile, plan_changes

    def local(path: str, data: bytes) -> LocalFile:
        return LocalFile(path, data, len(data), hashlib.sha256(data).hexdigest())

    def lfs(path: str, data: bytes) -> RepoFile:
        sha = hashlib.sha256(data).hexdigest()
        return RepoFile(
            path=path, size=len(data), oid="0" * 40, lfs={"oid": sha, "size": len(data), "pointerSize": 130}
        )

    def regular(path: str, data: bytes) -> RepoFile:
        return RepoFile(
            path=path, size=len(data), oid=hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        )

    files = [
        local("corpus/a.parquet", b"A"),
        local("corpus/b.parquet", b"B2"),
        local("README.md", b"card"),
        local("manifest.json", b"{}2"),
        local("report/new.png", b"P"),
    ]
    remote = {
        "corpus/a.parquet": lfs("corpus/a.parquet", b"A"),
        "corpus/b.parquet": lfs("corpus/b.parquet", b"B1"),
        "README.md": regular("README.md", b"card"),
        "manifest.json": regular("manifest.json", b"{}1"),
        "corpus/old.parquet": lfs("corpus/old.parquet", b"O"),
        "preference/shard-00000.parquet": lfs("preference/shard-00000.parquet", b"X"),
        ".gitattributes": regular(".gitattributes", b"*.parquet filter=lfs"),
        "notes/by-hand.md": regular("notes/by-hand.md", b"hello"),
    }
    status = {c.path: c.status for c in plan_changes(files, remote)}
    assert status == {
        "corpus/a.parquet": "unchanged",
        "corpus/b.parquet": "changed",
        "README.md": "unchanged",
        "manifest.json": "changed",
        "report/new.png": "new",
        "corpus/old.parquet": "deleted",
        "preference/shard-00000.parquet": "deleted",
    }


def test_a_manifest_listing_a_path_outside_the_build_is_refused(build_copy):
    manifest = json.loads((build_copy / "manifest.json").read_text())
    manifest["curation"] = {"kept": {"files": {"../../etc/secret.parquet": "a" * 64}}}
    (build_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PublishError, match="a path outside the build folder"):
        check_build(build_copy)
