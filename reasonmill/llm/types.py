"""Small typed values that cross the LLM backend boundary: messages, sampling params, completions.

Backends return `Completion`s, never raw provider JSON, so stages can treat every backend alike:

>>> c = Completion(text="4", finish_reason="stop", prompt_tokens=9, completion_tokens=1, model="m")
>>> c.ok
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; `role` is system, user, assistant or tool."""

    role: str
    content: str

    def as_dict(self) -> dict[str, str]:
        """The OpenAI wire shape, `{"role": ..., "content": ...}`."""
        return {"role": self.role, "content": self.content}


MessageLike = Message | Mapping[str, Any]
"""Callers may pass `Message`s or plain `{"role", "content"}` dicts; backends normalise them."""


def as_messages(conversation: Sequence[MessageLike]) -> list[Message]:
    """Normalise one conversation to `Message`s; a dict without role or content raises ValueError."""
    out = []
    for i, m in enumerate(conversation):
        if isinstance(m, Message):
            out.append(m)
            continue
        try:
            out.append(Message(role=str(m["role"]), content=str(m["content"])))
        except (KeyError, TypeError):
            raise ValueError(f"message {i} needs 'role' and 'content', got {m!r}") from None
    return out


class SamplingParams(BaseModel):
    """How to sample: the subset of knobs every backend understands.

    Frozen and hashable so it can be part of a cache key; `extra="forbid"` so a misspelt knob in a
    config is an error naming the field, not a silently ignored setting.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(1.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(1024, ge=1)
    n: int = Field(1, ge=1)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # Ask for the top log-probabilities of the first generated token (a judge's P("1") vs P("0")).
    # Backends that can put them in `Completion.meta["top_logprobs"]` as a token -> logprob map.
    top_logprobs: int | None = Field(None, ge=1, le=20)

    def with_n(self, n: int) -> SamplingParams:
        """A copy asking for `n` samples (used to top up partly cached requests)."""
        return self.model_copy(update={"n": n})


FinishReason = Literal["stop", "length", "error", "content_filter", "tool_calls"]


@dataclass(slots=True)
class Completion:
    """One sampled reply.

    `finish_reason` is "stop" for a complete reply, "length" when cut off by `max_tokens`, "error"
    when the request failed for good (then `error` says why and `text` is empty or the raw body).
    `meta` carries backend notes, e.g. `banned_violation` when a banned opening word could not be
    avoided, `cached` when the answer came from the request cache.
    """

    text: str
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True for a complete reply (finish reason "stop"): the only kind the cache keeps."""
        return self.finish_reason == "stop" and self.error is None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (for the cache and for logs)."""
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "model": self.model,
            "error": self.error,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Completion:
        """Inverse of `to_dict`."""
        return cls(
            text=d["text"],
            finish_reason=d["finish_reason"],
            prompt_tokens=int(d.get("prompt_tokens", 0)),
            completion_tokens=int(d.get("completion_tokens", 0)),
            model=d.get("model", ""),
            error=d.get("error"),
            meta=dict(d.get("meta") or {}),
        )


def error_completion(message: str, model: str = "", raw: str | None = None) -> Completion:
    """A Completion standing for a request that failed for good; `raw` keeps a malformed body."""
    meta = {"raw": raw} if raw is not None else {}
    return Completion(text="", finish_reason="error", model=model, error=message, meta=meta)


GenerationResult = list[Completion]
"""The samples for one conversation, in the order the backend returned them."""
