"""The nightly refresh is exact: on the bundled demo data, last night's warehouse plus one
incremental build of a day of new, re-sent, late and cancelled rows (a late refund, a moved
order, a customer's new version, answers about old orders, an order past midnight in a new
month) equals a full build of the same
landing, every table row for row (EXCEPT ALL both ways); and the incremental build read and
wrote only what that day touched: staging read only the day's new landing files
(``new_source_rows``), the facts only the orders those touched (README "The nightly
refresh")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds" / "shop"

PROFILES = """\
customer_analytics:
  target: test
  outputs:
    test:
      type: duckdb
      path: target/warehouse.duckdb
      threads: 2
      sources:
        default: {from: files, path: data}
"""

LAST_DAY = "2024-12-31"  # the demo's last order day: what lands "tonight"
DAY = f"timestamp '{LAST_DAY} 00:00:00'"
# What the last day brings, per table (as bench/build.py splits its data): rows whose time
# falls on it; lines of the orders first sent on it.
DAY_FILTER = {
    "customers": f"updated_at::timestamp >= {DAY}",
    "orders": f"updated_at::timestamp >= {DAY}",
    "order_items": "order_id in (select order_id from first_sent_tonight)",
    "returns": f"returned_at::timestamp >= {DAY}",
    "feedback": f"submitted_at::timestamp >= {DAY}",
    "sessions": f"started_at::timestamp >= {DAY}",
    "marketing_spend": f"spend_date::date >= date '{LAST_DAY}'",
}

# Tonight, besides the day's own rows (hand-made, on old orders and customers):
EXTRA = {
    "orders": [
        # a late order: placed ten days ago, first sent tonight
        "('O9000001', 'C000002', '2024-12-21 10:00:00', 'email', 'delivered', "
        "'2024-12-24 18:00:00', '2024-12-23 12:00:00', '2024-12-31 08:00:00')",
        # an order of March 2024 cancelled tonight (its month is restated)
        "(select order_id, customer_id, ordered_at, channel, 'cancelled', promised_at, "
        "delivered_at, '2024-12-31 09:00:00' from latest where order_id = (select min(order_id) "
        "from latest where ordered_at like '2024-03-%' and status = 'delivered'))",
        # an order of February 2024, its customer's only one that month, cancelled tonight
        # (the customer's rows of that month in the (month, customer) tables go)
        "(select order_id, customer_id, ordered_at, channel, 'cancelled', promised_at, "
        "delivered_at, '2024-12-31 09:30:00' from latest where order_id = (select min(l.order_id) "
        "from latest as l where l.ordered_at like '2024-02-%' and l.status = 'delivered' "
        "and (select count(*) from latest as m where m.customer_id = l.customer_id "
        "and m.ordered_at like '2024-02-%') = 1))",
        # the only order of a customer, placed earlier in December (the as-of month), cancelled
        # tonight: the customer leaves int_customer_closed_months, whose months are all
        # before it
        "(select order_id, customer_id, ordered_at, channel, 'cancelled', promised_at, "
        "delivered_at, '2024-12-31 09:45:00' from latest where order_id = (select min(l.order_id) "
        "from latest as l where l.ordered_at between '2024-12-01' and '2024-12-30' "
        "and l.status <> 'cancelled' "
        "and (select count(*) from latest as m where m.customer_id = l.customer_id) = 1))",
        # a customer's third order or later, of September 2024, with a product in none of
        # their other orders, cancelled tonight: that product's cross-sell pairs go
        "(select order_id, customer_id, ordered_at, channel, 'cancelled', promised_at, "
        "delivered_at, '2024-12-31 09:50:00' from latest where order_id = (select min(o.order_id) "
        "from latest as o inner join order_items_seed as i on i.order_id = o.order_id "
        "where o.status = 'delivered' and o.ordered_at like '2024-09-%' "
        "and (select count(*) from latest as e where e.customer_id = o.customer_id "
        "and e.status <> 'cancelled' and e.ordered_at < o.ordered_at) >= 2 "
        "and not exists (select 1 from order_items_seed as j inner join latest as f "
        "on f.order_id = j.order_id where f.customer_id = o.customer_id "
        "and f.order_id <> o.order_id and j.product_id = i.product_id)))",
        # the second and last order of a customer with two, of August 2024, cancelled
        # tonight: no order of theirs is numbered again, yet they have no later order now
        "(select order_id, customer_id, ordered_at, channel, 'cancelled', promised_at, "
        "delivered_at, '2024-12-31 09:55:00' from latest where order_id = (select min(o.order_id) "
        "from latest as o where o.status = 'delivered' and o.ordered_at like '2024-08-%' "
        "and (select count(*) from latest as e where e.customer_id = o.customer_id "
        "and e.status <> 'cancelled') = 2 "
        "and (select max(e.ordered_at) from latest as e where e.customer_id = o.customer_id) "
        "= o.ordered_at))",
        # an order of 2023 re-sent exactly as it was (changes nothing)
        "(select * from latest where order_id = (select min(order_id) from latest "
        "where ordered_at like '2023-06-%'))",
        # bad data: an order of May 2024 re-sent under another customer (both change)
        "(select order_id, 'C000003', ordered_at, channel, status, promised_at, delivered_at, "
        "'2024-12-31 10:00:00' from latest where order_id = (select min(order_id) from latest "
        "where ordered_at like '2024-05-%' and status = 'delivered'))",
    ],
    "order_items": ["('O9000001', '1', 'P041', 'P041-B01', '3', '99.00', '0')"],
    "returns": [
        # a late refund for an order of April 2024
        "(select 'R9000001', order_id, 'P041', '2024-12-31 11:00:00', '25.00', 'late return' "
        "from latest where order_id = (select min(order_id) from latest "
        "where ordered_at like '2024-04-%' and status = 'delivered'))",
    ],
    "feedback": [
        "('F9000001', 'C000002', 'O9000001', '2024-12-31 12:00:00', '3', '2', 'true', 'late')",
        # an answer about the first order, sent past midnight: after tonight's as-of date, so
        # it counts only from the next night, when the as-of date reaches it
        "(select 'F9000002', customer_id, order_id, '2025-01-01 00:10:00', '10', '5', 'true', "
        "'after midnight' from latest where order_id = (select min(order_id) from latest))",
    ],
    "customers": [
        # a customer moves to another region
        "(select customer_id, created_at, 'Asia', 'JP', acquisition_channel, "
        "referred_by_customer_id, sales_rep_id, '2024-12-31 07:00:00' from customers_seed "
        "where customer_id = 'C000005' qualify row_number() over (order by updated_at desc) = 1)",
        # a sign-up past midnight, referred by C000007: known (and C000007's referral) only
        # from the next night, when the as-of date reaches its creation
        "('C9000001', '2025-01-01 00:05:00', 'Asia', 'JP', 'email', 'C000007', null, "
        "'2025-01-01 00:06:00')",
    ],
}


# The next night: an order of 2025-02-01 takes the as-of date into a new month (every
# month-grain table gains two months; the ones before are over), past January, where no
# order was placed: what landed last night dated in January (the answer past midnight)
# counts from tonight, though nothing of January changed.
NEXT_NIGHT = {
    "orders": "('O9000002', 'C000004', '2025-02-01 00:30:00', 'email', 'placed', "
    "'2025-02-05 18:00:00', null, '2025-02-01 00:40:00')",
    "order_items": "('O9000002', '1', 'P007', null, '1', '40.00', '0')",
}


def _land_next_night(data: Path) -> None:
    con = duckdb.connect()
    for table, row in NEXT_NIGHT.items():
        like = data / table / "base.parquet"
        con.execute(
            f"copy (select * from read_parquet('{like}') where false "
            f"union all select * from (values {row})) "
            f"to '{data / table / 'next.parquet'}' (format parquet)"
        )
    con.close()


def _land(data: Path, tonight: bool, base: bool = True) -> None:
    """data/<table>/base.parquet (unless not ``base``: landed last night, left as it is),
    and with ``tonight`` also day.parquet (text columns: the sources cast them to their
    declared types)."""
    con = duckdb.connect()
    for csv in sorted(SEEDS.glob("*.csv")):
        con.execute(
            f"create table {csv.stem}_seed as select * from read_csv('{csv}', all_varchar = true)"
        )
    con.execute(
        "create table first_sent_tonight as select order_id from orders_seed "
        f"group by order_id having min(updated_at::timestamp) >= {DAY}"
    )
    con.execute(
        "create table latest as select * from orders_seed where "
        f"updated_at::timestamp < {DAY} qualify row_number() over "
        "(partition by order_id order by updated_at desc, status) = 1"
    )
    for csv in sorted(SEEDS.glob("*.csv")):
        table = csv.stem
        folder = data / table
        folder.mkdir(parents=True, exist_ok=True)
        cond = DAY_FILTER.get(table)
        before = f"select * from {table}_seed" + (f" where not ({cond})" if cond else "")
        if base:
            con.execute(f"copy ({before}) to '{folder / 'base.parquet'}' (format parquet)")
        if tonight and cond:
            day = f"select * from {table}_seed where {cond}"
            for extra in EXTRA.get(table, []):
                day += (
                    f" union all select * from (values {extra})"
                    if extra.startswith("('")
                    else f" union all {extra[1:-1]}"
                )
            con.execute(f"copy ({day}) to '{folder / 'day.parquet'}' (format parquet)")
    con.close()


def _project(root: Path, tonight: bool) -> Path:
    root.mkdir(parents=True)
    for name in ("pyproject.toml",):
        shutil.copy(REPO / name, root / name)
    for folder in ("models", "macros"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "profiles.yml").write_text(PROFILES)
    _land(root / "data", tonight)
    return root


def _build(project: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "runner.cli", "build", "--validator", "sql"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        env={k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return {r["name"]: r["message"] for r in results}


def _differences(a: Path, b: Path) -> tuple[int, dict[str, tuple[int, int]]]:
    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")
    query = (
        "select table_schema || '.' || table_name from information_schema.tables where "
        "table_catalog = ? and table_schema <> '_runner' "
        "order by all"
    )
    names = [n for (n,) in con.execute(query, ["a"]).fetchall()]
    assert names == [n for (n,) in con.execute(query, ["b"]).fetchall()]
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
    return len(names), found


@pytest.mark.slow
def test_one_incremental_night_equals_a_full_build(tmp_path):
    nightly = _project(tmp_path / "nightly", tonight=False)
    first = _build(nightly)
    assert first["fct_orders"].startswith("incremental first build")
    _land(nightly / "data", tonight=True, base=False)  # the day lands beside last night's

    tonight = _build(nightly)

    full = _project(tmp_path / "full", tonight=True)
    _build(full)
    compared, differing = _differences(
        nightly / "target" / "warehouse.duckdb", full / "target" / "warehouse.duckdb"
    )
    assert differing == {}
    assert compared >= 40  # every table and view: staging, facts and marts
    before_midnight = _after_midnight_rows(nightly)
    assert before_midnight == {"signed_up": 0, "referred": before_midnight["referred"], "answer": 0}

    # Incremental, and only what the day touched: the orders sent, refunded or answered about
    # tonight (the exact re-send is not one of them).
    day = {t: str(nightly / "data" / t / "day.parquet") for t in ("orders", "returns", "feedback")}
    with duckdb.connect(str(nightly / "target" / "warehouse.duckdb"), read_only=True) as con:
        touched = con.execute(
            "select count(distinct order_id) from (select order_id from read_parquet(?) "
            "union all select order_id from read_parquet(?) "
            "union all select order_id from read_parquet(?))",
            [day["orders"], day["returns"], day["feedback"]],
        ).fetchone()[0]
        orders = con.execute('select count(*) from "facts"."fct_orders"').fetchone()[0]
    for model in ("stg_shop__orders", "stg_shop__customers", "fct_orders"):
        assert tonight[model].startswith("incremental merge"), tonight[model]
    # staging read only tonight's files, not the landing again (new_source_rows)
    for table in ("orders", "customers", "order_items", "returns", "feedback", "sessions"):
        message = tonight[f"stg_shop__{table}"]
        assert f"; read shop.{table}: 1 new file" in message, message
    # the marts refreshed by month or order (README's table), not rebuilt whole
    for model in (
        "int_product_lines",
        "int_product_batch_months",
        "int_sales_customer_months",
        "int_affinity_months",
        "int_customer_closed_months",
    ):
        assert tonight[model].startswith("incremental delete+insert"), tonight[model]
    merged = int(tonight["fct_orders"].split(", ")[1].split()[0])
    assert 0 < merged < touched < orders / 20
    # the months before the as-of month are over: only the customers touched tonight are
    # written again (the customer x month rows of a few hundred of the demo's customers)
    closed = _rows_of(nightly, "marts.int_customer_closed_months")
    assert 0 < _written(tonight["int_customer_closed_months"]) < closed / 5

    # The next night crosses into a new month: the month before is over now, for everyone.
    _land_next_night(nightly / "data")
    next_night = _build(nightly)
    _land_next_night(full / "data")
    (full / "target" / "warehouse.duckdb").unlink()
    _build(full)
    compared, differing = _differences(
        nightly / "target" / "warehouse.duckdb", full / "target" / "warehouse.duckdb"
    )
    assert differing == {}
    # the as-of date reached what was sent past midnight last night, though no row of it
    # changed tonight: the sign-up is known, a referral of C000007, and the answer counts
    assert _after_midnight_rows(nightly) == {
        "signed_up": 1,
        "referred": before_midnight["referred"] + 1,
        "answer": 1,
    }
    closed = _rows_of(nightly, "marts.int_customer_closed_months")
    assert _written(next_night["int_customer_closed_months"]) == closed
    assert next_night["int_sales_customer_months"].startswith("incremental delete+insert")


def _after_midnight_rows(project: Path) -> dict[str, int]:
    """What dim_customers says of the rows sent past midnight on the first night."""
    with duckdb.connect(str(project / "target" / "warehouse.duckdb"), read_only=True) as con:
        signed_up, referred, answer = con.execute(
            "select count(*) filter (where customer_id = 'C9000001'), "
            "sum(referred_customers) filter (where customer_id = 'C000007'), "
            "count(*) filter (where customer_id = (select customer_id "
            "from staging.stg_shop__feedback where feedback_id = 'F9000002') "
            "and complaints > 0 and latest_nps = 10) "
            "from facts.dim_customers"
        ).fetchone()
    return {"signed_up": signed_up, "referred": referred, "answer": answer}


def _written(message: str) -> int:
    """The rows an incremental step wrote, from its message ('incremental merge, 12 rows')."""
    return int(message.split(", ")[1].split()[0].replace(",", ""))


def _rows_of(project: Path, table: str) -> int:
    with duckdb.connect(str(project / "target" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
