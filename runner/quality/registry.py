"""The expectation vocabulary: one class per type, and the only code that knows each type.

A type says what it takes (its arguments and their checks: declarations.py raises the
errors at the declaration's file:line), which rows fail it (a sqlglot expression, built
from ``sql_build``'s pieces and rendered in the engine's dialect), how many rows it
judges (``mostly``'s denominator), what a sample shows, and the Great Expectations
expectation it maps to (``to_gx``; None when GX runs our failing-rows query instead).

Semantics shared by every path (GX, plain SQL on DuckDB or Spark): NULL passes every
check except not_null; ``unique`` / ``compound_unique`` count every row whose (non-null)
value repeats; ``expression`` fails the rows where the condition is false (NULL passes);
the aggregate checks (row_count_between, recency) count 1 when violated.

``REGISTRY`` maps each type's name to its (stateless) instance; ``lookup`` adds a
did-you-mean for a name it does not know.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from sqlglot import exp

from .sql_build import (
    PLACEHOLDER_RE,
    SqlBuilder,
    column,
    columns,
    count_star,
    literal,
    quote,
    select_from,
    table,
)

Args = Mapping[str, Any]


class ArgumentError(Exception):
    """A bad argument: ``key`` locates it in the declaration (declarations.py adds file:line)."""

    def __init__(self, key: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.key, self.message, self.hint = key, message, hint


class Arguments:
    """A declaration's arguments while they are checked: plain data, and column names
    resolved against the relation's columns when those are known."""

    def __init__(self, values: dict[str, Any], known: dict[str, str] | None) -> None:
        self.values = values
        self.known = known

    def column(self, key: str, value: Any) -> str:
        """``value`` as a column name of the relation (its spelling there)."""
        if not isinstance(value, str) or not value:
            raise ArgumentError(key, f"'{key}' must be a column name, not {value!r}")
        if self.known is None:
            return value
        if value.lower() in self.known:
            return self.known[value.lower()]
        close = difflib.get_close_matches(value.lower(), list(self.known), n=1)
        hint = f"did you mean '{self.known[close[0]]}'?" if close else "check the column name"
        raise ArgumentError(key, f"column '{value}' does not exist", hint=hint)


