"""The fixed-shape statements every build runs, written as text on DuckDB.

``CREATE OR REPLACE VIEW "schema"."name" AS <body>`` and its kin (and the incremental
steps' insert, merge and delete) have one spelling whatever the model says, and rendering
them through sqlglot made every ``runner run`` import it (about 0.1 s, a tenth of a warm
run of a small project) for nothing else. So on DuckDB they are written here, in exactly
the text sqlglot renders (``tests/test_sql.py`` compares the two on awkward names); other
dialects, and statements of another shape (alter, upsert), go to ``statements`` and
sqlglot.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from ..nodes import Relation

_TEXT_DIALECTS = frozenset({"duckdb"})


def _statements() -> ModuleType:
    """The sqlglot-built statements, imported on first need."""
    from . import statements

    return statements


def quote(name: str) -> str:
    """A DuckDB identifier, always quoted (as sqlglot's ``quoted=True``)."""
    return '"' + name.replace('"', '""') + '"'


def _relation(relation: Relation) -> str:
    parts = [relation.schema, relation.identifier]
    if relation.database:
        parts.insert(0, relation.database)
    return ".".join(quote(part) for part in parts)


def query_body(sql: str) -> str:
    """A model's query ready to be embedded: trailing ``;`` removed, and a newline kept at
    the end so a final ``-- comment`` cannot swallow what follows it."""
    body = sql.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    return body + "\n"


def create_view_sql(relation: Relation, body: str, dialect: str) -> str:
    if dialect not in _TEXT_DIALECTS:
        return _statements().create_view_sql(relation, body, dialect)
    return f"CREATE OR REPLACE VIEW {_relation(relation)} AS {query_body(body)}"


def create_table_sql(
    relation: Relation,
    body: str,
    dialect: str,
    *,
    replace: bool = False,
    temporary: bool = False,
) -> str:
    if dialect not in _TEXT_DIALECTS:
        return _statements().create_table_sql(
            relation, body, dialect, replace=replace, temporary=temporary
        )
    create = "CREATE OR REPLACE" if replace else "CREATE"
    if temporary:
        return f"{create} TEMPORARY TABLE {quote(relation.identifier)} AS {query_body(body)}"
    return f"{create} TABLE {_relation(relation)} AS {query_body(body)}"


def create_schema_sql(schema: str, dialect: str) -> str:
    if dialect not in _TEXT_DIALECTS:
        return _statements().create_schema_sql(schema, dialect)
    return f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}"


def drop_sql(relation: Relation, kind: str, dialect: str) -> str:
    if dialect not in _TEXT_DIALECTS:
        return _statements().drop_sql(relation, kind, dialect)
    return f"DROP {kind.upper()} IF EXISTS {_relation(relation)}"


def insert_sql(target: Relation, source: Relation, columns: Sequence[str], dialect: str) -> str:
    if dialect not in _TEXT_DIALECTS:
        return _statements().insert_sql(target, source, columns, dialect)
    names = ", ".join(quote(c) for c in columns)
    return f"INSERT INTO {_relation(target)} ({names}) SELECT {names} FROM {_relation(source)}"


def select_all_sql(
    relation: Relation,
    dialect: str,
    limit: int | None = None,
    order_by: Sequence[str] = (),
) -> str:
    if dialect not in _TEXT_DIALECTS:
        return _statements().select_all_sql(relation, dialect, limit=limit, order_by=order_by)
    text = f"SELECT * FROM {_relation(relation)}"
    if order_by:
        text += " ORDER BY " + ", ".join(quote(name) for name in order_by)
    if limit is not None:
        text += f" LIMIT {int(limit)}"
    return text


def _keys_match(keys: Sequence[str], left: str, right: str) -> str:
    """``left."k" IS NOT DISTINCT FROM right."k" AND ...``: NULL keys match each other."""
    return " AND ".join(f"{left}.{quote(k)} IS NOT DISTINCT FROM {right}.{quote(k)}" for k in keys)


def _matches(target: Relation, source: Relation, keys: Sequence[str]) -> str:
    return (
        f"{_relation(target)} AS runner_tgt WHERE EXISTS(SELECT 1 FROM {_relation(source)} "
        f"AS runner_src WHERE {_keys_match(keys, 'runner_tgt', 'runner_src')})"
    )


def delete_matching_sql(
    target: Relation, source: Relation, keys: Sequence[str], dialect: str
) -> str:
    if dialect not in _TEXT_DIALECTS or not keys:
        return _statements().delete_matching_sql(target, source, keys, dialect)
    return f"DELETE FROM {_matches(target, source, keys)}"


def rows_replaced_sql(
    target: Relation, source: Relation, keys: Sequence[str], dialect: str | None = None
) -> str:
    """The rows of ``target`` whose keys are among ``source``'s: what a merge or a
    delete+insert of ``source`` replaces. No keys (append): no rows."""
    if dialect not in (None, *_TEXT_DIALECTS):  # None: sqlglot's default spelling, the same
        return _statements().rows_replaced_sql(target, source, keys, dialect)
    if not keys:
        return f"SELECT * FROM {_relation(target)} AS runner_tgt WHERE FALSE"
    return f"SELECT * FROM {_matches(target, source, keys)}"


def merge_sql(
    target: Relation,
    source: Relation,
    keys: Sequence[str],
    columns: Sequence[str],
    dialect: str,
    updated: Sequence[str] | None = None,
) -> str:
    """MERGE of ``source`` into ``target`` on ``keys``: a matched row gets the ``updated``
    columns (all non-key ``columns`` when None: merge_update_columns), the others are
    inserted with every column."""
    if dialect not in _TEXT_DIALECTS or not keys or not columns:
        return _statements().merge_sql(target, source, keys, columns, dialect, updated)
    on = _keys_match(keys, "runner_tgt", "runner_src")
    text = (
        f"MERGE INTO {_relation(target)} AS runner_tgt "
        f"USING {_relation(source)} AS runner_src ON {on}"
    )
    updates = [
        f"{quote(c)} = runner_src.{quote(c)}"
        for c in (columns if updated is None else updated)
        if c not in keys
    ]
    if updates:
        text += " WHEN MATCHED THEN UPDATE SET " + ", ".join(updates)
    names = ", ".join(quote(c) for c in columns)
    values = ", ".join(f"runner_src.{quote(c)}" for c in columns)
    return text + f" WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})"
