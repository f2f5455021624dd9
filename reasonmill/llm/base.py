"""What every LLM backend is: the protocol callers use, the base class that owns banned-word
continuation, and the counters a backend keeps.

Every backend offers two batched calls, both synchronous because stages are plain Python run in
Prefect worker threads:

- `generate(conversations, sampling)` → for each conversation, `sampling.n` Completions;
- `continue_prefix(conversations, prefixes, sampling, banned_prefix_words)` → continue an assistant
  message from `prefix`, never opening the continuation with one of `banned_prefix_words`
  (Retro-Search forbids "Wait", "Alternatively", … at the first step of a rollout).

`BaseBackend` implements `continue_prefix` once for every backend: the backend's raw continuation
(`_continue`), then rejection of samples that open with a banned word — resampled with a derived
seed, up to `banned_max_tries` rounds — and `meta["banned_violation"]` on any sample that still
does, so the caller can reject it. A backend that can forbid tokens outright (a logits processor,
`logit_bias`) uses the `banned` hint inside `_continue`; the check after it is the same for all.

>>> banned_opening("  Wait, no.", ["Wait", "But wait"])
'Wait'
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

from reasonmill.llm.types import Completion, Message, MessageLike, SamplingParams, as_messages

_METERS: ContextVar[tuple[BackendStats, ...]] = ContextVar("reasonmill_llm_meters", default=())


@dataclass(slots=True)
class BackendStats:
    """Counters a backend keeps: what it asked, how often it retried, what it spent.

    `failures` counts requests that failed for good; `failure_causes` says why, by cause
    ("http_503", "timeout", "connection", "malformed", "circuit_open", "too_large", ...).
    Backends count through `add` and `fail`, which also count into every `meter()` open in the
    calling context, so a caller sharing one backend with other threads can still tell what its
    own calls cost (the context travels into the backend's event loop with each call).
    """

    requests: int = 0
    retries: int = 0
    failures: int = 0
    rate_limited: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    banned_resamples: int = 0
    # Replies with fewer choices than the `n` asked (the missing slots are then asked one by one).
    short_replies: int = 0
    failure_causes: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int = 1) -> None:
        """Add `n` to counter `name`, here and in every meter open in this context."""
        for s in (self, *_METERS.get()):
            setattr(s, name, getattr(s, name) + n)

    def fail(self, cause: str) -> None:
        """Count one request that failed for good, under `cause` (here and in open meters)."""
        for s in (self, *_METERS.get()):
            s.failures += 1
            s.failure_causes[cause] = s.failure_causes.get(cause, 0) + 1

    def merge(self, other: BackendStats) -> None:
        """Add every counter of `other` to this one (not mirrored to meters)."""
        for f in fields(self):
            if f.name == "failure_causes":
                for k, v in other.failure_causes.items():
                    self.failure_causes[k] = self.failure_causes.get(k, 0) + v
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for manifests and logs."""
        return asdict(self)


@contextmanager
def meter() -> Iterator[BackendStats]:
    """Count what the backend calls made inside this block cost, whichever backend and thread
    shares them: yields a fresh `BackendStats` that every `add`/`fail` in this context updates.

    >>> with meter() as m:
    ...     BackendStats().add("requests", 2)
    >>> m.requests
    2
    """
    own = BackendStats()
    token = _METERS.set((*_METERS.get(), own))
    try:
        yield own
    finally:
        _METERS.reset(token)


@runtime_checkable
class LLMBackend(Protocol):
    """What callers may rely on from any backend (a `BaseBackend` or a wrapper such as the cache).

    Results are aligned with the input conversations.
    """

    model_id: str
    stats: BackendStats

    def generate(
        self, conversations: Sequence[Sequence[MessageLike]], sampling: SamplingParams
    ) -> list[list[Completion]]:
        """`sampling.n` completions per conversation; a failed request gives "error" completions."""
        ...

    def continue_prefix(
        self,
        conversations: Sequence[Sequence[MessageLike]],
        prefixes: Sequence[str],
        sampling: SamplingParams,
        banned_prefix_words: Sequence[str] = (),
    ) -> list[list[Completion]]:
        """Continue the assistant reply `prefixes[i]`; the text returned is the continuation only."""
        ...

    def close(self) -> None:
        """Release connections, processes and GPU memory; idempotent."""
        ...


def banned_opening(text: str, banned_words: Sequence[str]) -> str | None:
    """The banned word `text` opens with (ignoring leading whitespace and case), else None.

    A word only matches whole: "Waiting" does not open with "Wait"; "Wait," does.

    >>> banned_opening("Waiting is over", ["Wait"]) is None
    True
    """
    head = text.lstrip().lower()
    for word in banned_words:
        w = word.strip().lower()
        if w and head.startswith(w) and not re.match(r"\w", head[len(w) : len(w) + 1]):
            return word
    return None


def derived_seed(seed: int | None, round_: int) -> int | None:
    """A fresh, reproducible seed for resampling round `round_` (None stays None)."""
    if seed is None:
        return None
    return int(hashlib.sha256(f"{seed}:resample:{round_}".encode()).hexdigest()[:8], 16)


class BaseBackend(ABC):
    """Base class of the backend kinds: `generate` and a raw `_continue` are theirs; banned-word
    continuation (`continue_prefix`) is done here, once, for all of them."""

    model_id: str
    stats: BackendStats
    banned_max_tries: int = 4

    @abstractmethod
    def generate(
        self, conversations: Sequence[Sequence[MessageLike]], sampling: SamplingParams
    ) -> list[list[Completion]]:
        """`sampling.n` completions per conversation."""

    @abstractmethod
    def _continue(
        self,
        conversations: list[list[Message]],
        prefixes: list[str],
        sampling: SamplingParams,
        banned: Sequence[str],
    ) -> list[list[Completion]]:
        """`sampling.n` raw continuations of each prefix. `banned` is a hint: a backend that can
        forbid the first token (logits processor, logit_bias) should; the check is done after."""

    def continue_prefix(
        self,
        conversations: Sequence[Sequence[MessageLike]],
        prefixes: Sequence[str],
        sampling: SamplingParams,
        banned_prefix_words: Sequence[str] = (),
    ) -> list[list[Completion]]:
        """Continue each assistant prefix; samples that open with a banned word are resampled (a
        derived seed per round, one request per conversation with the bad samples), and the ones
        that still do carry `meta["banned_violation"]`."""
        if len(prefixes) != len(conversations):
            raise ValueError(f"{len(conversations)} conversations but {len(prefixes)} prefixes")
        convs = [as_messages(c) for c in conversations]
        prefixes = list(prefixes)
        banned = list(banned_prefix_words)
        out = self._continue(convs, prefixes, sampling, banned)
        if not banned:
            return out
        for round_ in range(1, self.banned_max_tries):
            bad = {
                i: [j for j, c in enumerate(cs) if c.error is None and banned_opening(c.text, banned)]
                for i, cs in enumerate(out)
            }
            bad = {i: js for i, js in bad.items() if js}
            if not bad:
                break
            self.stats.add("banned_resamples", sum(len(js) for js in bad.values()))
            # One request per conversation with bad samples: n = how many, a seed for this round.
            by_n: dict[int, list[int]] = {}
            for i, js in bad.items():
                by_n.setdefault(len(js), []).append(i)
            for n, idx in by_n.items():
                params = sampling.model_copy(update={"n": n, "seed": derived_seed(sampling.seed, round_)})
                fresh = self._continue([convs[i] for i in idx], [prefixes[i] for i in idx], params, banned)
                for i, cs in zip(idx, fresh, strict=True):
                    for j, c in zip(bad[i], cs, strict=False):
                        out[i][j] = c
        for cs in out:
            for c in cs:
                word = banned_opening(c.text, banned) if c.error is None else None
                if word is not None:
                    c.meta["banned_violation"] = word
        return out

    def capabilities(self, probe: bool = True) -> dict[str, Any]:
        """What the backend supports: `served_model`, `n`, `prefix`, `logprobs` (see the
        OpenAI-compatible backend, which finds them out). In-process backends render the prompt
        themselves, so they sample n and continue prefixes natively; they return no logprobs."""
        return {"served_model": self.model_id, "n": "native", "prefix": "native", "logprobs": False}

    def close(self) -> None:  # noqa: B027 - a backend with nothing to release keeps the default
        """Release what the backend holds; idempotent. Default: nothing."""
