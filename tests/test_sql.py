"""runner.sql: validation, tables read, output columns, error line mapping."""

from __future__ import annotations

from pathlib import PurePosixPath

import duckdb
import jinja2
import pytest

from runner.errors import ProjectError
from runner.nodes import Relation
from runner.sql import SqlFacts, analyze, ddl, map_line, statements, table_key

PATH = PurePosixPath("models/marts/m.sql")

SCHEMA = {
    "staging.orders": ["order_id", "customer_id", "Amount"],
    "staging.customers": ["customer_id", "name"],
    "raw.jaffle.payments": ["payment_id", "order_id"],
}


def facts(sql: str, schema: dict[str, list[str]] | None = None) -> SqlFacts:
    return analyze(sql, path=PATH, source_text=sql, schema=schema)


def tables(sql: str) -> tuple[str, ...]:
    return facts(sql).tables


def columns(sql: str, schema: dict[str, list[str]] | None = SCHEMA) -> tuple[str, ...] | None:
    return facts(sql, schema).columns


def error(compiled: str, source: str | None = None) -> ProjectError:
    with pytest.raises(ProjectError) as info:
        analyze(compiled, path=PATH, source_text=compiled if source is None else source)
    return info.value


def render(source: str) -> str:
    return jinja2.Environment().from_string(source).render()


# ------------------------------------------------------------------------- table_key


def test_table_key_lowercases_and_skips_none() -> None:
    assert table_key("Staging", "Orders") == "staging.orders"
    assert table_key(None, "s", "T") == "s.t"
    assert table_key("Cat", "S", "t") == "cat.s.t"
    assert table_key("orders") == "orders"


# ---------------------------------------------------------------------------- tables


def test_tables_of_joins_normalised_sorted_unique() -> None:
    sql = """
        select o.order_id, c.name
        from "Staging"."Orders" as o
        join staging.customers c on c.customer_id = o.customer_id
        left join "staging"."orders" o2 on o2.order_id = o.order_id
        cross join "Raw"."Jaffle"."Payments"
    """
    assert tables(sql) == ("raw.jaffle.payments", "staging.customers", "staging.orders")


def test_tables_in_subqueries_and_correlated_subqueries() -> None:
    sql = """
        select
            t.id,
            (select max(x) from s.scalar_src where scalar_src.id = t.id) as mx
        from (select * from s.inner_src) as t
        where exists (select 1 from s.exists_src e where e.id = t.id)
          and t.id in (select id from s.in_src)
    """
    assert tables(sql) == ("s.exists_src", "s.in_src", "s.inner_src", "s.scalar_src")


def test_tables_of_set_operations() -> None:
    sql = "select a from s.x union all select a from s.y except select a from s.z"
    assert tables(sql) == ("s.x", "s.y", "s.z")


def test_unqualified_table_is_bare_name() -> None:
    assert tables("select * from Orders") == ("orders",)


def test_ctes_are_not_tables() -> None:
    sql = """
        with base as (select * from staging.orders),
        agg as (select customer_id, count(*) as n from base group by 1)
        select * from agg join staging.customers using (customer_id)
    """
    assert tables(sql) == ("staging.customers", "staging.orders")


def test_cte_referenced_from_a_subquery_is_not_a_table() -> None:
    sql = """
        with recent as (select order_id from staging.orders)
        select * from staging.customers
        where customer_id in (select customer_id from recent)
          and exists (select 1 from (select * from Recent) r)
    """
    assert tables(sql) == ("staging.customers", "staging.orders")


def test_cte_shadows_a_real_table_only_where_visible() -> None:
    sql = """
        select *
        from (
            with orders as (select 1 as order_id)
            select * from orders
        ) as inner_q
        join orders using (order_id)
    """
    # the CTE named "orders" hides the table inside the subquery only: the join reads the table
    assert tables(sql) == ("orders",)
    # a schema-qualified name never refers to a CTE
    assert tables("with orders as (select 1 as a) select * from staging.orders, orders") == (
        "staging.orders",
    )


