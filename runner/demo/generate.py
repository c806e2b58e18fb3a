"""Generate the demo shop's raw tables (docs/sources.md) with DuckDB SQL, no row loops.

Randomness is a hash: every random draw is ``hash(key..., stream, seed)`` mapped to (0, 1),
so a value depends only on the seed and on what it belongs to (a customer, an order, an
order line), never on thread scheduling or row order. The same seed gives byte-identical
files; a different seed a different shop.

The model behind the rows:

- Customers sign up month by month (growing, with November/December peaks) through seven
  channels of different quality. Each draws a purchase rate from a gamma distribution and
  a dropout probability from a beta distribution (BG/NBD, Fader-Hardie-Lee 2005): while
  alive they buy as a Poisson process in seasonal time, and after every purchase they stop
  for good with their dropout probability. Some never order at all.
- Orders get 1-5 lines from a catalogue of 50 products in 8 categories (lines of one order
  lean to one category and its complement); one production batch of one product is bad.
- Fulfilment: cancellations, shipping, a promised date, late deliveries, returns of lines
  (partial refunds too), surveys (NPS, CSAT) and complaints that depend on all of that.
- The extract behaves like a real one: an order is re-sent at each status change, with a
  few exact duplicates, ties on updated_at and late arrivals; customers are re-delivered
  whole; channels are sometimes misspelt; some timestamps carry a UTC offset (CSV only).

Nothing happens after the day of the last order (the warehouse's as-of date).
"""

from __future__ import annotations

import calendar
import math
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from . import catalog as cat
from .catalog import TABLES

FORMATS = ("csv", "parquet")
DAY = 86400
_TWO53 = 9007199254740992.0


