"""The engine interface: what materializations may ask of a database, and nothing more.

One ``Engine`` per build holds the connection; each worker thread gets its own
``Session`` (a cursor on DuckDB). Everything a materialization needs is a method
here, so a second engine (Spark) plugs in without materializations knowing which
database they talk to. Statements the runner writes itself come from ``sql.py``
(sqlglot expressions rendered in ``dialect``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from ..nodes import Relation

TABLE = "table"
VIEW = "view"


@dataclass(frozen=True)
class ColumnInfo:
    """A column of a relation as the database reports it."""

    name: str
    type: str


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query with their column names (for ``runner show``)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


class Session(ABC):
    """One worker thread's handle on the database."""

    dialect: ClassVar[str]

    @abstractmethod
    def execute(self, sql: str) -> int | None:
        """Run one statement; return the rows it affected when the database says."""

    @abstractmethod
    def query(self, sql: str, limit: int | None = None) -> QueryResult:
        """Run a query and fetch its rows (at most ``limit``)."""

    @abstractmethod
    def relation_kind(self, relation: Relation) -> str | None:
        """``table``, ``view`` or None when it does not exist."""

    @abstractmethod
    def columns(self, relation: Relation) -> list[ColumnInfo]:
        """Columns of an existing relation, in order."""

    @abstractmethod
    def query_columns(self, select_sql: str) -> list[ColumnInfo]:
        """Columns a query would produce, without running it."""

    @abstractmethod
    def create_schema(self, schema: str) -> None: ...

    @abstractmethod
    def create_view(self, relation: Relation, select_sql: str) -> None:
        """Create or replace a view."""

    @abstractmethod
    def replace_table(self, relation: Relation, select_sql: str) -> int | None:
        """Build a table from a query and put it in place of the old one atomically:
        if the query fails, the old table is left exactly as it was."""

    @abstractmethod
    def create_temp_table(self, relation: Relation, select_sql: str) -> int | None:
        """A scratch table for this session (incremental steps)."""

    @abstractmethod
    def insert(self, target: Relation, source: Relation, columns: Sequence[str]) -> int | None:
        """Append ``source`` rows into ``target`` (named columns)."""

    @abstractmethod
    def delete_matching(
        self, target: Relation, source: Relation, keys: Sequence[str]
    ) -> int | None:
        """Delete target rows whose key matches a source row."""

    @abstractmethod
    def merge(
        self,
        target: Relation,
        source: Relation,
        keys: Sequence[str],
        columns: Sequence[str],
    ) -> int | None:
        """Update matching rows, insert the others (keys compared with IS NOT DISTINCT FROM)."""

    @abstractmethod
    def add_columns(self, relation: Relation, columns: Sequence[ColumnInfo]) -> None: ...

    @abstractmethod
    def drop_columns(self, relation: Relation, names: Sequence[str]) -> None: ...

    @abstractmethod
    def alter_column_types(self, relation: Relation, columns: Sequence[ColumnInfo]) -> None: ...

    @abstractmethod
    def drop(self, relation: Relation, kind: str) -> None:
        """Drop a table or view if it exists."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""


class Engine(ABC):
    """The database of one build: one connection, a session per worker thread."""

    name: ClassVar[str]
    dialect: ClassVar[str]

    @abstractmethod
    def session(self) -> Session:
        """A new session, for one worker thread."""

    @abstractmethod
    def interrupt(self) -> None:
        """Cancel whatever is running (Ctrl-C); sessions stay usable for rollback."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
