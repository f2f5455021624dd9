"""Publish a finished build to the Hugging Face Hub as a dataset repo: `publish(out, repo)`.

What goes up: every data file the manifest lists (each corpus subset, the preference pairs,
curated subsets: `build_stats.data_files`), `manifest.json`, the report (`report/*.png`,
`report/*.json`), a curation folder's own manifest and report JSON, and the dataset card
`README.md`, rendered afresh by `card.render_card` with the repo id.

Before anything is sent, the build is checked (`check_build`): `manifest.json` exists, every
stage has the completion marker of every shard under the stage key the manifest records (a
marker with another key means a newer build is running or was interrupted in this folder), every
corpus subset has files, and every file the manifest lists still has the sha256 it lists. A
failure is one `PublishError` line naming the file.

Then, against the Hub (`HF_ENDPOINT`, default huggingface.co), with the token huggingface_hub
itself resolves (`HF_TOKEN`, else the user's `hf auth login`; never read from a file of ours,
never printed or logged):
1. the repo is created when missing (`create_repo`, `private` as asked). A `private` publish into
   an existing public repo is refused: it would make the data public, the opposite of the ask.
2. `revision` (a branch) is created from main when missing (`create_branch`).
3. the revision's tree is listed at its head commit (`list_repo_tree(recursive=True)`) and each
   local file is compared with its remote twin: LFS files by sha256 (`lfs.sha256`), regular files
   by git blob sha1 (`blob_id`). Remote files under the folders this build publishes (corpus/,
   report/, …) that the build no longer has are deleted, so `load_dataset` never globs a stale shard.
4. nothing changed: no upload, no commit. Else ONE `create_commit` with every addition and
   deletion, message "reasonmill: publish NAME (config HASH)", `parent_commit` = the head that
   was compared, so a concurrent push makes it fail instead of mixing two builds.
`dry_run` stops after step 3 and lists what would be uploaded, deleted or left as is, making only
the read calls the comparison needs (none after learning the repo does not exist).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from reasonmill.errors import ReasonmillError
from reasonmill.pipelines import build_stats
from reasonmill.pipelines.card import DEFAULT_LICENSE, render_card
from reasonmill.shards import StageDir, file_sha256

REPO_TYPE = "dataset"
MANAGED_FOLDERS = frozenset({"corpus", "preference", "report", "curation", *build_stats.CURATION_FOLDERS})
"""Top-level repo folders a publish owns: remote files there that the build lacks are deleted."""
ProgressHook = Callable[[int, int], None]
"""Called as (bytes checked so far, bytes to check) while the build's files are re-hashed."""
LogHook = Callable[[str], None]
"""Called with one line per step (what is checked, compared, created, committed)."""

T = TypeVar("T")


class PublishError(ReasonmillError, ValueError):
    """The build cannot be published as it is, or the Hub refused; the message names the file or step."""


@dataclass(frozen=True, slots=True)
class LocalFile:
    """One file to publish: where it goes in the repo, its bytes (a path or the rendered text),
    size and sha256."""

    path_in_repo: str
    source: Path | bytes
    size: int
    sha256: str

    def content(self) -> bytes:
        """The file's bytes."""
        return self.source if isinstance(self.source, bytes) else Path(self.source).read_bytes()

    def git_sha1(self) -> str:
        """The git blob id of the content (how the Hub names a regular, non-LFS file)."""
        from huggingface_hub.utils import sha

        return sha.git_hash(self.content())


@dataclass(frozen=True, slots=True)
class FileChange:
    """What publishing does to one path: "new", "changed", "unchanged" or "deleted"."""

    path: str
    status: str
    size: int


