"""LLM backends: one protocol, several kinds, a content-keyed request cache, a loopback test server.

>>> from reasonmill.llm import make_backend, SamplingParams
>>> backend = make_backend({"kind": "openai", "model": "m", "base_url": "http://127.0.0.1:8000/v1"})  # doctest: +SKIP
>>> backend.generate([[{"role": "user", "content": "2+2?"}]], SamplingParams(n=2))  # doctest: +SKIP

Kinds (the registry `BACKENDS` lists them): "openai" (any OpenAI-compatible server, several
replicas), "vllm_server" (a managed `vllm serve` subprocess), "vllm" (in-process), "transformers".
Core package: imports no stage package and never Prefect; heavy libraries load lazily.
"""

from reasonmill.llm.base import BACKENDS, BackendStats, LLMBackend, make_backend
from reasonmill.llm.cache import CachedBackend, RequestCache, request_key
from reasonmill.llm.types import Completion, GenerationResult, Message, SamplingParams

__all__ = [
    "BACKENDS",
    "BackendStats",
    "CachedBackend",
    "Completion",
    "GenerationResult",
    "LLMBackend",
    "Message",
    "RequestCache",
    "SamplingParams",
    "make_backend",
    "request_key",
]
