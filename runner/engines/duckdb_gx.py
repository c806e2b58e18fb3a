"""The SQLAlchemy side of running GX on the runner's own DuckDB connection.

Imported only when expectations run (it pulls in SQLAlchemy and duckdb-engine).

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
import sys
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
