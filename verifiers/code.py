"""Code answers: run the candidate program on the gold's test inputs; compare in this process.

The gold of kind "code" is a JSON test spec, one of:

    {"tests": [{"input": "1 2\\n", "output": "3"}, ...]}    stdin → stdout, one run (and one fresh
                                                           folder) per test; output compared
                                                           line by line, trailing whitespace
                                                           ignored
    {"asserts": ["assert add(1, 2) == 3", ...]}            each assert split into the calls the
                                                           program must answer (run in the
                                                           sandbox, all in one run) and the check
                                                           on their values (run here)

Either may carry "reference": a program that passes the tests.

The candidate process never holds what decides the verdict (`reasonmill.verifiers.code_harness`):
it sees the program and the inputs (stdin, or `add(1, 2)`), never an expected output or value, and
nothing it prints, exits with or writes can say "passed" — the expected values are compared here,
with type-strict, `__eq__`-free comparison of plain data. An assert that cannot be split that way
makes the spec unverifiable rather than trusting the candidate's own `assert`.

Stdin/stdout caveat: the program's output is compared with the expected output, so a program that
prints the right text passes. Where a test's input/output pair is shown in the question (the
examples of a competitive-programming statement), a program can hard-code it; keep hidden tests
in the spec (they are never shown to the program) and count on those.

The gold itself is checked by `validate_spec(gold, policy)` (registered as kind "code_spec", which
grades no prediction): the spec parses, every assert converts, and its "reference" program, when
there is one, passes. Checking a gold *as a prediction* (kind "code" with the spec's text) runs
that text as a program, which fails: an echoed spec is not a solution.

The program is the last fenced code block of the prediction (```python, ```py or ```), or the
`<answer>` content, or the whole visible output if it compiles. Every outcome is a verdict whose
detail starts with a stable token:

| outcome | reason | detail |
|---|---|---|
| all tests pass | (passed) | `passed: N tests` |
| wrong output / failed check / value that is not plain data | mismatch | `failed_test: ...` |
| exception or non-zero exit, or it left before its tests ran | mismatch | `crash: ...` |
| blocked by the sandbox (network, files, processes) | mismatch | `sandbox_violation: ...` |
| memory, output, results, file size or process limit | mismatch | `resource_limit: ...` |
| wall clock or CPU time limit | timeout | `timeout: ...` |
| no program in the prediction | no_answer | |
| the gold is not a valid spec, or an assert cannot be checked safely | unverifiable | |
| the sandbox (or the sandbox service) could not run it | error | `sandbox_error: ...` |

Testing stops at the first failing test, so a program that loops costs one time limit, not N.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, SandboxLimits, Verifier, VerifyPolicy
from reasonmill.verifiers.code_harness import (
    AssertPlan,
    Unconvertible,
    Unreadable,
    evaluate_check,
    plan_asserts,
    read_results,
)
from reasonmill.verifiers.extract import visible_part
from reasonmill.verifiers.sandbox import BLOCK_MARK, RunResult, run_python

_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.S | re.I)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)

_RESOURCE = {"memory", "output_limit", "file_size", "processes"}
_TIMEOUT = {"timeout", "cpu_limit"}

# The answer kind whose "check" validates a code gold on its own (the pipeline's gold probe).
SPEC_KIND = "code_spec"

Runner = Callable[..., RunResult]


class BadSpec(ValueError):
    """The gold test spec is not valid JSON of a known shape."""


def parse_spec(gold: str) -> dict:
    """The test spec in `gold`, validated; raises `BadSpec` naming what is wrong.

    >>> parse_spec('{"asserts": ["assert f(1) == 1"]}')["asserts"]
    ['assert f(1) == 1']
    """
    try:
        spec = json.loads(gold)
    except json.JSONDecodeError as exc:
        raise BadSpec(f"gold is not JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise BadSpec("gold must be a JSON object")
    reference = spec.get("reference", "")
    if not isinstance(reference, str):
        raise BadSpec("'reference' must be a program (a string)")
    if "tests" in spec:
        tests = spec["tests"]
        if not isinstance(tests, list) or not tests:
            raise BadSpec("'tests' must be a non-empty list")
        for i, t in enumerate(tests):
            if not (
                isinstance(t, dict)
                and isinstance(t.get("input", ""), str)
                and isinstance(t.get("output"), str)
            ):
                raise BadSpec(f"tests[{i}] needs a string 'output' (and optional string 'input')")
        return {"tests": tests, "reference": reference}
    if "asserts" in spec:
        asserts = spec["asserts"]
        if not isinstance(asserts, list) or not asserts or not all(isinstance(a, str) for a in asserts):
            raise BadSpec("'asserts' must be a non-empty list of strings")
        try:
            plan = plan_asserts(asserts)
        except Unconvertible as exc:
            raise BadSpec(f"cannot be checked outside the candidate: {exc}") from None
        return {"asserts": asserts, "reference": reference, "plan": plan}
    raise BadSpec("gold needs 'tests' or 'asserts'")


def extract_program(text: str | None) -> str | None:
    """The program a model output gives: last fenced block, `<answer>` content, or the whole text
    when it compiles as Python; None otherwise."""
    if not text or not text.strip():
        return None
    visible = visible_part(text)
    blocks = _FENCE.findall(visible)
    if blocks:
        return blocks[-1]
    tags = _ANSWER_TAG.findall(visible)
    if tags and tags[-1].strip():
        return tags[-1]
    try:
        compile(visible, "<candidate>", "exec")
    except (SyntaxError, ValueError):
        return None
    return visible if visible.strip() else None


def outputs_match(expected: str, got: str) -> bool:
    """Equal line by line with trailing whitespace and trailing blank lines ignored."""

    def norm(s: str) -> list[str]:
        return [ln.rstrip() for ln in s.replace("\r\n", "\n").rstrip().split("\n")]

    return norm(expected) == norm(got)


def runner_for(limits: SandboxLimits) -> Runner:
    """The local sandbox, or the sandbox service when `limits.service_url` is set."""
    if limits.service_url:
        from reasonmill.verifiers.sandbox_service import SandboxService

        return SandboxService(limits).run
    return run_python


def _verdict(name: str, passed: bool, reason: Reason | None = None, detail: str = "") -> Verdict:
    return Verdict(
        passed=passed,
        verifier=name,
        reason=None if passed else (reason or Reason.MISMATCH).value,
        detail=detail,
    )


def _ended(name: str, r: RunResult, n: int, where: str) -> Verdict:
    """The verdict for a run that did not end cleanly (or did, with `n` tests)."""
    if r.status == "ok":
        return _verdict(name, True, detail=f"passed: {n} tests")
    if r.status in _TIMEOUT:
        return _verdict(name, False, Reason.TIMEOUT, f"timeout: {where}{r.detail}")
    if r.status in _RESOURCE:
        return _verdict(name, False, Reason.MISMATCH, f"resource_limit: {where}{r.status}: {r.detail}")
    if r.status == "blocked":
        return _verdict(name, False, Reason.MISMATCH, f"sandbox_violation: {where}{r.detail}")
    if r.status == "sandbox_error":
        return _verdict(name, False, Reason.ERROR, f"sandbox_error: {r.detail}")
    return _verdict(name, False, Reason.MISMATCH, f"crash: {where}{r.detail}")


def grade_program(
    program: str, spec: dict, limits: SandboxLimits, name: str = "code", audit_hook: bool = True
) -> Verdict:
    """Run `program` on `spec`'s inputs in the sandbox and compare here. `audit_hook=False` is for
    tests that show the verdict does not depend on the tripwire."""
    run = runner_for(limits)
    if "asserts" in spec:
        return _grade_calls(program, spec["plan"], limits, name, run, audit_hook)
    tests = spec["tests"]
    for i, t in enumerate(tests):
        r = run(program, stdin=t.get("input", ""), limits=limits, audit_hook=audit_hook)
        if r.status != "ok":
            return _ended(name, r, len(tests), f"test {i}: ")
        if not outputs_match(t["output"], r.stdout):
            detail = f"failed_test: test {i}: expected {t['output'][:60]!r}, got {r.stdout[:60]!r}"
            return _verdict(name, False, Reason.MISMATCH, detail)
    return _verdict(name, True, detail=f"passed: {len(tests)} tests")


def _grade_calls(
    program: str, plan: AssertPlan, limits: SandboxLimits, name: str, run: Runner, hook: bool
) -> Verdict:
    n = len(plan.checks)
    r = run(program, limits=limits, calls=list(plan.calls), setup=list(plan.setup), audit_hook=hook)
    if r.status != "ok":
        done = r.results.count(b"\n")
        where = (
            f"call {done} `{plan.calls[done][:60]}`: "
            if done < len(plan.calls) and r.status in _TIMEOUT
            else ""
        )
        return _ended(name, r, n, where)
    try:
        results = read_results(r.results, len(plan.calls))
    except Unreadable as exc:
        if r.results.count(b"\n") < len(plan.calls):
            return _verdict(name, False, Reason.MISMATCH, f"crash: exited before its tests ran ({exc})")
        return _verdict(name, False, Reason.MISMATCH, f"crash: unreadable results ({exc})")
    for check in plan.checks:
        ok, why = evaluate_check(check, results, plan.setup)
        if ok:
            continue
        src = check.source[:120]
        if why == "raised":
            msg = next(results[k].message for k in check.uses if results[k].kind == "raised")
            if BLOCK_MARK in msg:
                return _verdict(name, False, Reason.MISMATCH, f"sandbox_violation: {src}: {msg[:160]}")
            if msg.startswith("MemoryError"):
                return _verdict(name, False, Reason.MISMATCH, f"resource_limit: {src}: memory: {msg[:80]}")
            return _verdict(name, False, Reason.MISMATCH, f"crash: {src}: {msg[:160]}")
        if why == "not_plain":
            msg = next(results[k].message for k in check.uses if results[k].kind == "not_plain")
            return _verdict(name, False, Reason.MISMATCH, f"failed_test: {src}: returned {msg[:100]}")
        return _verdict(
            name, False, Reason.MISMATCH, f"failed_test: {src}" + (f" ({why[:100]})" if why else "")
        )
    return _verdict(name, True, detail=f"passed: {n} tests")


def validate_spec(gold: str, policy: VerifyPolicy) -> Verdict:
    """Is `gold` a test spec this verifier can use? The pipeline's gold probe for kind "code".

    Passed when the spec parses, every assert can be checked outside the candidate, and its
    "reference" program (when given) passes its own tests; unverifiable otherwise. No model
    output can reach this path: it takes no prediction.

    >>> validate_spec('{"asserts": ["assert f(1) == 1"]}', VerifyPolicy()).detail
    'passed: valid test spec, 1 tests (no reference program to run)'
    """
    try:
        spec = parse_spec(gold)
    except BadSpec as exc:
        return _verdict(SPEC_KIND, False, Reason.UNVERIFIABLE, str(exc))
    n = len(spec["plan"].checks) if "asserts" in spec else len(spec["tests"])
    if not spec["reference"].strip():
        return _verdict(
            SPEC_KIND, True, detail=f"passed: valid test spec, {n} tests (no reference program to run)"
        )
    v = grade_program(spec["reference"], spec, policy.sandbox, name=SPEC_KIND)
    if v.passed or v.reason == Reason.ERROR:
        return v
    return _verdict(
        SPEC_KIND, False, Reason.UNVERIFIABLE, f"reference program fails its own tests: {v.detail}"
    )


class CodeTests(Verifier):
    """Run the candidate program on the gold's test inputs in the sandbox; compare in this process."""

    name = "code"
    kinds = ("code",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for the program in `prediction` against the test spec `gold`."""
        try:
            spec = parse_spec(gold)
        except BadSpec as exc:
            return self.verdict(False, Reason.UNVERIFIABLE, str(exc))
        program = extract_program(prediction)
        if program is None:
            return self.verdict(False, Reason.NO_ANSWER, "no program found in the prediction")
        return grade_program(program, spec, policy.sandbox, name=self.name)


class CodeSpecCheck(Verifier):
    """Validate a code gold on its own (`validate_spec`); kind "code_spec" grades no prediction.

    The pipeline sends each code record's gold here with prediction None instead of checking the
    gold against itself: with any prediction text it answers unverifiable, so a model's output can
    never take this path.
    """

    name = SPEC_KIND
    kinds = (SPEC_KIND,)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """`validate_spec(gold)` when `prediction` is None; unverifiable for any prediction."""
        if prediction is not None:
            return self.verdict(
                False,
                Reason.UNVERIFIABLE,
                "kind code_spec validates a gold spec and grades no prediction (pass None)",
            )
        return validate_spec(gold, policy)


VERIFIERS.register(CodeTests.name, CodeTests())
VERIFIERS.register(CodeSpecCheck.name, CodeSpecCheck())
