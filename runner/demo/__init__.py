"""Demo data: a synthetic shop's raw tables, following the landing contract (docs/sources.md)."""

from __future__ import annotations

from .catalog import NULLABLE, TABLES
from .generate import FORMATS, generate

__all__ = ["FORMATS", "NULLABLE", "TABLES", "generate"]
