"""Products and sales-team marts (models/marts/products, models/marts/sales) on a hand-made
fixture, and the planted bad batch on the demo data.

Every expected number below is worked out by hand from the rows of this file (the arithmetic
is in the comments); none is copied from what the SQL returned. The demo test recomputes the
batch rates with pandas from the staging views, independently of the marts' SQL.

The fixture: January to March 2024; the latest order is on 2024-03-20, the as-of date.
Catalogue: p1 Mug and p2 Kettle (kitchen), p3 Pen and p4 Notebook (office); p9 is sold but
missing from the catalogue (category unknown). affinity_min_orders = 2 for this build.

    customer region  rep  valid orders (date: lines as product qty x price [batch] = amount)
    c1       north   r1   o1 Jan 5:  p1 2x10 [B1] = 20, p2 1x50 - 5 discount [K1] = 45,
                                     p3 1x3 [P1] = 3                                  =  68
                          o5 Jan 25: p3 3x3 [P1] = 9, p4 1x6 [N1] = 6                  =  15
                          o6 Feb 2:  p2 1x50 [K2], p2 1x50 [K1], p1 1x10 [B2]          = 110
                                     returns: p2 40 (-> line 1, batch K2); p9 5 (p9 is
                                     not on the order: no line; category unknown)   net  65
    c2       north   r1   o2 Jan 10: p1 1x10 [B1], p2 1x50 [K1]; return p2 25 (K1)     60 -> 35
                          o7 Feb 14: p1 1x10 [B2], p2 1x50 [K2]; a complaint           =  60
                          o10 Mar 10: p3 1x3 [P2], p4 1x6 [N1]                         =   9
    c3       south   r2   o3 Jan 15: p2 1x50 [K2] returned Feb 3 (late: off January),
                                     p4 1x6 [N1]                                   56 -> 6
                          o9 Mar 3:  p1 1x10 [B2], p3 2x3 [P1]                          =  16
    c4       south   -    o4 Jan 20 cancelled (p1 5x10 [B1], and a complaint): no order
                          o11 Mar 20: p1 1x10 [B2]; two returns of p1, 6 then 3, both
                                     on its one line                               10 -> 1
    c5       (none)  r9   o8 Feb 20 10:00: p9 2x4 = 8, p3 1x3 = 3 (no batches)        =  11
                          o12 Feb 20 15:00: p4 1x6 [N2]  (same day, a later order)    =   6
    c6       south   r2   no order

Net revenue per month: January 68 + 35 + 6 + 15 = 124 (gross 199, refunds 75); February
65 + 60 + 11 + 6 = 142 (gross 187, refunds 45); March 16 + 9 + 1 = 26 (gross 35, refunds 9).
Sales reps: r1 Ann, r2 Bob, r3 Cid (no customers); r9 is carried by c5 but missing from the
sales_reps table.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from warehouse import REPO, build_warehouse, rows

JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
MY_MODELS = {
    "int_product_lines",
    "product_sales_monthly",
    "product_affinity",
    "category_affinity",
    "next_purchase_cross_sell",
    "product_quality",
    "batch_quality",
    "sales_rep_monthly",
}


def _customer(customer_id, region, rep):
    return {
        "customer_id": customer_id,
        "created_at": "2024-01-01 00:00:00",
        "region": region,
        "country": "DE",
        "acquisition_channel": "organic",
        "sales_rep_id": rep,
        "updated_at": "2024-01-01 00:00:00",
    }


CUSTOMERS = [
    _customer("c1", "north", "r1"),
    _customer("c2", "north", "r1"),
    _customer("c3", "south", "r2"),
    _customer("c4", "south", None),
    _customer("c5", None, "r9"),
    _customer("c6", "south", "r2"),
]

SALES_REPS = [
    {"sales_rep_id": "r1", "rep_name": "Ann", "team": "A", "region": "north"},
    {"sales_rep_id": "r2", "rep_name": "Bob", "team": "B", "region": "south"},
    {"sales_rep_id": "r3", "rep_name": "Cid", "team": "A", "region": "north"},
]


def _order(order_id, customer_id, ordered_at, status="delivered"):
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "ordered_at": ordered_at,
        "channel": "organic",
        "status": status,
        "updated_at": ordered_at,
    }


ORDERS = [
    _order("o1", "c1", "2024-01-05 10:00:00"),
    _order("o2", "c2", "2024-01-10 10:00:00", "returned"),
    _order("o3", "c3", "2024-01-15 10:00:00", "returned"),
    _order("o4", "c4", "2024-01-20 10:00:00", "cancelled"),
    _order("o5", "c1", "2024-01-25 10:00:00"),
    _order("o6", "c1", "2024-02-02 10:00:00", "returned"),
    _order("o7", "c2", "2024-02-14 10:00:00"),
    _order("o8", "c5", "2024-02-20 10:00:00"),
    _order("o12", "c5", "2024-02-20 15:00:00"),
    _order("o9", "c3", "2024-03-03 10:00:00"),
    _order("o10", "c2", "2024-03-10 10:00:00"),
    _order("o11", "c4", "2024-03-20 10:00:00", "returned"),
]


def _line(order_id, line_number, product_id, batch_id, quantity, unit_price, discount="0"):
    return {
        "order_id": order_id,
        "line_number": line_number,
        "product_id": product_id,
        "batch_id": batch_id,
        "quantity": quantity,
        "unit_price": unit_price,
        "discount": discount,
    }


ITEMS = [
    _line("o1", 1, "p1", "B1", 2, "10"),
    _line("o1", 2, "p2", "K1", 1, "50", "5"),
    _line("o1", 3, "p3", "P1", 1, "3"),
    _line("o2", 1, "p1", "B1", 1, "10"),
    _line("o2", 2, "p2", "K1", 1, "50"),
    _line("o3", 1, "p2", "K2", 1, "50"),
    _line("o3", 2, "p4", "N1", 1, "6"),
    _line("o4", 1, "p1", "B1", 5, "10"),
    _line("o5", 1, "p3", "P1", 3, "3"),
    _line("o5", 2, "p4", "N1", 1, "6"),
    _line("o6", 1, "p2", "K2", 1, "50"),
    _line("o6", 2, "p2", "K1", 1, "50"),
    _line("o6", 3, "p1", "B2", 1, "10"),
    _line("o7", 1, "p1", "B2", 1, "10"),
    _line("o7", 2, "p2", "K2", 1, "50"),
    _line("o8", 1, "p9", None, 2, "4"),
    _line("o8", 2, "p3", None, 1, "3"),
    _line("o12", 1, "p4", "N2", 1, "6"),
    _line("o9", 1, "p1", "B2", 1, "10"),
    _line("o9", 2, "p3", "P1", 2, "3"),
    _line("o10", 1, "p3", "P2", 1, "3"),
    _line("o10", 2, "p4", "N1", 1, "6"),
    _line("o11", 1, "p1", "B2", 1, "10"),
]

PRODUCTS = [
    {"product_id": "p1", "product_name": "Mug", "category": "kitchen", "unit_cost": "2"},
    {"product_id": "p2", "product_name": "Kettle", "category": "kitchen", "unit_cost": "10"},
    {"product_id": "p3", "product_name": "Pen", "category": "office", "unit_cost": "1"},
    {"product_id": "p4", "product_name": "Notebook", "category": "office", "unit_cost": "1"},
]


def _return(return_id, order_id, product_id, returned_at, refund):
    return {
        "return_id": return_id,
        "order_id": order_id,
        "product_id": product_id,
        "returned_at": returned_at,
        "refund_amount": refund,
        "reason": "broken",
    }


RETURNS = [
    _return("r1", "o3", "p2", "2024-02-03 00:00:00", "50"),  # a January order, refunded in Feb
    _return("r2", "o6", "p2", "2024-02-10 00:00:00", "40"),  # partial; o6 has two p2 lines
    _return("r3", "o6", "p9", "2024-02-11 00:00:00", "5"),  # p9 is not on o6
    _return("r4", "o11", "p1", "2024-03-25 00:00:00", "6"),  # after the as-of date: counts
    _return("r5", "o11", "p1", "2024-03-26 00:00:00", "3"),  # a second return, one line
    _return("r6", "o2", "p2", "2024-01-30 00:00:00", "25"),
]


def _feedback(feedback_id, customer_id, order_id, submitted_at, csat, complaint=False):
    return {
        "feedback_id": feedback_id,
        "customer_id": customer_id,
        "order_id": order_id,
        "submitted_at": submitted_at,
        "nps_score": None,
        "csat_score": csat,
        "is_complaint": "true" if complaint else "false",
    }


FEEDBACK = [
    _feedback("f1", "c2", "o7", "2024-02-20 00:00:00", 1, complaint=True),
    _feedback("f2", "c1", "o1", "2024-01-10 00:00:00", 5),
    _feedback("f3", "c1", "o6", "2024-02-12 00:00:00", 2, complaint=True),
    _feedback("f4", "c3", "o3", "2024-01-20 00:00:00", 4),
    _feedback("f5", "c2", "o2", "2024-01-15 00:00:00", 3),
    _feedback("f6", "c4", "o4", "2024-01-21 00:00:00", 1, complaint=True),  # cancelled order
    _feedback("f7", "c3", "o9", "2024-03-05 00:00:00", 5),
    _feedback("f8", "c2", "o10", "2024-03-25 00:00:00", 1),  # after the as-of date
]

TABLES = {
    "customers": CUSTOMERS,
    "sales_reps": SALES_REPS,
    "orders": ORDERS,
    "order_items": ITEMS,
    "products": PRODUCTS,
    "returns": RETURNS,
    "feedback": FEEDBACK,
}


def build(root: Path, tables: dict, vars: dict[str, Any] | None = None):
    """tests/warehouse.build_warehouse with the SQL validator (much faster than GX); returns
    the connection and each node's result."""
    results: dict[str, Any] = {}
    con = build_warehouse(root, tables, vars, results=results, validator="sql")
    return con, results


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("products_sales"), TABLES, {"affinity_min_orders": 2})