def test_cte_is_visible_only_after_its_definition() -> None:
    sql = "with a as (select * from b), b as (select * from a) select * from b"
    # in "a", "b" is not defined yet: it is the real table b
    assert tables(sql) == ("b",)


def test_recursive_cte_sees_itself() -> None:
    sql = """
        with recursive r as (select 1 as n union all select n + 1 from r where n < 3)
        select * from r
    """
    assert tables(sql) == ()


def test_table_functions_and_file_scans_are_skipped() -> None:
    sql = """
        select * from read_csv('seeds/x.csv') as x
        join range(10) as r on true
        join 'data/y.parquet' as y on true
        join glob('*.csv') as g on true
        join unnest([1, 2]) as u(v) on true
        join s."quoted.name" on true
    """
    assert tables(sql) == ("s.quoted.name",)


# ---------------------------------------------------------------------------- columns


def test_columns_from_aliases_and_column_refs_keep_written_case() -> None:
    sql = """
        select o.order_id, Customer_ID, amount * 2 as "Double Amount", count(*) over () AS n
        from staging.orders o
    """
    assert columns(sql, None) == ("order_id", "Customer_ID", "Double Amount", "n")


def test_unnamed_expression_makes_columns_unknown() -> None:
    assert columns("select 1 + 1") is None
    assert columns("select order_id, amount::int from staging.orders") is None
    assert columns("select 'x' as a, count(*) from staging.orders") is None


def test_set_operation_takes_leftmost_names() -> None:
    sql = "(select a as x, b from s.t) union all select c, d from s.u order by 1"
    assert columns(sql) == ("x", "b")


def test_union_by_name_adds_right_only_columns() -> None:
    assert columns("select a, b from s.t union all by name select c, A from s.u") == (
        "a",
        "b",
        "c",
    )


def test_duplicate_names_are_renamed_like_duckdb() -> None:
    assert columns("select 1 as a, 2 as A, 3 as a, 4 as a_1") == ("a", "A_1", "a_2", "a_1_1")


def test_star_from_known_upstream() -> None:
    assert columns('select * from "staging"."orders"', {"staging.orders": ["a", "b"]}) == (
        "a",
        "b",
    )
    assert columns("from staging.orders") == ("order_id", "customer_id", "Amount")


def test_star_schema_keys_match_case_insensitively() -> None:
    assert columns('select * from "Staging"."Orders"', {"Staging.Orders": ["a"]}) == ("a",)


def test_star_exclude_replace_rename() -> None:
    assert columns("select * exclude (amount) from staging.orders") == (
        "order_id",
        "customer_id",
    )
    assert columns("select * replace (amount * 100 as amount) from staging.orders") == (
        "order_id",
        "customer_id",
        "Amount",
    )
    assert columns("select * rename (order_id as id) from staging.orders") == (
        "id",
        "customer_id",
        "Amount",
    )


def test_qualified_star_and_join_using() -> None:
    sql = """
        select c.*, o.order_id
        from staging.orders o join staging.customers c using (customer_id)
    """
    assert columns(sql) == ("customer_id", "name", "order_id")
    sql = "select * from staging.orders join staging.customers using (customer_id)"
    assert columns(sql) == ("order_id", "customer_id", "Amount", "name")


def test_star_through_ctes_and_subqueries() -> None:
    sql = """
        with o as (select * exclude (Amount) from staging.orders),
        c (cid, nm) as (select * from staging.customers)
        select * from (select o.*, 1 as one from o) as x, c
    """
    assert columns(sql) == ("order_id", "customer_id", "one", "cid", "nm")


def test_cte_shadowing_a_table_is_used_for_star() -> None:
    sql = "with orders as (select 1 as z) select * from orders"
    assert columns(sql, {"orders": ["a", "b"]}) == ("z",)


