"""The registries of the generators package: procedural families, composition principles, teachers.

Modules register themselves at import time (at the bottom of each file); the registries import
every module of their package the first time a name is looked up.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from reasonmill.registry import Registry


def _import_package(package: str) -> None:
    mod = importlib.import_module(package)
    for info in pkgutil.iter_modules(mod.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")


def _load_families() -> None:
    _import_package("reasonmill.generators.families")


def _load_principles() -> None:
    _import_package("reasonmill.generators.principles")


def _load_teachers() -> None:
    importlib.import_module("reasonmill.generators.teacher")


FAMILIES: Registry[Any] = Registry("generator", loader=_load_families)
PRINCIPLES: Registry[Any] = Registry("principle", loader=_load_principles)
TEACHERS: Registry[Any] = Registry("teacher", loader=_load_teachers)