@pytest.fixture(scope="module")
def con(built):
    return built[0]


def by(con, sql: str, *keys: str) -> dict:
    out = {}
    for row in rows(con, sql):
        key = tuple(row[k] for k in keys)
        out[key[0] if len(keys) == 1 else key] = row
    return out


def wilson_lower(k: int, n: int, z: float = 1.96) -> float:
    """Lower end of the Wilson score interval (Wilson 1927), written out independently."""
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def test_every_expectation_of_these_marts_passes_on_the_fixture(built):
    _, results = built
    checked = {uid.split(".")[-1]: r.extra.get("expectations", []) for uid, r in results.items()}
    assert set(checked) >= MY_MODELS
    for name in MY_MODELS:
        assert checked[name], f"{name} has no expectations"
        bad = [(e["name"], e["status"]) for e in checked[name] if e["status"] != "pass"]
        assert not bad, f"{name}: {bad}"


def _yaml_check(model: str, name: str) -> str:
    """The SQL of one `sql` expectation of _products.yml, for the whole table."""
    models = yaml.safe_load((REPO / "models/marts/products/_products.yml").read_text())["models"]
    [declared] = [m for m in models if m["name"] == model]
    [check] = [e["sql"] for e in declared["expectations"] if "sql" in e and e.get("name") == name]
    text = check["sql"] if isinstance(check, dict) else check
    text = re.sub(r"\{changed:[^{}]+\}", "true", text)  # the whole table
    for ref in ("fct_order_items", "as_of"):
        text = text.replace(f"{{ref:{ref}}}", f"facts.{ref}")
    return text


