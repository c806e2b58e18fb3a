"""The engine interface: what materializations may ask of a database, and nothing more.

One ``Engine`` per build holds the connection; each worker thread gets its own
``Session`` (a cursor on DuckDB). Everything a materialization needs is a method
here, so a second engine (Spark) plugs in without materializations knowing which
database they talk to. Statements the runner writes itself come from ``sql.py``
(sqlglot expressions rendered in ``dialect``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
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


@dataclass(frozen=True)
class ExternalData:
    """Where a source's rows are, for any engine: files or an existing table.

    ``format`` is ``csv`` or ``parquet`` (``path`` is one absolute file, or for parquet
    also a glob such as ``/data/orders/*.parquet``), or ``table`` (``relation`` names it,
    possibly in an attached database). ``paths``: for parquet, several files read as one
    (``path`` is then the first, for messages): the landing files an incremental run has
    not read yet (runner/landing.py).
    """

    format: str
    path: str | None = None
    relation: Relation | None = None
    paths: tuple[str, ...] = ()

    def describe(self) -> str:
        """How messages name it: the file (or glob) or the table."""
        return self.path if self.path is not None else str(self.relation)


class DataError(Exception):
    """Data that cannot be read as declared (a malformed CSV row, a value that does not
    cast, a declared column missing). Engine-neutral: callers turn it into a user error
    naming their node and file. ``line`` is the file's line (1 = the header)."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint


@dataclass(frozen=True)
class Capabilities:
    """What an engine's catalog can do; materializations branch on these, never on the
    engine's name."""

    transactions: bool  # several statements commit together or not at all
    merge: bool  # MERGE / DELETE / UPDATE on a table
    replace_table_as: bool  # CREATE OR REPLACE TABLE ... AS is atomic
    views_over_temp: bool  # a persistent view may read a temporary object
    gx: bool = True  # Great Expectations can validate on it
    serving: str = "file"  # publishes to a DuckDB file, or "schema": a schema of its own


# What ``Engine.explain`` found an exception to be about.
DATABASE = "database"  # the SQL or the data: fix the model
INTERRUPTED = "interrupted"  # cancelled (Ctrl-C)
RESOURCES = "resources"  # out of memory or disk: not the SQL's fault
BAD_VALUE = "bad_value"  # a text value that does not cast to its declared type
MALFORMED_CSV = "malformed_csv"  # a row the CSV reader rejects
LOCKED = "locked"  # another process holds the database
NOT_UTF8 = "not_utf8"  # a file the engine read is not UTF-8 text


@dataclass(frozen=True)
class Explanation:
    """An engine's reading of one of its own exceptions, so no caller parses database
    error text. ``line`` is the line of the statement that failed (the compiled SQL),
    when the database says; ``value``/``column``/``type`` describe a bad value, ``file``
    the CSV file a malformed row is in; ``text`` is the whole message."""

    kind: str
    message: str
    hint: str | None = None
    line: int | None = None
    value: str | None = None
    column: str | None = None
    type: str | None = None
    file: str | None = None
    text: str = ""
    # a bad value the CSV reader reported: that reader's description of the row
    csv_row: Explanation | None = None


@dataclass(frozen=True)
class PreviousVersion:
    """What a serving store holds for a model from an earlier publish."""

    relation: Relation
    version_at: Any  # datetime (UTC) the served version passed its audit, or None


class AuditStore(ABC):
    """Whether each published model's relation passed its audit (kept by the engine,
    next to the relations it describes). Thread-safe."""

    @abstractmethod
    def record(self, unique_id: str, status: str, message: str, at: Any) -> None: ...

    @abstractmethod
    def read(self) -> dict[str, tuple[str, str, Any]]:
        """unique_id -> (status, message, audited_at)."""

    @abstractmethod
    def close(self) -> None: ...


class RunnerState(ABC):
    """The runner's own records in the working database (schema ``_runner``), kept by
    the engine like the audit log: the run history (``runs``, ``run_nodes``: see
    history.py for the columns), what each incremental table was built from
    (``fingerprints``) and which landing files it read (``landing_files``). Thread-safe;
    callers never write these tables' SQL themselves."""

    @abstractmethod
    def record_run(self, run: Sequence[Any], nodes: Sequence[Sequence[Any]]) -> None:
        """Append one run (a ``runs`` row) and its nodes (``run_nodes`` rows), in the
        columns' order; together where the engine has transactions."""

    @abstractmethod
    def fingerprints(self) -> dict[str, tuple[str, str, int]]:
        """unique_id -> (fingerprint, inputs as JSON, how many times the table was built)
        of each recorded incremental table."""

    @abstractmethod
    def record_fingerprint(
        self, unique_id: str, fingerprint: str, inputs: str, builds: int
    ) -> None:
        """Record (or replace) what ``unique_id``'s table was built from."""

    @abstractmethod
    def landing_files(self) -> dict[tuple[str, str], str]:
        """(unique_id, source table as ``source.table``) -> the landing files (JSON) that
        model's table holds the rows of, as runner/landing.py records them."""

    @abstractmethod
    def record_landing_files(self, unique_id: str, files: Mapping[str, str]) -> None:
        """Record (or replace) the landing files (JSON) of each source (``source.table``)
        that ``unique_id`` read."""

    @abstractmethod
    def close(self) -> None: ...


class ServingWriter(ABC):
    """One publish: a new serving store filled beside the old one, then put in its place
    at once by ``commit`` (readers see all of the old one or all of the new one), or
    thrown away by ``abort`` (the old one untouched)."""

    @abstractmethod
    def previous(self) -> dict[str, PreviousVersion]:
        """unique_id -> what the current serving store holds for it."""

    @abstractmethod
    def copy_current(self, relation: Relation) -> int:
        """Serve the working relation's current rows; return how many."""

    @abstractmethod
    def copy_previous(self, previous: Relation, relation: Relation) -> int:
        """Keep serving what the old store has at ``previous``, as ``relation``."""

    @abstractmethod
    def commit(self, published: Sequence[tuple[Any, ...]]) -> None:
        """Record ``published`` (see publish.py) and swap the new store in."""

    @abstractmethod
    def abort(self) -> None: ...


class Session(ABC):
    """One worker thread's handle on the database."""

    dialect: ClassVar[str]
    engine: Engine
    statements: list[str]  # what ran for the current node (run_results)

    def explain(self, exc: BaseException | str) -> Explanation:
        """What ``exc`` (raised by this session, or its message) is about."""
        return self.engine.explain(exc)

    def scratch_relation(self, name: str) -> Relation:
        """Where a materialization may put a short-lived table of its own (the new rows
        of an incremental step); dropped by the caller when done."""
        return self.engine.scratch_relation(name)

    def replace_rows(self, relation: Relation, select_sql: str) -> int | None:
        """Replace every row of an existing table with those of a query that may read the
        table itself (incremental steps on engines without MERGE/DELETE)."""
        raise NotImplementedError(f"{type(self).__name__} cannot replace a table's rows")

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

    def read_error(self, relation: Relation) -> Exception | None:
        """Read every row and every column of ``relation``, keeping nothing: the error the
        database raises doing so (a malformed CSV row, a value that does not cast), or
        None when it reads (or the engine cannot tell). Used on failure paths only, to
        tell unreadable data from a data-quality result."""
        return None

    # Python models: the engine's own dataframe-like handle on data, and a table from one.
    def read_relation(self, relation: Relation) -> Any:
        """A relation's data for a Python model (lazy where the engine allows)."""
        raise NotImplementedError(f"{type(self).__name__} does not run Python models")

    def sql_relation(self, query: str) -> Any:
        """A query's result for a Python model."""
        raise NotImplementedError(f"{type(self).__name__} does not run Python models")

    def query_arrow(self, query: str) -> Any:
        """A query's rows as a pyarrow Table (Python models)."""
        raise NotImplementedError(f"{type(self).__name__} does not run Python models")

    def query_pandas(self, query: str) -> Any:
        """A query's rows as pandas, DECIMAL as float64 (Python models)."""
        raise NotImplementedError(f"{type(self).__name__} does not run Python models")

    def replace_table_with_data(self, relation: Relation, data: Any) -> int | None:
        """Like ``replace_table``, from what a Python model returned."""
        raise NotImplementedError(f"{type(self).__name__} does not run Python models")

    @abstractmethod
    def insert(self, target: Relation, source: Relation, columns: Sequence[str]) -> int | None:
        """Append ``source`` rows into ``target`` (named columns)."""

    @abstractmethod
    def delete_matching(
        self, target: Relation, source: Relation, keys: Sequence[str]
    ) -> int | None:
        """Delete target rows whose key matches a source row."""

    def move_matching(
        self, target: Relation, source: Relation, keys: Sequence[str], into: Relation
    ) -> None:
        """Delete target rows whose key matches a source row, keeping them as the table
        ``into`` (what ``replaced_rows`` reads): a copy, then the delete."""
        from .. import sql

        self.replace_table(into, sql.rows_replaced_sql(target, source, keys, self.dialect))
        self.delete_matching(target, source, keys)

    @abstractmethod
    def merge(
        self,
        target: Relation,
        source: Relation,
        keys: Sequence[str],
        columns: Sequence[str],
        updated: Sequence[str] | None = None,
    ) -> int | None:
        """Update matching rows (only the ``updated`` columns when given:
        merge_update_columns), insert the others (keys compared with IS NOT DISTINCT FROM)."""

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

    # ------------------------------------------------------------ seeds and sources

    @abstractmethod
    def load_csv(
        self, relation: Relation, path: Path, column_types: Mapping[str, str]
    ) -> int | None:
        """Replace the table ``relation`` (atomically) with the rows of a CSV file.

        The file must have a header row. Columns named in ``column_types`` get that type
        (TIMESTAMP values with a UTC offset are converted to UTC); the others are inferred.
        Returns the rows loaded. Raises ``DataError`` for a malformed file (wrong number of
        fields, a value that does not cast, a declared column not in the header).
        """

    def sniff_csv_types(self, path: Path) -> dict[str, str] | None:
        """The column types the engine would infer for a CSV, by header name, without
        loading it; None where the engine cannot say (then nothing is adjusted)."""
        return None

    def csv_columns_matching(self, path: Path, tests: Mapping[str, str]) -> set[str]:
        """The CSV columns whose every value passes their test: ``whole_number`` (``3.00``,
        for a numeric column) or ``true_false`` (only true / false / empty, any case, for
        a boolean one); an engine that cannot tell returns none."""
        return set()

    @abstractmethod
    def data_columns(self, data: ExternalData) -> list[ColumnInfo] | None:
        """Columns present in the data (a CSV's header columns all read as text), or None
        when the table does not exist. Reads only headers / metadata, never the rows."""

    @abstractmethod
    def create_source_view(
        self, relation: Relation, data: ExternalData, columns: Mapping[str, str | None]
    ) -> None:
        """Create or replace ``relation`` reading ``data``: exactly ``columns`` in that
        order, each cast to its declared type (None: as read), other columns left out;
        no columns means every column as read. CSV values are read as text and cast, never
        sniffed; TIMESTAMP is normalized to UTC."""

    @abstractmethod
    def attach_database(self, path: Path) -> str:
        """Attach another database file read-only (once per build) and return the
        catalog name under which its tables are addressed (``Relation.database``)."""


class Engine(ABC):
    """The database of one build: one connection, a session per worker thread."""

    name: ClassVar[str]
    dialect: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    # Where statements built from plain values are kept between runs (a ParseCache, kind
    # "statements"); set by the build, None: built each time.
    sql_cache: Any = None

    @classmethod
    @abstractmethod
    def check_connection(cls, target: Any, root: Path) -> tuple[bool, str]:
        """Try to reach the target's database without changing it (``runner debug``)."""

    @abstractmethod
    def explain(self, exc: BaseException | str) -> Explanation:
        """Classify an exception this engine raised (or its message): interrupted, out
        of resources, a bad value, a malformed CSV row, or the SQL; with what to do."""

    @abstractmethod
    def scratch_relation(self, name: str) -> Relation:
        """A relation name for a short-lived table of the runner's own."""

    @abstractmethod
    def audit_log(self) -> AuditStore:
        """The audit states of published models (created when missing)."""

    @abstractmethod
    def runner_state(self) -> RunnerState:
        """The run history and incremental-input records (created when missing)."""

    @abstractmethod
    def serving_writer(self, destination: str, options: Mapping[str, Any]) -> ServingWriter:
        """Start a publish to ``destination`` (DuckDB: the serve_path file; Spark: the
        serving schema). ``options`` are the target's."""

    def read_arrow(self, relation: Relation) -> Any:
        """A relation's rows as a pyarrow Table (exports to a DuckDB serving file)."""
        raise NotImplementedError(f"{type(self).__name__} cannot export relations")

    @abstractmethod
    def validator_session(self) -> Any:
        """A new handle the SQL/GX validators read through (one per validation; it has
        ``execute``/``fetchall``-style access as the validator of this engine expects)."""

    def gx_batches(self, context: Any) -> Any:
        """Add this engine's Great Expectations datasource to GX's ``context`` and return
        what reads a relation as a GX batch: ``batch(schema, table)``, ``interrupt()``,
        ``close()`` (only where ``capabilities.gx``)."""
        raise NotImplementedError(f"Great Expectations does not run on {self.name} targets")

    @abstractmethod
    def session(self) -> Session:
        """A new session, for one worker thread."""

    @abstractmethod
    def interrupt(self) -> None:
        """Cancel whatever is running (Ctrl-C); sessions stay usable for rollback."""

    def checkpoint(self) -> None:
        """Write what the build changed into the database file itself (DuckDB: fold the
        write-ahead log in, so it cannot keep growing). A no-op where there is none."""
        return None

    @abstractmethod
    def close(self) -> None: ...

    def transient_error(self, exc: BaseException) -> str | None:
        """Why ``exc`` may pass if the node is simply run again (another writer holding a
        lock, a conflicting transaction, a flaky network read), or None when running it
        again would fail the same way. ``--retries`` retries only the former."""
        return None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
