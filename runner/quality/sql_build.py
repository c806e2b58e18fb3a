"""The pieces every expectation's SQL is built from, and its rendering in a dialect.

The registry's classes build sqlglot expressions from these: quoted columns, Python/YAML
values as literals, the checked relation, a parent relation (``resolve``), the as-of date,
and the user's own SQL (``expression`` and ``sql`` text, with ``{this}``, ``{ref:x}`` and
``{as_of}`` filled in). ``SqlBuilder.render`` writes the result in the engine's dialect:
DuckDB's, or Spark's through the project's ``RunnerSpark`` (the same rewrites as model SQL).

The user's SQL is written in DuckDB's dialect. On DuckDB it runs exactly as written: it
stands in the tree as a placeholder and is spliced in after rendering, so DuckDB (not
sqlglot) reads it and reports its errors. On other engines it is parsed and carried over.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import re
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

# Placeholders understood in `expression` and `sql` text. `{changed:<expr>}` (a `sql` check
# with changed_key only): true when the check reads the whole table; when it reads only the
# keys a run wrote, whether <expr> is one of them, so the check's own SQL can keep to them.
PLACEHOLDER_RE = re.compile(r"\{(this|as_of|ref:([A-Za-z_][\w.]*)|changed:([^{}]+))\}")


class PlaceholderError(ValueError):
    """A placeholder that cannot be filled (no as-of date, unknown ref)."""


def quote(identifier: str) -> str:
    """A DuckDB quoted identifier (for text spliced into DuckDB SQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def column(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def columns(names: list[str]) -> list[exp.Column]:
    return [column(n) for n in names]


def literal(value: Any) -> exp.Expression:
    """A Python/YAML value as a SQL literal."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float | decimal.Decimal):
        return exp.Literal.number(str(value) if isinstance(value, decimal.Decimal) else repr(value))
    if isinstance(value, datetime.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)
    if isinstance(value, datetime.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    return exp.Literal.string(str(value))


def as_of_date(as_of: Any) -> datetime.date:
    """The as-of date (or timestamp) a check compares with; PlaceholderError if none."""
    if as_of is None:
        raise PlaceholderError(
            "the as-of date is needed ({as_of} or recency) but was not given: set var as_of,"
            " or check a node downstream of the as_of model, whose date it then is"
        )
    if isinstance(as_of, datetime.date):
        return as_of
    try:
        return datetime.date.fromisoformat(str(as_of))
    except ValueError:
        return datetime.datetime.fromisoformat(str(as_of))


def _duckdb_literal(value: datetime.date) -> str:
    if isinstance(value, datetime.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return f"DATE '{value.isoformat()}'"


@functools.lru_cache(maxsize=4096)
def _table_parts(name: str) -> tuple[tuple[str, str, bool], ...]:
    try:
        parsed = sqlglot.parse_one(name, into=exp.Table, read="duckdb")
    except (ParseError, TokenError):
        raise ValueError(f"cannot read relation name {name!r}") from None
    parts = ((key, part) for key in ("catalog", "db", "this") if (part := parsed.args.get(key)))
    return tuple((key, part.name, bool(part.args.get("quoted"))) for key, part in parts)


@functools.lru_cache(maxsize=256)
def _parsed_query(text: str) -> exp.Query:
    query = sqlglot.parse_one(text, read="duckdb")
    assert isinstance(query, exp.Query)
    return query


def table(name: str) -> exp.Table:
    """A rendered relation name (``"schema"."table"``, DuckDB quoting) as a table.

    Parsed once per name; each call builds a new node (cheaper than copying one)."""
    return exp.Table(
        **{
            key: exp.Identifier(this=text, quoted=quoted)
            for key, text, quoted in _table_parts(name)
        }
    )


def count_star() -> exp.Count:
    return exp.Count(this=exp.Star())


def select_from(
    source: exp.Expression,
    *projections: exp.Expression,
    alias: str | None = None,
    where: exp.Expression | None = None,
) -> exp.Select:
    """``SELECT projections FROM source [AS alias] [WHERE where]`` (a query source becomes
    a subquery). Built node by node: sqlglot's chained builders copy and re-parse, which
    cost more than the rest of a check's SQL."""
    if isinstance(source, exp.Query):
        source = exp.Subquery(
            this=source, alias=exp.TableAlias(this=exp.to_identifier(alias or "f"))
        )
    select = exp.Select(expressions=list(projections or (exp.Star(),)))
    select.set("from_", exp.From(this=source))
    if where is not None:
        select.set("where", exp.Where(this=where))
    return select


@functools.lru_cache(maxsize=8)
def _dialect(dialect: str) -> Dialect:
    from ..sql.transpile import DIALECTS

    return Dialect.get_or_raise(DIALECTS.get(dialect, dialect))


# How DuckDB renders a named placeholder (``$name``): where spliced text goes.
_MARKER = exp.Placeholder(this="{}").sql(dialect="duckdb")


class SqlBuilder:
    """What one set of checks on one relation is built from, and how it is rendered.

    ``relation`` is the checked relation's rendered (DuckDB-quoted) name; ``resolve``
    maps a node name to its rendered relation; ``as_of`` is the warehouse's as-of date.
    """

    def __init__(
        self,
        relation: str,
        resolve: Callable[[str], str] | None = None,
        as_of: Any = None,
        *,
        dialect: str = "duckdb",
        replace_table_as: bool = True,
    ) -> None:
        self.relation_name = relation
        self.resolve_name = resolve
        self.as_of = as_of
        self.dialect = dialect
        self.replace_table_as = replace_table_as  # the engine's CREATE OR REPLACE TABLE AS
        self._spliced: dict[str, str] = {}  # placeholder marker -> the user's DuckDB SQL

    @property
    def scoped(self) -> bool:
        """Whether the checked relation is a query of some of the table's rows (an
        incremental run's: quality/changed.py), not the table."""
        return self.relation_name.lstrip()[:7].lower() == "select "

    @property
    def relation(self) -> exp.Expr:
        """The checked relation: a table, or a query (what an incremental run wrote and the
        rows sharing its keys: quality/changed.py)."""
        if self.scoped:
            return _parsed_query(self.relation_name).copy()
        return table(self.relation_name)

    def resolve(self, name: str) -> str:
        """``name``'s rendered relation; PlaceholderError if it cannot be resolved."""
        if self.resolve_name is None:
            raise PlaceholderError(f"cannot resolve '{name}': no resolver given")
        try:
            return self.resolve_name(name)
        except Exception as exc:
            raise PlaceholderError(f"cannot resolve '{name}': {exc}") from None

    def parent(self, name: str) -> exp.Table:
        return table(self.resolve(name))

    def as_of_value(self) -> exp.Expression:
        return literal(as_of_date(self.as_of))

    def user_sql(
        self,
        text: str,
        *,
        this: str | None = None,
        query: bool = False,
        written_keys: str | None = None,
    ) -> exp.Expr:
        """The user's SQL (a condition, or with ``query`` a query) with its placeholders
        filled; ``{this}`` is ``this`` (default: the checked relation). ``written_keys``: a
        query of the keys a run wrote, which ``{changed:<expr>}`` tests ``<expr>`` against
        (without it, ``{changed:...}`` is true: the whole table is checked)."""
        filled = self._fill(text, self.relation_name if this is None else this, written_keys)
        if self.dialect == "duckdb":
            return self.verbatim(filled)
        try:
            parsed = sqlglot.parse_one(filled, read="duckdb")
        except (ParseError, TokenError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValueError(
                f"cannot carry the check's SQL over to {self.dialect}: {first}"
            ) from None
        if not query and isinstance(parsed, exp.Query):
            parsed = exp.Subquery(this=parsed)
        return parsed

    def verbatim(self, text: str) -> exp.Expr:
        """SQL text that stands in the tree as it is (DuckDB renderings only)."""
        name = f"runner_sql_{len(self._spliced)}"
        self._spliced[_MARKER.format(name)] = text
        return exp.Placeholder(this=name)

    def _fill(self, text: str, this: str, written_keys: str | None = None) -> str:
        def replace(match: re.Match[str]) -> str:
            what = match.group(1)
            if what == "this":
                return this
            if what == "as_of":
                return _duckdb_literal(as_of_date(self.as_of))
            if match.group(3) is not None:
                if written_keys is None:
                    return "true"
                return f"({match.group(3).strip()}) in ({written_keys})"
            return self.resolve(match.group(2))

        return PLACEHOLDER_RE.sub(replace, text)

    def replace_table_statements(self, schema: str, name: str, query: exp.Query) -> list[str]:
        """Create ``schema`` if missing and (re)create ``schema.name`` as ``query``: in one
        statement where the engine can replace a table, else drop it first."""
        create_schema = exp.Create(
            this=exp.Table(this=exp.to_identifier(schema, quoted=True)), kind="SCHEMA", exists=True
        )
        target = exp.Table(
            this=exp.to_identifier(name, quoted=True), db=exp.to_identifier(schema, quoted=True)
        )
        create_table = exp.Create(
            this=target, kind="TABLE", replace=self.replace_table_as, expression=query
        )
        statements = [create_schema, create_table]
        if not self.replace_table_as:
            statements.insert(1, exp.Drop(tables=[target.copy()], kind="TABLE", exists=True))
        return [self.render(s) for s in statements]

    def render(self, expression: exp.Expression) -> str:
        """``expression`` in the dialect; raises ValueError for what cannot be carried over."""
        from ..sql.transpile import Refused

        try:
            # copy=False: every tree rendered here is built for this one rendering
            text = _dialect(self.dialect).generate(expression, copy=False)
        except Refused as refused:
            raise ValueError(f"cannot run on {self.dialect}: {refused.message}") from None
        if self._spliced:
            # Last marker first: $runner_sql_1 must not be read as $runner_sql_1 + "0".
            for marker in sorted(self._spliced, key=len, reverse=True):
                if marker in text:
                    text = text.replace(marker, self._spliced[marker])
        return text
