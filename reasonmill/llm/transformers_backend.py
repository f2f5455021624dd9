"""Local transformers backend: a model folder on disk, CPU or GPU, no server.

torch and transformers are the optional extra "train" and are imported when the backend is
built. Prompts are rendered with the tokenizer's chat template when it has one, else as plain
`role: content` blocks (the same rendering as the HTTP backend's "completions" prefix mode).

- Batches of `batch_size` prompts, left-padded; `n` samples via `num_return_sequences`.
- `finish_reason` is "stop" when the model emitted EOS or a stop string, else "length".
- Stop strings are cut from the text, as OpenAI servers do.
- Banned opening words: a `LogitsProcessor` forbids, at the first generated position only, the
  first token of every tokenisation of each word (with and without a leading space/newline).
  That can also forbid other words sharing that first token — a deliberate over-ban: the
  first step must not switch. `BaseBackend.continue_prefix` then checks (and resamples) as for
  every backend.
- Seeds: `torch.manual_seed(seed)` before each batch when the sampling params carry one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from reasonmill.errors import LLMBackendUnavailable
from reasonmill.llm.base import BackendStats, BaseBackend
from reasonmill.llm.openai_compat import render_plain
from reasonmill.llm.registry import BACKENDS, BackendConfig, BackendKind
from reasonmill.llm.types import Completion, Message, MessageLike, SamplingParams, as_messages


class TransformersConfig(BackendConfig):
    """Config of kind "transformers"."""

    operational: ClassVar[frozenset[str]] = frozenset({"device", "batch_size"})

    kind: Literal["transformers"] = "transformers"
    model_path: str = Field(description="folder with config, weights and tokenizer")
    device: str = Field("auto", description='"cpu", "cuda", "cuda:1", or "auto" (cuda when available)')
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    batch_size: int = Field(8, ge=1)
    use_chat_template: bool = True


def first_token_ids(tokenizer: Any, words: Sequence[str]) -> list[int]:
    """Token ids that can start each of `words` at the beginning of a continuation."""
    ids: set[int] = set()
    for w in words:
        for variant in (w, " " + w, "\n" + w, "\n\n" + w, w.lower(), " " + w.lower()):
            toks = tokenizer.encode(variant, add_special_tokens=False)
            if toks:
                ids.add(int(toks[0]))
    return sorted(ids)


class TransformersBackend(BaseBackend):
    """The "transformers" backend."""

    def __init__(self, config: TransformersConfig) -> None:
        try:
            import torch
            import transformers
        except ImportError as e:
            raise LLMBackendUnavailable(
                f"backend 'transformers' needs torch and transformers (extra 'train'): {e}"
            ) from None
        self.torch, self.transformers = torch, transformers
        self.config = config
        self.model_id = config.model_path
        self.stats = BackendStats()
        device = config.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        dtype = "auto" if config.dtype == "auto" else getattr(torch, config.dtype)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(config.model_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = transformers.AutoModelForCausalLM.from_pretrained(config.model_path, dtype=dtype).to(
            device
        )
        self.model.eval()

    def _render(self, messages: list[Message], prefix: str | None) -> str:
        tok = self.tokenizer
        if self.config.use_chat_template and getattr(tok, "chat_template", None):
            msgs = [m.as_dict() for m in messages]
            if prefix is None:
                return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
            msgs.append({"role": "assistant", "content": prefix})
            return tok.apply_chat_template(msgs, tokenize=False, continue_final_message=True)
        if prefix is None:
            return render_plain(messages, "")
        return render_plain(messages, prefix)

    def _banned_processor(self, banned: Sequence[str]) -> Any:
        torch = self.torch
        ids = first_token_ids(self.tokenizer, banned)

        class FirstStepBan(self.transformers.LogitsProcessor):  # type: ignore[name-defined,misc]
            """Sets the banned first tokens to -inf at the first generated position only."""

            def __init__(self, prompt_len: int) -> None:
                self.prompt_len = prompt_len

            def __call__(self, input_ids: Any, scores: Any) -> Any:
                if input_ids.shape[1] == self.prompt_len and ids:
                    scores[:, ids] = -torch.inf
                return scores

        return FirstStepBan

    def _run(
        self, prompts: list[str], sampling: SamplingParams, banned: Sequence[str] = ()
    ) -> list[list[Completion]]:
        torch, tok = self.torch, self.tokenizer
        out: list[list[Completion]] = []
        processor_cls = self._banned_processor(banned) if banned else None
        for start in range(0, len(prompts), self.config.batch_size):
            batch = prompts[start : start + self.config.batch_size]
            enc = tok(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            prompt_len = enc["input_ids"].shape[1]
            kwargs: dict[str, Any] = {
                "max_new_tokens": sampling.max_tokens,
                "num_return_sequences": sampling.n,
                "pad_token_id": tok.pad_token_id,
            }
            if sampling.temperature > 0:
                kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
            else:
                kwargs.update(do_sample=False)
            if sampling.stop:
                kwargs.update(stop_strings=list(sampling.stop), tokenizer=tok)
            if processor_cls is not None:
                kwargs["logits_processor"] = self.transformers.LogitsProcessorList(
                    [processor_cls(prompt_len)]
                )
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
            with torch.no_grad():
                gen = self.model.generate(**enc, **kwargs)
            new = gen[:, prompt_len:]
            self.stats.add("requests", len(batch))
            for b in range(len(batch)):
                p_tokens = int(enc["attention_mask"][b].sum())
                self.stats.add("prompt_tokens", p_tokens)
                samples = []
                for s in range(sampling.n):
                    samples.append(self._completion(new[b * sampling.n + s].tolist(), sampling, p_tokens))
                out.append(samples)
        return out

    def _completion(self, ids: list[int], sampling: SamplingParams, prompt_tokens: int) -> Completion:
        tok = self.tokenizer
        eos = tok.eos_token_id
        finish = "length"
        if eos is not None and eos in ids:  # what follows EOS is padding from other rows
            ids = ids[: ids.index(eos)]
            finish = "stop"
        text = tok.decode(ids, skip_special_tokens=True)
        for s in sampling.stop:
            if s in text:
                text, finish = text[: text.index(s)], "stop"
        self.stats.add("completion_tokens", len(ids))
        return Completion(text, finish, prompt_tokens, len(ids), self.model_id)

    def generate(
        self, conversations: Sequence[Sequence[MessageLike]], sampling: SamplingParams
    ) -> list[list[Completion]]:
        """`sampling.n` samples per conversation."""
        prompts = [self._render(as_messages(c), None) for c in conversations]
        return self._run(prompts, sampling)

    def _continue(
        self,
        conversations: list[list[Message]],
        prefixes: list[str],
        sampling: SamplingParams,
        banned: Sequence[str],
    ) -> list[list[Completion]]:
        prompts = [self._render(c, p) for c, p in zip(conversations, prefixes, strict=True)]
        return self._run(prompts, sampling, banned)

    def close(self) -> None:
        """Drop the model (and free GPU memory when on GPU)."""
        self.model = None
        if self.device.startswith("cuda"):
            self.torch.cuda.empty_cache()


BACKENDS.register("transformers", BackendKind(TransformersConfig, TransformersBackend))
