"""The expectation registry: each type's failing rows on a tiny fixture, worked out by hand,
on DuckDB and (marked spark) on Spark through the same classes; renderings in both
dialects; an unknown type's did-you-mean.

The fixture (``orders``; NULL passes every check except not_null):

    id  line cust  status   amount  gross net  ts
    1   1    c1    placed    10.00  10    8    2024-06-29 10:00
    1   1    c9    lost      -5.00   3    4    2024-06-20 00:00
    2   1    c2    NULL     200.00   5    5    2024-06-25 00:00
    NULL 2   NULL  shipped    NULL  NULL  1    NULL

``customers``: c1, c2 and NULL. As of 2024-06-30.
"""

from __future__ import annotations

import datetime
import decimal
import textwrap
from pathlib import PurePosixPath
from typing import Any

import duckdb
import pytest

from runner.errors import ProjectError
from runner.nodes import Column, Model, Relation
from runner.quality import SqlValidator, expectation_sql, failing_rows_sql, parse_expectations
from runner.quality.registry import REGISTRY, UnknownType, lookup
from runner.yamlio import line_of, load_yaml

AS_OF = datetime.date(2024, 6, 30)
ROWS = [
    (1, 1, "c1", "placed", "10.00", 10, 8, "2024-06-29 10:00:00"),
    (1, 1, "c9", "lost", "-5.00", 3, 4, "2024-06-20 00:00:00"),
    (2, 1, "c2", None, "200.00", 5, 5, "2024-06-25 00:00:00"),
    (None, 2, None, "shipped", None, None, 1, None),
]
RELATIONS = {"orders": '"reg"."orders"', "customers": '"reg"."customers"'}


def _value(v: Any) -> str:
    return "null" if v is None else (str(v) if isinstance(v, int) else f"'{v}'")


def fixture_sql(table_clause: str) -> list[str]:
    """The fixture's statements; ``table_clause`` is ``''`` (DuckDB) or ``using parquet``."""
    values = ", ".join("(" + ", ".join(_value(v) for v in row) + ")" for row in ROWS)
    return [
        "create schema if not exists reg",
        f"create table reg.orders {table_clause} as select cast(id as int) as id, "
        "cast(line as int) as line, cast(cust as string) as cust, "
        "cast(status as string) as status, cast(amount as decimal(18, 2)) as amount, "
        "cast(gross as int) as gross, cast(net as int) as net, cast(ts as timestamp) as ts "
        f"from (values {values}) as t(id, line, cust, status, amount, gross, net, ts)",
        f"create table reg.customers {table_clause} as select cast(customer_id as string) "
        "as customer_id from (values ('c1'), ('c2'), (null)) as t(customer_id)",
    ]


# type -> (declaration on `orders`: column or None, YAML; the failing rows by hand, as
# sorted tuples of what the failing-rows query returns (whole rows unless the type
# returns one column: relationships the orphaned key, aggregates the aggregate)).
TS = datetime.datetime
WHOLE = {i: row for i, row in enumerate(ROWS)}


def whole(*indexes: int) -> list[tuple]:
    out = []
    for i in indexes:
        id_, line, cust, status, amount, gross, net, ts = WHOLE[i]
        out.append(
            (
                id_,
                line,
                cust,
                status,
                decimal.Decimal(amount) if amount else None,
                gross,
                net,
                TS.fromisoformat(ts) if ts else None,
            )
        )
    return out


CASES: dict[str, tuple[tuple[str | None, str], list[tuple]]] = {
    "not_null": (("id", "not_null"), whole(3)),
    "unique": (("id", "unique"), whole(0, 1)),  # id 1 twice; the NULL id is no repeat
    "accepted_values": (("status", "accepted_values: {values: [placed, shipped]}"), whole(1)),
    "between": (("amount", "between: {min: 0, max: 100}"), whole(1, 2)),
    "relationships": (
        ("cust", "relationships: {to: customers, field: customer_id}"),
        [("c9",)],
    ),
    "compound_unique": ((None, "compound_unique: {columns: [id, line]}"), whole(0, 1)),
    "column_a_gte_b": ((None, "column_a_gte_b: {column_a: gross, column_b: net}"), whole(1)),
    "expression": ((None, "expression: 'net <= gross'"), whole(1)),  # NULL gross passes
    "sql": ((None, "sql: 'select id from {this} where amount > 100'"), [(2,)]),
    "row_count_between": ((None, "row_count_between: {min: 1, max: 3}"), [(4,)]),
    # latest ts 2024-06-29 10:00 is older than 6 hours before the as-of date's midnight
    "recency": (("ts", "recency: {days: 0.25}"), [(TS(2024, 6, 29, 10),)]),
}


