"""Expectations: declarations with file:line errors, and real runs through Great Expectations.

One Validator (one GX import, one GX context) serves the whole module; tables live in
an in-memory DuckDB database. ``GOOD`` satisfies every expectation; ``BAD`` breaks each
one in a known way (NULLs pass every check except not_null).
"""

from __future__ import annotations

import datetime
import textwrap
import threading
from pathlib import PurePosixPath
from typing import Any

import duckdb
import pytest

from runner.errors import ProjectError
from runner.nodes import Column, Model, Relation, Source
from runner.quality import (
    ERROR,
    FAIL,
    PASS,
    WARN,
    Expectation,
    ExpectationResult,
    SqlValidator,
    Validator,
    expectation_sql,
    failing_rows_sql,
    format_result,
    parse_expectations,
    start_import_in_background,
    threshold_holds,
    verdict,
)
from runner.quality.plain_sql import row_predicate
from runner.yamlio import line_of, load_yaml

YAML_PATH = "models/marts/_marts.yml"
AS_OF = datetime.date(2024, 6, 30)
COLUMNS = ["id", "line", "cust", "status", "amount", "gross", "net", "ts"]

TABLES = """
create schema marts;
create table marts.customers as select * from (values ('c1'), ('c2')) as t(customer_id);
create table marts.good (
    id integer, line integer, cust varchar, status varchar, amount decimal(18, 2),
    gross integer, net integer, ts timestamp);
insert into marts.good values
    (1, 1, 'c1', 'placed', 10, 10, 8, '2024-06-29 10:00'),
    (2, 1, 'c2', 'shipped', 0, 5, 5, '2024-06-01'),
    (3, 1, null, null, null, null, 1, '2024-05-01');
create table marts.bad as select * from marts.good limit 0;
insert into marts.bad values
    (1, 1, 'c1', 'placed', 10, 10, 8, '2024-01-01'),
    (1, 1, 'c9', 'lost', -5, 3, 4, '2024-01-02'),
    (2, 1, 'c2', 'lost', 200, 5, 5, '2024-01-03'),
    (null, 1, null, 'shipped', 7, 1, 1, '2024-01-04');
"""

RELATIONS = {
    "customers": '"marts"."customers"',
    "good": '"marts"."good"',
    "bad": '"marts"."bad"',
}


def resolve(name: str) -> str:
    return RELATIONS[name]


@pytest.fixture(scope="module")
def con() -> Any:
    connection = duckdb.connect()
    connection.execute(TABLES)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def gx_validator(con: Any) -> Any:
    start_import_in_background()
    with Validator(con.cursor, resolve=resolve) as v:
        yield v


@pytest.fixture(scope="module")
def sql_validator(con: Any) -> Any:
    with SqlValidator(con.cursor, resolve=resolve) as v:
        yield v


@pytest.fixture(params=["gx", "sql"])
def validator(request: Any) -> Any:
    """Every behaviour holds for both validators: GX, and the plain-SQL one."""
    return request.getfixturevalue(f"{request.param}_validator")


def node(yaml_text: str, *, name: str = "bad", path: str = YAML_PATH) -> Model:
    """A model built from YAML text the way the parser does (LineDicts, column lines)."""
    data = load_yaml(textwrap.dedent(yaml_text), path)
    entry = data["models"][0]
    columns = entry.get("columns", [])
    return Model(
        unique_id=f"model.{name}",
        name=name,
        path=PurePosixPath(f"models/marts/{name}.sql"),
        fqn=("shop", "marts", name),
        relation=Relation("marts", name),
        raw_sql="select 1",
        columns=tuple(
            Column(
                c["name"],
                expectations=tuple(c.get("expectations", [])),
                line=line_of(columns, i),
            )
            for i, c in enumerate(columns)
        ),
        expectations=tuple(entry.get("expectations", [])),
        yaml_path=PurePosixPath(path),
    )


def table_exp(declaration: str, columns: list[str] | None = COLUMNS) -> Expectation:
    """One table-level declaration (YAML flow text) parsed."""
    model = node(f"models:\n  - name: bad\n    expectations:\n      - {declaration}\n")
    [exp] = parse_expectations(model, columns)
    return exp


