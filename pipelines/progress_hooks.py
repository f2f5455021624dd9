"""Progress callbacks of the builds this process drives, by build folder.

The flow body looks its build's callback up here (`get`), as task futures complete. Kept in a
module of its own so no flow or task function references the callback (or the console and locks
behind it) as a global: Dask pickles functions by value with the globals they name, and a module
pickles by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = Callable[[str, int, dict[str, Any]], None]

_HOOKS: dict[str, Hook] = {}


def register(out: str, hook: Hook) -> None:
    """Report the progress of the build into `out` to `hook`."""
    _HOOKS[out] = hook


def get(out: str) -> Hook | None:
    """The progress callback of the build into `out`, if any (only in the driving process)."""
    return _HOOKS.get(out)


def unregister(out: str) -> None:
    """Forget the callback of the build into `out`."""
    _HOOKS.pop(out, None)
