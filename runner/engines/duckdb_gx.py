"""The SQLAlchemy side of running GX on the runner's own DuckDB connection.

Imported only when expectations run (it pulls in SQLAlchemy and duckdb-engine).
``SqlBatches`` is what the GX validator reads a relation through on DuckDB (a table asset
of GX's SQL datasource over one cursor of the build's connection).

Two fixes for GX 1.24 + duckdb-engine 0.17 + SQLAlchemy 2.1, both measured:

- GX runs a query, lets the connection go back to the pool (duckdb-engine rolls it
  back) and only then fetches the rows: DuckDB has dropped them by then and every
  expectation fails with "list index out of range" hidden in ``exception_info``. The
  connection handed to SQLAlchemy is therefore a cursor of the runner's connection whose
  begin/commit/rollback do nothing: each statement runs in DuckDB's autocommit mode, and
  validation only reads.
- duckdb-engine inherits PostgreSQL's column reflection, whose SQLAlchemy 2.1 query reads
  ``pg_catalog.pg_collation`` (DuckDB has none); GX then falls back to
  ``SELECT * FROM <table>`` *without the schema* and every expectation errors. The
  dialect below reflects columns from DuckDB's information_schema instead, uncached (a
  rebuilt table may have new columns).
"""

from __future__ import annotations

import atexit
import contextlib
import sys
import warnings
from collections.abc import Callable
from typing import Any

import duckdb_engine
import sqlalchemy as sa
from sqlalchemy.dialects import registry

DRIVER_URL = "duckdb+runner:///:memory:"  # the database part is ignored: a creator connects


class SharedCursorConnection(duckdb_engine.ConnectionWrapper):
    """A DB-API connection over one cursor of the runner's DuckDB connection."""

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


class RunnerDuckDBDialect(duckdb_engine.Dialect):
    """duckdb-engine with column reflection that works on SQLAlchemy 2.1."""

    supports_statement_cache = False

    def get_columns(  # type: ignore[override]
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        rows = connection.execute(
            sa.text(
                "select column_name, data_type, is_nullable from information_schema.columns "
                "where table_catalog = current_database() and table_schema = :schema "
                "and table_name = :name order by ordinal_position"
            ),
            {"schema": schema or "main", "name": str(table_name)},
        ).fetchall()
        if not rows:
            raise sa.exc.NoSuchTableError(f"{schema}.{table_name}" if schema else table_name)
        columns = []
        for name, data_type, nullable in rows:
            base = str(data_type).split("(")[0].strip().lower()
            type_ = self.ischema_names.get(base, sa.types.NullType)
            columns.append(
                {
                    "name": name,
                    "type": type_() if isinstance(type_, type) else type_,
                    "nullable": nullable == "YES",
                    "default": None,
                }
            )
        return columns

    def get_pk_constraint(  # type: ignore[override]
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        # GX only uses it to flag key columns; skipping it saves a failing catalog query.
        return {"constrained_columns": [], "name": None}


registry.register("duckdb.runner", __name__, "RunnerDuckDBDialect")


class SqlBatches:
    """GX batches of DuckDB relations: GX's SQL datasource on one cursor of the runner's
    connection (``cursor_factory``), a whole-table batch definition per relation."""

    dialect = "duckdb"  # what the unexpected-rows queries are rendered in

    def __init__(self, context: Any, cursor_factory: Callable[[], Any]) -> None:
        from sqlalchemy.pool import StaticPool

        self._cursor_factory = cursor_factory
        self._cursor: Any = None
        self._definitions: dict[tuple[str, str], Any] = {}
        self._queries: dict[str, Any] = {}  # query -> its batch definition

        def creator() -> Any:
            self._cursor = self._cursor_factory()
            return SharedCursorConnection(self._cursor)

        # One DB-API connection (StaticPool): validations are serialised anyway.
        self._datasource = context.data_sources.add_sql(
            name="runner",
            connection_string=DRIVER_URL,
            kwargs={"creator": creator, "poolclass": StaticPool},
        )

    def batch(self, schema: str, table: str) -> Any:
        key = (schema.lower(), table.lower())
        if key not in self._definitions:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # schema_name is "deprecated" in GX 1.14+
                asset = self._datasource.add_table_asset(
                    name=f"{schema}.{table}", table_name=table, schema_name=schema
                )
                self._definitions[key] = asset.add_batch_definition_whole_table("all")
        return self._definitions[key].get_batch()

    def query_batch(self, query: str) -> Any:
        """A batch of a query's rows (GX's query asset), e.g. the rows a run wrote."""
        if query not in self._queries:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                asset = self._datasource.add_query_asset(
                    name=f"query_{len(self._queries)}", query=query
                )
                self._queries[query] = asset.add_batch_definition_whole_table("all")
        return self._queries[query].get_batch()

    def interrupt(self) -> None:
        if self._cursor is not None:
            with contextlib.suppress(Exception):
                self._cursor.interrupt()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._datasource.get_engine().dispose()
        if self._cursor is not None:
            with contextlib.suppress(Exception):
                self._cursor.close()
        self._cursor = None
        self._definitions.clear()
        self._queries.clear()


def _drop_duckdb_types_at_exit() -> None:
    """Silence DuckDB's "nanobind: leaked 27 instances" report at interpreter exit.

    Measured: once great_expectations and duckdb-engine are both imported, DuckDB's type
    constants (``duckdb.sqltypes.BIGINT`` ...) outlive the ``_duckdb`` extension at
    shutdown, and nanobind prints a leak report on stderr after every run. Dropping
    the module-level references at exit lets them go first. Nothing runs after.
    """
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in ("duckdb", "_duckdb"):
            continue
        namespace = getattr(module, "__dict__", None) or {}
        for key, value in list(namespace.items()):
            if type(value).__name__ == "DuckDBPyType":
                del namespace[key]


atexit.register(_drop_duckdb_types_at_exit)
