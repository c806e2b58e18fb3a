"""Spark: the engine for data that no longer fits one machine (``pip install -e ".[spark]"``).

A target ``type: spark`` runs the same models on PySpark: ``master: local[2]`` (the
default) starts Spark inside this process, ``remote: sc://host:15002`` talks to a Spark
Connect server. Tables live in Spark's built-in catalog with Hive support (a Derby
metastore) under the target's folder (``path``, default ``target/spark``), so a later
run sees what an earlier one built; timestamps are UTC (``spark.sql.session.timeZone``).

What the built-in catalog cannot do shapes this module (see ``Capabilities``): no
transactions, no ``CREATE OR REPLACE TABLE ... AS``, no MERGE/DELETE/UPDATE, and a
persistent view cannot read a temporary one. So a table is built under a new name and
swapped in (a failing query leaves the old table), incremental steps go through a
staging table and ``INSERT OVERWRITE``, and seeds and file sources are tables over the
files, never temporary views. Model SQL arrives already in Spark's dialect
(``runner/sql/transpile.py``); the few statements written here are Spark SQL.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ProjectError, UsageError
from ..nodes import Relation
from ..project import Target
from . import spark_errors
from .base import (
    TABLE,
    VIEW,
    AuditStore,
    Capabilities,
    ColumnInfo,
    DataError,
    Engine,
    Explanation,
    ExternalData,
    PreviousVersion,
    QueryResult,
    RunnerState,
    ServingWriter,
    Session,
)

SCRATCH_SCHEMA = "_runner_scratch"
META_SCHEMA = "_runner"
DEFAULT_SERVING_SCHEMA = "serving"
DEFAULT_SHUFFLE_PARTITIONS = 4  # 200 is for clusters; a laptop's 2 cores want few


def q(name: str) -> str:
    """A Spark identifier, quoted."""
    return "`" + name.replace("`", "``") + "`"


def qualified(relation: Relation) -> str:
    if relation.database:
        raise UsageError(
            f"{relation.render()}: Spark targets read no attached databases",
            hint="land the table as files (sources: from: files) for a Spark target",
        )
    if not relation.schema:
        return q(relation.identifier)
    return f"{q(relation.schema)}.{q(relation.identifier)}"


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def spark_type(duckdb_type: str) -> str:
    """A type as written in the project (DuckDB spelling) in Spark's."""
    from sqlglot import exp

    try:
        return exp.DataType.build(duckdb_type, dialect="duckdb").sql("spark")
    except Exception:
        raise DataError(f"unknown data type {duckdb_type!r}") from None


def folder_of(target: Target, root: Path) -> Path:
    """Where the warehouse files and the metastore live: the target's ``path``."""
    if target.path in ("", ":memory:"):
        return (root / "target" / "spark").resolve()
    return Path(target.resolved_path(root))


def start_session(target: Target, root: Path) -> Any:
    """The process's SparkSession for this target (created, or the running one if it
    is for the same warehouse)."""
    from pyspark.sql import SparkSession

    folder = folder_of(target, root)
    remote = target.options.get("remote")
    builder = SparkSession.builder.appName(f"runner {target.profile}")
    if remote:
        builder = builder.remote(str(remote))
    else:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no DNS lookup of the host
        folder.mkdir(parents=True, exist_ok=True)
        master = str(target.options.get("master", f"local[{target.threads}]"))
        builder = (
            builder.master(master)
            .config("spark.sql.warehouse.dir", str(folder / "warehouse"))
            .config(
                "spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true",
            )
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
            .enableHiveSupport()
        )
    builder = builder.config("spark.sql.session.timeZone", "UTC").config(
        "spark.sql.shuffle.partitions",
        str(target.options.get("shuffle_partitions", DEFAULT_SHUFFLE_PARTITIONS)),
    )
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    for key, value in target.settings.items():
        if key == "spark.jars.packages":
            raise UsageError(
                "settings: spark.jars.packages downloads jars at start-up, which the runner "
                "does not do",
                path=target.profiles_path,
                hint="install the jars into Spark's jars folder instead",
            )
        builder = builder.config(key, str(value))
    session = builder.getOrCreate()
    if not remote:
        wanted = str(folder / "warehouse")
        actual = session.conf.get("spark.sql.warehouse.dir", wanted).removeprefix("file:")
        if Path(actual).resolve() != Path(wanted).resolve():
            raise UsageError(
                f"this process already runs Spark for the warehouse {actual}, not {wanted}",
                path=target.profiles_path,
                hint="one Spark target per process: run the other target in another command",
            )
    if not remote:
        session.sparkContext.setLogLevel("OFF")  # failures reach the user as runner errors
    # pyspark logs each failed query's plan at ERROR before raising it: the runner reports
    # the error itself, once.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return session


