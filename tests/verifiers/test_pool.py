"""The worker pool: hard per-item timeouts and dead workers become verdicts; threads; audit; rewards."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from reasonmill.records import Reason
from reasonmill.verifiers import (
    CheckItem,
    SandboxLimits,
    VerifierPool,
    VerifyPolicy,
    accuracy_reward,
    audit,
    check,
    check_many,
    summarise_audit,
)

SLOW = VerifyPolicy(sandbox=SandboxLimits(cpu_s=30, wall_s=30))
SPEC = json.dumps({"tests": [{"input": "", "output": "1"}]})
SLEEPER = "```python\nimport time\ntime.sleep(30)\n```"


@pytest.fixture
def pool():
    p = VerifierPool(workers=2, timeout_s=1.0, policy=SLOW)
    yield p
    p.close()


def test_a_hanging_item_is_a_timeout_verdict_and_its_worker_is_replaced(pool: VerifierPool) -> None:
    items = [
        CheckItem("math", "2", "\\boxed{2}"),
        CheckItem("code", SPEC, SLEEPER),
        CheckItem("math", "3", "\\boxed{4}"),
    ]
    start = time.monotonic()
    verdicts = pool.check_many(items)
    assert time.monotonic() - start < 10
    assert [v.passed for v in verdicts] == [True, False, False]
    assert (verdicts[1].reason, verdicts[2].reason) == (Reason.TIMEOUT, Reason.MISMATCH)
    assert pool.restarts == 1
    assert pool.check_many([CheckItem("math", "5", "5")])[0].passed  # the replacement works


def test_a_dead_worker_is_an_error_verdict_and_is_replaced(pool: VerifierPool) -> None:
    pool.check_many([CheckItem("math", "1", "1")])  # start the workers

    def kill_soon() -> None:
        time.sleep(0.5)
        for w in list(pool._pool):
            w.proc.kill()

    threading.Thread(target=kill_soon).start()
    verdicts = pool.check_many([CheckItem("code", SPEC, SLEEPER)])
    assert (verdicts[0].passed, verdicts[0].reason) == (False, Reason.ERROR)
    assert "died" in verdicts[0].detail
    assert pool.check_many([CheckItem("math", "1/2", "0.5")])[0].passed


def test_many_items_keep_their_order() -> None:
    items = [CheckItem("math", str(i), f"The answer is {i if i % 3 else i + 1}.") for i in range(200)]
    verdicts = check_many(items, workers=2)
    assert [v.passed for v in verdicts] == [bool(i % 3) for i in range(200)]


def test_check_works_from_threads() -> None:
    # math-verify's signal-based timeout fails off the main thread; checks run in workers instead.
    results: list[bool] = []

    def worker(n: int) -> None:
        results.append(check(f"\\frac{{{n}}}{{2}}", f"\\boxed{{{n / 2}}}").passed)
        results.append(check("\\sqrt{8}", "\\boxed{2\\sqrt{2}}").passed)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 8


def test_audit_reports_per_grader_decisions(caplog: pytest.LogCaptureFixture) -> None:
    items = [
        CheckItem("math", "\\frac{1}{2}", "\\boxed{0.5}"),
        CheckItem("math", "7", "\\boxed{7}"),
        CheckItem("math", "\\sqrt{2}", "\\boxed{\\frac{2}{\\sqrt{2}}}"),
        CheckItem("math", "3", "no idea, sorry, I really cannot work this out at all"),
    ]
    with caplog.at_level("WARNING"):
        rows = audit(items)
    assert [r.passed for r in rows] == [True, True, True, False]
    assert rows[0].graders == {"fast": True, "string": False, "math_verify": True, "sympy": True}
    assert rows[0].disagreeing == ["string"]
    assert rows[2].graders["fast"] is None  # not a plain number: the fast path does not apply
    assert rows[3].graders == {} and rows[3].reason == Reason.NO_ANSWER
    summary = summarise_audit(rows)
    assert summary["graders"]["string"] == {"decided": 3, "agree": 1, "agreement": 0.3333}
    assert summary["rows_with_disagreement"] == 2
    assert "string" in caplog.text


def test_accuracy_reward_has_trls_signature_and_none_for_bad_gold() -> None:
    completions = [
        [{"role": "assistant", "content": "<think>2+2</think> \\boxed{4}"}],
        [{"role": "assistant", "content": "The answer is 5."}],
        "Plain string completion: \\boxed{\\frac{1}{2}}",
        [{"role": "assistant", "content": "\\boxed{1}"}],
    ]
    rewards = accuracy_reward(completions, solution=["4", "4", "0.5", "\\frac{1}{"], prompts=["p"] * 4)
    assert rewards == [1.0, 0.0, 1.0, None]
    assert accuracy_reward(["(B)"], solution=["B"], kind=["choice"]) == [1.0]


def test_a_script_without_a_main_guard_works(tmp_path) -> None:
    # forkserver children would normally re-run the caller's script; the pool prevents that.
    import subprocess
    import sys

    script = tmp_path / "grade.py"
    script.write_text(
        "from reasonmill.verifiers import check\nprint('RESULT', check('1/2', 'so \\\\boxed{0.5}').passed)\n"
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert r.stdout.count("RESULT") == 1 and "RESULT True" in r.stdout, r.stderr[-500:]


def test_works_inside_a_daemonic_process(tmp_path) -> None:
    # Like a Dask worker process: a daemonic child may not start children of its own, so the pool
    # must still give verdicts there. The child's code lives in a script (tests are not importable
    # by name under plain pytest).
    script = tmp_path / "daemon_check.py"
    script.write_text(
        "import multiprocessing as mp\n"
        "def work(queue):\n"
        "    from reasonmill.verifiers import check\n"
        "    queue.put(check('3', 'The answer is 3.').passed)\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('spawn')\n"
        "    queue = ctx.Queue()\n"
        "    proc = ctx.Process(target=work, args=(queue,), daemon=True)\n"
        "    proc.start()\n"
        "    print('RESULT', queue.get(timeout=60))\n"
        "    proc.join(timeout=30)\n"
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=90)
    assert "RESULT True" in r.stdout, r.stderr[-800:]