@dataclass
class PublishResult:
    """What a publish did (or, with `dry_run`, would do)."""

    repo_id: str
    revision: str
    url: str
    dry_run: bool
    compared: str
    changes: list[FileChange] = field(default_factory=list)
    repo_created: bool = False
    branch_created: bool = False
    commit_oid: str | None = None
    commit_url: str | None = None
    commit_message: str | None = None
    user: str | None = None

    def paths(self, *statuses: str) -> list[str]:
        """Paths whose change has one of `statuses`."""
        return [c.path for c in self.changes if c.status in statuses]

    @property
    def uploaded(self) -> list[str]:
        """Paths uploaded (new or changed); with `dry_run`, those that would be."""
        return self.paths("new", "changed")

    @property
    def bytes_uploaded(self) -> int:
        """Bytes of the uploaded files."""
        return sum(c.size for c in self.changes if c.status in ("new", "changed"))

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict form (for `--json` and logs)."""
        return {
            **asdict(self),
            "uploaded": self.uploaded,
            "deleted": self.paths("deleted"),
            "unchanged": self.paths("unchanged"),
        }


# ---------------------------------------------------------------------------------------------
# The build


def read_manifest(out: Path) -> dict[str, Any]:
    """The build's manifest; a missing or unreadable one is a `PublishError` naming it."""
    out = Path(out)
    if not out.is_dir():
        raise PublishError(f"{out}: no such build folder")
    path = out / "manifest.json"
    if not path.is_file():
        raise PublishError(
            f"{path}: missing; the build has not finished (run `reasonmill build` to completion first)"
        )
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:
        raise PublishError(f"{path}: not valid JSON ({exc})") from None
    for key in ("config_hash", "stages", "corpus"):
        if key not in manifest:
            raise PublishError(f"{path}: field '{key}' missing; not a finished reasonmill build")
    return manifest


def _check_complete(out: Path, manifest: dict[str, Any]) -> None:
    for name, stage in manifest["stages"].items():
        for k in range(int(stage.get("shards", 0))):
            marker = StageDir(out, name).marker(k)
            if not marker.is_file():
                raise PublishError(
                    f"{marker}: missing; stage {name} is unfinished (shard {k} of {stage['shards']})"
                )
            try:
                key = json.loads(marker.read_text()).get("key")
            except ValueError:
                raise PublishError(
                    f"{marker}: not valid JSON; stage {name} shard {k} is unfinished"
                ) from None
            if "key" in stage and key != stage["key"]:
                raise PublishError(
                    f"{marker}: written under another stage key than manifest.json's (a newer build is running or was interrupted here)"
                )
    for name, subset in ((manifest["corpus"] or {}).get("subsets") or {}).items():
        if not subset.get("files"):
            raise PublishError(
                f"{out / 'manifest.json'}: corpus subset '{name}' lists no files; the corpus export is incomplete"
            )


def check_build(out: Path, progress: ProgressHook | None = None) -> dict[str, Any]:
    """Refuse an unfinished build or one whose files differ from its manifest; return the manifest.

    Every file the manifest lists (stage shards, corpus and curated files) is re-hashed; the first
    missing or changed one is named (with how many more there are).
    """
    out = Path(out)
    manifest = read_manifest(out)
    _check_complete(out, manifest)
    listed: dict[str, str] = {}
    for stage in manifest["stages"].values():
        listed.update(stage.get("files") or {})
    listed.update(build_stats.data_files(out, manifest))
    for rel in listed:
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise PublishError(f"{out / 'manifest.json'}: lists {rel!r}, a path outside the build folder")
    total = sum((out / rel).stat().st_size for rel in listed if (out / rel).is_file())
    done = 0
    problems: list[str] = []
    for rel, digest in sorted(listed.items()):
        path = out / rel
        if not path.is_file():
            problems.append(f"{path}: listed in manifest.json but missing")
            continue
        if file_sha256(path) != digest:
            problems.append(f"{path}: sha256 differs from manifest.json (changed after the build)")
        done += path.stat().st_size
        if progress:
            progress(done, total)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PublishError(problems[0] + more)
    return manifest


