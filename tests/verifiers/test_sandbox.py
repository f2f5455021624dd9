"""The hostile-code set: every attack contained, with the right verdict; each layer checked alone."""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest

from reasonmill.records import Reason
from reasonmill.verifiers import CheckItem, SandboxLimits, VerifyPolicy, check_inline
from reasonmill.verifiers.code import BadSpec, extract_program, outputs_match, parse_spec
from reasonmill.verifiers.sandbox import netns_flags, run_python

FAST = SandboxLimits(cpu_s=1, wall_s=1.5, memory_mb=256, output_bytes=4096, file_size_mb=1, processes=8)
POLICY = VerifyPolicy(sandbox=FAST)
SPEC = json.dumps({"tests": [{"input": "3\n", "output": "6"}, {"input": "10\n", "output": "20"}]})


def code_verdict(program: str, gold: str = SPEC):
    return check_inline(CheckItem("code", gold, f"Here is my solution.\n```python\n{program}\n```"), POLICY)


def outside_path() -> str:
    return f"/tmp/rm-sandbox-escape-{uuid.uuid4().hex}"


# (name, program, reason, detail token)
HOSTILE = [
    ("infinite loop", "while True:\n    pass", Reason.TIMEOUT, "timeout:"),
    ("sleeping forever", "import time\ntime.sleep(60)", Reason.TIMEOUT, "timeout:"),
    ("fork bomb", "import os\nwhile True:\n    os.fork()", Reason.MISMATCH, "sandbox_violation:"),
    ("memory hog", "x = bytearray(2 * 1024 ** 3)", Reason.MISMATCH, "resource_limit:"),
    (
        "growing memory",
        "a = []\nwhile True:\n    a.append(' ' * 10 ** 8)",
        Reason.MISMATCH,
        "resource_limit:",
    ),
    (
        "network",
        "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)",
        Reason.MISMATCH,
        "sandbox_violation:",
    ),
    ("read outside", "print(open('/etc/passwd').read())", Reason.MISMATCH, "sandbox_violation:"),
    ("list outside", "import os\nprint(os.listdir('/work'))", Reason.MISMATCH, "sandbox_violation:"),
    ("subprocess", "import subprocess\nsubprocess.run(['id'])", Reason.MISMATCH, "sandbox_violation:"),
    ("os.system", "import os\nos.system('id')", Reason.MISMATCH, "sandbox_violation:"),
    ("ctypes", "import ctypes\nctypes.CDLL(None).fork()", Reason.MISMATCH, "sandbox_violation:"),
    ("huge output", "while True:\n    print('x' * 1000)", Reason.MISMATCH, "resource_limit:"),
    (
        "huge file",
        "with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 65536)",
        Reason.MISMATCH,
        "resource_limit:",
    ),
    ("crash", "n = int(input())\nprint(n // 0)", Reason.MISMATCH, "crash:"),
    ("syntax error", "def f(:\n    pass", Reason.MISMATCH, "crash:"),
    ("wrong answer", "print(int(input()) + 3)", Reason.MISMATCH, "failed_test:"),
]


