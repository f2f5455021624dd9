"""A loopback Hugging Face Hub for the publish tests, and the builds they publish.

`FakeHub` is an HTTP server (stdlib `ThreadingHTTPServer` on 127.0.0.1) that implements the Hub
endpoints the real `huggingface_hub` client (v2) calls for create → compare → commit, with git-like
state: repos with branches and commits, regular blobs (git sha1 ids) and LFS objects (sha256),
`X-Error-Code` headers so the client raises its own typed errors, and bearer-token auth. Xet
storage is switched off in the client (`HF_HUB_DISABLE_XET=1`), so large files take the LFS
batch protocol, which the server implements. Endpoints (see `ENDPOINTS`):

    GET  /api/whoami-v2                                  HfApi.whoami
    POST /api/repos/create                               create_repo (409 when it exists)
    GET  /api/datasets/{repo}[/revision/{rev}]           repo_info
    GET  /api/datasets/{repo}/refs                       list_repo_refs
    POST /api/datasets/{repo}/branch/{branch}            create_branch (startingPoint)
    GET  /api/datasets/{repo}/tree/{rev}[/{path}]        list_repo_tree (recursive, Link-header pages)
    GET  /api/datasets/{repo}/commits/{rev}              list_repo_commits
    POST /api/validate-yaml                              create_commit's README metadata check
    POST /api/datasets/{repo}/preupload/{rev}            create_commit: upload mode per file
    POST /datasets/{repo}.git/info/lfs/objects/batch     LFS batch API, basic transfer
    PUT  /lfs/objects/{oid}                              LFS upload (the batch action's href)
    POST /lfs/verify/{oid}                               LFS verify action
    POST /api/datasets/{repo}/commit/{rev}               create_commit: the ndjson commit
    GET  /api/agent-harnesses                            not publishing: the client's own user-agent
                                                         registry, fetched once a day (empty here)

Every request is logged (`hub.requests`), LFS uploads and commits are counted, so tests can
assert "zero uploads, zero commits" and "the dry run only read". `hub.export(repo, rev, folder)`
writes a revision's files to a folder, for `datasets.load_dataset` on the published layout.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from reasonmill.config import validate_config
from reasonmill.shards import atomic_write_json, file_sha256

ENDPOINTS = [
    ("GET", "/api/whoami-v2"),
    ("POST", "/api/repos/create"),
    ("GET", "/api/datasets/{repo}"),
    ("GET", "/api/datasets/{repo}/revision/{rev}"),
    ("GET", "/api/datasets/{repo}/refs"),
    ("POST", "/api/datasets/{repo}/branch/{branch}"),
    ("GET", "/api/datasets/{repo}/tree/{rev}"),
    ("GET", "/api/datasets/{repo}/commits/{rev}"),
    ("POST", "/api/validate-yaml"),
    ("POST", "/api/datasets/{repo}/preupload/{rev}"),
    ("POST", "/datasets/{repo}.git/info/lfs/objects/batch"),
    ("PUT", "/lfs/objects/{oid}"),
    ("POST", "/lfs/verify/{oid}"),
    ("POST", "/api/datasets/{repo}/commit/{rev}"),
    ("GET", "/api/agent-harnesses"),
]
"""The Hub endpoints this server implements: exactly those the publish flow makes the client call."""

GITATTRIBUTES = "*.parquet filter=lfs diff=lfs merge=lfs -text\n*.arrow filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n"
LFS_ABOVE = 10 * 1024 * 1024


def git_sha1(data: bytes) -> str:
    """git's blob id of `data`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Blob:
    """One file in a commit: regular (content kept) or LFS (sha256 of the object in the store)."""

    size: int
    content: bytes | None = None
    lfs_sha256: str | None = None

    @property
    def pointer(self) -> bytes:
        """The LFS pointer file git stores for an LFS blob."""
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.lfs_sha256}\nsize {self.size}\n".encode()

    @property
    def oid(self) -> str:
        """The git blob id (of the pointer, for LFS files, as on the Hub)."""
        return git_sha1(self.pointer if self.lfs_sha256 else self.content or b"")