class ExpectationType:
    """One entry of the vocabulary. Subclasses set the class attributes and override what
    differs; instances hold no state."""

    name: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()
    column_slot: ClassVar[str | None] = None  # what a column-level declaration fills in
    scalar: ClassVar[str | None] = None  # what a scalar shorthand (`type: value`) fills in
    one_of: ClassVar[tuple[str, ...]] = ()  # at least one of these must be given
    row_based: ClassVar[bool] = True  # counts failing rows (mostly/error_if/warn_if apply)
    plain_sql: ClassVar[bool] = True  # has SQL of ours (False: only GX can run it)
    gx_native: ClassVar[bool] = True  # to_gx returns a GX expectation (False: None)
    observed_in_sample: ClassVar[bool] = False  # a failed aggregate's sample: its value
    node_arguments: ClassVar[tuple[str, ...]] = ()  # arguments naming another node (dbt)
    # What an incremental run checks it on (quality/changed.py): "rows", the rows it wrote;
    # "keys", the table's rows sharing key_columns with those; None, the whole table.
    on_changed: ClassVar[str | None] = None
    # Its failing rows are kept to the keys of a scoped relation by its own SQL (Sql with
    # changed_key): scoped only when the runner's SQL runs it, not GX's batches.
    keeps_to_scoped_keys: ClassVar[bool] = False

    # ------------------------------------------------------------ declaration

    def check(self, args: Arguments) -> None:
        """Type-check ``args.values`` in place (raise ArgumentError); columns are checked."""
        for key in ("column", "column_a", "column_b"):
            if key in args.values:
                args.values[key] = args.column(key, args.values[key])

    def on_column(self, args: dict[str, Any], column_name: str) -> None:
        """A declaration under a column: fill in what it implies (``column_slot``)."""
        if self.column_slot:
            args[self.column_slot] = column_name

    def with_mostly(self, args: dict[str, Any], mostly: float) -> dict[str, Any]:
        """The arguments, given ``mostly`` (for a type that passes it on itself)."""
        return args

    def default_name(self, args: Args) -> str:
        return f"{self.name}({args['column']})" if "column" in args else self.name

    def reported_column(self, args: Args) -> str | None:
        """The column its results are reported under (None: the table)."""
        return str(args["column"]) if "column" in args else None

    def references(self, args: Args) -> tuple[str, ...]:
        """Names of other nodes the check reads (built before it runs)."""
        return ()

    def usage(self, at_column: bool) -> str:
        shown = [
            k for k in (*self.required, *self.optional) if not (at_column and k == self.column_slot)
        ]
        if not shown:
            return f"write `- {self.name}`"
        return f"write `- {self.name}: {{{', '.join(f'{k}: ...' for k in shown)}}}`"

    # ------------------------------------------------------------ SQL

    def failing_rows(self, args: Args, q: SqlBuilder) -> exp.Query:
        """The rows that fail (for aggregate checks: the violating aggregate)."""
        raise ValueError(f"no plain SQL for expectation type '{self.name}'")

    def row_predicate(self, args: Args, q: SqlBuilder) -> exp.Expr | None:
        """For a check judging each row on its own, what a failing row meets (one scan
        then counts many checks); None for the others."""
        return None

    def on_changed_rows(self, args: Args) -> str | None:
        """``on_changed`` for these arguments."""
        return self.on_changed

    def failing_count(self, args: Args, q: SqlBuilder) -> exp.Query:
        """One integer: how many rows fail (aggregate checks: 1 when violated, else 0)."""
        return select_from(self.failing_rows(args, q), count_star())

    def checked_rows(self, args: Args) -> exp.Expr | None:
        """What GX's ``mostly`` divides by: the rows it looks at (None: every row)."""
        return None

    def sample_columns(self, args: Args) -> list[str]:
        """The columns a failing sample shows ([]: whole rows)."""
        return []

    def observed(
        self, row_count: int | None, success: bool, first_failing: Callable[[], Any]
    ) -> Any:
        """An aggregate check's observed value (``first_failing``: the violating row's)."""
        return None

    def aggregate_message(self, args: Args, observed: Any, as_of: Any) -> str:
        """Why an aggregate check failed."""
        return ""

    # ------------------------------------------------------------ dbt's spelling

    def from_dbt(
        self, args: dict[str, Any], column_name: str | None, config: dict[str, Any]
    ) -> dict[str, Any]:
        """A dbt test of this name (``args`` in dbt's spelling, node arguments already
        as node names) as one declaration of ours."""
        args.pop("quote", None)
        return {self.name: args, **config}

    def dbt_where_rows(
        self, model: exp.Expr, column_name: str, args: Args, q: SqlBuilder
    ) -> exp.Query:
        """dbt's own test on a filtered ``model`` (``config: where``): the failing rows.
        Node arguments (``to``) arrive as relations; ``q.verbatim`` keeps SQL text as is."""
        raise ValueError(f"'where' is not supported on the '{self.name}' expectation")

    # ------------------------------------------------------------ Great Expectations

    def to_gx(self, gx: Any, args: Args, options: dict[str, Any]) -> Any:
        """The GX expectation this type maps to (``options``: mostly, meta, severity...),
        or None when GX runs ``failing_rows`` as an UnexpectedRowsExpectation."""
        return None

    def read_gx(
        self, result: Mapping[str, Any], success: bool, sample: list[Any]
    ) -> tuple[int | None, list[Any], Any]:
        """(failing count, sample, observed value) from GX's result dictionary."""
        if not self.gx_native:
            return int(result.get("observed_value") or 0), sample, None
        return result.get("unexpected_count"), sample, None


