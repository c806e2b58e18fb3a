"""Retention cohorts and churn marts on hand-made fixtures (docs/metrics.md "Retention cohorts",
"Churn"), plus an independent plain-Python implementation of the churn and retention
definitions compared row by row with the marts on a seeded random fixture."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from warehouse import REPO, build_warehouse, rows

# ----------------------------------------------------------------------------- helpers


def customer(cid: str, channel: str | None) -> dict[str, Any]:
    return {
        "customer_id": cid,
        "created_at": "2023-12-01 00:00:00",
        "region": "north",
        "country": "DE",
        "acquisition_channel": channel,
        "updated_at": "2023-12-01 00:00:00",
    }


def order(oid: str, cid: str, ordered_at: str, status: str = "delivered") -> dict[str, Any]:
    return {
        "order_id": oid,
        "customer_id": cid,
        "ordered_at": ordered_at,
        "channel": "organic",
        "status": status,
        "updated_at": ordered_at,
    }


def item(oid: str, amount: str) -> dict[str, Any]:
    """One line of quantity 1 at `amount`, no discount: the order's gross amount."""
    return {
        "order_id": oid,
        "line_number": 1,
        "product_id": "p1",
        "quantity": 1,
        "unit_price": amount,
        "discount": "0",
    }


def refund(rid: str, oid: str, returned_at: str, amount: str) -> dict[str, Any]:
    return {
        "return_id": rid,
        "order_id": oid,
        "product_id": "p1",
        "returned_at": returned_at,
        "refund_amount": amount,
        "reason": "broken",
    }


PRODUCTS = [{"product_id": "p1", "product_name": "Mug", "category": "kitchen", "unit_cost": "1"}]

CHURN_COLUMNS = (
    "active_start",
    "active_end",
    "new_customers",
    "churned",
    "reactivated",
)


def by_month(con, table: str) -> dict[date, dict[str, Any]]:
    return {r["month"]: r for r in rows(con, f"select * from marts.{table} order by month")}


def movements(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[c] for c in CHURN_COLUMNS)


# ------------------------------------------------------------------- retention fixture
#
# a1 (organic): Jan 5 100.00, Mar 10 50.00                      -> cohort Jan 2024
# a2 (paid):    Jan 20 40.00 refunded 15.00 on Feb 15 (restates Jan), Jan 25 10.00,
#               Apr 2 30.00 cancelled (ignored, but it is the latest order: as-of Apr 2)
#                                                               -> cohort Jan 2024
# a3 (email):   Feb 3 30.00, Feb 28 20.00, Apr 1 12.00          -> cohort Feb 2024
# a4:           no order at all                                 -> no cohort
# a5:           only a cancelled order (Mar 5)                  -> no cohort
#
# As-of month = Apr 2024, so Jan has k = 0..3 and Feb k = 0..2.
# Jan cohort (size 2):
#   k0 Jan: a1, a2 active (2, rate 1);  revenue 100 + (40 - 15) + 10 = 135; cum 135 -> 67.50
#   k1 Feb: nobody bought (the refund is not a purchase) -> 0, 0;      cum 135 -> 67.50
#   k2 Mar: a1 (1, rate 0.5);           revenue 50;                    cum 185 -> 92.50
#   k3 Apr: a2's order is cancelled -> 0, 0;                           cum 185 -> 92.50
# Feb cohort (size 1):
#   k0 Feb: a3 (1); 30 + 20 = 50;  k1 Mar: 0, 0 (gap month);  k2 Apr: a3 (1); 12 -> cum 62