def test_a_wrong_category_count_fails_int_affinity_months_check(con):
    check = _yaml_check("int_affinity_months", "category_baskets_reconcile_with_fct_order_items")
    con.execute("create temp table tampered as select * from marts.int_affinity_months")
    assert con.execute(check.replace("{this}", "tampered")).fetchall() == []
    # one category's baskets of one month off by one, and one month's category total gone
    con.execute(
        "update tampered set orders = orders + 1 where level = 'category' and kind = 'item' "
        "and month = (select min(month) from tampered) and item_a = (select min(item_a) "
        "from tampered where level = 'category' and month = (select min(month) from tampered))"
    )
    con.execute(
        "delete from tampered where level = 'category' and kind = 'total' "
        "and month = (select max(month) from tampered)"
    )
    failing = con.execute(check.replace("{this}", "tampered")).fetchall()
    assert len(failing) == 2
    con.execute("drop table tampered")


def test_affinity_threshold_is_a_project_var():
    settings = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert settings["tool"]["runner"]["vars"]["affinity_min_orders"] == 5


# ------------------------------------------------------------------------- distribution


def test_distribution_units_and_net_revenue(con):
    got = by(con, "select * from marts.product_sales_monthly", "month", "category", "region")
    D = Decimal
    expected = {
        # (orders, customers, units, gross, refunds, net)
        # o1 p1 20 + p2 45 (3 units), o2 p1 10 + p2 50 (2 units); o2's p2 refund 25
        (JAN, "kitchen", "north"): (2, 2, 5, D(125), D(25), D(100)),
        # o1 p3 3 (1 unit), o5 p3 9 (3 units) + p4 6 (1 unit): both c1's
        (JAN, "office", "north"): (2, 1, 5, D(18), D(0), D(18)),
        # o3 p2 50, refunded 50 in February: taken off January, the order's month
        (JAN, "kitchen", "south"): (1, 1, 1, D(50), D(50), D(0)),
        (JAN, "office", "south"): (1, 1, 1, D(6), D(0), D(6)),
        # o6 p2 50 + p2 50 + p1 10 (3 units), o7 p1 10 + p2 50 (2 units); o6's p2 refund 40
        (FEB, "kitchen", "north"): (2, 2, 5, D(170), D(40), D(130)),
        # o6's refund of p9 (not in the catalogue, not on the order): a refund-only row
        (FEB, "unknown", "north"): (0, 0, 0, D(0), D(5), D(-5)),
        # c5 has no region; o8's p9 2 x 4
        (FEB, "unknown", "unknown"): (1, 1, 2, D(8), D(0), D(8)),
        # o8 p3 3 and o12 p4 6, both c5's
        (FEB, "office", "unknown"): (2, 1, 2, D(9), D(0), D(9)),
        # o9 p1 10 (c3) and o11 p1 10 (c4); o11's refunds 6 + 3 (one after the as-of date)
        (MAR, "kitchen", "south"): (2, 2, 2, D(20), D(9), D(11)),
        (MAR, "office", "south"): (1, 1, 2, D(6), D(0), D(6)),  # o9 p3 2 x 3
        (MAR, "office", "north"): (1, 1, 2, D(9), D(0), D(9)),  # o10 p3 3 + p4 6
    }
    assert set(got) == set(expected)  # o4 (cancelled) is nowhere
    for key, (orders, customers, units, gross, refunds, net) in expected.items():
        row = got[key]
        assert (row["orders"], row["customers"], row["units"]) == (orders, customers, units), key
        assert (row["gross_revenue"], row["refund_amount"]) == (gross, refunds), key
        assert row["net_revenue"] == net, key
    per_month = {
        m: sum(r["net_revenue"] for k, r in got.items() if k[0] == m) for m in (JAN, FEB, MAR)
    }
    assert per_month == {JAN: D(124), FEB: D(142), MAR: D(26)}