class SparkEngine(Engine):
    name: ClassVar[str] = "spark"
    dialect: ClassVar[str] = "spark"
    capabilities: ClassVar[Capabilities] = Capabilities(
        transactions=False,
        merge=False,
        replace_table_as=False,
        views_over_temp=False,
        serving="schema",
    )

    def __init__(self, target: Target, root: Path) -> None:
        from pyspark.sql import SparkSession

        self.target = target
        self.folder = folder_of(target, root)
        self._owns = SparkSession.getActiveSession() is None
        try:
            self.spark = start_session(target, root)
        except UsageError:
            raise
        except Exception as exc:
            why = spark_errors.explain(exc).message
            raise UsageError(
                f"cannot start Spark for target '{target.name}': {why}",
                path=target.profiles_path,
                hint="check Java (java -version: 17 or later), master/remote and settings "
                "of the target in profiles.yml",
            ) from None
        self._lock = threading.Lock()
        self._catalog: dict[tuple[str, str], str] = {}
        self._schemas: set[str] = set()
        self._load_catalog()

    # ------------------------------------------------------------------ catalog cache
    def _load_catalog(self) -> None:
        self._catalog.clear()
        self._schemas = {row[0].lower() for row in self.spark.sql("SHOW DATABASES").collect()}
        for schema in self._schemas:
            for row in self.spark.sql(f"SHOW TABLES IN {q(schema)}").collect():
                if row["isTemporary"]:
                    continue
                self._catalog[(schema, row["tableName"].lower())] = TABLE
            for row in self.spark.sql(f"SHOW VIEWS IN {q(schema)}").collect():
                if not row["isTemporary"]:
                    self._catalog[(schema, row["viewName"].lower())] = VIEW

    def _kind(self, relation: Relation) -> str | None:
        return self._catalog.get((relation.schema.lower(), relation.identifier.lower()))

    def _remember(self, relation: Relation, kind: str | None) -> None:
        key = (relation.schema.lower(), relation.identifier.lower())
        with self._lock:
            if kind is None:
                self._catalog.pop(key, None)
            else:
                self._catalog[key] = kind

    # ------------------------------------------------------------------ Engine
    @classmethod
    def check_connection(cls, target: Target, root: Path) -> tuple[bool, str]:
        try:
            engine = cls(target, root)
        except UsageError as exc:
            return False, exc.message
        try:
            version = engine.spark.version
            where = target.options.get("remote") or engine.folder
            return True, f"OK, Spark {version} at {where}"
        finally:
            engine.close()

    def explain(self, exc: BaseException | str) -> Explanation:
        return spark_errors.explain(exc)

    def scratch_relation(self, name: str) -> Relation:
        return Relation(schema=SCRATCH_SCHEMA, identifier=name)

    def session(self) -> SparkSessionHandle:
        return SparkSessionHandle(self)

    def validator_session(self) -> SparkCursor:
        return SparkCursor(self)

    def gx_batches(self, context: Any) -> Any:
        """GX's Spark datasource on this engine's session."""
        from . import spark_gx

        return spark_gx.SparkBatches(context, self)

    def audit_log(self) -> AuditStore:
        return FileAuditLog(self.folder / "audits.json")

    def runner_state(self) -> RunnerState:
        from .spark_state import SparkRunnerState

        return SparkRunnerState(self)

    def serving_writer(self, destination: str, options: Mapping[str, Any]) -> ServingWriter:
        return SparkServingSchema(self, destination)

    def read_arrow(self, relation: Relation) -> Any:
        """The rows as Arrow, timestamps as naive UTC (what DuckDB's TIMESTAMP holds)."""
        import pyarrow as pa

        table = self.spark.sql(f"SELECT * FROM {qualified(relation)}").toArrow()
        fields = [
            pa.field(f.name, pa.timestamp(f.type.unit), f.nullable)
            if pa.types.is_timestamp(f.type) and f.type.tz is not None
            else f
            for f in table.schema
        ]
        return table.cast(pa.schema(fields))

    def interrupt(self) -> None:
        with contextlib.suppress(Exception):
            if hasattr(self.spark, "interruptAll"):
                self.spark.interruptAll()
            else:
                self.spark.sparkContext.cancelAllJobs()

    def close(self) -> None:
        if self._owns:
            with contextlib.suppress(Exception):
                self.spark.stop()