RETENTION_TABLES = {
    "customers": [
        customer("a1", "organic"),
        customer("a2", "paid_search"),
        customer("a3", "email"),
        customer("a4", "email"),
        customer("a5", "social"),
    ],
    "orders": [
        order("o1", "a1", "2024-01-05 10:00:00"),
        order("o2", "a1", "2024-03-10 10:00:00"),
        order("o3", "a2", "2024-01-20 10:00:00", "returned"),
        order("o4", "a2", "2024-01-25 10:00:00"),
        order("o5", "a2", "2024-04-02 10:00:00", "cancelled"),
        order("o6", "a3", "2024-02-03 10:00:00"),
        order("o7", "a3", "2024-02-28 23:59:00"),
        order("o8", "a3", "2024-04-01 00:00:01"),
        order("o9", "a5", "2024-03-05 10:00:00", "cancelled"),
    ],
    "order_items": [
        item("o1", "100.00"),
        item("o2", "50.00"),
        item("o3", "40.00"),
        item("o4", "10.00"),
        item("o5", "30.00"),
        item("o6", "30.00"),
        item("o7", "20.00"),
        item("o8", "12.00"),
        item("o9", "99.00"),
    ],
    "returns": [refund("r1", "o3", "2024-02-15 10:00:00", "15.00")],
    "products": PRODUCTS,
}

# (cohort, k) -> (activity month, cohort_size, active, revenue, cumulative, cumulative / size)
RETENTION_EXPECTED = {
    (date(2024, 1, 1), 0): (date(2024, 1, 1), 2, 2, "135.00", "135.00", "67.50"),
    (date(2024, 1, 1), 1): (date(2024, 2, 1), 2, 0, "0", "135.00", "67.50"),
    (date(2024, 1, 1), 2): (date(2024, 3, 1), 2, 1, "50.00", "185.00", "92.50"),
    (date(2024, 1, 1), 3): (date(2024, 4, 1), 2, 0, "0", "185.00", "92.50"),
    (date(2024, 2, 1), 0): (date(2024, 2, 1), 1, 1, "50.00", "50.00", "50.00"),
    (date(2024, 2, 1), 1): (date(2024, 3, 1), 1, 0, "0", "50.00", "50.00"),
    (date(2024, 2, 1), 2): (date(2024, 4, 1), 1, 1, "12.00", "62.00", "62.00"),
}


@pytest.fixture(scope="module")
def retention_wh(tmp_path_factory):
    return build_warehouse(tmp_path_factory.mktemp("retention"), RETENTION_TABLES)


def test_retention_grid_is_complete_and_pinned(retention_wh):
    got = {
        (r["cohort_month"], r["months_since_first"]): r
        for r in rows(retention_wh, "select * from marts.retention_cohorts")
    }
    # every (c, k) up to the as-of month, the gap months (Jan k1, Jan k3, Feb k1) included
    assert set(got) == set(RETENTION_EXPECTED)
    for key, (month, size, active, revenue, cumulative, per_customer) in RETENTION_EXPECTED.items():
        row = got[key]
        assert row["activity_month"] == month, key
        assert row["cohort_size"] == size, key
        assert row["active_customers"] == active, key
        assert row["retention_rate"] == pytest.approx(active / size), key
        assert row["revenue"] == Decimal(revenue), key
        assert row["cumulative_revenue"] == Decimal(cumulative), key
        assert row["cumulative_revenue_per_customer"] == Decimal(per_customer), key


def test_retention_money_is_decimal_and_rates_bounded(retention_wh):
    types = {
        r["column_name"]: r["data_type"]
        for r in rows(
            retention_wh,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'retention_cohorts'",
        )
    }
    for col in ("revenue", "cumulative_revenue", "cumulative_revenue_per_customer"):
        assert types[col].startswith("DECIMAL"), (col, types[col])
    assert types["cohort_month"] == types["activity_month"] == "DATE"
    bad = rows(
        retention_wh,
        "select * from marts.retention_cohorts "
        "where retention_rate not between 0 and 1 or active_customers > cohort_size",
    )
    assert bad == []


