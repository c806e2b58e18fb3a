"""DuckDB: the embedded default engine.

One connection per build; each worker thread gets a cursor (DuckDB's own
connection to the same database). Which relations exist is read once from the
catalog and then kept up to date as the build creates and drops them, so asking
"is this a table?" never costs a query.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from .. import sql
from ..errors import UsageError, first_line
from ..nodes import Relation
from ..project import Target
from . import duckdb_errors
from .base import (
    LOCKED,
    TABLE,
    VIEW,
    AuditStore,
    Capabilities,
    ColumnInfo,
    Engine,
    Explanation,
    QueryResult,
    RunnerState,
    ServingWriter,
    Session,
)
from .duckdb_files import DuckDBExternalData


def connect(target: Target, root: Path, *, read_only: bool = False) -> Any:
    """Open the target's database with its threads, memory limit, extensions and settings."""
    import duckdb

    config: dict[str, Any] = {"threads": target.threads}
    if target.memory_limit:
        config["memory_limit"] = target.memory_limit
    for key, value in target.settings.items():
        config[key] = value
    path = target.resolved_path(root)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(path, read_only=read_only, config=config)
    try:
        for extension in target.extensions:
            connection.load_extension(extension)
    except Exception:
        connection.close()
        raise
    return connection


@functools.cache
def _writable_ctes() -> bool:
    """Whether this DuckDB takes a DELETE ... RETURNING inside a WITH: 2.0 does (the data-
    modifying CTEs of duckdb#21634). Read from the version, not probed: a probe's own
    connection cost about 0.1 s on every run."""
    import duckdb

    major = duckdb.__version__.split(".", 1)[0]
    return major.isdigit() and int(major) >= 2


def check_connection(target: Target, root: Path) -> tuple[bool, str]:
    """Try to open the target and run ``select version()``; say what happened."""
    import duckdb

    path = target.resolved_path(root)
    # Never create a database file just to check; an existing one is opened read-only
    # so a running build is not disturbed more than necessary.
    if path == ":memory:" or not Path(path).exists():
        target_to_open = target if path == ":memory:" else _in_memory(target)
        read_only = False
    else:
        target_to_open, read_only = target, True
    try:
        connection = connect(target_to_open, root, read_only=read_only)
        try:
            version = connection.execute("select version()").fetchone()[0]
        finally:
            connection.close()
    except duckdb.Error as exc:
        return False, f"{type(exc).__name__}: {exc}"
    where = path if Path(path).exists() or path == ":memory:" else f"{path} (not created yet)"
    return True, f"OK, DuckDB {version} at {where}"


def _in_memory(target: Target) -> Target:
    from dataclasses import replace

    return replace(target, path=":memory:")


def _key(relation: Relation) -> tuple[str, str]:
    return relation.schema.lower(), relation.identifier.lower()


# What DuckDB raises when running the same statement again later may well succeed: another
# process holds the database file's lock (a loader still writing a source database), a
# concurrent transaction conflicted, or a remote read (httpfs: S3, HTTP) failed on the way.
# Everything else (SQL, types, constraint violations, out of memory, a full disk) fails the
# same way every time, and is never retried.
_TRANSIENT_IO = re.compile(
    r"Could not set lock on file|Conflicting lock is held|Resource temporarily unavailable"
    r"|Connection (?:reset|refused|timed out)|timed out",
    re.IGNORECASE,
)
_TRANSIENT_HTTP = re.compile(r"\b(?:429|5\d\d)\b|timed out|Could not connect", re.IGNORECASE)


def transient_reason(exc: BaseException) -> str | None:
    """Why a DuckDB error is worth retrying (see above), or None."""
    kind = type(exc).__name__
    message = str(exc)
    if kind == "TransactionException" and "conflict" in message.lower():
        return "a conflicting transaction"
    if kind == "IOException" and _TRANSIENT_IO.search(message):
        return "a file held by another process, or a failed read"
    if kind == "HTTPException" and _TRANSIENT_HTTP.search(message):
        return "a failed remote read"
    return None


