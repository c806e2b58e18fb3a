"""Checks on what changed: the relation an incremental run checks an expectation on.

An incremental run writes a few rows into a large table; the rows it did not write were
checked when they were written. So a check that judges each row on its own (``not_null``,
``accepted_values``, ``between``, ``column_a_gte_b``, ``relationships``, an ``expression``
that does not read ``{this}``) gives the same verdict on the whole table as on the rows
written, and reads only those. Uniqueness reads the table's rows that share a key with a
written row (a semi-join: the index lookup), which finds every duplicate a written row
takes part in. Everything else reads the whole table: thresholds over the whole table
(``mostly``, ``error_if`` / ``warn_if``), aggregates (``row_count_between``, ``recency``),
an ``expression`` over ``{this}``, ``sql`` and ``gx:`` checks; a ``sql`` check with
``changed_key`` reads the rows of the keys written and reports only those keys (with the
SQL validator; GX reads the whole table for it). Each type says which it is
(``on_changed`` in registry.py); ``runner test`` and full builds check everything. Both
validators read what this returns: the SQL one as a relation of its queries, the GX one as
a batch (DuckDB: a table asset, or a query asset for a query; Spark: a dataframe of either).
"""

from __future__ import annotations

from .declarations import Expectation
from .sql_build import quote


def changed_relation(
    exp: Expectation, table: str, changed: str, *, plain_sql: bool = True
) -> str | None:
    """What ``exp`` reads in an incremental run that wrote the rows of ``changed`` (a
    rendered relation with the table's columns) into ``table``: a relation name or a
    query; None for the whole table. ``plain_sql``: the runner's SQL runs the check (not
    GX), so a check whose own SQL keeps to the scope's keys (a ``sql`` reconciliation with
    ``changed_key``) may be scoped too."""
    if exp.mostly is not None or exp.error_if is not None or exp.warn_if is not None:
        return None
    if exp.kind.keeps_to_scoped_keys and not plain_sql:
        return None
    how = exp.kind.on_changed_rows(exp.arguments)
    if how == "rows":
        return changed
    if how == "keys":
        key = ", ".join(quote(c) for c in exp.kind.key_columns(exp.arguments))
        return f"select * from {table} where ({key}) in (select {key} from {changed})"
    return None
