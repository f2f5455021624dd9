"""Hostile candidates: every wrong program is graded failed, and the host is unharmed.

Most attacks run twice: through the verifier as a build runs it (audit hook on), and with the
hook off, to show the verdict rests on the structure — the candidate process never holds an
expected value and the parent compares plain data — not on the tripwire.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reasonmill.records import Reason
from reasonmill.verifiers import CheckItem, SandboxLimits, VerifyPolicy, check_inline
from reasonmill.verifiers.code import grade_program, parse_spec, validate_spec
from reasonmill.verifiers.code_harness import (
    Unconvertible,
    Unreadable,
    canonical,
    plan_asserts,
    read_results,
    strict_equal,
)
from reasonmill.verifiers.sandbox import fs_view, run_python

FAST = SandboxLimits(
    cpu_s=2, wall_s=4.0, memory_mb=256, output_bytes=8192, file_size_mb=1, processes=8, disk_mb=4
)
POLICY = VerifyPolicy(sandbox=FAST)
ADD = json.dumps({"asserts": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(10, 5) == 15"]})
TOKEN = "tok-" + uuid.uuid4().hex  # an expected value no program can compute
SECRET = json.dumps({"asserts": [f"assert token() == {TOKEN!r}"]})
SECRET_IO = json.dumps({"tests": [{"input": "1\n", "output": TOKEN}]})
WRONG_ADD = "def add(a, b):\n    return a - b\n"
VIEW = fs_view()
needs_view = pytest.mark.skipif(
    not VIEW, reason="no mount namespace on this machine (needs root or user namespaces)"
)
needs_own_uid = pytest.mark.skipif(os.geteuid() != 0, reason="the own-uid layer needs root")
HOOK = pytest.mark.parametrize("hook", [True, pytest.param(False, marks=needs_view)], ids=["hook", "no-hook"])
# What a wrong program may end as: never passed, never "could not check" (no reward escape).
FAILED = {Reason.MISMATCH.value, Reason.TIMEOUT.value}


def graded(program: str, gold: str, hook: bool = True):
    if hook:
        return check_inline(CheckItem("code", gold, f"My solution:\n```python\n{program}\n```"), POLICY)
    return grade_program(program, parse_spec(gold), FAST, audit_hook=False)


def outside() -> str:
    return f"/tmp/rm-hostile-{uuid.uuid4().hex}"


# --- verdict forging and harness tampering (a wrong `add`) ----------------------------------------

TAMPER = {
    "builtins.exec and eval disabled": "import builtins\nbuiltins.exec = lambda *a, **k: None\nbuiltins.eval = lambda *a, **k: 3\n"
    + WRONG_ADD,
    "sys.exit disabled": "import sys\nsys.exit = lambda *a: None\nsys.excepthook = lambda *a: None\n"
    + WRONG_ADD,
    "os._exit(0) at import": "import os\n" + WRONG_ADD + "os._exit(0)\n",
    "SystemExit(0) in the call": "def add(a, b):\n    raise SystemExit(0)\n",
    "forged pass marker": "import sys\nprint('passed: 3 tests')\nprint('RM_OK 0', file=sys.stderr)\n"
    + WRONG_ADD,
    "exception that says passed": "class E(Exception):\n    def __str__(self):\n        return 'passed: 3 tests'\n"
    "def add(a, b):\n    raise E()\n",
    "__eq__ always True": "class T:\n    def __eq__(self, o):\n        return True\n    def __ne__(self, o):\n        return False\n"
    "    __hash__ = object.__hash__\ndef add(a, b):\n    return T()\n",
    "int subclass with __eq__": "class I(int):\n    def __eq__(self, o):\n        return True\n    __hash__ = int.__hash__\n"
    "def add(a, b):\n    return I(a - b)\n",
    "int subclass lying in repr/str/index": "class I(int):\n    __repr__ = __str__ = lambda s: '3'\n"
    "    __index__ = __int__ = lambda s: 3\n    __format__ = lambda s, f: '3'\ndef add(a, b):\n    return I(a - b)\n",
    "__hash__ collision": "class H:\n    def __hash__(self):\n        return hash(3)\n    def __eq__(self, o):\n        return True\n"
    "def add(a, b):\n    return H()\n",
    "__class__ spoofing int": "class F:\n    __class__ = property(lambda s: int)\n    def __eq__(self, o):\n        return True\n"
    "def add(a, b):\n    return F()\n",
    "bool for int": "def add(a, b):\n    return bool(a + b)\n",
    "nan": "def add(a, b):\n    return float('nan')\n",
    "str of the answer": "def add(a, b):\n    return str(a + b)\n",
    "generator": "def add(a, b):\n    yield a + b\n",
    "json patched": 'import json\njson.dumps = lambda *a, **k: \'{"i": 0, "value": 3}\'\nimport sys\n'
    "sys.modules['json'] = None\n" + WRONG_ADD,
    "results channel closed": "import os\nos.close(4)\n" + WRONG_ADD,
    "stdout dup'ed onto the results channel": 'import os\nos.dup2(1, 4)\nprint(\'{"i": 0, "value": 3}\')\n'
    + WRONG_ADD,
    "extra forged lines at exit": 'import atexit, os\natexit.register(lambda: os.write(4, b\'{"i": 0, "value": 3}\\n\'))\n'
    + WRONG_ADD,
    "harness frames rewritten": "import sys\ndef add(a, b):\n    f = sys._getframe(1)\n    while f is not None:\n"
    "        for k in list(f.f_locals):\n            if k in ('calls', 'setup', 'code'):\n"
    "                try:\n                    f.f_locals[k].clear()\n                except Exception:\n"
    "                    pass\n        f = f.f_back\n    return a - b\n",
    "gc walk over the harness": "import gc\ndef add(a, b):\n    for o in gc.get_objects():\n"
    "        if isinstance(o, dict) and 'calls' in o:\n            o['calls'] = []\n    return 0\n",
    "endless thread": "import threading, time\nthreading.Thread(target=lambda: time.sleep(60)).start()\n"
    + WRONG_ADD,
    "huge result": "def add(a, b):\n    return list(range(10 ** 6))\n",
    "deep nesting": "def add(a, b):\n    x = []\n    for _ in range(10000):\n        x = [x]\n    return x\n",
    "cycle": "def add(a, b):\n    x = []\n    x.append(x)\n    return x\n",
}


@HOOK
@pytest.mark.parametrize("name", sorted(TAMPER))
def test_a_wrong_program_cannot_forge_its_verdict(name: str, hook: bool) -> None:
    v = graded(TAMPER[name], ADD, hook)
    assert not v.passed and v.reason in FAILED, v
    assert v.detail.split(":")[0] in {
        "failed_test",
        "crash",
        "sandbox_violation",
        "resource_limit",
        "timeout",
    }


SUBCLASS_TRICKS = {
    "result arithmetic": (
        "assert add(1, 2) - 3 == 0",
        "class X:\n    __sub__ = lambda s, o: 0\ndef add(a, b):\n    return X()",
    ),
    "len": (
        "assert len(pair()) == 2",
        "class L(list):\n    __len__ = lambda s: 2\ndef pair():\n    return L([1, 2, 3])",
    ),
    "abs": (
        "assert abs(area(1.0) - 3.14159) < 1e-3",
        "class A(float):\n    __sub__ = lambda s, o: 0.0\ndef area(r):\n    return A(1.0)",
    ),
    "list subclass __eq__": (
        "assert pair() == [1, 2]",
        "class L(list):\n    __eq__ = lambda s, o: True\ndef pair():\n    return L([2, 1])",
    ),
    "dict subclass __eq__": (
        "assert table() == {'a': 1}",
        "class D(dict):\n    __eq__ = lambda s, o: True\ndef table():\n    return D(b=2)",
    ),
    "str subclass __eq__": (
        "assert name() == 'ada'",
        "class S(str):\n    __eq__ = lambda s, o: True\n    __hash__ = str.__hash__\ndef name():\n    return S('bob')",
    ),
    "membership": (
        "assert pick() in [4, 5]",
        "class M:\n    __eq__ = lambda s, o: True\ndef pick():\n    return M()",
    ),
    "sorted": (
        "assert sorted(items()) == [1, 2, 3]",
        "class O(int):\n    __lt__ = lambda s, o: False\ndef items():\n    return [O(3), O(9), O(1)]",
    ),
    "truthiness": (
        "assert is_prime(9)",
        "class B:\n    __bool__ = lambda s: True\ndef is_prime(n):\n    return B()",
    ),
    "isclose": (
        "import math\nassert math.isclose(area(2.0), 12.566, rel_tol=1e-3)",
        "class F(float):\n    __float__ = lambda s: 12.566\ndef area(r):\n    return F(1.0)",
    ),
    "tuple for list": ("assert pair() == [1, 2]", "def pair():\n    return (1, 2)"),
    "int for bool": ("assert is_even(4) == True", "def is_even(n):\n    return 1"),
}


@HOOK
@pytest.mark.parametrize("name", sorted(SUBCLASS_TRICKS))
def test_objects_that_lie_about_themselves_fail(name: str, hook: bool) -> None:
    spec, program = SUBCLASS_TRICKS[name]
    v = graded(program, json.dumps({"asserts": [spec]}), hook)
    assert not v.passed and v.reason in FAILED, v


def test_forging_the_results_channel_needs_the_expected_value() -> None:
    # The channel is the candidate's own output: forging it is "answering", and the answer is secret.
    forge = (
        'import os\nreal = os.write\nos.write = lambda fd, b: real(fd, b\'{"i": 0, "value": "tok-guess"}\\n\')\n'
        "def token():\n    return 'x'\n"
    )
    for program in (forge, 'import os\nos.write(4, b\'{"i": 0, "value": "tok-0"}\\n\')\nos._exit(0)'):
        for hook in (True, False) if VIEW else (True,):
            v = graded(program, SECRET, hook)
            assert not v.passed and v.reason in FAILED, v


# --- reading the expected values from anywhere -----------------------------------------------------

SEARCH = r"""
import os, sys, gc, re
found = []
shape = re.compile('tok-[0-9a-f]{32}')  # the token's shape (this pattern does not match itself)
def look(text):
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    if isinstance(text, str) and not found:
        m = shape.search(text)
        if m:
            found.append(m.group(0))
