"""Column lineage of one compiled model: for each output column, the upstream columns it is
computed from, found with sqlglot's ``lineage`` (qualify once, then walk every output column
with a shared cache).

The compiled SQL already holds ephemeral parents as CTEs (``inject_ctes``), so the walk goes
through them to the tables they read; the CTEs crossed on the way are reported in ``via`` so
the caller can name the ephemeral models. Stars are expanded by sqlglot's qualifier from the
upstream ``schema`` (table key -> column names, the same keys as ``SqlFacts.tables``); a star
over a table of unknown columns leaves the query unresolvable and the model gets an error
entry, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot import lineage as sqlglot_lineage
from sqlglot.errors import SqlglotError

from .analysis import table_key

__all__ = ["ColumnLineage", "LineageError", "UpstreamColumn", "column_lineage"]

# How an output column relates to its upstream columns.
IDENTITY = "identity"  # the same column passed through, same name
RENAMED = "renamed"  # one upstream column passed through under another name
DERIVED = "derived"  # an expression: arithmetic, aggregate, CASE, window, ...


@dataclass(frozen=True, order=True)
class UpstreamColumn:
    """A column of a table the model reads: ``table`` is a table key (``staging.stg_x``)."""

    table: str
    column: str


@dataclass(frozen=True)
class ColumnLineage:
    """Where one output column comes from.

    ``upstream``: sorted, unique; empty for a constant or ``count(*)``. ``tables``: the tables
    those columns belong to. ``via``: the CTE names crossed on the way, outermost first.
    """

    upstream: tuple[UpstreamColumn, ...]
    transform: str
    tables: tuple[str, ...] = ()
    via: tuple[str, ...] = field(default=())


class LineageError(Exception):
    """The model's lineage cannot be computed (unresolvable star, syntax sqlglot cannot
    qualify); the message says why, in one line."""


def column_lineage(
    sql: str,
    schema: Mapping[str, Sequence[str]],
    *,
    dialect: str = "duckdb",
) -> dict[str, ColumnLineage]:
    """Lineage of every output column of ``sql`` (one query), by output column name.

    ``schema`` maps the table keys the query reads to their column names; tables missing
    from it are treated as having unknown columns.
    """
    try:
        nodes = sqlglot_lineage.lineage(
            None, sql, _nested_schema(schema), dialect=dialect, trim_selects=False
        )
    except (SqlglotError, RecursionError, KeyError, ValueError, AttributeError) as exc:
        raise LineageError(_one_line(exc)) from None
    result: dict[str, ColumnLineage] = {}
    for name, root in nodes.items():
        if name == "*":
            raise LineageError("a star over a relation of unknown columns")
        result[name] = _summarise(name, root)
    return result


def _nested_schema(schema: Mapping[str, Sequence[str]]) -> dict:
    """``{"db.schema.table": [cols]}`` -> sqlglot's nested ``{db: {schema: {table: {col: type}}}}``.

    The types are not needed to qualify columns; sqlglot still wants one per column. All keys
    must have the same depth, so two-part keys are used as they are and deeper ones keep their
    last two parts (the runner renders relations as ``"schema"."table"``).
    """
    nested: dict[str, dict[str, dict[str, str]]] = {}
    for key, columns in schema.items():
        parts = key.split(".")
        if len(parts) < 2:
            continue  # a CTE-like bare name (ephemeral): inlined, not a table
        db, table = parts[-2], parts[-1]
        nested.setdefault(db, {})[table] = {c: "UNKNOWN" for c in columns}
    return nested


def _summarise(name: str, root: sqlglot_lineage.Node) -> ColumnLineage:
    upstream: set[UpstreamColumn] = set()
    tables: set[str] = set()
    via: list[str] = []
    passthrough = True
    for node in root.walk():
        if isinstance(node.expression, exp.Table):
            key = table_key(node.expression.catalog, node.expression.db, node.expression.name)
            tables.add(key)
            column = node.name.rpartition(".")[2]
            if column and column != "*":
                upstream.add(UpstreamColumn(key, column))
            continue
        if node.reference_node_name and node.reference_node_name not in via:
            via.append(node.reference_node_name)
        if node.source_name and node.source_name not in via:
            via.append(node.source_name)
        projection = node.expression.unalias() if isinstance(node.expression, exp.Alias) else None
        if projection is None:
            projection = node.expression
        if not isinstance(projection, exp.Column):
            passthrough = False
    ordered = tuple(sorted(upstream))
    if passthrough and len(ordered) == 1:
        transform = IDENTITY if ordered[0].column.lower() == name.lower() else RENAMED
    else:
        transform = DERIVED
    return ColumnLineage(ordered, transform, tuple(sorted(tables)), tuple(via))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