def test_star_with_unknown_upstream_is_none() -> None:
    assert columns("select * from staging.unknown") is None
    assert columns("select o.*, u.* from staging.orders o, staging.unknown u") is None
    assert columns("select * from staging.orders", None) is None
    assert columns("with c as (select * from s.nope) select * from c") is None


def test_star_over_things_without_known_columns_is_none() -> None:
    assert columns("select * from read_csv('x.csv')") is None
    assert columns("select columns('order_.*') from staging.orders") is None
    assert columns("select * like 'order%' from staging.orders") is None
    assert columns("select s.* from staging.orders") is None  # struct expansion
    assert columns("select * from staging.orders pivot (sum(Amount) for x in (1))") is None


def test_aliased_column_next_to_unknown_star_is_still_none() -> None:
    assert columns("select 1 as a, * from staging.unknown") is None


def test_recursive_cte_columns() -> None:
    sql = "with recursive r as (select 1 as n union all select n + 1 from r) select * from r"
    assert columns(sql) == ("n",)


def test_values_columns() -> None:
    assert columns("select * from (values (1, 2)) v(p)") == ("p", "col1")


# Each query runs in DuckDB too: the resolved names must be the ones DuckDB stores for a view.
DUCKDB_CASES = [
    ("select * from staging.orders", ("order_id", "customer_id", "Amount")),
    (
        "select * from staging.orders o join staging.customers c on o.customer_id = c.customer_id",
        ("order_id", "customer_id", "Amount", "customer_id_1", "name"),
    ),
    (
        "select * from staging.orders natural join staging.customers",
        ("order_id", "customer_id", "Amount", "name"),
    ),
    (
        "select * from staging.customers semi join staging.orders using (customer_id)",
        ("customer_id", "name"),
    ),
    (
        "select * exclude (o.customer_id) from staging.orders o, staging.customers c",
        ("order_id", "Amount", "customer_id", "name"),
    ),
    (
        "with x as (select 1 as a, 2 as A) select *, 3 as b from x",
        ("a", "A_1", "b"),
    ),
    (
        "select * from staging.orders as t(id)",
        ("id", "customer_id", "Amount"),
    ),
    (
        "select * from (select customer_id as k from staging.orders union all "
        "select customer_id from staging.customers) as u",
        ("k",),
    ),
]


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema staging")
    con.execute('create table staging.orders (order_id int, customer_id int, "Amount" int)')
    con.execute("create table staging.customers (customer_id int, name varchar)")
    return con


@pytest.mark.parametrize(("sql", "expected"), DUCKDB_CASES)
def test_star_resolution_agrees_with_duckdb(
    duck: duckdb.DuckDBPyConnection, sql: str, expected: tuple[str, ...]
) -> None:
    assert columns(sql) == expected
    duck.execute(f"create or replace view v as {sql}")
    assert tuple(d[0] for d in duck.execute("select * from v").description) == expected


# ------------------------------------------------------------------------ validation


def test_trailing_semicolon_and_comments_are_fine() -> None:
    assert facts("select 1 as a;\n-- the end\n") == SqlFacts(tables=(), columns=("a",))


def test_syntax_error_maps_exactly_when_layout_unchanged() -> None:
    source = "select\n    id,\n    amount\nfrom {{ ref('orders') }}\nwher amount > 0\n"
    compiled = source.replace("{{ ref('orders') }}", '"staging"."orders"')
    e = error(compiled, source)
    assert e.path == PurePosixPath(PATH)
    assert e.line == 5
    assert e.message == "SQL syntax error: Invalid expression / Unexpected token near 'wher amount'"
    assert e.hint == "fix the SQL at line 5 (compiled SQL line 5 col 11)"


