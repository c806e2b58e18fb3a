"""Column lineage on hand-worked models: each expected upstream set was read off the SQL by
hand (which column of which table the value is computed from), not copied from the output."""

from __future__ import annotations

import pytest

from runner.column_lineage import project_lineage
from runner.compiler import compile_models
from runner.parser import load_project
from runner.project import load_settings, load_target
from runner.sql.lineage import LineageError, UpstreamColumn, column_lineage

SCHEMA = {
    "staging.orders": ["order_id", "customer_id", "amount", "status"],
    "staging.customers": ["customer_id", "segment", "credit"],
}


def ups(*pairs: str) -> tuple[UpstreamColumn, ...]:
    return tuple(sorted(UpstreamColumn(*p.rsplit(".", 1)) for p in pairs))


def test_renamed_column_is_one_upstream_column_under_another_name():
    found = column_lineage('select order_id as id, amount from "staging"."orders"', SCHEMA)
    assert found["id"].upstream == ups("staging.orders.order_id")
    assert found["id"].transform == "renamed"
    assert found["amount"].upstream == ups("staging.orders.amount")
    assert found["amount"].transform == "identity"


def test_aggregate_over_a_join_names_both_sides_it_uses():
    sql = """
        select c.segment, sum(o.amount) as revenue, count(*) as orders,
               sum(o.amount) / count(distinct c.customer_id) as per_customer
        from "staging"."orders" o
        join "staging"."customers" c on c.customer_id = o.customer_id
        group by c.segment
    """
    found = column_lineage(sql, SCHEMA)
    assert found["segment"].upstream == ups("staging.customers.segment")
    assert found["revenue"].upstream == ups("staging.orders.amount")
    assert found["revenue"].transform == "derived"
    # count(*) reads no column: no upstream column (its rows come from the join)
    assert found["orders"].upstream == ()
    assert found["per_customer"].upstream == ups(
        "staging.orders.amount", "staging.customers.customer_id"
    )


def test_star_through_two_ctes_reaches_the_table():
    sql = """
        with a as (select * from "staging"."customers"),
             b as (select * from a)
        select * from b
    """
    found = column_lineage(sql, SCHEMA)
    assert list(found) == ["customer_id", "segment", "credit"]
    assert found["credit"].upstream == ups("staging.customers.credit")
    assert found["credit"].transform == "identity"
    assert found["credit"].via == ("b", "a")


def test_case_over_two_sources_depends_on_every_branch_and_the_condition():
    sql = """
        select case when o.status = 'gift' then c.credit else o.amount end as charged
        from "staging"."orders" o
        left join "staging"."customers" c using (customer_id)
    """
    found = column_lineage(sql, SCHEMA)
    assert found["charged"].upstream == ups(
        "staging.orders.status", "staging.customers.credit", "staging.orders.amount"
    )
    assert found["charged"].transform == "derived"


def test_star_over_unknown_columns_is_an_error_not_a_guess():
    with pytest.raises(LineageError, match="unknown columns"):
        column_lineage('select * from "staging"."unknown"', SCHEMA)


# --- a whole project: refs, ephemeral models, stars two models up ---------------------------

PROJECT = {
    "models/sources.yml": """\
        sources:
          - name: shop
            schema: raw
            tables:
              - name: orders
                columns: [{name: order_id}, {name: customer_id}, {name: amount}, {name: status}]
              - name: customers
                columns: [{name: id}, {name: segment}, {name: credit}]
        """,
    "models/staging/stg_orders.sql": """\
        select order_id, customer_id, amount / 100.0 as amount, status
        from {{ source('shop', 'orders') }}
        """,
    "models/staging/stg_customers.sql": """\
        select id as customer_id, segment, credit from {{ source('shop', 'customers') }}
        """,
    "models/staging/int_orders.sql": """\
        {{ config(materialized='ephemeral') }}
        select * from {{ ref('stg_orders') }} where status <> 'test'
        """,
    "models/marts/orders_wide.sql": """\
        select o.*, c.segment
        from {{ ref('int_orders') }} o join {{ ref('stg_customers') }} c using (customer_id)
        """,
    "models/marts/orders_copy.sql": """\
        select * from {{ ref('orders_wide') }}
        """,
    "models/marts/segment_revenue.sql": """\
        select segment, sum(case when status = 'gift' then 0 else amount end) as revenue
        from {{ ref('orders_copy') }}
        group by segment
        """,
}


@pytest.fixture
def lineage(make_project):
    root = make_project(PROJECT)
    settings = load_settings(root)
    project = load_project(settings, load_target(settings, None, None), {}, use_cache=False)
    return project_lineage(project, compile_models(project, write=False))["models"]


def upstream(entry: dict) -> set[tuple[str, str]]:
    return {(u["node"], u["column"]) for u in entry["upstream"]}


def test_project_lineage_maps_tables_to_nodes_and_crosses_ephemeral_models(lineage):
    assert lineage["model.stg_customers"]["columns"]["customer_id"]["transform"] == "renamed"
    assert upstream(lineage["model.stg_customers"]["columns"]["customer_id"]) == {
        ("source.shop.customers", "id")
    }
    wide = lineage["model.orders_wide"]["columns"]
    # o.* from an ephemeral model: the columns come from what the ephemeral reads
    assert upstream(wide["amount"]) == {("model.stg_orders", "amount")}
    assert wide["amount"]["through"] == ["model.int_orders"]
    assert upstream(wide["segment"]) == {("model.stg_customers", "segment")}
    assert wide["segment"]["through"] == []


def test_project_lineage_star_two_models_up_and_case(lineage):
    copy = lineage["model.orders_copy"]["columns"]
    assert set(copy) == {"order_id", "customer_id", "amount", "status", "segment"}
    assert upstream(copy["segment"]) == {("model.orders_wide", "segment")}
    revenue = lineage["model.segment_revenue"]["columns"]["revenue"]
    assert upstream(revenue) == {("model.orders_copy", "status"), ("model.orders_copy", "amount")}
    assert revenue["transform"] == "derived"
    # following the edges model by model reaches the raw column the amount started from
    step = ("model.orders_copy", "amount")
    path = [step]
    while step[0].startswith("model."):
        (step,) = upstream(lineage[step[0]]["columns"][step[1]])
        path.append(step)
    assert path == [
        ("model.orders_copy", "amount"),
        ("model.orders_wide", "amount"),
        ("model.stg_orders", "amount"),
        ("source.shop.orders", "amount"),
    ]


def test_lineage_cache_survives_a_compile_so_docs_after_a_build_stay_warm(
    make_project, run_cli, monkeypatch
):
    import json

    import runner.column_lineage as column_lineage

    root = make_project(PROJECT)
    assert run_cli("docs", "generate", "--project-dir", root).exit_code == 0
    first = json.loads((root / "target" / "lineage.json").read_text())["models"]
    # a compile (or build) uses the cache too, and prunes only the kinds of entries it used
    assert run_cli("compile", "--project-dir", root).exit_code == 0

    def no_sqlglot(job):
        raise AssertionError("column lineage recomputed instead of read from the cache")

    monkeypatch.setattr(column_lineage, "_analyse", no_sqlglot)
    result = run_cli("docs", "generate", "--project-dir", root)
    assert result.exit_code == 0, result.output
    assert json.loads((root / "target" / "lineage.json").read_text())["models"] == first
