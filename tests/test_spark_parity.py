# ruff: noqa: E501  (a table of one-line SQL probes)
"""Single-construct probes: the same DuckDB SQL on DuckDB and, transpiled by the runner, on
Spark gives the same rows, or the runner refuses it at compile time.

The silent differences measured between the two engines are all here (date_diff units,
day-of-week numbering, double -> int casts, ordered list(), NULLs in list(), exact
percentiles, date +/- interval, date - date), next to constructs that carry over as they
are. Expected values are DuckDB's (worked out by hand where it matters); each probe runs
on both engines.
"""

from __future__ import annotations

import duckdb
import pytest
from spark_support import differences

from runner.errors import ProjectError
from runner.sql.transpile import to_dialect

pytestmark = [pytest.mark.spark, pytest.mark.slow]

T = "(values (1, 'a', 10.5), (2, 'b', null), (3, null, 2.25), (4, 'a', 7.0)) as t(x, s, m)"

# name -> (DuckDB query, what DuckDB returns for it, worked out by hand; None: not pinned)
PROBES: dict[str, tuple[str, list[tuple] | None]] = {
    "date_diff month counts boundaries": (
        "select date_diff('month', date '2024-01-31', date '2024-02-01')",
        [(1,)],
    ),
    "date_diff year counts boundaries": (
        "select date_diff('year', date '2023-12-31', date '2024-01-01')",
        [(1,)],
    ),
    "date_diff quarter": (
        "select date_diff('quarter', date '2024-03-31', date '2024-04-01')",
        [(1,)],
    ),
    "date_diff day on timestamps": (
        "select date_diff('day', timestamp '2024-01-01 23:00:00', timestamp '2024-01-02 01:00:00')",
        [(1,)],
    ),
    "datediff hour on timestamps": (
        "select datediff('hour', timestamp '2024-01-01 10:59:00', timestamp '2024-01-01 11:01:00')",
        [(1,)],
    ),
    "date_diff minute backwards": (
        "select date_diff('minute', timestamp '2024-01-01 10:01:30', timestamp '2024-01-01 10:00:59')",
        [(-1,)],
    ),
    "dayofweek of a Sunday": ("select dayofweek(date '2024-01-07')", [(0,)]),
    "isodow of a Sunday": ("select isodow(date '2024-01-07')", [(7,)]),
    "extract dow of a Saturday": ("select extract(dow from date '2024-01-06')", [(6,)]),
    "extract isodow of a Monday": ("select extract(isodow from date '2024-01-08')", [(1,)]),
    "double to int rounds half to even": (
        "select cast(2.5::double as integer), cast(3.5::double as integer), "
        "cast(-2.5::double as integer), cast(2.7::double as integer)",
        [(2, 4, -2, 3)],
    ),
    "decimal to int rounds half away from zero": (
        "select cast(2.5 as integer), cast(-3.5 as integer)",
        [(3, -4)],
    ),
    "division result to int": ("select cast(7 / 2 as integer)", [(4,)]),
    "integer division": ("select 7 // 2, -7 // 2", [(3, -3)]),
    "list ordered": (
        f"select list(s order by x desc) from {T} where s is not null",
        [(("a", "b", "a"),)],
    ),
    "list keeps nulls in order": (
        f"select list(s order by x) from {T}",
        [(("a", "b", None, "a"),)],
    ),
    "array_agg ordered by two keys": (
        f"select array_agg(x order by s nulls first, x desc) from {T}",
        [((3, 4, 1, 2),)],
    ),
    "list length counts nulls": (f"select array_length(list(s)) from {T}", [(4,)]),
    "percentile_cont within group is exact": (
        f"select percentile_cont(0.5) within group (order by x) from {T}",
        [(2.5,)],
    ),
    "quantile_cont": (f"select quantile_cont(x, 0.25) from {T}", [(1.75,)]),
    # the first value whose cumulative share reaches p: of 1, 2, 4 the 0.4 one is 2
    # (floor((n - 1) * p) would pick 1); of m's 10.5, 7.0 (NULL skipped) descending, 10.5
    "percentile_disc within group is exact": (
        f"select percentile_disc(0.4) within group (order by x), "
        f"percentile_disc(0.5) within group (order by m desc) from {T} where x <> 3",
        [(2, 10.5)],
    ),
    # the lower and the upper middle value of 1..4
    "quantile_disc lower and upper middle": (
        f"select quantile_disc(x, 0.5), -quantile_disc(-x, 0.5) from {T}",
        [(2, 3)],
    ),
    "median of integers": (f"select median(x) from {T}", [(2.5,)]),
    "date plus interval is a timestamp": (
        "select date '2024-01-31' + interval 1 day",
        None,
    ),
    "date minus date is days": ("select date '2024-03-01' - date '2024-01-01'", [(60,)]),
    "filter aggregate": (
        f"select count(*) filter (where x > 1), sum(x) filter (where s = 'a') from {T}",
        [(3, 5)],
    ),
    "qualify": (f"select x from {T} qualify row_number() over (order by x desc) = 1", [(4,)]),
    "group by all": (
        f"select s, count(*) as n from {T} group by all",
        [("a", 2), ("b", 1), (None, 1)],
    ),
    "star exclude": (f"select * exclude (m, s) from {T} where x = 1", [(1,)]),
    "string_agg ordered": (f"select string_agg(s, ',' order by x desc) from {T}", [("a,b,a",)]),
    "string_agg distinct ordered, twice, filtered": (
        f"select string_agg(distinct s, ',' order by s) filter (where x > 1), "
        f"string_agg(distinct cast(x as varchar), '|' order by cast(x as varchar) desc), "
        f"string_agg(distinct s, ',' order by s) filter (where x > 10) from {T}",
        [("a,b", "4|3|2|1", None)],
    ),
    "strftime": ("select strftime(date '2024-03-05', '%Y-%m')", [("2024-03",)]),
    "make_date": ("select make_date(2024, 2, 29)", None),
    "greatest and least": ("select greatest(1, 5, 3), least('b', 'a')", [(5, "a")]),
    "timestamp to date cast": ("select cast(timestamp '2024-05-01 23:59:59' as date)", None),
    "date_trunc month": ("select cast(date_trunc('month', date '2024-05-17') as date)", None),
    "window running sum": (
        f"select x, sum(x) over (order by x rows between unbounded preceding and current row) from {T}",
        [(1, 1), (2, 3), (3, 6), (4, 10)],
    ),
    "unnest generate_series": ("select unnest(generate_series(1, 3)) as i", [(1,), (2,), (3,)]),
    "decimal money sums exactly": (
        "select sum(m) from (values (0.1::decimal(18,4)), (0.2::decimal(18,4))) as t(m)",
        None,
    ),
    "count distinct and coalesce": (
        f"select count(distinct s), coalesce(max(s), 'z') from {T}",
        [(2, "b")],
    ),
    "case and boolean to int": (
        f"select sum(cast(s = 'a' as integer)), max(case when m > 5 then 'big' else 'small' end) from {T}",
        [(2, "small")],
    ),
    "round half away from zero": ("select round(2.5), round(-2.5), round(1.005, 2)", None),
}