def _is_not_null(expression: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Is(this=expression, expression=exp.Null()))


def _not_null_all(names: list[str]) -> exp.Expr:
    return exp.and_(*(_is_not_null(c) for c in columns(names)), copy=False)


class _RowCheck(ExpectationType):
    """A check that judges each row on its own: its failing rows are a WHERE."""

    on_changed = "rows"

    def failing_rows(self, args: Args, q: SqlBuilder) -> exp.Query:
        predicate = self.row_predicate(args, q)
        assert predicate is not None
        return select_from(q.relation, where=predicate)


class NotNull(_RowCheck):
    name = "not_null"
    required = ("column",)
    column_slot = "column"

    def row_predicate(self, args: Args, q: SqlBuilder) -> exp.Expr:
        return exp.Is(this=column(args["column"]), expression=exp.Null())

    def sample_columns(self, args: Args) -> list[str]:
        return [args["column"]]

    def dbt_where_rows(
        self, model: exp.Expr, column_name: str, args: Args, q: SqlBuilder
    ) -> exp.Query:
        return (
            exp.select(exp.Star())
            .from_(model)
            .where(exp.Is(this=column(column_name), expression=exp.Null()))
        )

    def to_gx(self, gx: Any, args: Args, options: dict[str, Any]) -> Any:
        return gx.expectations.ExpectColumnValuesToNotBeNull(column=args["column"], **options)


class Unique(ExpectationType):
    name = "unique"
    required = ("column",)
    column_slot = "column"
    on_changed = "keys"

    def key_columns(self, args: Args) -> list[str]:
        return [args["column"]]

    def failing_rows(self, args: Args, q: SqlBuilder) -> exp.Query:
        keys = self.key_columns(args)
        counted = exp.alias_(
            exp.Window(this=count_star(), partition_by=columns(keys)), "runner_n", quoted=False
        )
        inner = select_from(q.relation, exp.Star(), counted, where=_not_null_all(keys))
        every_but_count = exp.Star(except_=[exp.column("runner_n")])
        repeated = exp.GT(this=exp.column("runner_n"), expression=exp.Literal.number(1))
        return select_from(inner, every_but_count, alias="counted", where=repeated)

    def failing_count(self, args: Args, q: SqlBuilder) -> exp.Query:
        keys = self.key_columns(args)
        groups = (
            select_from(q.relation, exp.alias_(count_star(), "n"))
            .where(_not_null_all(keys), copy=False)
            .group_by(*columns(keys), copy=False)
            .having(exp.GT(this=count_star(), expression=exp.Literal.number(1)), copy=False)
        )
        total = exp.func("coalesce", exp.Sum(this=exp.column("n")), exp.Literal.number(0))
        return select_from(groups, total, alias="dups")

    def checked_rows(self, args: Args) -> exp.Expr:
        return _not_null_all(self.key_columns(args))

    def sample_columns(self, args: Args) -> list[str]:
        return self.key_columns(args)

    def dbt_where_rows(
        self, model: exp.Expr, column_name: str, args: Args, q: SqlBuilder
    ) -> exp.Query:
        # dbt's unique test: one row per repeated value (not every repeating row)
        return (
            exp.select(column(column_name))
            .from_(model)
            .where(_is_not_null(column(column_name)))
            .group_by(column(column_name))
            .having(exp.GT(this=count_star(), expression=exp.Literal.number(1)))
        )

    def to_gx(self, gx: Any, args: Args, options: dict[str, Any]) -> Any:
        return gx.expectations.ExpectColumnValuesToBeUnique(column=args["column"], **options)


