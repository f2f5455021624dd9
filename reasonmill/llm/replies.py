"""Reading OpenAI-compatible replies: choices, finish reasons, usage and logprobs into Completions.

Pure functions of the decoded JSON, unit-tested without a server. A body that is not a completion
(no choices, not an object) raises `MalformedReply` with the raw text kept.
"""

from __future__ import annotations

import json
from typing import Any

from reasonmill.llm.retry import MalformedReply
from reasonmill.llm.types import Completion


def first_token_logprobs(logprobs: Any) -> dict[str, float] | None:
    """The first generated token's top log-probabilities as a token -> logprob map, from a choice's
    `logprobs` in either wire shape: chat (`{"content": [{"top_logprobs": [{"token", "logprob"}]}]}`)
    or completions (`{"top_logprobs": [{token: logprob}]}`); None when the server sent none.

    >>> first_token_logprobs({"content": [{"token": "1", "logprob": -0.1, "top_logprobs": [{"token": "1", "logprob": -0.1}]}]})
    {'1': -0.1}
    """
    if not isinstance(logprobs, dict):
        return None
    content = logprobs.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        tops = content[0].get("top_logprobs") or [content[0]]
        return {str(t["token"]): float(t["logprob"]) for t in tops if isinstance(t, dict) and "token" in t}
    tops = logprobs.get("top_logprobs")
    if isinstance(tops, list) and tops and isinstance(tops[0], dict):
        return {str(k): float(v) for k, v in tops[0].items()}
    return None


def split_tokens(total: int, texts: list[str]) -> list[int]:
    """Usage is per request; with n > 1 share it out by text length (exact when n == 1).

    >>> split_tokens(10, ["ab", "abc", "abcde"])
    [2, 3, 5]
    """
    if len(texts) == 1:
        return [total]
    weights = [max(1, len(t)) for t in texts]
    return [round(total * w / sum(weights)) for w in weights]


def parse_reply(kind: str, body: bytes, default_model: str) -> list[Completion]:
    """The Completions of a reply body to a "chat" or "completion" request, sorted by choice index."""
    try:
        data = json.loads(body)
    except ValueError as e:
        raise MalformedReply(f"not JSON: {e}", body[:2000].decode(errors="replace")) from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not choices or not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise MalformedReply(f"reply has no choices: {str(data)[:200]}", body[:2000].decode(errors="replace"))
    choices = sorted(choices, key=lambda ch: ch.get("index", 0) if isinstance(ch.get("index"), int) else 0)
    if kind == "chat":
        texts = [str((ch.get("message") or {}).get("content") or "") for ch in choices]
    else:
        texts = [str(ch.get("text") or "") for ch in choices]
    usage = data.get("usage") or {}
    try:
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
    except (TypeError, ValueError, AttributeError):
        prompt_tokens = completion_tokens = 0
    model = str(data.get("model") or default_model)
    out = []
    for ch, text, k in zip(choices, texts, split_tokens(completion_tokens, texts), strict=True):
        c = Completion(
            text=text,
            finish_reason=str(ch.get("finish_reason") or "stop"),
            prompt_tokens=prompt_tokens,
            completion_tokens=k,
            model=model,
        )
        top = first_token_logprobs(ch.get("logprobs"))
        if top is not None:
            c.meta["top_logprobs"] = top
        out.append(c)
    return out
