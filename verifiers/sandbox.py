"""Run an untrusted Python program in a contained subprocess and say how it ended.

The process that runs the candidate never holds what decides the verdict: it gets the program
and the test *inputs* (stdin, or the expressions to evaluate) and gives back its stdout and the
plain-data values of those expressions (`reasonmill.verifiers.code_harness`). The expected
values stay in this (the trusted) process, which compares. Nothing the child prints, writes or
exits with can say "passed": there is no marker and no nonce.

Layers, each checked by the hostile-code tests (`tests/verifiers/test_sandbox.py`,
`tests/verifiers/test_hostile_code.py`):

| layer | what it enforces | where it works |
|---|---|---|
| rlimits | CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS), largest file (RLIMIT_FSIZE), open files, no core dumps | everywhere on Linux |
| parent | wall-clock limit, output caps (stdout+stderr `output_bytes`, results `result_bytes`: then kills), kills the process group and every process of the run's uid afterwards, removes its temporary directory | everywhere |
| own user id | when the parent is root: the child runs as a fresh, unused uid (1,000,000 + 256·pid + run), so RLIMIT_NPROC really caps its processes, it can write nothing of anyone else's, and its leftovers can be found and killed | root only |
| network namespace | `unshare(CLONE_NEWNET)`: only a downed loopback, no route anywhere | root, or unprivileged user namespaces |
| PID namespace | the program runs in its own PID namespace (under a reaper at pid 1): it sees and signals only its own processes, and all of them die with the run | with the file-system view |
| file-system view | a new mount namespace whose root is a fresh read-only tmpfs holding read-only binds of /usr, /bin, /lib, /lib64, /sbin (and the interpreter's prefix), /dev/null, /dev/zero, /dev/urandom, and one fresh, size-capped tmpfs `/sandbox` (also `/tmp`) for the run; `pivot_root` detaches the host tree; no /proc. Nothing the child writes survives it; no host file outside those system folders is visible | root, or unprivileged user namespaces (then the uid inside is not 0, so the child keeps no capability after `exec`) |
| no_new_privs | `PR_SET_NO_NEW_PRIVS`: set-uid binaries give nothing | everywhere on Linux |
| audit hook | a tripwire for Python code: `open`/`sqlite3.connect` outside its folder (reads only in the standard library), path objects whose `__fspath__` could differ between the check and the open (pathlib's is made stable), sockets, subprocesses, fork/exec, signals, ctypes, new audit hooks, and file-system changes outside its folder raise `PermissionError`. Frames and gc are not blocked: there is nothing in the child to reach | any CPython ≥ 3.8 |
| isolated interpreter | `python -I -S -B`: no site-packages, no user site, no environment variables honoured, scrubbed environment | everywhere |

The verdict does not depend on the audit hook (CPython documents that hooks can be bypassed): a
program that gets past it still holds no expected value, and the namespaces and uid contain it.
Without root and without user namespaces there is no file-system view: the child can then read
world-readable files at the OS level (only the hook stops Python code) — run untrusted code from
the open internet in a VM or gVisor as well, or send it to a sandbox service
(`reasonmill.verifiers.sandbox_service`).

Programs run on this interpreter when another uid may execute it, else on a system Python of the
same minor version (here the venv's Python lives under /root, which other uids cannot enter), with
the standard library only (`-S`: no site-packages).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import platform
import resource
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
from reasonmill.verifiers.code_harness import CHILD_SOURCE

_CLONE_NEWNS = 0x00020000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
BLOCK_MARK = "reasonmill-sandbox: blocked"
_UID_BASE = 1_000_000
_USERNS_INNER_UID = 1000
# System folders the child may read (read-only binds), plus the interpreter's own prefix.
_VIEW_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin")
_VIEW_FILES = ("/etc/ld.so.cache",)
_NETWORK_FILES = (
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/ssl/certs/ca-certificates.crt",
)
_VIEW_DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")

# The audit hook, installed by the child script before the candidate's code runs. A tripwire:
# paths are checked as plain strings only (a path object whose __fspath__ changes between calls
# is refused, not resolved twice), and only str methods are used on them.
HOOK_SOURCE = r"""
def _rm_install_hook(root, network, allow_read):
    import os, sys
    getcwd = os.getcwd
    W = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    fsdecode = os.fsdecode
    # Frames and gc are not blocked: the child's memory holds no expected value to reach.
    BLOCK = ("subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "os.system",
             "os.kill", "os.killpg", "os.symlink", "pty.", "ctypes.", "os.startfile", "winreg.",
             "sys.remote_exec", "sys.addaudithook", "os.chroot", "os.setuid", "os.setgid")
    PATHS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link",
             "shutil.rmtree", "shutil.copy", "shutil.move", "shutil.unpack_archive", "shutil.make_archive",
             "os.truncate", "os.utime", "os.chdir", "os.mkfifo", "os.mknod")
    LISTS = ("os.listdir", "os.scandir", "glob.glob", "os.walk", "os.fwalk")
    _str, _isinstance, _type = str, isinstance, type
    _mro, _tdict = type.__dict__["__mro__"].__get__, type.__dict__["__dict__"].__get__
    modules = sys.modules
    def blocked(what):
        raise PermissionError("reasonmill-sandbox: blocked " + what)
    last = [None, None]
    def rm_fspath(self):
        # pathlib's __fspath__, made to give the same string to the hook and to the open that follows
        if last[0] is self:
            return last[1]
        s = _str(self)
        s = s if _type(s) is _str else "".join((s,))
        last[0], last[1] = self, s
        return s
    def fspath_is_ours(t):
        for k in _mro(t):  # the lookup the C code does, not one a metaclass could answer
            d = _tdict(k)
            if "__fspath__" in d:
                return d["__fspath__"] is rm_fspath
        return False
    def plain(p):
        t = _type(p)
        if t is _str:
            return p
        if t is bytes:
            return fsdecode(p)
        if _isinstance(p, _str):
            return "".join((p,))  # an exact copy of a str subclass's characters
        if _isinstance(p, bytes):
            return fsdecode(b"".join((p,)))
        if not fspath_is_ours(t):
            pl = modules.get("pathlib")
            pure = getattr(pl, "PurePath", None)
            if _type(pure) is type and _isinstance(p, pure):
                pure.__fspath__ = rm_fspath
        if fspath_is_ours(t):
            return rm_fspath(p)  # the string the C code got (or will get) for this object
        return None  # any other path object could name another file at each use
    def norm(p):
        if not p.startswith("/"):
            p = getcwd() + "/" + p
        parts = []
        for seg in p.split("/"):
            if seg == "" or seg == ".":
                continue
            if seg == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(seg)
        return "/" + "/".join(parts)
    def inside(p):
        return p == root or p.startswith(root + "/")
    def readable(p):
        return inside(p) or any(p == a or p.startswith(a + "/") for a in allow_read)
    def path_of(p, event):
        q = plain(p)
        if q is None:
            blocked(event + " with a path of type " + type(p).__name__ + " (pass a str)")
        if "\x00" in q:
            blocked(event + " with a NUL byte in its path")
        return norm(q)
    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if path is None or type(path) is int:
                return
            p = path_of(path, "open")
            writing = bool(flags & W) if type(flags) is int else False
            writing = writing or (type(mode) is str and any(c in mode for c in "wax+"))
            if inside(p) or (not writing and readable(p)):
                return
            blocked("open " + repr(p))
        if event == "sqlite3.connect":
            db = args[0] if args else None
            q = plain(db)
            if q in ("", ":memory:"):
                return
            if q is None or not inside(norm(q)):
                blocked("sqlite3.connect " + repr(q if q is not None else type(db).__name__))
            return
        if event.startswith("socket.") and not network:
            blocked(event)
        if event.startswith(BLOCK):
            blocked(event)
        if event == "import" and args[0] in ("ctypes", "_ctypes", "_posixsubprocess", "_xxsubinterpreters"):
            blocked("import " + args[0])
        if event in LISTS and args:
            if type(args[0]) is int:
                return
            p = path_of(args[0], event)
            if not readable(p):
                blocked(event + " " + repr(p))
            return
        if event.startswith(PATHS):
            for a in args[:2]:
                if a is None or type(a) is int or type(a) is bool:
                    continue
                if not inside(path_of(a, event)):
                    blocked(event + " " + repr(a))
    sys.addaudithook(hook)