class CompoundUnique(Unique):
    name = "compound_unique"
    required = ("columns",)
    column_slot = None

    def key_columns(self, args: Args) -> list[str]:
        return list(args["columns"])

    def check(self, args: Arguments) -> None:
        names = args.values["columns"]
        if not isinstance(names, list) or not names:
            raise ArgumentError("columns", "'columns' must be a non-empty list of column names")
        args.values["columns"] = [args.column("columns", c) for c in names]

    def default_name(self, args: Args) -> str:
        return f"compound_unique({', '.join(args['columns'])})"

    def to_gx(self, gx: Any, args: Args, options: dict[str, Any]) -> Any:
        if len(args["columns"]) == 1:
            # GX's compound check wants two columns or more; one column is `unique`.
            return gx.expectations.ExpectColumnValuesToBeUnique(
                column=args["columns"][0], **options
            )
        return gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=list(args["columns"]),
            ignore_row_if="any_value_is_missing",  # NULL passes
            **options,
        )


class AcceptedValues(_RowCheck):
    name = "accepted_values"
    required = ("column", "values")
    column_slot = "column"

    def check(self, args: Arguments) -> None:
        super().check(args)
        values = args.values["values"]
        if not isinstance(values, list) or not values:
            raise ArgumentError("values", "'values' must be a non-empty list")
        if any(isinstance(v, list | dict) for v in values):
            raise ArgumentError("values", "'values' must be a list of plain values")

    def row_predicate(self, args: Args, q: SqlBuilder) -> exp.Expr:
        c = column(args["column"])
        listed = exp.In(this=c.copy(), expressions=[literal(v) for v in args["values"]])
        return exp.and_(_is_not_null(c), exp.Not(this=listed), copy=False)

    def checked_rows(self, args: Args) -> exp.Expr:
        return _is_not_null(column(args["column"]))

    def sample_columns(self, args: Args) -> list[str]:
        return [args["column"]]

    def from_dbt(
        self, args: dict[str, Any], column_name: str | None, config: dict[str, Any]
    ) -> dict[str, Any]:
        if args.pop("quote", True) is not False:
            return super().from_dbt(args, column_name, config)
        # quote: false: the values are SQL, so the check is an expression over them
        name = args.get("column") or column_name
        values = ", ".join(str(v) for v in args.get("values", []))
        config.setdefault("name", f"accepted_values({name})")
        return {"expression": f'"{name}" in ({values})', **config}

    def dbt_where_rows(
        self, model: exp.Expr, column_name: str, args: Args, q: SqlBuilder
    ) -> exp.Query:
        # dbt's accepted_values: NULL is neither listed nor failing (NOT IN is unknown)
        if args.get("quote", True):
            values: list[exp.Expr] = [exp.Literal.string(str(v)) for v in args["values"]]
        else:  # SQL, as written
            values = [q.verbatim(str(v)) for v in args["values"]]
        listed = exp.In(this=column(column_name), expressions=values)
        return exp.select(exp.Star()).from_(model).where(exp.Not(this=listed))

    def to_gx(self, gx: Any, args: Args, options: dict[str, Any]) -> Any:
        return gx.expectations.ExpectColumnValuesToBeInSet(
            column=args["column"], value_set=list(args["values"]), **options
        )


def _is_date_like(value: Any) -> bool:
    if isinstance(value, datetime.date):
        return True
    return isinstance(value, str) and bool(re.fullmatch(r"\d{4}-\d\d-\d\d([ T][\d:.]+)?", value))


def _check_bounds(args: Arguments, whole_rows: bool) -> None:
    for key in ("min", "max"):
        value = args.values.get(key)
        if value is None:
            continue
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if whole_rows and (not isinstance(value, int) or value < 0):
            raise ArgumentError(key, f"'{key}' must be a whole number of rows, not {value!r}")
        if not numeric and not _is_date_like(value):
            raise ArgumentError(key, f"'{key}' must be a number or a date, not {value!r}")


