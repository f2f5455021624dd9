"""vLLM in-process: `vllm.LLM` and `vllm.SamplingParams`, for environments where vllm imports.

Most installs cannot have vllm next to Prefect (see `vllm_server`); where it can (a dedicated GPU
environment running stages without the Prefect server), this skips HTTP entirely. vllm is
imported when the backend is built, never at module import.

- `generate`: `LLM.chat(conversations, SamplingParams(n=…), use_tqdm=False)`; vLLM applies the
  model's chat template and batches internally.
- `continue_prefix`: the prefix is the final assistant message, with
  `add_generation_prompt=False, continue_final_message=True`, so the template is applied and the
  reply continues the prefix.
- Banned opening words: by rejection in `BaseBackend.continue_prefix` (vLLM's `bad_words` applies
  to every position, not just the first).
- Token counts come from the request outputs' token ids; `finish_reason` is vLLM's ("stop" or
  "length").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from reasonmill.errors import LLMBackendUnavailable
from reasonmill.llm.base import BackendStats, BaseBackend
from reasonmill.llm.registry import BACKENDS, BackendConfig, BackendKind
from reasonmill.llm.types import Completion, Message, MessageLike, SamplingParams, as_messages


class VllmInprocessConfig(BackendConfig):
    """Config of kind "vllm": arguments of `vllm.LLM`."""

    operational: ClassVar[frozenset[str]] = frozenset({"tensor_parallel_size", "gpu_memory_utilization"})

    kind: Literal["vllm"] = "vllm"
    model: str
    tensor_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = None
    dtype: str = "auto"
    seed: int | None = None
    banned_max_tries: int = Field(4, ge=1)
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="more `vllm.LLM` keyword arguments"
    )


class VllmInprocessBackend(BaseBackend):
    """The "vllm" backend (needs `import vllm` and a GPU)."""

    def __init__(self, config: VllmInprocessConfig) -> None:
        try:
            import vllm
        except ImportError as e:
            raise LLMBackendUnavailable(
                f"backend 'vllm' needs the vllm package ({e}); use kind 'vllm_server' to run vLLM from "
                "its own environment"
            ) from None
        self._vllm = vllm
        self.config = config
        self.model_id = config.model
        self.stats = BackendStats()
        self.banned_max_tries = config.banned_max_tries
        kwargs: dict[str, Any] = {
            "tensor_parallel_size": config.tensor_parallel_size,
            "gpu_memory_utilization": config.gpu_memory_utilization,
            "dtype": config.dtype,
            **config.engine_kwargs,
        }
        if config.max_model_len is not None:
            kwargs["max_model_len"] = config.max_model_len
        if config.seed is not None:
            kwargs["seed"] = config.seed
        self.llm: Any = vllm.LLM(model=config.model, **kwargs)

    def _params(self, sampling: SamplingParams, n: int, seed: int | None) -> Any:
        return self._vllm.SamplingParams(
            n=n,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            stop=list(sampling.stop) or None,
            seed=seed,
        )

    def _chat(
        self, convs: list[list[dict[str, str]]], params: Any, continue_final: bool
    ) -> list[list[Completion]]:
        self.stats.add("requests", len(convs))
        outputs = self.llm.chat(
            convs,
            params,
            use_tqdm=False,
            add_generation_prompt=not continue_final,
            continue_final_message=continue_final,
        )
        result = []
        for out in outputs:
            prompt_tokens = len(out.prompt_token_ids or [])
            self.stats.add("prompt_tokens", prompt_tokens)
            samples = []
            for o in out.outputs:
                k = len(o.token_ids)
                self.stats.add("completion_tokens", k)
                samples.append(Completion(o.text, o.finish_reason or "stop", prompt_tokens, k, self.model_id))
            result.append(samples)
        return result

    def generate(
        self, conversations: Sequence[Sequence[MessageLike]], sampling: SamplingParams
    ) -> list[list[Completion]]:
        """`sampling.n` samples per conversation via `LLM.chat`."""
        convs = [[m.as_dict() for m in as_messages(c)] for c in conversations]
        return self._chat(convs, self._params(sampling, sampling.n, sampling.seed), continue_final=False)

    def _continue(
        self,
        conversations: list[list[Message]],
        prefixes: list[str],
        sampling: SamplingParams,
        banned: Sequence[str],
    ) -> list[list[Completion]]:
        convs = [
            [m.as_dict() for m in c] + [{"role": "assistant", "content": p}]
            for c, p in zip(conversations, prefixes, strict=True)
        ]
        return self._chat(convs, self._params(sampling, sampling.n, sampling.seed), continue_final=True)

    def close(self) -> None:
        """Drop the engine so its GPU memory can be freed."""
        self.llm = None


BACKENDS.register("vllm", BackendKind(VllmInprocessConfig, VllmInprocessBackend))