def attempt(f):
    try:
        f()
    except BaseException:
        pass
attempt(lambda: [look(k + '=' + v) for k, v in os.environ.items()])
for p in ('/proc/self/environ', '/proc/self/cmdline', '/proc/%d/environ' % os.getppid(),
          '/proc/%d/cmdline' % os.getppid(), '/proc/1/environ'):
    attempt(lambda p=p: look(open(p, 'rb').read()))
def fileio_trick():
    import _io
    class P:
        n = 0
        def __fspath__(self):
            P.n += 1
            return 'x' if P.n % 2 else '/proc/self/environ'
    look(_io.FileIO(P(), 'r').read())
attempt(fileio_trick)
attempt(lambda: look(sys.stdin.read()))
for fd in range(3, 64):
    attempt(lambda fd=fd: look(os.read(fd, 1 << 20)))
def golds():
    for n in os.listdir('/tmp'):  # where a careless build would leave its golds
        if 'gold' in n or n.endswith(('.json', '.jsonl', '.parquet')):
            attempt(lambda n=n: look(open('/tmp/' + n, 'rb').read()))
attempt(golds)
import time
SKIP = ('/usr', '/lib', '/lib64', '/lib32', '/bin', '/sbin', '/sys', '/dev', '/proc', '/snap', '/var/lib')
stop = time.monotonic() + 1.0  # a bounded look around: the verdict must not come from a timeout
def walk(d, depth):
    if depth > 4 or d.startswith(SKIP) or time.monotonic() > stop or found:
        return
    try:
        names = os.listdir(d)
    except BaseException:
        return
    for n in names[:300]:
        if time.monotonic() > stop or found:
            return
        p = d.rstrip('/') + '/' + n
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                walk(p, depth + 1)
            elif os.path.getsize(p) < (1 << 20):
                look(open(p, 'rb').read())
        except BaseException:
            pass