@dataclass
class Commit:
    """A commit: its files, parent, summary and description."""

    oid: str
    parent: str | None
    title: str
    message: str
    files: dict[str, Blob]


@dataclass
class Repo:
    """A dataset repo: visibility, branches (name → commit id) and its commits."""

    repo_id: str
    private: bool
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    def head(self, rev: str) -> Commit | None:
        """The commit a branch name or commit id points at."""
        oid = self.branches.get(rev, rev)
        return self.commits.get(oid)


class _Error(Exception):
    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeHub:
    """The loopback Hub (see the module docstring). Use as a context manager."""

    def __init__(
        self, user: str = "alice", orgs: tuple[str, ...] = ("reasonmill-org",), page_size: int = 1000
    ) -> None:
        self.user, self.orgs, self.page_size = user, orgs, page_size
        self.token = "hf_" + secrets.token_hex(20)
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.lfs_uploads: list[str] = []
        self.commits_made: list[tuple[str, str]] = []
        self.seen_auth: list[str] = []
        self.lock = threading.Lock()
        self._counter = 0
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _handle(self, method: str) -> None:
                body = self._body()
                url = urlsplit(self.path)
                with hub.lock:
                    hub.requests.append((method, url.path))
                    auth = self.headers.get("Authorization") or ""
                    if auth:
                        hub.seen_auth.append(auth)
                try:
                    status, payload, headers = hub.route(method, url.path, parse_qs(url.query), body, auth)
                except _Error as exc:
                    status, payload, headers = (
                        exc.status,
                        {"error": exc.message},
                        {"X-Error-Message": exc.message},
                    )
                    if exc.code:
                        headers["X-Error-Code"] = exc.code
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_PUT(self) -> None:  # noqa: N802
                self._handle("PUT")

            def do_HEAD(self) -> None:  # noqa: N802
                self._handle("HEAD")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- helpers -------------------------------------------------------------------------------

    def _oid(self, *parts: str) -> str:
        self._counter += 1
        return hashlib.sha1("|".join([*parts, str(self._counter)]).encode()).hexdigest()

    def _authed(self, auth: str) -> bool:
        return auth == f"Bearer {self.token}"

    def _require_write(self, auth: str, repo: Repo | None = None) -> None:
        if not auth:
            raise _Error(401, None, "Authorization header is required")
        if not self._authed(auth):
            raise _Error(401, None, "Invalid credentials in Authorization header")
        if repo is not None and repo.repo_id.split("/")[0] not in (self.user, *self.orgs):
            raise _Error(403, None, "You don't have the rights to write to this repo")

    def _repo(self, repo_id: str, auth: str) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and not self._authed(auth)):
            raise _Error(404, "RepoNotFound", "Repository not found")
        return repo

    def _commit(self, repo: Repo, rev: str) -> Commit:
        c = repo.head(rev)
        if c is None:
            raise _Error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return c

    @staticmethod
    def _split(rest: str) -> tuple[str, str]:
        # "{ns}/{name}/{tail...}" → ("ns/name", tail)
        parts = rest.split("/", 2)
        return "/".join(parts[:2]), parts[2] if len(parts) > 2 else ""

    def _is_lfs(self, commit: Commit, path: str, size: int, sample: bytes) -> bool:
        attrs = commit.files.get(".gitattributes")
        patterns = (
            [ln.split()[0] for ln in (attrs.content or b"").decode().splitlines() if "filter=lfs" in ln]
            if attrs
            else []
        )
        return (
            size > LFS_ABOVE
            or b"\0" in sample
            or any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in patterns)
        )

    # -- routing -------------------------------------------------------------------------------

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, auth: str
    ) -> tuple[int, Any, dict[str, str]]:
        """Dispatch one request; returns (status, JSON payload or bytes, extra headers)."""
        with self.lock:
            if method == "GET" and path == "/api/agent-harnesses":
                return 200, {"standardEnvVars": [], "harnesses": {}}, {}
            if method == "GET" and path == "/api/whoami-v2":
                self._require_write(auth)
                return (
                    200,
                    {
                        "type": "user",
                        "name": self.user,
                        "fullname": self.user.title(),
                        "orgs": [{"name": o} for o in self.orgs],
                        "auth": {
                            "type": "access_token",
                            "accessToken": {"displayName": "test", "role": "write"},
                        },
                    },
                    {},
                )
            if method == "POST" and path == "/api/repos/create":
                return self._create_repo(json.loads(body), auth)
            if method == "POST" and path == "/api/validate-yaml":
                return self._validate_yaml(json.loads(body))
            if method == "PUT" and path.startswith("/lfs/objects/"):
                oid = path.rsplit("/", 1)[1]
                if hashlib.sha256(body).hexdigest() != oid:
                    raise _Error(400, None, "sha256 of the uploaded body does not match the object id")
                self.lfs[oid] = body
                self.lfs_uploads.append(oid)
                return 200, {}, {}
            if method == "POST" and path.startswith("/lfs/verify/"):
                self._require_write(auth)
                req = json.loads(body)
                if self.lfs.get(req["oid"]) is None or len(self.lfs[req["oid"]]) != req["size"]:
                    raise _Error(404, None, "object not uploaded")
                return 200, {}, {}
            if (
                method == "POST"
                and path.startswith("/datasets/")
                and path.endswith(".git/info/lfs/objects/batch")
            ):
                repo_id = unquote(path[len("/datasets/") : -len(".git/info/lfs/objects/batch")])
                return self._lfs_batch(repo_id, json.loads(body), auth)
            if path.startswith("/api/datasets/"):
                repo_id, tail = self._split(path[len("/api/datasets/") :])
                return self._dataset(method, repo_id, tail, query, body, auth)
        raise _Error(404, None, f"no such endpoint: {method} {path}")

    def _dataset(
        self, method: str, repo_id: str, tail: str, query: dict[str, list[str]], body: bytes, auth: str
    ) -> tuple[int, Any, dict[str, str]]:
        repo = self._repo(repo_id, auth)
        verb, _, rest = tail.partition("/")
        if method == "GET" and verb in ("", "revision"):
            c = self._commit(repo, unquote(rest) if verb else "main")
            return (
                200,
                {
                    "id": repo.repo_id,
                    "author": repo.repo_id.split("/")[0],
                    "sha": c.oid,
                    "private": repo.private,
                    "disabled": False,
                    "gated": False,
                    "downloads": 0,
                    "likes": 0,
                    "tags": [],
                    "siblings": [{"rfilename": p} for p in sorted(c.files)],
                    "lastModified": "2026-01-01T00:00:00.000Z",
                    "createdAt": "2026-01-01T00:00:00.000Z",
                },
                {},
            )
        if method == "GET" and verb == "refs":
            return (
                200,
                {
                    "branches": [
                        {"name": b, "ref": f"refs/heads/{b}", "targetCommit": oid}
                        for b, oid in sorted(repo.branches.items())
                    ],
                    "tags": [],
                    "converts": [],
                },
                {},
            )
        if method == "POST" and verb == "branch":
            self._require_write(auth, repo)
            branch = unquote(rest)
            if branch in repo.branches:
                raise _Error(409, None, f"Reference already exists: refs/heads/{branch}")
            start = json.loads(body or b"{}").get("startingPoint", "main")
            repo.branches[branch] = self._commit(repo, start).oid
            return 200, {}, {}
        if method == "GET" and verb == "tree":
            rev, _, sub = rest.partition("/")
            return self._tree(repo, unquote(rev), unquote(sub), query)
        if method == "GET" and verb == "commits":
            c: Commit | None = self._commit(repo, unquote(rest))
            items = []
            while c is not None:
                items.append(
                    {
                        "id": c.oid,
                        "title": c.title,
                        "message": c.message,
                        "authors": [{"user": self.user}],
                        "date": "2026-01-01T00:00:00.000Z",
                    }
                )
                c = repo.commits.get(c.parent) if c.parent else None
            return 200, items, {}
        if method == "POST" and verb == "preupload":
            self._require_write(auth, repo)
            c = self._commit(repo, unquote(rest))
            files = []
            for f in json.loads(body)["files"]:
                lfs = self._is_lfs(c, f["path"], f["size"], base64.b64decode(f["sample"]))
                old = c.files.get(f["path"])
                remote_oid = None if old is None else (old.lfs_sha256 if old.lfs_sha256 else old.oid)
                files.append(
                    {
                        "path": f["path"],
                        "uploadMode": "lfs" if lfs else "regular",
                        "shouldIgnore": False,
                        "oid": remote_oid,
                    }
                )
            return 200, {"files": files, "commitOid": c.oid}, {}
        if method == "POST" and verb == "commit":
            self._require_write(auth, repo)
            return self._apply_commit(repo, unquote(rest), body)
        raise _Error(404, None, f"no such endpoint: {method} /api/datasets/{repo_id}/{tail}")

    def _create_repo(self, req: dict[str, Any], auth: str) -> tuple[int, Any, dict[str, str]]:
        self._require_write(auth)
        if req.get("type") != "dataset":
            raise _Error(400, None, "these tests only publish datasets")
        ns = req.get("organization") or self.user
        if ns not in (self.user, *self.orgs):
            raise _Error(
                403, None, f"You don't have the rights to create a dataset under the namespace {ns!r}"
            )
        repo_id = f"{ns}/{req['name']}"
        url = f"{self.url}/datasets/{repo_id}"
        if repo_id in self.repos:
            raise _Error(409, None, "You already created this dataset repo")
        repo = Repo(repo_id, private=req.get("visibility") == "private")
        first = Commit(
            self._oid(repo_id),
            None,
            "initial commit",
            "",
            {".gitattributes": Blob(len(GITATTRIBUTES), GITATTRIBUTES.encode())},
        )
        repo.commits[first.oid] = first
        repo.branches["main"] = first.oid
        self.repos[repo_id] = repo
        return 200, {"url": url, "name": repo_id, "id": repo_id}, {}

    def _validate_yaml(self, req: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        text = req["content"]
        errors = []
        if text.startswith("---\n"):
            try:
                meta = yaml.safe_load(text[4:].split("\n---\n", 1)[0]) or {}
            except yaml.YAMLError as exc:
                meta, errors = {}, [{"message": f"invalid YAML: {exc}"}]
            for c in meta.get("configs", []) if isinstance(meta, dict) else []:
                if "config_name" not in c or "data_files" not in c:
                    errors.append({"message": f"config {c!r} needs config_name and data_files"})
        if errors:
            return 400, {"errors": errors, "warnings": []}, {}
        return 200, {"errors": [], "warnings": []}, {}

    def _tree(
        self, repo: Repo, rev: str, sub: str, query: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        c = self._commit(repo, rev)
        recursive = (query.get("recursive") or ["false"])[0].lower() == "true"
        prefix = sub.strip("/") + "/" if sub.strip("/") else ""
        entries: dict[str, dict[str, Any]] = {}
        for path, blob in sorted(c.files.items()):
            if not path.startswith(prefix):
                continue
            rel = path[len(prefix) :].split("/")
            for depth in range(1, len(rel)):
                folder = prefix + "/".join(rel[:depth])
                if recursive or depth == 1:
                    entries.setdefault(
                        folder,
                        {"type": "directory", "oid": git_sha1(folder.encode()), "size": 0, "path": folder},
                    )
            if recursive or len(rel) == 1:
                e: dict[str, Any] = {"type": "file", "oid": blob.oid, "size": blob.size, "path": path}
                if blob.lfs_sha256:
                    e["lfs"] = {"oid": blob.lfs_sha256, "size": blob.size, "pointerSize": len(blob.pointer)}
                entries[path] = e
        items = [entries[k] for k in sorted(entries)]
        start = int((query.get("cursor") or ["0"])[0])
        page = items[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(items):
            nxt = f"{self.url}/api/datasets/{repo.repo_id}/tree/{quote(rev, safe='')}{'/' + quote(sub, safe='') if sub else ''}?recursive={str(recursive)}&expand=False&cursor={start + self.page_size}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return 200, page, headers

    def _lfs_batch(self, repo_id: str, req: dict[str, Any], auth: str) -> tuple[int, Any, dict[str, str]]:
        repo = self._repo(repo_id, auth)
        self._require_write(auth, repo)
        objects = []
        for o in req["objects"]:
            item: dict[str, Any] = {"oid": o["oid"], "size": o["size"], "authenticated": True}
            if o["oid"] not in self.lfs:
                item["actions"] = {
                    "upload": {"href": f"{self.url}/lfs/objects/{o['oid']}", "expires_in": 3600},
                    "verify": {"href": f"{self.url}/lfs/verify/{o['oid']}"},
                }
            objects.append(item)
        return (
            200,
            {"transfer": "basic", "objects": objects},
            {"Content-Type": "application/vnd.git-lfs+json"},
        )

    def _apply_commit(self, repo: Repo, rev: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if rev not in repo.branches:
            raise _Error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        head = repo.commits[repo.branches[rev]]
        lines = [json.loads(ln) for ln in body.decode().splitlines() if ln.strip()]
        header = next(ln["value"] for ln in lines if ln["key"] == "header")
        if header.get("parentCommit") and header["parentCommit"] != head.oid:
            raise _Error(
                412, None, f"A commit has happened since. Please refresh and try again. ({head.oid})"
            )
        files = dict(head.files)
        for ln in lines:
            key, v = ln["key"], ln["value"]
            if key == "file":
                data = base64.b64decode(v["content"])
                files[v["path"]] = Blob(len(data), data)
            elif key == "lfsFile":
                if v["oid"] not in self.lfs:
                    raise _Error(422, None, f"LFS object {v['oid']} was never uploaded")
                files[v["path"]] = Blob(v["size"], None, v["oid"])
            elif key == "deletedFile":
                if v["path"] not in files:
                    raise _Error(404, "EntryNotFound", "A file with this name doesn't exist")
                del files[v["path"]]
            elif key == "deletedFolder":
                files = {p: b for p, b in files.items() if not p.startswith(v["path"].rstrip("/") + "/")}
        commit = Commit(
            self._oid(repo.repo_id, header["summary"]),
            head.oid,
            header["summary"],
            header.get("description", ""),
            files,
        )
        repo.commits[commit.oid] = commit
        repo.branches[rev] = commit.oid
        self.commits_made.append((repo.repo_id, header["summary"]))
        return (
            200,
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{self.url}/datasets/{repo.repo_id}/commit/{commit.oid}",
                "hookOutput": "",
            },
            {},
        )

    # -- for assertions --------------------------------------------------------------------------

    def publish_requests(self) -> list[tuple[str, str]]:
        """Requests made so far, without the client's own once-a-day registry fetch."""
        return [r for r in self.requests if r[1] != "/api/agent-harnesses"]

    def writes(self) -> list[tuple[str, str]]:
        """Requests that change or upload something (every non-GET, except the metadata check)."""
        return [r for r in self.publish_requests() if r[0] != "GET" and r[1] != "/api/validate-yaml"]

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        """Path → bytes of every file of a revision."""
        c = self.repos[repo_id].head(rev)
        assert c is not None
        return {p: (self.lfs[b.lfs_sha256] if b.lfs_sha256 else b.content or b"") for p, b in c.files.items()}

    def export(self, repo_id: str, rev: str, folder: Path) -> Path:
        """Write a revision's files under `folder` (the published layout, as a download gives it)."""
        for path, data in self.files(repo_id, rev).items():
            p = folder / path
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        return folder


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    """A fresh loopback Hub (small tree pages, so pagination is exercised)."""
    with FakeHub(page_size=7) as h:
        yield h


@pytest.fixture
def hf_env(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point huggingface_hub at `hub` in this process and return the env for a subprocess.

    In process the client's import-time constants are patched (endpoint, no Xet, a token file
    path with no file); the subprocess gets the real environment variables.
    """
    import huggingface_hub.constants as constants

    home = tmp_path / "hf_home"
    home.mkdir()
    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(home / ".agent_harnesses.json"))
    monkeypatch.setenv("HF_TOKEN", hub.token)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(
        HF_ENDPOINT=hub.url,
        HF_TOKEN=hub.token,
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        NO_COLOR="1",
        COLUMNS="200",
    )
    return env


# -- builds -------------------------------------------------------------------------------------

SMALL_PUBLISH = {
    "name": "publish-small",
    "shard_rows": 40,
    "seeds": [{"generator": "arithmetic_chain", "count": 40}, {"generator": "linear_equation", "count": 40}],
    "compose": {"rules": [{"principle": "bridging", "count": 8, "hops": 2}]},
    "distill": {"samples": 2},
}


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real small build (old layout: corpus/*.parquet), made once per session; copy it before changing it."""
    from reasonmill.pipelines.runner import build

    out = tmp_path_factory.mktemp("publish_build") / "out"
    build(validate_config(SMALL_PUBLISH), out)
    return out


@pytest.fixture
def build_copy(built: Path, tmp_path: Path) -> Path:
    """A private copy of the session build."""
    dst = tmp_path / "build"
    shutil.copytree(built, dst)
    return dst


MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])
CONV = pa.list_(MESSAGE)
# A struct, not map<string, double>: datasets 5.x cannot load a map column ("does not have a
# datasets dtype equivalent"), although the layout allows either.
SCORE_KEYS = ("difficulty_intrinsic", "effort_nodes", "retro_token_reduction", "teacher_pass_rate")
SCORES = pa.struct([pa.field(k, pa.float64()) for k in SCORE_KEYS])


def write_empty(path: Path, schema: pa.Schema) -> None:
    """An empty Parquet file with `schema` and no row group (a 0-row row group makes `datasets`
    fail with "BatchSize must be greater than 0", even streaming), as the export writes them."""
    with pq.ParquetWriter(path, schema):
        pass


def to_new_layout(out: Path) -> Path:
    """A built folder in the corpus layout (`reasonmill.pipelines.corpus`), with curated subsets.

    A build the runner already wrote in the new layout is kept as it is; an old-layout one
    (corpus/*.parquet) is rewritten from its own rows into corpus/{sft,prompt_completion,grpo,
    preference,records}/shard-00000.parquet, each with only its own columns plus id and
    provenance, an empty preference subset as one empty file with the schema, and
    manifest["corpus"] = {"subsets": {NAME: {"rows", "files"}}, "rows", "preference_pairs"}.
    Then curated/kept (10 rows) and an empty curated/rejected are listed under
    manifest["curation"], with a decontamination report, and the report is rewritten.
    """
    manifest = json.loads((out / "manifest.json").read_text())
    if "subsets" not in manifest["corpus"]:
        _convert_old_layout(out)
    manifest = json.loads((out / "manifest.json").read_text())
    records = manifest["corpus"]["subsets"]["records"]["files"]
    rows = [
        r
        for rel in sorted(records)
        for r in pq.read_table(out / rel, columns=["id", "question", "answer"]).to_pylist()
    ]
    curated = out / "curated" / "kept" / "shard-00000.parquet"
    curated.parent.mkdir(parents=True)
    kept = [{"id": r["id"], "question": r["question"], "answer": r["answer"]} for r in rows[:10]]
    pq.write_table(pa.Table.from_pylist(kept), curated)
    dropped = out / "curated" / "rejected" / "shard-00000.parquet"
    dropped.parent.mkdir(parents=True)
    schema = pa.schema([("id", pa.string()), ("question", pa.string()), ("reason", pa.string())])
    write_empty(dropped, schema)
    manifest["curation"] = {
        "kept": {"rows": 10, "files": {"curated/kept/shard-00000.parquet": file_sha256(curated)}},
        "rejected": {"rows": 0, "files": {"curated/rejected/shard-00000.parquet": file_sha256(dropped)}},
        "decontamination": {
            "benchmarks": "MATH-500, GSM8K",
            "checked": 12,
            "contaminated": 2,
            "template_matches": 1,
        },
    }
    atomic_write_json(out / "manifest.json", manifest)
    from reasonmill.pipelines.report import write_report

    write_report(out)
    return out


def _convert_old_layout(out: Path) -> None:
    old = sorted((out / "corpus").glob("*.parquet"))
    rows = [r for f in old for r in pq.read_table(f).to_pylist()]
    for f in old:
        f.unlink()
    prov = lambda r: {"id": r["id"], "source": r["source"], "level": r["level"]}  # noqa: E731
    prov_fields = [
        pa.field("id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("level", pa.int64()),
    ]
    subsets: dict[str, tuple[pa.Schema, list[dict[str, Any]]]] = {
        "sft": (
            pa.schema([*prov_fields, pa.field("messages", CONV)]),
            [{**prov(r), "messages": r["messages"]} for r in rows],
        ),
        "prompt_completion": (
            pa.schema([*prov_fields, pa.field("prompt", CONV), pa.field("completion", CONV)]),
            [{**prov(r), "prompt": [r["messages"][0]], "completion": [r["messages"][1]]} for r in rows],
        ),
        "grpo": (
            pa.schema(
                [
                    *prov_fields,
                    pa.field("prompt", CONV),
                    pa.field("solution", pa.string()),
                    pa.field("kind", pa.string()),
                ]
            ),
            [
                {**prov(r), "prompt": [r["messages"][0]], "solution": r["solution"], "kind": r["kind"]}
                for r in rows
            ],
        ),
        "preference": (
            pa.schema(
                [*prov_fields, pa.field("prompt", CONV), pa.field("chosen", CONV), pa.field("rejected", CONV)]
            ),
            [],
        ),
        "records": (
            pa.schema(
                [
                    *prov_fields,
                    pa.field("question", pa.string()),
                    pa.field("answer", pa.string()),
                    pa.field("tokens", pa.int64()),
                    pa.field("difficulty", pa.float64()),
                    pa.field("scores", SCORES),
                ]
            ),
            [
                {
                    **prov(r),
                    "question": r["question"],
                    "answer": r["answer"],
                    "tokens": r["trace_tokens"],
                    "difficulty": r["difficulty"],
                    "scores": {k: json.loads(r["scores"]).get(k) for k in SCORE_KEYS},
                }
                for r in rows
            ],
        ),
    }
    manifest = json.loads((out / "manifest.json").read_text())
    corpus: dict[str, Any] = {"subsets": {}}
    for name, (schema, data) in subsets.items():
        rel = f"corpus/{name}/shard-00000.parquet"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        if data:
            pq.write_table(pa.Table.from_pylist(data, schema=schema), out / rel)
        else:
            write_empty(out / rel, schema)
        corpus["subsets"][name] = {"rows": len(data), "files": {rel: file_sha256(out / rel)}}
    corpus["rows"], corpus["preference_pairs"] = len(rows), 0
    manifest["corpus"] = corpus
    atomic_write_json(out / "manifest.json", manifest)


@pytest.fixture
def new_layout(build_copy: Path) -> Path:
    """A copy of the session build in the corpus layout of `reasonmill.pipelines.corpus`, with a curated subset."""
    return to_new_layout(build_copy)