class SparkSessionHandle(Session):
    """A worker thread's handle: Spark's session is shared and thread-safe; this records
    what ran for the node."""

    dialect: ClassVar[str] = "spark"

    def __init__(self, engine: SparkEngine) -> None:
        self.engine = engine
        self.spark = engine.spark
        self.statements: list[str] = []

    # ------------------------------------------------------------------ basics
    def execute(self, statement: str) -> int | None:
        self.statements.append(statement)
        self.spark.sql(statement)
        return None

    def query(self, statement: str, limit: int | None = None) -> QueryResult:
        frame = self.spark.sql(statement)
        if limit is not None:
            frame = frame.limit(limit)
        rows = [tuple(row) for row in frame.collect()]
        return QueryResult(tuple(frame.columns), rows)

    def relation_kind(self, relation: Relation) -> str | None:
        return self.engine._kind(relation)

    def columns(self, relation: Relation) -> list[ColumnInfo]:
        schema = self.spark.table(qualified(relation)).schema
        return [ColumnInfo(f.name, f.dataType.simpleString()) for f in schema.fields]

    def query_columns(self, select_sql: str) -> list[ColumnInfo]:
        schema = self.spark.sql(select_sql).schema
        return [ColumnInfo(f.name, f.dataType.simpleString()) for f in schema.fields]

    def create_schema(self, schema: str) -> None:
        if schema.lower() in self.engine._schemas:
            return
        with self.engine._lock:
            if schema.lower() in self.engine._schemas:
                return
            self.execute(f"CREATE DATABASE IF NOT EXISTS {q(schema)}")
            self.engine._schemas.add(schema.lower())

    def create_view(self, relation: Relation, select_sql: str) -> None:
        if self.relation_kind(relation) == TABLE:
            self.drop(relation, TABLE)
        self.execute(f"CREATE OR REPLACE VIEW {qualified(relation)} AS\n{_body(select_sql)}")
        self.engine._remember(relation, VIEW)

    def replace_table(self, relation: Relation, select_sql: str) -> int | None:
        """Build under a new name, then swap: the old table stays if the query fails."""
        new = Relation(schema=relation.schema, identifier=f"__runner_new_{relation.identifier}")
        self.execute(f"DROP TABLE IF EXISTS {qualified(new)}")
        self.execute(f"CREATE TABLE {qualified(new)} USING parquet AS\n{_body(select_sql)}")
        kind = self.relation_kind(relation)
        if kind is not None:
            self.drop(relation, kind)
        self.execute(f"ALTER TABLE {qualified(new)} RENAME TO {qualified(relation)}")
        self.engine._remember(relation, TABLE)
        return None

    def create_temp_table(self, relation: Relation, select_sql: str) -> int | None:
        self.create_schema(relation.schema)
        self.execute(f"DROP TABLE IF EXISTS {qualified(relation)}")
        self.execute(f"CREATE TABLE {qualified(relation)} USING parquet AS\n{_body(select_sql)}")
        self.engine._remember(relation, TABLE)
        return None

    def replace_rows(self, relation: Relation, select_sql: str) -> int | None:
        # INSERT OVERWRITE cannot read the table it overwrites: stage the rows first.
        staging = self.engine.scratch_relation(f"__runner_stage_{relation.identifier}")
        self.create_temp_table(staging, select_sql)
        try:
            self.execute(
                f"INSERT OVERWRITE TABLE {qualified(relation)} SELECT * FROM {qualified(staging)}"
            )
        finally:
            self.drop(staging, TABLE)
        return None

    # ------------------------------------------------------------------ Python models
    def read_relation(self, relation: Relation) -> Any:
        return self.spark.table(qualified(relation))

    def sql_relation(self, query: str) -> Any:
        return self.spark.sql(query)

    def query_arrow(self, query: str) -> Any:
        return self.spark.sql(query).toArrow()

    def query_pandas(self, query: str) -> Any:
        """pandas as DuckDB's ``.df()`` gives it: DECIMAL as float64."""
        from pyspark.sql.functions import col
        from pyspark.sql.types import DecimalType

        frame = self.spark.sql(query)
        frame = frame.select(
            *[
                col(f"`{f.name}`").cast("double").alias(f.name)
                if isinstance(f.dataType, DecimalType)
                else col(f"`{f.name}`")
                for f in frame.schema.fields
            ]
        )
        return frame.toPandas()

    def replace_table_with_data(self, relation: Relation, data: Any) -> int | None:
        from pyspark.sql import DataFrame

        if hasattr(data, "native") and hasattr(data, "arrow"):  # ModelData
            data = data.native
        if not isinstance(data, DataFrame):
            try:
                if hasattr(data, "to_pandas") and not hasattr(data, "iloc"):
                    data = data.to_pandas()  # pyarrow
                data = self.spark.createDataFrame(data)
            except Exception as exc:
                raise TypeError(
                    f"cannot make a table of a {type(data).__name__}: return a pandas or "
                    "pyarrow DataFrame, or a Spark DataFrame"
                ) from exc
        name = f"__runner_python_{relation.identifier}"
        data.createOrReplaceTempView(name)
        try:
            return self.replace_table(relation, f"SELECT * FROM {q(name)}")
        finally:
            self.spark.catalog.dropTempView(name)

    # ------------------------------------------------------------------ incremental
    def insert(self, target: Relation, source: Relation, columns: Sequence[str]) -> int | None:
        names = ", ".join(q(c) for c in columns)
        return self.execute(
            f"INSERT INTO {qualified(target)} ({names}) SELECT {names} FROM {qualified(source)}"
        )

    def delete_matching(
        self, target: Relation, source: Relation, keys: Sequence[str]
    ) -> int | None:
        raise NotImplementedError("Spark's built-in catalog has no DELETE (capabilities.merge)")

    def merge(
        self,
        target: Relation,
        source: Relation,
        keys: Sequence[str],
        columns: Sequence[str],
        updated: Sequence[str] | None = None,
    ) -> int | None:
        raise NotImplementedError("Spark's built-in catalog has no MERGE (capabilities.merge)")

    def add_columns(self, relation: Relation, columns: Sequence[ColumnInfo]) -> None:
        added = ", ".join(f"{q(c.name)} {c.type}" for c in columns)
        self.execute(f"ALTER TABLE {qualified(relation)} ADD COLUMNS ({added})")

    def drop_columns(self, relation: Relation, names: Sequence[str]) -> None:
        raise ProjectError(
            f"{relation.render()}: Spark's parquet tables cannot drop columns "
            "(on_schema_change: sync_all_columns)",
            hint="run with --full-refresh, or use on_schema_change: append_new_columns",
        )

    def alter_column_types(self, relation: Relation, columns: Sequence[ColumnInfo]) -> None:
        raise ProjectError(
            f"{relation.render()}: Spark's parquet tables cannot change column types "
            "(on_schema_change: sync_all_columns)",
            hint="run with --full-refresh, or use on_schema_change: append_new_columns",
        )

    def drop(self, relation: Relation, kind: str) -> None:
        what = "VIEW" if kind == VIEW else "TABLE"
        self.execute(f"DROP {what} IF EXISTS {qualified(relation)}")
        self.engine._remember(relation, None)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield  # no transactions: materializations check capabilities.transactions

    # ------------------------------------------------------------------ seeds, sources
    def load_csv(
        self, relation: Relation, path: Path, column_types: Mapping[str, str]
    ) -> int | None:
        header = _csv_header(path)
        lowered = {k.lower(): v for k, v in column_types.items()}
        missing = [c for c in column_types if c.lower() not in {h.lower() for h in header}]
        if missing:
            raise DataError(
                f"column_types names {', '.join(missing)}, not in the header ({', '.join(header)})",
                line=1,
            )
        files = Relation(schema=relation.schema, identifier=f"__runner_csv_{relation.identifier}")
        self._csv_table(files, path, header)
        casts = [_cast(name, lowered.get(name.lower())) for name in header]
        self.replace_table(relation, f"SELECT {', '.join(casts)} FROM {qualified(files)}")
        return int(self.spark.table(qualified(relation)).count())

    def _csv_table(self, relation: Relation, path: Path, header: list[str]) -> None:
        """An external table over the CSV file, every column text (cast by the reader)."""
        columns = ", ".join(f"{q(h)} STRING" for h in header)
        self.execute(f"DROP TABLE IF EXISTS {qualified(relation)}")
        self.execute(
            f"CREATE TABLE {qualified(relation)} ({columns}) USING csv OPTIONS "
            f"(path {literal(str(path))}, header 'true', multiLine 'true', escape '\"', "
            "mode 'FAILFAST')"
        )
        self.engine._remember(relation, TABLE)

    def data_columns(self, data: ExternalData) -> list[ColumnInfo] | None:
        if data.format == "table":
            assert data.relation is not None
            if self.relation_kind(data.relation) is None:
                return None
            return self.columns(data.relation)
        assert data.path is not None
        if data.format == "csv":
            return [ColumnInfo(h, "VARCHAR") for h in _csv_header(Path(data.path))]
        try:
            schema = self.spark.read.parquet(data.path).schema
        except Exception as exc:
            raise DataError(
                spark_errors.explain(exc).message, hint="is it a valid Parquet file?"
            ) from None
        return [ColumnInfo(f.name, f.dataType.simpleString()) for f in schema.fields]

    def create_source_view(
        self, relation: Relation, data: ExternalData, columns: Mapping[str, str | None]
    ) -> None:
        if data.format == "table":
            assert data.relation is not None
            reads = qualified(data.relation)
            present = [c.name for c in self.columns(data.relation)]
        else:
            # A table over the files, not a temporary view: persistent views cannot
            # read temporary objects in Spark's catalog.
            assert data.path is not None
            files = Relation(
                schema=relation.schema, identifier=f"__runner_files_{relation.identifier}"
            )
            if data.format == "csv":
                present = _csv_header(Path(data.path))
                self._csv_table(files, Path(data.path), present)
            else:
                self.execute(f"DROP TABLE IF EXISTS {qualified(files)}")
                self.execute(
                    f"CREATE TABLE {qualified(files)} USING parquet "
                    f"OPTIONS (path {literal(_one_path(data))})"
                )
                self.engine._remember(files, TABLE)
                present = [c.name for c in self.columns(files)]
            reads = qualified(files)
        by_lower = {p.lower(): p for p in present}
        wanted = list(columns) if columns else present
        selected = [_cast(by_lower.get(name.lower(), name), columns.get(name)) for name in wanted]
        self.create_view(relation, f"SELECT {', '.join(selected)} FROM {reads}")

    def attach_database(self, path: Path) -> str:
        raise UsageError(
            f"sources: from: database ({path}) is for DuckDB targets",
            hint="land the tables as files (from: files, csv or parquet) for a Spark target",
        )


