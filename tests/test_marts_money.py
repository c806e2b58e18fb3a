"""Money stays DECIMAL end to end: every amount per order or per customer in the marts is
divided in DECIMAL and rounded half away from zero at 4 decimals, never through DOUBLE.

DuckDB divides DECIMALs in DOUBLE: 810.555 / 4 = 202.63875 (exactly half-way between
202.6387 and 202.6388) came out 202.6387, because the nearest DOUBLE lies just below it.

The fixture (every order in January 2024, channel email; the as-of date is Jan 15):

    customer  valid orders (net revenue)                      total
    m1        Jan 2 200.555, Jan 5 200, Jan 10 200, Jan 15 210  810.555 (4 orders)
    m2        Jan 3 100                                         100
    m3        Jan 4 100.0001                                    100.0001
    m4        Jan 6 99.9999                                     99.9999

    all four: 1110.555 over 7 orders and 4 customers
    marketing spend, email, Jan 10: 810.555 for the 4 new customers

The expected values are the exact quotients rounded half away from zero at 4 decimals.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from warehouse import build_warehouse, rows

JAN = date(2024, 1, 1)


def exact(numerator: str, denominator: int) -> Decimal:
    return (Decimal(numerator) / denominator).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _customer(customer_id: str) -> dict[str, str]:
    return {
        "customer_id": customer_id,
        "created_at": "2024-01-01 00:00:00",
        "region": "north",
        "country": "DE",
        "acquisition_channel": "email",
        "updated_at": "2024-01-01 00:00:00",
    }


ORDERS = [  # (order, customer, day, amount)
    ("o1", "m1", 2, "200.555"),
    ("o2", "m1", 5, "200"),
    ("o3", "m1", 10, "200"),
    ("o4", "m1", 15, "210"),
    ("o5", "m2", 3, "100"),
    ("o6", "m3", 4, "100.0001"),
    ("o7", "m4", 6, "99.9999"),
]

TABLES = {
    "customers": [_customer(c) for c in ("m1", "m2", "m3", "m4")],
    "orders": [
        {
            "order_id": order,
            "customer_id": customer,
            "ordered_at": f"2024-01-{day:02d} 12:00:00",
            "channel": "email",
            "status": "placed",
            "updated_at": f"2024-01-{day:02d} 12:00:00",
        }
        for order, customer, day, _ in ORDERS
    ],
    "order_items": [
        {
            "order_id": order,
            "line_number": 1,
            "product_id": "p1",
            "quantity": 1,
            "unit_price": amount,
            "discount": "0",
        }
        for order, _, _, amount in ORDERS
    ],
    "products": [
        {"product_id": "p1", "product_name": "Mug", "category": "kitchen", "unit_cost": "1"}
    ],
    "marketing_spend": [{"spend_date": "2024-01-10", "channel": "email", "spend": "810.555"}],
}

HALF_WAY_AOV = Decimal("202.6388")  # m1: 810.555 / 4 = 202.63875, half-way: up
PER_CUSTOMER = Decimal("277.6388")  # 1110.555 / 4 customers = 277.63875
POOLED_AOV = Decimal("158.6507")  # 1110.555 / 7 orders = 158.650714...
MEDIAN = Decimal("100.0001")  # the middle two of 99.9999, 100, 100.0001, 810.555: 100.00005


def test_the_expected_values_are_the_exact_quotients_rounded_half_up():
    assert exact("810.555", 4) == HALF_WAY_AOV
    assert exact("1110.555", 4) == PER_CUSTOMER
    assert exact("1110.555", 7) == POOLED_AOV
    assert exact("200.0001", 2) == MEDIAN


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    return build_warehouse(tmp_path_factory.mktemp("money"), TABLES, validator="sql")


def one(con, sql: str) -> dict:
    (row,) = rows(con, sql)
    return row


def assert_money(got: object, expected: Decimal) -> None:
    assert isinstance(got, Decimal), f"{got!r} is not DECIMAL"
    assert got == expected


def test_customer_aov_half_way_rounds_up(con):
    m1 = "where customer_id = 'm1'"
    assert_money(one(con, f"select aov from facts.dim_customers {m1}")["aov"], HALF_WAY_AOV)
    assert_money(one(con, f"select aov from marts.clv_customers {m1}")["aov"], HALF_WAY_AOV)


def test_cohort_and_channel_averages(con):
    cohort = one(con, "select * from marts.clv_by_cohort")
    assert_money(cohort["avg_historical_clv"], PER_CUSTOMER)
    assert_money(cohort["aov"], POOLED_AOV)
    channel = one(con, "select * from marts.clv_by_channel where acquisition_channel = 'email'")
    assert_money(channel["avg_historical_clv"], PER_CUSTOMER)
    assert_money(channel["aov"], POOLED_AOV)
    assert_money(channel["cac"], HALF_WAY_AOV)  # 810.555 spend / 4 new customers


def test_monthly_marts(con):
    cac = one(con, "select * from marts.cac_monthly where channel = 'email'")
    assert_money(cac["cac"], HALF_WAY_AOV)
    kpi = one(con, "select * from marts.channel_kpis_monthly where channel = 'email'")
    assert_money(kpi["aov"], POOLED_AOV)
    assert_money(kpi["cac"], HALF_WAY_AOV)
    assert_money(kpi["avg_historical_clv"], PER_CUSTOMER)
    cohort = one(
        con,
        "select * from marts.retention_cohorts"
        f" where cohort_month = '{JAN}' and months_since_first = 0",
    )
    assert_money(cohort["cumulative_revenue_per_customer"], PER_CUSTOMER)


def test_segment_and_satisfaction_averages(con):
    # all four spent under 2000 in the last 12 months: one loyalty tier, regular
    tier = one(
        con,
        "select * from marts.segment_summary"
        " where dimension = 'loyalty_tier' and segment = 'regular'",
    )
    assert tier["customers"] == 4
    assert_money(tier["avg_net_revenue"], PER_CUSTOMER)
    # nobody answered a survey: all four are in the no_answer group
    profile = one(
        con,
        "select * from marts.satisfaction_profiles where satisfaction = 'no_answer'"
        " and dimension = 'loyalty_tier' and dimension_value = 'regular'",
    )
    assert profile["customers"] == 4
    assert_money(profile["avg_net_revenue"], PER_CUSTOMER)
    assert_money(profile["avg_trailing_12m_net_spend"], PER_CUSTOMER)
    assert_money(profile["median_net_revenue"], MEDIAN)
