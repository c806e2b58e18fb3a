"""The demo-data generator: the landing contract (docs/sources.md), determinism, and the
behaviours the marts need (re-sent orders, duplicates, ties, misspelt channels, a bad
batch, customers who never order, ...). Small sizes, so it runs in a second or two."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from click.testing import CliRunner

from runner.cli import cli
from runner.demo import NULLABLE, TABLES, generate
from runner.demo.catalog import CHANNELS, STATUS_PRIORITY, seeds_yaml
from runner.engines.duckdb import DuckDBEngine, DuckDBSession
from runner.nodes import Relation
from runner.project import Target

START = date(2024, 1, 1)
MONTHS = 6
END = datetime(2024, 7, 1)
PARAMS: dict[str, Any] = {"customers": 400, "start": START, "months": MONTHS, "seed": 7}
CANONICAL = {c.name for c in CHANNELS}
DUCKDB_TYPES = {
    "varchar": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "decimal(18,4)": "DECIMAL(18,4)",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "date": "DATE",
}


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_csv")
    generate(out, fmt="csv", **PARAMS)
    return out


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_parquet")
    generate(out, fmt="parquet", **PARAMS)
    return out


@pytest.fixture(scope="module")
def db(csv_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBSession]:
    """The CSV files loaded the way the runner loads seeds: declared types, offsets to UTC."""
    root = tmp_path_factory.mktemp("demo_db")
    with DuckDBEngine(Target(name="t", profile="p", path=":memory:"), root) as engine:
        session = engine.session()
        for table, columns in TABLES.items():
            session.load_csv(Relation("main", table), csv_dir / f"{table}.csv", dict(columns))
        yield session


def q(db: DuckDBSession, sql: str) -> list[tuple]:
    return db.query(sql).rows


def one(db: DuckDBSession, sql: str) -> Any:
    return q(db, sql)[0][0]


# Orders as staging sees them: latest updated_at wins, ties by the docs/sources.md priority.
LATEST_ORDERS = """
    select * from (
        select *, row_number() over (
            partition by order_id order by updated_at desc,
            case status when 'returned' then 5 when 'cancelled' then 4 when 'delivered' then 3
                when 'shipped' then 2 else 1 end desc) as rn
        from orders)
    where rn = 1