def test_customers_without_valid_orders_are_in_no_cohort(retention_wh):
    sizes = rows(
        retention_wh,
        "select cohort_month, cohort_size from marts.retention_cohorts "
        "where months_since_first = 0 order by cohort_month",
    )
    # a1, a2 in Jan; a3 in Feb; a4 (no order) and a5 (cancelled only) nowhere
    assert [(r["cohort_month"], r["cohort_size"]) for r in sizes] == [
        (date(2024, 1, 1), 2),
        (date(2024, 2, 1), 1),
    ]
    churn = rows(retention_wh, "select customer_id from marts.customer_churn order by 1")
    assert [r["customer_id"] for r in churn] == ["a1", "a2", "a3"]
    counted = rows(
        retention_wh, "select distinct customer_id from marts.int_customer_months order by 1"
    )
    assert [r["customer_id"] for r in counted] == ["a1", "a2", "a3"]


# ----------------------------------------------------------------------- churn fixture
#
# As-of = Jun 12 2024 (b5's cancelled order is the latest order of any status). W = 90.
# b1 (organic):     Jan 10.          Active through Apr 9 (Jan 10 + 90): churns in Apr.
# b2 (paid_search): Jan 20, Jun 5.   Mar 31 - Jan 20 = 71 (active), Apr 30: 101 -> churns in
#                   Apr; not active at May 31, orders Jun 5 -> reactivated in Jun.
# b3 (organic):     Feb 1, May 20.   Feb 1 + 90 = May 1: active at Apr 30 (89 days), the
#                   window runs out on May 2, buys again May 20 -> active at May 31: in May
#                   neither churned nor reactivated (month-end snapshots).
# b4 (email):       Mar 15.          Jun 12 - Mar 15 = 89 -> still active at the as-of date;
#                   at Jun 30 it would be 107 days, so Jun must end on the as-of date.
# b5 (social):      only a cancelled order; b6 (referral): no order -> counted nowhere.
#
# month: active_start, active_end, new, churned, reactivated  (balance: end = s - ch + n + r)
#   Jan: 0, 2 (b1 21 days, b2 11), 2 (b1, b2), 0, 0          0 - 0 + 2 + 0 = 2; rate NULL
#   Feb: 2, 3 (b1 50, b2 40, b3 28), 1 (b3), 0, 0            2 + 1 = 3;          rate 0
#   Mar: 3, 4 (b1 81, b2 71, b3 59, b4 16), 1 (b4), 0, 0     3 + 1 = 4;          rate 0
#   Apr: 4, 2 (b3 89, b4 46; b1 111, b2 101 out), 0, 2, 0    4 - 2 = 2;          rate 0.5
#   May: 2, 2 (b3 11, b4 77), 0, 0, 0                        2 = 2;              rate 0
#   Jun: 2, 3 (b2 7, b3 23, b4 89 at Jun 12), 0, 0, 1 (b2)   2 + 1 = 3;          rate 0

CHURN_TABLES = {
    "customers": [
        customer("b1", "organic"),
        customer("b2", "paid_search"),
        customer("b3", "organic"),
        customer("b4", "email"),
        customer("b5", "social"),
        customer("b6", "referral"),
    ],
    "orders": [
        order("q1", "b1", "2024-01-10 08:00:00"),
        order("q2", "b2", "2024-01-20 23:00:00"),
        order("q3", "b2", "2024-06-05 12:00:00"),
        order("q4", "b3", "2024-02-01 00:30:00"),
        order("q5", "b3", "2024-05-20 12:00:00"),
        order("q6", "b4", "2024-03-15 12:00:00", "returned"),
        order("q7", "b5", "2024-06-12 18:00:00", "cancelled"),
    ],
    "order_items": [item(f"q{i}", "10.00") for i in range(1, 8)],
    "products": PRODUCTS,
}

CHURN_EXPECTED_90 = {
    date(2024, 1, 1): (0, 2, 2, 0, 0),
    date(2024, 2, 1): (2, 3, 1, 0, 0),
    date(2024, 3, 1): (3, 4, 1, 0, 0),
    date(2024, 4, 1): (4, 2, 0, 2, 0),
    date(2024, 5, 1): (2, 2, 0, 0, 0),
    date(2024, 6, 1): (2, 3, 0, 0, 1),
}