def declared(spec: tuple[str | None, str]) -> Any:
    column, declaration = spec
    if column:
        text = (
            f"models:\n  - name: orders\n    columns:\n      - name: {column}\n"
            f"        expectations:\n          - {declaration}\n"
        )
    else:
        text = f"models:\n  - name: orders\n    expectations:\n      - {declaration}\n"
    [exp] = parse_expectations(
        model(text), ["id", "line", "cust", "status", "amount", "gross", "net", "ts"]
    )
    return exp


def model(yaml_text: str) -> Model:
    data = load_yaml(textwrap.dedent(yaml_text), "models/_reg.yml")
    entry = data["models"][0]
    columns = entry.get("columns", [])
    return Model(
        unique_id="model.orders",
        name="orders",
        path=PurePosixPath("models/orders.sql"),
        fqn=("shop", "orders"),
        relation=Relation("reg", "orders"),
        raw_sql="select 1",
        columns=tuple(
            Column(
                c["name"], expectations=tuple(c.get("expectations", [])), line=line_of(columns, i)
            )
            for i, c in enumerate(columns)
        ),
        expectations=tuple(entry.get("expectations", [])),
        yaml_path=PurePosixPath("models/_reg.yml"),
    )


def resolve(name: str) -> str:
    return RELATIONS[name]


@pytest.fixture(scope="module")
def con() -> Any:
    connection = duckdb.connect()
    for statement in fixture_sql(""):
        connection.execute(statement.replace("as string", "as varchar"))
    yield connection
    connection.close()


def test_every_type_but_gx_has_a_hand_worked_case() -> None:
    assert set(CASES) == {name for name, kind in REGISTRY.items() if kind.plain_sql}
    assert not REGISTRY["gx"].plain_sql


@pytest.mark.parametrize("name", sorted(CASES))
def test_failing_rows_on_duckdb(con: Any, name: str) -> None:
    spec, expected = CASES[name]
    exp = declared(spec)
    rows = con.execute(failing_rows_sql(exp, RELATIONS["orders"], resolve, as_of=AS_OF)).fetchall()
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    count = expectation_sql(exp, RELATIONS["orders"], resolve, as_of=AS_OF)
    assert con.execute(count).fetchone()[0] == len(expected)


def test_gx_has_no_plain_sql() -> None:
    exp = declared((None, "gx: {type: ExpectColumnValuesToNotBeNull, kwargs: {column: id}}"))
    with pytest.raises(ValueError, match="no plain SQL"):
        failing_rows_sql(exp, RELATIONS["orders"])


def test_renderings_in_duckdb_and_spark() -> None:
    between = declared(CASES["between"][0])
    assert failing_rows_sql(between, RELATIONS["orders"]) == (
        'SELECT * FROM "reg"."orders" WHERE NOT "amount" IS NULL'
        ' AND NOT ("amount" >= 0 AND "amount" <= 100)'
    )
    assert failing_rows_sql(between, RELATIONS["orders"], dialect="spark") == (
        "SELECT * FROM `reg`.`orders` WHERE NOT `amount` IS NULL"
        " AND NOT (`amount` >= 0 AND `amount` <= 100)"
    )
    unique = declared(CASES["unique"][0])
    assert expectation_sql(unique, RELATIONS["orders"], dialect="spark") == (
        "SELECT COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n FROM `reg`.`orders`"
        " WHERE NOT `id` IS NULL GROUP BY `id` HAVING COUNT(*) > 1) AS dups"
    )
    # recency: DuckDB's DATE - INTERVAL is a TIMESTAMP; on Spark the project's dialect
    # casts first, so a fraction of a day is not lost.
    recency = declared(CASES["recency"][0])
    spark = failing_rows_sql(recency, RELATIONS["orders"], as_of=AS_OF, dialect="spark")
    assert (
        "max_value < CAST(CAST('2024-06-30' AS DATE) AS TIMESTAMP) - INTERVAL '21600' SECOND"
        in spark
    )
    duck = failing_rows_sql(recency, RELATIONS["orders"], as_of=AS_OF)
    assert "max_value < CAST('2024-06-30' AS DATE) - INTERVAL '21600' SECOND" in duck


def test_user_sql_runs_as_written_on_duckdb_and_is_carried_over_on_spark() -> None:
    exp = declared((None, "expression: \"ts <= {as_of} and status ilike 'p%'\""))
    duck = failing_rows_sql(exp, RELATIONS["orders"], as_of=AS_OF)
    assert duck == (
        "SELECT * FROM \"reg\".\"orders\" WHERE NOT (ts <= DATE '2024-06-30' and status ilike 'p%')"
    )
    spark = failing_rows_sql(exp, RELATIONS["orders"], as_of=AS_OF, dialect="spark")
    assert spark == (
        "SELECT * FROM `reg`.`orders`"
        " WHERE NOT (ts <= CAST('2024-06-30' AS DATE) AND status ILIKE 'p%')"
    )