def test_syntax_error_after_a_loop_maps_exactly() -> None:
    source = (
        "select\n"
        "    id,\n"
        '    {% for c in ["a", "b", "c"] %}\n'
        "    sum({{ c }}) as {{ c }}_total,\n"
        "    {% endfor %}\n"
        "    count(*) as n\n"
        "from t\n"
        "where x = = 1\n"
    )
    e = error(render(source), source)
    assert e.line == 8
    assert e.hint == "fix the SQL at line 8 (compiled SQL line 12 col 11)"


def test_syntax_error_inside_expanded_loop_is_approximate() -> None:
    source = (
        "select\n"
        "    id,\n"
        '    {% for c in ["a", "b", "c d"] %}\n'
        "    sum({{ c }}) as {{ c }}_total,\n"
        "    {% endfor %}\n"
        "    count(*) as n\n"
        "from t\n"
    )
    compiled = render(source)
    assert compiled.splitlines()[7] == "    sum(c d) as c d_total,"
    e = error(compiled, source)
    assert e.line == 4  # the loop body, not the {% endfor %} at the same position
    assert e.message == "SQL syntax error: Expecting ) near 'sum(c d'"
    assert e.hint == (
        "line is approximate: Jinja changed the layout of this model; "
        "the compiled SQL has the error at line 8 col 11"
    )


def test_token_error_unterminated_string() -> None:
    e = error("select\n    id,\n    'oops\nfrom t\n")
    assert e.message == "SQL syntax error: unterminated string literal near ''oops from t'"
    assert e.line == 3
    assert e.hint == "fix the SQL at line 3 (compiled SQL line 3 col 5)"


def test_token_error_unterminated_identifier_and_comment() -> None:
    assert error('select\n  "oops\nfrom t').message.startswith(
        "SQL syntax error: unterminated quoted identifier"
    )
    e = error("select 1\n/* never closed\n")
    assert e.message == "SQL syntax error: unterminated comment near '/* never closed'"
    assert e.line == 2


@pytest.mark.parametrize("sql", ["", "   \n", "-- only a comment\n", ";"])
def test_empty_model(sql: str) -> None:
    e = error(sql)
    assert e.message == "model is empty: the compiled SQL contains no statement"
    assert e.line == 1


def test_two_statements() -> None:
    e = error("select 1 as a;\n\nselect 2 as b\n")
    assert e.message == "model has 2 SQL statements; a model must be exactly one query"
    assert e.line == 3


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("create table x as select 1 as a", "a CREATE TABLE"),
        ("insert into t values (1)", "an INSERT"),
        ("\n\ndelete from t", "a DELETE"),
    ],
)
def test_non_query_statement(sql: str, found: str) -> None:
    e = error(sql)
    assert e.message == (
        f"model must be a single query (SELECT / WITH ... SELECT), found {found} statement"
    )
    assert e.line == sql.count("\n") + 1
    assert e.hint is not None and "CREATE VIEW" in e.hint


def test_unknown_dialect() -> None:
    with pytest.raises(ProjectError, match="unknown SQL dialect 'nosuch'"):
        analyze("select 1 as a", path=PATH, source_text="", dialect="nosuch")


def test_other_dialect_is_used() -> None:
    # backticks quote identifiers in BigQuery, not in DuckDB
    sql = "select `a` from `p`.`d`.`t`"
    facts_bq = analyze(sql, path=PATH, source_text=sql, dialect="bigquery")
    assert facts_bq == SqlFacts(tables=("p.d.t",), columns=("a",))
    with pytest.raises(ProjectError):
        analyze(sql, path=PATH, source_text=sql)


# -------------------------------------------------------------------------- map_line


def test_map_line_identical_text_is_exact() -> None:
    text = "select\n  a\nfrom t\n"
    assert [map_line(text, text, n) for n in (1, 2, 3)] == [(1, True), (2, True), (3, True)]


def test_map_line_same_size_substitution_is_exact() -> None:
    source = "select a\nfrom {{ ref('x') }}\nwhere b"
    compiled = 'select a\nfrom "s"."x"\nwhere b'
    assert map_line(compiled, source, 2) == (2, True)
    assert map_line(compiled, source, 3) == (3, True)