# W = 45 (active while d - last <= 45):
#   b1 Jan 10: Jan 31 21 in, Feb 29 50 out -> churns Feb.
#   b2 Jan 20: Feb 29 40 in, Mar 31 71 out -> churns Mar; Jun 5 -> reactivated Jun.
#   b3 Feb 1:  Feb 29 28 in, Mar 31 59 out -> churns Mar; May 20, not active at Apr 30 (89)
#              -> reactivated May; May 31 11 in, Jun 12 23 in.
#   b4 Mar 15: Mar 31 16 in, Apr 30 46 out -> churns Apr.
#   Jan: 0, 2, 2, 0, 0                  rate NULL
#   Feb: 2, 2 (b2, b3), 1, 1 (b1), 0    2 - 1 + 1 = 2; rate 0.5
#   Mar: 2, 1 (b4), 1, 2 (b2, b3), 0    2 - 2 + 1 = 1; rate 1
#   Apr: 1, 0, 0, 1 (b4), 0             rate 1
#   May: 0, 1 (b3), 0, 0, 1 (b3)        rate NULL (nobody active at Apr 30)
#   Jun: 1, 2 (b2, b3), 0, 0, 1 (b2)    rate 0
CHURN_EXPECTED_45 = {
    date(2024, 1, 1): (0, 2, 2, 0, 0),
    date(2024, 2, 1): (2, 2, 1, 1, 0),
    date(2024, 3, 1): (2, 1, 1, 2, 0),
    date(2024, 4, 1): (1, 0, 0, 1, 0),
    date(2024, 5, 1): (0, 1, 0, 0, 1),
    date(2024, 6, 1): (1, 2, 0, 0, 1),
}


@pytest.fixture(scope="module")
def churn_wh(tmp_path_factory):
    return build_warehouse(tmp_path_factory.mktemp("churn90"), CHURN_TABLES)


@pytest.fixture(scope="module")
def churn_wh_45(tmp_path_factory):
    return build_warehouse(
        tmp_path_factory.mktemp("churn45"), CHURN_TABLES, {"churn_window_days": 45}
    )


def assert_balance(con, table: str) -> None:
    for row in rows(con, f"select * from marts.{table}"):
        assert row["active_end"] == (
            row["active_start"] - row["churned"] + row["new_customers"] + row["reactivated"]
        ), row


def test_churn_movements_month_by_month(churn_wh):
    got = by_month(churn_wh, "churn_monthly")
    assert {m: movements(r) for m, r in got.items()} == CHURN_EXPECTED_90
    assert got[date(2024, 1, 1)]["churn_rate"] is None  # active_start 0
    assert got[date(2024, 1, 1)]["retention_rate"] is None
    assert got[date(2024, 4, 1)]["churn_rate"] == pytest.approx(0.5)
    assert got[date(2024, 4, 1)]["retention_rate"] == pytest.approx(0.5)
    for m in (2, 3, 5, 6):
        assert got[date(2024, m, 1)]["churn_rate"] == 0
        assert got[date(2024, m, 1)]["retention_rate"] == 1
    assert_balance(churn_wh, "churn_monthly")


def test_churn_periods_and_as_of_month_ends_on_the_as_of_date(churn_wh):
    got = by_month(churn_wh, "churn_monthly")
    assert {m: (r["period_start"], r["period_end"]) for m, r in got.items()} == {
        date(2024, 1, 1): (date(2023, 12, 31), date(2024, 1, 31)),
        date(2024, 2, 1): (date(2024, 1, 31), date(2024, 2, 29)),
        date(2024, 3, 1): (date(2024, 2, 29), date(2024, 3, 31)),
        date(2024, 4, 1): (date(2024, 3, 31), date(2024, 4, 30)),
        date(2024, 5, 1): (date(2024, 4, 30), date(2024, 5, 31)),
        # the as-of month: b4 (89 days at Jun 12, 107 at Jun 30) is still active
        date(2024, 6, 1): (date(2024, 5, 31), date(2024, 6, 12)),
    }


