"""Each expectation as plain DuckDB SQL: the failing rows, and a query counting them.

Great Expectations runs the checks; this SQL serves three other purposes:

- the unexpected-rows expectations GX runs (expression, sql, relationships, recency) are
  built here, with ``{batch}`` in place of the relation (``gx_rows_query``);
- ``--store-failures`` materialises ``failing_rows_sql`` in the audit schema (whole rows,
  in the database, however many);
- the benchmark and the tests compare GX with ``expectation_sql`` (same semantics).

Semantics shared with the GX mapping: NULL passes every check except not_null;
``unique`` / ``compound_unique`` count every row whose (non-null) value is repeated;
``expression`` fails the rows where the condition is false (NULL passes);
aggregate checks (row_count_between, recency) count 1 when violated.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable
from typing import Any

from .declarations import PLACEHOLDER_RE, Expectation

_RELATION = "\x00relation\x00"  # stands for the checked relation until rendered


class PlaceholderError(ValueError):
    """A placeholder that cannot be filled (no as-of date, unknown ref)."""


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A Python/YAML value as a DuckDB literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | decimal.Decimal):
        return repr(value) if not isinstance(value, decimal.Decimal) else str(value)
    if isinstance(value, datetime.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, datetime.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def as_of_literal(as_of: Any) -> str:
    if as_of is None:
        raise PlaceholderError(
            "the as-of date is needed ({as_of} or recency) but was not given: set var as_of,"
            " or check a node downstream of the as_of model, whose date it then is"
        )
    if isinstance(as_of, datetime.date):
        return literal(as_of)
    try:
        return literal(datetime.date.fromisoformat(str(as_of)))
    except ValueError:
        return literal(datetime.datetime.fromisoformat(str(as_of)))


def _fill(text: str, resolve: Callable[[str], str] | None, as_of: Any, this: str) -> str:
    def replace(match: Any) -> str:
        what = match.group(1)
        if what == "this":
            return this
        if what == "as_of":
            return as_of_literal(as_of)
        return _resolve(resolve, match.group(2))

    return PLACEHOLDER_RE.sub(replace, text)


def _resolve(resolve: Callable[[str], str] | None, name: str) -> str:
    if resolve is None:
        raise PlaceholderError(f"cannot resolve '{name}': no resolver given")
    try:
        return resolve(name)
    except Exception as exc:
        raise PlaceholderError(f"cannot resolve '{name}': {exc}") from None


def _rows(exp: Expectation, resolve: Callable[[str], str] | None, as_of: Any) -> str:
    """The failing rows of ``exp``, reading the checked relation as ``_RELATION``."""
    a = exp.arguments
    r = _RELATION
    t = exp.type
    if t == "not_null":
        return f"select * from {r} where {quote(a['column'])} is null"
    if t in ("unique", "compound_unique"):
        cols = [quote(c) for c in (a["columns"] if t == "compound_unique" else [a["column"]])]
        complete = " and ".join(f"{c} is not null" for c in cols)
        return (
            f"select * exclude (runner_n) from (select *, count(*) over "
            f"(partition by {', '.join(cols)}) as runner_n from {r} where {complete}) as counted "
            f"where runner_n > 1"
        )
    if t == "accepted_values":
        c = quote(a["column"])
        values = ", ".join(literal(v) for v in a["values"])
        return f"select * from {r} where {c} is not null and {c} not in ({values})"
    if t == "between":
        c = quote(a["column"])
        bounds = [f"{c} >= {literal(a['min'])}"] if a.get("min") is not None else []
        bounds += [f"{c} <= {literal(a['max'])}"] if a.get("max") is not None else []
        return f"select * from {r} where {c} is not null and not ({' and '.join(bounds)})"
    if t == "relationships":
        c, f = quote(a["column"]), quote(a["field"])
        parent = _resolve(resolve, a["to"])
        # Only the key column: the sample then shows the orphaned key values.
        return (
            f"select {c} from {r} where {c} is not null "
            f"and {c} not in (select {f} from {parent} where {f} is not null)"
        )
    if t == "column_a_gte_b":
        ca, cb = quote(a["column_a"]), quote(a["column_b"])
        return (
            f"select * from {r} where {ca} is not null and {cb} is not null and not ({ca} >= {cb})"
        )
    if t == "expression":
        condition = _fill(a["expression"], resolve, as_of, r)
        return f"select * from {r} where not ({condition})"
    if t == "sql":
        # A CTE, so the user's query may alias {this} freely (GX's {batch} carries its own
        # alias unless the query contains a JOIN).
        query = _fill(a["sql"], resolve, as_of, "runner_this")
        return f"with runner_this as (select * from {r}) select * from ({query}) as runner_rows"
    if t == "row_count_between":
        bounds = [f"row_count < {a['min']}"] if a.get("min") is not None else []
        bounds += [f"row_count > {a['max']}"] if a.get("max") is not None else []
        return (
            f"select row_count from (select count(*) as row_count from {r}) as counted "
            f"where {' or '.join(bounds)}"
        )
    if t == "recency":
        c = quote(a["column"])
        seconds = round(float(a["days"]) * 86400)  # days may be fractional
        bound = f"{as_of_literal(as_of)} - interval ({seconds}) second"
        return (
            f"select max_value from (select max({c}) as max_value from {r}) as latest "
            f"where max_value is null or max_value < {bound}"
        )
    raise ValueError(f"no plain SQL for expectation type '{t}'")


def row_predicate(
    exp: Expectation,
    relation: str,
    resolve: Callable[[str], str] | None = None,
    *,
    as_of: Any = None,
) -> str | None:
    """For a check that judges each row on its own, the condition a failing row meets,
    so one scan can count many checks (``count(*) filter (where ...)``); None for the
    others (unique, relationships, sql, aggregates: they need their own query)."""
    a = exp.arguments
    t = exp.type
    if t == "not_null":
        return f"{quote(a['column'])} is null"
    if t == "accepted_values":
        c = quote(a["column"])
        return f"{c} is not null and {c} not in ({', '.join(literal(v) for v in a['values'])})"
    if t == "between":
        c = quote(a["column"])
        bounds = [f"{c} >= {literal(a['min'])}"] if a.get("min") is not None else []
        bounds += [f"{c} <= {literal(a['max'])}"] if a.get("max") is not None else []
        return f"{c} is not null and not ({' and '.join(bounds)})"
    if t == "column_a_gte_b":
        ca, cb = quote(a["column_a"]), quote(a["column_b"])
        return f"{ca} is not null and {cb} is not null and not ({ca} >= {cb})"
    if t == "expression":
        return f"not ({_fill(a['expression'], resolve, as_of, relation)})"
    return None


def failing_rows_sql(
    exp: Expectation,
    relation: str,
    resolve: Callable[[str], str] | None = None,
    *,
    as_of: Any = None,
) -> str:
    """A DuckDB query returning the rows ``exp`` fails on ``relation`` (rendered name).

    For aggregate checks it returns the violating aggregate (the row count, the latest
    value). Raises ValueError for ``gx:`` expectations (no SQL of ours).
    """
    return _rows(exp, resolve, as_of).replace(_RELATION, relation)


def store_failing_rows(
    cursor: Any,
    exp: Expectation,
    relation: str,
    audit_schema: str,
    resolve: Callable[[str], str] | None = None,
    as_of: Any = None,
) -> str:
    """Write the rows ``exp`` fails on ``relation`` to ``<audit_schema>.<node>__<name>``
    (replacing it); returns the table's rendered name. Raises what DuckDB raises."""
    if exp.type == "gx":
        raise ValueError("failing rows not stored for gx:")
    node_part = exp.node.split(".", 1)[-1].replace(".", "_")
    target = f"{quote(audit_schema)}.{quote(f'{node_part}__{exp.slug}')}"
    query = failing_rows_sql(exp, relation, resolve, as_of=as_of)
    cursor.execute(f"create schema if not exists {quote(audit_schema)}")
    cursor.execute(f"create or replace table {target} as {query}")
    return target


