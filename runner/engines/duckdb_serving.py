"""The DuckDB side of publishing: the audit log in the working database, and a serving
file written beside the old one and put in its place by rename.

``publish.py`` decides what each published model gets (this version, the previous one,
nothing); this module knows how DuckDB attaches, copies, checkpoints and detaches. A
serving file can be filled from the working DuckDB database (``copy_current``) or from
Arrow data (``copy_data``: ``runner publish --to duckdb`` from another engine).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..nodes import Relation
from .base import AuditStore, PreviousVersion, ServingWriter

META_SCHEMA = "_runner"
AUDITS = '"_runner"."audits"'
PUBLISHED = '"_runner"."published"'
_OLD, _NEW = "runner_serving_old", "runner_serving_new"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBAuditLog(AuditStore):
    """Audit states in ``_runner.audits`` of the working database (one row per model)."""

    def __init__(self, connection: Any) -> None:
        self._cursor = connection.cursor()
        self._lock = threading.Lock()
        self._cursor.execute(
            f"create schema if not exists {_quote(META_SCHEMA)};"
            f"create table if not exists {AUDITS} (unique_id varchar primary key, "
            "status varchar not null, message varchar, audited_at timestamp not null)"
        )

    def record(self, unique_id: str, status: str, message: str, at: datetime.datetime) -> None:
        with self._lock:
            self._cursor.execute(
                f"insert or replace into {AUDITS} values (?, ?, ?, ?)",
                [unique_id, status, message, at],
            )

    def read(self) -> dict[str, tuple[str, str, datetime.datetime]]:
        with self._lock:
            rows = self._cursor.execute(f"select * from {AUDITS}").fetchall()
        return {uid: (status, message or "", at) for uid, status, message, at in rows}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cursor.close()


class DuckDBServingFile(ServingWriter):
    """A new serving file at ``<path>.<pid>.tmp``, renamed over ``path`` by ``commit``.

    ``connection`` is a DuckDB connection to attach the files to: the working database's
    (then ``copy_current`` copies from it), or an in-memory one for exports."""

    def __init__(
        self, connection: Any, path: Path, storage_version: str, *, owns_connection: bool = False
    ) -> None:
        self.path = path
        self._connection = connection if owns_connection else None
        self.temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._cursor = connection.cursor()
        self._schemas: set[str] = set()
        self._has_old = False
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_files(path)
        if path.exists():
            self._cursor.execute(f"attach {_literal(str(path))} as {_OLD} (read_only)")
            self._has_old = True
        self._cursor.execute(
            f"attach {_literal(str(self.temporary))} as {_NEW} "
            f"(storage_version {_literal(storage_version)})"
        )

    def previous(self) -> dict[str, PreviousVersion]:
        if not self._has_old:
            return {}
        has_meta = self._cursor.execute(
            "select count(*) from information_schema.tables "
            f"where table_catalog = {_literal(_OLD)} and table_schema = {_literal(META_SCHEMA)} "
            "and table_name = 'published'"
        ).fetchone()[0]
        if not has_meta:
            return {}
        rows = self._cursor.execute(
            f"select unique_id, schema_name, identifier, version_at from {_OLD}.{PUBLISHED}"
        ).fetchall()
        return {
            uid: PreviousVersion(Relation(schema=schema, identifier=identifier), at)
            for uid, schema, identifier, at in rows
        }

    def _target(self, relation: Relation) -> str:
        if relation.schema.lower() not in self._schemas:
            self._cursor.execute(f"create schema if not exists {_NEW}.{_quote(relation.schema)}")
            self._schemas.add(relation.schema.lower())
        return f"{_NEW}.{_quote(relation.schema)}.{_quote(relation.identifier)}"

    def _count(self, target: str) -> int:
        # fetchall, not fetchone: DuckDB 2 refuses a register() while a result is unfinished
        return int(self._cursor.execute(f"select count(*) from {target}").fetchall()[0][0])

    def copy_current(self, relation: Relation) -> int:
        working = self._cursor.execute("select current_database()").fetchone()[0]
        target = self._target(relation)
        source = f"{_quote(working)}.{_quote(relation.schema)}.{_quote(relation.identifier)}"
        self._cursor.execute(f"create table {target} as select * from {source}")
        return self._count(target)

    def copy_data(self, relation: Relation, data: Any) -> int:
        """A table from Arrow (or pandas) data."""
        target = self._target(relation)
        name = "__runner_export"
        self._cursor.register(name, data)
        try:
            self._cursor.execute(f"create table {target} as select * from {name}")
        finally:
            self._cursor.unregister(name)
        return self._count(target)

    def copy_previous(self, previous: Relation, relation: Relation) -> int:
        target = self._target(relation)
        source = f"{_OLD}.{_quote(previous.schema)}.{_quote(previous.identifier)}"
        self._cursor.execute(f"create table {target} as select * from {source}")
        return self._count(target)

    def commit(self, published: Sequence[tuple[Any, ...]]) -> None:
        """Write the ``_runner.published`` rows (unique_id, name, schema, identifier,
        action, reason, version_at, published_at, row_count), make the file durable and
        rename it over the old one (readers see the old file or the new one)."""
        cursor = self._cursor
        cursor.execute(f"create schema if not exists {_NEW}.{_quote(META_SCHEMA)}")
        cursor.execute(
            f"create table {_NEW}.{PUBLISHED} (unique_id varchar, name varchar, "
            "schema_name varchar, identifier varchar, action varchar, reason varchar, "
            "version_at timestamp, published_at timestamp, row_count bigint)"
        )
        if published:
            cursor.executemany(
                f"insert into {_NEW}.{PUBLISHED} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(published),
            )
        cursor.execute(f"checkpoint {_NEW}")
        cursor.execute(f"detach {_NEW}")
        if self._has_old:
            cursor.execute(f"detach {_OLD}")
            self._has_old = False
        _flush(self.temporary)
        os.replace(self.temporary, self.path)
        _flush_folder(self.path.parent)
        self.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._cursor.execute(f"detach database if exists {_NEW}")
        with contextlib.suppress(Exception):
            self._cursor.execute(f"detach database if exists {_OLD}")
        with contextlib.suppress(OSError):
            _remove(self.temporary)
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cursor.close()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


def remove_stale_files(path: Path) -> list[Path]:
    """Temporary serving files a killed publish left behind (the caller holds the project
    lock, so no other publish is writing one)."""
    removed = []
    for stale in path.parent.glob(f".{path.name}.*.tmp*"):
        _remove(stale)
        removed.append(stale)
    return removed


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def _flush(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flush_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def export_file(path: Path, storage_version: str) -> DuckDBServingFile:
    """A serving file filled from Arrow data (another engine's marts), over an in-memory
    DuckDB connection."""
    import duckdb

    connection = duckdb.connect(":memory:")
    try:
        return DuckDBServingFile(connection, path, storage_version, owns_connection=True)
    except BaseException:
        connection.close()
        raise


def open_read_only(path: str | Path) -> Any | None:
    """A read-only connection to a DuckDB file (the serving file the docs page charts, or
    the working database it lists), or None when it cannot be opened (a build holds it)."""
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None


def query_errors() -> type[Exception]:
    """What a query on such a connection raises when the SQL or the data is wrong."""
    import duckdb

    return duckdb.Error