def test_window_ran_out_and_bought_again_in_the_same_month(churn_wh):
    b3 = {
        r["month"]: r
        for r in rows(churn_wh, "select * from marts.int_customer_months where customer_id = 'b3'")
    }
    may = b3[date(2024, 5, 1)]
    assert may["is_active_start"] and may["is_active_end"] and may["has_ordered"]
    assert not may["is_churned"] and not may["is_reactivated"] and not may["is_new"]
    assert may["last_order_date_at_start"] == date(2024, 2, 1)
    assert may["last_order_date_at_end"] == date(2024, 5, 20)


def test_a_different_window_changes_the_answer(churn_wh_45):
    got = by_month(churn_wh_45, "churn_monthly")
    assert {m: movements(r) for m, r in got.items()} == CHURN_EXPECTED_45
    assert got[date(2024, 5, 1)]["churn_rate"] is None  # active_start 0 mid-series
    assert got[date(2024, 5, 1)]["retention_rate"] is None
    assert got[date(2024, 2, 1)]["churn_rate"] == pytest.approx(0.5)
    assert got[date(2024, 3, 1)]["churn_rate"] == 1
    assert got[date(2024, 3, 1)]["retention_rate"] == 0
    assert_balance(churn_wh_45, "churn_monthly")
    assert_balance(churn_wh_45, "churn_monthly_by_channel")


def test_churn_by_channel(churn_wh):
    got = {
        (r["month"], r["acquisition_channel"]): r
        for r in rows(churn_wh, "select * from marts.churn_monthly_by_channel")
    }
    # every month for every channel with a customer who ordered (b5, b6 bring none)
    months = sorted(CHURN_EXPECTED_90)
    assert set(got) == {(m, ch) for m in months for ch in ("organic", "paid_search", "email")}
    # organic = b1 + b3; paid_search = b2; email = b4 (see the fixture's comment)
    expected = {
        "organic": [(0, 1, 1, 0, 0), (1, 2, 1, 0, 0), (2, 2, 0, 0, 0), (2, 1, 0, 1, 0),
                    (1, 1, 0, 0, 0), (1, 1, 0, 0, 0)],
        "paid_search": [(0, 1, 1, 0, 0), (1, 1, 0, 0, 0), (1, 1, 0, 0, 0), (1, 0, 0, 1, 0),
                        (0, 0, 0, 0, 0), (0, 1, 0, 0, 1)],
        "email": [(0, 0, 0, 0, 0), (0, 0, 0, 0, 0), (0, 1, 1, 0, 0), (1, 1, 0, 0, 0),
                  (1, 1, 0, 0, 0), (1, 1, 0, 0, 0)],
    }  # fmt: skip
    for channel, per_month in expected.items():
        assert [movements(got[(m, channel)]) for m in months] == per_month, channel
    assert got[(date(2024, 5, 1), "paid_search")]["churn_rate"] is None
    assert got[(date(2024, 4, 1), "organic")]["churn_rate"] == pytest.approx(0.5)
    assert got[(date(2024, 6, 1), "email")]["period_end"] == date(2024, 6, 12)
    assert_balance(churn_wh, "churn_monthly_by_channel")
    assert_channels_sum_to_overall(churn_wh)


def assert_channels_sum_to_overall(con) -> None:
    overall = by_month(con, "churn_monthly")
    summed: dict[date, list[int]] = defaultdict(lambda: [0] * len(CHURN_COLUMNS))
    for r in rows(con, "select * from marts.churn_monthly_by_channel"):
        assert (r["period_start"], r["period_end"]) == (
            overall[r["month"]]["period_start"],
            overall[r["month"]]["period_end"],
        )
        for i, c in enumerate(CHURN_COLUMNS):
            summed[r["month"]][i] += r[c]
    assert {m: tuple(v) for m, v in summed.items()} == {m: movements(r) for m, r in overall.items()}


