"""Staging and customer facts on a hand-made fixture."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from warehouse import build_warehouse, rows

CUSTOMERS = [
    {
        "customer_id": "c1",
        "created_at": "2024-01-01 00:00:00",
        "region": "north",
        "country": "DE",
        "acquisition_channel": "Paid Search",
        "updated_at": "2024-01-01 00:00:00",
    },
    # re-delivered whole with a later updated_at: region changed
    {
        "customer_id": "c1",
        "created_at": "2024-01-01 00:00:00",
        "region": "south",
        "country": "DE",
        "acquisition_channel": "paid_search",
        "updated_at": "2024-02-01 00:00:00",
    },
    {
        "customer_id": "c2",
        "created_at": "2024-01-05 00:00:00",
        "region": "north",
        "country": "FR",
        "acquisition_channel": " email ",
        "referred_by_customer_id": "c1",
        "updated_at": "2024-01-05 00:00:00",
    },
    {
        "customer_id": "c3",
        "created_at": "2024-01-07 00:00:00",
        "region": "east",
        "country": "FR",
        "acquisition_channel": "organic",
        "updated_at": "2024-01-07 00:00:00",
    },
]

ORDERS = [
    # o1: placed then delivered (re-sent); the latest version wins
    {
        "order_id": "o1",
        "customer_id": "c1",
        "ordered_at": "2024-01-10 09:00:00",
        "channel": "paid search",
        "status": "placed",
        "updated_at": "2024-01-10 09:00:00",
    },
    {
        "order_id": "o1",
        "customer_id": "c1",
        "ordered_at": "2024-01-10 09:00:00",
        "channel": "paid search",
        "status": "delivered",
        "promised_at": "2024-01-12 00:00:00",
        "delivered_at": "2024-01-13 10:00:00",
        "updated_at": "2024-01-13 10:00:00",
    },
    # o2: a tie on updated_at between shipped and returned: returned wins
    {
        "order_id": "o2",
        "customer_id": "c1",
        "ordered_at": "2024-03-01 23:30:00",
        "channel": "email",
        "status": "shipped",
        "updated_at": "2024-03-05 00:00:00",
    },
    {
        "order_id": "o2",
        "customer_id": "c1",
        "ordered_at": "2024-03-01 23:30:00",
        "channel": "email",
        "status": "returned",
        "promised_at": "2024-03-04 00:00:00",
        "delivered_at": "2024-03-03 00:00:00",
        "updated_at": "2024-03-05 00:00:00",
    },
    # o3: cancelled: no revenue, but it sets the as-of date (latest ordered_at, any status)
    {
        "order_id": "o3",
        "customer_id": "c2",
        "ordered_at": "2024-03-20 12:00:00",
        "channel": "email",
        "status": "cancelled",
        "updated_at": "2024-03-20 13:00:00",
    },
    {
        "order_id": "o4",
        "customer_id": "c2",
        "ordered_at": "2024-01-15 08:00:00",
        "channel": "email",
        "status": "delivered",
        "promised_at": "2024-01-20 00:00:00",
        "delivered_at": "2024-01-18 00:00:00",
        "updated_at": "2024-01-18 00:00:00",
    },
    # o5: same day as o4: a 0-day gap
    {
        "order_id": "o5",
        "customer_id": "c2",
        "ordered_at": "2024-01-15 20:00:00",
        "channel": "email",
        "status": "delivered",
        "updated_at": "2024-01-19 00:00:00",
    },
]

ITEMS = [
    {
        "order_id": "o1",
        "line_number": 1,
        "product_id": "p1",
        "quantity": 2,
        "unit_price": "10.50",
        "discount": "1.00",
    },  # 20.00
    {
        "order_id": "o1",
        "line_number": 2,
        "product_id": "p2",
        "quantity": 1,
        "unit_price": "5.25",
        "discount": "0",
    },  # 5.25
    {
        "order_id": "o2",
        "line_number": 1,
        "product_id": "p1",
        "quantity": 3,
        "unit_price": "10.50",
        "discount": "0.50",
    },  # 31.00
    {
        "order_id": "o3",
        "line_number": 1,
        "product_id": "p2",
        "quantity": 4,
        "unit_price": "5.25",
        "discount": "0",
    },  # 21.00, cancelled
    {
        "order_id": "o4",
        "line_number": 1,
        "product_id": "p2",
        "quantity": 1,
        "unit_price": "5.25",
        "discount": "0",
    },  # 5.25
    {
        "order_id": "o5",
        "line_number": 1,
        "product_id": "p1",
        "quantity": 1,
        "unit_price": "10.50",
        "discount": "0.10",
    },  # 10.40
]

PRODUCTS = [
    {"product_id": "p1", "product_name": "Mug", "category": "kitchen", "unit_cost": "4"},
    {"product_id": "p2", "product_name": "Pen", "category": "office", "unit_cost": "1"},
]

RETURNS = [
    {
        "return_id": "r1",
        "order_id": "o2",
        "product_id": "p1",
        "returned_at": "2024-03-05 00:00:00",
        "refund_amount": "20.50",
        "reason": "broken",
    },
]

FEEDBACK = [
    {
        "feedback_id": "f1",
        "customer_id": "c1",
        "order_id": "o1",
        "submitted_at": "2024-01-14 00:00:00",
        "nps_score": 3,
        "csat_score": 2,
        "is_complaint": "true",
    },
    {
        "feedback_id": "f2",
        "customer_id": "c1",
        "order_id": "o2",
        "submitted_at": "2024-03-06 00:00:00",
        "nps_score": 9,
        "is_complaint": "false",
    },
]

TABLES = {
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "order_items": ITEMS,
    "products": PRODUCTS,
    "returns": RETURNS,
    "feedback": FEEDBACK,
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build of the fixture with the default vars, shared by the tests that read it."""
    return build_warehouse(tmp_path_factory.mktemp("facts"), TABLES)