"""

# The child script for a local run: read the job from the job pipe, then run it (the job and
# results protocol live in code_harness). argv: job fd, results fd.
LOCAL_SCRIPT = (
    HOOK_SOURCE
    + CHILD_SOURCE
    + r"""
def _rm_local():
    import os, sys
    fin, fout = int(sys.argv[1]), int(sys.argv[2])
    chunks = []
    while True:
        b = os.read(fin, 1 << 16)
        if not b:
            break
        chunks.append(b)
    os.close(fin)
    def emit(data):
        view = memoryview(data)
        while view:
            n = os.write(fout, view)
            view = view[n:]
    _rm_child(b"".join(chunks), emit, _rm_install_hook)
_rm_local()
"""
)


@dataclass(slots=True)
class RunResult:
    """How one sandboxed run ended.

    status: "ok" (exit 0), "crash" (non-zero exit / uncaught exception), "blocked" (the audit hook
    stopped it), "timeout" (wall clock), "cpu_limit", "memory", "output_limit", "file_size",
    "processes", "sandbox_error" (could not start). `layers` names the layers that were active.
    `results` is what the child wrote on its results channel (bytes, at most `result_bytes`);
    only the parent's comparison gives it meaning.
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    wall_s: float
    layers: tuple[str, ...] = ()
    detail: str = ""
    results: bytes = b""
    extra: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return libc


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


