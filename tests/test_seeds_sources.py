"""Seeds (CSV -> table) and sources (files, seeds, attached databases -> typed views),
against a real in-memory DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path, PurePosixPath

import duckdb
import pytest

from runner.engines.duckdb import DuckDBEngine, DuckDBSession
from runner.errors import ProjectError
from runner.nodes import Column, Relation, Seed, Source
from runner.project import Target
from runner.seeds import SeedError, load_seed
from runner.sources import (
    SourceError,
    SourceLocation,
    check_source,
    create_source,
    seed_for,
    source_locations,
)
from runner.yamlio import load_yaml

TARGET = Target(name="t", profile="p", path=":memory:")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DuckDBEngine]:
    with DuckDBEngine(TARGET, tmp_path) as engine:
        yield engine


@pytest.fixture
def session(engine: DuckDBEngine) -> DuckDBSession:
    return engine.session()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_seed(root: Path, name: str, text: str, column_types: dict[str, str] | None = None) -> Seed:
    write(root / "seeds" / f"{name}.csv", text)
    return Seed(
        unique_id=f"seed.{name}",
        name=name,
        path=PurePosixPath(f"seeds/{name}.csv"),
        fqn=("p", name),
        relation=Relation("main", name),
        column_types=column_types or {},
    )


def rows(session: DuckDBSession, sql: str) -> list[tuple]:
    return session.query(sql).rows


def types(session: DuckDBSession, relation: str) -> dict[str, str]:
    return {c.name: c.type for c in session.query_columns(f"select * from {relation}")}


# ---------------------------------------------------------------------------- seeds


def test_seed_declared_types_exact_and_inferred(session: DuckDBSession, tmp_path: Path) -> None:
    seed = make_seed(
        tmp_path,
        "payments",
        "id,amount,paid_at,note\n1,0.1,2024-01-01 10:00:00+02:00,a\n2,0.2,2024-01-02T08:00:00,b\n",
        {"amount": "DECIMAL(18,4)", "paid_at": "timestamp"},
    )
    assert load_seed(session, seed, tmp_path) == 2
    assert types(session, "main.payments") == {
        "id": "BIGINT",
        "amount": "DECIMAL(18,4)",
        "paid_at": "TIMESTAMP",
        "note": "VARCHAR",
    }
    assert rows(session, "select sum(amount) from main.payments") == [(Decimal("0.3"),)]
    # The +02:00 offset is converted to UTC, not dropped.
    assert rows(session, "select strftime(paid_at, '%H:%M') from main.payments order by id") == [
        ("08:00",),
        ("08:00",),
    ]


def test_seed_header_only_is_empty_table(session: DuckDBSession, tmp_path: Path) -> None:
    seed = make_seed(tmp_path, "empty", "id,amount\n", {"amount": "decimal(18,4)"})
    assert load_seed(session, seed, tmp_path) == 0
    assert types(session, "main.empty")["amount"] == "DECIMAL(18,4)"


def test_seed_reload_replaces_rows(session: DuckDBSession, tmp_path: Path) -> None:
    seed = make_seed(tmp_path, "s", "id\n1\n2\n3\n")
    assert load_seed(session, seed, tmp_path) == 3
    write(tmp_path / "seeds" / "s.csv", "id\n7\n")
    assert load_seed(session, seed, tmp_path) == 1
    assert rows(session, "select id from main.s") == [(7,)]


def seed_error(session: DuckDBSession, seed: Seed, root: Path) -> SeedError:
    with pytest.raises(SeedError) as info:
        load_seed(session, seed, root)
    assert info.value.exit_code == 1
    assert info.value.path == Path(seed.path)
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("id,amount,name\n1,0.1,a\n2,0.2,b,extra\n", 3, "after the last column 'name'"),
        ("id,amount,name\n1,0.1,a\n2,0.2\n", 3, "no value for column 'name'"),
    ],
)
def test_seed_wrong_field_count(
    session: DuckDBSession, tmp_path: Path, text: str, line: int, needle: str
) -> None:
    seed = make_seed(tmp_path, "bad", text)
    error = seed_error(session, seed, tmp_path)
    assert error.line == line
    assert needle in error.message
    assert "seed 'bad'" in error.message
    assert "quote" in (error.hint or "")
    assert str(error).startswith("seeds/bad.csv:3: ")


def test_seed_wrong_field_count_beyond_sniffer_sample(
    session: DuckDBSession, tmp_path: Path
) -> None:
    body = "".join(f"{i},n{i}\n" for i in range(30_000))
    seed = make_seed(tmp_path, "big", "id,name\n" + body + "1,2,3\n")
    error = seed_error(session, seed, tmp_path)
    assert error.line == 30_002


def test_seed_value_does_not_cast(session: DuckDBSession, tmp_path: Path) -> None:
    seed = make_seed(
        tmp_path, "bad", "id,amount\n1,0.1\n2,zz\n", {"amount": "DECIMAL(18,4)", "id": "integer"}
    )
    error = seed_error(session, seed, tmp_path)
    assert error.line == 3
    assert error.message == (
        "seed 'bad': line 3, column 'amount': value \"zz\" is not a valid DECIMAL(18, 4)"
    )
    assert "column_types" in (error.hint or "")


def test_seed_bad_timestamp_still_has_line(session: DuckDBSession, tmp_path: Path) -> None:
    seed = make_seed(tmp_path, "bad", "id,at\n1,2024-01-01\n2,yesterday\n", {"at": "timestamp"})
    error = seed_error(session, seed, tmp_path)
    assert error.line == 3
    assert "column 'at'" in error.message and "yesterday" in error.message


def test_seed_failed_reload_keeps_old_table(session: DuckDBSession, tmp_path: Path) -> None:
    seed = make_seed(tmp_path, "s", "id\n1\n", {"id": "integer"})
    load_seed(session, seed, tmp_path)
    write(tmp_path / "seeds" / "s.csv", "id\nnope\n")
    seed_error(session, seed, tmp_path)
    assert rows(session, "select id from main.s") == [(1,)]


def test_seed_declared_column_not_in_header(session: DuckDBSession, tmp_path: Path) -> None:
    seed = make_seed(tmp_path, "s", "id,amount\n1,2\n", {"amont": "DECIMAL(18,4)"})
    error = seed_error(session, seed, tmp_path)
    assert "'amont'" in error.message and "id, amount" in error.message
    assert error.line == 1


def test_seed_empty_file_needs_header(session: DuckDBSession, tmp_path: Path) -> None:
    error = seed_error(session, make_seed(tmp_path, "s", ""), tmp_path)
    assert "header" in error.message


# ---------------------------------------------------------------------------- sources

ORDER_COLUMNS = (
    Column("order_id", data_type="text", line=11),
    Column("amount", data_type="decimal(18,4)", line=12),
    Column("ordered_at", data_type="timestamp", line=13),
)


def make_source(name: str = "orders", columns: tuple[Column, ...] = ORDER_COLUMNS) -> Source:
    return Source(
        unique_id=f"source.shop.{name}",
        name=name,
        path=PurePosixPath("models/sources.yml"),
        fqn=("p", "shop", name),
        relation=Relation("shop", name),
        columns=columns,
        line=9,
        source_name="shop",
        identifier=name,
    )


ORDERS_CSV = (
    "ordered_at,order_id,extra,amount\n"
    "2024-01-01 10:00:00,1,x,0.1\n"
    "2024-01-02 10:00:00+01,002,y,0.2\n"
)


def assert_orders(session: DuckDBSession) -> None:
    assert types(session, "shop.orders") == {
        "order_id": "VARCHAR",
        "amount": "DECIMAL(18,4)",
        "ordered_at": "TIMESTAMP",
    }
    assert rows(session, "select sum(amount) from shop.orders") == [(Decimal("0.3"),)]
    assert rows(session, "select order_id from shop.orders order by order_id") == [
        ("002",),  # read as text: the sniffer never turns it into the integer 2
        ("1",),
    ]


def files(path: Path, **extra: str) -> SourceLocation:
    return SourceLocation(kind="files", path=path, **extra)


def test_source_from_csv_file(session: DuckDBSession, tmp_path: Path) -> None:
    landing = tmp_path / "it's landing"  # a quote in the path must not break the SQL
    write(landing / "orders.csv", ORDERS_CSV)
    location = files(landing)
    check_source(session, make_source(), location, tmp_path)
    create_source(session, make_source(), location, tmp_path, None)
    assert_orders(session)
    assert rows(session, "select strftime(max(ordered_at), '%H') from shop.orders") == [("09",)]


def to_parquet(session: DuckDBSession, csv_text: str, target: Path, tmp_path: Path) -> None:
    csv = write(tmp_path / "tmp.csv", csv_text)
    target.parent.mkdir(parents=True, exist_ok=True)
    quoted_csv = str(csv).replace("'", "''")
    quoted_target = str(target).replace("'", "''")
    session.execute(
        f"copy (select * from read_csv('{quoted_csv}', all_varchar=true)) "
        f"to '{quoted_target}' (format parquet)"
    )


def test_source_from_parquet_file(session: DuckDBSession, tmp_path: Path) -> None:
    to_parquet(session, ORDERS_CSV, tmp_path / "landing" / "orders.parquet", tmp_path)
    create_source(session, make_source(), files(tmp_path / "landing"), tmp_path, None)
    assert_orders(session)


def test_source_from_parquet_folder(session: DuckDBSession, tmp_path: Path) -> None:
    header, first, second = ORDERS_CSV.splitlines(keepends=True)
    to_parquet(session, header + first, tmp_path / "landing/orders/part-0.parquet", tmp_path)
    to_parquet(session, header + second, tmp_path / "landing/orders/part-1.parquet", tmp_path)
    location = files(tmp_path / "landing", format="parquet")
    check_source(session, make_source(), location, tmp_path)
    create_source(session, make_source(), location, tmp_path, None)
    assert_orders(session)


def test_source_from_attached_database(session: DuckDBSession, tmp_path: Path) -> None:
    other = duckdb.connect(str(tmp_path / "other.duckdb"))
    other.execute("create schema crm")
    other.execute(
        "create table crm.orders as select * from (values "
        "('1', 0.1::double, '2024-01-01 10:00:00', 'x'), "
        "('002', 0.2::double, '2024-01-02 09:00:00', 'y')) t(order_id, amount, ordered_at, extra)"
    )
    other.close()
    location = SourceLocation(kind="database", path=tmp_path / "other.duckdb", schema="crm")
    check_source(session, make_source(), location, tmp_path)
    create_source(session, make_source(), location, tmp_path, None)
    create_source(session, make_source(), location, tmp_path, None)  # attached once, reused
    assert_orders(session)


def test_source_from_seed_with_prefix(session: DuckDBSession, tmp_path: Path) -> None:
    location = SourceLocation(kind="seeds", prefix="raw_")
    source = make_source()
    assert seed_for(source, location) == "raw_orders"
    seed = make_seed(tmp_path, "raw_orders", ORDERS_CSV)
    check_source(session, source, location, tmp_path, seed=seed)
    load_seed(session, seed, tmp_path)
    create_source(session, source, location, tmp_path, seed.relation)
    assert types(session, "shop.orders")["amount"] == "DECIMAL(18,4)"
    assert rows(session, "select sum(amount) from shop.orders") == [(Decimal("0.3"),)]


def test_source_without_declared_columns_reads_all_as_text(
    session: DuckDBSession, tmp_path: Path
) -> None:
    write(tmp_path / "landing" / "orders.csv", ORDERS_CSV)
    create_source(session, make_source(columns=()), files(tmp_path / "landing"), tmp_path, None)
    assert set(types(session, "shop.orders").values()) == {"VARCHAR"}


def test_source_missing_file(session: DuckDBSession, tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    with pytest.raises(SourceError) as info:
        check_source(session, make_source(), files(tmp_path / "landing"), tmp_path)
    error = info.value
    assert error.exit_code == 2
    assert "source shop.orders" in error.message
    assert "orders.csv, orders.parquet, orders/*.parquet in landing" in error.message
    assert (error.path, error.line) == (Path("models/sources.yml"), 9)


def test_source_missing_column(session: DuckDBSession, tmp_path: Path) -> None:
    write(tmp_path / "landing" / "orders.csv", "order_id,ordered_at\n1,2024-01-01\n")
    for call in (check_source, create_source):
        with pytest.raises(SourceError) as info:
            args = (session, make_source(), files(tmp_path / "landing"), tmp_path)
            call(*args) if call is check_source else call(*args, None)
        error = info.value
        assert "source shop.orders" in error.message
        assert "column 'amount'" in error.message
        assert "landing/orders.csv" in error.message
        assert error.line == 12  # the column's declaration
        assert "order_id, ordered_at" in (error.hint or "")


def test_source_with_zero_rows(session: DuckDBSession, tmp_path: Path) -> None:
    write(tmp_path / "csv" / "orders.csv", "order_id,amount,ordered_at\n")
    to_parquet(
        session, "order_id,amount,ordered_at\n", tmp_path / "pq" / "orders.parquet", tmp_path
    )
    for folder in ("csv", "pq"):
        location = files(tmp_path / folder)
        check_source(session, make_source(), location, tmp_path)
        create_source(session, make_source(), location, tmp_path, None)
        assert rows(session, "select count(*), sum(amount) from shop.orders") == [(0, None)]


def test_source_bad_value_surfaces_when_read(session: DuckDBSession, tmp_path: Path) -> None:
    write(tmp_path / "landing" / "orders.csv", "order_id,amount,ordered_at\n1,lots,2024-01-01\n")
    create_source(session, make_source(), files(tmp_path / "landing"), tmp_path, None)
    with pytest.raises(duckdb.ConversionException, match="lots"):
        rows(session, "select * from shop.orders")


# ---------------------------------------------------------------------------- locations

PROFILE_SOURCES = """\
sources:
  default: {from: seeds}
  shop: {from: files, path: data/landing, format: csv}
  crm: {from: database, path: other.duckdb}
  web: {from: seeds, prefix: raw_}
