"""Everything sqlglot, and the only place that imports it.

``analysis``: parse a compiled model, report syntax errors at the source line, find the
tables it reads and its output columns. ``statements``: the DDL/DML the runner writes
(create view/table, insert, delete, merge, alter), rendered in an engine's dialect.
"""

from .analysis import SqlFacts, analyze, map_line, parse_query, table_key
from .statements import (
    add_column_sql,
    alter_column_type_sql,
    create_schema_sql,
    create_table_sql,
    create_view_sql,
    delete_matching_sql,
    drop_column_sql,
    drop_sql,
    inject_ctes,
    insert_sql,
    max_of_sql,
    merge_sql,
    query_body,
    rows_replaced_sql,
    select_all_sql,
    upsert_select_sql,
)

__all__ = [
    "SqlFacts",
    "add_column_sql",
    "alter_column_type_sql",
    "analyze",
    "create_schema_sql",
    "create_table_sql",
    "create_view_sql",
    "delete_matching_sql",
    "drop_column_sql",
    "drop_sql",
    "inject_ctes",
    "insert_sql",
    "map_line",
    "max_of_sql",
    "merge_sql",
    "parse_query",
    "query_body",
    "rows_replaced_sql",
    "select_all_sql",
    "table_key",
    "upsert_select_sql",
]
