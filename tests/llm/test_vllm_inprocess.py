"""The in-process vLLM backend: runs only where vllm imports and a GPU is present."""

from __future__ import annotations

import os

import pytest

from reasonmill.errors import LLMBackendUnavailable
from reasonmill.llm.registry import make_backend
from reasonmill.llm.types import SamplingParams


def _vllm_ready() -> bool:
    try:
        import torch
        import vllm  # noqa: F401
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def test_clear_error_without_vllm():
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(LLMBackendUnavailable, match="vllm_server"):
            make_backend({"kind": "vllm", "model": "any"})
    else:
        pytest.skip("vllm is installed here")


@pytest.mark.skipif(not _vllm_ready(), reason="needs vllm and a GPU")
def test_generate_and_continue_on_gpu():
    model = os.environ.get("REASONMILL_VLLM_TEST_MODEL", "Qwen/Qwen2.5-0.5B-Instruct")
    b = make_backend({"kind": "vllm", "model": model, "gpu_memory_utilization": 0.3, "max_model_len": 2048})
    try:
        out = b.generate([[{"role": "user", "content": "What is 2+2?"}]], SamplingParams(n=2, max_tokens=32))
        assert len(out[0]) == 2 and all(c.completion_tokens > 0 for c in out[0])
        cont = b.continue_prefix(
            [[{"role": "user", "content": "What is 2+2?"}]],
            ["2+2 is"],
            SamplingParams(max_tokens=8),
            ["Wait"],
        )
        assert cont[0][0].text and "banned_violation" not in cont[0][0].meta
    finally:
        b.close()