@lru_cache(maxsize=4)
def _interpreter_prefixes(python: str) -> tuple[str, ...]:
    """The folders the interpreter needs besides the system ones (its prefix, when elsewhere)."""
    try:
        r = subprocess.run(
            [python, "-I", "-S", "-c", "import sys;print(sys.base_prefix);print(sys.base_exec_prefix)"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        found = [os.path.realpath(p) for p in r.stdout.split()]
    except (OSError, subprocess.TimeoutExpired):
        found = []
    found.append(os.path.dirname(os.path.dirname(os.path.realpath(python))))
    out: list[str] = []
    for p in found:
        if p and p != "/" and not any(p == d or p.startswith(d + "/") for d in _VIEW_DIRS + tuple(out)):
            out.append(p)
    return tuple(out)


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


@dataclass(frozen=True, slots=True)
class _ChildPlan:
    """What the child does between fork and exec (all decided in the parent)."""

    unshare: int
    userns: bool
    view_base: str | None
    view_dirs: tuple[str, ...]
    view_files: tuple[str, ...]
    disk_mb: int
    uid: int | None
    outer_uid: int
    outer_gid: int
    limits: SandboxLimits
    nproc: int


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enc(s: str | None) -> bytes | None:
    return s.encode() if s is not None else None


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc().mount(_enc(src), _enc(target), _enc(fstype), flags, _enc(data)), f"mount {target}")


def _locked_flags(path: str) -> int:
    """Mount flags of `path` a user namespace may not clear on a bind of it (kept on remount)."""
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in ((os.ST_NOSUID, _MS_NOSUID), (os.ST_NODEV, _MS_NODEV), (os.ST_NOEXEC, _MS_NOEXEC)):
        if f & st:
            out |= ms
    for st, ms in ((1024, 1024), (2048, 2048), (4096, 1 << 21)):  # noatime, nodiratime, relatime
        if f & st:
            out |= ms
    return out


def _bind_ro(src: str, target: str) -> None:
    _mount(src, target, None, _MS_BIND)
    flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _locked_flags(src)
    _mount(None, target, None, flags)


def _enter_view(plan: _ChildPlan) -> None:
    """In the child, inside its new mount namespace: build the read-only view and pivot into it."""
    base = plan.view_base
    assert base is not None
    owner = plan.uid if plan.uid is not None else (_USERNS_INNER_UID if plan.userns else 0)
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    _mount("tmpfs", base, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,nr_inodes=256,mode=755")
    for d in plan.view_dirs:
        if not os.path.lexists(d):
            continue
        target = base + d
        if os.path.islink(d):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(os.readlink(d), target)
            continue
        os.makedirs(target, exist_ok=True)
        _bind_ro(d, target)
    for f in plan.view_files + _VIEW_DEVICES:
        if not os.path.exists(f):
            continue
        target = base + f
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w"):
            pass
        if f in _VIEW_DEVICES:
            _mount(f, target, None, _MS_BIND)
        else:
            _bind_ro(f, target)
    os.mkdir(base + "/sandbox")
    _mount(
        "tmpfs",
        base + "/sandbox",
        "tmpfs",
        _MS_NOSUID | _MS_NODEV,
        f"size={plan.disk_mb}m,nr_inodes=16384,mode=700,uid={owner},gid={owner}",
    )
    os.symlink("sandbox", base + "/tmp")
    _mount(None, base, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.chdir(base)
    if _SYS_PIVOT_ROOT is not None and _libc().syscall(_SYS_PIVOT_ROOT, b".", b".") == 0:
        _check(_libc().umount2(b".", _MNT_DETACH), "umount old root")
    else:  # no pivot_root here: chroot (the child keeps no capability, so it cannot climb out)
        os.chroot(".")
    os.chdir("/sandbox")


def _keep_only(fd: int) -> None:
    """Close every descriptor but `fd` (above all Popen's error pipe, which must close at exec)."""
    os.closerange(0, fd)
    os.closerange(fd + 1, 1 << 16)


def _enter_pid_namespace() -> None:
    """Put the program in the new PID namespace as pid 2, under a reaper that is pid 1.

    unshare(CLONE_NEWPID) moves only the caller's children, so this forks twice: pid 1 (inside)
    waits for the program and sends its raw wait status to this process (outside) over a pipe the
    program does not hold; this process exits the same way (re-raising a signal), so the parent
    sees the program's own end. The program returns from here and execs. A namespace's init
    ignores default-action signals (it would not die of RLIMIT_CPU's SIGXCPU), hence pid 2. When
    pid 1 exits, the kernel kills everything left in the namespace.
    """
    r, w = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(r)
        child = os.fork()
        if child == 0:
            os.close(w)
            _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            return  # the program
        try:
            _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            _keep_only(w)
            status = _wait(child)
            os.write(w, status.to_bytes(4, "little"))
        finally:
            os._exit(0)
    try:
        os.close(w)
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        _keep_only(r)
        init_status = _wait(init)
        got = os.read(r, 4)
        status = int.from_bytes(got, "little") if len(got) == 4 else init_status
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)
    finally:
        os._exit(1)


def _wait(pid: int) -> int:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


def _preexec(plan: _ChildPlan):
    def run() -> None:  # runs in the child between fork and exec
        libc = _libc()
        if plan.unshare:
            ok = libc.unshare(plan.unshare) == 0
            if not ok and plan.view_base is not None:
                _check(-1, "unshare")  # the view was promised: fail the run rather than run without it
        if plan.userns:
            inner = _USERNS_INNER_UID
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{inner} {plan.outer_uid} 1")
            Path("/proc/self/gid_map").write_text(f"{inner} {plan.outer_gid} 1")
        if plan.view_base is not None:
            _enter_view(plan)
        lim = plan.limits
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if plan.unshare & _CLONE_NEWPID:
            _enter_pid_namespace()
        mem = lim.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_s, lim.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim.file_size_mb * 1024 * 1024,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_NPROC, (plan.nproc, plan.nproc))
        if plan.uid is not None:
            os.setgroups([])
            os.setgid(plan.uid)
            os.setuid(plan.uid)
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it

    return run


_FS_PROBE_OK = "rm-fs-view-ok"


@lru_cache(maxsize=4)
def fs_view(as_root: bool = True) -> str:
    """The file-system view this machine gives a child: "root" (mount namespace, own uid),
    "userns" (mount namespace inside an unprivileged user namespace) or "" (none).

    Probed once per process by starting a child through the real code path.
    """
    python, others = interpreter()
    modes = (["root"] if (os.geteuid() == 0 and others and as_root) else []) + ["userns"]
    for mode in modes:
        base = tempfile.mkdtemp(prefix="rm-sandbox-probe-")
        try:
            plan = _plan(mode, base, SandboxLimits(), _UID_BASE + 255 if mode == "root" else None, python)
            r = subprocess.run(
                [python, "-I", "-S", "-B", "-c", f"import os;print({_FS_PROBE_OK!r}, os.getcwd())"],
                capture_output=True,
                text=True,
                timeout=20,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                preexec_fn=_preexec(plan),
                close_fds=True,
            )
            if r.returncode == 0 and r.stdout.split() == [_FS_PROBE_OK, "/sandbox"]:
                return mode
        except (OSError, subprocess.SubprocessError):
            pass
        finally:
            if mode == "root":
                _kill_uid(_UID_BASE + 255)
            shutil.rmtree(base, ignore_errors=True)
    return ""


def _plan(mode: str, base: str, limits: SandboxLimits, uid: int | None, python: str) -> _ChildPlan:
    net = 0 if limits.network else _CLONE_NEWNET
    if mode == "root":
        flags, userns = _CLONE_NEWNS | _CLONE_NEWPID | net, False
    elif mode == "userns":
        flags, userns = _CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWPID | net, True
    else:  # no file-system view: at most the network namespace, as before
        flags, userns = (0 if limits.network else netns_flags()), False
    nproc = limits.processes if uid is not None else _user_process_count(os.getuid()) + limits.processes
    return _ChildPlan(
        unshare=flags,
        userns=userns,
        view_base=base if mode in ("root", "userns") else None,
        view_dirs=_VIEW_DIRS + _interpreter_prefixes(python),
        view_files=_VIEW_FILES + (_NETWORK_FILES if limits.network else ()),
        disk_mb=limits.disk_mb,
        uid=uid if mode != "userns" else None,
        outer_uid=os.getuid(),
        outer_gid=os.getgid(),
        limits=limits,
        nproc=nproc,
    )


_runs = 0


def _next_uid() -> int:
    """A uid no other run uses: unique per (process, run), so leftovers of one run (zombies
    waiting for init) never count against the next run's RLIMIT_NPROC."""
    global _runs
    _runs += 1
    return _UID_BASE + os.getpid() * 256 + _runs % 255


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
    calls: list[str] | None = None,
    setup: list[str] | None = None,
    audit_hook: bool = True,
    drop_uid: bool = True,
    isolate_fs: bool = True,
) -> RunResult:
    """Run `code` (Python source) with `stdin` under `limits`. Never raises for anything the
    program does.

    With `calls` (Python expressions: the test inputs), the program runs as a module, the `setup`
    statements (imports) run after it, then each call is evaluated in its namespace and its value
    written, as plain data, on the results channel (`RunResult.results`; read it with
    `code_harness.read_results`). Without, the program is a script whose stdout is its answer.

    `audit_hook`, `drop_uid` and `isolate_fs` exist so tests can check each layer alone; keep them on.
    """
    limits = limits or SandboxLimits()
    python, others_can_run = interpreter()
    is_root = os.geteuid() == 0
    uid = _next_uid() if (is_root and drop_uid and others_can_run) else None
    mode = fs_view() if isolate_fs else ""
    if mode == "root" and uid is None:
        mode = fs_view(as_root=False)  # never real root inside the view
    root = os.path.realpath(tempfile.mkdtemp(prefix="rm-sandbox-"))
    base = None
    if mode:
        base, root = root, "/sandbox"
    plan = _plan(mode, base or root, limits, uid, python)
    layers = ["rlimits", "parent", "isolated_interpreter", "no_new_privs"]
    layers += ["own_uid"] if plan.uid is not None else []
    layers += ["netns"] if plan.unshare & _CLONE_NEWNET else []
    layers += ["pidns"] if plan.unshare & _CLONE_NEWPID else []
    layers += ["fs_view"] if mode else []
    layers += ["audit_hook"] if audit_hook else []
    try:
        if not mode and uid is not None:
            os.chown(root, uid, uid)
        job = {
            "mode": "calls" if calls is not None else "stdio",
            "program": code,
            "calls": list(calls or []),
            "setup": list(setup or []),
            "root": root,
            "hook": audit_hook,
            "network": limits.network,
            "allow_read": [],  # the child adds its standard library folders
        }
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "HOME": root,
            "TMPDIR": root,
        }
        _libc()  # load before fork; preexec only calls it
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        cmd = [python, "-I", "-S", "-B", "-c", LOCAL_SCRIPT, str(job_r), str(res_w)]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=base or root,
                env=env,
                preexec_fn=_preexec(plan),
                start_new_session=True,
                close_fds=True,
                pass_fds=(job_r, res_w),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            for fd in (job_r, job_w, res_r, res_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            return RunResult("sandbox_error", None, "", "", 0.0, tuple(layers), f"could not start: {exc}")
        os.close(job_r)
        os.close(res_w)
        try:
            out, err, results, why = _communicate(
                proc, stdin.encode(), job_w, json.dumps(job).encode(), res_r, limits, start
            )
        finally:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if plan.uid is not None:
                _kill_uid(plan.uid)
        wall = time.monotonic() - start
        result = RunResult("ok", proc.returncode, out, err, wall, tuple(layers), results=results)
        result.extra["uid"] = plan.uid
        result.extra["folder"] = base or root
        _classify(result, why, limits)
        return result
    finally:
        shutil.rmtree(base or root, ignore_errors=True)


def _communicate(
    proc: subprocess.Popen,
    stdin: bytes,
    job_fd: int,
    job: bytes,
    results_fd: int,
    limits: SandboxLimits,
    start: float,
) -> tuple[str, str, bytes, str]:
    """Feed stdin and the job, read stdout/stderr and the results channel up to their caps and the
    wall deadline.

    Returns (stdout, stderr, results, why) where why is "", "timeout", "output_limit" or
    "result_limit".
    """
    assert proc.stdin and proc.stdout and proc.stderr
    sel = selectors.DefaultSelector()
    readers = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray(), results_fd: bytearray()}
    writers = {job_fd: memoryview(job)}
    stdin_fd = proc.stdin.fileno()
    if stdin:
        writers[stdin_fd] = memoryview(stdin)
    else:
        proc.stdin.close()
    for fd in readers:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    for fd in writers:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_WRITE)
    out_total, why = 0, ""
    deadline = start + limits.wall_s

    def close_writer(fd: int) -> None:
        sel.unregister(fd)
        del writers[fd]
        if fd == stdin_fd:
            proc.stdin.close()
        else:
            os.close(fd)

    while sel.get_map():
        left = deadline - time.monotonic()
        if left <= 0:
            why = "timeout"
            break
        for key, _ in sel.select(timeout=min(left, 0.5)):
            fd = key.fd
            if fd in writers:
                view = writers[fd]
                try:
                    n = os.write(fd, view[:65536])
                except BlockingIOError:
                    continue
                except OSError:
                    close_writer(fd)
                    continue
                writers[fd] = view[n:]
                if not writers[fd]:
                    close_writer(fd)
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                sel.unregister(fd)
                continue
            readers[fd] += chunk
            if fd == results_fd:
                if len(readers[fd]) > limits.result_bytes:
                    why = "result_limit"
                    break
            else:
                out_total += len(chunk)
                if out_total > limits.output_bytes:
                    why = "output_limit"
                    break
        if why:
            break
    sel.close()
    for fd in list(writers):
        if fd == stdin_fd:
            proc.stdin.close()
        else:
            with contextlib.suppress(OSError):
                os.close(fd)
    with contextlib.suppress(OSError):
        os.close(results_fd)
    if why == "" and proc.poll() is None:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            why = "timeout"
    cap = limits.output_bytes
    out = bytes(readers[proc.stdout.fileno()][:cap]).decode("utf-8", "replace")
    err = bytes(readers[proc.stderr.fileno()][:cap]).decode("utf-8", "replace")
    return out, err, bytes(readers[results_fd][: limits.result_bytes]), why


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def _classify(r: RunResult, why: str, limits: SandboxLimits) -> None:
    """Set `r.status`/`r.detail` from how the run ended. Only the exit status, signals and the last
    line of stderr (the uncaught exception) are read. Whatever the child prints can at most turn
    one failure into another: no status here means "passed" (that is the parent's comparison)."""
    rc = r.returncode
    last = _last_line(r.stderr)
    if why == "output_limit":
        r.status, r.detail = "output_limit", f"output exceeded {limits.output_bytes} bytes"
    elif why == "result_limit":
        r.status, r.detail = "output_limit", f"results exceeded {limits.result_bytes} bytes"
    elif why == "timeout":
        r.status, r.detail = "timeout", f"wall time exceeded {limits.wall_s:g}s"
    elif rc == 0:
        r.status = "ok"
    elif rc == -signal.SIGXCPU:
        r.status, r.detail = "cpu_limit", f"CPU time exceeded {limits.cpu_s}s"
    elif rc == -signal.SIGXFSZ or "File too large" in last or "No space left on device" in last:
        r.status, r.detail = (
            "file_size",
            f"wrote over {limits.file_size_mb} MiB to a file or {limits.disk_mb} MiB in all",
        )
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