# ----------------------------------------------------------------------------- affinity
# Baskets (valid orders, products): o1 {p1 p2 p3}, o2 {p1 p2}, o3 {p2 p4}, o5 {p3 p4},
# o6 {p1 p2}, o7 {p1 p2}, o8 {p9 p3}, o9 {p1 p3}, o10 {p3 p4}, o11 {p1}, o12 {p4}: 11 orders.
# Orders per product: p1 6, p2 5, p3 5, p4 4, p9 1. Together: p1+p2 4 (o1 o2 o6 o7),
# p1+p3 2 (o1 o9), p3+p4 2 (o5 o10); p2+p3, p2+p4, p3+p9 once each (below 2: left out).


def test_product_affinity(con):
    got = by(con, "select * from marts.product_affinity", "product_a", "product_b")
    assert set(got) == {
        ("p1", "p2"), ("p2", "p1"), ("p1", "p3"), ("p3", "p1"), ("p3", "p4"), ("p4", "p3"),
    }  # fmt: skip
    p12 = got["p1", "p2"]
    assert (p12["orders"], p12["orders_a"], p12["orders_b"], p12["orders_both"]) == (11, 6, 5, 4)
    assert (p12["product_a_name"], p12["category_b"]) == ("Mug", "kitchen")
    assert p12["support"] == pytest.approx(4 / 11)
    assert (p12["support_a"], p12["support_b"]) == (pytest.approx(6 / 11), pytest.approx(5 / 11))
    assert p12["confidence_a_to_b"] == pytest.approx(4 / 6)
    assert p12["confidence_b_to_a"] == pytest.approx(4 / 5)
    assert p12["lift"] == pytest.approx((4 / 6) / (5 / 11))  # 1.4667
    p21 = got["p2", "p1"]
    assert p21["confidence_a_to_b"] == pytest.approx(4 / 5) and p21["lift"] == p12["lift"]
    p13 = got["p1", "p3"]  # 2 together: exactly the threshold, kept
    assert p13["orders_both"] == 2
    assert p13["confidence_a_to_b"] == pytest.approx(2 / 6)
    assert p13["lift"] == pytest.approx((2 / 6) / (5 / 11))  # 0.7333: less than chance
    p34 = got["p3", "p4"]
    assert (p34["confidence_a_to_b"], p34["confidence_b_to_a"]) == (
        pytest.approx(2 / 5),
        pytest.approx(2 / 4),
    )
    assert p34["lift"] == pytest.approx((2 / 5) / (4 / 11))  # 1.1


