"""Engines: one module per database, behind one small interface (``base.py``).

``open_engine(target, root)`` is the only way the rest of the runner gets one: the
target's ``type`` in profiles.yml chooses the class, so no command names an engine.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..project import Target
    from .base import Engine

# type in profiles.yml -> (module, class, the package it needs, how to install it)
ENGINES: dict[str, tuple[str, str, str, str]] = {
    "duckdb": ("runner.engines.duckdb", "DuckDBEngine", "duckdb", 'pip install -e "."'),
    "spark": ("runner.engines.spark", "SparkEngine", "pyspark", 'pip install -e ".[spark]"'),
}


def engine_class(target: Target) -> type[Engine]:
    """The engine class for the target's ``type``; a clear error when the type is unknown
    or its driver is not installed."""
    entry = ENGINES.get(target.type)
    if entry is None:
        raise UsageError(
            f"target '{target.name}' has unknown type {target.type!r}",
            path=target.profiles_path,
            hint=f"use one of: {', '.join(ENGINES)}",
        )
    module_name, class_name, package, install = entry
    if importlib.util.find_spec(package) is None:
        raise UsageError(
            f"target '{target.name}' is type {target.type}, but {package} is not installed",
            path=target.profiles_path,
            hint=f"install it with: {install}",
        )
    return getattr(importlib.import_module(module_name), class_name)


def open_engine(target: Target, root: Path) -> Engine:
    """Connect to the target's database (an ``Engine``, to be closed or used with ``with``)."""
    return engine_class(target)(target, root)
