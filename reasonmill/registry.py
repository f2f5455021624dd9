"""Registries: names are the config vocabulary.

A generator, verifier, principle or stage registers itself under a name at the bottom of its own
module; configs refer to names; an unknown name raises `RegistryError` listing the known ones, so
help text and error messages never drift from what is really there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from reasonmill.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object table for one kind of thing (e.g. "generator")."""

    def __init__(self, kind: str, loader: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._loader = loader
        self._loaded = False

    def _ensure_loaded(self) -> None:
        # Entries register on import; the loader imports the modules that hold them. Loading lazily
        # keeps core free of imports of the stage packages.
        if not self._loaded and self._loader is not None:
            self._loaded = True
            self._loader()

    def register(self, name: str, obj: T, *, replace: bool = False) -> T:
        """Add `obj` under `name`; registering a taken name twice is an error unless `replace`."""
        if not replace and name in self._entries and self._entries[name] is not obj:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        self._entries[name] = obj
        return obj

    def get(self, name: str) -> T:
        """Return the entry called `name`, or raise `RegistryError` listing the known names."""
        self._ensure_loaded()
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(self.kind, name, list(self._entries)) from None

    def names(self) -> list[str]:
        """Sorted registered names."""
        self._ensure_loaded()
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        """(name, entry) pairs in name order."""
        self._ensure_loaded()
        for name in sorted(self._entries):
            yield name, self._entries[name]

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._entries

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._entries)