class Between(_RowCheck):
    name = "between"
    required = ("column",)
    optional = ("min", "max")
    column_slot = "column"
    one_of = ("min", "max")

    def check(self, args: Arguments) -> None:
        super().check(args)
        _check_bounds(args, whole_rows=False)

    def row_predicate(self, args: Args, q: SqlBuilder) -> exp.Expr:
        c = column(args["column"])
        bounds: list[exp.Expr] = []
        if args.get("min") is not None:
            bounds.append(exp.GTE(this=c.copy(), expression=literal(args["min"])))
        if args.get("max") is not None:
            bounds.append(exp.LTE(this=c.copy(), expression=literal(args["max"])))
        return exp.and_(
            _is_not_null(c), exp.Not(this=exp.paren(exp.and_(*bounds, copy=False))), copy=False
        )

    def checked_rows(self, args: Args) -> exp.Expr:
        return _is_not_null(column(args["column"]))

    def sample_columns(self, args: Args) -> list[str]:
        return [args["column"]]

    def to_gx(self, gx: Any, args: Args, options: dict[str, Any]) -> Any:
        return gx.expectations.ExpectColumnValuesToBeBetween(
            column=args["column"], min_value=args.get("min"), max_value=args.get("max"), **options
        )


class ColumnAGteB(_RowCheck):
    name = "column_a_gte_b"
    required = ("column_a", "column_b")
    column_slot = "column_a"

    def default_name(self, args: Args) -> str:
        return f"column_a_gte_b({args['column_a']}, {args['column_b']})"

    def reported_column(self, args: Args) -> str | None:
        return str(args["column_a"])

    def row_predicate(self, args: Args, q: SqlBuilder) -> exp.Expr:
        a, b = column(args["column_a"]), column(args["column_b"])
        return exp.and_(
            self.checked_rows(args),
            exp.Not(this=exp.paren(exp.GTE(this=a, expression=b))),
            copy=False,
        )

    def checked_rows(self, args: Args) -> exp.Expr:
        return _not_null_all([args["column_a"], args["column_b"]])

    def sample_columns(self, args: Args) -> list[str]:
        return [args["column_a"], args["column_b"]]

    def to_gx(self, gx: Any, args: Args, options: dict[str, Any]) -> Any:
        return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=args["column_a"],
            column_B=args["column_b"],
            or_equal=True,
            ignore_row_if="either_value_is_missing",  # NULL passes
            **options,
        )


class Relationships(ExpectationType):
    name = "relationships"
    required = ("column", "to")
    optional = ("field",)
    column_slot = "column"
    gx_native = False
    on_changed = "rows"

    def check(self, args: Arguments) -> None:
        super().check(args)
        to = args.values["to"]
        if not isinstance(to, str) or not to:
            raise ArgumentError("to", "'to' must name a model, seed or source ('source.table')")
        field_name = args.values.get("field", args.values["column"])
        if not isinstance(field_name, str) or not field_name:
            raise ArgumentError("field", "'field' must be a column name of the parent")
        args.values["field"] = field_name

    node_arguments = ("to",)

    def references(self, args: Args) -> tuple[str, ...]:
        return (str(args["to"]),)

    def dbt_where_rows(
        self, model: exp.Expr, column_name: str, args: Args, q: SqlBuilder
    ) -> exp.Query:
        c, f = column(column_name), column(str(args.get("field", column_name)))
        keys = exp.select(f.copy()).from_(args["to"]).where(_is_not_null(f))
        orphan = exp.and_(
            _is_not_null(c),
            exp.Not(this=exp.In(this=c.copy(), query=exp.Subquery(this=keys))),
            copy=False,
        )
        return exp.select(c).from_(model).where(orphan)

    def failing_rows(self, args: Args, q: SqlBuilder) -> exp.Query:
        c, f = column(args["column"]), column(args["field"])
        keys = select_from(q.parent(args["to"]), f.copy(), where=_is_not_null(f))
        orphan = exp.and_(
            _is_not_null(c),
            exp.Not(this=exp.In(this=c.copy(), query=exp.Subquery(this=keys))),
            copy=False,
        )
        # Only the key column: the sample then shows the orphaned key values.
        return select_from(q.relation, c, where=orphan)

    def sample_columns(self, args: Args) -> list[str]:
        return [args["column"]]

    def read_gx(
        self, result: Mapping[str, Any], success: bool, sample: list[Any]
    ) -> tuple[int | None, list[Any], Any]:
        failing, rows, _ = super().read_gx(result, success, sample)
        return failing, [next(iter(row.values())) for row in rows if row], None