class DuckDBEngine(Engine):
    name: ClassVar[str] = "duckdb"
    dialect: ClassVar[str] = "duckdb"
    capabilities: ClassVar[Capabilities] = Capabilities(
        transactions=True, merge=True, replace_table_as=True, views_over_temp=False
    )

    def __init__(self, target: Target, root: Path) -> None:
        import duckdb

        self.target = target
        try:
            self.connection = connect(target, root)
        except (duckdb.Error, OSError) as exc:
            if isinstance(exc, OSError):  # its folder could not be created
                why = f"cannot create the folder of {target.resolved_path(root)}: {exc.strerror}"
                if exc.filename and Path(exc.filename).is_file():
                    why += f" ({exc.filename} is a file)"
            else:
                why = first_line(exc)
            explained = duckdb_errors.explain(why)
            if explained.kind == LOCKED:
                hint = explained.hint
            else:
                hint = (
                    "check path (a file in a folder the runner can create and write), "
                    "extensions and settings of the target in profiles.yml"
                )
            raise UsageError(
                f"cannot open the database of target '{target.name}': {why}",
                path=target.profiles_path,
                hint=hint,
            ) from None
        self._lock = threading.Lock()
        self._sessions: list[DuckDBSession] = []
        self._catalog: dict[tuple[str, str], str] = {}
        self._schemas: set[str] = set()
        self._load_catalog()

    def _load_catalog(self) -> None:
        # Called from worker threads too (after a rollback): on a cursor of its own and
        # under the lock, never on the shared connection another thread may be using
        # ("connection is busy with another call").
        with self._lock:
            cursor = self.connection.cursor()
            try:
                rows = cursor.execute(
                    "select table_schema, table_name, table_type from information_schema.tables "
                    "where table_catalog = current_database()"
                ).fetchall()
                schemas = cursor.execute(
                    "select schema_name from information_schema.schemata "
                    "where catalog_name = current_database()"
                ).fetchall()
            finally:
                cursor.close()
            self._catalog = {
                (schema.lower(), name.lower()): VIEW if kind == "VIEW" else TABLE
                for schema, name, kind in rows
            }
            self._schemas = {s.lower() for (s,) in schemas}

    def transient_error(self, exc: BaseException) -> str | None:
        return transient_reason(exc)

    @classmethod
    def check_connection(cls, target: Target, root: Path) -> tuple[bool, str]:
        return check_connection(target, root)

    def explain(self, exc: BaseException | str) -> Explanation:
        return duckdb_errors.explain(exc)

    def scratch_relation(self, name: str) -> Relation:
        # DuckDB's temp schema: private to the session's cursor, gone when it closes.
        return Relation(schema="main", identifier=name, database="temp")

    def runner_state(self) -> RunnerState:
        from .duckdb_state import DuckDBRunnerState

        return DuckDBRunnerState(self.connection)

    def audit_log(self) -> AuditStore:
        from .duckdb_serving import DuckDBAuditLog

        return DuckDBAuditLog(self.connection)

    def serving_writer(self, destination: str, options: Mapping[str, Any]) -> ServingWriter:
        from ..publish import DEFAULT_STORAGE_VERSION
        from .duckdb_serving import DuckDBServingFile

        storage = str(options.get("serve_storage_version", DEFAULT_STORAGE_VERSION))
        return DuckDBServingFile(self.connection, Path(destination), storage)

    def read_arrow(self, relation: Relation) -> Any:
        cursor = self.connection.cursor()
        try:
            return cursor.execute(sql.select_all_sql(relation, self.dialect)).to_arrow_table()
        finally:
            cursor.close()

    def validator_session(self) -> Any:
        """A new cursor of the build's connection (the validators run side by side)."""
        return self.connection.cursor()

    def gx_batches(self, context: Any) -> Any:
        """GX's SQL datasource on a cursor of the build's connection."""
        from . import duckdb_gx

        return duckdb_gx.SqlBatches(context, self.validator_session)

    def session(self) -> DuckDBSession:
        with self._lock:
            session = DuckDBSession(self, self.connection.cursor())
            self._sessions.append(session)
        return session

    def interrupt(self) -> None:
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.cursor.interrupt()

    def checkpoint(self) -> None:
        with self._lock:
            cursor = self.connection.cursor()
            try:
                cursor.execute("checkpoint")
            finally:
                cursor.close()

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.cursor.close()
            self._sessions.clear()
        self.connection.close()

    # the catalog cache, shared by the sessions
    def _kind(self, relation: Relation) -> str | None:
        if relation.database:
            return None
        return self._catalog.get(_key(relation))

    def _remember(self, relation: Relation, kind: str | None) -> None:
        if relation.database:
            return
        with self._lock:
            if kind is None:
                self._catalog.pop(_key(relation), None)
            else:
                self._catalog[_key(relation)] = kind


