"""Each expectation as plain SQL: the failing rows, and a query counting them.

The SQL itself comes from the registry (one class per type); these functions render it
for one relation, in DuckDB's dialect unless told otherwise. Great Expectations runs
the checks; this SQL serves three other purposes:

- the unexpected-rows expectations GX runs (those whose ``to_gx`` is None: expression,
  sql, relationships, recency) are built here, with ``{batch}`` in place of the relation
  (``gx_rows_query``);
- ``--store-failures`` materialises ``failing_rows_sql`` in the audit schema (whole rows,
  in the database, however many);
- the benchmark and the tests compare GX with ``expectation_sql`` (same semantics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp as sg

from .declarations import Expectation
from .sql_build import PlaceholderError, SqlBuilder, quote

__all__ = [
    "PlaceholderError",
    "expectation_sql",
    "failing_rows_sql",
    "gx_rows_query",
    "quote",
    "row_predicate",
    "store_failing_rows",
]

# Stands for the checked relation in GX's query until it is rendered as {batch}.
_BATCH = '"runner__batch__"'


def row_predicate(
    exp: Expectation,
    relation: str,
    resolve: Callable[[str], str] | None = None,
    *,
    as_of: Any = None,
    dialect: str = "duckdb",
) -> str | None:
    """For a check that judges each row on its own, the condition a failing row meets,
    so one scan can count many checks (``count(*) filter (where ...)``); None for the
    others (unique, relationships, sql, aggregates: they need their own query)."""
    builder = SqlBuilder(relation, resolve, as_of, dialect=dialect)
    predicate = exp.kind.row_predicate(exp.arguments, builder)
    return None if predicate is None else builder.render(predicate)


def failing_rows_sql(
    exp: Expectation,
    relation: str,
    resolve: Callable[[str], str] | None = None,
    *,
    as_of: Any = None,
    dialect: str = "duckdb",
) -> str:
    """A query returning the rows ``exp`` fails on ``relation`` (rendered name).

    For aggregate checks it returns the violating aggregate (the row count, the latest
    value). Raises ValueError for ``gx:`` expectations (no SQL of ours).
    """
    builder = SqlBuilder(relation, resolve, as_of, dialect=dialect)
    return builder.render(exp.kind.failing_rows(exp.arguments, builder))


def expectation_sql(
    exp: Expectation,
    relation: str,
    resolve: Callable[[str], str] | None = None,
    *,
    as_of: Any = None,
    dialect: str = "duckdb",
) -> str:
    """One query returning one integer: how many rows fail ``exp`` on ``relation``.

    The same check GX runs, written as plain SQL (the benchmark's baseline, and a cross
    check in the tests). Aggregate checks count 1 when violated, else 0.
    """
    builder = SqlBuilder(relation, resolve, as_of, dialect=dialect)
    return builder.render(exp.kind.failing_count(exp.arguments, builder))


def store_failing_rows(
    cursor: Any,
    exp: Expectation,
    relation: str,
    audit_schema: str,
    resolve: Callable[[str], str] | None = None,
    as_of: Any = None,
    *,
    dialect: str = "duckdb",
    replace_table_as: bool = True,
) -> str:
    """Write the rows ``exp`` fails on ``relation`` to ``<audit_schema>.<node>__<name>``
    (replacing it); returns the table's rendered name. Raises what the database raises."""
    if exp.needs_gx:
        raise ValueError("failing rows not stored for gx:")
    node_part = exp.node.split(".", 1)[-1].replace(".", "_")
    target = f"{quote(audit_schema)}.{quote(f'{node_part}__{exp.slug}')}"
    builder = SqlBuilder(
        relation, resolve, as_of, dialect=dialect, replace_table_as=replace_table_as
    )
    query = exp.kind.failing_rows(exp.arguments, builder)
    for statement in builder.replace_table_statements(
        audit_schema, f"{node_part}__{exp.slug}", query
    ):
        cursor.execute(statement)
    return target


def gx_rows_query(
    exp: Expectation,
    resolve: Callable[[str], str] | None,
    as_of: Any,
    *,
    dialect: str = "duckdb",
) -> str:
    """The unexpected-rows query GX runs for ``exp``, the relation written ``{batch}``,
    in the engine's ``dialect``.

    Braces elsewhere (a struct literal in an expression, say) are doubled, because GX
    fills ``{batch}`` with ``str.format``. ``{batch}`` is never aliased here: GX adds
    ``AS subselect`` itself unless the query contains a JOIN.
    """
    text = failing_rows_sql(exp, _BATCH, resolve, as_of=as_of, dialect=dialect)
    placeholder = sg.to_identifier(_BATCH.strip('"'), quoted=True).sql(dialect)
    return text.replace("{", "{{").replace("}", "}}").replace(placeholder, "{batch}")
