"""Feedback and segment marts (models/marts/feedback, models/marts/segments) and the as-of cut
of dim_customers, on a hand-made fixture.

Every expected number below is worked out by hand from the rows of this file (the arithmetic
is in the comments); none is copied from what the SQL returned.

The as-of date is 2024-06-30: the latest order (o28, cancelled, any status counts). The trailing
12 months of the loyalty tiers run from 2023-07-01 to 2024-06-30. Churn window W = 90 days,
at_risk_factor 1.5, frequent_min_orders 4, tier_thresholds gold 2000 / diamond 10000 (the
defaults).

    cust  acq.ch.      region  valid orders: date (order channel) net             last   rec.
    c01   organic      north   Apr 1 (email) 3000, May 1 (email) 4000,            Jun 25    5
                               Jun 1 (paid_search) 3000 p1 + 1000 p2, Jun 25 (email) 1000
                               -> 4 orders, 12000 (o05 Jun 28, 9999, cancelled)
    c02   paid_search  south   2023: Jan 2, Jan 3, Jan 4 100 each; Jun 5 2024 2500 Jun 5    25
                               -> 4 orders, 2800
    c03   email        north   Jul 1 2023 2000, Jan 10 2024 100 -> 2 orders, 2100 Jan 10  172
    c04   organic      south   Jun 1 30, Jun 2 20 -> 2 orders, 50                 Jun 2    28
    c05   paid_search  north   May 1 80 -> 1 order                                May 1    60
    c06   email        south   May 1 300, May 11 200, May 21 100 p2 -> 3, 600      May 21   40
    c07   email        north   Jan 5 400, Mar 5 500 returned (refund 100), May 5 400
                               -> 3 orders, 1200                                  May 5    56
    c08   paid_search  south   May 20 150 p1 and May 20 150 p2 (two orders,      May 20   41
                               one day) -> 2 orders, 300
    c09   organic      north   Jun 30 2023 300 -> 1 order                         2023     366
    c10   paid_search  south   2023: Jan 10 5000, Feb 10 5000, Mar 10 3000,       Apr 10   447
                               Apr 10 2000 -> 4 orders, 15000                     2023
    c11   email        north   only o28 (Jun 30, cancelled): no valid order, in no segment
    c12   organic      south   no order; created 2023-03-01, referred by c10
    c13   organic      north   created 2024-07-05, after the as-of date (referred by c01):
                               not a customer yet, anywhere

Gaps between valid orders, all customers pooled: c01 30, 31, 24; c02 1, 1, 518; c03 193;
c04 1; c06 10, 10; c07 60, 61; c08 0; c10 31, 28, 31 -> 16 gaps, sorted 0 1 1 1 10 10 24 28 |
30 31 31 31 60 61 193 518: population median = (28 + 30) / 2 = 29.

Products: every order line is p1 (Mug, kitchen) except o03's second line, o17 and o22, which are
p2 (Pen, office); o20 (c07's May 5) is two p1 lines of 200; p3 (Lamp, home) is never ordered.
Referrals (customers.referred_by_customer_id): c01 referred c05 (created Apr 20), c04 (May 25)
and c13 (Jul 5, after the as-of date); c07 referred c08 (May 10); c10 referred c12 (Mar 1 2023).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from warehouse import build_warehouse, rows

AS_OF = date(2024, 6, 30)
CUSTOMER_IDS = [f"c{n:02d}" for n in range(1, 11)]  # the ten with a valid order

# (customer, acquisition channel, region, created_at, referred by)
_CUSTOMERS = [
    ("c01", "organic", "north", "2024-03-20", None),
    ("c02", "Paid Search", "south", "2022-12-30", None),
    ("c03", "email", "north", "2023-06-20", None),
    ("c04", "organic", "south", "2024-05-25", "c01"),
    ("c05", "paid_search", "north", "2024-04-20", "c01"),
    ("c06", "email", "south", "2024-04-01", None),
    ("c07", " Email ", "north", "2023-12-01", None),
    ("c08", "paid_search", "south", "2024-05-10", "c07"),
    ("c09", "organic", "north", "2023-06-01", None),
    ("c10", "paid_search", "south", "2023-01-01", None),
    ("c11", "email", "north", "2024-06-01", None),
    ("c12", "organic", "south", "2023-03-01", "c10"),
    ("c13", "organic", "north", "2024-07-05", "c01"),
]

CUSTOMERS = [
    {
        "customer_id": cid,
        "created_at": f"{created} 08:00:00",
        "region": region,
        "country": "DE",
        "acquisition_channel": channel,
        "referred_by_customer_id": referrer,
        "updated_at": f"{created} 08:00:00",
    }
    for cid, channel, region, created, referrer in _CUSTOMERS
]

# (order, customer, ordered_at, channel, status, lines: [(product, amount)])
_ORDERS = [
    ("o01", "c01", "2024-04-01 10:00", "email", "delivered", [("p1", 3000)]),
    ("o02", "c01", "2024-05-01 10:00", "email", "delivered", [("p1", 4000)]),
    ("o03", "c01", "2024-06-01 10:00", "paid_search", "delivered", [("p1", 3000), ("p2", 1000)]),
    ("o04", "c01", "2024-06-25 10:00", "email", "delivered", [("p1", 1000)]),
    ("o05", "c01", "2024-06-28 10:00", "email", "cancelled", [("p1", 9999)]),
    ("o06", "c02", "2023-01-02 10:00", "paid_search", "delivered", [("p1", 100)]),
    ("o07", "c02", "2023-01-03 10:00", "paid_search", "delivered", [("p1", 100)]),
    ("o08", "c02", "2023-01-04 10:00", "paid_search", "delivered", [("p1", 100)]),
    ("o09", "c02", "2024-06-05 10:00", "paid_search", "delivered", [("p1", 2500)]),
    ("o10", "c03", "2023-07-01 10:00", "email", "delivered", [("p1", 2000)]),
    ("o11", "c03", "2024-01-10 10:00", "email", "delivered", [("p1", 100)]),
    ("o12", "c04", "2024-06-01 10:00", "organic", "delivered", [("p1", 30)]),
    ("o13", "c04", "2024-06-02 10:00", "organic", "shipped", [("p1", 20)]),
    ("o14", "c05", "2024-05-01 10:00", "paid_search", "delivered", [("p1", 80)]),
    ("o15", "c06", "2024-05-01 10:00", "email", "delivered", [("p1", 300)]),
    ("o16", "c06", "2024-05-11 10:00", "email", "delivered", [("p1", 200)]),
    ("o17", "c06", "2024-05-21 10:00", "email", "delivered", [("p2", 100)]),
    ("o18", "c07", "2024-01-05 10:00", "email", "delivered", [("p1", 400)]),
    ("o19", "c07", "2024-03-05 10:00", "email", "returned", [("p1", 500)]),  # refund 100
    # two lines of one product: the order counts once for p1
    ("o20", "c07", "2024-05-05 10:00", "email", "delivered", [("p1", 200), ("p1", 200)]),
    ("o21", "c08", "2024-05-20 09:00", "paid_search", "delivered", [("p1", 150)]),
    ("o22", "c08", "2024-05-20 15:00", "paid_search", "delivered", [("p2", 150)]),
    ("o23", "c09", "2023-06-30 10:00", "organic", "delivered", [("p1", 300)]),
    ("o24", "c10", "2023-01-10 10:00", "paid_search", "delivered", [("p1", 5000)]),
    ("o25", "c10", "2023-02-10 10:00", "paid_search", "delivered", [("p1", 5000)]),
    ("o26", "c10", "2023-03-10 10:00", "paid_search", "delivered", [("p1", 3000)]),
    ("o27", "c10", "2023-04-10 10:00", "paid_search", "delivered", [("p1", 2000)]),
    ("o28", "c11", "2024-06-30 18:00", "email", "cancelled", [("p1", 10)]),
]

ORDERS = [
    {
        "order_id": oid,
        "customer_id": cid,
        "ordered_at": f"{at}:00",
        "channel": channel,
        "status": status,
        "updated_at": f"{at}:00",
    }
    for oid, cid, at, channel, status, _ in _ORDERS
]

ITEMS = [
    {
        "order_id": oid,
        "line_number": n,
        "product_id": product,
        "quantity": 1,
        "unit_price": str(amount),
        "discount": "0",
    }
    for oid, _, _, _, _, lines in _ORDERS
    for n, (product, amount) in enumerate(lines, start=1)
]

PRODUCTS = [
    {"product_id": "p1", "product_name": "Mug", "category": "kitchen", "unit_cost": "1"},
    {"product_id": "p2", "product_name": "Pen", "category": "office", "unit_cost": "1"},
    {"product_id": "p3", "product_name": "Lamp", "category": "home", "unit_cost": "1"},
]

RETURNS = [
    {
        "return_id": "r1",
        "order_id": "o19",
        "product_id": "p1",
        "returned_at": "2024-03-20 00:00:00",
        "refund_amount": "100",
        "reason": "broken",
    }
]


def _answer(fid, cid, oid, at, nps, csat, complaint=False):
    return {
        "feedback_id": fid,
        "customer_id": cid,
        "order_id": oid,
        "submitted_at": at,
        "nps_score": nps,
        "csat_score": csat,
        "is_complaint": "true" if complaint else "false",
    }


# Channel of an answer: its order's channel, else the customer's acquisition channel.
FEEDBACK = [
    _answer("f01", "c01", "o03", "2024-06-03 12:00:00", 10, 5),  # paid_search Jun 24
    _answer("f02", "c06", "o17", "2024-06-05 12:00:00", 3, 2, complaint=True),  # email Jun
    _answer("f03", "c07", None, "2024-06-10 12:00:00", 8, 4),  # email (acquisition) Jun
    _answer("f04", "c02", "o09", "2024-06-20 12:00:00", 9, None),  # paid_search Jun
    _answer("f05", "c08", "o21", "2024-06-25 12:00:00", None, 3, complaint=True),  # p_s Jun
    # after the as-of date: counts nowhere (not c01's latest answer, not a complaint on o04)
    _answer("f06", "c01", "o04", "2024-07-02 12:00:00", 0, 1, complaint=True),
    _answer("f07", "c05", "o14", "2024-05-03 12:00:00", 6, 4),  # paid_search May 24
    _answer("f08", "c05", None, "2024-05-20 12:00:00", 9, None),  # paid_search (acq.) May
    # about a cancelled order: in NPS and CSAT, not in the complaint rate
    _answer("f09", "c01", "o05", "2024-06-29 12:00:00", 7, 5, complaint=True),  # email Jun
    _answer("f10", "c10", "o25", "2023-02-15 12:00:00", 10, 5),  # paid_search Feb 23
    # two answers at the same moment: the greater feedback_id is the latest
    _answer("f11", "c09", "o23", "2023-07-15 10:00:00", 5, 2),  # organic Jul 23
    _answer("f12", "c09", "o23", "2023-07-15 10:00:00", 9, 4),  # organic Jul 23
    # a second complaint about o17: the order counts once
    _answer("f13", "c06", "o17", "2024-06-06 12:00:00", None, None, complaint=True),  # email
]

TABLES = {
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "order_items": ITEMS,
    "products": PRODUCTS,
    "returns": RETURNS,
    "feedback": FEEDBACK,
}

OURS = ("feedback", "segments")
SELECT = (
    "+path:models/marts/feedback",
    "+path:models/marts/segments",
    "+channel_kpis_monthly",  # read by feedback_monthly's check, and compared below
)


def build(root: Path, tables: dict, vars: dict | None = None) -> duckdb.DuckDBPyConnection:
    """tests/warehouse.py's build_warehouse, limited to these marts and what they read, with
    the plain-SQL validator (the same expectations, a few seconds faster than GX). Every
    expectation of the new marts must pass."""
    results: dict[str, Any] = {}
    con = build_warehouse(root, tables, vars, results=results, validator="sql", select=SELECT)
    checks = [
        (uid, e["name"], e["status"])
        for uid, r in results.items()
        for e in r.extra.get("expectations", [])
        if any(name in uid for name in (*OURS, "winback", "satisfaction", "rfm", "dim_customers"))
    ]
    assert len(checks) > 150
    assert [c for c in checks if c[2] != "pass"] == []
    return con


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    return build(tmp_path_factory.mktemp("feedback_segments"), TABLES)


# other choices for the project variables: lower tiers, 'frequent' from 3 orders, a laxer
# at-risk rule
ALT_VARS: dict[str, Any] = {
    "tier_thresholds": {"gold": 500, "diamond": 2500},
    "frequent_min_orders": 3,
    "at_risk_factor": 3,
}


@pytest.fixture(scope="module")
def alt(tmp_path_factory):
    return build(tmp_path_factory.mktemp("feedback_segments_alt"), TABLES, ALT_VARS)


def by(con, sql: str, *keys: str) -> dict:
    """Rows keyed by one column (a value) or several (a tuple)."""
    out = {}
    for row in rows(con, sql):
        key = tuple(row[k] for k in keys)
        out[key[0] if len(keys) == 1 else key] = row
    return out


def segments(con) -> dict:
    return by(con, "select * from marts.customer_segments", "customer_id")


# ------------------------------------------------------------------ dim_customers as-of cut


def test_dim_customers_counts_nothing_after_the_as_of_date(con):
    got = by(con, "select * from facts.dim_customers", "customer_id")
    assert got["c01"]["as_of_date"] == AS_OF
    # c13 was created on Jul 5, after the as-of date: not a customer yet
    assert set(got) == {f"c{n:02d}" for n in range(1, 13)}
    # c01 referred c04 and c05 (c13 comes later); answers: f01 (Jun 3: 10, 5) and f09
    # (Jun 29: 7, 5, a complaint); f06 (Jul 2: 0, 1, a complaint) is after the as-of date
    c01 = got["c01"]
    assert c01["referred_customers"] == 2
    assert (c01["latest_nps"], c01["latest_csat"], c01["complaints"]) == (7, 5, 1)
    # f11 (5, 2) and f12 (9, 4) tie on submitted_at: the greater feedback_id wins
    assert (got["c09"]["latest_nps"], got["c09"]["latest_csat"]) == (9, 4)
    # c05: f07 (6, 4) then f08 (9, no CSAT): the latest of each score
    assert (got["c05"]["latest_nps"], got["c05"]["latest_csat"]) == (9, 4)
    assert got["c06"]["complaints"] == 2  # f02 and f13, both about o17
    assert got["c10"]["referred_customers"] == 1  # c12, who never ordered, still joined
    assert got["c07"]["referred_customers"] == 1


def test_dim_customers_with_the_as_of_date_in_the_past(tmp_path):
    # As of 2024-05-31: c04 (created May 25) is a customer; c11 (created Jun 1, only a
    # cancelled order on Jun 30) and c13 are not; c01 has referred c04 and c05 by then; no
    # answer of c01 yet (f01 is Jun 3); c06's complaints come in June.
    con = build(tmp_path, TABLES, {"as_of": "2024-05-31"})
    got = by(con, "select * from facts.dim_customers", "customer_id")
    assert set(got) == {f"c{n:02d}" for n in range(1, 11)} | {"c12"}
    assert got["c01"]["as_of_date"] == date(2024, 5, 31)
    assert got["c01"]["referred_customers"] == 2
    assert (got["c01"]["latest_nps"], got["c01"]["latest_csat"]) == (None, None)
    assert got["c01"]["complaints"] == 0
    assert got["c06"]["complaints"] == 0
    assert (got["c05"]["latest_nps"], got["c05"]["latest_csat"]) == (9, 4)  # May 3, May 20
    assert got["c04"]["valid_orders"] == 0  # its orders are Jun 1 and 2


# ------------------------------------------------------------------------------- segments

# RFM at 2024-06-30: (recency days, valid orders, net revenue) and the quintile scores.
# ntile(5) over 10 customers: two per score.
#   R, recency descending: c10 447, c09 366 | c03 172, c05 60 | c07 56, c08 41 | c06 40,
#      c04 28 | c02 25, c01 5
#   F, orders ascending, ties by net revenue: c05 1 (80), c09 1 (300) | c04 2 (50),
#      c08 2 (300) | c03 2 (2100), c06 3 (600) | c07 3 (1200), c02 4 (2800) | c01 4, c10 4
#      (the three 2-order customers land in two quintiles: c03, the biggest spender, higher)
#   M, net revenue ascending, ties by orders: c04 50, c05 80 | c09 300 (1 order),
#      c08 300 (2) | c06 600, c07 1200 | c03 2100, c02 2800 | c01 12000, c10 15000
#   FM = floor((F + M + 1) / 2); segment from the (R, FM) grid.
RFM = {
    # customer: (recency, frequency, monetary, R, F, M, FM, segment)
    "c01": (5, 4, "12000", 5, 5, 5, 5, "champions"),
    "c02": (25, 4, "2800", 5, 4, 4, 4, "champions"),  # FM (4 + 4 + 1) / 2 = 4.5 -> 4
    "c03": (172, 2, "2100", 2, 3, 4, 4, "at_risk"),
    "c04": (28, 2, "50", 4, 2, 1, 2, "potential_loyalist"),
    "c05": (60, 1, "80", 2, 1, 1, 1, "hibernating"),
    "c06": (40, 3, "600", 4, 3, 3, 3, "potential_loyalist"),
    "c07": (56, 3, "1200", 3, 4, 3, 4, "loyal"),  # (4 + 3 + 1) / 2 = 4: half rounds up
    "c08": (41, 2, "300", 3, 2, 2, 2, "about_to_sleep"),
    "c09": (366, 1, "300", 1, 1, 2, 2, "lost"),
    "c10": (447, 4, "15000", 1, 5, 5, 5, "cannot_lose"),
}


def test_rfm_scores_and_segments(con):
    got = segments(con)
    assert set(got) == set(CUSTOMER_IDS)  # c11 (only cancelled), c12 (no order) have none
    for cid, (recency, frequency, monetary, r, f, m, fm, segment) in RFM.items():
        row = got[cid]
        assert (row["recency_days"], row["frequency"], row["monetary"]) == (
            recency,
            frequency,
            Decimal(monetary),
        ), cid
        assert (row["r_score"], row["f_score"], row["m_score"], row["fm_score"]) == (
            r,
            f,
            m,
            fm,
        ), cid
        assert row["rfm_cell"] == f"{r}{f}{m}"
        assert row["rfm_segment"] == segment, cid


def test_rfm_grid_has_every_label_once_per_cell(con):
    grid = by(con, "select * from marts.rfm_segment_grid", "r_score", "fm_score")
    assert len(grid) == 25
    assert grid[5, 1]["rfm_segment"] == "new"
    assert grid[4, 1]["rfm_segment"] == "promising"
    assert grid[3, 3]["rfm_segment"] == "needs_attention"
    assert grid[1, 2]["rfm_segment"] == "lost" and grid[2, 2]["rfm_segment"] == "hibernating"
    assert grid[2, 5]["rfm_segment"] == grid[1, 5]["rfm_segment"] == "cannot_lose"
    assert {row["rfm_segment"] for row in grid.values()} == {
        "champions", "loyal", "potential_loyalist", "new", "promising", "needs_attention",
        "about_to_sleep", "at_risk", "cannot_lose", "hibernating", "lost",
    }  # fmt: skip


# Lifecycle at 2024-06-30 (W = 90, factor 1.5, "the last 30 days" = at most 30 days before):
#   c01 gaps 30, 31, 24: median 30, overdue after 45; 5 days since -> active
#   c02 gaps 1, 1, 518: Jun 5 came 518 > 90 days after Jan 4 2023, 25 days ago ->
#       reactivated (its median 1 says overdue after 1.5 days: reactivated wins)
#   c03 172 days > 90 -> churned (it had come back on Jan 10, 193 days after Jul 1)
#   c04 first order Jun 1, 29 days ago -> new (its median gap 1 says overdue: new wins)
#   c05 one order: the population median 29, overdue after 43.5; 60 days -> at_risk
#   c06 gaps 10, 10: overdue after 15; 40 days -> at_risk
#   c07 gaps 60, 61: median 60.5, overdue after 90.75; 56 days -> active
#   c08 two orders on one day (own median 0, no interval): the population median, 43.5;
#       41 days -> active
#   c09 366 days, c10 447 days -> churned
LIFECYCLE = {
    "c01": ("active", 30, 45),
    "c02": ("reactivated", 1, 1.5),
    "c03": ("churned", 193, 289.5),
    "c04": ("new", 1, 1.5),
    "c05": ("at_risk", 29, 43.5),
    "c06": ("at_risk", 10, 15),
    "c07": ("active", 60.5, 90.75),
    "c08": ("active", 29, 43.5),
    "c09": ("churned", 29, 43.5),
    "c10": ("churned", 31, 46.5),
}


def test_lifecycle_stages(con):
    got = segments(con)
    for cid, (stage, reference_gap, after) in LIFECYCLE.items():
        row = got[cid]
        assert row["lifecycle_stage"] == stage, cid
        assert row["reference_gap_days"] == reference_gap, cid
        assert row["at_risk_after_days"] == pytest.approx(after), cid
        assert row["population_median_gap_days"] == 29
    assert got["c08"]["median_days_between_orders"] == 0  # its own, not used
    assert got["c05"]["median_days_between_orders"] is None
    assert got["c02"]["last_reactivation_date"] == date(2024, 6, 5)
    assert got["c03"]["last_reactivation_date"] == date(2024, 1, 10)
    assert got["c01"]["last_reactivation_date"] is None
    assert {cid for cid, row in got.items() if row["is_churned"]} == {"c03", "c09", "c10"}


# Buyer types: 1 order one_time, 2-3 occasional, >= 4 frequent.
BUYER_TYPES = {
    "one_time": {"c05", "c09"},
    "occasional": {"c03", "c04", "c06", "c07", "c08"},
    "frequent": {"c01", "c02", "c10"},
}

# Trailing 12 months = 2023-07-01 .. 2024-06-30:
#   c01 12000 -> diamond, floor(120) x 3 = 360 points
#   c02 2500 (its 2023-01 orders are older) -> gold, 25 x 2 = 50
#   c03 2000 (Jul 1 2023, the first day in) + 100 = 2100 -> gold, 21 x 2 = 42
#   c04 50 -> 0 points; c05 80 -> 0; c06 600 -> 6; c07 400 + (500 - 100) + 400 = 1200 -> 12;
#   c08 300 -> 3; c09 0 (Jun 30 2023 is the day before the window); c10 0 (2023-01..04)
LOYALTY = {
    "c01": ("12000", "diamond", 3, 360),
    "c02": ("2500", "gold", 2, 50),
    "c03": ("2100", "gold", 2, 42),
    "c04": ("50", "regular", 1, 0),
    "c05": ("80", "regular", 1, 0),
    "c06": ("600", "regular", 1, 6),
    "c07": ("1200", "regular", 1, 12),
    "c08": ("300", "regular", 1, 3),
    "c09": ("0", "regular", 1, 0),
    "c10": ("0", "regular", 1, 0),
}


def test_buyer_types_and_loyalty(con):
    got = segments(con)
    for buyer_type, ids in BUYER_TYPES.items():
        assert {c for c, row in got.items() if row["buyer_type"] == buyer_type} == ids
    for cid, (spend, tier, multiplier, points) in LOYALTY.items():
        row = got[cid]
        assert row["trailing_12m_net_spend"] == Decimal(spend), cid
        assert (row["loyalty_tier"], row["tier_multiplier"], row["loyalty_points"]) == (
            tier,
            multiplier,
            points,
        ), cid


def test_segment_summary_partitions_the_customers(con):
    got = by(con, "select * from marts.segment_summary", "dimension", "segment")
    counts = {k: row["customers"] for k, row in got.items()}
    assert {s: n for (d, s), n in counts.items() if d == "rfm_segment"} == {
        "champions": 2, "loyal": 1, "potential_loyalist": 2, "new": 0, "promising": 0,
        "needs_attention": 0, "about_to_sleep": 1, "at_risk": 1, "cannot_lose": 1,
        "hibernating": 1, "lost": 1,
    }  # fmt: skip
    assert {s: n for (d, s), n in counts.items() if d == "lifecycle_stage"} == {
        "new": 1, "active": 3, "reactivated": 1, "at_risk": 2, "churned": 3,
    }  # fmt: skip
    assert {s: n for (d, s), n in counts.items() if d == "buyer_type"} == {
        "one_time": 2, "occasional": 5, "frequent": 3,
    }  # fmt: skip
    assert {s: n for (d, s), n in counts.items() if d == "loyalty_tier"} == {
        "regular": 7, "gold": 2, "diamond": 1,
    }  # fmt: skip
    champions = got["rfm_segment", "champions"]
    assert champions["net_revenue"] == Decimal("14800")  # 12000 + 2800
    assert champions["share_of_customers"] == pytest.approx(0.2)
    assert champions["valid_orders"] == 8
    assert champions["avg_recency_days"] == pytest.approx(15)  # (5 + 25) / 2
    empty = got["rfm_segment", "new"]
    assert (empty["net_revenue"], empty["avg_net_revenue"], empty["share_of_customers"]) == (
        Decimal("0"),
        None,
        0.0,
    )
    assert got["loyalty_tier", "gold"]["loyalty_points"] == 92  # 50 + 42
    assert got["loyalty_tier", "regular"]["loyalty_points"] == 21  # 6 + 12 + 3
    # every dimension adds up to the 10 customers with a valid order and their 34430
    for dimension in ("rfm_segment", "buyer_type", "lifecycle_stage", "loyalty_tier"):
        in_dimension = [row for (d, _), row in got.items() if d == dimension]
        assert sum(row["customers"] for row in in_dimension) == 10
        assert sum(row["net_revenue"] for row in in_dimension) == Decimal("34430")


def test_winback_list_is_the_at_risk_customers_with_what_they_bought(con):
    got = by(con, "select * from marts.winback_list", "customer_id")
    assert set(got) == {"c05", "c06"}
    c05 = got["c05"]
    assert (c05["last_order_date"], c05["days_since_last_order"]) == (date(2024, 5, 1), 60)
    assert (c05["valid_orders"], c05["net_revenue"]) == (1, Decimal("80"))
    assert c05["median_days_between_orders"] is None
    assert (c05["reference_gap_days"], c05["at_risk_after_days"]) == (29, 43.5)
    assert c05["days_until_churn"] == 30  # 90 - 60
    assert c05["churn_date_if_no_order"] == date(2024, 7, 31)  # May 1 + 91 days
    assert (c05["last_order_products"], c05["products_bought"]) == ("Mug", "Mug")
    c06 = got["c06"]
    assert (c06["last_order_date"], c06["days_since_last_order"]) == (date(2024, 5, 21), 40)
    assert (c06["valid_orders"], c06["net_revenue"]) == (3, Decimal("600"))
    assert c06["median_days_between_orders"] == 10
    assert c06["days_until_churn"] == 50
    assert c06["churn_date_if_no_order"] == date(2024, 8, 20)  # May 21 + 91 days
    # o17 (May 21) was a Pen; the Mugs were earlier
    assert (c06["last_order_products"], c06["last_order_categories"]) == ("Pen", "office")
    assert (c06["products_bought"], c06["categories_bought"]) == ("Mug, Pen", "kitchen, office")
    assert c06["distinct_products"] == 2
    assert (c06["loyalty_tier"], c06["rfm_segment"], c06["buyer_type"]) == (
        "regular",
        "potential_loyalist",
        "occasional",
    )


def test_other_choices_for_the_variables(alt):
    """tier_thresholds gold 500 / diamond 2500, frequent_min_orders 3, at_risk_factor 3."""
    got = segments(alt)
    tiers = {cid: (row["loyalty_tier"], row["loyalty_points"]) for cid, row in got.items()}
    assert tiers == {
        "c01": ("diamond", 360),  # 12000
        "c02": ("diamond", 75),  # 2500: the threshold itself is in, 25 x 3
        "c03": ("gold", 42),  # 2100
        "c04": ("regular", 0),
        "c05": ("regular", 0),
        "c06": ("gold", 12),  # 600: 6 x 2
        "c07": ("gold", 24),  # 1200: 12 x 2
        "c08": ("regular", 3),
        "c09": ("regular", 0),
        "c10": ("regular", 0),
    }
    buyer = {cid: row["buyer_type"] for cid, row in got.items()}
    assert {c for c, t in buyer.items() if t == "frequent"} == {"c01", "c02", "c06", "c07", "c10"}
    assert {c for c, t in buyer.items() if t == "occasional"} == {"c03", "c04", "c08"}
    # factor 3: c05 overdue after 87 days (60: active), c06 after 30 (40: still at risk)
    stages = {cid: row["lifecycle_stage"] for cid, row in got.items()}
    assert stages["c05"] == "active" and stages["c06"] == "at_risk"
    assert set(by(alt, "select * from marts.winback_list", "customer_id")) == {"c06"}


def test_tier_thresholds_must_be_ordered(tmp_path):
    from runner.errors import ErrorGroup, ProjectError

    with pytest.raises((ProjectError, ErrorGroup)) as info:
        build(tmp_path, TABLES, {"tier_thresholds": {"gold": 10000, "diamond": 2000}})
    assert "tier_thresholds must be {gold: G, diamond: D} with 0 < G < D" in str(info.value)


# ------------------------------------------------------------------------------- feedback

JAN23, FEB23, MAR23, JUL23 = (date(2023, m, 1) for m in (1, 2, 3, 7))
APR24, MAY24, JUN24 = (date(2024, m, 1) for m in (4, 5, 6))


def monthly(con) -> dict:
    return by(con, "select * from marts.feedback_monthly", "month", "channel")


def test_feedback_monthly_grid(con):
    got = monthly(con)
    # Jan 2023 (o06) .. Jun 2024 = 18 months x {email, organic, paid_search}
    assert len(got) == 54
    assert {c for _, c in got} == {"email", "organic", "paid_search"}
    assert min(m for m, _ in got) == JAN23 and max(m for m, _ in got) == JUN24
    quiet = got[date(2023, 8, 1), "email"]
    assert (quiet["responses"], quiet["valid_orders"], quiet["referral_base"]) == (0, 0, 1)
    assert (quiet["nps"], quiet["csat"], quiet["csat_mean"], quiet["complaint_rate"]) == (
        (None,) * 4
    )
    assert quiet["referral_rate"] == 0.0  # c03 (cohort Jul 2023) referred nobody


def test_feedback_monthly_nps_and_csat(con):
    got = monthly(con)
    # Jun 2024 paid_search: f01 (10, 5), f04 (9, -), f05 (-, 3)
    cell = got[JUN24, "paid_search"]
    assert (cell["responses"], cell["nps_responses"]) == (3, 2)
    assert (cell["promoters"], cell["passives"], cell["detractors"]) == (2, 0, 0)
    assert cell["nps"] == 100
    assert (cell["csat_responses"], cell["satisfied_responses"]) == (2, 1)
    assert (cell["csat"], cell["csat_mean"]) == (0.5, 4.0)
    # Jun 2024 email: f02 (3, 2), f03 (8, 4; no order: c07's acquisition channel), f09 (7, 5;
    # about the cancelled o05), f13 (no scores); f06 (Jul 2) is after the as-of date
    cell = got[JUN24, "email"]
    assert (cell["responses"], cell["nps_responses"]) == (4, 3)
    assert (cell["promoters"], cell["passives"], cell["detractors"]) == (0, 2, 1)
    assert cell["nps"] == pytest.approx(-100 / 3)
    assert (cell["csat_responses"], cell["satisfied_responses"]) == (3, 2)
    assert cell["csat"] == pytest.approx(2 / 3)
    assert cell["csat_mean"] == pytest.approx(11 / 3)  # (2 + 4 + 5) / 3
    # May 2024 paid_search: f07 (6, 4), f08 (9, -; no order: c05's acquisition channel)
    cell = got[MAY24, "paid_search"]
    assert (cell["promoters"], cell["detractors"], cell["nps"]) == (1, 1, 0.0)
    assert (cell["csat"], cell["csat_mean"]) == (1.0, 4.0)
    # Jul 2023 organic: f11 (5, 2) and f12 (9, 4)
    cell = got[JUL23, "organic"]
    assert (cell["nps"], cell["csat"], cell["csat_mean"]) == (0.0, 0.5, 3.0)
    assert (got[FEB23, "paid_search"]["nps"], got[FEB23, "paid_search"]["csat"]) == (100, 1.0)
    # all answers on or before the as-of date: 12 of 13 (not f06)
    assert sum(row["responses"] for row in got.values()) == 12


def test_feedback_monthly_agrees_with_channel_kpis(con):
    got = monthly(con)
    kpis = by(con, "select * from marts.channel_kpis_monthly", "month", "channel")
    assert set(kpis) == set(got)
    for key, row in got.items():
        for column in ("nps_responses", "nps", "csat_responses", "csat", "csat_mean"):
            assert row[column] == pytest.approx(kpis[key][column]), (key, column)


def test_feedback_monthly_complaint_rate(con):
    got = monthly(con)
    # May 2024 email: o02, o15, o16, o17, o20 valid; o17 has two complaints (f02, f13): 1 / 5
    cell = got[MAY24, "email"]
    assert (cell["valid_orders"], cell["complaint_orders"], cell["complaint_rate"]) == (5, 1, 0.2)
    # May 2024 paid_search: o14, o21, o22; o21's complaint (f05) came in June: still May's
    cell = got[MAY24, "paid_search"]
    assert (cell["valid_orders"], cell["complaint_orders"]) == (3, 1)
    assert cell["complaint_rate"] == pytest.approx(1 / 3)
    # Jun 2024 email: o04 is the only valid order (o05, o28 cancelled: f09's complaint is about
    # o05); o04's complaint f06 comes after the as-of date -> 0 / 1
    cell = got[JUN24, "email"]
    assert (cell["valid_orders"], cell["complaint_orders"], cell["complaint_rate"]) == (1, 0, 0.0)
    assert got[JUL23, "organic"]["complaint_rate"] is None  # no valid order that month
    assert sum(row["complaint_orders"] for row in got.values()) == 2


def test_feedback_monthly_referral_rate(con):
    got = monthly(con)
    # base = customers acquired through the channel with a first valid order by the month's end
    # organic: c09 (Jun 2023), c01 (Apr 2024), c04 (Jun 2024)
    # Apr 2024: c01 referred c05 (created Apr 20) -> 1 of {c09, c01}
    cell = got[APR24, "organic"]
    assert (cell["referral_base"], cell["referrers"], cell["referred_customers"]) == (2, 1, 1)
    assert cell["referral_rate"] == 0.5
    # May 2024: c01 referred c04 (created May 25; its first order Jun 1)
    assert (got[MAY24, "organic"]["referrers"], got[MAY24, "organic"]["referral_rate"]) == (
        1,
        0.5,
    )
    # Jun 2024: nobody (c13, created Jul 5, is after the as-of date)
    cell = got[JUN24, "organic"]
    assert (cell["referral_base"], cell["referrers"], cell["referral_rate"]) == (3, 0, 0.0)
    # May 2024 email: c07 (cohort Jan 2024) referred c08 (created May 10); base c03, c06, c07
    cell = got[MAY24, "email"]
    assert (cell["referral_base"], cell["referrers"]) == (3, 1)
    assert cell["referral_rate"] == pytest.approx(1 / 3)
    # Mar 2023 paid_search: c10 referred c12 (created Mar 1 2023, who never ordered); base c02,
    # c10 (both Jan 2023)
    cell = got[MAR23, "paid_search"]
    assert (cell["referral_base"], cell["referrers"], cell["referral_rate"]) == (2, 1, 0.5)
    assert got[JAN23, "organic"]["referral_rate"] is None  # nobody acquired yet
    assert sum(row["referred_customers"] for row in got.values()) == 4


def test_feedback_by_product(con):
    got = by(con, "select * from marts.feedback_by_product", "product_id")
    assert set(got) == {"p1", "p2", "p3"}
    # p1: 26 valid orders, all with p1 except o17 and o22 -> 24 (o20's two lines count once);
    # bought by all ten customers. Answers about orders with p1: f01 (o03), f04, f05, f07,
    # f09 (o05, cancelled: still an answer), f10, f11, f12 -> 8
    #   NPS 10, 9, -, 6, 7, 10, 5, 9: 7 answers, promoters 4, passives 1, detractors 2
    #   CSAT 5, -, 3, 4, 5, 5, 2, 4: 7 answers, 5 satisfied, mean 28 / 7 = 4
    #   complaints on valid orders: o21 (f05) -> 1 / 24; referrers c01, c07, c10 -> 3 / 10
    p1 = got["p1"]
    assert (p1["product_name"], p1["category"]) == ("Mug", "kitchen")
    assert (p1["valid_orders"], p1["customers"], p1["responses"]) == (24, 10, 8)
    assert (p1["promoters"], p1["passives"], p1["detractors"]) == (4, 1, 2)
    assert p1["nps"] == pytest.approx(200 / 7)  # 100 x (4 - 2) / 7
    assert (p1["csat_responses"], p1["satisfied_responses"]) == (7, 5)
    assert (p1["csat"], p1["csat_mean"]) == (pytest.approx(5 / 7), pytest.approx(4.0))
    assert (p1["complaint_orders"], p1["complaint_rate"]) == (1, pytest.approx(1 / 24))
    assert (p1["referrers"], p1["referral_rate"]) == (3, 0.3)
    # p2: o03 (c01), o17 (c06), o22 (c08); answers f01 (10, 5), f02 (3, 2), f13 (complaint only)
    p2 = got["p2"]
    assert (p2["valid_orders"], p2["customers"], p2["responses"]) == (3, 3, 3)
    assert (p2["nps_responses"], p2["nps"]) == (2, 0.0)
    assert (p2["csat"], p2["csat_mean"]) == (0.5, 3.5)
    assert (p2["complaint_orders"], p2["complaint_rate"]) == (1, pytest.approx(1 / 3))
    assert (p2["referrers"], p2["referral_rate"]) == (1, pytest.approx(1 / 3))  # c01
    # p3: never ordered: zeros and NULL rates
    p3 = got["p3"]
    assert (p3["valid_orders"], p3["responses"], p3["complaint_orders"]) == (0, 0, 0)
    assert (p3["nps"], p3["csat"], p3["complaint_rate"], p3["referral_rate"]) == (None,) * 4


# Satisfaction = the latest CSAT answer on or before the as-of date:
#   satisfied (4-5): c01 (5, f09), c05 (4), c07 (4), c09 (4, f12), c10 (5)
#   unsatisfied (1-3): c06 (2), c08 (3)
#   no_answer: c02 (only an NPS score), c03, c04
def test_satisfaction_profiles(con):
    got = by(
        con,
        "select * from marts.satisfaction_profiles",
        "satisfaction",
        "dimension",
        "dimension_value",
    )
    # 3 groups x (overall + 2 regions + 3 channels + 3 tiers + 5 quintiles)
    assert len(got) == 3 * 14
    sat = got["satisfied", "overall", "all"]
    assert (sat["customers"], sat["group_customers"], sat["valid_orders"]) == (5, 5, 13)
    assert sat["net_revenue"] == Decimal("28580")  # 12000 + 80 + 1200 + 300 + 15000
    assert sat["avg_net_revenue"] == Decimal("5716")
    assert sat["median_net_revenue"] == Decimal("1200")
    assert sat["avg_trailing_12m_net_spend"] == Decimal("2656")  # (12000 + 80 + 1200) / 5
    assert sat["avg_latest_nps"] == pytest.approx(8.6)  # (7 + 9 + 8 + 9 + 10) / 5
    assert sat["complaints"] == 1  # c01's f09 (f06 is after the as-of date)
    unsat = got["unsatisfied", "overall", "all"]
    assert (unsat["customers"], unsat["net_revenue"], unsat["median_net_revenue"]) == (
        2,
        Decimal("900"),
        Decimal("450"),
    )
    assert (unsat["avg_latest_nps"], unsat["complaints"]) == (3.0, 3)  # c06 3 (c08: none)
    none = got["no_answer", "overall", "all"]
    assert (none["customers"], none["net_revenue"]) == (3, Decimal("4950"))
    assert none["avg_latest_nps"] == 9.0  # c02's NPS-only answer
    # where they are: satisfied c01, c05, c07, c09 north, c10 south; unsatisfied both south
    assert got["satisfied", "region", "north"]["share_of_group"] == pytest.approx(0.8)
    assert got["unsatisfied", "region", "south"]["share_of_group"] == 1.0
    assert got["unsatisfied", "region", "north"]["customers"] == 0
    assert got["satisfied", "acquisition_channel", "organic"]["customers"] == 2  # c01, c09
    assert got["satisfied", "loyalty_tier", "diamond"]["customers"] == 1  # c01
    assert got["no_answer", "loyalty_tier", "gold"]["customers"] == 2  # c02, c03
    quintiles = {
        v: got["satisfied", "spend_quintile", v]["customers"] for v in ("1", "2", "3", "4", "5")
    }
    assert quintiles == {"1": 1, "2": 1, "3": 1, "4": 0, "5": 2}  # c05; c09; c07; -; c01, c10


def test_empty_feedback_source(tmp_path):
    """A shop without a survey tool: no NPS, CSAT or complaint data (NULL, not 0); referrals
    still come from the customers."""
    con = build(tmp_path, {**TABLES, "feedback": []})
    got = monthly(con)
    assert all(row["responses"] == 0 and row["nps"] is None for row in got.values())
    assert all(row["complaint_rate"] is None for row in got.values())
    assert got[MAY24, "email"]["valid_orders"] == 5
    assert got[APR24, "organic"]["referral_rate"] == 0.5
    product = by(con, "select * from marts.feedback_by_product", "product_id")["p1"]
    assert (product["complaint_rate"], product["csat"], product["referral_rate"]) == (
        None,
        None,
        0.3,
    )
    profiles = by(
        con,
        "select * from marts.satisfaction_profiles where dimension = 'overall'",
        "satisfaction",
    )
    assert {k: row["customers"] for k, row in profiles.items()} == {
        "satisfied": 0,
        "unsatisfied": 0,
        "no_answer": 10,
    }
