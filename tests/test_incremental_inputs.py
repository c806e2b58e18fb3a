"""An incremental table remembers what it was built from: when its inputs are no longer
the same data (the sources switched from the demo seeds to one's own files, its SQL
changed), the next run rebuilds it whole and says why, instead of adding to rows from
another dataset (README: "Your own data instead of the demo")."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from project_text import profiles, pyproject

PYPROJECT = pyproject(marts=False)

PROFILES = profiles()

FILES_PROFILES = PROFILES + "      sources:\n        shop: {from: files, path: landing}\n"

SOURCES = """\
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: integer}
          - {name: amount, data_type: "decimal(10,2)"}
"""

FCT = """\
{{ config(materialized='incremental', unique_key='order_id') }}
select order_id, amount from {{ source('shop', 'orders') }}
{% if is_incremental() %}
where order_id > (select max(order_id) from {{ this }})
{% endif %}
"""


def _build(run_cli, root: Path):
    return run_cli("build", "--project-dir", root, "--log-format", "plain")


def _rows(root: Path) -> list[tuple]:
    with duckdb.connect(str(root / "target" / "work.duckdb"), read_only=True) as con:
        return con.execute("select order_id, amount::varchar from fct order by 1").fetchall()


def test_switching_from_the_demo_seeds_to_own_files_rebuilds_the_table_whole(make_project, run_cli):
    root = make_project(
        {
            "pyproject.toml": PYPROJECT,
            "profiles.yml": PROFILES,
            "models/sources.yml": SOURCES,
            "models/fct.sql": FCT,
            "seeds/orders.csv": "order_id,amount\n1,1.00\n2,2.00\n3,3.00\n",
            "landing/orders.csv": "order_id,amount\n1,10.00\n2,20.00\n",
        },
        base=False,
    )
    assert _build(run_cli, root).exit_code == 0
    assert _rows(root) == [(1, "1.00"), (2, "2.00"), (3, "3.00")]

    # The README's order: point the sources at one's own files, build.
    (root / "profiles.yml").write_text(FILES_PROFILES)
    switched = _build(run_cli, root)

    assert switched.exit_code == 0, switched.output
    # Incrementally it would have kept the three demo orders (nothing above id 3 is new).
    assert _rows(root) == [(1, "10.00"), (2, "20.00")]
    assert "incremental model 'fct' is rebuilt whole" in switched.output
    assert "source shop.orders now reads " in switched.output
    assert "landing/orders (csv or parquet), not seed 'orders'\n" in switched.output

    # Same inputs again: an ordinary incremental run, which adds the new order.
    with (root / "landing" / "orders.csv").open("a") as landing:
        landing.write("3,30.00\n")
    again = _build(run_cli, root)
    assert again.exit_code == 0, again.output
    assert "rebuilt whole" not in again.output
    assert _rows(root) == [(1, "10.00"), (2, "20.00"), (3, "30.00")]


def test_an_upstream_model_moved_rebuilds_it_but_its_own_sql_is_on_schema_change_s(
    make_project, run_cli
):
    """An upstream model now in another relation is other data: rebuilt whole. A change
    of the model's own SQL is not (as in dbt, on_schema_change governs it)."""
    stg = "select * from {{ source('shop', 'orders') }}\n"
    fct = FCT.replace("{{ source('shop', 'orders') }}", "{{ ref('stg_orders') }}")
    root = make_project(
        {
            "pyproject.toml": PYPROJECT,
            "profiles.yml": FILES_PROFILES,
            "models/sources.yml": SOURCES,
            "models/stg_orders.sql": stg,
            "models/fct.sql": fct,
            "landing/orders.csv": "order_id,amount\n1,10.00\n2,20.00\n",
        },
        base=False,
    )
    assert _build(run_cli, root).exit_code == 0
    (root / "models" / "fct.sql").write_text(fct.replace("amount from", "amount, 1 as n from"))
    edited = _build(run_cli, root)
    assert edited.exit_code == 0, edited.output
    assert "rebuilt whole" not in edited.output

    (root / "models" / "stg_orders.sql").write_text("{{ config(schema='other') }}\n" + stg)
    (root / "landing" / "orders.csv").write_text("order_id,amount\n1,5.00\n")
    moved = _build(run_cli, root)
    assert moved.exit_code == 0, moved.output
    assert (
        'rebuilt whole, because model stg_orders is now "other"."stg_orders", not '
        '"main"."stg_orders"' in moved.output
    )
    assert _rows(root) == [(1, "5.00")]