def test_category_affinity(con):
    # categories per basket: kitchen in o1 o2 o3 o6 o7 o9 o11 (7), office in o1 o3 o5 o8 o9
    # o10 o12 (7; o8 through p3, p9 has no category), both in o1 o3 o9 (3); 11 baskets
    got = by(con, "select * from marts.category_affinity", "category_a", "category_b")
    assert set(got) == {("kitchen", "office"), ("office", "kitchen")}
    row = got["kitchen", "office"]
    assert (row["orders"], row["orders_a"], row["orders_b"], row["orders_both"]) == (11, 7, 7, 3)
    assert row["support"] == pytest.approx(3 / 11)
    assert row["confidence_a_to_b"] == pytest.approx(3 / 7)
    assert row["lift"] == pytest.approx((3 / 7) / (7 / 11))  # 0.6735


def test_affinity_threshold_leaves_out_rare_pairs(tmp_path_factory):
    # at the default 5 (pyproject.toml), no product pair (at most 4 orders together: p1 + p2)
    # and no category pair (3) remains
    con, _ = build(tmp_path_factory.mktemp("affinity5"), TABLES)
    assert con.execute("select count(*) from marts.product_affinity").fetchone()[0] == 0
    assert con.execute("select count(*) from marts.category_affinity").fetchone()[0] == 0


# ------------------------------------------------------------------------ next purchase
# First valid orders: c1 o1 {p1 p2 p3}, c2 o2 {p1 p2}, c3 o3 {p2 p4}, c4 o11 {p1} (o4 was
# cancelled), c5 o8 {p9 p3}. Later valid orders: c1 o5 o6 {p1 p2 p3 p4}, c2 o7 o10
# {p1 p2 p3 p4}, c3 o9 {p1 p3}, c5 o12 {p4} (same day as o8, later), c4 none.
# Returning customers (a later order): c1 c2 c3 c5 = 4.
# Later buyers (baseline): p1 c1 c2 c3 = 3, p2 c1 c2 = 2, p3 c1 c2 c3 = 3, p4 c1 c2 c5 = 3.
# First buyers: p1 c1 c2 c4 (3; returning c1 c2: 2), p2 c1 c2 c3 (3; 3), p3 c1 c5 (2; 2),
# p4 c3 (1; 1), p9 c5 (1; 1).


def test_next_purchase_cross_sell(con):
    got = by(con, "select * from marts.next_purchase_cross_sell", "product_a", "product_b")
    expected = {
        ("p1", "p2"): 2, ("p1", "p3"): 2, ("p1", "p4"): 2,  # c1, c2
        ("p2", "p1"): 3, ("p2", "p3"): 3,  # c1, c2, c3
        ("p2", "p4"): 2,  # c1, c2
        ("p3", "p1"): 1, ("p3", "p2"): 1,  # c1
        ("p3", "p4"): 2,  # c1, c5
        ("p4", "p1"): 1, ("p4", "p3"): 1,  # c3
        ("p9", "p4"): 1,  # c5
    }  # fmt: skip
    assert {k: r["customers"] for k, r in got.items()} == expected
    assert all(r["all_returning_customers"] == 4 for r in got.values())

    p14 = got["p1", "p4"]
    assert (p14["first_order_customers"], p14["returning_customers"]) == (3, 2)
    assert p14["share_of_first_buyers"] == pytest.approx(2 / 3)
    assert p14["share_of_returning"] == pytest.approx(1.0)
    assert (p14["baseline_customers"], p14["baseline_share"]) == (3, pytest.approx(3 / 4))
    assert p14["lift"] == pytest.approx(1 / (3 / 4))

    p12 = got["p1", "p2"]  # p2 is bought later by only 2 of the 4 returning customers
    assert p12["baseline_share"] == pytest.approx(2 / 4)
    assert p12["lift"] == pytest.approx((2 / 2) / (2 / 4))

    p31 = got["p3", "p1"]
    assert (p31["share_of_first_buyers"], p31["share_of_returning"]) == (0.5, 0.5)
    assert p31["lift"] == pytest.approx(0.5 / 0.75)

    p24 = got["p2", "p4"]
    assert p24["share_of_returning"] == pytest.approx(2 / 3)
    assert p24["lift"] == pytest.approx((2 / 3) / (3 / 4))
    assert got["p9", "p4"]["product_a_name"] is None  # not in the catalogue
    assert got["p2", "p1"]["product_b_name"] == "Mug"