def test_unknown_type_says_what_it_may_have_meant() -> None:
    with pytest.raises(UnknownType) as raised:
        lookup("not_nul")
    assert raised.value.hint == "did you mean 'not_null'?"
    with pytest.raises(UnknownType) as raised:
        lookup("zzz")
    assert raised.value.hint.startswith("known: not_null, unique, accepted_values")
    text = (
        "models:\n  - name: orders\n    columns:\n      - name: id\n"
        "        expectations:\n          - uniqe\n"
    )
    with pytest.raises(ProjectError) as error:
        parse_expectations(model(text))
    assert (str(error.value.path), error.value.line) == ("models/_reg.yml", 4)
    assert "unknown expectation type 'uniqe'" in str(error.value)
    assert error.value.hint == "did you mean 'unique'?"


# ---------------------------------------------------------------------------- Spark


@pytest.fixture(scope="module")
def spark_cursor(spark_demo: Any) -> Any:
    spark = spark_demo.spark
    spark.sql("drop schema if exists reg cascade")
    for statement in fixture_sql("using parquet"):
        spark.sql(statement)
    return spark_demo.engine.validator_session


@pytest.mark.spark
@pytest.mark.slow
def test_the_same_registry_runs_on_spark(spark_cursor: Any) -> None:
    exps = [declared(spec) for spec, _ in CASES.values()]
    with SqlValidator(spark_cursor, resolve=resolve, dialect="spark") as validator:
        results = validator.validate("model.orders", RELATIONS["orders"], exps, as_of=AS_OF)
    assert [r.message for r in results if r.status == "error"] == []
    for (name, (_, expected)), result in zip(CASES.items(), results, strict=True):
        if result.expectation.row_based:
            assert result.failing_count == len(expected), name
        else:
            assert result.status == "fail", name
    cursor = spark_cursor()
    for name, (spec, expected) in CASES.items():
        query = failing_rows_sql(
            declared(spec), RELATIONS["orders"], resolve, as_of=AS_OF, dialect="spark"
        )
        rows = [tuple(row) for row in cursor.execute(query).fetchall()]
        assert sorted(rows, key=repr) == sorted(expected, key=repr), name


# dbt's built-in tests under `config: where` keep dbt's own semantics: unique returns one
# row per repeated value, accepted_values lets NULL through (NOT IN is unknown).
DBT_WHERE = {
    "not_null": ({}, "line = 1", []),  # the NULL id is on line 2
    "unique": ({}, "line = 1", [(1,)]),  # id 1 twice on line 1: one row, the value
    "accepted_values": ({"values": ["placed", "shipped"]}, "line = 1", [("lost",)]),
    "relationships": ({"to": "ref('customers')", "field": "customer_id"}, "id = 1", [("c9",)]),
}


@pytest.mark.parametrize("name", sorted(DBT_WHERE))
def test_dbt_builtin_tests_with_where(con: Any, name: str) -> None:
    from runner.dbt_tests import _builtin_sql, _Filtered

    arguments, where, expected = DBT_WHERE[name]
    column = {"not_null": "id", "unique": "id", "accepted_values": "status"}.get(name, "cust")
    filtered = _Filtered("reg", "orders")
    object.__setattr__(filtered, "where", where)
    query = _builtin_sql(name, {"model": filtered, "column_name": column, **arguments})
    query = query.replace("{ref:customers}", RELATIONS["customers"])
    rows = con.execute(query).fetchall()
    if name in ("unique", "accepted_values"):
        rows = [(row[0],) if name == "unique" else (row[3],) for row in rows]
    assert rows == expected


def test_dbt_where_on_a_type_dbt_lacks_is_an_error() -> None:
    from runner.dbt_tests import _builtin_sql, _Filtered

    with pytest.raises(ProjectError, match="'where' is not supported on the 'between'"):
        _builtin_sql("between", {"model": _Filtered("reg", "orders"), "column_name": "id"})


@pytest.mark.spark
@pytest.mark.slow
def test_store_failures_on_spark_replaces_its_table_without_create_or_replace(
    spark_cursor: Any, spark_demo: Any
) -> None:
    exp = declared(CASES["between"][0])
    validator = SqlValidator(spark_cursor, resolve=resolve, dialect="spark", replace_table_as=False)
    for _ in range(2):  # the second run replaces the first one's table
        [result] = validator.validate(
            "model.orders",
            RELATIONS["orders"],
            [exp],
            as_of=AS_OF,
            store_failures=True,
            audit_schema="reg_audit",
        )
        assert result.failures_table == '"reg_audit"."orders__between_amount"', result.message
    rows = spark_demo.spark.sql("select id, amount from reg_audit.orders__between_amount")
    assert sorted(tuple(r) for r in rows.collect()) == [
        (1, decimal.Decimal("-5.00")),
        (2, decimal.Decimal("200.00")),
    ]
