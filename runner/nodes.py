"""The things a project is made of — sources, seeds, models — as plain immutable data.

Nodes are built once by the parser and never change afterwards; what the compiler
derives from them (compiled SQL, output columns) lives in ``CompiledNode`` beside
them, so a node can be cached and compared across runs (``state:modified``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, ClassVar

from .config_schema import MODEL_CONFIG, SEED_CONFIG

# Config keys a model or seed understands (the table with their types and allowed
# values is config_schema; an unknown key is kept in ``config`` and warned about).
MODEL_CONFIG_KEYS = frozenset(MODEL_CONFIG) | frozenset(SEED_CONFIG)

MATERIALIZATIONS = frozenset({"view", "table", "incremental", "ephemeral", "seed", "snapshot"})


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class Relation:
    """Where a node lives in the warehouse. Renders as ``"schema"."identifier"``.

    The database part is left out on purpose: compiled SQL must not depend on the
    file name of the DuckDB database (the serving copy has another name).
    """

    schema: str
    identifier: str
    database: str | None = None

    @property
    def name(self) -> str:
        return self.identifier

    def render(self) -> str:
        parts = [p for p in (self.database, self.schema, self.identifier) if p]
        return ".".join(_quote(p) for p in parts)

    def __str__(self) -> str:
        return self.render()

    # What dbt's Relation offers templates (dbt-utils macros use these).
    @property
    def is_cte(self) -> bool:
        return not self.schema

    @property
    def type(self) -> str | None:
        return None

    def include(
        self, database: bool = True, schema: bool = True, identifier: bool = True
    ) -> Relation:
        return Relation(
            schema=self.schema if schema else "",
            identifier=self.identifier if identifier else "",
            database=self.database if database else None,
        )

    def quote(self, *args: object, **kwargs: object) -> Relation:
        return self  # always quoted


CHANGED_SCHEMA = "_runner"


def changed_rows_relation(relation: Relation, kind: str = "changed") -> Relation:
    """Where an incremental run of the table at ``relation`` keeps a copy of the rows it
    wrote (``kind`` "changed") and of the rows those replaced ("replaced"), until its next
    run: ``changed_rows(ref('x'))`` and ``replaced_rows(ref('x'))`` in a model."""
    return Relation(
        schema=CHANGED_SCHEMA, identifier=f"{kind}__{relation.schema}__{relation.identifier}"
    )


@dataclass(frozen=True)
class Column:
    """A column as documented in YAML (name, description, declared type, expectations)."""

    name: str
    description: str = ""
    data_type: str | None = None
    expectations: tuple[Mapping[str, Any], ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class RefCall:
    """One ``ref('name')`` found while parsing a model, with the source line it sits on."""

    name: str
    line: int | None = None


@dataclass(frozen=True)
class SourceCall:
    """One ``source('source_name', 'table')`` found while parsing a model."""

    source_name: str
    table_name: str
    line: int | None = None


@dataclass(frozen=True, eq=False, kw_only=True)
class Node:
    """What every node has. ``path`` is relative to the project root, POSIX style."""

    resource_type: ClassVar[str] = "node"

    unique_id: str
    name: str
    path: PurePosixPath
    fqn: tuple[str, ...]
    relation: Relation
    config: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    columns: tuple[Column, ...] = ()
    expectations: tuple[Mapping[str, Any], ...] = ()  # table-level, as declared in YAML
    yaml_path: PurePosixPath | None = None  # the YAML file documenting the node, if any
    line: int = 1  # where the node is declared: 1 for a file, its YAML line otherwise
    checksum: str = ""

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.config.get("tags", ()))

    @property
    def enabled(self) -> bool:
        return bool(self.config.get("enabled", True))

    @property
    def materialized(self) -> str:
        return str(self.config.get("materialized", "view"))

    @property
    def display_name(self) -> str:
        """How the node is named in output: sources as ``source.table``."""
        return self.name


@dataclass(frozen=True, eq=False, kw_only=True)
class Source(Node):
    """One table of a source declared in ``sources.yml``."""

    resource_type: ClassVar[str] = "source"

    source_name: str
    identifier: str
    loader: Mapping[str, Any] = field(default_factory=dict)  # where it is read from
    freshness: Mapping[str, Any] | None = None  # validated in runner/freshness.py
    loaded_at_field: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def materialized(self) -> str:
        return "source"

    @property
    def display_name(self) -> str:
        return f"{self.source_name}.{self.name}"


@dataclass(frozen=True, eq=False, kw_only=True)
class Seed(Node):
    """A CSV file under a seed path; ``column_types`` come from ``seeds/_seeds.yml``."""

    resource_type: ClassVar[str] = "seed"

    column_types: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False, kw_only=True)
class Model(Node):
    """A SQL model, after its parse render: the refs, sources and config it declared."""

    resource_type: ClassVar[str] = "model"

    raw_sql: str
    refs: tuple[RefCall, ...] = ()
    sources: tuple[SourceCall, ...] = ()
    macros: tuple[str, ...] = ()  # names of project macros the model calls, directly or not
    language: str = "sql"
    needs_execution: bool = False  # queries the database while compiled (run_query, ...)


@dataclass(frozen=True, eq=False, kw_only=True)
class Snapshot(Model):
    """A ``{% snapshot %}`` block (or a YAML snapshot): SCD2 history of its query."""

    resource_type: ClassVar[str] = "snapshot"

    @property
    def materialized(self) -> str:
        return "snapshot"


@dataclass(frozen=True)
class Macro:
    """A Jinja macro from a file under a macro path."""

    name: str
    path: PurePosixPath
    line: int
    checksum: str  # of the whole file it is defined in
    calls: tuple[str, ...] = ()  # other project macros it references


@dataclass(frozen=True)
class CompiledNode:
    """What compiling a model produced: its SQL and what sqlglot learned from it."""

    unique_id: str
    sql: str
    columns: tuple[str, ...] | None  # None when sqlglot could not resolve them
    undeclared_tables: tuple[str, ...] = ()
    compiled_path: PurePosixPath | None = None
    reads: tuple[str, ...] = ()  # every table the SQL reads (table keys)
    target_sql: str | None = None  # ``sql`` in the target engine's dialect (None: DuckDB's)


def declared_grain(node: Node) -> tuple[str, ...]:
    """The columns that identify a row of ``node``, as its YAML says: the first
    ``compound_unique`` expectation on the node, else the first column expected ``unique``,
    else the ``unique_key`` config. Empty when nothing declares one."""
    for expectation in node.expectations:
        spec = expectation.get("compound_unique") if isinstance(expectation, Mapping) else None
        columns = spec.get("columns") if isinstance(spec, Mapping) else None
        if isinstance(columns, list) and columns:
            return tuple(str(c) for c in columns)
    for column in node.columns:
        for expectation in column.expectations:
            if expectation == "unique" or (
                isinstance(expectation, Mapping) and "unique" in expectation
            ):
                return (column.name,)
    key = node.config.get("unique_key")
    if isinstance(key, str):
        return (key,)
    if isinstance(key, list | tuple) and key:
        return tuple(str(k) for k in key)
    return ()
