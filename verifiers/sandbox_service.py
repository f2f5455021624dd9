"""Run candidates in an external sandbox service (SandboxFusion's `/run_code` API) instead of here.

Set `VerifyPolicy.sandbox.service_url` (e.g. `http://sandbox:8080`) and every code check sends
one request per run to `POST {url}/run_code`:

    {"code": SCRIPT, "stdin": "...", "language": "python", "run_timeout": wall_s,
     "memory_limit_MB": memory_mb, "files": {}, "fetch_files": ["rm_results.jsonl"]}

and reads SandboxFusion's reply: `status` ("Success" | "Failed" | "SandboxError"), `run_result`
(`status` "Finished" | "TimeLimitExceeded" | "Error", `return_code`, `stdout`, `stderr`) and
`files` (base64). SCRIPT is the same child script the local sandbox runs (the audit-hook tripwire
and the call protocol of `code_harness`) with the program and the test *inputs* embedded; the
expected values never leave this process, and the verdict is this process's comparison of what
the service returns — the service only contains the run. An optional bearer token comes from the
environment variable `REASONMILL_SANDBOX_TOKEN`, never from config.

Each request has a total deadline (`service_timeout_s`) and a reply-size cap; a service that is
down, slow, or answers something else gives `sandbox_error` (reason "error": could not check),
never a pass or a mismatch.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time

import httpx

from reasonmill.verifiers.base import SandboxLimits
from reasonmill.verifiers.code_harness import CHILD_SOURCE
from reasonmill.verifiers.sandbox import HOOK_SOURCE, RunResult, _classify

RESULTS_FILE = "rm_results.jsonl"
TOKEN_ENV = "REASONMILL_SANDBOX_TOKEN"

_SERVICE_MAIN = r"""
def _rm_service(job_text):
    import os, json
    job = json.loads(job_text)
    job["root"] = os.path.realpath(os.getcwd())
    out = open(os.path.join(job["root"], RESULTS_FILE), "wb", buffering=0)
    def emit(data):
        out.write(data)
    _rm_child(json.dumps(job).encode(), emit, _rm_install_hook)
_rm_service(JOB)
"""


def service_script(
    program: str, calls: list[str] | None, setup: list[str] | None, network: bool, hook: bool
) -> str:
    """The Python file the service runs: hook + call protocol + the job (program and inputs only)."""
    job = {
        "mode": "calls" if calls is not None else "stdio",
        "program": program,
        "calls": list(calls or []),
        "setup": list(setup or []),
        "root": "",
        "hook": hook,
        "network": network,
    }
    head = f"JOB = {json.dumps(json.dumps(job))}\nRESULTS_FILE = {RESULTS_FILE!r}\n"
    return head + HOOK_SOURCE + CHILD_SOURCE + _SERVICE_MAIN


class SandboxService:
    """A client for one SandboxFusion-style service; `run` has `run_python`'s signature."""

    def __init__(self, limits: SandboxLimits, transport: httpx.BaseTransport | None = None) -> None:
        if not limits.service_url:
            raise ValueError("sandbox.service_url is not set")
        self.limits = limits
        self.url = limits.service_url.rstrip("/") + "/run_code"
        self.transport = transport

    def run(
        self,
        code: str,
        stdin: str = "",
        limits: SandboxLimits | None = None,
        calls: list[str] | None = None,
        setup: list[str] | None = None,
        audit_hook: bool = True,
        **_: object,
    ) -> RunResult:
        """Run `code` in the service; never raises (a failed request is a `sandbox_error`)."""
        lim = limits or self.limits
        body = {
            "code": service_script(code, calls, setup, lim.network, audit_hook),
            "stdin": stdin,
            "language": "python",
            "compile_timeout": lim.wall_s,
            "run_timeout": lim.wall_s,
            "memory_limit_MB": lim.memory_mb,
            "files": {},
            "fetch_files": [RESULTS_FILE] if calls is not None else [],
        }
        start = time.monotonic()
        try:
            reply = self._post(body, lim)
        except (httpx.HTTPError, OSError, ValueError, TimeoutError) as exc:
            return self._error(f"{type(exc).__name__}: {exc}"[:200], start)
        return self._result(reply, lim, start)

    def _post(self, body: dict, lim: SandboxLimits) -> dict:
        cap = 2 * lim.output_bytes + 2 * lim.result_bytes + (1 << 16)
        deadline = time.monotonic() + lim.service_timeout_s
        headers = {"Content-Type": "application/json"}
        if os.environ.get(TOKEN_ENV):
            headers["Authorization"] = f"Bearer {os.environ[TOKEN_ENV]}"
        timeout = httpx.Timeout(min(lim.service_timeout_s, 30.0))
        with httpx.Client(transport=self.transport, timeout=timeout) as client:
            with client.stream("POST", self.url, content=json.dumps(body), headers=headers) as resp:
                if resp.status_code != 200:
                    raise ValueError(f"service answered HTTP {resp.status_code}")
                data = bytearray()
                for chunk in resp.iter_bytes():
                    data += chunk
                    if len(data) > cap:
                        raise ValueError(f"service reply over {cap} bytes")
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"service did not answer within {lim.service_timeout_s:g}s")
        reply = json.loads(bytes(data))
        if not isinstance(reply, dict):
            raise ValueError("service reply is not a JSON object")
        return reply

    def _error(self, detail: str, start: float) -> RunResult:
        return RunResult("sandbox_error", None, "", "", time.monotonic() - start, ("service",), detail)

    def _result(self, reply: dict, lim: SandboxLimits, start: float) -> RunResult:
        wall = time.monotonic() - start
        if reply.get("status") == "SandboxError":
            return self._error(f"service: {str(reply.get('message', ''))[:160]}", start)
        run = reply.get("run_result")
        if not isinstance(run, dict):
            return self._error("service reply has no run_result", start)
        stdout, stderr = str(run.get("stdout") or ""), str(run.get("stderr") or "")
        rc = run.get("return_code")
        r = RunResult(
            "ok",
            rc if isinstance(rc, int) else None,
            stdout[: lim.output_bytes],
            stderr[: lim.output_bytes],
            wall,
            ("service",),
        )
        files = reply.get("files") or {}
        raw = files.get(RESULTS_FILE) if isinstance(files, dict) else None
        if isinstance(raw, str):
            try:
                r.results = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                return self._error("service returned an unreadable results file", start)
        status = run.get("status")
        if status == "TimeLimitExceeded":
            why = "timeout"
        elif status == "Finished":
            why = ""
        else:
            return self._error(f"service run status {status!r}: {stderr[-160:]}", start)
        if len(stdout) + len(stderr) > lim.output_bytes:
            why = why or "output_limit"
        if len(r.results) > lim.result_bytes:
            why = why or "result_limit"
            r.results = r.results[: lim.result_bytes]
        if why == "" and r.returncode is None:
            return self._error("service run has no return code", start)
        _classify(r, why, lim)
        return r
