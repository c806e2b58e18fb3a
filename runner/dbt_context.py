"""What dbt's Jinja context offers beyond ref/source/config/var: ``adapter`` (dispatch,
columns of a relation), ``api.Relation``, ``return()``, ``log()``, ``run_query`` and
``statement`` / ``load_result``, ``modules``, ``execute``.

Queries run on the engine only when the model is compiled for execution (``execute`` is
true); while a project is parsed they return nothing, as in dbt, so a macro guards them
with ``{% if execute %}``.
"""

from __future__ import annotations

import datetime
import itertools
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .errors import ProjectError
from .nodes import Relation

ADAPTER_TYPE = "duckdb"
ADAPTER_PREFIXES = ("duckdb", "default")
# A template referring to one of these can behave differently once the database is there
# (or from one run to the next): models calling them (directly or through macros) are
# compiled right before they run, and never cached.
EXECUTION_NAMES = frozenset(
    {
        "execute",
        "run_query",
        "statement",
        "load_result",
        "run_started_at",
        "invocation_id",
        "graph",
    }
)

Query = Callable[[str], Any]  # SQL -> QueryResult (columns, rows)


class MacroReturn(Exception):
    """``{{ return(value) }}``: ends the macro, which then returns ``value``."""

    def __init__(self, value: Any) -> None:
        self.value = value


def do_return(value: Any = None) -> None:
    raise MacroReturn(value)


def returning(macro: Callable[..., Any]) -> Callable[..., Any]:
    """A macro that honours ``return()`` (called like the macro itself)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return macro(*args, **kwargs)
        except MacroReturn as result:
            return result.value

    call.__name__ = getattr(macro, "name", "macro")
    call.jinja_macro = macro  # type: ignore[attr-defined]
    return call


def log(message: Any, info: bool = False) -> str:
    """dbt's log(): with info=True the message is shown; otherwise only with --debug."""
    import os

    if info or os.environ.get("RUNNER_DEBUG"):
        print(str(message), file=sys.stderr)
    return ""


MODULES = {
    "datetime": datetime,
    "re": re,
    "itertools": itertools,
}


class Column:
    """A column as run_query's table and adapter.get_columns_in_relation give it."""

    def __init__(self, name: str, data_type: str = "", values: Sequence[Any] = ()) -> None:
        self.name = name
        self.column = name
        self.data_type = data_type
        self.dtype = data_type
        self._values = tuple(values)

    @property
    def quoted(self) -> str:
        return '"' + self.name.replace('"', '""') + '"'

    def values(self) -> tuple[Any, ...]:
        return self._values

    def __repr__(self) -> str:
        return f"<Column {self.name} ({self.data_type})>"


class Row(tuple):
    """One row of a query result: by position or by column name."""

    names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)


class Table:
    """What run_query returns: like dbt's agate table, the parts macros use."""

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        names = tuple(columns)
        self.column_names = names
        self.rows = [_row(names, r) for r in rows]
        self.columns = _Columns(
            [Column(n, values=[r[i] for r in self.rows]) for i, n in enumerate(names)]
        )

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Any:
        return iter(self.rows)

    def print_table(self, max_rows: int = 20, **_: Any) -> str:
        print(" | ".join(self.column_names), file=sys.stderr)
        for row in self.rows[:max_rows]:
            print(" | ".join(str(v) for v in row), file=sys.stderr)
        return ""


class _Columns(list):
    """Columns by position or by name (``table.columns['status']``)."""

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            for column in self:
                if column.name == key:
                    return column
            raise KeyError(key)
        return list.__getitem__(self, key)


def _row(names: tuple[str, ...], values: Sequence[Any]) -> Row:
    row = Row(values)
    row.names = names
    return row


class Namespace(dict):
    """A package's macros, as ``dbt_utils.star(...)`` reaches them. With a ``loader``,
    the macros are made on first use (``loader`` fills the mapping)."""

    def __init__(self, package: str) -> None:
        super().__init__()
        self.package = package
        self.loader: Callable[[], None] | None = None

    def _load(self) -> None:
        loader = self.__dict__.get("loader")
        if loader is not None:
            self.loader = None
            loader()

    def __getitem__(self, name: str) -> Any:
        self._load()
        return dict.__getitem__(self, name)

    def __contains__(self, name: object) -> bool:
        self._load()
        return dict.__contains__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        self._load()
        return dict.get(self, name, default)

    def items(self) -> Any:
        self._load()
        return dict.items(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"package '{self.package}' has no macro '{name}'") from None


class Deferred:
    """An unqualified name of one of the runner's own macros: made when first called."""

    def __init__(self, scope: Namespace, name: str) -> None:
        self.scope = scope
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.scope[self.name](*args, **kwargs)


