"""Whole-warehouse properties: incremental equals full refresh, and builds are deterministic."""

from __future__ import annotations

import copy

import pytest
from test_warehouse_facts import TABLES
from warehouse import build_warehouse

pytestmark = pytest.mark.slow  # several full builds of the warehouse

BUILT_SCHEMAS = ("facts", "marts")


def snapshot(con) -> dict[str, list[tuple]]:
    """Every table of the facts and marts schemas, rows sorted."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('facts', 'marts') and table_type = 'BASE TABLE' order by all"
    ).fetchall()
    return {
        f"{schema}.{name}": con.execute(
            f'select * from "{schema}"."{name}" order by all'
        ).fetchall()
        for schema, name in tables
    }


def later_data() -> dict[str, list[dict]]:
    """The next night's landing: a new order, an old order returned (re-sent with a later
    updated_at, plus its refund), and a late complaint about another old order."""
    tables = copy.deepcopy(TABLES)
    tables["orders"] += [
        {
            "order_id": "o6",
            "customer_id": "c3",
            "ordered_at": "2024-03-25 10:00:00",
            "channel": "organic",
            "status": "placed",
            "updated_at": "2024-03-25 10:00:00",
        },
        {
            "order_id": "o4",
            "customer_id": "c2",
            "ordered_at": "2024-01-15 08:00:00",
            "channel": "email",
            "status": "returned",
            "promised_at": "2024-01-20 00:00:00",
            "delivered_at": "2024-01-18 00:00:00",
            "updated_at": "2024-03-26 00:00:00",
        },
    ]
    tables["order_items"] = [
        *tables["order_items"],
        {
            "order_id": "o6",
            "line_number": 1,
            "product_id": "p1",
            "quantity": 1,
            "unit_price": "10.50",
            "discount": "0",
        },
    ]
    tables["returns"] = [
        *tables["returns"],
        {
            "return_id": "r2",
            "order_id": "o4",
            "product_id": "p2",
            "returned_at": "2024-03-26 00:00:00",
            "refund_amount": "5.25",
            "reason": "late",
        },
    ]
    tables["feedback"] = [
        *tables["feedback"],
        {
            "feedback_id": "f3",
            "customer_id": "c2",
            "order_id": "o5",
            "submitted_at": "2024-03-27 00:00:00",
            "is_complaint": "true",
        },
    ]
    return tables


def test_incremental_run_equals_full_refresh(tmp_path):
    nightly = tmp_path / "nightly"
    build_warehouse(nightly, TABLES).close()
    results: dict = {}
    incremental = build_warehouse(nightly, later_data(), results=results)
    assert results["model.fct_orders"].message.startswith("incremental merge")
    fct = dict(incremental.execute("select order_id, net_revenue from facts.fct_orders").fetchall())
    from decimal import Decimal

    assert fct["o4"] == Decimal("0")  # returned in full after the first run
    assert fct["o6"] == Decimal("10.50")  # new since the first run
    has_complaint = dict(
        incremental.execute("select order_id, has_complaint from facts.fct_orders").fetchall()
    )
    assert has_complaint["o5"] is True  # complaint arrived after the first run
    full = build_warehouse(tmp_path / "full", later_data(), full_refresh=True)
    assert snapshot(incremental) == snapshot(full)


def test_two_builds_give_identical_marts(tmp_path):
    first = snapshot(build_warehouse(tmp_path / "a", TABLES))
    second = snapshot(build_warehouse(tmp_path / "b", TABLES))
    assert first == second
    assert {
        "marts.retention_cohorts",
        "marts.churn_monthly",
        "marts.clv_by_channel",
        "marts.channel_kpis_monthly",
    } <= set(first)
