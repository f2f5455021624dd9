"""Reward functions with TRL's signature, for GRPO on the project's verifiers.

TRL calls a reward function as `f(prompts=..., completions=..., completion_ids=..., **dataset_columns)`
and takes `list[float | None]`; None means "no reward for this sample" (TRL's own `accuracy_reward`
returns None when the gold cannot be parsed). The gold column is `solution`; the `kind` column
picks the verifier per row (math by default). Completions may be plain strings or conversations
(lists of messages; the last assistant message is graded).

Every check runs in the shared verifier worker pool under a hard per-item timeout, so a hostile
completion (a tower of exponents, a program that never halts) costs at most `timeout_s` and reads as
0.0, never hangs the trainer; math-verify's signal-based timeouts work because checks run on worker
processes' main threads. An answer kind with no verifier is an error (`UnknownKindError`) — at load
time through `require_known_kinds`, and at the latest on the first call — never a silent None.

- `AccuracyReward` / `accuracy_reward`: 1.0 correct, 0.0 wrong/no answer/timeout, None unverifiable gold.
- `format_reward`: 1.0 for one `<think>…</think>` block followed by a final answer (`\\boxed{}` or
  `<answer>…</answer>`), 0.5 for a closed think block without a final answer, else 0.0.
- `LengthAwareAccuracy`: accuracy plus Kimi k1.5's length term within each prompt's group,
  λ = 0.5 − (len − min_len)/(max_len − min_len); correct samples get +w·λ, wrong ones +w·min(0, λ).

>>> accuracy_reward([[{"role": "assistant", "content": "\\\\boxed{4}"}]], solution=["4"])
[1.0]
>>> format_reward(["<think>2+2</think> The answer is \\\\boxed{4}.", "4"])
[1.0, 0.0]
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from reasonmill.errors import ReasonmillError
from reasonmill.records import Reason
from reasonmill.verifiers.base import VERIFIERS, VerifyPolicy
from reasonmill.verifiers.pool import CheckItem, shared_pool

# Reasons after which the sample earns no reward signal at all (could not check the gold).
_NO_SIGNAL = {Reason.UNVERIFIABLE.value}


class UnknownKindError(ReasonmillError, ValueError):
    """An answer kind no registered verifier checks; the message lists the kinds that exist."""


def known_kinds() -> list[str]:
    """Every answer kind a registered verifier checks (plus the verifiers' own names)."""
    kinds: set[str] = set()
    for name, v in VERIFIERS.items():
        kinds.add(name)
        kinds.update(v.kinds)
    return sorted(kinds)


def require_known_kinds(kinds: Iterable[str], where: str = "dataset") -> None:
    """Raise `UnknownKindError` naming the first kind in `kinds` that no verifier checks."""
    known = set(known_kinds())
    unknown = sorted({str(k) for k in kinds} - known)
    if unknown:
        raise UnknownKindError(
            f"{where}: answer kind {unknown[0]!r} has no verifier"
            f"{f' (also {unknown[1:]})' if len(unknown) > 1 else ''}; known kinds: {', '.join(sorted(known))}"
        )


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a plain string, or a conversation's last assistant message."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        msgs = [m for m in completion if isinstance(m, dict)]
        assistant = [m for m in msgs if m.get("role") == "assistant"] or msgs
        return str(assistant[-1].get("content", "")) if assistant else ""
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return str(completion)


class AccuracyReward:
    """TRL reward: verifier correctness of each completion against its `solution`.

    Callable as `f(completions, solution, kind=None, **kwargs) -> list[float | None]`. 1.0 when
    the answer matches, 0.0 when wrong, missing, timed out or crashed (the model did not produce a
    checkable answer in time), None when the gold itself is unverifiable.
    """

    __name__ = "accuracy"

    def __init__(
        self,
        workers: int = 2,
        timeout_s: float = 10.0,
        policy: VerifyPolicy | None = None,
        default_kind: str = "math",
    ) -> None:
        require_known_kinds([default_kind], "default_kind")
        self.workers, self.timeout_s, self.policy, self.default_kind = (
            workers,
            timeout_s,
            policy,
            default_kind,
        )
        self._checked_kinds: set[str] = set()

    def verdicts(
        self, completions: list[Any], solution: list[str], kind: list[str] | None = None
    ) -> list[Any]:
        """The verifier verdicts for each (completion, solution, kind), in order."""
        kinds = (
            [k or self.default_kind for k in kind]
            if kind is not None
            else [self.default_kind] * len(solution)
        )
        new = set(kinds) - self._checked_kinds
        if new:
            require_known_kinds(new, "reward 'kind' column")
            self._checked_kinds |= new
        items = [
            CheckItem(k, str(s), completion_text(c))
            for c, s, k in zip(completions, solution, kinds, strict=True)
        ]
        return shared_pool(self.workers, self.timeout_s, self.policy).check_many(items)

    def __call__(
        self, completions: list[Any], solution: list[str], kind: list[str] | None = None, **kwargs: Any
    ) -> list[float | None]:
        """Rewards aligned with `completions`."""
        return [
            None if v.reason in _NO_SIGNAL else float(v.passed)
            for v in self.verdicts(completions, solution, kind)
        ]


def accuracy_reward(
    completions: list[Any],
    solution: list[str],
    kind: list[str] | None = None,
    policy: VerifyPolicy | None = None,
    workers: int = 2,
    timeout_s: float = 10.0,
    **kwargs: Any,
) -> list[float | None]:
    """Function form of `AccuracyReward` (TRL signature): 1.0/0.0 per completion, None for unverifiable gold."""
    return AccuracyReward(workers, timeout_s, policy)(completions, solution, kind)


_THINK = re.compile(r"^\s*<think>(?P<think>(?:(?!<think>).)*?)</think>(?P<rest>.*)$", re.DOTALL)
_FINAL = re.compile(r"\\boxed\{.+\}|<answer>.+?</answer>", re.DOTALL)


def format_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """1.0 for `<think>…</think>` then a final answer (boxed or `<answer>` tags), 0.5 for the
    think block alone, 0.0 otherwise (no think block, a nested or second one, an empty one)."""
    out = []
    for c in completions:
        m = _THINK.match(completion_text(c))
        if m is None or not m["think"].strip() or "<think>" in m["rest"] or "</think>" in m["rest"]:
            out.append(0.0)
        else:
            out.append(1.0 if _FINAL.search(m["rest"]) else 0.5)
    return out


format_reward.__name__ = "format"


def _length(completion: Any, ids: Any) -> int:
    if ids is not None:
        return len(ids)
    return len(completion_text(completion).split())


class LengthAwareAccuracy(AccuracyReward):
    """Accuracy plus a length term within each prompt's group (Kimi k1.5's length penalty).

    For a group of samples of one prompt with lengths in [min_len, max_len],
    λ = 0.5 − (len − min_len)/(max_len − min_len) (0 when all are equally long); a correct sample
    earns `1 + weight·λ`, a wrong one `weight·min(0, λ)`: shorter correct answers win, long wrong
    ones lose, and a short wrong answer gains nothing over a long wrong one. Lengths are token ids
    when TRL passes `completion_ids`, else whitespace words.
    """

    __name__ = "length_aware_accuracy"

    def __init__(self, weight: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.weight = weight

    def __call__(
        self,
        completions: list[Any],
        solution: list[str],
        kind: list[str] | None = None,
        prompts: list[Any] | None = None,
        completion_ids: list[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """Rewards aligned with `completions`; samples are grouped by prompt (by solution without prompts)."""
        acc = super().__call__(completions, solution, kind)
        keys = [repr(p) for p in prompts] if prompts is not None else [str(s) for s in solution]
        lengths = [
            _length(c, completion_ids[i] if completion_ids else None) for i, c in enumerate(completions)
        ]
        groups: dict[str, list[int]] = defaultdict(list)
        for i, k in enumerate(keys):
            groups[k].append(i)
        out: list[float | None] = list(acc)
        for idx in groups.values():
            lo, hi = min(lengths[i] for i in idx), max(lengths[i] for i in idx)
            for i in idx:
                if acc[i] is None:
                    continue
                lam = 0.0 if hi == lo else 0.5 - (lengths[i] - lo) / (hi - lo)
                out[i] = acc[i] + self.weight * (lam if acc[i] > 0 else min(0.0, lam))
        return out


__all__ = [
    "AccuracyReward",
    "LengthAwareAccuracy",
    "UnknownKindError",
    "accuracy_reward",
    "completion_text",
    "format_reward",
    "known_kinds",
    "require_known_kinds",
]