def expectation_sql(
    exp: Expectation,
    relation: str,
    resolve: Callable[[str], str] | None = None,
    *,
    as_of: Any = None,
) -> str:
    """One DuckDB query returning one integer: how many rows fail ``exp`` on ``relation``.

    The same check GX runs, written as plain SQL (the benchmark's baseline, and a cross
    check in the tests). Aggregate checks count 1 when violated, else 0.
    """
    a = exp.arguments
    if exp.type == "unique":
        c = quote(a["column"])
        return (
            f"select coalesce(sum(n), 0) from (select count(*) as n from {relation} "
            f"where {c} is not null group by {c} having count(*) > 1) as dups"
        )
    if exp.type == "compound_unique":
        cols = [quote(c) for c in a["columns"]]
        complete = " and ".join(f"{c} is not null" for c in cols)
        return (
            f"select coalesce(sum(n), 0) from (select count(*) as n from {relation} "
            f"where {complete} group by {', '.join(cols)} having count(*) > 1) as dups"
        )
    return f"select count(*) from ({failing_rows_sql(exp, relation, resolve, as_of=as_of)}) as f"


def gx_rows_query(exp: Expectation, resolve: Callable[[str], str] | None, as_of: Any) -> str:
    """The unexpected-rows query GX runs for ``exp``, the relation written ``{batch}``.

    Braces elsewhere (a struct literal in an expression, say) are doubled, because GX
    fills ``{batch}`` with ``str.format``. ``{batch}`` is never aliased here: GX adds
    ``AS subselect`` itself unless the query contains a JOIN.
    """
    text = _rows(exp, resolve, as_of)
    return text.replace("{", "{{").replace("}", "}}").replace(_RELATION, "{batch}")
