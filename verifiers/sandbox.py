"""Run an untrusted Python program in a contained subprocess and say how it ended.

Layers, each checked by the hostile-code tests (`tests/verifiers/test_sandbox.py`):

| layer | what it enforces | where it works |
|---|---|---|
| rlimits | CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS), largest file (RLIMIT_FSIZE), open files, no core dumps | everywhere on Linux |
| parent | wall-clock limit, output cap (reads at most `output_bytes`, then kills), kills the whole process group and every process of the run's user id afterwards, removes the temporary directory | everywhere |
| own user id | when the parent is root: the child runs as a fresh, unused uid (1,000,000 + 256·pid + run), so RLIMIT_NPROC really caps its processes (root ignores it), it cannot write anything but its own directory and world-writable places, and its leftovers can be found and killed | root only |
| network namespace | `unshare(CLONE_NEWNET)`: only a downed loopback, no route anywhere | root, or unprivileged user namespaces |
| audit hook | a prelude installs `sys.addaudithook` before the candidate runs: `open` outside its directory (reads allowed only in the standard library), sockets, subprocesses, fork/exec/spawn, signals to other processes, ctypes, and file-system changes outside its directory raise `PermissionError` | any CPython ≥ 3.8 |
| isolated interpreter | `python -I -S -B`: no site-packages, no user site, no environment variables honoured, scrubbed environment, cwd = its temporary directory | everywhere |

Programs run on this interpreter when another uid may execute it, else on a system Python of the
same minor version (here the venv's Python lives under /root, which other uids cannot enter), with
the standard library only (`-S`: no site-packages).

Assert-style tests run after the program in its own process. The program cannot read them (the
file is deleted before it starts) or reach the harness (frames, gc and tracing are blocked), and
a pass needs a per-run nonce printed after the last assert, so exiting early is not a pass. But a
deliberately adversarial program can still defeat an `assert f(x) == y` from inside (an object
whose `__eq__` always says True): for rewards that a policy could learn to hack, prefer
stdin/stdout tests, which compare text in the parent.

Not guaranteed: the audit hook is a tripwire for Python code, not a security boundary (CPython
documents that hooks can be bypassed; blocking `ctypes` closes the easy way); without root there is
no own uid, so RLIMIT_NPROC counts all processes of the calling user and is set from their current
number; there is no mount namespace, so at the OS level the child can still read world-readable
files — only the audit hook stops Python code doing so. Run untrusted code from the open internet
in a VM or gVisor as well.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import resource
import secrets
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from reasonmill.verifiers.base import SandboxLimits

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
BLOCK_MARK = "reasonmill-sandbox: blocked"
_UID_BASE = 1_000_000

# The prelude runs first inside the child: read the candidate and its tests, delete both files,
# install the audit hook, then execute the candidate in a fresh namespace. Everything it holds
# (the tests, the nonce that proves the tests ran) lives in `_main`'s frame, and the hook blocks
# the ways to reach a frame (sys._getframe, tb_frame/gi_frame reads, gc referrers, tracing).
# argv: root, mode ("run" | "asserts").
PRELUDE = r"""
def _main():
    import os, sys, json
    root, mode = sys.argv[1], sys.argv[2]
    nonce = os.environ.pop("RM_NONCE", "")
    use_hook = os.environ.pop("RM_HOOK", "1") == "1"
    network = os.environ.pop("RM_NETWORK", "0") == "1"
    os.chdir(root)
    with open(os.path.join(root, "main.py"), encoding="utf-8") as f:
        src = f.read()
    tests = []
    if mode == "asserts":
        with open(os.path.join(root, "tests.json"), encoding="utf-8") as f:
            tests = json.load(f)
    for name in ("main.py", "tests.json"):  # the program must not read its own tests
        try:
            os.remove(os.path.join(root, name))
        except OSError:
            pass
    allow_read = tuple(p for p in sys.path if p) + ("/dev/null", "/dev/urandom")
    W = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    realpath, fspath = os.path.realpath, os.fspath
    BLOCK = ("subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "os.system",
             "os.kill", "os.killpg", "pty.", "ctypes.", "os.startfile", "winreg.", "sys.remote_exec",
             "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile", "gc.get_objects",
             "gc.get_referrers", "gc.get_referents", "object.__getattr__")
    PATHS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
             "os.link", "shutil.rmtree", "shutil.copy", "shutil.move", "os.truncate", "os.utime",
             "os.chdir", "os.chroot")
    LISTS = ("os.listdir", "os.scandir", "glob.glob", "os.walk")
    def inside(p):
        try:
            p = realpath(fspath(p))
        except Exception:
            return False
        return p == root or p.startswith(root + "/")
    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                return
            writing = bool(flags & W) if flags else False
            writing = writing or (isinstance(mode, str) and any(c in mode for c in "wax+"))
            if inside(path):
                return
            if not writing and realpath(fspath(path)).startswith(allow_read):
                return
            raise PermissionError(f"reasonmill-sandbox: blocked open {path!r}")
        if event.startswith("socket.") and not network:
            raise PermissionError(f"reasonmill-sandbox: blocked {event}")
        if event.startswith(BLOCK):
            raise PermissionError(f"reasonmill-sandbox: blocked {event}")
        if event == "import" and args[0] in ("ctypes", "_ctypes", "_posixsubprocess", "_xxsubinterpreters"):
            raise PermissionError(f"reasonmill-sandbox: blocked import {args[0]}")
        if event in LISTS and args and isinstance(args[0], (str, bytes, os.PathLike)):
            if not inside(args[0]) and not realpath(fspath(args[0])).startswith(allow_read):
                raise PermissionError(f"reasonmill-sandbox: blocked {event} {args[0]!r}")
            return
        if event.startswith(PATHS):
            for a in args[:2]:
                if isinstance(a, (str, bytes, os.PathLike)) and not inside(a):
                    raise PermissionError(f"reasonmill-sandbox: blocked {event} {a!r}")
    code = compile(src, "main.py", "exec")
    sys.argv = ["main.py"]
    if use_hook:
        sys.addaudithook(hook)
    g = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(code, g)
    if mode == "asserts":
        for i, t in enumerate(tests):
            try:
                exec(compile(t, f"test_{i}", "exec"), g)
            except AssertionError:
                sys.stdout.flush()
                sys.stderr.write(f"\nRM_FAILED_TEST {i}\n")
                sys.exit(1)
        sys.stdout.flush()
        sys.stdout.write("\n" + nonce + "\n")