_CHANGED = "{changed:"  # the placeholder only a sql check with changed_key may use


def _check_sql_text(args: Arguments, key: str) -> None:
    text = args.values[key]
    if not isinstance(text, str) or not text.strip():
        raise ArgumentError(key, f"'{key}' must be non-empty SQL text")
    args.values[key] = text.strip().rstrip(";").strip()


def _sql_name(kind: str, text: str) -> str:
    flat = " ".join(str(text).split())
    if len(flat) > 60:
        digest = hashlib.sha1(flat.encode()).hexdigest()[:6]
        flat = f"{flat[:50].rstrip()}… {digest}"
    return f"{kind}({flat})"


def _refs(text: str) -> tuple[str, ...]:
    return tuple(m.group(2) for m in PLACEHOLDER_RE.finditer(text) if m.group(2))


class Expression(_RowCheck):
    name = "expression"
    required = ("expression",)
    scalar = "expression"
    gx_native = False

    def check(self, args: Arguments) -> None:
        _check_sql_text(args, "expression")
        if _CHANGED in args.values["expression"]:
            raise ArgumentError(
                "expression",
                "{changed:...} is for sql checks with changed_key, not expressions",
                hint="an expression that judges each row alone already reads only the rows a "
                "run wrote",
            )

    def default_name(self, args: Args) -> str:
        return _sql_name("expression", args["expression"])

    def references(self, args: Args) -> tuple[str, ...]:
        return _refs(str(args["expression"]))

    def row_predicate(self, args: Args, q: SqlBuilder) -> exp.Expr:
        return exp.Not(this=exp.paren(q.user_sql(args["expression"])))

    def on_changed_rows(self, args: Args) -> str | None:
        # over {this}, a row's verdict depends on the other rows: the whole table
        return None if "{this}" in str(args["expression"]) else "rows"


class Sql(ExpectationType):
    name = "sql"
    required = ("sql",)
    # changed_key: a column of the failing rows and of the table (a reconciliation per
    # month: `month`); an incremental run then checks the keys it wrote only
    optional = ("changed_key",)
    scalar = "sql"
    gx_native = False
    keeps_to_scoped_keys = True

    def check(self, args: Arguments) -> None:
        _check_sql_text(args, "sql")
        if args.values.get("changed_key") is not None:
            args.values["changed_key"] = args.column("changed_key", args.values["changed_key"])
        elif _CHANGED in args.values["sql"]:
            raise ArgumentError(
                "sql",
                "{changed:...} tests a key against the keys a run wrote, and this check "
                "names no changed_key",
                hint="add changed_key: <the column of the failing rows it is per>, or drop "
                "{changed:...}",
            )

    def on_changed_rows(self, args: Args) -> str | None:
        # a reconciliation per key: {this} is the table's rows of the keys the run wrote
        return "keys" if args.get("changed_key") else None

    def key_columns(self, args: Args) -> list[str]:
        return [args["changed_key"]]

    def default_name(self, args: Args) -> str:
        return _sql_name("sql", args["sql"])

    def references(self, args: Args) -> tuple[str, ...]:
        return _refs(str(args["sql"]))

    def failing_rows(self, args: Args, q: SqlBuilder) -> exp.Query:
        # A CTE, so the user's query may alias {this} freely (GX's {batch} carries its own
        # alias unless the query contains a JOIN).
        key = args.get("changed_key")
        # on the keys the run wrote, {changed:<expr>} keeps the query's own reads to them
        keys = f"select {quote(key)} from runner_this" if key and q.scoped else None
        query = q.user_sql(args["sql"], this="runner_this", query=True, written_keys=keys)
        rows = exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("runner_rows")))
        failing = exp.select(exp.Star()).from_(rows, copy=False)
        if key and q.scoped:
            # on the keys the run wrote: what the query says of other keys (the facts'
            # months the table's rows here do not cover) is for `runner test`
            written = select_from(table("runner_this"), column(key))
            failing.set(
                "where", exp.Where(this=exp.In(this=column(key), query=exp.Subquery(this=written)))
            )
        return failing.with_("runner_this", as_=select_from(q.relation), copy=False)


