"""Model SQL (written in DuckDB's dialect) rendered in a target engine's dialect.

``to_dialect(sql, "spark", ...)`` parses the compiled model with sqlglot, rewrites the
spellings that sqlglot would carry over to Spark *without an error but with a different
meaning* (shared knowledge, measured on both engines: see the README's Spark section),
refuses what cannot be carried over (a ``ProjectError`` at the model's file:line, at
compile time, rather than a wrong number at run time) and renders the rest with
``RunnerSpark``: the project's own subclass of sqlglot's Spark dialect. Nothing in
sqlglot is patched: the subclass is only used by name here.

What is rewritten, DuckDB meaning kept:

* ``date_diff``/``datediff`` by day, month, quarter, year, hour, minute, second: DuckDB
  counts the boundaries crossed, Spark's ``datediff``/``timestampdiff`` whole units;
* ``dayofweek``/``extract(dow)`` (0 = Sunday) and ``isodow``/``extract(isodow)``
  (1 = Monday ... 7 = Sunday);
* casts to an integer type of a fractional expression: DuckDB rounds (half to even for
  DOUBLE, half away from zero for DECIMAL), Spark truncates;
* ``list``/``array_agg`` (with or without ``ORDER BY``): Spark's ``collect_list`` drops
  NULLs and the order;
* ``percentile_cont(p) WITHIN GROUP (ORDER BY x)`` and ``quantile_cont``: exact, not
  sqlglot's ``percentile_approx``;
* ``percentile_disc(p) WITHIN GROUP (ORDER BY x)`` and ``quantile_disc(x, p)``: Spark's
  exact ``percentile_disc`` (both take the first value whose cumulative share reaches p),
  not sqlglot's ``percentile_approx``;
* ``date ± interval``: a TIMESTAMP on DuckDB (Spark keeps a DATE);
* ``CAST(a AS DATE) - CAST(b AS DATE)`` (and date literals): days as an integer.

Refused: ``SELECT * REPLACE``, ``QUALIFY`` over ``SELECT *``, ``UNION [ALL] BY NAME``,
``date_diff`` by week or other units, ``to_days``-style interval constructors,
``len``/``length`` of a list literal.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ParseError, TokenError

from ..errors import ProjectError
from .analysis import map_line

__all__ = ["VERSION", "RunnerSpark", "to_dialect"]

# Part of the compile cache's key: bump when a rewrite changes what it writes.
VERSION = "3"


class RunnerSpark(Spark):
    """Spark SQL as the runner writes it: sqlglot's Spark dialect, after ``rewrite`` (the
    DuckDB meaning of each construct). Only ``generate`` is extended: sqlglot's compiled
    generator classes cannot be subclassed from Python."""

    def generate(self, expression: exp.Expression, copy: bool = True, **opts: object) -> str:
        tree = rewrite(expression.copy() if copy else expression)
        return super().generate(tree, copy=False, **opts)


DIALECTS = {"spark": RunnerSpark}

_INTEGER_TYPES = {
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.INT128,
}
_DOUBLE_TYPES = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}
_DOUBLE_FUNCTIONS = (exp.Avg, exp.Sqrt, exp.Ln, exp.Log, exp.Exp, exp.Pow, exp.Median, exp.Div)


class Refused(Exception):
    """A construct with no faithful Spark spelling; ``needle`` locates it in the SQL."""

    def __init__(self, message: str, needle: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.needle, self.hint = message, needle, hint


def to_dialect(
    sql: str,
    dialect: str,
    *,
    path: PurePosixPath | str,
    source_text: str,
    tree: exp.Expr | None = None,
) -> str:
    """``sql`` (DuckDB) in ``dialect``; raises ProjectError at the model's line for a
    construct that cannot be carried over. ``tree``: ``sql`` parsed already (by
    ``analysis.parse_query``), so it is not parsed twice; it is left as it was."""
    if dialect == "duckdb":
        return sql
    try:
        if tree is None:
            tree = sqlglot.parse_one(sql, read="duckdb")
        return tree.sql(dialect=DIALECTS.get(dialect, dialect), pretty=True)
    except Refused as refused:
        line = _line_of(sql, refused.needle)
        source_line = map_line(sql, source_text, line)[0] if line else None
        raise ProjectError(
            f"cannot run on {dialect}: {refused.message}",
            path=path,
            line=source_line,
            hint=refused.hint,
        ) from None
    except (ParseError, TokenError) as exc:  # analyze() parsed it already: not expected
        raise ProjectError(f"cannot transpile to {dialect}: {exc}", path=path) from None


def rewrite(tree: exp.Expression) -> exp.Expression:
    """The DuckDB meaning of every construct, spelled so Spark computes the same."""
    _drop_repeated_ctes(tree)
    for node in list(tree.walk(bfs=False))[::-1]:  # children before parents
        _refuse(node)
        replacement = _rewrite_one(node)
        if replacement is not None and replacement is not node:
            if node is tree:
                tree = replacement
            else:
                node.replace(replacement)
    return tree


def _drop_repeated_ctes(tree: exp.Expression) -> None:
    """DuckDB lets a subquery define again a CTE its outer query has (the expectations'
    ``runner_this``); sqlglot moves Spark's CTEs to the top, where a repeated name is an
    error. A repeat with the same body is the same relation: keep the first."""
    seen: dict[str, str] = {}
    for cte in list(tree.find_all(exp.CTE)):
        name, body = cte.alias_or_name.lower(), cte.this.sql("duckdb")
        if seen.get(name) == body:
            parent = cte.parent
            cte.pop()
            if isinstance(parent, exp.With) and not parent.expressions:
                parent.pop()
        else:
            seen.setdefault(name, body)


def _refuse(node: exp.Expression) -> None:
    if isinstance(node, exp.Star) and node.args.get("replace"):
        raise Refused(
            "SELECT * REPLACE (...) has no Spark spelling",
            "replace",
            "list the columns, with the replaced expression under its name",
        )
    if isinstance(node, exp.SetOperation) and node.args.get("by_name"):
        raise Refused(
            "UNION BY NAME has no Spark spelling",
            "by name",
            "select the same columns in the same order on both sides",
        )
    if (
        isinstance(node, exp.Select)
        and node.args.get("qualify")
        and any(
            isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
            for e in node.expressions
        )
    ):
        # Spark has no QUALIFY: sqlglot moves the window into a subquery column `_w`, and a
        # star over that subquery would hand `_w` on as one more column of the model
        raise Refused(
            "QUALIFY over SELECT * would add a column (_w) on Spark",
            "qualify",
            "list the columns the model selects",
        )
    if isinstance(node, exp.ToDays):
        raise Refused(
            "to_days() has no Spark spelling",
            "to_days",
            "write INTERVAL (n) DAY, or add days with date_add(d, n)",
        )
    if isinstance(node, exp.Length) and isinstance(node.this, exp.Array):
        raise Refused(
            "len() of a list is length() on Spark, a string function",
            "len",
            "use array_length(list)",
        )


def _percentile_disc(fraction: exp.Expression, order: exp.Expression) -> exp.Expression:
    # An anonymous function: sqlglot renders its own PercentileDisc as percentile_approx.
    return exp.WithinGroup(
        this=exp.Anonymous(this="PERCENTILE_DISC", expressions=[fraction.copy()]),
        expression=order.copy(),
    )


def _rewrite_one(node: exp.Expression) -> exp.Expression | None:
    if isinstance(node, exp.DateDiff):
        return _date_diff(node)
    if isinstance(node, exp.Extract):
        part = node.this.name.upper() if isinstance(node.this, exp.Var) else ""
        if part in ("DOW", "DAYOFWEEK"):
            return _day_of_week(node.expression, "DAYOFWEEK", -1)
        if part in ("ISODOW",):
            return _day_of_week(node.expression, "WEEKDAY", 1)
        return None
    if isinstance(node, exp.DayOfWeek):  # DuckDB 0 = Sunday; Spark's dayofweek 1 = Sunday
        return _day_of_week(node.this, "DAYOFWEEK", -1)
    if isinstance(node, exp.DayOfWeekIso):  # 1 = Monday; Spark's weekday 0 = Monday
        return _day_of_week(node.this, "WEEKDAY", 1)
    if isinstance(node, exp.PercentileCont) and not isinstance(node.parent, exp.WithinGroup):
        # quantile_cont(x, p): exact on Spark as percentile(x, p)
        return exp.Anonymous(
            this="PERCENTILE", expressions=[node.this.copy(), node.args["expression"].copy()]
        )
    if isinstance(node, exp.PercentileDisc) and not isinstance(node.parent, exp.WithinGroup):
        # quantile_disc(x, p): Spark's percentile_disc(p) WITHIN GROUP (ORDER BY x)
        return _percentile_disc(
            node.args["expression"], exp.Order(expressions=[exp.Ordered(this=node.this.copy())])
        )
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileDisc):
        return _percentile_disc(node.this.this, node.expression)
    if isinstance(node, exp.Cast) and _is_integer(node.to):
        return _rounded_cast(node)
    if isinstance(node, exp.ArrayAgg):
        return _array_agg(node)
    if isinstance(node, exp.Filter) and _distinct_ordered_by_itself(node.this):
        return _distinct_string_agg(node.this, node.expression)
    if _distinct_ordered_by_itself(node) and not isinstance(node.parent, exp.Filter):
        return _distinct_string_agg(node, None)
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        order = node.expression
        key = order.expressions[0] if isinstance(order, exp.Order) and order.expressions else None
        if key is None or len(order.expressions) != 1:
            return None
        fraction = node.this.this
        if key.args.get("desc"):
            fraction = exp.Sub(this=exp.Literal.number(1), expression=fraction.copy())
        return exp.Anonymous(this="PERCENTILE", expressions=[key.this.copy(), fraction.copy()])
    if isinstance(node, exp.Add | exp.Sub) and isinstance(node.expression, exp.Interval):
        return node.__class__(
            this=exp.cast(node.this.copy(), exp.DataType.Type.TIMESTAMP),
            expression=node.expression.copy(),
        )
    if isinstance(node, exp.DateAdd | exp.DateSub) and isinstance(node.expression, exp.Interval):
        op = exp.Add if isinstance(node, exp.DateAdd) else exp.Sub
        return op(
            this=exp.cast(node.this.copy(), exp.DataType.Type.TIMESTAMP),
            expression=node.expression.copy(),
        )
    if isinstance(node, exp.Sub) and _is_date(node.this) and _is_date(node.expression):
        return exp.Anonymous(
            this="DATEDIFF", expressions=[node.this.copy(), node.expression.copy()]
        )
    return None


def _day_of_week(value: exp.Expression, function: str, shift: int) -> exp.Expression:
    call = exp.Anonymous(this=function, expressions=[value.copy()])
    op = exp.Add if shift > 0 else exp.Sub
    return exp.Paren(this=op(this=call, expression=exp.Literal.number(abs(shift))))


def _date_diff(node: exp.DateDiff) -> exp.Expression:
    unit = (node.unit.name if node.unit is not None else "DAY").upper().rstrip("S")
    end, start = node.this, node.expression

    def part(name: str, value: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this=name, expressions=[value.copy()])

    def diff(name: str) -> exp.Expression:
        return exp.Paren(this=exp.Sub(this=part(name, end), expression=part(name, start)))

    if unit == "DAY":
        return exp.Anonymous(
            this="DATEDIFF",
            expressions=[
                exp.cast(end.copy(), exp.DataType.Type.DATE),
                exp.cast(start.copy(), exp.DataType.Type.DATE),
            ],
        )
    if unit == "YEAR":
        return diff("YEAR")
    if unit in ("MONTH", "QUARTER"):
        per_year = 12 if unit == "MONTH" else 4
        return exp.Paren(
            this=exp.Add(
                this=exp.Mul(this=diff("YEAR"), expression=exp.Literal.number(per_year)),
                expression=diff(unit),
            )
        )
    seconds = {"HOUR": 3600, "MINUTE": 60, "SECOND": 1}.get(unit)
    if seconds is None:
        raise Refused(
            f"date_diff by {unit.lower()} counts differently on Spark",
            "diff",
            "use day, month, quarter, year, hour, minute or second",
        )

    def bucket(value: exp.Expression) -> exp.Expression:
        epoch = exp.Anonymous(
            this="UNIX_SECONDS", expressions=[exp.cast(value.copy(), exp.DataType.Type.TIMESTAMP)]
        )
        if seconds == 1:
            return epoch
        return exp.Anonymous(
            this="FLOOR",
            expressions=[exp.Div(this=epoch, expression=exp.Literal.number(seconds))],
        )

    return exp.Paren(this=exp.Sub(this=bucket(end), expression=bucket(start)))


def _is_integer(to: exp.DataType) -> bool:
    return to.this in _INTEGER_TYPES


def _is_date(node: exp.Expression) -> bool:
    return isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATE


def _fraction(node: exp.Expression) -> str | None:
    """``double`` or ``decimal`` when the expression is evidently fractional, else None
    (integers, and columns whose type the SQL alone does not tell)."""
    if isinstance(node, exp.Paren):
        return _fraction(node.this)
    if isinstance(node, exp.Cast):
        if node.to.this in _DOUBLE_TYPES:
            return "double"
        if node.to.this == exp.DataType.Type.DECIMAL:
            return "decimal"
        return None
    if isinstance(node, exp.Literal) and not node.is_string:
        return "decimal" if "." in node.name else None
    if isinstance(node, _DOUBLE_FUNCTIONS):
        return "double"
    if isinstance(node, exp.Round | exp.Floor | exp.Ceil):
        return None  # already whole
    if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Mod):
        sides = {_fraction(node.this), _fraction(node.expression)}
        return "double" if "double" in sides else ("decimal" if "decimal" in sides else None)
    if isinstance(node, exp.Neg):
        return _fraction(node.this)
    return None


def _rounded_cast(node: exp.Cast) -> exp.Expression | None:
    kind = _fraction(node.this)
    if kind is None:
        return None
    rounding = "BROUND" if kind == "double" else "ROUND"  # DuckDB: half-even for DOUBLE
    inner = exp.Anonymous(this=rounding, expressions=[node.this.copy()])
    return exp.Cast(this=inner, to=node.to.copy())


def _array_agg(node: exp.ArrayAgg) -> exp.Expression | None:
    """list(x [ORDER BY k...]) keeping NULLs and the order: collect structs (keys first),
    sort them, keep the values."""
    if node.args.get("distinct") or isinstance(node.this, exp.Distinct):
        return None
    value = node.this
    keys: list[exp.Ordered] = []
    if isinstance(value, exp.Order):
        keys = list(value.expressions)
        value = value.this
    fields = [
        exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=k.this.copy())
        for i, k in enumerate(keys)
    ]
    fields.append(exp.PropertyEQ(this=exp.to_identifier("v"), expression=value.copy()))
    collected = exp.Anonymous(this="COLLECT_LIST", expressions=[exp.Struct(expressions=fields)])
    if keys:
        comparator = exp.Lambda(
            this=sqlglot.parse_one(_comparator(keys), read="spark"),
            expressions=[exp.to_identifier("l"), exp.to_identifier("r")],
        )
        collected = exp.Anonymous(this="ARRAY_SORT", expressions=[collected, comparator])
    take = exp.Lambda(this=exp.column("v", table="s"), expressions=[exp.to_identifier("s")])
    return exp.Anonymous(this="TRANSFORM", expressions=[collected, take])


def _distinct_ordered_by_itself(node: exp.Expression) -> bool:
    """``string_agg(DISTINCT x, sep ORDER BY x)``: Spark 4's optimizer fails on LISTAGG
    DISTINCT ... WITHIN GROUP next to another DISTINCT aggregate (a ClassCastException in
    RewriteDistinctAggregates), so it is spelled with a sorted set instead."""
    if not isinstance(node, exp.GroupConcat) or not isinstance(node.this, exp.Order):
        return False
    order = node.this
    value = order.this
    if not isinstance(value, exp.Distinct) or len(value.expressions) != 1:
        return False
    keys = order.expressions
    return len(keys) == 1 and keys[0].this == value.expressions[0]


def _distinct_string_agg(node: exp.GroupConcat, where: exp.Expression | None) -> exp.Expression:
    """The distinct values sorted (as their own type, as DuckDB orders them), joined as
    text; NULL when there are none, as string_agg gives."""
    order = node.this
    value = order.this.expressions[0]
    collected: exp.Expression = exp.Anonymous(this="COLLECT_SET", expressions=[value.copy()])
    if where is not None:
        collected = exp.Filter(this=collected, expression=where.copy())
    values: exp.Expression = exp.Anonymous(this="ARRAY_SORT", expressions=[collected])
    if order.expressions[0].args.get("desc"):
        values = exp.Anonymous(this="REVERSE", expressions=[values])
    as_text = exp.Lambda(
        this=exp.cast(exp.column("e"), exp.DataType.Type.TEXT),
        expressions=[exp.to_identifier("e")],
    )
    texts = exp.Anonymous(this="TRANSFORM", expressions=[values, as_text])
    separator = node.args.get("separator") or exp.Literal.string(",")
    joined = exp.Anonymous(this="ARRAY_JOIN", expressions=[texts, separator.copy()])
    empty = exp.EQ(
        this=exp.Anonymous(this="SIZE", expressions=[texts.copy()]),
        expression=exp.Literal.number(0),
    )
    return exp.Case(ifs=[exp.If(this=empty, true=exp.Null())], default=joined)


def _comparator(keys: list[exp.Ordered]) -> str:
    """A Spark array_sort comparator ordering structs by k0, k1, ... as DuckDB's ORDER BY
    inside an aggregate does (ASC, NULLS LAST unless said otherwise)."""
    text = "0"
    for i in reversed(range(len(keys))):
        key = keys[i]
        desc = bool(key.args.get("desc"))
        nulls_first = bool(key.args.get("nulls_first"))
        less, more = ("1", "-1") if desc else ("-1", "1")
        null_l, null_r = ("-1", "1") if nulls_first else ("1", "-1")
        k = f"k{i}"
        text = (
            f"CASE WHEN l.{k} IS NULL AND r.{k} IS NULL THEN {text} "
            f"WHEN l.{k} IS NULL THEN {null_l} WHEN r.{k} IS NULL THEN {null_r} "
            f"WHEN l.{k} < r.{k} THEN {less} WHEN l.{k} > r.{k} THEN {more} ELSE {text} END"
        )
    return text


def _line_of(sql: str, needle: str) -> int | None:
    for number, line in enumerate(sql.splitlines(), 1):
        if needle.lower() in line.lower():
            return number
    return None