def test_staging_dedupes_and_normalises(built):
    con = built
    customers = {
        r["customer_id"]: r for r in rows(con, "select * from staging.stg_shop__customers")
    }
    assert customers["c1"]["region"] == "south"
    assert {c: r["acquisition_channel"] for c, r in customers.items()} == {
        "c1": "paid_search",
        "c2": "email",
        "c3": "organic",
    }
    orders = {r["order_id"]: r for r in rows(con, "select * from staging.stg_shop__orders")}
    assert orders["o1"]["status"] == "delivered"
    assert orders["o2"]["status"] == "returned"
    assert orders["o1"]["channel"] == "paid_search"
    assert len(orders) == 5


def test_fct_orders_revenue_refunds_and_delivery(built):
    con = built
    got = {r["order_id"]: r for r in rows(con, "select * from facts.fct_orders")}
    assert got["o1"]["gross_revenue"] == Decimal("25.25")
    assert got["o1"]["net_revenue"] == Decimal("25.25")
    assert got["o1"]["item_count"] == 3
    assert got["o1"]["is_delivered_late"] is True  # promised 12th, delivered 13th
    assert got["o1"]["has_complaint"] is True
    assert got["o2"]["gross_revenue"] == Decimal("31.00")
    assert got["o2"]["refund_amount"] == Decimal("20.50")
    assert got["o2"]["net_revenue"] == Decimal("10.50")
    assert got["o2"]["order_month"] == date(2024, 3, 1)
    assert got["o2"]["is_delivered_late"] is False
    assert got["o3"]["gross_revenue"] == Decimal("0")  # cancelled
    assert got["o3"]["is_valid"] is False
    assert got["o5"]["gross_revenue"] == Decimal("10.40")


def test_dim_customers(built):
    con = built
    got = {r["customer_id"]: r for r in rows(con, "select * from facts.dim_customers")}
    assert got["c1"]["as_of_date"] == date(2024, 3, 20)
    c1 = got["c1"]
    assert (c1["first_order_date"], c1["last_order_date"]) == (date(2024, 1, 10), date(2024, 3, 1))
    assert c1["cohort_month"] == date(2024, 1, 1)
    assert c1["valid_orders"] == 2
    assert c1["net_revenue"] == Decimal("35.75")  # 25.25 + 10.50
    assert c1["aov"] == Decimal("17.875")
    assert c1["mean_days_between_orders"] == 51  # Jan 10 -> Mar 1
    assert c1["days_since_last_order"] == 19
    assert c1["is_churned"] is False
    assert c1["referred_customers"] == 1
    assert c1["latest_nps"] == 9 and c1["latest_csat"] == 2 and c1["complaints"] == 1
    c2 = got["c2"]
    assert c2["valid_orders"] == 2 and c2["purchase_days"] == 1
    assert c2["median_days_between_orders"] == 0
    assert c2["net_revenue"] == Decimal("15.65")
    c3 = got["c3"]
    assert c3["first_order_date"] is None and c3["valid_orders"] == 0
    assert c3["cohort_month"] is None and c3["is_churned"] is False


def test_churn_flag_and_date_with_a_shorter_window(tmp_path):
    con = build_warehouse(tmp_path, TABLES, {"churn_window_days": 30, "as_of": "2024-04-15"})
    got = {r["customer_id"]: r for r in rows(con, "select * from facts.dim_customers")}
    # c1 last ordered Mar 1: 45 days before Apr 15 > 30 -> churned on Mar 1 + 31 days
    assert got["c1"]["is_churned"] is True
    assert got["c1"]["churn_date"] == date(2024, 4, 1)
    # c2 last valid order Jan 15
    assert got["c2"]["churn_date"] == date(2024, 2, 15)


def test_window_below_30_days_is_a_configuration_error(tmp_path):
    from runner.errors import ErrorGroup, ProjectError

    with pytest.raises((ProjectError, ErrorGroup)) as info:
        build_warehouse(tmp_path, TABLES, {"churn_window_days": 14})
    assert "churn_window_days must be a number of days >= 30" in str(info.value)