_main()
"""


@dataclass(slots=True)
class RunResult:
    """How one sandboxed run ended.

    status: "ok" (exit 0), "crash" (non-zero exit / uncaught exception), "blocked" (the audit hook
    stopped it), "timeout" (wall clock), "cpu_limit", "memory", "output_limit", "file_size",
    "processes", "sandbox_error" (could not start). `layers` names the layers that were active.
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    wall_s: float
    layers: tuple[str, ...] = ()
    detail: str = ""
    extra: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _world_executable(path: str) -> bool:
    p = Path(path).resolve()
    try:
        if not p.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in p.parents)
    except OSError:
        return False


@lru_cache(maxsize=1)
def interpreter() -> tuple[str, bool]:
    """(python executable, usable by another uid): this interpreter when others may run it, else a
    system python of the same minor version, else this one (then the own-uid layer is off)."""
    own = os.path.realpath(sys.executable)
    if _world_executable(own):
        return own, True
    ver = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for cand in (shutil.which(ver, path="/usr/bin:/usr/local/bin:/bin"), "/usr/bin/python3"):
        if cand and _world_executable(cand):
            return os.path.realpath(cand), True
    return own, False


@lru_cache(maxsize=1)
def netns_flags() -> int:
    """The unshare flags that give a child its own empty network namespace here (0 if none work)."""
    for flags in (_CLONE_NEWNET, _CLONE_NEWNET | _CLONE_NEWUSER):
        try:
            r = subprocess.run(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    f"import ctypes,sys;sys.exit(ctypes.CDLL(None).unshare({flags}))",
                ],
                capture_output=True,
                timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return flags
    return 0