def test_customer_churn_flags_and_dates(churn_wh, churn_wh_45):
    got = {r["customer_id"]: r for r in rows(churn_wh, "select * from marts.customer_churn")}
    assert set(got) == {"b1", "b2", "b3", "b4"}  # b5 cancelled only, b6 no order
    # (last order, days to Jun 12, churned, churn date = last + 90 + 1)
    assert {
        c: (r["last_order_date"], r["days_since_last_order"], r["is_churned"], r["churn_date"])
        for c, r in got.items()
    } == {
        "b1": (date(2024, 1, 10), 154, True, date(2024, 4, 10)),  # 21+29+31+30+31+12
        "b2": (date(2024, 6, 5), 7, False, None),
        "b3": (date(2024, 5, 20), 23, False, None),
        "b4": (date(2024, 3, 15), 89, False, None),
    }
    assert {r["as_of_date"] for r in got.values()} == {date(2024, 6, 12)}
    assert got["b1"]["acquisition_channel"] == "organic"
    assert got["b1"]["cohort_month"] == date(2024, 1, 1)
    assert got["b4"]["cohort_month"] == date(2024, 3, 1)
    # W = 45: b4 (89 days) has churned too, on Mar 15 + 46 = Apr 30, the first day it is not
    # active (Apr 30 is also the first month end where churn_monthly no longer counts it).
    got45 = {r["customer_id"]: r for r in rows(churn_wh_45, "select * from marts.customer_churn")}
    assert {c: (r["is_churned"], r["churn_date"]) for c, r in got45.items()} == {
        "b1": (True, date(2024, 2, 25)),  # Jan 10 + 46
        "b2": (False, None),
        "b3": (False, None),
        "b4": (True, date(2024, 4, 30)),
    }


def test_customer_churn_agrees_with_the_as_of_month_snapshot(churn_wh, churn_wh_45):
    for con in (churn_wh, churn_wh_45):
        mismatched = rows(
            con,
            """
            select c.customer_id
            from marts.customer_churn as c
            join marts.int_customer_months as m
                on m.customer_id = c.customer_id and m.period_end = c.as_of_date
            where c.is_churned = m.is_active_end
            """,
        )
        assert mismatched == []


# ------------------------------------------------------------------------ random fixture
# An independent implementation of docs/metrics.md in plain Python, on seeded random data.

W_RANDOM = 60
START = date(2024, 1, 1)
CHANNELS = ["organic", "paid_search", "email", None]