def _one_path(data: ExternalData) -> str:
    """The path option for ``data``: several files of one folder as one Hadoop glob,
    ``folder/{a.parquet,b.parquet}`` (glob characters in the names escaped)."""
    if len(data.paths) <= 1:
        assert data.path is not None
        return data.paths[0] if data.paths else data.path
    folders = {str(Path(p).parent) for p in data.paths}
    if len(folders) != 1:
        raise DataError(
            f"the files to read are in {len(folders)} folders ({', '.join(sorted(folders))})",
            hint="a source table's files are one folder (<table>/*.parquet)",
        )
    names = ",".join(re.sub(r"([\\{}\[\]*?,])", r"\\\1", Path(p).name) for p in data.paths)
    return f"{folders.pop()}/{{{names}}}"


def _body(select_sql: str) -> str:
    body = select_sql.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    return body + "\n"


def _cast(name: str, type_: str | None) -> str:
    if not type_:
        return q(name)
    spelled = spark_type(type_)
    if spelled == "TIMESTAMP_NTZ":
        # DuckDB's TIMESTAMP holds UTC wall-clock time. Spark's cast of text to
        # TIMESTAMP_NTZ drops a UTC offset without a word ('16:52+01:00' stays 16:52);
        # the cast to TIMESTAMP applies it (in the session's zone, UTC), and from there
        # TIMESTAMP_NTZ is the UTC wall clock. Text without an offset is read as UTC.
        return f"CAST(CAST({q(name)} AS TIMESTAMP) AS TIMESTAMP_NTZ) AS {q(name)}"
    return f"CAST({q(name)} AS {spelled}) AS {q(name)}"