# ------------------------------------------------------------------------------ quality
# Lines of valid orders (returned ones marked *):
#   p1: o1 B1 2u, o2 B1, o6 B2, o7 B2, o9 B2, o11 B2* (two returns, 6 + 3)
#   p2: o1 K1, o2 K1* (25), o3 K2* (50), o6 line 1 K2* (40; the first p2 line), o6 line 2 K1,
#       o7 K2
#   p3: o1 P1, o5 P1 3u, o8 (no batch), o9 P1 2u, o10 P2
#   p4: o3 N1, o5 N1, o10 N1, o12 N2
#   p9: o8 2u (no batch); o6's p9 refund matches no line
# Valid orders with a complaint: o6 and o7 (o4's complaint is on a cancelled order).


def test_product_quality(con):
    got = by(con, "select * from marts.product_quality", "product_id")
    assert set(got) == {"p1", "p2", "p3", "p4", "p9"}
    p1 = got["p1"]
    assert (p1["lines"], p1["units_sold"], p1["valid_orders"], p1["batches"]) == (6, 7, 6, 2)
    assert p1["gross_revenue"] == Decimal("70")  # 20 + 5 x 10
    assert (p1["returned_lines"], p1["returned_units"], p1["refund_amount"]) == (1, 1, 9)
    assert p1["return_rate"] == pytest.approx(1 / 6)
    assert p1["complaint_orders"] == 2  # o6, o7
    assert p1["complaint_rate"] == pytest.approx(2 / 6)
    assert p1["return_rate_lower_95"] == pytest.approx(wilson_lower(1, 6))

    p2 = got["p2"]  # 6 lines in 5 orders (o6 holds two)
    assert (p2["lines"], p2["valid_orders"], p2["returned_lines"]) == (6, 5, 3)
    assert p2["refund_amount"] == Decimal("115")  # 25 + 50 + 40
    assert p2["gross_revenue"] == Decimal("295")  # 45 + 5 x 50
    assert p2["return_rate"] == pytest.approx(0.5)
    assert p2["complaint_rate"] == pytest.approx(2 / 5)
    assert p2["complaint_rate_lower_95"] == pytest.approx(wilson_lower(2, 5))

    p3 = got["p3"]
    assert (p3["lines"], p3["units_sold"], p3["returned_lines"]) == (5, 8, 0)
    assert (p3["return_rate"], p3["return_rate_lower_95"], p3["complaint_rate"]) == (0, 0, 0)
    p9 = got["p9"]
    assert (p9["product_name"], p9["category"], p9["batches"]) == (None, None, 0)
    assert (p9["lines"], p9["units_sold"], p9["returned_lines"]) == (1, 2, 0)


def test_batch_quality(con):
    got = by(con, "select * from marts.batch_quality", "product_id", "batch_id")
    assert set(got) == {
        ("p1", "B1"), ("p1", "B2"), ("p2", "K1"), ("p2", "K2"), ("p3", "P1"), ("p3", "P2"),
        ("p3", "unknown"), ("p4", "N1"), ("p4", "N2"), ("p9", "unknown"),
    }  # fmt: skip
    b1 = got["p1", "B1"]  # o1 (2 units), o2; o4 is cancelled
    assert (b1["lines"], b1["units_sold"], b1["returned_lines"], b1["complaint_orders"]) == (
        2, 3, 0, 0,
    )  # fmt: skip
    assert (b1["first_order_date"], b1["last_order_date"]) == (date(2024, 1, 5), date(2024, 1, 10))
    b2 = got["p1", "B2"]  # o6, o7, o9, o11; o11 returned twice (one line); o6, o7 complained
    assert (b2["lines"], b2["valid_orders"], b2["returned_lines"], b2["returned_units"]) == (
        4, 4, 1, 1,
    )  # fmt: skip
    assert b2["refund_amount"] == Decimal("9")
    assert (b2["return_rate"], b2["complaint_rate"]) == (0.25, 0.5)
    assert b2["product_return_rate"] == pytest.approx(1 / 6)
    assert b2["product_complaint_rate"] == pytest.approx(2 / 6)
    assert b2["return_rate_ratio"] is None  # B1, the only other batch, has no return

    k1 = got["p2", "K1"]  # o1, o2*, o6 line 2
    k2 = got["p2", "K2"]  # o3*, o6 line 1*, o7
    assert (k1["returned_lines"], k1["refund_amount"]) == (1, Decimal("25"))
    assert (k2["returned_lines"], k2["refund_amount"]) == (2, Decimal("90"))
    assert (k1["return_rate"], k2["return_rate"]) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert k1["complaint_rate"] == pytest.approx(1 / 3)  # o6
    assert k2["complaint_rate"] == pytest.approx(2 / 3)  # o6, o7
    # each against the other: (1/3) / (2/3) and (2/3) / (1/3)
    assert (k1["return_rate_ratio"], k2["return_rate_ratio"]) == (
        pytest.approx(0.5),
        pytest.approx(2.0),
    )
    assert k2["return_rate_lower_95"] == pytest.approx(wilson_lower(2, 3))
    assert k2["complaint_rate_lower_95"] == pytest.approx(wilson_lower(2, 3))

    assert (got["p3", "P1"]["lines"], got["p3", "P1"]["units_sold"]) == (3, 6)
    assert got["p3", "unknown"]["lines"] == 1  # o8's p3 has no batch id
    assert (got["p4", "N1"]["lines"], got["p4", "N2"]["lines"]) == (3, 1)