"""


def target_with(yaml_text: str) -> Target:
    options = load_yaml(yaml_text, "profiles.yml")
    return Target(name="dev", profile="p", options=options)


def test_locations_from_profile(tmp_path: Path) -> None:
    locations = source_locations(target_with(PROFILE_SOURCES), {}, tmp_path)
    assert locations.for_source("shop") == SourceLocation(
        kind="files", path=(tmp_path / "data/landing").resolve(), format="csv"
    )
    assert locations.for_source("crm").path == (tmp_path / "other.duckdb").resolve()
    assert locations.for_source("crm").schema == "main"
    assert locations.for_source("web").prefix == "raw_"
    assert locations.for_source("anything") == SourceLocation(kind="seeds")
    assert (
        source_locations(Target(name="t", profile="p"), {}, tmp_path).for_source("shop")
        == SourceLocation()
    )


def test_locations_vars_override(tmp_path: Path) -> None:
    vars_ = {
        "sources": {
            "default": {"from": "files", "path": "/data/x"},
            "shop": {"path": "elsewhere"},
        }
    }
    locations = source_locations(target_with(PROFILE_SOURCES), vars_, tmp_path)
    assert locations.for_source("other") == SourceLocation(kind="files", path=Path("/data/x"))
    shop = locations.for_source("shop")
    assert (shop.kind, shop.path, shop.format) == ("files", tmp_path.resolve() / "elsewhere", "csv")


def test_locations_vars_override_is_used_by_create_source(
    session: DuckDBSession, tmp_path: Path
) -> None:
    write(tmp_path / "override" / "orders.csv", ORDERS_CSV)
    vars_ = {"sources": {"shop": {"path": "override"}}}
    location = source_locations(target_with(PROFILE_SOURCES), vars_, tmp_path).for_source("shop")
    create_source(session, make_source(), location, tmp_path, None)
    assert_orders(session)


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("sources:\n  shop:\n    from: ftp\n", 3, "unknown 'from: ftp'"),
        ("sources:\n  shop: {from: files}\n", 2, "needs a path"),
        ("sources:\n  shop: {from: files, path: x, format: xlsx}\n", 2, "unknown format"),
        ("sources:\n  shop: {from: files, pth: x}\n", 2, "unknown key 'pth'"),
    ],
)
def test_locations_errors(tmp_path: Path, text: str, line: int, needle: str) -> None:
    profiles = tmp_path / "profiles.yml"
    with pytest.raises(ProjectError) as info:
        source_locations(target_with(text), {}, tmp_path, profiles_path=profiles)
    assert needle in info.value.message
    assert (info.value.path, info.value.line) == (profiles, line)
    assert info.value.hint


def test_locations_error_from_vars(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="var 'sources', entry 'shop': unknown 'from: s3'"):
        source_locations(
            target_with(PROFILE_SOURCES), {"sources": {"shop": {"from": "s3"}}}, tmp_path
        )


def test_seed_unterminated_quote(session: DuckDBSession, tmp_path: Path) -> None:
    error = seed_error(session, make_seed(tmp_path, "s", 'id,n\n1,"abc\n'), tmp_path)
    assert error.line == 2
    assert error.message == "seed 's': line 2: Value with unterminated quote found."


def test_source_parquet_timestamptz_becomes_utc_timestamp(
    session: DuckDBSession, tmp_path: Path
) -> None:
    target = tmp_path / "landing" / "events.parquet"
    target.parent.mkdir()
    quoted = str(target).replace("'", "''")
    session.execute(
        f"copy (select '2024-01-01 10:00:00+02'::timestamptz as at) to '{quoted}' (format parquet)"
    )
    source = make_source("events", (Column("at", data_type="timestamp", line=3),))
    create_source(session, source, files(tmp_path / "landing"), tmp_path, None)
    assert types(session, "shop.events") == {"at": "TIMESTAMP"}
    assert rows(session, "select strftime(\"at\", '%H:%M') from shop.events") == [("08:00",)]