def _csv_header(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except UnicodeDecodeError:
        raise DataError("the file is not UTF-8 text", hint="save the CSV as UTF-8") from None
    if not header:
        raise DataError("the file is empty: no header row", line=1)
    return [h.strip() for h in header]


class SparkCursor:
    """What the SQL validator reads through: DB-API-like ``execute``/``fetchone``/
    ``fetchall``/``description``. The validator renders its checks in Spark's dialect
    (``SparkEngine.dialect``), so statements run as they come."""

    def __init__(self, engine: SparkEngine) -> None:
        self.engine = engine
        self._rows: list[tuple[Any, ...]] = []
        self.description: list[tuple[str, ...]] | None = None

    def execute(self, statement: str, parameters: Any = None) -> SparkCursor:
        frame = self.engine.spark.sql(statement)
        self.description = [(name,) for name in frame.columns]
        self._rows = [tuple(row) for row in frame.collect()]
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows)

    def interrupt(self) -> None:
        self.engine.interrupt()

    def close(self) -> None:
        self._rows = []


class FileAuditLog(AuditStore):
    """Audit states in a JSON file next to the Spark warehouse (written whole and renamed,
    so a crash leaves the old file or the new one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def _load(self) -> dict[str, list[Any]]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def record(self, unique_id: str, status: str, message: str, at: datetime.datetime) -> None:
        with self._lock:
            data = self._load()
            data[unique_id] = [status, message, at.isoformat()]
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(temporary, self.path)

    def read(self) -> dict[str, tuple[str, str, datetime.datetime]]:
        with self._lock:
            data = self._load()
        return {
            uid: (status, message, datetime.datetime.fromisoformat(at))
            for uid, (status, message, at) in data.items()
        }

    def close(self) -> None:
        pass


class SparkServingSchema(ServingWriter):
    """Publish on Spark: each mart is copied into ``<schema>.__runner_new_<name>`` and,
    once all are copied, swapped in by rename (readers of the serving schema see the old
    table or the new one, never a half-built one; between two marts' swaps a reader may
    see one new and one old mart). ``_runner.published_<schema>`` records what is served."""

    def __init__(self, engine: SparkEngine, destination: str) -> None:
        self.engine = engine
        self.schema = destination or DEFAULT_SERVING_SCHEMA
        self.session = engine.session()
        self._new: list[tuple[Relation, Relation]] = []  # (new, final)
        self.session.create_schema(self.schema)
        self.session.create_schema(META_SCHEMA)
        self.meta = Relation(schema=META_SCHEMA, identifier=f"published_{self.schema}")

    def _served(self, relation: Relation) -> Relation:
        return Relation(schema=self.schema, identifier=relation.identifier)

    def previous(self) -> dict[str, PreviousVersion]:
        if self.session.relation_kind(self.meta) is None:
            return {}
        rows = self.session.query(
            f"SELECT unique_id, identifier, version_at FROM {qualified(self.meta)}"
        ).rows
        return {
            uid: PreviousVersion(Relation(schema=self.schema, identifier=identifier), at)
            for uid, identifier, at in rows
        }

    def _copy(self, source: Relation, relation: Relation) -> int:
        final = self._served(relation)
        new = Relation(schema=self.schema, identifier=f"__runner_new_{relation.identifier}")
        self.session.create_temp_table(new, f"SELECT * FROM {qualified(source)}")
        self._new.append((new, final))
        return int(self.engine.spark.table(qualified(new)).count())

    def copy_current(self, relation: Relation) -> int:
        return self._copy(relation, relation)

    def copy_previous(self, previous: Relation, relation: Relation) -> int:
        return self._copy(previous, relation)

    def commit(self, published: Sequence[tuple[Any, ...]]) -> None:
        for new, final in self._new:
            kind = self.session.relation_kind(final)
            if kind is not None:
                self.session.drop(final, kind)
            self.session.execute(f"ALTER TABLE {qualified(new)} RENAME TO {qualified(final)}")
            self.engine._remember(new, None)
            self.engine._remember(final, TABLE)
        self._new = []
        # timestamp_ntz, as in the rest of the runner's state: the naive UTC wall clock the
        # runner writes, whatever the session's or this process's time zone (a TIMESTAMP
        # column would read naive values as local time and show them in the session's).
        frame = self.engine.spark.createDataFrame(
            [tuple(row) for row in published],
            "unique_id string, name string, schema_name string, identifier string, "
            "action string, reason string, version_at timestamp_ntz, "
            "published_at timestamp_ntz, row_count bigint",
        )
        frame.createOrReplaceTempView("__runner_published")
        try:
            self.session.replace_table(self.meta, "SELECT * FROM `__runner_published`")
        finally:
            self.engine.spark.catalog.dropTempView("__runner_published")

    def abort(self) -> None:
        for new, _ in self._new:
            with contextlib.suppress(Exception):
                self.session.drop(new, TABLE)
        self._new = []