"""


# ---------------------------------------------------------------- files and determinism
def test_same_seed_gives_identical_files(csv_dir: Path, parquet_dir: Path, tmp_path: Path) -> None:
    for fmt, first in (("csv", csv_dir), ("parquet", parquet_dir)):
        again = tmp_path / fmt
        generate(again, fmt=fmt, **PARAMS)
        for table in TABLES:
            name = f"{table}.{fmt}"
            assert (again / name).read_bytes() == (first / name).read_bytes(), name


def test_another_seed_gives_other_data(csv_dir: Path, tmp_path: Path) -> None:
    generate(tmp_path, fmt="csv", **{**PARAMS, "seed": 8})
    for table in ("customers", "orders", "order_items", "sessions", "feedback"):
        assert (tmp_path / f"{table}.csv").read_bytes() != (csv_dir / f"{table}.csv").read_bytes()


def test_row_counts_are_returned(tmp_path: Path) -> None:
    counts = generate(tmp_path, fmt="parquet", customers=50, start=START, months=2, seed=1)
    assert set(counts) == set(TABLES)
    con = duckdb.connect()
    for table, rows in counts.items():
        path = tmp_path / f"{table}.parquet"
        assert con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0] == rows
    assert counts["products"] == 50 and counts["sales_reps"] == 8
    assert counts["orders"] > counts["order_items"] / 5 > 0


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        generate(tmp_path, fmt="json", **PARAMS)
    with pytest.raises(ValueError, match="customers"):
        generate(tmp_path, fmt="csv", **{**PARAMS, "customers": 0})


# ---------------------------------------------------------------- the contract
def test_csv_headers_follow_the_contract(csv_dir: Path) -> None:
    for table, columns in TABLES.items():
        header = (csv_dir / f"{table}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == [name for name, _ in columns]


def test_csv_loads_with_the_declared_types(db: DuckDBSession) -> None:
    for table, columns in TABLES.items():
        found = {c.name: c.type for c in db.columns(Relation("main", table))}
        assert found == {name: DUCKDB_TYPES[type_] for name, type_ in columns}, table


def test_parquet_has_the_contract_types(parquet_dir: Path) -> None:
    con = duckdb.connect()
    for table, columns in TABLES.items():
        path = parquet_dir / f"{table}.parquet"
        found = con.execute(f"describe select * from read_parquet('{path}')").fetchall()
        assert [(name, type_) for name, type_, *_ in found] == [
            (name, DUCKDB_TYPES[type_]) for name, type_ in columns
        ], table


def test_csv_and_parquet_hold_the_same_data(db: DuckDBSession, parquet_dir: Path) -> None:
    for table in TABLES:
        path = parquet_dir / f"{table}.parquet"
        only_csv = one(db, f"select count(*) from (from {table} except all from '{path}')")
        only_parquet = one(db, f"select count(*) from (from '{path}' except all from {table})")
        assert only_csv == only_parquet == 0, table


def test_null_rules(db: DuckDBSession) -> None:
    for table, columns in TABLES.items():
        for name, _ in columns:
            nulls = one(db, f"select count(*) from {table} where {name} is null")
            if name in NULLABLE.get(table, ()):
                continue
            assert nulls == 0, f"{table}.{name}"
    # the nullable ones are sometimes NULL, sometimes not
    for table, names in NULLABLE.items():
        for name in names:
            nulls, total = q(db, f"select count(*) filter ({name} is null), count(*) from {table}")[
                0
            ]
            assert 0 < nulls < total, f"{table}.{name}"


def test_csv_text_conventions(csv_dir: Path) -> None:
    orders = (csv_dir / "orders.csv").read_text(encoding="utf-8")
    stamps = re.findall(r"\d{4}-\d\d-\d\d[ T][\d:]+(?:[+-]\d\d:\d\d)?", orders)
    with_offset = [s for s in stamps if re.search(r"[+-]\d\d:\d\d$", s)]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d([+-]\d\d:\d\d)?", s) for s in stamps)
    assert 0 < len(with_offset) < 0.05 * len(stamps)
    feedback = (csv_dir / "feedback.csv").read_text(encoding="utf-8")
    assert ",true," in feedback and ",false," in feedback
    money = (csv_dir / "order_items.csv").read_text(encoding="utf-8").splitlines()[1].split(",")
    assert re.fullmatch(r"\d+\.\d{1,4}", money[5]) and re.fullmatch(r"\d+\.\d{1,4}", money[6])


def test_offsets_denote_the_utc_instant(csv_dir: Path, parquet_dir: Path) -> None:
    """A timestamp written with an offset is the same instant as in the Parquet file."""
    lines = (csv_dir / "customers.csv").read_text(encoding="utf-8").splitlines()[1:]
    con = duckdb.connect()
    path = parquet_dir / "customers.parquet"
    checked = 0
    for line in lines:
        customer_id, created = line.split(",")[:2]
        if not re.search(r"[+-]\d\d:\d\d$", created):
            continue
        local = datetime.fromisoformat(created)
        utc = (local - local.utcoffset()).replace(tzinfo=None)
        found = con.execute(
            f"select created_at from read_parquet('{path}') where customer_id = ?", [customer_id]
        ).fetchall()
        assert (utc,) in found, line
        checked += 1
    assert checked > 0


# ---------------------------------------------------------------- ranges and references
def test_everything_lies_in_the_window_and_ends_at_the_last_order(db: DuckDBSession) -> None:
    as_of = one(db, "select max(ordered_at)::date from orders")
    assert as_of == (END - timedelta(days=1)).date()
    stamps = [
        (table, name)
        for table, columns in TABLES.items()
        for name, type_ in columns
        if type_ in ("timestamp", "date") and name != "promised_at"
    ]
    for table, name in stamps:
        low, high = q(db, f"select min({name}), max({name}) from {table}")[0]
        assert low >= datetime(2024, 1, 1) if isinstance(low, datetime) else low >= START
        high_day = high.date() if isinstance(high, datetime) else high
        assert high_day <= as_of, f"{table}.{name}"


def test_value_ranges(db: DuckDBSession) -> None:
    assert {r[0] for r in q(db, "select distinct status from orders")} == set(STATUS_PRIORITY)
    assert one(db, "select count(*) from feedback where nps_score not between 0 and 10") == 0
    assert one(db, "select count(*) from feedback where csat_score not between 1 and 5") == 0
    assert one(db, "select min(quantity) from order_items") >= 1
    assert one(db, "select max(line_number) from order_items") <= 5
    assert (
        one(
            db,
            "select count(*) from order_items where discount < 0 "
            "or discount >= quantity * unit_price or unit_price <= 0",
        )
        == 0
    )
    assert one(db, "select count(*) from marketing_spend where spend <= 0") == 0
    assert one(db, "select count(*) from products") == 50
    assert one(db, "select count(distinct category) from products") == 8
    assert one(db, "select count(*) from orders where delivered_at < ordered_at") == 0
    assert one(db, "select count(*) from orders where updated_at < ordered_at") == 0
    assert one(db, "select count(*) from customers where updated_at < created_at") == 0


def test_references(db: DuckDBSession) -> None:
    def orphans(child: str, column: str, parent: str, key: str) -> int:
        return one(
            db,
            f"select count(*) from {child} c where c.{column} is not null and not exists "
            f"(select 1 from {parent} p where p.{key} = c.{column})",
        )

    assert orphans("orders", "customer_id", "customers", "customer_id") == 0
    assert orphans("order_items", "order_id", "orders", "order_id") == 0
    assert orphans("order_items", "product_id", "products", "product_id") == 0
    assert orphans("returns", "order_id", "orders", "order_id") == 0
    assert orphans("feedback", "order_id", "orders", "order_id") == 0
    assert orphans("feedback", "customer_id", "customers", "customer_id") == 0
    assert orphans("sessions", "order_id", "orders", "order_id") == 0
    assert orphans("sessions", "customer_id", "customers", "customer_id") == 0
    assert orphans("customers", "sales_rep_id", "sales_reps", "sales_rep_id") == 0
    assert orphans("orders", "order_id", "order_items", "order_id") == 0  # every order has lines
    # a returned product was a line of that order, refunds never exceed the line amount
    assert (
        one(
            db,
            "select count(*) from returns r where not exists (select 1 from order_items i "
            "where i.order_id = r.order_id and i.product_id = r.product_id "
            "and r.refund_amount <= i.quantity * i.unit_price - i.discount)",
        )
        == 0
    )
    assert one(db, "select min(refund_amount) from returns") > 0
    # feedback is from the customer of the order
    assert (
        one(
            db,
            "select count(*) from feedback f join orders o using (order_id) "
            "where f.customer_id <> o.customer_id",
        )
        == 0
    )
    # every order has at most one converting session, of its own customer
    assert one(db, "select count(order_id) - count(distinct order_id) from sessions") == 0
    assert (
        one(
            db,
            "select count(*) from sessions s join orders o using (order_id) "
            "where s.customer_id <> o.customer_id",
        )
        == 0
    )


def test_returns_and_deliveries_follow_the_order(db: DuckDBSession) -> None:
    latest = LATEST_ORDERS
    assert (
        one(
            db,
            f"select count(*) from returns r join ({latest}) o using (order_id) "
            "where o.status <> 'returned' or r.returned_at <= o.delivered_at",
        )
        == 0
    )
    assert (
        one(
            db,
            f"select count(*) from ({latest}) o where o.status = 'returned' and not exists "
            "(select 1 from returns r where r.order_id = o.order_id)",
        )
        == 0
    )
    assert (
        one(
            db,
            f"select count(*) from ({latest}) where (status in ('delivered', 'returned')) "
            "<> (delivered_at is not null)",
        )
        == 0
    )


def test_referrers_are_earlier_customers(db: DuckDBSession) -> None:
    rows = q(
        db,
        "select c.acquisition_channel, c.created_at, r.created_at from customers c "
        "join customers r on r.customer_id = c.referred_by_customer_id",
    )
    assert len(rows) > 10
    assert all(referrer < created for _, created, referrer in rows)
    channels = {ch.strip().lower() for ch, _, _ in rows}
    assert channels == {"referral"}


# ---------------------------------------------------------------- behaviours
def test_orders_are_resent_with_duplicates_ties_and_late_arrivals(db: DuckDBSession) -> None:
    orders = one(db, "select count(distinct order_id) from orders")
    rows = one(db, "select count(*) from orders")
    assert rows > 2 * orders  # re-sent at each status change
    duplicates = rows - one(db, "select count(*) from (select distinct * from orders)")
    assert 0 < duplicates < 0.02 * rows
    ties = q(
        db,
        "select order_id, updated_at, list(status order by status) from orders "
        "group by all having count(distinct status) > 1",
    )
    assert ties
    # a tie resolved by the priority of docs/sources.md gives the order's real final status
    latest = {r[0]: r[1] for r in q(db, f"select order_id, status from ({LATEST_ORDERS})")}
    for order_id, _, statuses in ties:
        best = max(statuses, key=STATUS_PRIORITY.__getitem__)
        assert latest[order_id] == best
    late = one(
        db,
        "select count(*) from (select order_id, min(updated_at) - min(ordered_at) as lag "
        "from orders group by 1) where lag >= interval 2 day",
    )
    assert 0 < late < 0.05 * orders


def test_order_status_mix(db: DuckDBSession) -> None:
    shares = dict(
        q(db, f"select status, count(*) / sum(count(*)) over () from ({LATEST_ORDERS}) group by 1")
    )
    assert 0.02 < shares["cancelled"] < 0.09
    assert 0.03 < shares["returned"] < 0.11
    assert shares["delivered"] > 0.7
    late = one(
        db,
        f"select avg((delivered_at > promised_at)::int) from ({LATEST_ORDERS}) "
        "where delivered_at is not null and promised_at is not null",
    )
    assert 0.05 < late < 0.2
    partial = one(
        db,
        "select count(*) from returns r join order_items i using (order_id, product_id) "
        "where r.refund_amount < i.quantity * i.unit_price - i.discount",
    )
    assert partial > 0


def test_channels_misspelt_and_unknown(db: DuckDBSession) -> None:
    def normalise(value: str) -> str:
        return re.sub(r"[\s-]+", "_", value.strip().lower())

    for table, column in (
        ("orders", "channel"),
        ("sessions", "channel"),
        ("customers", "acquisition_channel"),
        ("marketing_spend", "channel"),
    ):
        values = dict(q(db, f"select {column}, count(*) from {table} group by 1"))
        canonical = sum(n for v, n in values.items() if v in CANONICAL)
        misspelt = {v for v in values if v not in CANONICAL and normalise(v) in CANONICAL}
        assert misspelt, table
        assert sum(values[v] for v in misspelt) < 0.03 * canonical
        unknown = {v for v in values if normalise(v) not in CANONICAL}
        if table == "orders":
            assert unknown == {"podcast"}
            assert values["podcast"] < 0.01 * canonical
        elif table == "sessions":
            assert unknown <= {"podcast"}
        else:
            assert not unknown
    spend_channels = {
        normalise(r[0]) for r in q(db, "select distinct channel from marketing_spend")
    }
    assert {"paid_search", "social"} <= spend_channels
    assert not {"organic", "direct"} & spend_channels


def test_customers_redelivered_duplicated_and_some_never_order(db: DuckDBSession) -> None:
    customers = one(db, "select count(distinct customer_id) from customers")
    assert customers == PARAMS["customers"] or customers > 0.97 * PARAMS["customers"]
    rows = one(db, "select count(*) from customers")
    distinct = one(db, "select count(*) from (select distinct * from customers)")
    assert rows > distinct  # exact duplicates
    moved = one(
        db,
        "select count(*) from (select customer_id from customers group by 1 "
        "having count(distinct region) > 1 and count(distinct updated_at) > 1)",
    )
    assert moved > 0
    never = one(
        db,
        "select count(*) from (select distinct customer_id from customers) c "
        "where not exists (select 1 from orders o where o.customer_id = c.customer_id)",
    )
    assert 0.05 * customers < never < 0.4 * customers
    assert one(db, "select count(distinct sales_rep_id) from customers") > 0


def test_channels_bring_customers_of_different_quality(db: DuckDBSession) -> None:
    rows = q(
        db,
        f"""
        with c as (
            select customer_id, any_value(lower(trim(acquisition_channel))) as ch
            from customers group by 1
        ), n as (
            select customer_id, count(*) as n from ({LATEST_ORDERS})
            where status <> 'cancelled' group by 1
        )
        select replace(replace(ch, ' ', '_'), '-', '_') as ch, avg(n)
        from c join n using (customer_id) group by 1
        """,
    )
    per_channel = dict(rows)
    loyal = (per_channel["referral"] + per_channel["email"]) / 2
    fickle = (per_channel["social"] + per_channel["paid_search"]) / 2
    assert loyal > 1.5 * fickle


def test_the_bad_batch_stands_out(db: DuckDBSession) -> None:
    rows = q(
        db,
        """
        with lines as (
            select i.batch_id, i.order_id, i.product_id,
                exists (select 1 from returns r where r.order_id = i.order_id
                        and r.product_id = i.product_id) as returned,
                exists (select 1 from feedback f where f.order_id = i.order_id
                        and f.is_complaint) as complaint
            from order_items i where i.batch_id is not null
        )
        select batch_id, count(*), avg(returned::int), avg(complaint::int)
        from lines group by 1
        """,
    )
    by_batch = {batch: (n, ret, comp) for batch, n, ret, comp in rows if n >= 15}
    worst = max(by_batch, key=lambda batch: by_batch[batch][1])
    assert worst.startswith("P020-")  # a batch of the kettle
    rest = [v for batch, v in by_batch.items() if batch != worst]
    lines = sum(n for n, _, _ in rest)
    _, ret, comp = by_batch[worst]
    assert ret > 4 * sum(n * r for n, r, _ in rest) / lines
    assert comp > 3 * sum(n * c for n, _, c in rest) / lines


def test_feedback_and_sessions(db: DuckDBSession) -> None:
    assert (
        one(
            db,
            "select count(*) from feedback where nps_score is null and csat_score is null "
            "and not is_complaint",
        )
        == 0
    )
    comments = [r[0] for r in q(db, "select comment from feedback where comment is not null")]
    assert any(not c.isascii() for c in comments)
    assert one(db, "select count(*) from feedback where order_id is null") > 0
    # late deliveries make customers less happy
    late, on_time = q(
        db,
        f"""
        select avg(f.nps_score) filter (where o.delivered_at > o.promised_at),
            avg(f.nps_score) filter (where o.delivered_at <= o.promised_at)
        from feedback f join ({LATEST_ORDERS}) o using (order_id)
        """,
    )[0]
    assert late < on_time - 1
    converted, total = q(db, "select count(order_id), count(*) from sessions")[0]
    assert 0.05 < converted / total < 0.5
    assert one(db, "select count(*) from sessions where customer_id is null") > 0


def test_seasonality(tmp_path: Path) -> None:
    generate(tmp_path, fmt="parquet", customers=300, start=date(2023, 1, 1), months=24, seed=3)
    con = duckdb.connect()
    path = tmp_path / "orders.parquet"
    per_month = dict(
        con.execute(
            f"select month(ordered_at), count(distinct order_id) from read_parquet('{path}') "
            "where year(ordered_at) = 2024 group by 1"
        ).fetchall()
    )
    assert per_month[12] > 1.2 * per_month[10]


# ---------------------------------------------------------------- seeds and the CLI
def test_bundled_seeds_yaml_declares_every_column() -> None:
    root = Path(__file__).resolve().parents[1]
    declared = yaml.safe_load((root / "seeds" / "_seeds.yml").read_text(encoding="utf-8"))
    assert declared == yaml.safe_load(seeds_yaml())
    types = {s["name"]: s["config"]["column_types"] for s in declared["seeds"]}
    assert types == {table: dict(columns) for table, columns in TABLES.items()}
    for table, columns in TABLES.items():
        path = root / "seeds" / "shop" / f"{table}.csv"
        header = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == [name for name, _ in columns]


def test_cli_demo_data(tmp_path: Path) -> None:
    out = tmp_path / "landing"
    args = ["demo-data", "--customers", "60", "--start", "2024-03-01", "--months", "2"]
    result = CliRunner().invoke(
        cli, [*args, "--seed", "5", "--out", str(out), "--format", "parquet"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.parquet" for t in TABLES)
    assert "orders" in result.output and "Wrote 9 tables" in result.output
    again = tmp_path / "again"
    expected = generate(
        again, customers=60, start=date(2024, 3, 1), months=2, seed=5, fmt="parquet"
    )
    assert (again / "orders.parquet").read_bytes() == (out / "orders.parquet").read_bytes()
    assert f"{expected['orders']:,} rows" in result.output
    bad = CliRunner().invoke(cli, ["demo-data", "--out", str(out), "--format", "json"])
    assert bad.exit_code == 2