class RowCountBetween(ExpectationType):
    name = "row_count_between"
    optional = ("min", "max")
    one_of = ("min", "max")
    row_based = False

    def check(self, args: Arguments) -> None:
        _check_bounds(args, whole_rows=True)

    def failing_rows(self, args: Args, q: SqlBuilder) -> exp.Query:
        row_count = exp.column("row_count")
        outside: list[exp.Expr] = []
        if args.get("min") is not None:
            outside.append(exp.LT(this=row_count.copy(), expression=literal(args["min"])))
        if args.get("max") is not None:
            outside.append(exp.GT(this=row_count.copy(), expression=literal(args["max"])))
        counted = select_from(q.relation, exp.alias_(count_star(), "row_count"))
        too_few_or_many = exp.or_(*outside, copy=False)
        return select_from(counted, row_count, alias="counted", where=too_few_or_many)

    def observed(
        self, row_count: int | None, success: bool, first_failing: Callable[[], Any]
    ) -> Any:
        return row_count

    def aggregate_message(self, args: Args, observed: Any, as_of: Any) -> str:
        low, high = args.get("min"), args.get("max")
        if low is not None and high is not None:
            expected = f"between {low} and {high}"
        else:
            expected = f"at least {low}" if low is not None else f"at most {high}"
        return f"{observed} rows, expected {expected}"

    def to_gx(self, gx: Any, args: Args, options: dict[str, Any]) -> Any:
        return gx.expectations.ExpectTableRowCountToBeBetween(
            min_value=args.get("min"), max_value=args.get("max"), **options
        )

    def read_gx(
        self, result: Mapping[str, Any], success: bool, sample: list[Any]
    ) -> tuple[int | None, list[Any], Any]:
        return None, sample, result.get("observed_value")


class Recency(ExpectationType):
    name = "recency"
    required = ("column", "days")
    column_slot = "column"
    row_based = False
    gx_native = False
    observed_in_sample = True

    def check(self, args: Arguments) -> None:
        super().check(args)
        days = args.values["days"]
        if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
            raise ArgumentError("days", f"'days' must be a non-negative number, not {days!r}")

    def failing_rows(self, args: Args, q: SqlBuilder) -> exp.Query:
        latest = exp.column("max_value")
        seconds = round(float(args["days"]) * 86400)  # days may be fractional
        interval = exp.Interval(this=exp.Literal.string(str(seconds)), unit=exp.var("SECOND"))
        bound = exp.Sub(this=q.as_of_value(), expression=interval)
        newest = select_from(
            q.relation, exp.alias_(exp.Max(this=column(args["column"])), "max_value")
        )
        too_old = exp.or_(
            exp.Is(this=latest.copy(), expression=exp.Null()),
            exp.LT(this=latest.copy(), expression=bound),
            copy=False,
        )
        return select_from(newest, latest, alias="latest", where=too_old)

    def observed(
        self, row_count: int | None, success: bool, first_failing: Callable[[], Any]
    ) -> Any:
        return None if success else first_failing()

    def aggregate_message(self, args: Args, observed: Any, as_of: Any) -> str:
        days, name = args["days"], args["column"]
        latest = f"latest {name} is {observed}" if observed is not None else f"no {name}"
        return f"{latest}, expected within {days} days before {as_of}"

    def read_gx(
        self, result: Mapping[str, Any], success: bool, sample: list[Any]
    ) -> tuple[int | None, list[Any], Any]:
        first = sample[0] if sample else None
        observed = first.get("max_value") if isinstance(first, dict) else None
        return None, [observed] if not success else [], observed


