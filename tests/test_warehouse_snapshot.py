"""snapshots/customer_dimension_history.sql: the customer dimension's region and loyalty
tier over time (SCD2), on the feedback/segments fixture built twice: first as of
2024-04-30, then as of its latest order day (2024-06-30).

Loyalty tiers (trailing 12 months of net spend; gold from 2000, diamond from 10000), worked
out from the fixture's orders (see test_marts_feedback_segments.py):

    as of 2024-04-30 (from 2023-05-01)      as of 2024-06-30 (from 2023-07-01)
    c01  Apr 1 3000          -> gold         + May 1 4000, Jun 1 4000, Jun 25 1000 = 12000
                                               -> diamond
    c02  nothing since 2023-01 -> regular    Jun 5 2500 -> gold
    c03  Jul 1 2000 + Jan 10 100 -> gold     the same 2100 -> gold
    c07, c09, c10 -> regular                 regular
    c04, c05, c06, c08: no valid order yet   first seen: regular (50, 80, 600, 300)
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

from test_marts_feedback_segments import TABLES
from warehouse import REPO, build_warehouse

SELECT = ("+customer_dimension_history",)


def test_the_customer_dimension_keeps_its_history(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "snapshots", project / "snapshots")
    build_warehouse(tmp_path, TABLES, {"as_of": "2024-04-30"}, select=SELECT).close()
    con = build_warehouse(tmp_path, TABLES, select=SELECT)
    got = con.execute(
        "select customer_id, region, loyalty_tier, dbt_valid_from, dbt_valid_to "
        "from history.customer_dimension_history order by customer_id, dbt_valid_from"
    ).fetchall()
    apr, jun = datetime.datetime(2024, 4, 30), datetime.datetime(2024, 6, 30)
    assert got == [
        ("c01", "north", "gold", apr, jun),
        ("c01", "north", "diamond", jun, None),
        ("c02", "south", "regular", apr, jun),
        ("c02", "south", "gold", jun, None),
        ("c03", "north", "gold", apr, None),
        ("c04", "south", "regular", jun, None),
        ("c05", "north", "regular", jun, None),
        ("c06", "south", "regular", jun, None),
        ("c07", "north", "regular", apr, None),
        ("c08", "south", "regular", jun, None),
        ("c09", "north", "regular", apr, None),
        ("c10", "south", "regular", apr, None),
    ]
    # a rebuild on the same data adds no version
    con.close()
    con = build_warehouse(tmp_path, TABLES, select=SELECT)
    assert con.execute("select count(*) from history.customer_dimension_history").fetchall() == [
        (len(got),)
    ]
