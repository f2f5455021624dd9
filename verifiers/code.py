"""Code answers: run the candidate program against the gold's tests in the sandbox.

The gold of kind "code" is a JSON test spec, one of:

    {"tests": [{"input": "1 2\\n", "output": "3"}, ...]}    stdin → stdout, one run per test;
                                                           output compared line by line with
                                                           trailing whitespace ignored
    {"asserts": ["assert add(1, 2) == 3", ...]}            statements run after the program in
                                                           its namespace, in one run

Either may carry "reference": a program that passes the tests. Checking a gold against itself
(the pipeline's readability check) validates the spec and runs the reference when there is one.

The program is the last fenced code block of the prediction (```python, ```py or ```), or the
`<answer>` content, or the whole visible output if it compiles. Every outcome is a verdict whose
detail starts with a stable token:

| outcome | reason | detail |
|---|---|---|
| all tests pass | (passed) | `passed: N tests` |
| wrong output / failed assert | mismatch | `failed_test: ...` |
| exception or non-zero exit | mismatch | `crash: ...` |
| blocked by the sandbox (network, files, processes) | mismatch | `sandbox_violation: ...` |
| memory, output, file size or process limit | mismatch | `resource_limit: ...` |
| wall clock or CPU time limit | timeout | `timeout: ...` |
| no program in the prediction | no_answer | |
| the gold is not a valid spec | unverifiable | |
| the sandbox could not start | error | |

Testing stops at the first failing test, so a program that loops costs one time limit, not N.
"""

from __future__ import annotations

import json
import re

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.extract import visible_part
from reasonmill.verifiers.sandbox import RunResult, run_python

_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.S | re.I)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)

_RESOURCE = {"memory", "output_limit", "file_size", "processes"}
_TIMEOUT = {"timeout", "cpu_limit"}


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
        return {"tests": tests, "reference": spec.get("reference", "")}
    if "asserts" in spec:
        asserts = spec["asserts"]
        if not isinstance(asserts, list) or not asserts or not all(isinstance(a, str) for a in asserts):
            raise BadSpec("'asserts' must be a non-empty list of strings")
        return {"asserts": asserts, "reference": spec.get("reference", "")}
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


class CodeTests(Verifier):
    """Run the candidate program against the gold's tests in the sandbox; a verdict for every end."""

    name = "code"
    kinds = ("code",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for the program in `prediction` against the test spec `gold`."""
        try:
            spec = parse_spec(gold)
        except BadSpec as exc:
            return self.verdict(False, Reason.UNVERIFIABLE, str(exc))
        if prediction is not None and prediction.strip() == gold.strip():
            return self._self_check(spec, policy)
        program = extract_program(prediction)
        if program is None:
            return self.verdict(False, Reason.NO_ANSWER, "no program found in the prediction")
        if "asserts" in spec:
            r = run_python(program, limits=policy.sandbox, asserts=spec["asserts"])
            if r.status == "failed_test":
                i = r.extra.get("failed_index", -1)
                test = spec["asserts"][i] if 0 <= i < len(spec["asserts"]) else "?"
                return self.verdict(False, Reason.MISMATCH, f"failed_test: {test[:120]}")
            return self._ended(r, len(spec["asserts"]), "")
        tests = spec["tests"]
        for i, t in enumerate(tests):
            r = run_python(program, stdin=t.get("input", ""), limits=policy.sandbox)
            if r.status != "ok":
                return self._ended(r, len(tests), f"test {i}: ")
            if not outputs_match(t["output"], r.stdout):
                return self.verdict(
                    False,
                    Reason.MISMATCH,
                    f"failed_test: test {i}: expected {t['output'][:60]!r}, got {r.stdout[:60]!r}",
                )
        return self.verdict(True, detail=f"passed: {len(tests)} tests")

    def _self_check(self, spec: dict, policy: VerifyPolicy) -> Verdict:
        # The pipeline checks each gold against itself to prove it is readable. For code that
        # means: the spec is valid, and its optional "reference" program passes its own tests.
        if not spec.get("reference"):
            return self.verdict(True, detail="valid test spec (no reference program to run)")
        v = self.check(
            json.dumps({k: v for k, v in spec.items() if k != "reference"}), spec["reference"], policy
        )
        if v.passed:
            return v
        return self.verdict(False, Reason.UNVERIFIABLE, f"reference program fails its own tests: {v.detail}")

    def _ended(self, r: RunResult, n: int, where: str) -> Verdict:
        if r.status == "ok":
            return self.verdict(True, detail=f"passed: {n} tests")
        if r.status in _TIMEOUT:
            return self.verdict(False, Reason.TIMEOUT, f"timeout: {where}{r.detail}")
        if r.status in _RESOURCE:
            return self.verdict(False, Reason.MISMATCH, f"resource_limit: {where}{r.status}: {r.detail}")
        if r.status == "blocked":
            return self.verdict(False, Reason.MISMATCH, f"sandbox_violation: {where}{r.detail}")
        if r.status == "sandbox_error":
            return self.verdict(False, Reason.ERROR, f"sandbox_error: {r.detail}")
        return self.verdict(False, Reason.MISMATCH, f"crash: {where}{r.detail}")


VERIFIERS.register(CodeTests.name, CodeTests())