def test_map_line_if_block_is_approximate_even_with_same_size() -> None:
    source = "select a,\n{% if true %}\nb\n{% endif %}\nfrom t"
    compiled = "select a,\n\nb\n\nfrom t"
    assert map_line(compiled, source, 3) == (3, True)  # "b" itself is unchanged
    assert map_line(compiled, source, 2) == (2, False)


def test_map_line_inserted_lines_map_to_the_line_before() -> None:
    source = "select\n{{ cols() }}\nfrom t"
    compiled = "select\na,\nb,\nc\nfrom t"
    assert map_line(compiled, source, 3) == (2, False)
    assert map_line(compiled, source, 5) == (3, True)


def test_map_line_lines_only_in_compiled_sql_map_to_the_line_before() -> None:
    source = "select\n  a\nfrom t"
    compiled = "select\n  a\n  b\nfrom t"
    assert map_line(compiled, source, 3) == (2, False)
    assert map_line(compiled, source, 4) == (3, True)


def test_map_line_after_shifted_layout_is_exact() -> None:
    source = "{{ config(materialized='table') }}\n\nselect 1 as a\nfrom t"
    compiled = "\n\nselect 1 as a\nfrom t"
    assert map_line(compiled, source, 4) == (4, True)
    compiled = "select 1 as a\nfrom t"  # Jinja trimmed the leading lines
    assert map_line(compiled, source, 2) == (4, True)


# ---------------------------------------------------------------------------- parse once

TRANSPILED = """
with orders as (select * from {{ ref('stg_orders') }})
select customer_id, date_diff('month', min(ordered_at), max(ordered_at)) as months,
       list(order_id order by ordered_at) as ids
from orders group by 1
"""


def test_the_analysis_tree_is_what_spark_renders_and_is_left_as_it_was():
    from runner.sql import parse_query
    from runner.sql.transpile import to_dialect

    sql = TRANSPILED.replace("{{ ref('stg_orders') }}", '"main"."stg_orders"')
    tree = parse_query(sql, path="models/m.sql", source_text=TRANSPILED)
    before = tree.sql("duckdb")
    facts = analyze(sql, path="models/m.sql", source_text=TRANSPILED, tree=tree)
    assert facts == analyze(sql, path="models/m.sql", source_text=TRANSPILED)
    assert facts.columns == ("customer_id", "months", "ids")
    shared = to_dialect(sql, "spark", path="models/m.sql", source_text=TRANSPILED, tree=tree)
    assert shared == to_dialect(sql, "spark", path="models/m.sql", source_text=TRANSPILED)
    # the project's rewrites ran: months counted as DuckDB counts them, list() ordered
    assert "YEAR(MAX(ordered_at)) - YEAR(MIN(ordered_at))" in shared
    assert "ARRAY_SORT(" in shared
    assert tree.sql("duckdb") == before  # the rewrites worked on a copy


def test_a_spark_compile_parses_each_model_once(tmp_path, monkeypatch):
    import sqlglot

    from runner import compiler
    from runner.parser import load_project
    from runner.project import load_settings, load_target

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1 as x")
    (tmp_path / "models" / "b.sql").write_text("select x + 1 as y from {{ ref('a') }}")
    (tmp_path / "pyproject.toml").write_text('[tool.runner]\nname = "p"\nprofile = "p"\n')
    (tmp_path / "profiles.yml").write_text(
        "p:\n  target: spark\n  outputs:\n    spark:\n      type: spark\n"
        "      master: local[1]\n      path: target/spark\n"
    )
    parses = []
    real = sqlglot.parse_one
    monkeypatch.setattr(sqlglot, "parse_one", lambda *a, **k: parses.append(a) or real(*a, **k))
    import runner.sql.analysis as analysis

    real_parse = analysis._parse_single_query
    monkeypatch.setattr(
        analysis, "_parse_single_query", lambda *a, **k: parses.append(a) or real_parse(*a, **k)
    )
    settings = load_settings(tmp_path)
    project = load_project(settings, load_target(settings, None, "spark"), {}, use_cache=False)
    done = compiler.compile_models(project, write=False)
    assert {uid: n.target_sql.strip() for uid, n in done.nodes.items()} == {
        "model.a": "SELECT\n  1 AS x",
        "model.b": "SELECT\n  x + 1 AS y\nFROM `main`.`a`",
    }
    # sqlglot parses its own snippets while generating Spark SQL: count the models' SQL
    models = [
        a[0] for a in parses if a and a[0] in ("select 1 as x", 'select x + 1 as y from "main"."a"')
    ]
    assert sorted(models) == ["select 1 as x", 'select x + 1 as y from "main"."a"']