def local_files(
    out: Path, manifest: dict[str, Any], repo_id: str | None = None, license: str = DEFAULT_LICENSE
) -> list[LocalFile]:
    """Every file a publish uploads, sorted by path in the repo (data files keep the sha256 the
    manifest lists, checked by `check_build`)."""
    out = Path(out)
    files: dict[str, LocalFile] = {}

    def add_path(rel: str, digest: str | None = None) -> None:
        p = out / rel
        files[rel] = LocalFile(rel, p, p.stat().st_size, digest or file_sha256(p))

    for rel, digest in build_stats.data_files(out, manifest).items():
        add_path(rel, digest)
    add_path("manifest.json")
    for pattern in (
        "report/*.png",
        "report/*.json",
        "curation/*.png",
        "curation/*.json",
        "curation/*.md",
        "curation/*.html",
    ):
        for p in sorted(out.glob(pattern)):
            add_path(p.relative_to(out).as_posix())
    for folder in build_stats.CURATION_FOLDERS:
        if (out / folder / "manifest.json").is_file():
            for pattern in ("*.json", "report/*.png", "report/*.json"):
                for p in sorted((out / folder).glob(pattern)):
                    add_path(p.relative_to(out).as_posix())
    card = render_card(out, repo_id, license).encode("utf-8")
    files["README.md"] = LocalFile("README.md", card, len(card), hashlib.sha256(card).hexdigest())
    return [files[k] for k in sorted(files)]


def unpublished_folders(out: Path, manifest: dict[str, Any]) -> list[str]:
    """Curation folders present in the build but listed nowhere (not published: nothing vouches
    for their files)."""
    listed = {rel.split("/")[0] for rel in build_stats.data_files(out, manifest)}
    return [f for f in build_stats.CURATION_FOLDERS if (Path(out) / f).is_dir() and f not in listed]


def plan_changes(local: list[LocalFile], remote: dict[str, Any]) -> list[FileChange]:
    """Compare local files with the remote tree (path → huggingface_hub `RepoFile`).

    A remote LFS file is the same when its sha256 is; a regular one when its git blob id is.
    Remote files absent locally under `MANAGED_FOLDERS` or a top-level folder the local files use
    are "deleted"; anything else on the remote (.gitattributes, files a person added) is left alone.
    """
    changes = []
    for f in local:
        twin = remote.get(f.path_in_repo)
        if twin is None:
            status = "new"
        elif twin.lfs is not None:
            status = "unchanged" if twin.lfs.sha256 == f.sha256 else "changed"
        else:
            status = "unchanged" if twin.blob_id == f.git_sha1() else "changed"
        changes.append(FileChange(f.path_in_repo, status, f.size))
    ours = {f.path_in_repo for f in local}
    folders = MANAGED_FOLDERS | {p.split("/")[0] for p in ours if "/" in p}
    for path, twin in sorted(remote.items()):
        if path not in ours and "/" in path and path.split("/")[0] in folders:
            changes.append(FileChange(path, "deleted", int(twin.size or 0)))
    return changes


# ---------------------------------------------------------------------------------------------
# The Hub


def resolve_token() -> str | None:
    """The Hugging Face token as huggingface_hub resolves it: `HF_TOKEN`, else the token saved by
    `hf auth login` / `huggingface-cli login` (None when there is neither)."""
    from huggingface_hub import get_token

    return get_token()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__


def _is_transport(exc: BaseException) -> bool:
    # httpx2/httpx transport errors (refused, DNS, timeout) and plain socket errors.
    return isinstance(exc, OSError) or any(
        c.__name__ in ("TransportError", "ConnectError", "TimeoutException") for c in type(exc).__mro__
    )