def random_tables(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    customers, orders, items, returns = [], [], [], []
    for c in range(30):
        cid = f"c{c:02d}"
        customers.append(customer(cid, rng.choice(CHANNELS)))
        for _ in range(rng.choice([0, 1, 1, 2, 3, 4, 6])):
            oid = f"o{len(orders):03d}"
            day = START + timedelta(days=rng.randrange(300))  # Jan .. late Oct 2024
            status = rng.choices(
                ["delivered", "shipped", "cancelled", "returned"], weights=[6, 2, 2, 1]
            )[0]
            stamp = f"{day} {rng.randrange(24):02d}:{rng.randrange(60):02d}:00"
            orders.append(order(oid, cid, stamp, status))
            cents = rng.randrange(500, 20000)
            items.append(item(oid, f"{cents // 100}.{cents % 100:02d}"))
            if status == "returned":
                back = day + timedelta(days=rng.randrange(1, 50))
                part = rng.randrange(100, cents)
                returns.append(
                    refund(f"r{oid}", oid, f"{back} 12:00:00", f"{part // 100}.{part % 100:02d}")
                )
    return {
        "customers": customers,
        "orders": orders,
        "order_items": items,
        "returns": returns,
        "products": PRODUCTS,
    }


RANDOM = random_tables()


def month_start(d: date) -> date:
    return d.replace(day=1)


def next_month(m: date) -> date:
    return date(m.year + (m.month == 12), m.month % 12 + 1, 1)


def python_model(tables, window: int):
    """The marts' answers computed from the raw rows with docs/metrics.md's words."""
    as_of = max(date.fromisoformat(o["ordered_at"][:10]) for o in tables["orders"])
    channel = {c["customer_id"]: c["acquisition_channel"] for c in tables["customers"]}
    amount = {i["order_id"]: Decimal(i["unit_price"]) for i in tables["order_items"]}
    refunds: dict[str, Decimal] = defaultdict(Decimal)
    for r in tables["returns"]:
        refunds[r["order_id"]] += Decimal(r["refund_amount"])
    valid = [
        (o["customer_id"], date.fromisoformat(o["ordered_at"][:10]), o["order_id"])
        for o in tables["orders"]
        if o["status"] != "cancelled"
    ]
    dates: dict[str, list[date]] = defaultdict(list)
    for cid, d, _ in valid:
        dates[cid].append(d)
    first = {cid: min(ds) for cid, ds in dates.items()}

    def active(cid: str, d: date) -> bool:
        before = [x for x in dates[cid] if x <= d]
        return bool(before) and (d - max(before)).days <= window

    months = []
    m = month_start(min(first.values()))
    while m <= month_start(as_of):
        months.append(m)
        m = next_month(m)

    churn = {}  # (month, channel) -> movements
    for m in months:
        start = m - timedelta(days=1)
        end = min(next_month(m) - timedelta(days=1), as_of)
        for cid in dates:
            s, e = active(cid, start), active(cid, end)
            new = month_start(first[cid]) == m
            ordered = any(month_start(x) == m for x in dates[cid])
            flags = (s, e, new, s and not e, not new and not s and ordered)
            key = (m, channel[cid])
            acc = churn.setdefault(key, [0] * 5)
            for i, f in enumerate(flags):
                acc[i] += int(f)
    periods = {
        m: (m - timedelta(days=1), min(next_month(m) - timedelta(days=1), as_of)) for m in months
    }

    retention = {}
    cohort = {cid: month_start(d) for cid, d in first.items()}
    size: dict[date, int] = defaultdict(int)
    for c in cohort.values():
        size[c] += 1
    for c in size:
        cum = Decimal(0)
        for k, am in enumerate(x for x in months if x >= c):
            buyers = {cid for cid, d, _ in valid if cohort[cid] == c and month_start(d) == am}
            revenue = sum(
                (amount[oid] - refunds[oid] for cid, d, oid in valid
                 if cohort[cid] == c and month_start(d) == am),
                Decimal(0),
            )  # fmt: skip
            cum += revenue
            retention[(c, k)] = (am, size[c], len(buyers), revenue, cum, cum / size[c])

    customers = {
        cid: (
            max(ds),
            (as_of - max(ds)).days,
            (as_of - max(ds)).days > window,
            max(ds) + timedelta(days=window + 1) if (as_of - max(ds)).days > window else None,
        )
        for cid, ds in dates.items()
    }
    return as_of, periods, churn, retention, customers


@pytest.fixture(scope="module")
def random_wh(tmp_path_factory):
    return build_warehouse(
        tmp_path_factory.mktemp("random"), RANDOM, {"churn_window_days": W_RANDOM}
    )


def test_random_fixture_is_interesting():
    _, periods, churn, retention, customers = python_model(RANDOM, W_RANDOM)
    totals = [sum(v[i] for v in churn.values()) for i in range(5)]
    assert len(periods) >= 9
    assert totals[3] >= 5 and totals[4] >= 3  # some churn and some reactivation
    assert any(r[2] == 0 for r in retention.values())  # gap months
    assert len(customers) < 30  # some customers without a valid order
    assert any(o["status"] == "cancelled" for o in RANDOM["orders"])


def test_churn_monthly_matches_plain_python(random_wh):
    _, periods, churn, _, _ = python_model(RANDOM, W_RANDOM)
    expected: dict[date, list[int]] = defaultdict(lambda: [0] * 5)
    for (m, _), v in churn.items():
        expected[m] = [a + b for a, b in zip(expected[m], v, strict=True)]
    got = by_month(random_wh, "churn_monthly")
    assert list(got) == sorted(periods)
    for m, row in got.items():
        assert (row["period_start"], row["period_end"]) == periods[m], m
        assert list(movements(row)) == expected[m], m
        s, churned = expected[m][0], expected[m][3]
        if s == 0:
            assert row["churn_rate"] is None and row["retention_rate"] is None, m
        else:
            assert row["churn_rate"] == pytest.approx(churned / s), m
            assert row["retention_rate"] == pytest.approx(1 - churned / s), m
    assert_balance(random_wh, "churn_monthly")


def test_churn_by_channel_matches_plain_python(random_wh):
    _, _, churn, _, _ = python_model(RANDOM, W_RANDOM)
    got = {
        (r["month"], r["acquisition_channel"]): list(movements(r))
        for r in rows(random_wh, "select * from marts.churn_monthly_by_channel")
    }
    assert got == churn
    assert_balance(random_wh, "churn_monthly_by_channel")
    assert_channels_sum_to_overall(random_wh)


def test_retention_matches_plain_python(random_wh):
    _, _, _, retention, _ = python_model(RANDOM, W_RANDOM)
    got = {
        (r["cohort_month"], r["months_since_first"]): r
        for r in rows(random_wh, "select * from marts.retention_cohorts")
    }
    assert set(got) == set(retention)
    for key, (month, size, active, revenue, cum, per_customer) in retention.items():
        row = got[key]
        assert (row["activity_month"], row["cohort_size"], row["active_customers"]) == (
            month,
            size,
            active,
        ), key
        assert row["retention_rate"] == pytest.approx(active / size), key
        assert (row["revenue"], row["cumulative_revenue"]) == (revenue, cum), key
        assert abs(row["cumulative_revenue_per_customer"] - per_customer) <= Decimal("0.0001")


def test_customer_churn_matches_plain_python(random_wh):
    as_of, _, _, _, customers = python_model(RANDOM, W_RANDOM)
    got = {
        r["customer_id"]: (
            r["last_order_date"],
            r["days_since_last_order"],
            r["is_churned"],
            r["churn_date"],
        )
        for r in rows(random_wh, "select * from marts.customer_churn")
    }
    assert got == customers
    assert rows(random_wh, "select distinct as_of_date from marts.customer_churn") == [
        {"as_of_date": as_of}
    ]


# ------------------------------------------------------------------------------- YAML


def yaml_models() -> dict[str, dict[str, Any]]:
    models = {}
    for path in ("models/marts/retention/_retention.yml", "models/marts/churn/_churn.yml"):
        for entry in yaml.safe_load((REPO / path).read_text())["models"]:
            models[entry["name"]] = entry
    return models


UNION_VIEWS = {"int_customer_months"}  # closed months + the as-of month, each checked


def test_yaml_documents_every_model_and_column(churn_wh):
    models = yaml_models()
    sql_names = {
        p.stem
        for folder in ("retention", "churn")
        for p in Path(REPO, "models/marts", folder).glob("*.sql")
    }
    assert set(models) == sql_names
    for name, entry in models.items():
        assert entry.get("description"), name
        # a view over checked tables has no checks of its own (they would re-read them all)
        assert entry.get("expectations") or name in UNION_VIEWS, name
        built = [
            r["column_name"]
            for r in rows(
                churn_wh,
                "select column_name from information_schema.columns "
                f"where table_schema = 'marts' and table_name = '{name}' "
                "order by ordinal_position",
            )
        ]
        assert [c["name"] for c in entry["columns"]] == built, name
        assert all(c.get("description") for c in entry["columns"]), name