_runs = 0


def _next_uid() -> int:
    """A uid no other run uses: unique per (process, run), so leftovers of one run (zombies
    waiting for init) never count against the next run's RLIMIT_NPROC."""
    global _runs
    _runs += 1
    return _UID_BASE + os.getpid() * 256 + _runs % 256


def _user_process_count(uid: int) -> int:
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{d}").st_uid == uid:
                    n += 1
    return n


def _kill_uid(uid: int) -> int:
    """SIGKILL every process owned by `uid` (a uid only this run uses); returns how many."""
    killed = 0
    for _ in range(3):
        found = 0
        for d in os.listdir("/proc"):
            if d.isdigit():
                with contextlib.suppress(OSError):
                    if os.stat(f"/proc/{d}").st_uid == uid:
                        os.kill(int(d), signal.SIGKILL)
                        found += 1
                        with contextlib.suppress(ChildProcessError, OSError):
                            os.waitpid(int(d), os.WNOHANG)  # reap it if it was re-parented to us
        killed += found
        if not found:
            break
        time.sleep(0.01)
    return killed


def run_python(
    code: str,
    stdin: str = "",
    limits: SandboxLimits | None = None,
    asserts: list[str] | None = None,
    audit_hook: bool = True,
    drop_uid: bool = True,
) -> RunResult:
    """Run `code` (Python source) with `stdin` under `limits`; with `asserts`, run those statements
    after it in the same namespace. Never raises for anything the program does.

    `audit_hook` and `drop_uid` exist so tests can check each layer alone; keep them on.
    """
    limits = limits or SandboxLimits()
    python, others_can_run = interpreter()
    is_root = os.geteuid() == 0
    uid = _next_uid() if (is_root and drop_uid and others_can_run) else None
    net = 0 if limits.network else netns_flags()
    layers = ["rlimits", "parent", "isolated_interpreter"]
    layers += ["own_uid"] if uid is not None else []
    layers += ["netns"] if net else []
    layers += ["audit_hook"] if audit_hook else []
    root = os.path.realpath(tempfile.mkdtemp(prefix="rm-sandbox-"))
    nonce = secrets.token_hex(16)
    try:
        Path(root, "main.py").write_text(code, encoding="utf-8")
        Path(root, "tests.json").write_text(json.dumps(asserts or []), encoding="utf-8")
        if uid is not None:
            for p in (root, os.path.join(root, "main.py"), os.path.join(root, "tests.json")):
                os.chown(p, uid, uid)
        nproc = limits.processes if uid is not None else _user_process_count(os.getuid()) + limits.processes
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "HOME": root,
            "TMPDIR": root,
            "RM_NONCE": nonce,
            "RM_HOOK": "1" if audit_hook else "0",
            "RM_NETWORK": "1" if limits.network else "0",
        }

        def preexec() -> None:  # runs in the child between fork and exec
            if net:
                _libc().unshare(net)
            mem = limits.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_mb * 1024 * 1024,) * 2)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it

        _libc()  # load before fork; preexec only calls it
        mode = "asserts" if asserts is not None else "run"
        cmd = [python, "-I", "-S", "-B", "-c", PRELUDE, root, mode]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=root,
                env=env,
                preexec_fn=preexec,
                start_new_session=True,
                close_fds=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return RunResult("sandbox_error", None, "", "", 0.0, tuple(layers), f"could not start: {exc}")
        try:
            out, err, why = _communicate(proc, stdin.encode(), limits, start)
        finally:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if uid is not None:
                _kill_uid(uid)
        wall = time.monotonic() - start
        result = RunResult("ok", proc.returncode, out, err, wall, tuple(layers))
        _classify(result, why, limits, nonce if asserts is not None else None)
        return result
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _communicate(
    proc: subprocess.Popen, data: bytes, limits: SandboxLimits, start: float
) -> tuple[str, str, str]:
    """Feed stdin, read stdout/stderr up to the output cap and the wall deadline.

    Returns (stdout, stderr, why) where why is "", "timeout" or "output_limit".
    """
    assert proc.stdin and proc.stdout and proc.stderr
    sel = selectors.DefaultSelector()
    bufs = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    for f in bufs:
        os.set_blocking(f.fileno(), False)
        sel.register(f, selectors.EVENT_READ)
    if data:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    view, sent, total, why = memoryview(data), 0, 0, ""
    deadline = start + limits.wall_s
    while sel.get_map():
        left = deadline - time.monotonic()
        if left <= 0:
            why = "timeout"
            break
        for key, _ in sel.select(timeout=min(left, 0.5)):
            f = key.fileobj
            if f is proc.stdin:
                try:
                    sent += os.write(proc.stdin.fileno(), view[sent : sent + 65536])
                except (BrokenPipeError, OSError):
                    sent = len(data)
                if sent >= len(data):
                    sel.unregister(f)
                    proc.stdin.close()
                continue
            chunk = os.read(f.fileno(), 65536)
            if not chunk:
                sel.unregister(f)
                continue
            bufs[f] += chunk
            total += len(chunk)
            if total > limits.output_bytes:
                why = "output_limit"
                break
        if why:
            break
    sel.close()
    if why == "" and proc.poll() is None:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            why = "timeout"
    cap = limits.output_bytes
    out = bytes(bufs[proc.stdout][:cap]).decode("utf-8", "replace")
    err = bytes(bufs[proc.stderr][:cap]).decode("utf-8", "replace")
    return out, err, why


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def _classify(r: RunResult, why: str, limits: SandboxLimits, nonce: str | None) -> None:
    """Set `r.status`/`r.detail` from how the run ended. Only the exit status and the last line of
    stderr (the uncaught exception, or the harness's marker) are read, so text a program merely
    prints cannot turn a clean exit into a failure."""
    rc = r.returncode
    last = _last_line(r.stderr)
    if why == "output_limit":
        r.status, r.detail = "output_limit", f"output exceeded {limits.output_bytes} bytes"
    elif why == "timeout":
        r.status, r.detail = "timeout", f"wall time exceeded {limits.wall_s:g}s"
    elif rc == 0:
        if nonce is not None and r.stdout.rstrip().rsplit("\n", 1)[-1] != nonce:
            r.status, r.detail = "crash", "exited before its tests ran"
        else:
            r.status = "ok"
            if nonce is not None:
                r.stdout = r.stdout.rstrip()[: -len(nonce)]
    elif rc == -signal.SIGXCPU:
        r.status, r.detail = "cpu_limit", f"CPU time exceeded {limits.cpu_s}s"
    elif rc == -signal.SIGXFSZ or "File too large" in last:
        r.status, r.detail = "file_size", f"wrote a file over {limits.file_size_mb} MiB"
    elif last.startswith("RM_FAILED_TEST"):
        idx = last.split()[1] if len(last.split()) > 1 else ""
        r.status, r.detail = "failed_test", f"assert test {idx} failed"
        r.extra["failed_index"] = int(idx) if idx.isdigit() else -1
    elif BLOCK_MARK in last:
        r.status, r.detail = "blocked", last[last.index(BLOCK_MARK) :][:200]
    elif "Network is unreachable" in last or "Temporary failure in name resolution" in last:
        r.status, r.detail = "blocked", "network unreachable (own network namespace)"
    elif last.startswith("MemoryError") or rc == -signal.SIGKILL:
        r.status, r.detail = "memory", f"memory limit {limits.memory_mb} MiB"
    elif last.startswith("BlockingIOError") or "Resource temporarily unavailable" in last:
        r.status, r.detail = "processes", f"process limit {limits.processes}"
    else:
        r.status, r.detail = "crash", last or f"exit code {rc}"