def column_exp(column: str, declaration: str) -> Expectation:
    model = node(
        f"models:\n  - name: bad\n    columns:\n      - name: {column}\n"
        f"        expectations:\n          - {declaration}\n"
    )
    [exp] = parse_expectations(model, COLUMNS)
    return exp


def run(validator: Validator, table: str, *exps: Expectation, **kw: Any) -> list[Any]:
    return validator.validate(f"model.{table}", RELATIONS[table], list(exps), as_of=AS_OF, **kw)


# Every vocabulary entry: (declaration, failing count on BAD, sample on BAD).
# A None count marks an aggregate check (row_count_between, recency).
CASES = [
    pytest.param(("id", "not_null"), 1, [None], id="not_null"),
    pytest.param(("id", "unique"), 2, [1, 1], id="unique"),
    pytest.param(
        ("status", "accepted_values: {values: [placed, shipped]}"),
        2,
        ["lost", "lost"],
        id="accepted_values",
    ),
    pytest.param(("amount", "between: {min: 0, max: 100}"), 2, None, id="between"),
    pytest.param(
        ("cust", "relationships: {to: customers, field: customer_id}"),
        1,
        ["c9"],
        id="relationships",
    ),
    pytest.param((None, "row_count_between: {min: 1, max: 3}"), None, [], id="row_count_between"),
    pytest.param(
        (None, "compound_unique: {columns: [id, line]}"),
        2,
        [{"id": 1, "line": 1}, {"id": 1, "line": 1}],
        id="compound_unique",
    ),
    pytest.param(
        (None, "column_a_gte_b: {column_a: gross, column_b: net}"),
        1,
        None,
        id="column_a_gte_b",
    ),
    pytest.param((None, "expression: 'net <= gross'"), 1, None, id="expression"),
    pytest.param(
        (None, "sql: 'select id, amount from {this} as o where o.amount > 100'"),
        1,
        [{"id": 2, "amount": 200}],
        id="sql",
    ),
    pytest.param(("ts", "recency: {days: 7}"), None, [datetime.datetime(2024, 1, 4)], id="recency"),
    pytest.param(
        (
            None,
            "gx: {type: ExpectColumnValuesToNotBeInSet, kwargs: {column: status, "
            "value_set: [lost]}}",
        ),
        2,
        ["lost", "lost"],
        id="gx",
    ),
]


def declared(spec: tuple[str | None, str]) -> Expectation:
    column, declaration = spec
    return column_exp(column, declaration) if column else table_exp(declaration)


# ---------------------------------------------------------------------------- GX runs


@pytest.mark.parametrize(("spec", "count", "sample"), CASES)
def test_each_type_passes_on_good_data_and_fails_on_bad(
    validator: Validator, spec: tuple[str | None, str], count: int | None, sample: list | None
) -> None:
    exp = declared(spec)
    [good] = run(validator, "good", exp)
    assert good.status == PASS, good.message
    assert good.failing_count == (0 if count is not None else None)

    [bad] = run(validator, "bad", exp)
    assert bad.status == FAIL, bad.message
    assert bad.failing_count == count
    if count is not None:
        assert bad.failing_share == pytest.approx(count / 4)
    if sample is not None:
        got = [
            {k: v for k, v in row.items() if k in sample[0]} if isinstance(row, dict) else row
            for row in bad.sample
        ]
        assert sorted(got, key=repr) == sorted(sample, key=repr)
    assert len(bad.sample) <= 5
    assert bad.duration > 0


def test_aggregate_checks_report_what_they_observed(validator: Validator) -> None:
    rows, recency = run(
        validator,
        "bad",
        table_exp("row_count_between: {min: 1, max: 3}"),
        column_exp("ts", "recency: {days: 7}"),
    )
    assert rows.observed == 4
    assert "4 rows, expected between 1 and 3" in rows.message
    assert recency.observed == datetime.datetime(2024, 1, 4)
    assert "within 7 days before 2024-06-30" in recency.message


def test_a_whole_suite_runs_at_once_in_declaration_order(validator: Validator) -> None:
    exps = [declared(p.values[0]) for p in CASES]
    results = run(validator, "bad", *exps)
    assert [r.expectation for r in results] == exps
    assert [r.failing_count for r in results] == [p.values[1] for p in CASES]
    assert {r.status for r in results} == {FAIL}