@pytest.mark.parametrize(("name", "program", "reason", "token"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_code_is_contained(name: str, program: str, reason: Reason, token: str) -> None:
    start = time.monotonic()
    v = code_verdict(program)
    assert (v.passed, v.reason) == (False, reason), v
    assert v.detail.startswith(token), v.detail
    assert time.monotonic() - start < 5


def test_writing_outside_is_blocked_and_leaves_nothing() -> None:
    target = outside_path()
    v = code_verdict(f"open({target!r}, 'w').write('pwned')")
    assert v.detail.startswith("sandbox_violation:") and not os.path.exists(target)
    v = code_verdict(f"import os\nos.rename('main.py', {target!r})")
    assert v.detail.startswith("sandbox_violation:") and not os.path.exists(target)


def test_passing_program_and_its_own_directory() -> None:
    v = code_verdict(
        "n = int(input())\nopen('scratch.txt', 'w').write(str(n))\nprint(2 * int(open('scratch.txt').read()))"
    )
    assert v.passed and v.detail == "passed: 2 tests"


def test_what_a_program_prints_to_stderr_does_not_decide_its_verdict() -> None:
    program = "import sys\nprint('MemoryError RM_FAILED_TEST 0 reasonmill-sandbox: blocked', file=sys.stderr)\nprint(2 * int(input()))"
    assert code_verdict(program).passed


def test_assert_style_tests() -> None:
    gold = json.dumps({"asserts": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]})
    assert code_verdict("def add(a, b):\n    return a + b", gold).passed
    v = code_verdict("def add(a, b):\n    return a - b", gold)
    assert (v.reason, v.detail) == (Reason.MISMATCH, "failed_test: assert add(1, 2) == 3")
    # leaving before the tests run is not a pass
    v = code_verdict("import os\ndef add(a, b):\n    return 0\nos._exit(0)", gold)
    assert v.reason == Reason.MISMATCH and v.detail.startswith("crash:")


@pytest.mark.parametrize(
    "program",
    [
        "import sys\nf = sys._getframe(1)",  # the harness's frame: reachable, and holds no expected value
        "try:\n    1/0\nexcept ZeroDivisionError as e:\n    f = e.__traceback__.tb_frame.f_back",
        "import gc\nprint(len(gc.get_objects()))",
        "print(open('tests.json').read())",  # read the tests
    ],
    ids=["getframe", "traceback-frame", "gc", "read-tests"],
)
def test_reaching_the_harness_gains_nothing(program: str) -> None:
    gold = json.dumps({"asserts": ["assert add(1, 2) == 3"]})
    v = code_verdict(program + "\ndef add(a, b):\n    return 0", gold)
    assert (v.passed, v.reason) == (False, Reason.MISMATCH), v
    assert v.detail.startswith(("failed_test:", "crash:")), v


def test_bad_spec_and_missing_program() -> None:
    assert code_verdict("print(1)", gold="not json").reason == Reason.UNVERIFIABLE
    assert code_verdict("print(1)", gold='{"tests": []}').reason == Reason.UNVERIFIABLE
    assert (
        check_inline(CheckItem("code", SPEC, "I would use a loop, then print it!"), POLICY).reason
        == Reason.NO_ANSWER
    )
    with pytest.raises(BadSpec, match="tests"):
        parse_spec('{"cases": []}')


def test_reference_program_self_check() -> None:
    good = json.dumps({"tests": [{"input": "2\n", "output": "4"}], "reference": "print(2 * int(input()))"})
    bad = json.dumps({"tests": [{"input": "2\n", "output": "5"}], "reference": "print(2 * int(input()))"})
    assert check_inline(CheckItem("code_spec", good, None), POLICY).passed
    assert check_inline(CheckItem("code_spec", bad, None), POLICY).reason == Reason.UNVERIFIABLE
    # the gold checked against itself as kind "code" is an echoed spec, not a solution
    assert not check_inline(CheckItem("code", good, good), POLICY).passed


def test_program_extraction_and_output_comparison() -> None:
    assert extract_program("x\n```py\nprint(1)\n```\nthen\n```python\nprint(2)\n```") == "print(2)\n"
    assert extract_program("print(3)") == "print(3)"
    assert extract_program("Use a loop and print it.") is None
    assert outputs_match("1 2\n3", "1 2   \n3\n\n")
    assert not outputs_match("1 2", "1  2")


# --- each layer on its own ------------------------------------------------------------------------


def test_rlimits_and_own_uid_contain_a_fork_bomb_without_the_audit_hook() -> None:
    if os.geteuid() != 0:
        pytest.skip("the own-uid layer needs root; without it RLIMIT_NPROC counts all the user's processes")
    roomy = FAST.model_copy(update={"wall_s": 10.0})  # the bomb spins every core it may: no tight deadline
    r = run_python("import os\nwhile True:\n    os.fork()", limits=roomy, audit_hook=False)
    assert r.status == "processes" and "own_uid" in r.layers


def test_network_namespace_alone_stops_connections() -> None:
    if not netns_flags():
        pytest.skip("no network namespaces on this machine")
    r = run_python(
        "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)", limits=FAST, audit_hook=False
    )
    assert r.status == "blocked" and "netns" in r.layers


def test_rlimit_as_alone_stops_a_memory_hog() -> None:
    r = run_python("x = bytearray(2 * 1024 ** 3)", limits=FAST, audit_hook=False, drop_uid=False)
    assert r.status == "memory"


def test_own_uid_alone_cannot_write_root_owned_places() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    r = run_python("open('/etc/rm-sandbox-test', 'w')", limits=FAST, audit_hook=False, isolate_fs=False)
    assert r.status == "crash" and "Permission denied" in r.detail
    assert not os.path.exists("/etc/rm-sandbox-test")


def test_environment_is_scrubbed() -> None:
    os.environ["RM_SECRET_FOR_TEST"] = "hunter2"
    try:
        r = run_python("import os\nprint(sorted(os.environ))", limits=FAST)
    finally:
        del os.environ["RM_SECRET_FOR_TEST"]
    assert r.status == "ok" and "RM_SECRET_FOR_TEST" not in r.stdout and "RM_NONCE" not in r.stdout