class Execution:
    """The database side of one render: queries run only when ``query`` is given."""

    def __init__(self, query: Query | None) -> None:
        self.query = query
        self.results: dict[str, Any] = {}

    @property
    def execute(self) -> bool:
        return self.query is not None

    def run_query(self, sql: str) -> Table | None:
        if self.query is None:
            return None
        result = self.query(str(sql))
        return Table(result.columns, result.rows)

    def statement(
        self,
        name: str | None = None,
        fetch_result: bool = False,
        auto_begin: bool = True,
        language: str = "sql",
        caller: Callable[[], str] | None = None,
    ) -> str:
        if caller is None or self.query is None:
            return ""
        if language != "sql":
            raise ProjectError(f"statement(language={language!r}): only sql is supported")
        table = self.run_query(caller())
        if name is not None:
            assert table is not None
            self.results[name] = {
                "response": {"rows_affected": len(table)},
                "data": [tuple(r) for r in table.rows] if fetch_result else [],
                "table": table if fetch_result else None,
            }
        return ""

    def load_result(self, name: str) -> Any:
        return self.results.get(name)


class Adapter:
    """``adapter`` in templates: dispatch, quoting, and what the database holds."""

    def __init__(self, dispatch: Callable[..., Any], execution: Execution) -> None:
        self.dispatch = dispatch
        self._execution = execution

    def type(self) -> str:
        return ADAPTER_TYPE

    def quote(self, identifier: str) -> str:
        return '"' + str(identifier).replace('"', '""') + '"'

    def get_columns_in_relation(self, relation: Any) -> list[Column]:
        if self._execution.query is None:
            return []
        rendered = relation.render() if hasattr(relation, "render") else str(relation)
        result = self._execution.query(f"describe select * from {rendered}")
        return [Column(row[0], str(row[1])) for row in result.rows]

    def get_relation(self, database: Any = None, schema: Any = None, identifier: Any = None):
        if self._execution.query is None:
            return None
        result = self._execution.query(
            "select table_schema, table_name from information_schema.tables where "
            f"lower(table_schema) = lower('{_escape(schema)}') and "
            f"lower(table_name) = lower('{_escape(identifier)}')"
        )
        if not result.rows:
            return None
        return Relation(schema=result.rows[0][0], identifier=result.rows[0][1])

    def check_schema_exists(self, database: Any, schema: str) -> bool:
        if self._execution.query is None:
            return False
        result = self._execution.query(
            "select 1 from information_schema.schemata where "
            f"lower(schema_name) = lower('{_escape(schema)}')"
        )
        return bool(result.rows)


class TemplateRelation(Relation, Mapping):
    """A relation as templates see it: also a mapping, as dbt's Relation is (dbt-utils
    checks ``obj is mapping`` and ``obj.metadata.type`` before using one)."""

    def _fields(self) -> dict[str, Any]:
        return {
            "metadata": {"type": "DuckDBRelation"},
            "path": {
                "database": self.database,
                "schema": self.schema,
                "identifier": self.identifier,
            },
            "type": None,
            "quote_policy": {"database": True, "schema": True, "identifier": True},
        }

    def __getitem__(self, key: str) -> Any:
        return self._fields()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields())

    def __len__(self) -> int:
        return len(self._fields())


def for_templates(relation: Any) -> Any:
    """A plain Relation as a TemplateRelation (other kinds, e.g. placeholders, as they are)."""
    if type(relation) is Relation:
        return TemplateRelation(relation.schema, relation.identifier, relation.database)
    return relation


def _escape(value: Any) -> str:
    return str(value).replace("'", "''")


class _RelationApi:
    @staticmethod
    def create(
        database: str | None = None,
        schema: str | None = None,
        identifier: str | None = None,
        **_: Any,
    ) -> Relation:
        return Relation(schema=schema or "", identifier=identifier or "")


API = {"Relation": _RelationApi()}


def search_order(
    namespace: str | None, dispatch: Mapping[str, tuple[str, ...]], root: str
) -> list[str | None]:
    """Where adapter.dispatch looks, package by package (None: the flat namespace, as
    an unqualified call sees it: the root project, then the runner's own macros). As in
    dbt, a named namespace without a ``dispatch:`` entry is searched in the root project
    first, then the package: a project overrides ``dbt_utils.default__x`` by defining
    ``default__x`` (or ``duckdb__x``) itself."""
    if namespace is None:
        return [None]
    if namespace in dispatch:
        return list(dispatch[namespace])
    if namespace == root:
        return [root]
    return [root, namespace]