class DuckDBSession(DuckDBExternalData, Session):
    dialect: ClassVar[str] = "duckdb"

    def __init__(self, engine: DuckDBEngine, cursor: Any) -> None:
        self.engine = engine
        self.cursor = cursor
        self.statements: list[str] = []  # what ran for the current node (run_results)

    def execute(self, statement: str) -> int | None:
        self.statements.append(statement)
        result = self.cursor.execute(statement)
        # DDL returns no rows; CREATE TABLE AS, INSERT, DELETE and MERGE return a count.
        row = result.fetchone() if result.description else None
        if row and len(row) == 1 and isinstance(row[0], int):
            return row[0]
        return None

    def query(self, statement: str, limit: int | None = None) -> QueryResult:
        result = self.cursor.execute(statement)
        columns = tuple(d[0] for d in result.description or ())
        rows = result.fetchmany(limit) if limit is not None else result.fetchall()
        return QueryResult(columns, rows)

    def relation_kind(self, relation: Relation) -> str | None:
        if relation.database:
            rows = self.cursor.execute(
                "select table_type from information_schema.tables where table_catalog = ? "
                "and table_schema = ? and table_name = ?",
                [relation.database, relation.schema, relation.identifier],
            ).fetchall()
            if not rows:
                return None
            return VIEW if rows[0][0] == "VIEW" else TABLE
        return self.engine._kind(relation)

    def read_error(self, relation: Relation) -> Exception | None:
        import duckdb

        # count(COLUMNS(*)) evaluates every column of every row (each cast of a source
        # view included), which count(*) alone would let the optimizer skip.
        try:
            self.cursor.execute(f"select count(columns(*)) from {relation.render()}").fetchall()
        except duckdb.InterruptException:
            raise
        except duckdb.Error as exc:
            return exc
        return None

    def columns(self, relation: Relation) -> list[ColumnInfo]:
        return self.query_columns(sql.select_all_sql(relation, self.dialect))

    def query_columns(self, select_sql: str) -> list[ColumnInfo]:
        rows = self.cursor.execute("DESCRIBE " + sql.query_body(select_sql)).fetchall()
        return [ColumnInfo(name, type_) for name, type_, *_ in rows]

    def create_schema(self, schema: str) -> None:
        if schema.lower() in self.engine._schemas:
            return
        # Under the lock: two cursors creating the same schema at once is a write-write
        # conflict in DuckDB's catalog, even with IF NOT EXISTS.
        with self.engine._lock:
            if schema.lower() in self.engine._schemas:
                return
            self.cursor.execute(sql.create_schema_sql(schema, self.dialect))
            self.engine._schemas.add(schema.lower())

    def create_view(self, relation: Relation, select_sql: str) -> None:
        statement = sql.create_view_sql(relation, select_sql, self.dialect)
        if self.relation_kind(relation) == TABLE:
            with self.transaction():
                self.drop(relation, TABLE)
                self.execute(statement)
        else:
            self.execute(statement)
        self.engine._remember(relation, VIEW)

    def replace_table(self, relation: Relation, select_sql: str) -> int | None:
        # CREATE OR REPLACE TABLE is atomic in DuckDB: the old table stays if the query
        # fails. A view in the way is dropped in the same transaction.
        if self.relation_kind(relation) == VIEW:
            with self.transaction():
                self.drop(relation, VIEW)
                rows = self.execute(
                    sql.create_table_sql(relation, select_sql, self.dialect, replace=True)
                )
        else:
            rows = self.execute(
                sql.create_table_sql(relation, select_sql, self.dialect, replace=True)
            )
        self.engine._remember(relation, TABLE)
        return rows

    def read_relation(self, relation: Relation) -> Any:
        return self.cursor.sql(sql.select_all_sql(relation, self.dialect))

    def sql_relation(self, query: str) -> Any:
        return self.cursor.sql(query)

    def query_arrow(self, query: str) -> Any:
        return self.cursor.sql(query).to_arrow_table()

    def query_pandas(self, query: str) -> Any:
        return self.cursor.sql(query).df()

    def replace_table_with_data(self, relation: Relation, data: Any) -> int | None:
        """pandas / polars / pyarrow data or a DuckDB relation of this session's cursor."""
        import duckdb

        if hasattr(data, "native") and hasattr(data, "arrow"):  # python_models.ModelData
            data = data.native

        name = f"__runner_python_{relation.identifier}"
        if isinstance(data, duckdb.DuckDBPyRelation):
            data.create_view(name, replace=True)
            drop = f'drop view if exists "{name}"'
        else:
            try:
                self.cursor.register(name, data)
            except Exception as exc:
                raise TypeError(
                    f"cannot make a table of a {type(data).__name__}: return a pandas or "
                    "pyarrow DataFrame, or a DuckDB relation"
                ) from exc
            drop = None
        try:
            return self.replace_table(relation, f'select * from "{name}"')
        finally:
            if drop is None:
                self.cursor.unregister(name)
            else:
                self.cursor.execute(drop)

    def create_temp_table(self, relation: Relation, select_sql: str) -> int | None:
        return self.execute(
            sql.create_table_sql(relation, select_sql, self.dialect, replace=True, temporary=True)
        )

    def insert(self, target: Relation, source: Relation, columns: Sequence[str]) -> int | None:
        return self.execute(sql.insert_sql(target, source, columns, self.dialect))

    def delete_matching(
        self, target: Relation, source: Relation, keys: Sequence[str]
    ) -> int | None:
        return self.execute(sql.delete_matching_sql(target, source, keys, self.dialect))

    def move_matching(
        self, target: Relation, source: Relation, keys: Sequence[str], into: Relation
    ) -> None:
        if not _writable_ctes():
            super().move_matching(target, source, keys, into)
            return
        # One pass over the table instead of two (a copy of the matched rows, then the
        # delete): the DELETE's RETURNING rows become the copy. About a third less for a
        # night's 11,000 of 2M order lines.
        deleted = sql.delete_matching_sql(target, source, keys, self.dialect) + " RETURNING *"
        self.replace_table(into, f"WITH runner_deleted AS ({deleted}) SELECT * FROM runner_deleted")

    def merge(
        self,
        target: Relation,
        source: Relation,
        keys: Sequence[str],
        columns: Sequence[str],
        updated: Sequence[str] | None = None,
    ) -> int | None:
        return self.execute(sql.merge_sql(target, source, keys, columns, self.dialect, updated))

    def add_columns(self, relation: Relation, columns: Sequence[ColumnInfo]) -> None:
        for column in columns:
            self.execute(sql.add_column_sql(relation, column.name, column.type, self.dialect))

    def drop_columns(self, relation: Relation, names: Sequence[str]) -> None:
        for name in names:
            self.execute(sql.drop_column_sql(relation, name, self.dialect))

    def alter_column_types(self, relation: Relation, columns: Sequence[ColumnInfo]) -> None:
        for column in columns:
            self.execute(
                sql.alter_column_type_sql(relation, column.name, column.type, self.dialect)
            )

    def drop(self, relation: Relation, kind: str) -> None:
        self.execute(sql.drop_sql(relation, kind, self.dialect))
        self.engine._remember(relation, None)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.cursor.begin()
        try:
            yield
        except BaseException:
            self.cursor.rollback()
            self.engine._load_catalog()  # what the rolled-back statements told it is void
            raise
        self.cursor.commit()