attempt(lambda: walk('/', 0))
def memory():
    for o in gc.get_objects():
        if isinstance(o, dict):
            for k, v in list(o.items()):
                look(k)
                look(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                look(v)
    f = sys._getframe()
    while f is not None:
        for v in list(f.f_locals.values()) + list(f.f_globals.values()):
            look(v)
        f = f.f_back
    for m in list(sys.modules.values()):
        for v in list(vars(m).values()):
            look(v)
attempt(memory)
def token():
    memory()
    return found[0] if found else 'nothing found'
print(found[:1] or 'nothing found')
"""


@pytest.fixture
def secrets_on_the_host(tmp_path: Path):
    """The expected value where a careless grader would leave it: the parent's environment, a
    world-readable file of golds on disk, and a spec file in /tmp."""
    shard = Path(tempfile.gettempdir()) / f"rm-hostile-golds-{uuid.uuid4().hex}.json"
    shard.write_text(json.dumps([SECRET, SECRET_IO]))
    shard.chmod(0o644)
    os.environ["RM_HOSTILE_SECRET"] = TOKEN
    yield shard
    del os.environ["RM_HOSTILE_SECRET"]
    shard.unlink()


@HOOK
def test_the_expected_value_is_nowhere_the_candidate_can_look(secrets_on_the_host: Path, hook: bool) -> None:
    v = graded(SEARCH, SECRET, hook)
    assert (v.passed, v.reason) == (False, Reason.MISMATCH), v  # it answered, and the answer is wrong
    # the stdin/stdout form: the program prints what it found, the parent compares
    io_program = SEARCH.replace("def token():", "def _token():") + "\nprint(found[0] if found else 'nothing')"
    v = graded(io_program, SECRET_IO, hook)
    assert (v.passed, v.reason) == (False, Reason.MISMATCH), v
    r = run_python(SEARCH, stdin="1\n", limits=FAST, audit_hook=hook)  # what the candidate itself saw
    assert r.status == "ok" and "nothing found" in r.stdout and TOKEN not in r.stdout + r.stderr, r


def test_the_fspath_trick_is_refused_by_the_hook() -> None:
    program = SEARCH.replace("attempt(fileio_trick)", "fileio_trick()")  # uncaught: the hook's verdict
    v = graded(program, SECRET)
    assert (v.passed, v.reason) == (False, Reason.MISMATCH) and v.detail.startswith("sandbox_violation:"), v
    assert "path of type P" in v.detail


# --- the host is unharmed ----------------------------------------------------------------------------

WRITES = {
    "open": "open({p!r}, 'w').write('pwned')",
    "os.open": "import os\nos.close(os.open({p!r}, os.O_CREAT | os.O_WRONLY))",
    "pathlib": "from pathlib import Path\nPath({p!r}).write_text('pwned')",
    "fspath trick": "import _io\nclass P:\n    n = 0\n    def __fspath__(self):\n        P.n += 1\n"
    "        return 'inside.txt' if P.n % 2 else {p!r}\n_io.FileIO(P(), 'w').write(b'pwned')",
    "sqlite3": "import sqlite3\nc = sqlite3.connect({p!r})\nc.execute('create table t(x)')\nc.commit()",
    "mkdir": "import os\nos.mkdir({p!r})",
    "rename own file": "import os\nopen('mine', 'w').write('x')\nos.rename('mine', {p!r})",
    "symlink": "import os\nos.symlink('/etc/passwd', {p!r})",
    "shutil.copy": "import shutil\nopen('mine', 'w').write('x')\nshutil.copy('mine', {p!r})",
}


@HOOK
@pytest.mark.parametrize("how", sorted(WRITES))
def test_writing_outside_leaves_nothing_on_the_host(how: str, hook: bool) -> None:
    target = outside()
    program = WRITES[how].format(p=target) + "\n" + WRONG_ADD
    v = graded(program, ADD, hook)
    assert not v.passed and v.reason in FAILED, v
    assert not os.path.lexists(target)
    if hook:
        assert v.detail.startswith("sandbox_violation:"), v


@needs_view
def test_nothing_persists_between_runs() -> None:
    target = outside()
    write = (
        f"import sqlite3\nopen({target!r}, 'w').write('1')\nopen('/sandbox/left', 'w').write('1')\n"
        f"c = sqlite3.connect({target + '.db'!r})\nc.execute('create table t(x)')\nc.commit()\nprint('wrote')"
    )
    first = run_python(write, limits=FAST, audit_hook=False)
    assert first.status == "ok" and first.stdout.strip() == "wrote", first
    read = (
        f"import os, sqlite3\nprint(os.path.exists({target!r}), os.path.exists('/sandbox/left'), "
        f'sqlite3.connect({target + ".db"!r}).execute("select count(*) from sqlite_master").fetchone()[0])'
    )
    second = run_python(read, limits=FAST, audit_hook=False)
    assert second.stdout.split() == ["False", "False", "0"], second
    assert not os.path.lexists(target) and not os.path.lexists(target + ".db")
    assert not os.path.exists(first.extra["folder"]) and not os.path.exists(second.extra["folder"])


@needs_view
def test_a_full_folder_is_a_resource_limit_and_the_disk_is_untouched() -> None:
    program = "i = 0\nwhile True:\n    open('f%d' % i, 'wb').write(b'x' * 500000)\n    i += 1\n" + WRONG_ADD
    v = graded(program, ADD, hook=False)
    assert (v.passed, v.reason) == (False, Reason.MISMATCH) and v.detail.startswith("resource_limit:"), v


@needs_own_uid
@needs_view
def test_no_process_is_left_and_the_host_survives_kill_attempts() -> None:
    sentinel = subprocess.Popen(["sleep", "60"])  # a host process the candidate would like to kill
    try:
        daemon = (
            "import os, signal, time\n"
            "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n    os._exit(0)\n"
            f"for target in (-1, os.getppid(), {sentinel.pid}, 1):\n"
            "    try:\n        os.kill(target, signal.SIGKILL)\n    except OSError:\n        pass\n"
            "print('still here')\n"
        )
        r = run_python(daemon, limits=FAST, audit_hook=False)
        assert r.status in ("ok", "crash"), r
        uid = r.extra["uid"]
        time.sleep(0.2)
        left = [d for d in os.listdir("/proc") if d.isdigit() and _owner(d) == uid]
        assert left == []
        assert sentinel.poll() is None  # the host process is alive
    finally:
        sentinel.kill()
        sentinel.wait()


def _owner(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


@needs_view
def test_the_view_holds_no_host_folder() -> None:
    r = run_python(
        "import os\nprint(sorted(os.listdir('/')))\nprint(os.path.exists('/proc/self'), os.path.exists('/root'), "
        "os.path.exists('/work'), os.path.exists('/home'), os.getcwd())",
        limits=FAST,
        audit_hook=False,
    )
    top, flags = r.stdout.splitlines()
    assert set(eval(top)) <= {
        "usr",
        "bin",
        "lib",
        "lib64",
        "lib32",
        "libx32",
        "sbin",
        "etc",
        "dev",
        "sandbox",
        "tmp",
    }
    assert flags.split() == ["False", "False", "False", "False", "/sandbox"]
    assert {"fs_view", "pidns", "no_new_privs"} <= set(r.layers)


# --- gold echoing and the gold probe -----------------------------------------------------------------


@pytest.mark.parametrize("gold", [ADD, SECRET_IO], ids=["asserts", "stdio"])
def test_an_echoed_gold_is_not_a_solution(gold: str) -> None:
    for prediction in (
        gold,
        f"The answer is \\boxed{{{gold}}}.",
        f"```python\n{gold}\n```",
        f"<answer>{gold}</answer>",
    ):
        v = check_inline(CheckItem("code", gold, prediction), POLICY)
        assert not v.passed and v.reason in FAILED | {Reason.NO_ANSWER.value}, (prediction, v)
    # the gold probe takes no prediction; any text sent there is refused, never graded
    for prediction in (gold, "", "```python\ndef add(a, b):\n    return a + b\n```"):
        v = check_inline(CheckItem("code_spec", gold, prediction), POLICY)
        assert (v.passed, v.reason) == (False, Reason.UNVERIFIABLE), v
    assert check_inline(CheckItem("code_spec", gold, None), POLICY).passed


def test_validate_spec() -> None:
    good = json.dumps({"asserts": ["assert add(1, 2) == 3"], "reference": "def add(a, b):\n    return a + b"})
    wrong_ref = json.dumps(
        {"asserts": ["assert add(1, 2) == 3"], "reference": "def add(a, b):\n    return 0"}
    )
    v = validate_spec(good, POLICY)
    assert (v.passed, v.verifier, v.detail) == (True, "code_spec", "passed: 1 tests")
    v = validate_spec(wrong_ref, POLICY)
    assert (v.passed, v.reason) == (False, Reason.UNVERIFIABLE) and "reference program fails" in v.detail
    assert validate_spec("not json", POLICY).reason == Reason.UNVERIFIABLE


UNCONVERTIBLE = [
    "assert all(f(i) == i for i in range(3))",  # the comparison would run in the child
    "x = f(1)\nassert x == 1",  # statements other than assert and import
    "assert f(1) is OBJ",
    "assert f(3) == [i * i for i in range(3)]",  # a comprehension the parent does not evaluate
    "assert f(1) == sorted([3, 1], key=lambda v: -v)",
    "assert f(1) == 1 if True else 2",
    "def check(c):\n    assert c(1) == 1\ncheck(f)",  # HumanEval style: the check would run in the child
    "assert 1 == 1",  # tests nothing in the program
]


@pytest.mark.parametrize("text", UNCONVERTIBLE)
def test_asserts_that_would_trust_the_child_make_the_spec_unverifiable(text: str) -> None:
    with pytest.raises(Unconvertible):
        plan_asserts([text])
    gold = json.dumps({"asserts": [text]})
    v = check_inline(CheckItem("code", gold, "```python\ndef f(x):\n    return x\n```"), POLICY)
    assert (v.passed, v.reason) == (False, Reason.UNVERIFIABLE), v
    assert validate_spec(gold, POLICY).reason == Reason.UNVERIFIABLE


def test_only_inputs_reach_the_child() -> None:
    plan = plan_asserts(
        [
            "assert add(1, 2) == 3",
            "import math\nassert math.isclose(area(2.0), 12.566, rel_tol=1e-3)",
            "assert abs(area(1.0) - 3.14159) < 1e-4 and len(pair()) == 2",
            "assert Solution().two_sum([2, 7, 11], 9) in [[0, 1], [1, 0]]",
            "assert not is_prime(9)",
            "assert f('abc').strip() == 'cba'",
        ]
    )
    assert plan.calls == (
        "add(1, 2)",
        "area(2.0)",
        "area(1.0)",
        "pair()",
        "Solution().two_sum([2, 7, 11], 9)",
        "is_prime(9)",
        "f('abc')",
    )
    assert plan.setup == ("import math",)
    assert not any(
        secret in call for call in plan.calls for secret in ("3)", "12.566", "3.14159", "cba", "[0, 1]")
    )


# --- comparison and the results channel, in the parent -----------------------------------------------


def test_strict_equal_is_type_strict_on_plain_data() -> None:
    assert strict_equal(2, 2.0) and strict_equal({1: [1, (2,)]}, {1.0: [1, (2.0,)]})
    assert strict_equal({1, 2}, frozenset({2, 1})) and strict_equal(b"a", b"a")
    for a, b in (
        (True, 1),
        (False, 0),
        ([1], (1,)),
        ("a", b"a"),
        (None, 0),
        ([1, 2], [2, 1]),
        ({"a": 1}, {"a": True}),
    ):
        assert not strict_equal(a, b), (a, b)
    with pytest.raises(ValueError):
        canonical(object())


def test_the_results_channel_is_read_strictly() -> None:
    ok = b'{"i": 0, "value": {"tuple": [1, {"float": "inf"}]}}\n{"i": 1, "raised": "E: x"}\n'
    got = read_results(ok, 2)
    assert got[0].value == (1, float("inf")) and got[1].kind == "raised"
    for bad in (
        b"",  # left before its calls ran
        b'{"i": 1, "value": 3}\n',  # out of order
        b'{"i": 0, "value": 3}\n{"i": 1, "value": 3}\n',  # more lines than calls
        b'{"i": 0, "value": {"object": "T"}}\n',  # no such tag
        b'{"i": 0, "value": {"set": [{"list": []}]}}\n',  # unhashable set element
        b'{"i": 0, "value": 3, "passed": true}\n',  # extra keys
        b"[" * 100000 + b"\n",  # deep JSON
    ):
        with pytest.raises(Unreadable):
            read_results(bad, 1)


# --- correct programs still pass ----------------------------------------------------------------------

CORRECT = [
    (["assert add(1, 2) == 3", "assert add(-1, 1) == 0"], "def add(a, b):\n    return a + b"),
    (["assert pair() == (1, [2, {'k': {3}}])"], "def pair():\n    return (1, [2, {'k': {3}}])"),
    (["assert half(4) == 2"], "def half(n):\n    return n / 2"),  # 2.0 == 2, as the assert would say
    (
        ["import math\nassert math.isclose(area(2.0), 12.566, rel_tol=1e-3)"],
        "import math\ndef area(r):\n    return math.pi * r * r",
    ),
    (
        ["from math import isclose\nassert isclose(area(1.0), 3.1416, abs_tol=1e-4)"],
        "def area(r):\n    return 3.14159265 * r * r",
    ),
    (["assert abs(area(1.0) - 3.14159) < 1e-4"], "def area(r):\n    return 3.14159265 * r * r"),
    (
        ["assert Solution().two_sum([2, 7, 11], 9) in [[0, 1], [1, 0]]"],
        "class Solution:\n    def two_sum(self, a, t):\n        return [0, 1]",
    ),
    (
        ["assert not is_prime(9)", "assert is_prime(7)", "assert is_prime(7) is True"],
        "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, n))",
    ),
    (
        ["assert f('abc').strip() == 'cba'", "assert len(f('ab')) >= 2"],
        "def f(s):\n    return ' ' + s[::-1] + ' '",
    ),
    (
        ["assert sorted(uniq([3, 1, 3])) == [1, 3]", "assert set(uniq([2, 2])) == {2}"],
        "def uniq(xs):\n    return list(set(xs))",
    ),
    (
        ["assert count('aab') == {'a': 2, 'b': 1}"],
        "from collections import Counter\ndef count(s):\n    return Counter(s)",
    ),
    (
        ["assert point() == (1, 2)"],
        "from collections import namedtuple\nP = namedtuple('P', 'x y')\ndef point():\n    return P(1, 2)",
    ),
    (
        ["assert color() == 2"],
        "import enum\nclass C(enum.IntEnum):\n    RED = 2\ndef color():\n    return C.RED",
    ),
    (["assert nothing() is None"], "def nothing():\n    pass"),
    (["assert LIMIT == 10", "assert f(1) == f(1)"], "LIMIT = 10\ndef f(x):\n    return [x]"),
    (
        ["assert scratch(3) == 9"],
        "import os, sqlite3, tempfile\nfrom pathlib import Path\n"
        "def scratch(n):\n    Path('n.txt').write_text(str(n))\n    db = sqlite3.connect('db.sqlite')\n"
        "    db.execute('create table if not exists t(x)')\n    with open(os.path.join(tempfile.gettempdir(), 'x'), 'w') as fh:\n"
        "        fh.write('ok')\n    return int(Path('n.txt').read_text()) ** 2",
    ),
    (["assert big() == 2 ** 200"], "def big():\n    return 2 ** 200"),
    (
        ["assert add(1, 2) == 3"],
        "def add(a, b):\n    return a + b\nif __name__ == '__main__':\n    print(add(int(input()), 1))",
    ),
]


@pytest.mark.parametrize(("asserts", "program"), CORRECT, ids=[c[0][0][:40] for c in CORRECT])
def test_correct_programs_pass(asserts: list[str], program: str) -> None:
    v = graded(program, json.dumps({"asserts": asserts}))
    assert v.passed and v.detail.startswith("passed:"), v


def test_correct_stdio_programs_pass() -> None:
    gold = json.dumps({"tests": [{"input": "3 4\n", "output": "7"}, {"input": "10 -2\n", "output": "8\n"}]})
    program = (
        "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\nprint('debug', file=sys.stderr)"
    )
    assert graded(program, gold).passed


# --- an external sandbox service (SandboxFusion's /run_code), served by the test ----------------------


class _FusionLike(BaseHTTPRequestHandler):
    """A tiny SandboxFusion-shaped /run_code: runs the code with a timeout, returns fetch_files."""

    bodies: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).bodies.append(raw)
        req = json.loads(raw)
        reply: dict = {"status": "Success", "message": "", "files": {}}
        with tempfile.TemporaryDirectory() as cwd:
            Path(cwd, "main.py").write_text(req["code"])
            try:
                p = subprocess.run(
                    [sys.executable, "-I", "main.py"],
                    input=req.get("stdin") or "",
                    capture_output=True,
                    text=True,
                    cwd=cwd,
                    timeout=req["run_timeout"],
                )
                reply["run_result"] = {
                    "status": "Finished",
                    "return_code": p.returncode,
                    "stdout": p.stdout,
                    "stderr": p.stderr,
                }
                if p.returncode:
                    reply["status"] = "Failed"
            except subprocess.TimeoutExpired:
                reply["status"] = "Failed"
                reply["run_result"] = {"status": "TimeLimitExceeded", "stdout": "", "stderr": ""}
            for name in req.get("fetch_files", []):
                f = Path(cwd, name)
                if f.is_file():
                    reply["files"][name] = base64.b64encode(f.read_bytes()).decode()
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FusionLike)
    _FusionLike.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_sandbox_service_runs_candidates_and_the_parent_decides(service: str) -> None:
    policy = VerifyPolicy(sandbox=FAST.model_copy(update={"service_url": service}))

    def verdict(program: str, gold: str):
        return check_inline(CheckItem("code", gold, f"```python\n{program}\n```"), policy)

    assert verdict("def add(a, b):\n    return a + b", ADD).passed
    assert verdict(
        "print(sum(map(int, input().split())))", json.dumps({"tests": [{"input": "2 3\n", "output": "5"}]})
    ).passed
    for wrong in (
        WRONG_ADD,
        TAMPER["__eq__ always True"],
        TAMPER["sys.exit disabled"],
        TAMPER["forged pass marker"],
    ):
        v = verdict(wrong, ADD)
        assert not v.passed and v.reason == Reason.MISMATCH, v
    v = verdict("def token():\n    while True:\n        pass", SECRET)
    assert (v.passed, v.reason) == (False, Reason.TIMEOUT), v
    assert not verdict(SEARCH, SECRET).passed
    assert _FusionLike.bodies and not any(
        TOKEN in b or "== 3" in b for b in _FusionLike.bodies
    )  # inputs only


def test_a_service_that_is_down_is_an_error_not_a_verdict() -> None:
    policy = VerifyPolicy(
        sandbox=FAST.model_copy(update={"service_url": "http://127.0.0.1:9", "service_timeout_s": 2})
    )
    v = check_inline(CheckItem("code", ADD, "```python\ndef add(a, b):\n    return a + b\n```"), policy)
    assert (v.passed, v.reason) == (False, Reason.ERROR) and v.detail.startswith("sandbox_error:"), v