def test_bad_sql_or_a_missing_column_is_an_error_not_a_failure(
    validator: Validator, con: Any
) -> None:
    results = run(
        validator,
        "bad",
        table_exp("expression: 'nope > 1'", columns=None),
        table_exp("sql: 'select * from {this} where'", columns=None),
        table_exp("not_null: {column: vanished}", columns=None),
        column_exp("id", "not_null"),
    )
    assert [r.status for r in results] == [ERROR, ERROR, ERROR, FAIL]
    assert 'column "nope" not found' in results[0].message
    assert "syntax error" in results[1].message.lower()
    assert "vanished" in results[2].message
    assert all(r.failing_count is None for r in results[:3])

    # A table rebuilt without a column: the check errors (columns are not cached).
    con.execute("create or replace table marts.shrinking as select 1 as id, 2 as gone")
    RELATIONS["shrinking"] = '"marts"."shrinking"'
    gone = table_exp("not_null: {column: gone}", columns=None)
    assert run(validator, "shrinking", gone)[0].status == PASS
    con.execute("create or replace table marts.shrinking as select 1 as id")
    assert run(validator, "shrinking", gone)[0].status == ERROR


def test_a_missing_relation_errors_every_expectation(validator: Validator) -> None:
    RELATIONS["missing"] = '"marts"."missing"'
    exps = [column_exp("id", "not_null"), table_exp("expression: 'id > 0'")]
    for _ in range(2):  # and again: no half-registered asset left behind
        results = run(validator, "missing", *exps)
        assert [r.status for r in results] == [ERROR, ERROR]
        assert all(r.message for r in results)


def test_placeholders_need_their_values(validator: Validator) -> None:
    future = table_exp("expression: 'ts <= {as_of}'")
    assert run(validator, "good", future)[0].status == PASS
    [no_as_of] = validator.validate("model.good", RELATIONS["good"], [future])
    assert no_as_of.status == ERROR and "as-of" in no_as_of.message
    unknown = table_exp("sql: 'select * from {this} where cust not in (select * from {ref:nope})'")
    [result] = run(validator, "bad", unknown)
    assert result.status == ERROR and "nope" in result.message


def test_severity_warn_and_warn_error(validator: Validator) -> None:
    exp = column_exp("status", "accepted_values: {values: [placed, shipped], severity: warn}")
    [result] = run(validator, "bad", exp)
    assert result.status == WARN and result.failing_count == 2
    assert verdict([result]) == ("warn", "1 warning: accepted_values(status) (2 rows)")
    assert verdict([result], warn_error=True)[0] == "error"


@pytest.mark.parametrize(
    ("declaration", "status"),
    [
        # amount: 2 of the 4 rows fail (-5, 200): half pass
        ("{between: {min: 0, max: 100}, mostly: 0.5}", PASS),
        ("{between: {min: 0, max: 100}, mostly: 0.6}", FAIL),
        ("{between: {min: 0, max: 100}, mostly: 0.6, severity: warn}", WARN),
    ],
)
def test_mostly_on_a_column_check(validator: Validator, declaration: str, status: str) -> None:
    [result] = run(validator, "bad", column_exp("amount", declaration))
    assert result.status == status
    assert result.failing_count == 2  # reported even when mostly lets it pass


@pytest.mark.parametrize(("mostly", "status"), [(0.75, PASS), (0.8, FAIL)])
def test_mostly_on_an_unexpected_rows_check(
    validator: Validator, mostly: float, status: str
) -> None:
    # net <= gross fails 1 row of 4
    [result] = run(
        validator, "bad", table_exp(f"expression: 'net <= gross'\n        mostly: {mostly}")
    )
    assert (result.status, result.failing_count) == (status, 1)


@pytest.mark.parametrize(
    ("config", "status"),
    [
        ("error_if: '>1'", WARN),  # 1 orphan: not an error, warn_if defaults to != 0
        ("error_if: '>0'", FAIL),
        ("error_if: '>1', warn_if: '>1'", PASS),
        ("severity: warn, error_if: '>0'", WARN),  # severity warn never errors
        ("severity: warn, warn_if: '>=5'", PASS),
    ],
)
def test_thresholds_on_the_failing_count(validator: Validator, config: str, status: str) -> None:
    exp = column_exp("cust", f"relationships: {{to: customers, field: customer_id, {config}}}")
    [result] = run(validator, "bad", exp)
    assert (result.status, result.failing_count) == (status, 1)


