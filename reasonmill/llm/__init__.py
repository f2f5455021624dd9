"""LLM backends: one protocol, several kinds, a content-keyed request cache.

>>> from reasonmill.llm import make_backend, SamplingParams
>>> backend = make_backend({"kind": "openai", "model": "m", "base_url": "http://127.0.0.1:8000/v1"})  # doctest: +SKIP
>>> backend.generate([[{"role": "user", "content": "2+2?"}]], SamplingParams(n=2))  # doctest: +SKIP

Modules, one job each:
- `types`: messages, sampling params, completions (what crosses the backend boundary);
- `base`: the `LLMBackend` protocol, `BaseBackend` (banned-word continuation, once), `BackendStats`;
- `registry`: backend kinds (`BACKENDS`), their config models, `make_backend`;
- `cache`: the content-keyed request cache (`CachedBackend`);
- `aio`, `transport`, `retry`, `replies`, `endpoints`: the HTTP client's event loop, transport,
  retry policy, reply parsing and replica pool;
- kinds: `openai_compat` ("openai"), `vllm_server` (a managed `vllm serve`), `vllm_inprocess`
  ("vllm"), `transformers_backend` ("transformers").
Core package: imports no stage package and never Prefect; heavy libraries load lazily. The
loopback test server lives in `reasonmill.testing.loopback`.
"""

from reasonmill.llm.base import BackendStats, BaseBackend, LLMBackend, meter
from reasonmill.llm.cache import CachedBackend, RequestCache, request_key
from reasonmill.llm.registry import BACKENDS, BackendConfig, make_backend
from reasonmill.llm.types import Completion, GenerationResult, Message, SamplingParams

__all__ = [
    "BACKENDS",
    "BackendConfig",
    "BackendStats",
    "BaseBackend",
    "CachedBackend",
    "Completion",
    "GenerationResult",
    "LLMBackend",
    "Message",
    "RequestCache",
    "SamplingParams",
    "make_backend",
    "meter",
    "request_key",
]