class Gx(ExpectationType):
    """Any GX expectation class by name: only GX runs it."""

    name = "gx"
    required = ("type",)
    optional = ("kwargs",)
    plain_sql = False

    def check(self, args: Arguments) -> None:
        gx_type = args.values["type"]
        if not isinstance(gx_type, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", gx_type):
            raise ArgumentError(
                "type",
                f"'type' must name a GX expectation class, not {gx_type!r}",
                hint="e.g. ExpectColumnValuesToMatchRegex (see gx.expectations)",
            )
        kwargs = args.values.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise ArgumentError(
                "kwargs", "'kwargs' must be a mapping of the expectation's arguments"
            )
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                kwargs[key] = args.column("kwargs", kwargs[key])
        if isinstance(kwargs.get("column_list"), list):
            kwargs["column_list"] = [args.column("kwargs", c) for c in kwargs["column_list"]]
        args.values["kwargs"] = kwargs

    def on_column(self, args: dict[str, Any], column_name: str) -> None:
        # Checks the column it is declared on unless its kwargs say otherwise.
        if isinstance(args.get("kwargs", {}), Mapping):
            kwargs = dict(args.get("kwargs", {}))
            if not {"column", "column_list", "column_A", "column_B"} & set(kwargs):
                kwargs["column"] = column_name
            args["kwargs"] = kwargs

    def with_mostly(self, args: dict[str, Any], mostly: float) -> dict[str, Any]:
        return {**args, "kwargs": {**args.get("kwargs", {}), "mostly": mostly}}

    def default_name(self, args: Args) -> str:
        kwargs = args.get("kwargs", {})
        target = kwargs.get("column") or ", ".join(kwargs.get("column_list", []))
        return f"gx.{args['type']}({target})" if target else f"gx.{args['type']}"

    def reported_column(self, args: Args) -> str | None:
        return args.get("kwargs", {}).get("column")

    def to_gx(self, gx: Any, args: Args, options: dict[str, Any]) -> Any:
        cls = getattr(gx.expectations, args["type"], None)
        if cls is None or not isinstance(cls, type):
            raise ValueError(f"unknown GX expectation '{args['type']}'")
        options = {k: v for k, v in options.items() if k != "mostly"}  # in kwargs already
        try:
            return cls(**dict(args.get("kwargs", {})), **options)
        except Exception as exc:  # pydantic's report spans lines: keep it on one
            detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            raise ValueError(f"invalid gx {args['type']}: {detail}") from None


REGISTRY: dict[str, ExpectationType] = {
    t.name: t()
    for t in (
        NotNull,
        Unique,
        AcceptedValues,
        Between,
        Relationships,
        RowCountBetween,
        CompoundUnique,
        ColumnAGteB,
        Expression,
        Sql,
        Recency,
        Gx,
    )
}


class UnknownType(KeyError):
    """A type name the registry does not have; ``hint`` is a did-you-mean."""

    def __init__(self, name: str, hint: str) -> None:
        super().__init__(name)
        self.name, self.hint = name, hint
        self.message = f"unknown expectation type '{name}'"


def lookup(name: str) -> ExpectationType:
    """The type called ``name``; KeyError with a did-you-mean (or the list) otherwise."""
    found = REGISTRY.get(name)
    if found is None:
        close = difflib.get_close_matches(name, list(REGISTRY), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(REGISTRY)}"
        raise UnknownType(name, hint)
    return found
