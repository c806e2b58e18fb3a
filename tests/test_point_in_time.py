"""Point in time: a rebuild with ``--vars '{as_of: D}'`` says what a build made on D would have
said (macros/point_in_time.sql). The landing tables keep every re-sent version; staging picks
the latest one sent on or before D, and refunds, answers and complaints after D do not count.

The fixture, D = 2024-06-30 (every amount worked out by hand):

    customers  c1 created Jan 5 (north); re-sent Jul 3 moved to south
               c2 created Feb 1 (east)
               c3 created Jul 2: not a customer yet on D
    orders     o5 c1 May 10, 40 (1 x 40), delivered May 12; refund 10 on Jun 15 (before D)
               o1 c1 Jun 1, 100 (2 x 50): placed Jun 1, delivered Jun 4, returned Jul 5
                  (refund 100 on Jul 5)
               o2 c2 Jun 20, 30: placed Jun 20, cancelled Jul 1
               o3 c2 Jun 29, 70: its first version was sent on Jul 1 (landed late): unseen on D
               o4 c3 Jul 2, 20: after D
    feedback   f1 c1 o1 Jun 10: NPS 9, CSAT 5
               f2 c1 o1 Jul 2: NPS 2, CSAT 1, a complaint (after D)
               f3 c2 o2 Jun 25: CSAT 2, a complaint

On D: o5 net 40 - 10 = 30; o1 delivered, net 100, no refund, no complaint; o2 placed (valid),
30, one complaint. c1 (north): 2 valid orders, 130, latest NPS 9 and CSAT 5, no complaint.
c2 (east): 1 valid order, 30, latest CSAT 2, 1 complaint.

Without var as_of (as-of = Jul 2, the latest order day) every landed row counts: o1 returned,
net 0; o2 cancelled; o3 and o4 count; c1 is in the south with latest NPS 2 and 1 complaint.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from warehouse import build_warehouse, rows

AS_OF = "2024-06-30"


def _customer(cid: str, region: str, created: str, sent: str) -> dict:
    return {
        "customer_id": cid,
        "created_at": f"{created} 08:00:00",
        "region": region,
        "country": "DE",
        "acquisition_channel": "email",
        "updated_at": f"{sent} 09:00:00",
    }


def _order(oid: str, cid: str, ordered: str, status: str, sent: str, delivered=None) -> dict:
    return {
        "order_id": oid,
        "customer_id": cid,
        "ordered_at": f"{ordered} 10:00:00",
        "channel": "email",
        "status": status,
        "promised_at": "2024-12-31 00:00:00",
        "delivered_at": f"{delivered} 12:00:00" if delivered else None,
        "updated_at": f"{sent} 11:00:00",
    }


def _line(oid: str, quantity: int, price: str) -> dict:
    return {
        "order_id": oid,
        "line_number": 1,
        "product_id": "p1",
        "batch_id": "b1",
        "quantity": quantity,
        "unit_price": price,
        "discount": "0",
    }


def _answer(fid: str, cid: str, oid: str, day: str, nps, csat, complaint: bool) -> dict:
    return {
        "feedback_id": fid,
        "customer_id": cid,
        "order_id": oid,
        "submitted_at": f"{day} 15:00:00",
        "nps_score": nps,
        "csat_score": csat,
        "is_complaint": complaint,
        "comment": "",
    }


TABLES = {
    "customers": [
        _customer("c1", "north", "2024-01-05", "2024-01-05"),
        _customer("c1", "south", "2024-01-05", "2024-07-03"),
        _customer("c2", "east", "2024-02-01", "2024-02-01"),
        _customer("c3", "west", "2024-07-02", "2024-07-02"),
    ],
    "orders": [
        _order("o5", "c1", "2024-05-10", "placed", "2024-05-10"),
        _order("o5", "c1", "2024-05-10", "delivered", "2024-05-12", delivered="2024-05-12"),
        _order("o1", "c1", "2024-06-01", "placed", "2024-06-01"),
        _order("o1", "c1", "2024-06-01", "delivered", "2024-06-04", delivered="2024-06-04"),
        _order("o1", "c1", "2024-06-01", "returned", "2024-07-05", delivered="2024-06-04"),
        _order("o2", "c2", "2024-06-20", "placed", "2024-06-20"),
        _order("o2", "c2", "2024-06-20", "cancelled", "2024-07-01"),
        _order("o3", "c2", "2024-06-29", "placed", "2024-07-01"),
        _order("o4", "c3", "2024-07-02", "placed", "2024-07-02"),
    ],
    "order_items": [
        _line("o5", 1, "40"),
        _line("o1", 2, "50"),
        _line("o2", 1, "30"),
        _line("o3", 1, "70"),
        _line("o4", 1, "20"),
    ],
    "products": [
        {"product_id": "p1", "product_name": "Mug", "category": "kitchen", "unit_cost": "5"}
    ],
    "returns": [
        {
            "return_id": "r2",
            "order_id": "o5",
            "product_id": "p1",
            "returned_at": "2024-06-15 10:00:00",
            "refund_amount": "10",
            "reason": "damaged",
        },
        {
            "return_id": "r1",
            "order_id": "o1",
            "product_id": "p1",
            "returned_at": "2024-07-05 10:00:00",
            "refund_amount": "100",
            "reason": "changed mind",
        },
    ],
    "feedback": [
        _answer("f1", "c1", "o1", "2024-06-10", 9, 5, False),
        _answer("f2", "c1", "o1", "2024-07-02", 2, 1, True),
        _answer("f3", "c2", "o2", "2024-06-25", None, 2, True),
    ],
}


@pytest.fixture(scope="module")
def on_d(tmp_path_factory):
    return build_warehouse(
        tmp_path_factory.mktemp("on_d"), TABLES, {"as_of": AS_OF}, validator="sql"
    )


@pytest.fixture(scope="module")
def today(tmp_path_factory):
    return build_warehouse(tmp_path_factory.mktemp("today"), TABLES, validator="sql")


def _by(con, sql: str, key: str) -> dict:
    return {r[key]: r for r in rows(con, sql)}


def test_refunds_after_the_as_of_date_do_not_count(on_d, today):
    orders = _by(on_d, "select * from facts.fct_orders", "order_id")
    assert (orders["o5"]["refund_amount"], orders["o5"]["net_revenue"]) == (10, 30)
    assert (orders["o1"]["refund_amount"], orders["o1"]["net_revenue"]) == (0, 100)
    assert [r["return_id"] for r in rows(on_d, "select * from staging.stg_shop__returns")] == ["r2"]
    later = _by(today, "select * from facts.fct_orders", "order_id")
    assert (later["o1"]["refund_amount"], later["o1"]["net_revenue"]) == (100, 0)


def test_order_statuses_sent_after_the_as_of_date_do_not_count(on_d, today):
    orders = _by(on_d, "select * from facts.fct_orders", "order_id")
    assert set(orders) == {"o1", "o2", "o5"}  # o3 landed late (sent Jul 1), o4 is Jul 2
    assert orders["o1"]["status"] == "delivered" and not orders["o1"]["is_returned"]
    assert orders["o2"]["status"] == "placed" and orders["o2"]["is_valid"]
    assert orders["o2"]["net_revenue"] == Decimal("30")
    lines = rows(on_d, "select order_id from facts.fct_order_items order by order_id")
    assert [r["order_id"] for r in lines] == ["o1", "o2", "o5"]
    staged = rows(on_d, "select distinct order_id from staging.stg_shop__order_items")
    assert {r["order_id"] for r in staged} == {"o1", "o2", "o5"}
    later = _by(today, "select * from facts.fct_orders", "order_id")
    assert set(later) == {"o1", "o2", "o3", "o4", "o5"}
    assert later["o1"]["status"] == "returned" and later["o2"]["status"] == "cancelled"


def test_feedback_and_complaints_after_the_as_of_date_do_not_count(on_d, today):
    answers = rows(on_d, "select feedback_id from facts.fct_feedback order by feedback_id")
    assert [r["feedback_id"] for r in answers] == ["f1", "f3"]
    orders = _by(on_d, "select * from facts.fct_orders", "order_id")
    assert (orders["o1"]["complaint_count"], orders["o2"]["complaint_count"]) == (0, 1)
    customers = _by(on_d, "select * from facts.dim_customers", "customer_id")
    c1, c2 = customers["c1"], customers["c2"]
    assert (c1["latest_nps"], c1["latest_csat"], c1["complaints"]) == (9, 5, 0)
    assert (c2["latest_nps"], c2["latest_csat"], c2["complaints"]) == (None, 2, 1)
    later = _by(today, "select * from facts.dim_customers", "customer_id")
    assert (later["c1"]["latest_nps"], later["c1"]["complaints"]) == (2, 1)


def test_customer_versions_sent_after_the_as_of_date_do_not_count(on_d, today):
    customers = _by(on_d, "select * from facts.dim_customers", "customer_id")
    assert set(customers) == {"c1", "c2"}  # c3 was created (and first sent) on Jul 2
    c1 = customers["c1"]
    assert c1["region"] == "north"  # the Jul 3 version (south) was not sent yet
    assert (c1["valid_orders"], c1["net_revenue"]) == (2, Decimal("130"))
    assert (customers["c2"]["valid_orders"], customers["c2"]["net_revenue"]) == (1, 30)
    later = _by(today, "select * from facts.dim_customers", "customer_id")
    assert later["c1"]["region"] == "south" and set(later) == {"c1", "c2", "c3"}
