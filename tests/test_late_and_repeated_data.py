"""Late and repeated raw data (docs/sources.md): the warehouse run as the scheduler runs it.

Each test lands raw files night by night as ``data/<table>/batch_<n>.parquet`` (a new file
per night next to the earlier ones, the way an extract-load tool appends), runs the real CLI
in-process (a first ``runner run``/``build``, then the incremental ``runner build``/``run``
of the next night), and compares the facts and marts with answers worked out by hand below,
and with a ``--full-refresh`` build of the same landing (EXCEPT ALL both ways, every table).

``build`` runs the expectations through ``--validator sql`` (the same checks as GX, without
its seconds of import); where they are not the point, ``run`` skips them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner
from warehouse import make_warehouse, rows, source_columns

from runner.cli import cli

# each test builds the whole warehouse two or three times with the real CLI (10-14 s)
pytestmark = pytest.mark.slow

# the warehouse's own settings, but the landing folder read in any format (per-night Parquet
# files beside header-only CSVs for the tables nobody sends)
PROFILES = """\
customer_analytics:
  target: test
  outputs:
    test:
      type: duckdb
      path: target/warehouse.duckdb
      threads: 1
      sources:
        default: {from: files, path: data}
"""

Batch = Mapping[str, Sequence[Mapping[str, Any]]]  # raw table -> rows landed that night


# -- running the warehouse ------------------------------------------------------------------


def new_warehouse(root: Path) -> Path:
    project = make_warehouse(root)
    (project / "profiles.yml").write_text(PROFILES)
    return project


def land(project: Path, *batches: Batch) -> None:
    """The landing folder after these nights: each night's rows of a table in their own file
    ``<table>/batch_<n>.parquet``; a table nobody sent is a CSV with its header only."""
    data = project / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir()
    con = duckdb.connect()
    for table, columns in source_columns().items():
        sent = [(n, batch[table]) for n, batch in enumerate(batches, 1) if batch.get(table)]
        if not sent:
            with (data / f"{table}.csv").open("w", newline="") as fh:
                csv.writer(fh).writerow(columns)
            continue
        (data / table).mkdir()
        for n, table_rows in sent:
            text = data / table / f"batch_{n}.csv"
            with text.open("w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(columns)
                for row in table_rows:
                    assert set(row) <= set(columns), f"{table}: {set(row) - set(columns)}"
                    writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
            con.execute(
                f"copy (select * from read_csv('{text}', all_varchar = true)) "
                f"to '{data / table / f'batch_{n}.parquet'}' (format parquet)"
            )
            text.unlink()
    con.close()


def runner(project: Path, *args: str) -> dict[str, str]:
    """Run a runner command in the project as the scheduler would; fail loudly on any error;
    return each model's run_results message (``model.fct_orders`` -> "incremental merge, …")."""
    env = {k: None for k in os.environ if k.startswith("RUNNER_")}
    result = CliRunner().invoke(
        cli,
        [*args, "--project-dir", str(project), "--log-format", "plain"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"]: r["message"] for r in results}


def build(project: Path, *args: str) -> dict[str, str]:
    return runner(project, "build", "--validator", "sql", *args)


def database(project: Path) -> Path:
    return project / "target" / "warehouse.duckdb"


def keep(project: Path, name: str) -> Path:
    """A copy of the built warehouse as it is now (to compare with a later run)."""
    copy = project.parent / f"{name}.duckdb"
    shutil.copy(database(project), copy)
    return copy


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Every table and view of the staging, facts and marts schemas in two warehouses: rows
    of a not in b and rows of b not in a (EXCEPT ALL both ways, so a duplicated row counts),
    where any."""
    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")

    def tables(catalog: str) -> list[str]:
        found = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = ? and table_schema in ('staging', 'facts', 'marts') "
            "order by all",
            [catalog],
        ).fetchall()
        return [name for (name,) in found]

    names = tables("a")
    assert names == tables("b")
    assert {"facts.fct_orders", "facts.dim_customers", "marts.retention_cohorts"} <= set(names)
    found = {}
    for name in names:
        counts = tuple(
            con.execute(
                f"select count(*) from (select * from {x}.{name} except all "
                f"select * from {y}.{name})"
            ).fetchone()[0]
            for x, y in (("a", "b"), ("b", "a"))
        )
        if counts != (0, 0):
            found[name] = counts
    con.close()
    return found


def incremental_equals_full_refresh(project: Path, *nights: Batch) -> None:
    """Compare every table of the incremental result with a --full-refresh build of the same
    landing; then land the last night's files once more: the next run merges nothing and
    changes nothing (a changed order is not reprocessed night after night)."""
    incremental = keep(project, "incremental")
    full = new_warehouse(project.parent / "full")
    land(full, *nights)
    messages = runner(full, "run", "--full-refresh")
    assert messages["model.fct_orders"].startswith("incremental full refresh")
    assert differences(incremental, database(full)) == {}
    land(project, *nights, nights[-1])
    assert merged(runner(project, "run")) == 0
    assert differences(incremental, database(project)) == {}


def merged(messages: Mapping[str, str]) -> int:
    """How many rows the incremental run of fct_orders merged."""
    message = messages["model.fct_orders"]
    assert message.startswith("incremental merge, "), message
    return int(message.removeprefix("incremental merge, ").split()[0])


def item(order_id: str, product_id: str, quantity: int, unit_price: str, discount: str = "0"):
    """An order's only line (line 1); its amount is quantity x unit_price - discount."""
    return {
        "order_id": order_id,
        "line_number": 1,
        "product_id": product_id,
        "quantity": quantity,
        "unit_price": unit_price,
        "discount": discount,
    }


# -- 1. the same raw data landed twice --------------------------------------------------------

# Three customers and five orders with every kind of row the facts read: a re-sent order
# (o1 placed, then delivered), a complaint (f1), a returned order with its refund (o3, r1),
# a cancelled order (o4), sessions. Net revenue per order, by hand (line amount = quantity x
# unit price - the line's discount; cancelled orders count nothing; refunds come off):
#   o1  2 x 10.00           = 20.00
#   o2  1 x 45.00 - 5.00    = 40.00
#   o3  3 x 5.00 - 15.00    =  0.00  (returned, refunded in full)
#   o4  cancelled           =  0.00  (order amount 99.00 still recorded)
#   o5  2 x 12.50 - 1.00    = 24.00
ONE_NIGHT: dict[str, list[dict[str, Any]]] = {
    "customers": [
        {
            "customer_id": "c1",
            "created_at": "2024-01-01 00:00:00",
            "region": "north",
            "country": "DE",
            "acquisition_channel": "organic",
            "updated_at": "2024-01-01 00:00:00",
        },
        {
            "customer_id": "c2",
            "created_at": "2024-01-02 00:00:00",
            "region": "south",
            "country": "FR",
            "acquisition_channel": "email",
            "updated_at": "2024-01-02 00:00:00",
        },
        {
            "customer_id": "c3",
            "created_at": "2024-02-01 00:00:00",
            "region": "east",
            "country": "PL",
            "acquisition_channel": "paid_search",
            "updated_at": "2024-02-01 00:00:00",
        },
    ],
    "orders": [
        {
            "order_id": "o1",
            "customer_id": "c1",
            "ordered_at": "2024-01-10 09:00:00",
            "channel": "organic",
            "status": "placed",
            "updated_at": "2024-01-10 09:00:00",
        },
        {
            "order_id": "o1",
            "customer_id": "c1",
            "ordered_at": "2024-01-10 09:00:00",
            "channel": "organic",
            "status": "delivered",
            "promised_at": "2024-01-14 00:00:00",
            "delivered_at": "2024-01-13 10:00:00",
            "updated_at": "2024-01-13 10:00:00",
        },
        {
            "order_id": "o2",
            "customer_id": "c2",
            "ordered_at": "2024-01-20 12:00:00",
            "channel": "email",
            "status": "delivered",
            "promised_at": "2024-01-25 00:00:00",
            "delivered_at": "2024-01-24 00:00:00",
            "updated_at": "2024-01-24 00:00:00",
        },
        {
            "order_id": "o3",
            "customer_id": "c1",
            "ordered_at": "2024-02-15 18:00:00",
            "channel": "organic",
            "status": "returned",
            "promised_at": "2024-02-18 00:00:00",
            "delivered_at": "2024-02-17 00:00:00",
            "updated_at": "2024-02-20 00:00:00",
        },
        {
            "order_id": "o4",
            "customer_id": "c3",
            "ordered_at": "2024-02-20 10:00:00",
            "channel": "paid search",
            "status": "cancelled",
            "updated_at": "2024-02-21 00:00:00",
        },
        {
            "order_id": "o5",
            "customer_id": "c2",
            "ordered_at": "2024-03-05 08:00:00",
            "channel": "email",
            "status": "placed",
            "updated_at": "2024-03-05 08:00:00",
        },
    ],
    "order_items": [
        item("o1", "p1", 2, "10.00"),
        item("o2", "p2", 1, "45.00", discount="5.00"),
        item("o3", "p1", 3, "5.00"),
        item("o4", "p2", 1, "99.00"),
        item("o5", "p1", 2, "12.50", discount="1.00"),
    ],
    "products": [
        {"product_id": "p1", "product_name": "Mug", "category": "kitchen", "unit_cost": "4"},
        {"product_id": "p2", "product_name": "Pen", "category": "office", "unit_cost": "1"},
    ],
    "returns": [
        {
            "return_id": "r1",
            "order_id": "o3",
            "product_id": "p1",
            "returned_at": "2024-02-20 00:00:00",
            "refund_amount": "15.00",
            "reason": "broken",
        },
    ],
    "feedback": [
        {
            "feedback_id": "f1",
            "customer_id": "c2",
            "order_id": "o2",
            "submitted_at": "2024-01-26 00:00:00",
            "nps_score": 4,
            "csat_score": 2,
            "is_complaint": "true",
        },
    ],
    "sessions": [
        {
            "session_id": "s1",
            "customer_id": "c1",
            "started_at": "2024-01-10 08:50:00",
            "channel": "organic",
            "order_id": "o1",
        },
        {"session_id": "s2", "started_at": "2024-01-11 08:00:00", "channel": "email"},
    ],
}

# marketing_spend is left out on purpose: it has no key, and two equal rows are two spends
# (stg_shop__marketing_spend sums a day's rows per channel), so a re-sent spend file is not
# something the warehouse can tell from real spend.
NET_REVENUE = {"o1": "20.00", "o2": "40.00", "o3": "0.00", "o4": "0.00", "o5": "24.00"}


def doubled(batch: Batch) -> dict[str, list[Mapping[str, Any]]]:
    """Every row of every table twice in one file."""
    return {table: [*table_rows, *table_rows] for table, table_rows in batch.items()}


def net_revenue(path: Path) -> dict[str, Decimal]:
    with connect(path) as con:
        return dict(con.execute("select order_id, net_revenue from facts.fct_orders").fetchall())


def test_landing_the_same_data_again_changes_nothing(tmp_path):
    project = new_warehouse(tmp_path)
    land(project, ONE_NIGHT)
    build(project)
    first = keep(project, "first")
    assert net_revenue(first) == {k: Decimal(v) for k, v in NET_REVENUE.items()}

    # the whole landing sent again as a second set of files next to the first: the nightly
    # incremental run finds nothing new (0 orders merged) and every table is as it was
    land(project, ONE_NIGHT, ONE_NIGHT)
    assert merged(runner(project, "run")) == 0
    assert differences(first, database(project)) == {}

    # the same rows repeated inside one file, instead of the two files read before: a file
    # the tables hold the rows of is gone, so they are rebuilt whole (runner/landing.py),
    # to the same rows
    land(project, doubled(ONE_NIGHT))
    messages = runner(project, "run")
    assert "batch_2.parquet it read is gone" in messages["model.stg_shop__orders"]
    assert differences(first, database(project)) == {}

    # and built whole from the twice-landed files, the same warehouse again
    land(project, ONE_NIGHT, ONE_NIGHT)
    runner(project, "run", "--full-refresh")
    assert differences(first, database(project)) == {}


# -- 2. an order whose status changes later ---------------------------------------------------

# Night 1: c1 and c2, both first buying in January (cohort 2024-01, size 2), as-of date
# 2024-03-05 (o4, the latest ordered_at; nothing later is ordered on night 2, so it stays).
#   o1 c1 2024-01-10 organic delivered 2 x 10.00         = 20.00
#   o2 c1 2024-02-15 organic placed    1 x 30.00         = 30.00
#   o3 c2 2024-01-20 email   delivered 1 x 50.00 - 5.00  = 45.00
#   o4 c2 2024-03-05 email   placed    1 x 40.00         = 40.00
# The latest updated_at landed on night 1 is o4's, 2024-03-05 10:00.
# Night 2 re-sends two orders:
#   o2 cancelled, updated 2024-03-06 09:00 (newer than anything landed before);
#   o3 returned, updated 2024-02-01, with its full refund r1 (45.00) returned 2024-02-01 —
#      a February change that reaches the warehouse only now, so its updated_at is newer than
#      o3's own earlier version but older than night 1's latest row.
STATUS_NIGHT_1: Batch = {
    "customers": ONE_NIGHT["customers"][:2],
    "orders": [
        {
            "order_id": "o1",
            "customer_id": "c1",
            "ordered_at": "2024-01-10 10:00:00",
            "channel": "organic",
            "status": "delivered",
            "promised_at": "2024-01-14 00:00:00",
            "delivered_at": "2024-01-12 00:00:00",
            "updated_at": "2024-01-12 00:00:00",
        },
        {
            "order_id": "o2",
            "customer_id": "c1",
            "ordered_at": "2024-02-15 10:00:00",
            "channel": "organic",
            "status": "placed",
            "updated_at": "2024-02-15 10:00:00",
        },
        {
            "order_id": "o3",
            "customer_id": "c2",
            "ordered_at": "2024-01-20 10:00:00",
            "channel": "email",
            "status": "delivered",
            "promised_at": "2024-01-25 00:00:00",
            "delivered_at": "2024-01-23 00:00:00",
            "updated_at": "2024-01-23 00:00:00",
        },
        {
            "order_id": "o4",
            "customer_id": "c2",
            "ordered_at": "2024-03-05 10:00:00",
            "channel": "email",
            "status": "placed",
            "updated_at": "2024-03-05 10:00:00",
        },
    ],
    "order_items": [
        item("o1", "p1", 2, "10.00"),
        item("o2", "p1", 1, "30.00"),
        item("o3", "p2", 1, "50.00", discount="5.00"),
        item("o4", "p2", 1, "40.00"),
    ],
    "products": ONE_NIGHT["products"],
}
STATUS_NIGHT_2: Batch = {
    "orders": [
        {**STATUS_NIGHT_1["orders"][1], "status": "cancelled", "updated_at": "2024-03-06 09:00:00"},
        {**STATUS_NIGHT_1["orders"][2], "status": "returned", "updated_at": "2024-02-01 00:00:00"},
    ],
    "returns": [
        {
            "return_id": "r1",
            "order_id": "o3",
            "product_id": "p2",
            "returned_at": "2024-02-01 00:00:00",
            "refund_amount": "45.00",
            "reason": "damaged",
        },
    ],
}


def status_effects(path: Path) -> dict[str, Any]:
    with connect(path) as con:
        return {
            "orders": {
                r.pop("order_id"): r
                for r in rows(
                    con,
                    "select order_id, status, is_valid, gross_revenue, refund_amount, "
                    "net_revenue from facts.fct_orders where order_id in ('o2', 'o3')",
                )
            },
            "customers": {
                r.pop("customer_id"): r
                for r in rows(
                    con,
                    "select customer_id, valid_orders, last_order_date, gross_revenue, "
                    "net_revenue from facts.dim_customers",
                )
            },
            "retention": rows(
                con,
                "select months_since_first, active_customers, revenue, "
                "cumulative_revenue_per_customer from marts.retention_cohorts "
                "where cohort_month = date '2024-01-01' order by months_since_first",
            ),
            "channels": {
                (r.pop("month"), r.pop("channel")): r
                for r in rows(
                    con,
                    "select month, channel, orders, valid_orders, returned_orders, return_rate, "
                    "cancelled_orders, cancellation_rate, net_revenue, aov "
                    "from marts.channel_kpis_monthly where (month, channel) in "
                    "((date '2024-01-01', 'email'), (date '2024-02-01', 'organic'))",
                )
            },
        }


def test_a_status_change_landed_later_is_applied_by_the_next_run(tmp_path):
    project = new_warehouse(tmp_path)
    land(project, STATUS_NIGHT_1)
    runner(project, "run")
    d = Decimal
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    # night 1, by hand: c1 has o1 + o2 = 20 + 30 = 50, last order 02-15; c2 has o3 + o4 =
    # 45 + 40 = 85. Cohort 2024-01 (size 2): January o1 + o3 = 65 by 2 customers, February o2
    # = 30 by c1, March o4 = 40 by c2; cumulative per customer 65/2, 95/2, 135/2.
    before = status_effects(database(project))
    assert before["orders"] == {
        "o2": {"status": "placed", "is_valid": True, "gross_revenue": d("30"),
               "refund_amount": d("0"), "net_revenue": d("30")},
        "o3": {"status": "delivered", "is_valid": True, "gross_revenue": d("45"),
               "refund_amount": d("0"), "net_revenue": d("45")},
    }  # fmt: skip
    assert before["customers"] == {
        "c1": {"valid_orders": 2, "last_order_date": date(2024, 2, 15),
               "gross_revenue": d("50"), "net_revenue": d("50")},
        "c2": {"valid_orders": 2, "last_order_date": date(2024, 3, 5),
               "gross_revenue": d("85"), "net_revenue": d("85")},
    }  # fmt: skip
    assert before["retention"] == [
        {"months_since_first": 0, "active_customers": 2, "revenue": d("65"),
         "cumulative_revenue_per_customer": d("32.50")},
        {"months_since_first": 1, "active_customers": 1, "revenue": d("30"),
         "cumulative_revenue_per_customer": d("47.50")},
        {"months_since_first": 2, "active_customers": 1, "revenue": d("40"),
         "cumulative_revenue_per_customer": d("67.50")},
    ]  # fmt: skip
    assert before["channels"] == {
        (jan, "email"): {"orders": 1, "valid_orders": 1, "returned_orders": 0,
                         "return_rate": 0.0, "cancelled_orders": 0, "cancellation_rate": 0.0,
                         "net_revenue": d("45"), "aov": d("45")},
        (feb, "organic"): {"orders": 1, "valid_orders": 1, "returned_orders": 0,
                           "return_rate": 0.0, "cancelled_orders": 0, "cancellation_rate": 0.0,
                           "net_revenue": d("30"), "aov": d("30")},
    }  # fmt: skip

    land(project, STATUS_NIGHT_1, STATUS_NIGHT_2)
    messages = build(project)
    assert merged(messages) == 2  # o2 and o3, nothing else
    # night 2, by hand (docs/metrics.md: a cancelled order is not valid and has no revenue; a
    # returned order stays valid, its refund comes off its own month's net revenue):
    # o2 gross 0, net 0; o3 gross 45, refund 45, net 0. c1 keeps one valid order (o1, 20.00,
    # last order 01-10); c2 keeps both, gross 85, net 40. Cohort 2024-01: January revenue
    # 20 + 0 = 20, still 2 active (o3 is returned, not cancelled); February nobody (o2 was
    # c1's only February order), revenue 0; March o4 40; cumulative per customer 20/2,
    # 20/2, 60/2. Channels: (2024-01, email) 1 returned of 1 valid order, net 0, AOV 0;
    # (2024-02, organic) 1 cancelled of 1 order, no valid order: net 0, AOV NULL.
    after = status_effects(database(project))
    assert after["orders"] == {
        "o2": {"status": "cancelled", "is_valid": False, "gross_revenue": d("0"),
               "refund_amount": d("0"), "net_revenue": d("0")},
        "o3": {"status": "returned", "is_valid": True, "gross_revenue": d("45"),
               "refund_amount": d("45"), "net_revenue": d("0")},
    }  # fmt: skip
    assert after["customers"] == {
        "c1": {"valid_orders": 1, "last_order_date": date(2024, 1, 10),
               "gross_revenue": d("20"), "net_revenue": d("20")},
        "c2": {"valid_orders": 2, "last_order_date": date(2024, 3, 5),
               "gross_revenue": d("85"), "net_revenue": d("40")},
    }  # fmt: skip
    assert after["retention"] == [
        {"months_since_first": 0, "active_customers": 2, "revenue": d("20"),
         "cumulative_revenue_per_customer": d("10")},
        {"months_since_first": 1, "active_customers": 0, "revenue": d("0"),
         "cumulative_revenue_per_customer": d("10")},
        {"months_since_first": 2, "active_customers": 1, "revenue": d("40"),
         "cumulative_revenue_per_customer": d("30")},
    ]  # fmt: skip
    assert after["channels"] == {
        (jan, "email"): {"orders": 1, "valid_orders": 1, "returned_orders": 1,
                         "return_rate": 1.0, "cancelled_orders": 0, "cancellation_rate": 0.0,
                         "net_revenue": d("0"), "aov": d("0")},
        (feb, "organic"): {"orders": 1, "valid_orders": 0, "returned_orders": 0,
                           "return_rate": None, "cancelled_orders": 1,
                           "cancellation_rate": 1.0, "net_revenue": d("0"), "aov": None},
    }  # fmt: skip
    incremental_equals_full_refresh(project, STATUS_NIGHT_1, STATUS_NIGHT_2)


# -- 3. duplicate raw rows ----------------------------------------------------------------------

# One night's landing full of duplicates, by hand:
#   c1        sent twice, equal in every column: one customer.
#   c2        two versions with the same updated_at (regions differ): one of them, always the
#             same one (docs/sources.md: ties are broken deterministically).
#   o1 c1     sent twice, equal in every column, its line too: one order of 2 x 10.00 = 20.00.
#   o2 c1     delivered and cancelled with the same updated_at: the furthest status wins
#             (returned > cancelled > delivered > shipped > placed), so cancelled: not valid,
#             no revenue (its order amount 30.00 stays recorded).
#   o3 c2     two 'delivered' versions with the same updated_at, delivered on the 23rd (on
#             time, promised the 24th) and on the 26th (late): the model's next tie-breaker
#             is the latest delivered_at, so the 26th: delivered late, not on time.
#   o4 c2     returned; its refund r1 (10.00 of 25.00) and its complaint f1 each sent twice:
#             refunded once, net 15.00, one complaint.
DUPLICATES: dict[str, list[dict[str, Any]]] = {
    "customers": [
        ONE_NIGHT["customers"][0],
        ONE_NIGHT["customers"][0],
        {**ONE_NIGHT["customers"][1], "region": "north"},
        {**ONE_NIGHT["customers"][1], "region": "south"},
    ],
    "orders": [
        ONE_NIGHT["orders"][1],
        ONE_NIGHT["orders"][1],
        {
            "order_id": "o2",
            "customer_id": "c1",
            "ordered_at": "2024-02-03 10:00:00",
            "channel": "organic",
            "status": "delivered",
            "promised_at": "2024-02-06 00:00:00",
            "delivered_at": "2024-02-05 00:00:00",
            "updated_at": "2024-02-05 00:00:00",
        },
        {
            "order_id": "o2",
            "customer_id": "c1",
            "ordered_at": "2024-02-03 10:00:00",
            "channel": "organic",
            "status": "cancelled",
            "updated_at": "2024-02-05 00:00:00",
        },
        {
            "order_id": "o3",
            "customer_id": "c2",
            "ordered_at": "2024-01-20 10:00:00",
            "channel": "email",
            "status": "delivered",
            "promised_at": "2024-01-24 00:00:00",
            "delivered_at": "2024-01-23 00:00:00",
            "updated_at": "2024-01-27 00:00:00",
        },
        {
            "order_id": "o3",
            "customer_id": "c2",
            "ordered_at": "2024-01-20 10:00:00",
            "channel": "email",
            "status": "delivered",
            "promised_at": "2024-01-24 00:00:00",
            "delivered_at": "2024-01-26 00:00:00",
            "updated_at": "2024-01-27 00:00:00",
        },
        {
            "order_id": "o4",
            "customer_id": "c2",
            "ordered_at": "2024-03-01 10:00:00",
            "channel": "email",
            "status": "returned",
            "updated_at": "2024-03-04 00:00:00",
        },
    ],
    "order_items": [
        item("o1", "p1", 2, "10.00"),
        item("o1", "p1", 2, "10.00"),
        item("o2", "p1", 1, "30.00"),
        item("o3", "p2", 1, "12.00"),
        item("o4", "p2", 1, "25.00"),
    ],
    "products": ONE_NIGHT["products"],
    "returns": [
        {
            "return_id": "r1",
            "order_id": "o4",
            "product_id": "p2",
            "returned_at": "2024-03-04 00:00:00",
            "refund_amount": "10.00",
            "reason": "scratched",
        },
    ]
    * 2,
    "feedback": [
        {
            "feedback_id": "f1",
            "customer_id": "c2",
            "order_id": "o4",
            "submitted_at": "2024-03-03 00:00:00",
            "nps_score": 2,
            "is_complaint": "true",
        },
    ]
    * 2,
}


def test_duplicate_raw_rows_are_deduped_deterministically(tmp_path):
    forward = new_warehouse(tmp_path / "forward")
    land(forward, DUPLICATES)
    build(forward)
    with connect(database(forward)) as con:
        got = {
            r.pop("order_id"): r
            for r in rows(
                con,
                "select order_id, status, is_valid, line_count, order_amount, gross_revenue, "
                "refund_amount, net_revenue, cast(delivered_at as date) as delivered_on, "
                "is_on_time, is_delivered_late, "
                "complaint_count from facts.fct_orders",
            )
        }
        customers = rows(con, "select customer_id from facts.dim_customers order by all")
    d = Decimal
    assert got["o1"] == {
        "status": "delivered", "is_valid": True, "line_count": 1, "order_amount": d("20"),
        "gross_revenue": d("20"), "refund_amount": d("0"), "net_revenue": d("20"),
        "delivered_on": date(2024, 1, 13), "is_on_time": True, "is_delivered_late": False,
        "complaint_count": 0,
    }  # fmt: skip
    assert (got["o2"]["status"], got["o2"]["is_valid"]) == ("cancelled", False)
    assert (got["o2"]["order_amount"], got["o2"]["net_revenue"]) == (d("30"), d("0"))
    assert got["o3"]["delivered_on"] == date(2024, 1, 26)
    assert (got["o3"]["is_on_time"], got["o3"]["is_delivered_late"]) == (False, True)
    assert (got["o4"]["refund_amount"], got["o4"]["net_revenue"]) == (d("10"), d("15"))
    assert got["o4"]["complaint_count"] == 1
    assert customers == [{"customer_id": "c1"}, {"customer_id": "c2"}]

    # the same rows landed in the opposite order (every table's rows reversed, and split over
    # two files): the same warehouse, table for table
    backward = new_warehouse(tmp_path / "backward")
    reversed_rows = {table: table_rows[::-1] for table, table_rows in DUPLICATES.items()}
    half = {table: len(table_rows) // 2 for table, table_rows in reversed_rows.items()}
    land(
        backward,
        {table: table_rows[: half[table]] for table, table_rows in reversed_rows.items()},
        {table: table_rows[half[table] :] for table, table_rows in reversed_rows.items()},
    )
    runner(backward, "run")
    assert differences(database(forward), database(backward)) == {}

    # and night by night: night 1 brings one copy of each duplicate and the first of each
    # tied pair (o2 delivered, o3 delivered on the 23rd, c2 in the north), night 2 the second
    # copies and the other tied versions (o2 cancelled, o3 delivered on the 26th, c2 in the
    # south) — with the same updated_at as what night 1 loaded. The incremental run must
    # still pick the tie's winner, reprocessing o2 and o3 (their rows change) and nothing
    # else, and end where the one-night build did.
    later = {"customers": [1, 3], "orders": [1, 3, 5], "order_items": [1], "returns": [1],
             "feedback": [1]}  # fmt: skip
    night_1 = {
        table: [row for i, row in enumerate(table_rows) if i not in later.get(table, [])]
        for table, table_rows in DUPLICATES.items()
    }
    night_2 = {table: [DUPLICATES[table][i] for i in later[table]] for table in later}
    nightly = new_warehouse(tmp_path / "nightly")
    land(nightly, night_1)
    runner(nightly, "run")
    land(nightly, night_1, night_2)
    assert merged(runner(nightly, "run")) == 2
    assert differences(database(forward), database(nightly)) == {}


# -- 4. an order landed days late ---------------------------------------------------------------

# Night 1 (as-of 2024-03-20, o3; W = 90 days):
#   o1 c1 2024-01-10  20.00     o2 c2 2024-02-05  30.00     o3 c1 2024-03-20  10.00
#   c3 has no order yet (in dim_customers, in no cohort).
# Night 2 lands two orders placed weeks earlier, with their old updated_at (both older than
# night 1's latest row, o3's 2024-03-20 10:00):
#   o4 c2 2024-01-25  40.00  — c2's first order now: c2 moves from cohort 2024-02 to 2024-01
#   o5 c3 2024-02-12  25.00  — c3's first and only order: cohort 2024-02
# Nothing later is ordered, so the as-of date stays 2024-03-20.
LATE_NIGHT_1: Batch = {
    "customers": [
        *ONE_NIGHT["customers"][:2],
        {**ONE_NIGHT["customers"][2], "acquisition_channel": "social"},
    ],
    "orders": [
        {
            "order_id": "o1",
            "customer_id": "c1",
            "ordered_at": "2024-01-10 10:00:00",
            "channel": "organic",
            "status": "delivered",
            "updated_at": "2024-01-12 00:00:00",
        },
        {
            "order_id": "o2",
            "customer_id": "c2",
            "ordered_at": "2024-02-05 10:00:00",
            "channel": "email",
            "status": "delivered",
            "updated_at": "2024-02-08 00:00:00",
        },
        {
            "order_id": "o3",
            "customer_id": "c1",
            "ordered_at": "2024-03-20 10:00:00",
            "channel": "organic",
            "status": "placed",
            "updated_at": "2024-03-20 10:00:00",
        },
    ],
    "order_items": [
        item("o1", "p1", 2, "10.00"),
        item("o2", "p1", 3, "10.00"),
        item("o3", "p2", 1, "10.00"),
    ],
    "products": ONE_NIGHT["products"],
}
LATE_NIGHT_2: Batch = {
    "orders": [
        {
            "order_id": "o4",
            "customer_id": "c2",
            "ordered_at": "2024-01-25 09:00:00",
            "channel": "email",
            "status": "delivered",
            "updated_at": "2024-01-28 00:00:00",
        },
        {
            "order_id": "o5",
            "customer_id": "c3",
            "ordered_at": "2024-02-12 14:00:00",
            "channel": "social",
            "status": "placed",
            "updated_at": "2024-02-12 14:00:00",
        },
    ],
    "order_items": [
        item("o4", "p2", 4, "10.00"),
        item("o5", "p1", 1, "25.00"),
    ],
}

MONTHS = [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]


def cohorts_and_churn(path: Path) -> dict[str, Any]:
    with connect(path) as con:
        return {
            "cohort_month": dict(
                con.execute("select customer_id, cohort_month from facts.dim_customers").fetchall()
            ),
            "retention": [
                tuple(r)
                for r in con.execute(
                    "select cohort_month, months_since_first, cohort_size, active_customers, "
                    "revenue, cumulative_revenue_per_customer from marts.retention_cohorts "
                    "order by cohort_month, months_since_first"
                ).fetchall()
            ],
            "churn": con.execute(
                "select month, active_start, new_customers, churned, reactivated, active_end "
                "from marts.churn_monthly order by month"
            ).fetchall(),
        }


def test_an_order_landed_late_lands_in_its_own_cohort_and_month(tmp_path):
    project = new_warehouse(tmp_path)
    land(project, LATE_NIGHT_1)
    runner(project, "run")
    jan, feb, mar = MONTHS
    d = Decimal
    # night 1 by hand: cohort 2024-01 = {c1}: January 20, February nothing, March 10 (o3);
    # cohort 2024-02 = {c2}: February 30, March nothing. Churn (active: last order at most 90
    # days before the date; every gap here is shorter): January c1 new, February c2 new,
    # March nobody new, nobody churned (the balance: 0+1=1, 1+1=2, 2+0=2).
    assert cohorts_and_churn(database(project)) == {
        "cohort_month": {"c1": jan, "c2": feb, "c3": None},
        "retention": [
            (jan, 0, 1, 1, d("20"), d("20")),
            (jan, 1, 1, 0, d("0"), d("20")),
            (jan, 2, 1, 1, d("10"), d("30")),
            (feb, 0, 1, 1, d("30"), d("30")),
            (feb, 1, 1, 0, d("0"), d("30")),
        ],
        "churn": [(jan, 0, 1, 0, 0, 1), (feb, 1, 1, 0, 0, 2), (mar, 2, 0, 0, 0, 2)],
    }

    land(project, LATE_NIGHT_1, LATE_NIGHT_2)
    messages = build(project)
    assert merged(messages) == 2  # o4 and o5
    # night 2 by hand: cohort 2024-01 = {c1, c2} (c2's first order is now o4, 01-25):
    # January o1 + o4 = 20 + 40 = 60 by 2, February o2 30 by c2, March o3 10 by c1 —
    # cumulative per customer 60/2, 90/2, 100/2; cohort 2024-02 = {c3}: February 25, March
    # nothing. Churn: January c1 and c2 new (active at 01-31: 2); February c3 new, the other
    # two still active (c1's 01-10 is 50 days before 02-29): 2 + 1 = 3; March 3 at start,
    # nobody's last order is more than 90 days before 03-20: 3 at the end.
    assert cohorts_and_churn(database(project)) == {
        "cohort_month": {"c1": jan, "c2": jan, "c3": feb},
        "retention": [
            (jan, 0, 2, 2, d("60"), d("30")),
            (jan, 1, 2, 1, d("30"), d("45")),
            (jan, 2, 2, 1, d("10"), d("50")),
            (feb, 0, 1, 1, d("25"), d("25")),
            (feb, 1, 1, 0, d("0"), d("25")),
        ],
        "churn": [(jan, 0, 2, 0, 0, 2), (feb, 2, 1, 0, 0, 3), (mar, 3, 0, 0, 0, 3)],
    }
    incremental_equals_full_refresh(project, LATE_NIGHT_1, LATE_NIGHT_2)