@pytest.mark.slow  # two builds of the demo warehouse
def test_the_readme_s_switch_to_own_files_just_works_on_the_warehouse(tmp_path: Path):
    """The README's order on the real warehouse: build on the demo seeds, then point the
    sources at one's own files. fct_orders (incremental) used to keep the 10,544 demo
    orders and two reconciliation expectations failed."""
    import shutil
    import subprocess
    import sys

    from warehouse import REPO

    for name in ("pyproject.toml", "profiles.yml"):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(REPO / folder, tmp_path / folder)

    def runner(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "runner.cli", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )

    plain = ("--validator", "sql", "--log-format", "plain")
    assert runner("build", *plain).returncode == 0
    made = runner("demo-data", "--customers", "300", "--months", "6", "--out", "landing")
    assert made.returncode == 0, made.stderr
    own = "{sources: {shop: {from: files, path: landing}}}"

    switched = runner("build", *plain, "--vars", own)

    assert switched.returncode == 0, switched.stdout + switched.stderr
    assert "incremental model 'fct_orders' is rebuilt whole, because source shop." in (
        switched.stderr
    )
    with duckdb.connect(str(tmp_path / "target" / "warehouse.duckdb"), read_only=True) as con:
        built = con.execute("select count(*) from facts.fct_orders").fetchone()[0]
        landed = con.execute(
            "select count(distinct order_id) from read_csv(?, all_varchar = true)",
            [str(tmp_path / "landing" / "orders.csv")],
        ).fetchone()[0]
    assert built == landed


def test_another_value_of_a_var_rebuilds_the_table_whole(make_project, run_cli):
    """Rows computed with another var (a point-in-time as_of, a different window) are not
    the rows a full build now makes: the table is rebuilt whole, and the run says which var.
    The same value again is an ordinary incremental run."""
    fct = (
        "{{ config(materialized='incremental', unique_key='order_id') }}\n"
        "select order_id, amount from {{ source('shop', 'orders') }}\n"
        "where order_id <= {{ var('max_id', 99) }}\n"
        "{% if is_incremental() %}and order_id > (select max(order_id) from {{ this }})"
        "{% endif %}\n"
    )
    root = make_project(
        {
            "pyproject.toml": PYPROJECT,
            "profiles.yml": PROFILES,
            "models/sources.yml": SOURCES,
            "models/fct.sql": fct,
            "seeds/orders.csv": "order_id,amount\n1,1.00\n2,2.00\n3,3.00\n",
        },
        base=False,
    )
    assert _build(run_cli, root).exit_code == 0
    lower = run_cli(
        "build", "--project-dir", root, "--log-format", "plain", "--vars", "{max_id: 2}"
    )
    assert lower.exit_code == 0, lower.output
    # Incrementally nothing above id 3 is new, and order 3 would have stayed.
    assert _rows(root) == [(1, "1.00"), (2, "2.00")]
    assert "incremental model 'fct' is rebuilt whole, because var max_id is now 2, not unset" in (
        lower.output
    )
    same = run_cli("build", "--project-dir", root, "--log-format", "plain", "--vars", "{max_id: 2}")
    assert same.exit_code == 0 and "rebuilt whole" not in same.output, same.output


HOOKED = """\
{{ config(
    materialized='incremental', unique_key='order_id',
    post_hook=[
        "create table if not exists hook_log (incremental boolean)",
        "insert into hook_log select {{ 'true' if is_incremental() else 'false' }}",
    ],
) }}
select order_id, amount from {{ source('shop', 'orders') }}
"""


def test_is_incremental_in_a_models_hooks_says_what_it_says_in_the_model(make_project, run_cli):
    # as in dbt: a hook may clear what an incremental step leaves behind only on an
    # incremental run (on the first build the table it would read is not there)
    root = make_project(
        {
            "pyproject.toml": PYPROJECT,
            "profiles.yml": FILES_PROFILES,
            "models/sources.yml": SOURCES,
            "models/fct.sql": HOOKED,
            "landing/orders.csv": "order_id,amount\n1,10.00\n",
        },
        base=False,
    )
    for _ in range(2):
        done = _build(run_cli, root)
        assert done.exit_code == 0, done.output
    with duckdb.connect(str(root / "target" / "work.duckdb"), read_only=True) as con:
        logged = con.execute("select incremental from hook_log").fetchall()
    assert logged == [(False,), (True,)]
