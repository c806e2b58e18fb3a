"""Everything sqlglot, and the only place that imports it.

``analysis``: parse a compiled model, report syntax errors at the source line, find the
tables it reads and its output columns. ``statements``: the DDL/DML the runner writes
(create view/table, insert, delete, merge, alter), rendered in an engine's dialect.
``ddl``: the fixed-shape ones every build runs, as text on DuckDB, without sqlglot.

The names below are loaded on first use (PEP 562), so a command that only runs compiled
models (a warm ``runner run``) never imports sqlglot.
"""

from __future__ import annotations

import importlib
from typing import Any

_FROM = {
    "SqlFacts": "analysis",
    "analyze": "analysis",
    "map_line": "analysis",
    "parse_query": "analysis",
    "table_key": "analysis",
    "create_schema_sql": "ddl",
    "create_table_sql": "ddl",
    "create_view_sql": "ddl",
    "drop_sql": "ddl",
    "insert_sql": "ddl",
    "query_body": "ddl",
    "select_all_sql": "ddl",
    "merge_sql": "ddl",
    "rows_replaced_sql": "ddl",
    "delete_matching_sql": "ddl",
    "add_column_sql": "statements",
    "alter_column_type_sql": "statements",
    "drop_column_sql": "statements",
    "inject_ctes": "statements",
    "max_of_sql": "statements",
    "upsert_select_sql": "statements",
}

__all__ = sorted(_FROM)


def __getattr__(name: str) -> Any:
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_FROM])