# -------------------------------------------------------------------------------- sales


def test_sales_rep_monthly(con):
    got = by(con, "select * from marts.sales_rep_monthly", "sales_rep_id", "month")
    # 4 reps (r9 only through c5) x 3 months
    assert set(got) == {(r, m) for r in ("r1", "r2", "r3", "r9") for m in (JAN, FEB, MAR)}

    jan, feb, mar = got["r1", JAN], got["r1", FEB], got["r1", MAR]
    assert (jan["rep_name"], jan["team"], jan["rep_region"]) == ("Ann", "A", "north")
    # January: c1 o1 68 + o5 15, c2 o2 60 - 25 = 35
    assert (jan["valid_orders"], jan["net_revenue"], jan["customers_served"]) == (3, 118, 2)
    # c1 has 2 orders by the end of January, c2 1
    assert (jan["repeat_customers"], jan["repeat_rate"]) == (1, 0.5)
    assert jan["previous_net_revenue"] is None and jan["revenue_growth"] is None
    # CSAT about January's orders: o1 5, o2 3
    assert (jan["csat_responses"], jan["satisfied_responses"], jan["csat"]) == (2, 1, 0.5)
    assert jan["csat_mean"] == pytest.approx(4.0)
    # February: c1 o6 110 - 45 = 65, c2 o7 60; both now have 2+ orders
    assert (feb["valid_orders"], feb["net_revenue"], feb["customers_served"]) == (2, 125, 2)
    assert feb["repeat_rate"] == 1.0
    assert feb["revenue_growth"] == pytest.approx(125 / 118 - 1)
    assert (feb["csat_responses"], feb["csat"], feb["csat_mean"]) == (2, 0.0, 1.5)  # 2 and 1
    # March: c2 o10 9; its CSAT answer came after the as-of date
    assert (mar["net_revenue"], mar["customers_served"], mar["repeat_rate"]) == (9, 1, 1.0)
    assert mar["revenue_growth"] == pytest.approx(9 / 125 - 1)
    assert (mar["csat_responses"], mar["csat"], mar["csat_mean"]) == (0, None, None)

    r2 = [got["r2", m] for m in (JAN, FEB, MAR)]  # c3: o3 56 - 50 = 6 in Jan, o9 16 in Mar
    assert [r["net_revenue"] for r in r2] == [6, 0, 16]
    assert [r["repeat_rate"] for r in r2] == [0.0, None, 1.0]
    # Feb: 0 / 6 - 1; Mar: the previous month's 0 gives no growth
    assert [r["revenue_growth"] for r in r2] == [None, -1.0, None]
    assert [r["csat"] for r in r2] == [1.0, None, 1.0]  # o3 4, o9 5

    r9 = got["r9", FEB]  # c5: o8 11 + o12 6, two orders on one day: a repeat customer
    assert r9["rep_name"] is None
    assert (r9["valid_orders"], r9["net_revenue"], r9["repeat_rate"]) == (2, 17, 1.0)
    assert got["r9", MAR]["revenue_growth"] == -1.0

    assert all(got["r3", m]["net_revenue"] == 0 for m in (JAN, FEB, MAR))
    # c4 (no rep) bought 1 net in March: all net revenue is 124 + 142 + 26 = 292, the reps' 291
    total = con.execute("select sum(net_revenue) from marts.sales_rep_monthly").fetchone()[0]
    assert total == Decimal("291")