def test_store_failures_writes_the_failing_rows(validator: Validator, con: Any) -> None:
    exps = [
        column_exp("id", "not_null"),
        column_exp("status", "accepted_values: {values: [placed, shipped], severity: warn}"),
        column_exp("cust", "relationships: {to: customers, field: customer_id}"),
        table_exp("expression: 'net <= gross'"),
        column_exp("gross", "not_null"),  # passes: no table
    ]
    results = run(validator, "bad", *exps, store_failures=True, audit_schema="audit_x")
    tables = [r.failures_table for r in results]
    assert tables == [
        '"audit_x"."bad__not_null_id"',
        '"audit_x"."bad__accepted_values_status"',
        '"audit_x"."bad__relationships_cust"',
        '"audit_x"."bad__expression_net_gross"',
        None,
    ]
    assert con.execute(f"select cust, amount from {tables[0]}").fetchall() == [(None, 7)]
    assert sorted(con.execute(f"select id, status from {tables[1]}").fetchall()) == [
        (1, "lost"),
        (2, "lost"),
    ]
    assert con.execute(f"select * from {tables[2]}").fetchall() == [("c9",)]
    assert con.execute(f"select id, gross, net from {tables[3]}").fetchall() == [(1, 3, 4)]
    assert "failing rows in" in format_result("bad", results[0])
    # A rerun replaces the tables.
    run(validator, "bad", *exps, store_failures=True, audit_schema="audit_x")
    assert con.execute(f"select count(*) from {tables[1]}").fetchone() == (2,)


@pytest.mark.parametrize(("spec", "count", "sample"), CASES)
def test_plain_sql_agrees_with_gx(
    gx_validator: Validator, con: Any, spec: tuple[str | None, str], count: int | None, sample: Any
) -> None:
    exp = declared(spec)
    if exp.type == "gx":
        with pytest.raises(ValueError, match="no plain SQL"):
            expectation_sql(exp, RELATIONS["bad"], resolve, as_of=AS_OF)
        return
    for table in ("good", "bad"):
        [result] = run(gx_validator, table, exp)
        expected = result.failing_count
        if expected is None:  # aggregate checks count 1 when violated
            expected = 0 if result.status == PASS else 1
        query = expectation_sql(exp, RELATIONS[table], resolve, as_of=AS_OF)
        assert con.execute(query).fetchone()[0] == expected, query
        rows = failing_rows_sql(exp, RELATIONS[table], resolve, as_of=AS_OF)
        assert len(con.execute(rows).fetchall()) == expected
        predicate = row_predicate(exp, RELATIONS[table], resolve, as_of=AS_OF)
        if predicate is not None:  # the one-scan form SqlValidator uses
            counted = f"select count(*) filter (where {predicate}) from {RELATIONS[table]}"
            assert con.execute(counted).fetchone()[0] == expected, counted