# ---------------------------------------------------------------- DDL written as text

AWKWARD = [
    Relation(schema="main", identifier="orders"),
    Relation(schema="Marts", identifier='we"ird name'),
    Relation(schema="s`x", identifier="ünïcode", database='db"1'),
    Relation(schema="a.b", identifier="select", database="cat"),
]
COLUMNS = ["id", 'qu"ote', "Mixed Case", "select"]


@pytest.mark.parametrize("relation", AWKWARD, ids=str)
def test_ddl_text_is_what_sqlglot_renders_on_duckdb(relation: Relation) -> None:
    """runner.sql.ddl writes the fixed-shape statements without sqlglot: the same text."""
    other = Relation(schema="_runner", identifier="scratch__x")
    body = "select 1 as id -- a trailing comment\n;;\n"
    pairs = [
        (lambda m: m.create_view_sql(relation, body, "duckdb")),
        (lambda m: m.create_table_sql(relation, body, "duckdb")),
        (lambda m: m.create_table_sql(relation, body, "duckdb", replace=True)),
        (lambda m: m.create_table_sql(relation, body, "duckdb", replace=True, temporary=True)),
        (lambda m: m.create_schema_sql(relation.schema, "duckdb")),
        (lambda m: m.drop_sql(relation, "view", "duckdb")),
        (lambda m: m.drop_sql(relation, "table", "duckdb")),
        (lambda m: m.select_all_sql(relation, "duckdb")),
        (lambda m: m.select_all_sql(relation, "duckdb", limit=5, order_by=COLUMNS[:2])),
        (lambda m: m.insert_sql(relation, other, COLUMNS, "duckdb")),
        (lambda m: m.delete_matching_sql(relation, other, COLUMNS[:2], "duckdb")),
        (lambda m: m.rows_replaced_sql(relation, other, COLUMNS[1:3], "duckdb")),
        (lambda m: m.rows_replaced_sql(relation, other, [], "duckdb")),
        (lambda m: m.rows_replaced_sql(relation, other, ["id"])),
        (lambda m: m.merge_sql(relation, other, ["id"], COLUMNS, "duckdb")),
        (lambda m: m.merge_sql(relation, other, COLUMNS[:2], COLUMNS[:2], "duckdb")),
    ]
    for make in pairs:
        assert make(ddl) == make(statements)
    # and DuckDB runs them: the view exists under its awkward name
    if relation.database is None:
        with duckdb.connect() as con:
            con.execute(ddl.create_schema_sql(relation.schema, "duckdb"))
            con.execute(ddl.create_view_sql(relation, body, "duckdb"))
            assert con.execute(ddl.select_all_sql(relation, "duckdb")).fetchall() == [(1,)]


def test_ddl_on_other_dialects_is_sqlglot_s() -> None:
    relation = AWKWARD[1]
    assert ddl.create_view_sql(relation, "select 1", "spark") == statements.create_view_sql(
        relation, "select 1", "spark"
    )
    assert ddl.create_view_sql(relation, "select 1", "spark").startswith(
        'CREATE OR REPLACE VIEW `Marts`.`we"ird name`'
    )