# --------------------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    """The bundled demo data, built with the real CLI and the SQL validator."""
    root = tmp_path_factory.mktemp("demo_products")
    for name in ("pyproject.toml", "profiles.yml"):
        shutil.copy(REPO / name, root / name)
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(REPO / folder, root / folder)
    done = subprocess.run(
        [sys.executable, "-m", "runner.cli", "build", "--validator", "sql", "--no-publish",
         "--log-format", "plain"],
        cwd=root, capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOME": str(root)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return duckdb.connect(str(root / "target" / "warehouse.duckdb"), read_only=True)


def test_demo_bad_batch_stands_out(demo):
    from runner.demo.catalog import BAD_PRODUCT

    batches = rows(demo, "select * from marts.batch_quality where batch_id <> 'unknown'")
    median_return = _median([b["return_rate"] for b in batches])
    median_complaint = _median([b["complaint_rate"] for b in batches])
    # ranked by the lower bounds: no size cut needed, a 2-line batch cannot win by chance
    by_return = sorted(batches, key=lambda b: b["return_rate_lower_95"], reverse=True)
    by_complaint = sorted(batches, key=lambda b: b["complaint_rate_lower_95"], reverse=True)
    bad = by_return[0]
    assert bad["product_name"] == BAD_PRODUCT
    assert by_complaint[0]["batch_id"] == bad["batch_id"]
    assert bad["return_rate_lower_95"] > 2.5 * by_return[1]["return_rate_lower_95"]
    assert bad["complaint_rate_lower_95"] > 2.5 * by_complaint[1]["complaint_rate_lower_95"]
    # the raw rates, among batches big enough for a rate to mean something (>= 30 lines)
    big = [b for b in batches if b["lines"] >= 30]
    top_return = sorted(big, key=lambda b: b["return_rate"], reverse=True)
    top_complaint = sorted(big, key=lambda b: b["complaint_rate"], reverse=True)
    assert top_return[0]["batch_id"] == top_complaint[0]["batch_id"] == bad["batch_id"]
    assert bad["return_rate"] > 10 * median_return  # about 0.37 vs 0.02
    assert bad["complaint_rate"] > 10 * median_complaint  # about 0.44 vs 0.03
    assert bad["return_rate"] > 2 * top_return[1]["return_rate"]
    assert bad["complaint_rate"] > 2 * top_complaint[1]["complaint_rate"]
    assert bad["return_rate_ratio"] > 5  # against the same product's other batches


def test_demo_batch_rates_match_an_independent_computation(demo):
    """Recompute every batch's lines, returned lines and complaint orders with pandas from
    the staging views (the same matching rule, written again), and compare."""
    items = demo.sql("select * from staging.stg_shop__order_items").df()
    orders = demo.sql("select order_id, is_valid, order_date from staging.stg_shop__orders").df()
    returns = demo.sql("select * from staging.stg_shop__returns").df()
    feedback = demo.sql("select order_id, is_complaint from staging.stg_shop__feedback").df()
    as_of = demo.execute("select as_of_date from facts.as_of").fetchone()[0]

    valid = orders[orders["is_valid"] & (orders["order_date"].dt.date <= as_of)]
    lines = items[items["order_id"].isin(valid["order_id"]) & items["product_id"].notna()].copy()
    lines["rank"] = lines.groupby(["order_id", "product_id"])["line_number"].rank(method="first")
    n_returns = returns.groupby(["order_id", "product_id"]).size().rename("n_returns")
    lines = lines.join(n_returns, on=["order_id", "product_id"])
    lines["returned"] = lines["rank"] <= lines["n_returns"].fillna(0)
    complained = set(feedback.loc[feedback["is_complaint"], "order_id"].dropna())
    lines["complaint"] = lines["order_id"].isin(complained)
    lines["batch_id"] = lines["batch_id"].fillna("unknown")
    expected = {}
    for (product, batch), group in lines.groupby(["product_id", "batch_id"]):
        expected[product, batch] = (
            len(group),
            int(group["returned"].sum()),
            group["order_id"].nunique(),
            group.loc[group["complaint"], "order_id"].nunique(),
        )
    built = {
        (r["product_id"], r["batch_id"]): (
            r["lines"],
            r["returned_lines"],
            r["valid_orders"],
            r["complaint_orders"],
        )
        for r in rows(demo, "select * from marts.batch_quality")
    }
    assert built == expected


def test_demo_marts_reconcile(demo):
    # distribution = fct_orders' net revenue; reps = dim_customers' customers with a rep
    dist, facts = demo.execute(
        "select (select sum(net_revenue) from marts.product_sales_monthly), "
        "(select sum(net_revenue) from facts.fct_orders where is_valid)"
    ).fetchone()
    assert dist == facts
    reps, customers = demo.execute(
        "select (select sum(net_revenue) from marts.sales_rep_monthly), "
        "(select sum(net_revenue) from facts.dim_customers where sales_rep_id is not null)"
    ).fetchone()
    assert reps == customers and reps > 0
    # every rep of the sales_reps table has a full row per month
    assert demo.execute(
        "select count(distinct sales_rep_id), count(*) = count(distinct sales_rep_id) "
        "* count(distinct month) from marts.sales_rep_monthly"
    ).fetchone() == (8, True)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