def test_two_threads_validating_at_once(validator: Validator, con: Any) -> None:
    con.execute(
        "create or replace table marts.t1 as "
        "select range as id, nullif(range % 3, 0) as v from range(3000);"
        "create or replace table marts.t2 as select range % 500 as id, range as v from range(2000);"
    )
    RELATIONS.update(t1='"marts"."t1"', t2='"marts"."t2"')
    exps = {
        "t1": [table_exp("not_null: {column: v}", None), table_exp("unique: {column: id}", None)],
        "t2": [table_exp("not_null: {column: v}", None), table_exp("unique: {column: id}", None)],
    }
    expected = {"t1": [1000, 0], "t2": [0, 2000]}
    failures: list[Any] = []

    def work(table: str) -> None:
        for _ in range(4):
            got = [r.failing_count for r in run(validator, table, *exps[table])]
            if got != expected[table]:
                failures.append((table, got))

    threads = [threading.Thread(target=work, args=(t,)) for t in ("t1", "t2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_sources_are_validated_too(validator: Validator, con: Any) -> None:
    text = textwrap.dedent(
        """\
        sources:
          - name: shop
            tables:
              - name: orders
                expectations:
                  - row_count_between: {min: 5}
                columns:
                  - name: id
                    expectations: [unique]
        """
    )
    table = load_yaml(text, "models/sources.yml")["sources"][0]["tables"][0]
    source = Source(
        unique_id="source.shop.orders",
        name="orders",
        path=PurePosixPath("models/sources.yml"),
        fqn=("shop", "shop", "orders"),
        relation=Relation("marts", "bad"),
        columns=(Column("id", expectations=tuple(table["columns"][0]["expectations"]), line=9),),
        expectations=tuple(table["expectations"]),
        yaml_path=PurePosixPath("models/sources.yml"),
        line=3,
        source_name="shop",
        identifier="bad",
    )
    exps = parse_expectations(source, COLUMNS)
    assert [(e.name, e.line, e.path) for e in exps] == [
        ("row_count_between", 6, "models/sources.yml"),
        ("unique(id)", 9, "models/sources.yml"),
    ]
    results = validator.validate(source.unique_id, RELATIONS["bad"], exps)
    assert [r.status for r in results] == [FAIL, FAIL]
    assert results[1].failures_table is None


def test_declarations_gx_sees_as_one_expectation_each_get_a_result(validator: Validator) -> None:
    results = run(
        validator,
        "bad",
        column_exp("id", "unique"),
        table_exp("compound_unique: {columns: [id]}"),  # the same GX expectation
        column_exp("id", "{unique: {error_if: '>5'}}"),
    )
    assert [(r.status, r.failing_count) for r in results] == [(FAIL, 2), (FAIL, 2), (WARN, 2)]


def test_a_gx_declaration_gx_rejects_is_an_error_naming_the_declaration(
    validator: Validator,
) -> None:
    results = run(
        validator,
        "bad",
        table_exp("gx: {type: ExpectColumnValuesToBeInSet, kwargs: {column: status}}"),
        table_exp("gx: {type: ExpectNothingInParticular}"),
        table_exp("gx: {type: ExpectTableColumnCountToEqual, kwargs: {value: 8}}"),
    )
    assert [r.status for r in results] == [ERROR, ERROR, PASS]
    assert results[0].message.startswith(f"{YAML_PATH}:4: invalid gx ExpectColumnValuesToBeInSet")
    assert "value_set" in results[0].message
    assert "unknown GX expectation 'ExpectNothingInParticular'" in results[1].message
    assert results[2].failing_count is None  # not a row check: no count


# ---------------------------------------------------------------------------- declarations


def test_declarations_are_normalised_and_named() -> None:
    model = node(
        """\
        models:
          - name: bad
            expectations:
              - expression: "net <= gross"
                severity: warn
              - expression: "net <= gross"
              - compound_unique: {columns: [ID, line]}
              - between: {column: amount, min: 0, config: {mostly: 0.9}}
            columns:
              - name: id
                expectations: [not_null, unique]
              - name: cust
                expectations:
                  - relationships: {to: customers}
                  - {accepted_values: {values: [c1]}, error_if: ">2", warn_if: "!=0"}
        """
    )
    exps = parse_expectations(model, COLUMNS)
    assert [e.name for e in exps] == [
        "expression(net <= gross)",
        "expression(net <= gross)#2",
        "compound_unique(id, line)",
        "between(amount)",
        "not_null(id)",
        "unique(id)",
        "relationships(cust)",
        "accepted_values(cust)",
    ]
    first, _, compound, between, not_null, _, rel, accepted = exps
    assert (first.severity, first.line, first.column, first.path) == ("warn", 4, None, YAML_PATH)
    assert compound.arguments == {"columns": ["id", "line"]}  # spelled as in the table
    assert (between.mostly, between.column, between.line) == (0.9, "amount", 8)
    assert (not_null.arguments, not_null.line) == ({"column": "id"}, 10)
    assert rel.arguments == {"column": "cust", "to": "customers", "field": "cust"}
    assert rel.references == ("customers",)
    assert (accepted.error_if, accepted.warn_if, accepted.line) == (">2", "!=0", 15)
    assert exps[1].slug == "expression_net_gross_2"
    assert table_exp(
        "sql: 'select * from {this} join {ref:customers} using (cust)'"
    ).references == ("customers",)
    assert first.to_json()["arguments"] == {"expression": "net <= gross"}


BAD_DECLARATIONS = [
    pytest.param(
        "expectations:\n      - not_nul: {column: id}",
        4,
        "unknown expectation type 'not_nul'",
        "did you mean 'not_null'?",
        id="unknown type",
    ),
    pytest.param(
        "expectations:\n      - between:\n          column: amount\n          maximum: 3",
        6,
        "unknown argument 'maximum'",
        "did you mean 'max'?",
        id="unknown argument",
    ),
    pytest.param(
        "expectations:\n      - accepted_values: {column: status}",
        4,
        "missing argument 'values'",
        "accepted_values: {column: ..., values: ...}",
        id="missing argument",
    ),
    pytest.param(
        "expectations:\n      - between: {column: amount}",
        4,
        "give at least one of min or max",
        None,
        id="between without bounds",
    ),
    pytest.param(
        "expectations:\n      - not_null:\n          column: amont",
        5,
        "column 'amont' does not exist",
        "did you mean 'amount'?",
        id="unknown column",
    ),
    pytest.param(
        "columns:\n      - name: nope\n        expectations: [not_null]",
        4,
        "column 'nope' does not exist",
        None,
        id="unknown column (column level)",
    ),
    pytest.param(
        "expectations:\n      - compound_unique: {columns: [id, nope]}",
        4,
        "column 'nope' does not exist",
        None,
        id="unknown column in a list",
    ),
    pytest.param(
        "expectations:\n      - expression: 'a > b'\n        severity: fatal",
        5,
        "severity must be error or warn, not 'fatal'",
        None,
        id="bad severity",
    ),
    pytest.param(
        "expectations:\n      - expression: 'a > b'\n        error_if: 'lots'",
        5,
        "error_if must be a comparison",
        None,
        id="bad threshold",
    ),
    pytest.param(
        "expectations:\n      - row_count_between: {min: 1, mostly: 0.5}",
        4,
        "'mostly' does not apply to 'row_count_between'",
        None,
        id="mostly on an aggregate",
    ),
    pytest.param(
        "expectations:\n      - between: {column: amount, min: 0, mostly: 1.5}",
        4,
        "mostly must be a fraction",
        None,
        id="mostly out of range",
    ),
    pytest.param(
        "expectations:\n      - between: {column: amount, min: 0, mostly: 0.5, error_if: '>1'}",
        4,
        "use either mostly or error_if/warn_if",
        None,
        id="mostly and thresholds",
    ),
    pytest.param(
        "columns:\n      - name: id\n        expectations:\n          - not_null: {column: id}",
        6,
        "'column' is implied by the column",
        None,
        id="column given twice",
    ),
    pytest.param(
        "expectations:\n      - not_null: {column: id}\n        unique: {column: id}",
        4,
        "each expectation is one type",
        None,
        id="two types in one item",
    ),
    pytest.param(
        "expectations:\n      - recency: {column: ts, days: soon}",
        4,
        "'days' must be a non-negative number",
        None,
        id="bad days",
    ),
    pytest.param(
        "expectations:\n      - gx: {type: expect_things}",
        4,
        "'type' must name a GX expectation class",
        None,
        id="bad gx type",
    ),
    pytest.param(
        "expectations:\n      - accepted_values: {column: status, values: []}",
        4,
        "'values' must be a non-empty list",
        None,
        id="empty values",
    ),
    pytest.param(
        "expectations:\n      - 42",
        None,
        "cannot read 42 as an expectation",
        None,
        id="not a declaration",
    ),
    pytest.param(
        "expectations:\n      - sql: 'select * from {this} where {changed:id}'",
        4,
        "this check names no changed_key",
        "add changed_key",
        id="changed placeholder without changed_key",
    ),
    pytest.param(
        "expectations:\n      - expression: 'id > 0 and {changed:id}'",
        4,
        "{changed:...} is for sql checks with changed_key",
        None,
        id="changed placeholder in an expression",
    ),
]


@pytest.mark.parametrize(("body", "line", "message", "hint"), BAD_DECLARATIONS)
def test_bad_declarations_name_file_and_line(
    body: str, line: int | None, message: str, hint: str | None
) -> None:
    model = node(f"models:\n  - name: bad\n    {body}\n")
    with pytest.raises(ProjectError) as raised:
        parse_expectations(model, COLUMNS)
    error = raised.value
    assert str(error.path) == YAML_PATH
    assert error.line == line
    assert message in error.message
    if hint:
        assert hint in (error.hint or "")
    assert error.exit_code == 2


def test_a_gx_declaration_on_a_column_checks_that_column(validator: Validator) -> None:
    exp = column_exp(
        "status", "gx: {type: ExpectColumnValuesToNotBeInSet, kwargs: {value_set: [lost]}}"
    )
    assert exp.arguments["kwargs"] == {"value_set": ["lost"], "column": "status"}
    assert exp.name == "gx.ExpectColumnValuesToNotBeInSet(status)"
    [result] = run(validator, "bad", exp)
    assert (result.status, result.failing_count) == (FAIL, 2)


def test_expression_may_read_this_relation(validator: Validator) -> None:
    exp = table_exp("expression: 'amount <= (select avg(amount) * 2 from {this})'")
    [result] = run(validator, "bad", exp)
    assert (result.status, result.failing_count) == (FAIL, 1)  # 200 > 2 x 53
    assert [row["amount"] for row in result.sample] == [200]
    line = format_result("bad", result)
    assert line.startswith("FAIL  bad: expression(amount <= (select avg(amount) * 2 from {this}))")
    assert "1 row failing (25.00%)" in line


def test_columns_are_only_checked_when_known() -> None:
    exps = parse_expectations(
        node(
            "models:\n  - name: x\n    columns:\n      - name: nope\n"
            "        expectations: [not_null]\n"
        ),
        None,
    )
    assert exps[0].arguments == {"column": "nope"}


# ---------------------------------------------------------------------------- verdicts


def _result(status: str, name: str = "x", count: int | None = 1) -> ExpectationResult:
    exp = Expectation(node="model.m", column=None, type="expression", arguments={}, name=name)
    return ExpectationResult(exp, status, failing_count=count)


def test_verdict() -> None:
    assert verdict([]) == ("success", "")
    assert verdict([_result(PASS)]) == ("success", "1 expectation passed")
    assert verdict([_result(PASS), _result(PASS)]) == ("success", "2 expectations passed")
    assert verdict([_result(PASS), _result(WARN, "w")]) == ("warn", "1 warning: w (1 row)")
    status, message = verdict([_result(FAIL, "f", 3), _result(ERROR, "e", None), _result(WARN)])
    assert status == "error"
    assert message == "2 expectations failed: f (3 rows), e (could not run); 1 warning: x (1 row)"
    assert verdict([_result(WARN, "w")], warn_error=True) == (
        "error",
        "1 expectation failed: w (1 row)",
    )


@pytest.mark.parametrize(
    ("spec", "count", "holds"),
    [(">10", 11, True), (">10", 10, False), ("!=0", 0, False), ("= 0", 0, True), ("<=2", 2, True)],
)
def test_thresholds(spec: str, count: int, holds: bool) -> None:
    assert threshold_holds(spec, count) is holds


def test_start_import_in_background_is_idempotent() -> None:
    start_import_in_background()
    start_import_in_background()
    import runner.quality.gx_run as gx_run

    assert gx_run._import_thread is not None
    gx_run._import_thread.join()
    assert gx_run._import_error is None


def test_the_changed_placeholder_keeps_a_scoped_reconciliation_to_the_written_keys() -> None:
    # how many customers the check's own query reads, reported under the key c2
    exp = table_exp(
        "sql: {sql: 'select ''c2'' as cust, count(*) as n from {ref:customers} "
        "where {changed:customer_id}', changed_key: cust}"
    )
    resolve = {"customers": '"marts"."customers"'}.__getitem__
    whole = failing_rows_sql(exp, '"marts"."good"', resolve)
    assert "where true" in whole.lower() and "{changed" not in whole
    con = duckdb.connect()
    con.execute(TABLES)
    assert con.execute(whole).fetchall() == [("c2", 2)]  # c1 and c2: every key
    # an incremental run that wrote the rows of c2 only: the query reads c2's customer
    keyed = failing_rows_sql(exp, "select 'c2' as cust", resolve)
    assert '(customer_id) in (select "cust" from runner_this)' in keyed
    assert con.execute(keyed).fetchall() == [("c2", 1)]
