"""Errors that name what is wrong: the field, the file, the registry name.

Every error a user can cause derives from `ReasonmillError`, so the CLI can print it as one clean
line instead of a traceback.
"""

from __future__ import annotations


class ReasonmillError(Exception):
    """Base class of every error reasonmill raises on bad input or state."""


class ConfigError(ReasonmillError, ValueError):
    """A configuration value is invalid; `field` is the dotted path of the offending key."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"config field '{field}': {message}")


class RegistryError(ReasonmillError, KeyError):
    """A name is not registered; the message lists the names that are."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind, self.name, self.known = kind, name, known
        super().__init__(f"unknown {kind} '{name}'; known {kind}s: {', '.join(sorted(known)) or '(none)'}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ShardError(ReasonmillError):
    """A shard is corrupt, foreign or does not match the schema; names the file, row and field."""

    def __init__(self, path: str, message: str, row: int | None = None, field: str | None = None) -> None:
        self.path, self.row, self.field = path, row, field
        where = path
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class LLMError(ReasonmillError):
    """Base class of the errors an LLM backend raises (core: `reasonmill.llm`)."""


class LLMRequestError(LLMError):
    """A request failed for good: a non-retryable status (bad key, unknown model) or retries ran out.

    `status` is the HTTP status when there was one; `attempts` how many tries were made.
    """

    def __init__(self, message: str, status: int | None = None, attempts: int = 1) -> None:
        self.status, self.attempts = status, attempts
        super().__init__(message)


class LLMResponseError(LLMError):
    """A server answered with something that is not a valid completion (malformed JSON, no choices)."""


class LLMServerError(LLMError):
    """A managed model server (e.g. `vllm serve`) failed to start, exited, or never became healthy."""


class LLMBackendUnavailable(LLMError):
    """A backend's optional dependency (vllm, torch, transformers) is not importable here."""


class LLMCapabilityError(LLMError):
    """A backend cannot do what a stage needs of it (e.g. continue an assistant prefix), and no
    other mode it knows can; the message names the backend and what to configure instead."""