# ---------------------------------------------------------------- SQL helpers
def _lit(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    raise TypeError(f"no SQL literal for {value!r}")


def _at(values: Sequence[Any], index: str) -> str:
    """``values[index]`` with a 0-based SQL integer index."""
    return f"{_lit(list(values))}[({index}) + 1]"


class _Random:
    """Uniform draws in (0, 1) as SQL expressions: a hash of the keys, a stream and the seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, stream: str, *keys: str) -> str:
        salt = zlib.crc32(stream.encode()) & 0x7FFFFFFF
        args = ", ".join((*keys, str(salt), str(self.seed)))
        return f"((hash({args}) >> 11)::double + 0.5) / {_TWO53}"

    def exp(self, stream: str, *keys: str) -> str:
        """A standard exponential draw."""
        return f"(-ln({self(stream, *keys)}))"

    def normal(self, stream: str, *keys: str) -> str:
        """A standard normal draw (Box-Muller)."""
        return (
            f"(sqrt(-2 * ln({self(stream + '.r', *keys)}))"
            f" * cos(2 * pi() * {self(stream + '.a', *keys)}))"
        )

    def pick(self, stream: str, keys: Sequence[str], weights: Sequence[float]) -> str:
        """An index 0..n-1 drawn with the given weights."""
        return _pick(self(stream, *keys), weights)


def _pick(uniform: str, weights: Sequence[float], values: Sequence[int] | None = None) -> str:
    total = float(sum(weights))
    values = list(range(len(weights))) if values is None else list(values)
    cases, cumulative = [], 0.0
    for weight, value in zip(weights[:-1], values[:-1], strict=True):
        cumulative += weight / total
        cases.append(f"when u < {cumulative!r} then {value}")
    # the uniform is bound once (a lambda), so it is computed once per row
    return (
        f"(list_transform([{uniform}], lambda u: case {' '.join(cases)} else {values[-1]} end)[1])"
    )


# ---------------------------------------------------------------- the calendar
def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _epoch(day: date) -> int:
    return calendar.timegm(day.timetuple())


@dataclass(frozen=True)
class _Month:
    index: int
    start: int  # epoch seconds
    end: int
    season: float
    calendar_month: int
    acquisition: float  # share of sign-ups
    op_start: int  # seasonal ("operational") time at the start, in seconds


def _months(start: date, months: int) -> list[_Month]:
    raw = []
    for m in range(months):
        lo, hi = _add_months(start, m), _add_months(start, m + 1)
        growth = 1.0 + 0.6 * m / max(months - 1, 1)
        season = cat.SEASON[lo.month]
        raw.append((m, _epoch(lo), _epoch(hi), season, lo.month, growth))
    weights = [(hi - lo) * season * growth for _, lo, hi, season, _, growth in raw]
    total = sum(weights)
    result, op = [], 0
    for (m, lo, hi, season, month, _), weight in zip(raw, weights, strict=True):
        result.append(_Month(m, lo, hi, season, month, weight / total, op))
        op += math.floor((hi - lo) * season)
    return result


# ---------------------------------------------------------------- the generator
def generate(
    out: Path,
    *,
    customers: int,
    start: date,
    months: int,
    seed: int,
    fmt: str = "csv",
    threads: int | None = None,
) -> dict[str, int]:
    """Write the nine raw tables of docs/sources.md as ``out/<table>.<fmt>`` and return the
    number of rows written per table. Deterministic: the same arguments give byte-identical
    files. About 5 orders per customer; everything lies in [start, start + months)."""
    import duckdb

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="runner-demo-") as spill:
        config: dict[str, Any] = {
            "temp_directory": spill,
            "preserve_insertion_order": True,
        }
        if threads:
            config["threads"] = threads
        con = duckdb.connect(":memory:", config=config)
        try:
            con.execute("set enable_progress_bar = false")
            builder = _Builder(con, customers=customers, start=start, months=months, seed=seed)
            return builder.run(out, fmt)
        finally:
            con.close()


class _Builder:
    """Builds the tables step by step in one DuckDB connection (temporary tables)."""

    def __init__(self, con: Any, *, customers: int, start: date, months: int, seed: int) -> None:
        self.con = con
        self.n = customers
        self.r = _Random(seed)
        self.months = _months(start, months)
        self.start = self.months[0].start
        self.end = self.months[-1].end
        self.op_end = self.months[-1].op_start + math.floor(
            (self.months[-1].end - self.months[-1].start) * self.months[-1].season
        )
        self.cutoff = self.end  # the day after the last order, set once orders exist
        self.channels = [c.name for c in cat.CHANNELS]
        self.width = {"C": max(6, len(str(customers)))}

    def sql(self, statement: str) -> None:
        self.con.execute(statement)

    def scalar(self, query: str) -> Any:
        return self.con.execute(query).fetchone()[0]

    # ------------------------------------------------------------ the steps
    def run(self, out: Path, fmt: str) -> dict[str, int]:
        """Build the tables and write each as soon as it is complete (then drop what is no
        longer needed, to keep memory low for big runs). Returns rows per table."""
        counts: dict[str, int] = {}

        def emit(*tables: str, drop: Sequence[str] = ()) -> None:
            for table in tables:
                counts[table] = self.write(table, out, fmt)
            for table in drop:
                self.sql(f"drop table {table}")

        self._months_table()
        self._customers()
        self._referrals()
        self._purchases()
        self._orders()
        self._items()
        self._fulfilment()
        self._order_rows()
        emit("orders", drop=["orow"])
        self._returns()
        emit("order_items", "returns", drop=["items", "ret"])
        self._feedback()
        emit("feedback", drop=["fb"])
        self._sessions()
        emit("sessions", drop=["sess", "ow"])
        self._spend()
        self._customer_rows()
        emit("customers", "marketing_spend", "products", "sales_reps")
        return {table: counts[table] for table in TABLES}

    def _months_table(self) -> None:
        rows = ", ".join(
            f"({m.index}, {m.start}, {m.end}, {m.season!r}, {m.calendar_month}, {lo!r}, "
            f"{m.acquisition!r}, {m.op_start})"
            for m, lo in zip(
                self.months, _cumulative([m.acquisition for m in self.months]), strict=True
            )
        )
        self.sql(
            "create temp table months as select * from (values "
            + rows
            + ") t(m, ms, me, s, cal, acq_lo, acq, op_lo)"
        )

    def _channel_text(self, ci: str, stream: str, keys: Sequence[str], variant: float) -> str:
        """The channel as a source system spells it: mostly the canonical name."""
        variants = [list(c.variants) for c in cat.CHANNELS]
        u = self.r(stream + ".variant", *keys)
        which = self.r(stream + ".which", *keys)
        return (
            f"(case when {u} < {variant!r} then "
            f"list_extract({_lit(variants)}[({ci}) + 1], "
            f"1 + floor({which} * len({_lit(variants)}[({ci}) + 1]))::int) "
            f"else {_at(self.channels, ci)} end)"
        )

    # ------------------------------------------------------------ customers
    def _customers(self) -> None:
        r = self.r
        chans = cat.CHANNELS
        for c in chans:
            if c.shape * 2 != int(c.shape * 2) or not 0.5 <= c.shape <= 3:
                raise ValueError(f"channel {c.name}: shape must be a multiple of 0.5 in [0.5, 3]")
        regions = cat.REGIONS
        country_case = "case ri " + " ".join(
            f"when {i} then {_pick(r('country', 'i'), [w for _, w in countries], None)}"
            for i, (_, _, _, _, countries) in enumerate(regions)
        )
        country_case += " end"
        # gamma(shape) with shape = a + b/2: a exponentials plus b halves of a squared normal
        whole = [int(c.shape) for c in chans]
        half = [int(c.shape * 2) % 2 for c in chans]
        gamma = " + ".join(
            [
                f"(case when {_at(whole, 'ci')} > {j} then {r.exp(f'gamma{j}', 'i')} else 0 end)"
                for j in range(3)
            ]
            + [f"{_at(half, 'ci')} * 0.5 * pow({r.normal('gamma.half', 'i')}, 2)"]
        )
        self.sql(
            f"""
            create temp table c0 as
            select g.i, m.m as month_i,
                (m.ms + floor({r("signup.time", "g.i")} * (m.me - m.ms)))::bigint as created_sec,
                {r.pick("channel", ["g.i"], [c.share for c in chans])} as ci,
                {r.pick("region", ["g.i"], [x[1] for x in regions])} as ri
            from (select i, {r("signup.month", "i")} as um from range({self.n}) t(i)) g
            asof join months m on g.um >= m.acq_lo
            """
        )
        rate = [c.rate / 30 / DAY / c.shape for c in chans]  # per second, per unit of gamma
        b2b_share = [x[3] for x in regions]
        self.sql(
            f"""
            create temp table cust as
            select row_number() over (order by created_sec, i) as cidx, i, month_i,
                created_sec, ci, ri, ({country_case}) as country_i,
                {r("b2b", "i")} < {_at(b2b_share, "ri")} as b2b
            from c0
            """
        )
        self.sql(
            f"""
            create temp table cust2 as
            select *,
                case when b2b then 'SR' || lpad((ri * 2 + ({r("rep", "i")} < 0.5)::int + 1)
                    ::varchar, 2, '0') end as rep,
                greatest(({gamma}) * {_at(rate, "ci")} * (case when b2b then 2.5 else 1 end),
                    1e-12) as lam,
                1 - pow({r("dropout", "i")}, 1.0 / {_at([c.dropout_b for c in chans], "ci")})
                    as p_drop,
                {r("never", "i")} < {_at([c.never_orders for c in chans], "ci")}
                    * (case when b2b then 0.3 else 1 end) as never,
                case when {r("delay.same", "i")} < 0.55 then 60 + floor({r("delay.s", "i")} * 1740)
                    else floor({r.exp("delay.e", "i")} * 10 * {DAY}) end::bigint as delay
            from cust
            """
        )
        self.sql("drop table cust; alter table cust2 rename to cust; drop table c0")

    def _referrals(self) -> None:
        """Referral customers point at an earlier customer; email and referral customers
        (and buyers rather than never-buyers) are the likelier referrers."""
        r = self.r
        weight = [max(1, round(c.referral_weight * 2)) for c in cat.CHANNELS]
        self.sql(
            f"""
            create temp table refpool as
            select cidx, created_sec,
                coalesce(sum(w) over (order by cidx rows between unbounded preceding
                    and 1 preceding), 0)::bigint as lo
            from (select cidx, created_sec,
                    {_at(weight, "ci")} * (case when never then 1 else 4 end) as w from cust)
            """
        )
        referral = self.channels.index("referral")
        self.sql(
            f"""
            create temp table refs as
            with base as (
                select cidx, min(lo) over (partition by created_sec) as base from refpool
            ), q as (
                select c.cidx, floor({r("referrer", "c.cidx")} * b.base)::bigint as target
                from cust c join base b using (cidx)
                where c.ci = {referral} and b.base > 0
            )
            select q.cidx, p.cidx as referrer from q asof join refpool p on q.target >= p.lo
            """
        )

    # ------------------------------------------------------------ purchases
    def _purchases(self) -> None:
        """BG/NBD: Poisson purchases (in seasonal time) until a geometric dropout."""
        r = self.r
        self.sql(
            f"""
            create temp table buyers as
            select c.cidx, c.lam, c.p_drop, c.t1,
                (m.op_lo + floor((c.t1 - m.ms) * m.s))::bigint as op1
            from (select cidx, lam, p_drop, created_sec + delay as t1 from cust
                  where not never and created_sec + delay < {self.end}) c
            asof join months m on c.t1 >= m.ms
            """
        )
        # how many purchases to draw: the lifetime, capped well above the Poisson count
        self.sql(
            f"""
            create temp table purch as
            with b as (
                select *, lam * ({self.op_end} - op1) as mu,
                    case when p_drop < 1e-9 then 100000
                        else least(100000, 1 + floor(ln({r("life", "cidx")}) / ln(1 - p_drop)))
                    end as life
                from buyers
            ), e as (
                select cidx, lam, t1, op1,
                    unnest(range(least(life, ceil(mu + 4 * sqrt(mu) + 4))::bigint)) as k
                from b
            ), s as (
                select cidx, k, t1,
                    op1 + sum(case when k = 0 then 0 else least(1e12,
                        floor({r.exp("gap", "cidx", "k")} / lam))::bigint end)
                        over (partition by cidx order by k rows unbounded preceding) as op
                from e
            )
            select s.cidx, s.k, m.m as month_i,
                least(m.me - 1, greatest(m.ms, case when s.k = 0 then s.t1
                    else m.ms + floor((s.op - m.op_lo) / m.s)::bigint end)) as osec
            from (select * from s where op < {self.op_end}) s
            asof join months m on s.op >= m.op_lo
            """
        )
        self.sql("drop table buyers")

    def _orders(self) -> None:
        r = self.r
        repeat = [cat.REPEAT_MIX.get(c, 0.0) for c in self.channels]
        self.sql(
            """
            create temp table ord0 as
            select row_number() over (order by p.osec, p.cidx, p.k) as oidx,
                p.cidx, p.k, p.osec, p.month_i, c.ci as acq_ci, c.ri, c.b2b, c.created_sec
            from purch p join cust c using (cidx)
            """
        )
        self.sql("drop table purch")
        n_orders = self.scalar("select count(*) from ord0")
        last = self.scalar("select max(osec) from ord0")
        if last is not None:
            self.cutoff = (last // DAY + 1) * DAY
        self.width["O"] = max(7, len(str(n_orders)))
        self.n_orders = n_orders
        rep = _pick(r("ch.repeat", "oidx"), repeat)
        cats = [x[1] for x in cat.CATEGORIES]
        unknown = (
            f"(oidx = {n_orders // 2 + 1} or {r('ch.unknown', 'oidx')} < 0.0002)"
            if n_orders
            else "false"
        )
        self.sql(
            f"""
            create temp table ord as
            select *,
                case when {unknown} then {_lit(cat.UNKNOWN_CHANNEL)}
                    else {self._channel_text("ch", "ch.order", ["oidx"], 0.01)} end as ch_text,
                {_pick(r("lines", "oidx"), [0.45, 0.25, 0.15, 0.10, 0.05])} + 1 as n_lines,
                {_pick(r("category", "oidx"), cats)} as prim_cat
            from (
                select *,
                    case when {r("ch.same", "oidx")} < (case when k = 0 then 0.95 else 0.7 end)
                        then acq_ci else {rep} end as ch
                from ord0
            )
            """
        )
        self.sql("drop table ord0")

    # ------------------------------------------------------------ order lines
    def _items(self) -> None:
        r = self.r
        categories = [x[0] for x in cat.CATEGORIES]
        complement = [categories.index(x[3]) for x in cat.CATEGORIES]
        by_cat: dict[int, list[int]] = {i: [] for i in range(len(categories))}
        for p, (_, category, _) in enumerate(cat.PRODUCTS):
            by_cat[categories.index(category)].append(p)
        product_case = (
            "case cat "
            + " ".join(
                f"when {ci} then "
                + _pick(
                    r("product", "oidx", "line"),
                    [1 / (j + 1) ** 0.7 for j in range(len(ps))],
                    ps,
                )
                for ci, ps in by_cat.items()
            )
            + " end"
        )
        prices = [x[2] for x in cat.PRODUCTS]
        period = [2 + p % 3 for p in range(len(cat.PRODUCTS))]
        offset = [(p * 7) % period[p] for p in range(len(cat.PRODUCTS))]
        bad = [x[0] for x in cat.PRODUCTS].index(cat.BAD_PRODUCT)
        bad_batch = (len(self.months) // 2 + offset[bad]) // period[bad] + 1
        return_rate = [x[2] for x in cat.CATEGORIES]
        discount_share = (
            f"(case when {_at([m.calendar_month for m in self.months], 'month_i')} = 11 "
            f"then 0.45 else 0.2 end + case when ch in ({self.channels.index('email')}, "
            f"{self.channels.index('affiliate')}) then 0.15 else 0 end)"
        )
        self.sql(
            f"""
            create temp table items as
            with l as (
                select oidx, month_i, b2b, ch, prim_cat,
                    unnest(range(1, n_lines + 1)) as line
                from ord
            ), c as (
                select *,
                    case when line = 1 or {r("line.cat", "oidx", "line")} < 0.5 then prim_cat
                        when {r("line.cat", "oidx", "line")} < 0.75
                            then {_at(complement, "prim_cat")}
                        else {
                _pick(r("line.anycat", "oidx", "line"), [x[1] for x in cat.CATEGORIES])
            } end as cat
                from l
            ), p as (
                select *, {product_case} as prod from c
            )
            select oidx, line, cat, prod, month_i,
                (case when {r("qty", "oidx", "line")} < 0.72 then 1
                    when {r("qty", "oidx", "line")} < 0.9 then 2
                    when {r("qty", "oidx", "line")} < 0.96 then 3
                    else 4 + floor({r("qty.big", "oidx", "line")} * 3) end
                 * (case when b2b then 3 + floor({r("qty.b2b", "oidx", "line")} * 10) else 1 end)
                )::integer as quantity,
                round({_at(prices, "prod")} * (1 + 0.04 * (month_i // 12)), 2)
                    ::decimal(18, 2) as unit_price,
                case when {r("disc", "oidx", "line")} < {discount_share}
                    then {
                _at(
                    [0.05, 0.10, 0.15, 0.20, 0.25],
                    f"floor({r('disc.pct', 'oidx', 'line')} * 5)::int",
                )
            }
                    else 0 end as disc_pct,
                (month_i + {_at(offset, "prod")}) // {_at(period, "prod")} + 1 as batch_no,
                {r("batch.null", "oidx", "line")} < 0.015 as batch_unknown,
                prod = {bad} and (month_i + {offset[bad]}) // {period[bad]} + 1 = {bad_batch}
                    as bad
            from p
            """
        )
        self.sql(
            f"""
            create temp table items2 as
            select * exclude (disc_pct),
                round(quantity * unit_price * disc_pct, 2)::decimal(18, 2) as discount,
                {r("return", "oidx", "line")} < case when bad then {cat.BAD_BATCH_RETURN_RATE}
                    else {_at(return_rate, "cat")} end as ret
            from items;
            drop table items; alter table items2 rename to items
            """
        )

    # ------------------------------------------------------------ fulfilment
    def _fulfilment(self) -> None:
        r = self.r
        cut = self.cutoff
        promise_days = [x[2] for x in cat.REGIONS]
        late_share = [0.2 if m.calendar_month in (11, 12) else 0.08 for m in self.months]
        paid = ", ".join(str(self.channels.index(c)) for c in ("paid_search", "social"))
        self.sql(
            f"""
            create temp table ow0 as
            with a as (
                select oidx, bool_or(ret) as any_ret, bool_or(bad) as has_bad,
                    sum(quantity * unit_price - discount) as amount
                from items group by oidx
            ), o as (
                select o.*, a.any_ret, a.has_bad,
                    {r("cancel", "o.oidx")} < case when o.b2b then 0.02
                        when o.ch in ({paid}) then 0.065 else 0.045 end as cancel,
                    o.osec + 300 + floor({r.exp("cancel.t", "o.oidx")} * 4 * 3600)::bigint
                        as cancel_sec,
                    o.osec + 7200 + floor({r.exp("ship.t", "o.oidx")} * 16 * 3600)::bigint
                        as ship_sec,
                    case when {r("promise.none", "o.oidx")} >= 0.02 then
                        (o.osec // {DAY} + {_at(promise_days, "o.ri")}) * {DAY} + 18 * 3600
                        end as promised_sec
                from ord o join a using (oidx)
            ), d as (
                select *,
                    greatest(ship_sec + 3 * 3600, case
                        when promised_sec is null
                            then ship_sec + {DAY} + floor({r("transit", "oidx")} * 3 * {DAY})
                        when {r("late", "oidx")} < {_at(late_share, "month_i")}
                            then promised_sec + 6 * 3600
                                + floor({r.exp("late.t", "oidx")} * 40 * 3600)
                        else ship_sec + greatest(3600, floor((promised_sec - ship_sec)
                            * (0.3 + 0.65 * {r("transit", "oidx")})))
                    end)::bigint as deliver_sec
                from o
            )
            select *,
                deliver_sec + {DAY} + floor({r("return.t", "oidx")} * 20 * {DAY})::bigint
                    as return_sec,
                osec as t_placed,
                case when cancel and cancel_sec < {cut} then cancel_sec end as t_cancelled,
                case when not cancel and ship_sec < {cut}
                    and ({r("capture", "oidx")} < 0.7 or deliver_sec >= {cut})
                    then ship_sec end as t_shipped,
                case when not cancel and deliver_sec < {cut} then deliver_sec end as t_delivered,
                case when {r("late.arrival", "oidx")} < 0.01 and osec + 12 * {DAY} < {cut}
                    then osec + 2 * {DAY} + floor({r("late.arrival.t", "oidx")} * 8 * {DAY})
                    ::bigint end as arrive
            from d
            """
        )
        self.sql(
            f"""
            create temp table ow as
            with t as (
                select *,
                    case when not cancel and any_ret and t_delivered is not null
                        and return_sec < {cut} then return_sec end as t_returned
                from ow0
            ), f as (
                select *,
                    greatest(t_placed, t_cancelled, t_shipped, t_delivered, t_returned) as t_final,
                    case when t_returned is not null then 5 when t_cancelled is not null then 4
                        when t_delivered is not null then 3 when t_shipped is not null then 2
                        else 1 end as final_prio
                from t
            )
            select *,
                greatest(
                    case when t_placed < arrive then t_placed end,
                    case when t_shipped < arrive then t_shipped end,
                    case when t_delivered < arrive then t_delivered end,
                    case when t_cancelled < arrive then t_cancelled end,
                    case when t_returned < arrive then t_returned end) as last_before,
                coalesce(greatest(t_final, arrive), t_final) as final_upd,
                t_delivered is not null and promised_sec is not null
                    and deliver_sec > promised_sec as late
            from f;
            drop table ow0; drop table ord
            """
        )

    def _order_rows(self) -> None:
        """One row per status change, as the extract sends them: late arrivals collapse
        what happened before they arrived; a few ties and exact duplicates (at least one
        of each, so that small data shows them too)."""
        r = self.r
        events = " union all ".join(
            f"select oidx, {prio} as prio, t_{status} as t, arrive, last_before from ow"
            + ("" if status == "placed" else f" where t_{status} is not null")
            for status, prio in cat.STATUS_PRIORITY.items()
        )
        # A tie: a lower status re-sent at the same updated_at as the final one (the
        # priority order of docs/sources.md recovers the true status).
        tie_of = {2: 1, 3: 2, 4: 1, 5: 3}
        tie_case = "case final_prio " + " ".join(f"when {a} then {b}" for a, b in tie_of.items())
        self.sql(
            f"""
            create temp table orow0 as
            select oidx, prio, case when arrive is null then t else greatest(t, arrive) end
                as upd, 0 as variant
            from ({events})
            where arrive is null or t >= arrive or t = last_before
            union all
            select oidx, {tie_case} end as prio, final_upd as upd, 1 as variant
            from ow where final_prio > 1
                and ({r("tie", "oidx")} < 0.004 or oidx = {self.n_orders // 3 + 1})
            """
        )
        self.sql(
            f"""
            create temp table orow as
            select * from orow0
            union all
            select * from orow0 where {r("dup", "oidx", "prio", "variant")} < 0.004
                or (oidx = {self.n_orders // 4 + 1} and prio = 1);
            drop table orow0
            """
        )

    # ------------------------------------------------------------ returns, feedback
    def _returns(self) -> None:
        r = self.r
        reasons = cat.RETURN_REASONS
        sized = [i for i, x in enumerate(cat.CATEGORIES) if x[0] in ("Apparel", "Footwear")]
        self.sql(
            f"""
            create temp table ret as
            select i.oidx, i.line, i.prod, o.t_returned as rsec,
                case when {r("refund.partial", "i.oidx", "i.line")} < 0.2
                    then round((i.quantity * i.unit_price - i.discount)
                        * (0.3 + 0.5 * {r("refund.share", "i.oidx", "i.line")}), 2)
                    else i.quantity * i.unit_price - i.discount end::decimal(18, 2) as refund,
                case when o.late and {r("reason.late", "i.oidx", "i.line")} < 0.25
                        then 'late delivery'
                    when i.bad then {_pick_text(r("reason", "i.oidx", "i.line"), reasons["bad"])}
                    when i.cat in ({", ".join(map(str, sized))})
                        then {_pick_text(r("reason", "i.oidx", "i.line"), reasons["sized"])}
                    else {_pick_text(r("reason", "i.oidx", "i.line"), reasons["other"])} end
                    as reason
            from items i join ow o using (oidx)
            where i.ret and o.t_returned is not null
            """
        )

    def _feedback(self) -> None:
        r = self.r
        cut = self.cutoff
        shift = [c.nps_shift for c in cat.CHANNELS]
        loyal = ", ".join(str(self.channels.index(c)) for c in ("email", "referral"))
        c = cat.COMMENTS

        def comment(pool: str, *keys: str) -> str:
            return _pick_text(r("comment." + pool, *keys), c[pool])

        self.sql(
            f"""
            create temp table fb0 as
            with o as (
                select oidx, cidx, ch, late, has_bad, t_delivered,
                    t_returned is not null as returned,
                    {r("survey", "oidx")} < case when ch in ({loyal}) then 0.35 else 0.25 end
                        as surveyed,
                    {r("complaint", "oidx")} < least(0.95, 0.015 + 0.12 * late::int
                        + {cat.BAD_BATCH_COMPLAINT_RATE} * has_bad::int
                        + 0.08 * (t_returned is not null)::int) as complaint,
                    t_delivered + 600 + floor({r.exp("fb.t", "oidx")} * 2 * {DAY})::bigint as sub
                from ow where t_delivered is not null
            ), s as (
                select *,
                    8.3 + {_at(shift, "ch")} - 2.6 * late::int - 3.5 * has_bad::int
                        - 1.5 * returned::int - 1.5 * complaint::int
                        + 1.7 * {r.normal("nps", "oidx")} as score
                from o where (surveyed or complaint) and sub < {cut}
            )
            select 0 as src, oidx as k, cidx, oidx, sub,
                case when surveyed and {r("nps.ask", "oidx")} >= 0.12
                    then least(10, greatest(0, round(score)))::integer end as nps,
                complaint, surveyed, score, late, has_bad
            from s
            """
        )
        self.sql(
            f"""
            create temp table fb as
            select src, k, cidx, oidx, sub, nps,
                case when surveyed and (nps is null or {r("csat.ask", "k")} >= 0.1) then
                    least(5, greatest(1, round(1 + (score - 1.5) * 0.45
                        + 0.45 * {r.normal("csat", "k")})))::integer end as csat,
                complaint,
                case when complaint and {r("comment.c", "k")} < 0.9 then
                        case when has_bad then {comment("bad", "k")}
                            when late then {comment("late", "k")}
                            else {comment("complaint", "k")} end
                    when {r("comment.s", "k")} < 0.3 then
                        case when score >= 8.5 then {comment("positive", "k")}
                            when score >= 6.5 then {comment("neutral", "k")}
                            else {comment("negative", "k")} end
                    end as comment
            from fb0
            union all
            -- relationship surveys, not about an order
            select 1, cidx, cidx, null, sub,
                least(10, greatest(0, round(7.8 + {_at(shift, "ci")}
                    + 1.8 * {r.normal("rel.nps", "cidx")})))::integer,
                null, false,
                case when {r("rel.comment", "cidx")} < 0.15 then
                    {_pick_text(r("rel.comment.which", "cidx"), c["positive"] + c["neutral"])}
                    end
            from (
                select cidx, ci, created_sec
                    + floor({r("rel.t", "cidx")} * ({cut} - created_sec))::bigint as sub
                from cust where created_sec < {cut} and {r("rel", "cidx")} < 0.05
            );
            drop table fb0
            """
        )

    # ------------------------------------------------------------ sessions
    def _sessions(self) -> None:
        r = self.r
        cut = self.cutoff
        repeat = [cat.REPEAT_MIX.get(c, 0.0) for c in self.channels]
        traffic = [c.traffic_share for c in cat.CHANNELS]
        browse_ch = (
            f"case when logged then (case when {r('s.ch.same', 'oidx', 'j')} < 0.5 then acq_ci "
            f"else {_pick(r('s.ch.rep', 'oidx', 'j'), repeat)} end) "
            f"else {_pick(r('s.ch.anon', 'oidx', 'j'), traffic)} end"
        )
        self.sql(
            f"""
            create temp table sess0 as
            -- the session that placed the order
            select 0 as src, oidx as k1, 0 as k2, cidx,
                greatest({self.start}, osec - 120 - floor({r("s.conv", "oidx")} * 2400)
                    ::bigint) as st,
                ch_text, null::integer as ch, oidx
            from ow where {r("s.has", "oidx")} < 0.92
            union all
            -- browsing around orders: logged-in customers before it, anonymous traffic
            select 1, oidx, j, case when logged and st >= created_sec then cidx end, st,
                null, {browse_ch}, null
            from (
                select *, case when logged
                    then osec - 3600 - floor({r("s.before", "oidx", "j")} * 21 * {DAY})
                    else osec + floor(({r("s.around", "oidx", "j")} - 0.6) * 30 * {DAY})
                    end::bigint as st
                from (
                    select oidx, cidx, osec, created_sec, acq_ci, j,
                        {r("s.logged", "oidx", "j")} < 0.45 as logged
                    from (select *, unnest(range(floor({r("s.n", "oidx")} * 6)::bigint)) as j
                          from ow)
                )
            )
            where st >= {self.start} and st < {cut}
            union all
            -- sign-ups who never order still visit
            select 2, cidx, j, cidx,
                created_sec + floor({r("s.never", "cidx", "j")} * ({cut} - created_sec))::bigint,
                null, ci, null
            from (select cidx, ci, created_sec,
                    unnest(range(floor({r("s.never.n", "cidx")} * 3)::bigint)) as j
                  from cust where never and created_sec < {cut})
            """
        )
        keys = ["src", "k1", "k2"]
        self.sql(
            f"""
            create temp table sess as
            select src, k1, k2, cidx, st, oidx,
                coalesce(ch_text, case when {r("s.unknown", *keys)} < 0.0002
                    then {_lit(cat.UNKNOWN_CHANNEL)}
                    else {self._channel_text("ch", "s.ch", keys, 0.01)} end) as ch_text
            from sess0;
            drop table sess0
            """
        )

    # ------------------------------------------------------------ spend
    def _spend(self) -> None:
        r = self.r
        cut = self.cutoff
        paid = [(i, c) for i, c in enumerate(cat.CHANNELS) if c.cac > 0]
        ids = ", ".join(str(i) for i, _ in paid)
        share = [c.share for c in cat.CHANNELS]
        cac = [c.cac for c in cat.CHANNELS]
        affiliate = self.channels.index("affiliate")
        self.sql(
            f"""
            create temp table spend as
            with d as (
                select dn, m.acq / ((m.me - m.ms) / {DAY}) as per_day
                from (select unnest(range({self.start // DAY}, {cut // DAY})) as dn) x
                asof join months m on x.dn * {DAY} >= m.ms
            ), s as (
                select dn, ci, {self.n} * {_at(share, "ci")} * per_day * {_at(cac, "ci")}
                    * (0.75 + 0.5 * {r("spend", "dn", "ci")}) as amount
                from d, (select unnest([{ids}]) as ci)
            )
            select dn, ci,
                {self._channel_text("ci", "spend.ch", ["dn", "ci"], 0.01)} as ch_text,
                greatest(0.01, round(amount, case when ci = {affiliate} then 4 else 2 end))
                    ::decimal(18, 4) as spend
            from s
            """
        )

    # ------------------------------------------------------------ customer rows
    def _customer_rows(self) -> None:
        r = self.r
        cut = self.cutoff
        regions = cat.REGIONS
        n_regions = len(regions)
        country_new = "case ri2 " + " ".join(
            f"when {i} then {_pick(r('move.country', 'cidx'), [w for _, w in countries])}"
            for i, (_, _, _, _, countries) in enumerate(regions)
        )
        country_new += " end"
        self.sql(
            f"""
            create temp table crow0 as
            select c.cidx, 0 as variant, c.created_sec, c.ri, c.country_i, c.ci,
                f.referrer, c.rep, c.created_sec as upd
            from cust c left join refs f using (cidx)
            where c.created_sec < {cut}
            union all
            select cidx, 1, created_sec, ri2, ({country_new}),
                ci, referrer,
                case when rep is not null then 'SR' || lpad((ri2 * 2
                    + ({r("rep", "i")} < 0.5)::int + 1)::varchar, 2, '0') end,
                created_sec + {DAY}
                    + floor({r("move.t", "cidx")} * ({cut} - created_sec - {DAY}))::bigint
            from (
                select c.*, f.referrer,
                    (c.ri + 1 + floor({r("move.region", "c.cidx")} * {n_regions - 1})::int)
                        % {n_regions} as ri2
                from cust c left join refs f using (cidx)
                where c.created_sec < {cut} - 2 * {DAY} and {r("move", "c.cidx")} < 0.03
            )
            """
        )
        self.sql(
            f"""
            create temp table crow as
            select * from crow0
            union all
            select * from crow0 where {r("cdup", "cidx", "variant")} < 0.005
                or (cidx = {self.n // 3 + 1} and variant = 0);
            drop table crow0
            """
        )

    # ------------------------------------------------------------ output
    def _tables(self) -> dict[str, tuple[str, list[tuple[str, str, str]], str, str]]:
        """Per table: FROM clause, its columns as (name, kind, expression), the key the
        UTC offsets are drawn from, and the ORDER BY that makes the file deterministic."""
        cid = self._id("C", "{}")
        oid = self._id("O", "{}")
        countries = [[c for c, _ in x[4]] for x in cat.REGIONS]
        region_names = [x[0] for x in cat.REGIONS]
        products = cat.PRODUCTS
        width_p = 3
        unit_cost = [_unit_cost(i, price) for i, (_, _, price) in enumerate(products)]
        return {
            "customers": (
                "crow",
                [
                    ("customer_id", "text", cid.format("cidx")),
                    ("created_at", "ts", "created_sec"),
                    ("region", "text", _at(region_names, "ri")),
                    ("country", "text", f"{_lit(countries)}[ri + 1][country_i + 1]"),
                    (
                        "acquisition_channel",
                        "text",
                        self._channel_text("ci", "c.ch", ["cidx", "variant"], 0.01),
                    ),
                    ("referred_by_customer_id", "text", cid.format("referrer")),
                    ("sales_rep_id", "text", "rep"),
                    ("updated_at", "ts", "upd"),
                ],
                "cidx, variant",
                "upd, cidx, variant",
            ),
            "orders": (
                "orow join ow using (oidx)",
                [
                    ("order_id", "text", oid.format("oidx")),
                    ("customer_id", "text", cid.format("cidx")),
                    ("ordered_at", "ts", "osec"),
                    ("channel", "text", "ch_text"),
                    (
                        "status",
                        "text",
                        _at(list(cat.STATUS_PRIORITY), "prio - 1"),
                    ),
                    ("promised_at", "ts", "promised_sec"),
                    ("delivered_at", "ts", "case when prio in (3, 5) then deliver_sec end"),
                    ("updated_at", "ts", "upd"),
                ],
                "oidx, prio, variant",
                "upd, oidx, prio, variant",
            ),
            "order_items": (
                "items",
                [
                    ("order_id", "text", oid.format("oidx")),
                    ("line_number", "int", "line"),
                    ("product_id", "text", f"'P' || lpad((prod + 1)::varchar, {width_p}, '0')"),
                    (
                        "batch_id",
                        "text",
                        f"case when not batch_unknown then 'P' || lpad((prod + 1)::varchar, "
                        f"{width_p}, '0') || '-B' || lpad(batch_no::varchar, 2, '0') end",
                    ),
                    ("quantity", "int", "quantity"),
                    ("unit_price", "money", "unit_price"),
                    ("discount", "money", "discount"),
                ],
                "oidx, line",
                "oidx, line",
            ),
            "products": (
                f"(select unnest(range({len(products)})) as prod)",
                [
                    ("product_id", "text", f"'P' || lpad((prod + 1)::varchar, {width_p}, '0')"),
                    ("product_name", "text", _at([p[0] for p in products], "prod")),
                    ("category", "text", _at([p[1] for p in products], "prod")),
                    ("unit_cost", "money", f"{_at(unit_cost, 'prod')}::decimal(18, 4)"),
                ],
                "prod",
                "prod",
            ),
            "returns": (
                "ret",
                [
                    (
                        "return_id",
                        "text",
                        f"'R' || lpad(row_number() over (order by rsec, oidx, line)::varchar, "
                        f"{self.width['O']}, '0')",
                    ),
                    ("order_id", "text", oid.format("oidx")),
                    ("product_id", "text", f"'P' || lpad((prod + 1)::varchar, {width_p}, '0')"),
                    ("returned_at", "ts", "rsec"),
                    ("refund_amount", "money", "refund"),
                    ("reason", "text", "reason"),
                ],
                "oidx, line",
                "rsec, oidx, line",
            ),
            "feedback": (
                "fb",
                [
                    (
                        "feedback_id",
                        "text",
                        f"'F' || lpad(row_number() over (order by sub, src, k)::varchar, "
                        f"{self.width['O']}, '0')",
                    ),
                    ("customer_id", "text", cid.format("cidx")),
                    ("order_id", "text", oid.format("oidx")),
                    ("submitted_at", "ts", "sub"),
                    ("nps_score", "int", "nps"),
                    ("csat_score", "int", "csat"),
                    ("is_complaint", "bool", "complaint"),
                    ("comment", "text", "comment"),
                ],
                "src, k",
                "sub, src, k",
            ),
            "sessions": (
                "sess",
                [
                    (
                        "session_id",
                        "text",
                        f"'S' || lpad(row_number() over (order by st, src, k1, k2)::varchar, "
                        f"{self.width['O'] + 1}, '0')",
                    ),
                    ("customer_id", "text", cid.format("cidx")),
                    ("started_at", "ts", "st"),
                    ("channel", "text", "ch_text"),
                    ("order_id", "text", oid.format("oidx")),
                ],
                "src, k1, k2",
                "st, src, k1, k2",
            ),
            "marketing_spend": (
                "spend",
                [
                    ("spend_date", "date", "dn"),
                    ("channel", "text", "ch_text"),
                    ("spend", "money", "spend"),
                ],
                "dn, ci",
                "dn, ci",
            ),
            "sales_reps": (
                f"(select unnest(range({len(cat.SALES_REPS)})) as rep_i)",
                [
                    (name, "text", _at([rep[j] for rep in cat.SALES_REPS], "rep_i"))
                    for j, name in enumerate(("sales_rep_id", "rep_name", "team", "region"))
                ],
                "rep_i",
                "rep_i",
            ),
        }

    def _id(self, prefix: str, expr: str) -> str:
        width = self.width[prefix]
        return f"'{prefix}' || lpad(({expr})::varchar, {width}, '0')"

    def write(self, table: str, out: Path, fmt: str) -> int:
        source, columns, key, order = self._tables()[table]
        names = [name for name, _ in TABLES[table]]
        if [c[0] for c in columns] != names:
            raise AssertionError(f"{table}: columns differ from the contract")
        projections = []
        for j, (name, kind, expr) in enumerate(columns):
            if fmt == "parquet":
                value = _typed(kind, expr)
            else:
                value = self._text(kind, expr, f"{key}, {j}")
            projections.append(f"{value} as {name}")
        # ids numbered with row_number() use the same order as the file
        query = f"select {', '.join(projections)} from {source} order by {order}"
        path = out / f"{table}.{fmt}"
        options = "format parquet" if fmt == "parquet" else "format csv, header true"
        (count,) = self.con.execute(f"copy ({query}) to '{_path(path)}' ({options})").fetchone()
        return int(count)

    def _text(self, kind: str, expr: str, key: str) -> str:
        if kind == "ts":
            return self._ts_text(expr, key)
        if kind == "date":
            return f"strftime(make_timestamp(({expr}) * {DAY}::bigint * 1000000), '%Y-%m-%d')"
        if kind == "money":
            return f"({expr})::varchar"
        return _typed(kind, expr)

    def _ts_text(self, expr: str, key: str) -> str:
        """ISO-8601 UTC text; about 2% written in local time with an explicit offset."""
        offsets = cat.UTC_OFFSETS
        which = f"floor({self.r('tz.which', key)} * {len(offsets)})::int"
        local = f"({expr}) + {_at([m * 60 for _, m in offsets], which)}"
        fmt = "'%Y-%m-%d %H:%M:%S'"
        return (
            f"case when ({expr}) is null then null "
            f"when {self.r('tz', key)} < 0.02 then "
            f"strftime(make_timestamp(({local})::bigint * 1000000), {fmt}) "
            f"|| {_at([o for o, _ in offsets], which)} "
            f"else strftime(make_timestamp(({expr})::bigint * 1000000), {fmt}) end"
        )


def _typed(kind: str, expr: str) -> str:
    if kind == "ts":
        return f"make_timestamp(({expr})::bigint * 1000000)"
    if kind == "date":
        return f"make_timestamp(({expr}) * {DAY}::bigint * 1000000)::date"
    if kind == "money":
        return f"({expr})::decimal(18, 4)"
    if kind == "int":
        return f"({expr})::integer"
    if kind == "bool":
        return f"({expr})::boolean"
    return f"({expr})::varchar"


def _pick_text(uniform: str, values: Sequence[str]) -> str:
    return f"{_lit(list(values))}[1 + floor(({uniform}) * {len(values)})::int]"


def _cumulative(weights: Sequence[float]) -> list[float]:
    result, total = [], 0.0
    for w in weights:
        result.append(total)
        total += w
    return result


def _unit_cost(index: int, price: float) -> float:
    """A cost with up to 4 decimals, 38-66% of the list price."""
    ratio = 0.38 + 0.04 * (index % 6) + 0.0137 * (index % 7)
    return round(price * ratio, 4)


def _path(path: Path) -> str:
    return str(path).replace("'", "''")