def _hub(what: str, call: Callable[[], T], passthrough: tuple[type[BaseException], ...] = ()) -> T:
    """`call()`, with a Hub refusal turned into one `PublishError` line saying what was being done
    (exceptions in `passthrough` are re-raised as they are, for the caller to handle)."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return call()
    except passthrough:
        raise
    except PublishError:
        raise
    except HfHubHTTPError as exc:
        raise PublishError(f"{what}: {_first_line(exc)}") from None
    except Exception as exc:
        if _is_transport(exc):
            raise _Unreachable(
                f"{what}: cannot reach the Hub ({type(exc).__name__}: {_first_line(exc)})"
            ) from None
        raise


class _Unreachable(PublishError):
    """The Hub could not be reached at all (connection refused, DNS, timeout)."""


def _repo_url(endpoint: str, repo_id: str, revision: str) -> str:
    url = f"{endpoint.rstrip('/')}/datasets/{repo_id}"
    return url if revision == "main" else f"{url}/tree/{revision}"


def _validate_repo_id(repo_id: str) -> None:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts):
        raise PublishError(
            f"--repo {repo_id!r}: expected NAMESPACE/NAME (a user or organisation, then the dataset name)"
        )


def commit_message(manifest: dict[str, Any]) -> str:
    """The commit summary: which build, and its config hash."""
    return f"reasonmill: publish {manifest.get('name')} (config {manifest['config_hash']})"


def _commit_description(manifest: dict[str, Any], changes: list[FileChange]) -> str:
    counts = {s: sum(c.status == s for c in changes) for s in ("new", "changed", "deleted", "unchanged")}
    corpus = manifest.get("corpus") or {}
    subsets = corpus.get("subsets")
    rows = (
        ", ".join(f"{n}: {s.get('rows')}" for n, s in subsets.items())
        if subsets
        else f"rows: {corpus.get('rows')}, preference pairs: {corpus.get('preference_pairs')}"
    )
    return (
        f"Build {manifest.get('name')} finished {manifest.get('finished_at')} with reasonmill {manifest.get('reasonmill_version')}, "
        f"config hash {manifest['config_hash']}.\n{rows}\n"
        f"Files: {counts['new']} new, {counts['changed']} changed, {counts['deleted']} deleted, {counts['unchanged']} unchanged."
    )


def publish(
    out: Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    endpoint: str | None = None,
    license: str = DEFAULT_LICENSE,
    log: LogHook | None = None,
    progress: ProgressHook | None = None,
) -> PublishResult:
    """Publish the finished build in `out` to the Hub dataset repo `repo_id` (see the module docs).

    `revision` is a branch (created from main when missing; default main); `endpoint` overrides
    `HF_ENDPOINT`; `license` goes into the card. Returns what was (or, with `dry_run`, would be)
    uploaded, deleted and left unchanged, and the commit made (None when nothing changed). Raises
    `PublishError` on an unfinished or altered build, a missing token, or a Hub refusal.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    say = log or (lambda _line: None)
    out = Path(out)
    _validate_repo_id(repo_id)
    rev = revision or "main"
    manifest = check_build(out, progress)
    for folder in unpublished_folders(out, manifest):
        say(f"{out / folder}: not listed in manifest.json, not published")
    local = local_files(out, manifest, repo_id, license)
    say(
        f"build {manifest.get('name')} (config {manifest['config_hash']}): {len(local)} files, {sum(f.size for f in local)} bytes, all match manifest.json"
    )

    token = resolve_token()
    if token is None and not dry_run:
        raise PublishError(
            "no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token with write access)"
        )
    api = HfApi(endpoint=endpoint, token=token)
    result = PublishResult(repo_id, rev, _repo_url(api.endpoint, repo_id, rev), dry_run, compared="")

    def everything_new(why: str) -> PublishResult:
        result.compared = why
        result.changes = [FileChange(f.path_in_repo, "new", f.size) for f in local]
        return result

    try:
        info = _hub(
            f"reading {repo_id}",
            lambda: api.repo_info(repo_id, repo_type=REPO_TYPE),
            (RepositoryNotFoundError,),
        )
    except RepositoryNotFoundError:
        info = None
    except _Unreachable as exc:
        if not dry_run:
            raise
        return everything_new(f"{exc}; nothing compared, every file listed as new")

    if info is None:
        if dry_run:
            hidden = "" if token else " (or it is private: no token was found)"
            return everything_new(
                f"repo {repo_id} does not exist on {api.endpoint}{hidden}: it would be created; nothing else contacted"
            )
        result.user = _hub("checking the token", lambda: api.whoami().get("name"))
        say(f"authenticated as {result.user}")
        _hub(
            f"creating {repo_id}",
            lambda: api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True),
        )
        result.repo_created = True
        say(f"created dataset repo {repo_id} ({'private' if private else 'public'})")
    else:
        if private and info.private is False:
            raise PublishError(
                f"{repo_id} exists and is public: --private would publish into a public repo (make it private on the Hub first, or drop --private)"
            )
        if not dry_run:
            result.user = _hub("checking the token", lambda: api.whoami().get("name"))
            say(f"authenticated as {result.user}")

    refs = _hub(f"listing branches of {repo_id}", lambda: api.list_repo_refs(repo_id, repo_type=REPO_TYPE))
    heads = {b.name: b.target_commit for b in refs.branches}
    if rev not in heads:
        if "main" not in heads:
            raise PublishError(f"{repo_id} has no branch main to create {rev} from")
        if dry_run:
            result.compared = (
                f"branch {rev} does not exist: it would be created from main; compared with main"
            )
        else:
            _hub(
                f"creating branch {rev}",
                lambda: api.create_branch(repo_id, branch=rev, revision=heads["main"], repo_type=REPO_TYPE),
            )
            result.branch_created = True
            heads[rev] = heads["main"]
            say(f"created branch {rev} from main")
    head = heads.get(rev, heads.get("main"))
    listing = _hub(
        f"listing {repo_id}@{rev}",
        lambda: list(api.list_repo_tree(repo_id, recursive=True, revision=head, repo_type=REPO_TYPE)),
    )
    remote = {e.path: e for e in listing if hasattr(e, "blob_id")}
    result.compared = result.compared or f"compared with {repo_id}@{rev} (commit {head[:12]})"
    result.changes = plan_changes(local, remote)
    if dry_run:
        return result

    todo = [c for c in result.changes if c.status in ("new", "changed", "deleted")]
    if not todo:
        say(f"nothing changed on {repo_id}@{rev}: no upload, no commit")
        return result
    by_path = {f.path_in_repo: f for f in local}
    operations: list[Any] = []
    for c in todo:
        if c.status == "deleted":
            operations.append(CommitOperationDelete(path_in_repo=c.path))
        else:
            f = by_path[c.path]
            operations.append(
                CommitOperationAdd(
                    path_in_repo=c.path,
                    path_or_fileobj=f.source if isinstance(f.source, bytes) else str(f.source),
                )
            )
    message = commit_message(manifest)
    say(
        f"committing {len(result.uploaded)} upload(s) ({result.bytes_uploaded} bytes) and {len(result.paths('deleted'))} deletion(s) to {repo_id}@{rev}"
    )
    info_commit = _hub(
        f"committing to {repo_id}@{rev}",
        lambda: api.create_commit(
            repo_id,
            operations,
            commit_message=message,
            commit_description=_commit_description(manifest, result.changes),
            repo_type=REPO_TYPE,
            revision=rev,
            parent_commit=head,
        ),
    )
    result.commit_oid, result.commit_url, result.commit_message = (
        info_commit.oid,
        info_commit.commit_url,
        message,
    )
    return result


__all__ = [
    "MANAGED_FOLDERS",
    "FileChange",
    "LocalFile",
    "PublishError",
    "PublishResult",
    "check_build",
    "commit_message",
    "local_files",
    "plan_changes",
    "publish",
    "read_manifest",
    "resolve_token",
]