REFUSED = {
    "select * replace": f"select * replace (x + 1 as x) from {T}",
    "union all by name": "select 1 as a, 2 as b union all by name select 3 as b, 4 as a",
    "to_days": "select date '2024-01-01' + to_days(3)",
    "qualify over select *": f"select * from {T} qualify row_number() over (order by x) = 1",
    "date_diff by week": "select date_diff('week', date '2024-01-01', date '2024-02-01')",
}


def _spark_rows(spark, sql: str) -> list[tuple]:
    return [tuple(row) for row in spark.sql(sql).collect()]


@pytest.mark.parametrize("name", sorted(PROBES))
def test_probe_agrees_on_both_engines(spark_demo, name):
    query, expected = PROBES[name]
    on_duckdb = duckdb.sql(query).fetchall()
    if expected is not None:
        assert not differences(on_duckdb, expected), (on_duckdb, expected)
    spark_sql = to_dialect(query, "spark", path="probe.sql", source_text=query)
    on_spark = _spark_rows(spark_demo.spark, spark_sql)
    assert not differences(on_duckdb, on_spark), (spark_sql, on_duckdb, on_spark)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_construct_without_a_spark_spelling_is_refused_at_compile_time(name):
    query = "select 1 as a,\n" + REFUSED[name].removeprefix("select ")
    with pytest.raises(ProjectError) as refused:
        to_dialect(query, "spark", path="models/m.sql", source_text=query)
    assert refused.value.path is not None and str(refused.value.path) == "models/m.sql"
    assert refused.value.line is not None and refused.value.hint


def test_there_are_at_least_thirty_probes():
    assert len(PROBES) + len(REFUSED) >= 30
