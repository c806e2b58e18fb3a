"""Statements the runner writes itself, built as sqlglot expressions and rendered per dialect.

A model's own query is spliced in where a placeholder stands, after rendering: parsing
every model body again just to re-print it would cost more than running a tiny model.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp

from ..nodes import Relation
from .ddl import query_body

_BODY = exp.Placeholder(this="runner_body")


def _relation_table(relation: Relation, alias: str | None = None) -> exp.Table:
    parts = {
        "this": exp.to_identifier(relation.identifier, quoted=True),
        "db": exp.to_identifier(relation.schema, quoted=True),
    }
    if relation.database:
        parts["catalog"] = exp.to_identifier(relation.database, quoted=True)
    table = exp.Table(**parts)
    if alias:
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return table


def _with_body(statement: exp.Expr, body: str, dialect: str) -> str:
    rendered = statement.sql(dialect=dialect)
    marker = _BODY.sql(dialect=dialect)
    return rendered.replace(marker, query_body(body), 1)


def create_view_sql(relation: Relation, body: str, dialect: str) -> str:
    statement = exp.Create(
        this=_relation_table(relation), kind="VIEW", expression=_BODY.copy(), replace=True
    )
    return _with_body(statement, body, dialect)


def create_table_sql(
    relation: Relation,
    body: str,
    dialect: str,
    *,
    replace: bool = False,
    temporary: bool = False,
) -> str:
    properties = exp.Properties(expressions=[exp.TemporaryProperty()]) if temporary else None
    target = (
        exp.Table(this=exp.to_identifier(relation.identifier, quoted=True))
        if temporary
        else _relation_table(relation)
    )
    statement = exp.Create(
        this=target,
        kind="TABLE",
        expression=_BODY.copy(),
        replace=replace,
        properties=properties,
    )
    return _with_body(statement, body, dialect)


def create_schema_sql(schema: str, dialect: str) -> str:
    statement = exp.Create(
        this=exp.Table(this=exp.to_identifier(schema, quoted=True)), kind="SCHEMA", exists=True
    )
    return statement.sql(dialect=dialect)


def drop_sql(relation: Relation, kind: str, dialect: str) -> str:
    statement = exp.Drop(tables=[_relation_table(relation)], kind=kind.upper(), exists=True)
    return statement.sql(dialect=dialect)


def _columns(names: Sequence[str], table: str | None = None) -> list[exp.Column]:
    return [exp.column(exp.to_identifier(n, quoted=True), table=table) for n in names]


def insert_sql(target: Relation, source: Relation, columns: Sequence[str], dialect: str) -> str:
    select = exp.select(*_columns(columns)).from_(_relation_table(source))
    statement = exp.Insert(
        this=exp.Schema(
            this=_relation_table(target),
            expressions=[exp.to_identifier(c, quoted=True) for c in columns],
        ),
        expression=select,
    )
    return statement.sql(dialect=dialect)


def _keys_match(keys: Sequence[str], left: str, right: str) -> exp.Expr:
    """``left.k IS NOT DISTINCT FROM right.k AND ...``: NULL keys match each other."""
    conditions = [
        exp.NullSafeEQ(
            this=exp.column(exp.to_identifier(k, quoted=True), table=left),
            expression=exp.column(exp.to_identifier(k, quoted=True), table=right),
        )
        for k in keys
    ]
    return exp.and_(*conditions)


def delete_matching_sql(
    target: Relation, source: Relation, keys: Sequence[str], dialect: str
) -> str:
    matches = (
        exp.select(exp.Literal.number(1))
        .from_(_relation_table(source, alias="runner_src"))
        .where(_keys_match(keys, "runner_tgt", "runner_src"))
    )
    statement = exp.Delete(
        this=_relation_table(target, alias="runner_tgt"),
        where=exp.Where(this=exp.Exists(this=matches)),
    )
    return statement.sql(dialect=dialect)


def rows_replaced_sql(
    target: Relation, source: Relation, keys: Sequence[str], dialect: str | None = None
) -> str:
    """The rows of ``target`` whose keys are among ``source``'s: what a merge or a
    delete+insert of ``source`` replaces. No keys (append): no rows."""
    query = exp.select(exp.Star()).from_(_relation_table(target, alias="runner_tgt"))
    if not keys:
        return query.where(exp.false()).sql(dialect=dialect)
    matches = (
        exp.select(exp.Literal.number(1))
        .from_(_relation_table(source, alias="runner_src"))
        .where(_keys_match(keys, "runner_tgt", "runner_src"))
    )
    return query.where(exp.Exists(this=matches)).sql(dialect=dialect)


def merge_sql(
    target: Relation,
    source: Relation,
    keys: Sequence[str],
    columns: Sequence[str],
    dialect: str,
    updated: Sequence[str] | None = None,
) -> str:
    updates = [
        exp.EQ(
            this=exp.column(exp.to_identifier(c, quoted=True)),
            expression=exp.column(exp.to_identifier(c, quoted=True), table="runner_src"),
        )
        for c in (columns if updated is None else updated)
        if c not in keys
    ]
    whens = []
    if updates:
        whens.append(exp.When(matched=True, then=exp.Update(expressions=updates)))
    whens.append(
        exp.When(
            matched=False,
            then=exp.Insert(
                this=exp.Tuple(expressions=_columns(columns)),
                expression=exp.Tuple(expressions=_columns(columns, "runner_src")),
            ),
        )
    )
    statement = exp.Merge(
        this=_relation_table(target, alias="runner_tgt"),
        using=_relation_table(source, alias="runner_src"),
        on=_keys_match(keys, "runner_tgt", "runner_src"),
        whens=exp.Whens(expressions=whens),
    )
    return statement.sql(dialect=dialect)


def add_column_sql(relation: Relation, name: str, type_: str, dialect: str) -> str:
    action = exp.ColumnDef(
        this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build(type_, dialect=dialect)
    )
    return exp.Alter(this=_relation_table(relation), kind="TABLE", actions=[action]).sql(
        dialect=dialect
    )


def drop_column_sql(relation: Relation, name: str, dialect: str) -> str:
    action = exp.Drop(tables=[exp.column(exp.to_identifier(name, quoted=True))], kind="COLUMN")
    return exp.Alter(this=_relation_table(relation), kind="TABLE", actions=[action]).sql(
        dialect=dialect
    )


def alter_column_type_sql(relation: Relation, name: str, type_: str, dialect: str) -> str:
    action = exp.AlterColumn(
        this=exp.to_identifier(name, quoted=True),
        dtype=exp.DataType.build(type_, dialect=dialect),
    )
    return exp.Alter(this=_relation_table(relation), kind="TABLE", actions=[action]).sql(
        dialect=dialect
    )


def select_all_sql(
    relation: Relation,
    dialect: str,
    limit: int | None = None,
    order_by: Sequence[str] = (),
) -> str:
    select = exp.select("*").from_(_relation_table(relation))
    if order_by:
        select = select.order_by(*(exp.column(name, quoted=True) for name in order_by))
    if limit is not None:
        select = select.limit(limit)
    return select.sql(dialect=dialect)


def max_of_sql(relation: Relation, column: str, where: str | None, dialect: str) -> str:
    """``SELECT max(column) FROM relation [WHERE condition]``: a source's newest load time
    (the condition is the user's SQL, parsed in the engine's dialect)."""
    select = exp.select(exp.Max(this=exp.column(column, quoted=True))).from_(
        _relation_table(relation)
    )
    if where:
        select = select.where(sqlglot.condition(where, dialect=dialect))
    return select.sql(dialect=dialect)


def inject_ctes(body: str, ctes: Sequence[tuple[str, str]], dialect: str = "duckdb") -> str:
    """Put ``WITH name AS (sql), ...`` in front of a query (ephemeral models inlined).

    The new CTEs come before the query's own, which may read them. The query is
    re-printed by sqlglot, so its layout changes; its meaning does not.
    """
    if not ctes:
        return body
    tree = sqlglot.parse_one(body, read=dialect)
    new = [
        exp.CTE(
            this=sqlglot.parse_one(cte_sql, read=dialect),
            alias=exp.TableAlias(this=exp.to_identifier(name, quoted=True)),
        )
        for name, cte_sql in ctes
    ]
    existing = tree.args.get("with_")
    if existing is not None:
        existing.set("expressions", [*new, *existing.expressions])
    else:
        tree.set("with_", exp.With(expressions=new))
    return tree.sql(dialect=dialect, pretty=True)


def upsert_select_sql(
    target: Relation,
    source: Relation,
    keys: Sequence[str],
    columns: Sequence[str],
    target_columns: Sequence[str],
    *,
    keep_target_values: bool,
    dialect: str,
    updated: Sequence[str] | None = None,
) -> str:
    """The rows ``target`` has after a merge (``keep_target_values``: a matched row keeps
    the target's values of the columns not written) or a delete+insert of ``source`` on
    ``keys``, in ``target_columns`` order; for engines without MERGE/DELETE, which write
    this over the table. Keys compare with IS NOT DISTINCT FROM, as merge_sql does.
    ``updated`` (a merge's merge_update_columns): a matched row takes only these of the
    written columns from ``source``, the rest from ``target``."""
    written = {c.lower() for c in columns}
    kept_on_match = (
        set()
        if updated is None
        else {c.lower() for c in columns} - {c.lower() for c in updated} - {k.lower() for k in keys}
    )
    kept = exp.select(*_columns(target_columns, "t")).from_(_relation_table(target, "t"))
    match = _keys_match(keys, "s", "t")
    kept = kept.where(
        exp.Not(
            this=exp.Exists(this=exp.select("1").from_(_relation_table(source, "s")).where(match))
        )
    )
    values = []
    matched = exp.column(exp.to_identifier("__runner_matched", quoted=True), table="o")
    for name in target_columns:
        if name.lower() in kept_on_match:
            value: exp.Expr = exp.case().when(
                matched, exp.column(exp.to_identifier(name, quoted=True), table="o")
            )
            value = value.else_(exp.column(exp.to_identifier(name, quoted=True), table="s"))
        elif name.lower() in written:
            value = exp.column(exp.to_identifier(name, quoted=True), table="s")
        elif keep_target_values:
            value = exp.column(exp.to_identifier(name, quoted=True), table="o")
        else:
            value = exp.Null()
        values.append(exp.alias_(value, exp.to_identifier(name, quoted=True)))
    new = exp.select(*values).from_(_relation_table(source, "s"))
    if kept_on_match:
        # the target's rows marked, so a match is told apart from a key that is NULL
        marked = exp.select("*", exp.alias_(exp.true(), "__runner_matched", quoted=True))
        marked = marked.from_(_relation_table(target))
        new = new.join(
            exp.Subquery(this=marked, alias=exp.TableAlias(this=exp.to_identifier("o"))),
            on=_keys_match(keys, "s", "o"),
            join_type="left",
        )
    elif keep_target_values and any(c.lower() not in written for c in target_columns):
        new = new.join(
            _relation_table(target, "o"), on=_keys_match(keys, "s", "o"), join_type="left"
        )
    return exp.union(kept, new, distinct=False).sql(dialect=dialect)
