"""The bad-input catalogue (README "When input is bad"): for each way input goes wrong,
the runner says what went wrong, where (file and line when there is one) and what to do,
exits 2 for a project or usage error and 1 for a failed node, and leaves the serving file
byte for byte as it was.

A small project with a serving file: a source with a key under not_null/unique
expectations, a second source read only by SQL, a seed with a declared type, two staging
views and one published mart reading all of them. Each case starts from a good build
(so a serving file exists), breaks one thing and builds again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from project_text import profiles, pyproject

PYPROJECT = pyproject()

PROFILES = profiles(serve=True, sources="{from: files, path: landing}")

SOURCES = """\
sources:
  - name: shop
    tables:
      - name: customers
        columns:
          - name: customer_id
            data_type: integer
            expectations: [not_null, unique]
          - name: country
      - name: orders
        columns:
          - name: order_id
            data_type: integer
          - name: customer_id
            data_type: integer
          - name: amount
            data_type: decimal(10,2)
"""

MART = """\
select c.country, count(distinct c.customer_id) as customers, sum(o.amount) as revenue
from {{ ref('stg_customers') }} as c
left join {{ ref('stg_orders') }} as o on o.customer_id = c.customer_id
group by c.country
"""

MARTS_YML = """\
models:
  - name: customers_by_country
    columns:
      - name: country
        expectations: [not_null]
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    "profiles.yml": PROFILES,
    "models/sources.yml": SOURCES,
    "landing/customers.csv": "customer_id,country\n1,NL\n2,DE\n3,NL\n",
    "landing/orders.csv": "order_id,customer_id,amount\n1,1,10.50\n2,1,4.00\n3,2,7.25\n",
    "seeds/vat.csv": "code,rate\nNL,0.21\nDE,0.19\n",
    "seeds/_seeds.yml": """\
        seeds:
          - name: vat
            config:
              column_types: {rate: "decimal(4,2)"}
        """,
    "models/stg_customers.sql": """\
        select c.customer_id, c.country, v.rate
        from {{ source('shop', 'customers') }} as c
        left join {{ ref('vat') }} as v on v.code = c.country
        """,
    "models/stg_orders.sql": "select * from {{ source('shop', 'orders') }}\n",
    "models/marts/customers_by_country.sql": MART,
    "models/marts/_marts.yml": MARTS_YML,
}


def build(run_cli, root: Path, *args: str):
    return run_cli("build", "--project-dir", root, "--log-format", "plain", *args)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Case:
    """One bad input: what to change, and what the runner must say."""

    files: dict[str, str | None] = field(default_factory=dict)  # path -> text (None: delete)
    where: str = ""  # "file:line" the message names ("" when there is no file)
    message: str = ""
    hint: str = ""
    exit_code: int = 2
    args: tuple[str, ...] = ()
    setup: Callable[[Path], None] | None = None


def _put_a_file_named_blocker(root: Path) -> None:
    (root / "blocker").write_text("a regular file where a folder should go\n")


CASES = {
    "malformed models YAML": Case(
        files={"models/marts/_marts.yml": MARTS_YML.replace("[not_null]", "[not_null")},
        where="models/marts/_marts.yml:5",
        message="invalid YAML: while parsing a flow sequence",
        hint="fix the YAML syntax",
    ),
    "malformed pyproject.toml": Case(
        files={"pyproject.toml": PYPROJECT.replace('name = "shop"', "name = shop")},
        where="pyproject.toml:2",
        message="invalid TOML: Invalid value",
        hint="fix the TOML syntax at that line",
    ),
    "malformed profiles.yml": Case(
        files={"profiles.yml": PROFILES.replace("threads: 1", "threads: 1\n     bad: [")},
        where="profiles.yml:9",
        message="invalid YAML",
        hint="fix the YAML syntax",
    ),
    "unknown ref": Case(
        files={"models/marts/customers_by_country.sql": MART.replace("stg_orders", "stg_order")},
        where="models/marts/customers_by_country.sql:3",
        message="model 'customers_by_country' refers to unknown node 'stg_order'",
        hint="did you mean 'stg_orders'",
    ),
    "cycle": Case(
        files={"models/stg_orders.sql": "select * from {{ ref('customers_by_country') }}\n"},
        where="models/stg_orders.sql:1",
        message="dependency cycle: customers_by_country -> stg_orders -> customers_by_country",
        hint="break the cycle",
    ),
    "Jinja undefined variable": Case(
        files={
            "models/marts/customers_by_country.sql": MART.replace(
                "as customers,", "* {{ multiplier }} as customers,"
            )
        },
        where="models/marts/customers_by_country.sql:1",
        message="undefined: 'multiplier' is undefined",
        hint="define vars under [tool.runner.vars]",
    ),
    "SQL syntax error": Case(
        files={"models/marts/customers_by_country.sql": MART.replace("group by", "group by by")},
        where="models/marts/customers_by_country.sql:4",
        message="SQL syntax error",
        hint="fix the SQL at line 4",
    ),
    "missing source file": Case(
        files={"landing/orders.csv": None},
        where="models/sources.yml:10",
        message="source shop.orders: no data file: expected orders.csv, orders.parquet, "
        "orders/*.parquet in landing",
        hint="put the data in landing, or point sources.shop.path in profiles.yml",
    ),
    "missing required source column": Case(
        files={"landing/customers.csv": "customer_id,land\n1,NL\n"},
        where="models/sources.yml:9",
        message="source shop.customers: column 'country' is missing from landing/customers.csv",
        hint="landing/customers.csv has columns: customer_id, land; add the column",
    ),
    "empty source CSV": Case(
        files={"landing/customers.csv": ""},
        where="landing/customers.csv:1",
        message="source shop.customers: the file is empty; a header row with the column "
        "names is required",
        hint="add a first line naming the columns",
    ),
    "duplicated header column in a source CSV": Case(
        files={"landing/customers.csv": "customer_id,country,country\n1,NL,NL\n"},
        where="landing/customers.csv:1",
        message="source shop.customers: column 'country' appears twice in the header row",
        hint="column names must be unique",
    ),
    "renamed header column in a source CSV": Case(
        files={"landing/orders.csv": "order_id,customer,amount\n1,1,10.50\n"},
        where="models/sources.yml:14",
        message="source shop.orders: column 'customer_id' is missing from landing/orders.csv",
        hint="landing/orders.csv has columns: order_id, customer, amount",
    ),
    "seed value does not cast": Case(
        files={"seeds/vat.csv": "code,rate\nNL,0.21\nDE,high\n"},
        where="seeds/vat.csv:3",
        message="seed 'vat': line 3, column 'rate': value \"high\" is not a valid DECIMAL(4, 2)",
        hint="fix the value in the file, or change the type of 'rate' under column_types",
        exit_code=1,
    ),
    "malformed CSV row in a source": Case(
        files={"landing/orders.csv": "order_id,customer_id,amount\n1,1,10.50\n2,1,4,00\n"},
        where="landing/orders.csv:3",
        message="source shop.orders: line 3 has 4 fields but the header has 3 (order_id, "
        "customer_id, amount): an extra value after the last column 'amount'",
        hint='quote a value that contains a comma ("a,b")',
        exit_code=1,
    ),
    "CSV source value does not cast (read by a model)": Case(
        files={"landing/orders.csv": "order_id,customer_id,amount\n1,1,10.50\n2,1,ten\n"},
        where="landing/orders.csv:3",
        message="source shop.orders: line 3, column 'amount': value \"ten\" is not a valid "
        "DECIMAL(10,2)",
        hint="fix the value in the file, or change the column's data_type (models/sources.yml:16)",
        exit_code=1,
    ),
    "CSV source value does not cast (checked by its expectations)": Case(
        files={"landing/customers.csv": "customer_id,country\n1,NL\nx2,DE\n"},
        where="landing/customers.csv:3",
        message="source shop.customers: line 3, column 'customer_id': value \"x2\" is not a "
        "valid INTEGER",
        hint="fix the value in the file, or change the column's data_type (models/sources.yml:6)",
        exit_code=1,
    ),
    "landing CSV with a NUL byte inside a text value": Case(
        files={"landing/customers.csv": "customer_id,country\n1,NL\n2,D\0E\n"},
        where="landing/customers.csv:3",
        message="source shop.customers: line 3 holds a NUL byte (column 4 of the line): the "
        "file is damaged or not a text file",
        hint="remove the NUL byte",
        exit_code=1,
    ),
    "unknown selector": Case(
        args=("--select", "stg_custmers"),
        message="selector 'stg_custmers' matches no node",
        hint="did you mean 'stg_customers'",
    ),
    "source with a NULL key": Case(
        files={"landing/customers.csv": "customer_id,country\n1,NL\n,DE\n"},
        where="models/sources.yml:8",
        message="1 expectation failed: not_null(customer_id) (1 row)",
        hint="listed under 'Expectations not passing'",
        exit_code=1,
    ),
    "source with a duplicate key": Case(
        files={"landing/customers.csv": "customer_id,country\n1,NL\n1,DE\n2,DE\n"},
        where="models/sources.yml:8",
        message="1 expectation failed: unique(customer_id) (2 rows)",
        hint="--store-failures keeps all the failing rows",
        exit_code=1,
    ),
    "unwritable target folder (a file in the way)": Case(
        files={
            "pyproject.toml": PYPROJECT.replace("\n\n", '\ntarget-path = "blocker/target"\n\n', 1)
        },
        setup=_put_a_file_named_blocker,
        where="pyproject.toml:4",
        message="cannot write to the target folder blocker/target",
        hint="set [tool.runner] target-path to a folder the runner can create and write",
    ),
    "unwritable target folder (/proc)": Case(
        files={
            "pyproject.toml": PYPROJECT.replace(
                "\n\n", '\ntarget-path = "/proc/runner-target"\n\n', 1
            )
        },
        where="pyproject.toml:4",
        message="cannot write to the target folder /proc/runner-target: cannot create it",
        hint="set [tool.runner] target-path to a folder the runner can create and write",
    ),
    "unwritable database folder": Case(
        files={"profiles.yml": PROFILES.replace("path: target/work", "path: blocker/work")},
        setup=_put_a_file_named_blocker,
        where="profiles.yml",
        message="cannot open the database of target 'dev': cannot create the folder of ",
        hint="check path (a file in a folder the runner can create and write)",
    ),
    "disk fills up during the build (memory and temp-space limits)": Case(
        files={
            "profiles.yml": PROFILES.replace(
                "threads: 1",
                "threads: 1\n      memory_limit: 16MB\n"
                "      settings: {max_temp_directory_size: 1MB}",
            ),
            "models/big.sql": """\
                {{ config(materialized='table') }}
                select md5(i::varchar) as h from range(500000) as t(i) order by h
                """,
            "models/marts/customers_by_country.sql": MART.replace(
                "group by",
                "where c.customer_id < (select count(*) from {{ ref('big') }})\ngroup by",
            ),
        },
        where="models/big.sql",
        message="Out of Memory Error",
        hint="raise memory_limit, or max_temp_directory_size under settings in profiles.yml",
        exit_code=1,
    ),
}


@pytest.fixture
def served_project(make_project, run_cli) -> Path:
    """The project after a good build: its serving file exists."""
    root = make_project(FILES, base=False)
    first = build(run_cli, root)
    assert first.exit_code == 0, first.output
    assert "Published 1 of 1 models" in first.output
    return root


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_reported_clearly_and_the_serving_file_is_untouched(
    name, served_project, run_cli
):
    case = CASES[name]
    if "/proc" in name and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    root = served_project
    serving, working = root / "target" / "serve.duckdb", root / "target" / "work.duckdb"
    before = digest(serving)
    for rel, text in case.files.items():
        path = root / rel
        if text is None:
            path.unlink()
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
    if case.setup is not None:
        case.setup(root)

    result = build(run_cli, root, *case.args)

    output = result.output
    assert result.exit_code == case.exit_code, output
    assert "Traceback" not in output
    located = f"{case.where}: {case.message}" if case.where else case.message
    assert located in output, output
    if case.hint:
        assert "hint: " in output and case.hint in output, output
    assert digest(serving) == before, "the serving file changed"
    if case.exit_code == 1:
        assert "Nothing published" in output and "is unchanged" in output
    # The working database still opens, with the last good mart in it.
    with duckdb.connect(str(working), read_only=True) as con:
        assert con.execute("select count(*) from marts.customers_by_country").fetchone() == (2,)


@pytest.fixture
def small_disk(tmp_path: Path):
    """An 8 MB tmpfs (needs root and mount rights: skipped elsewhere)."""
    folder = tmp_path / "small_disk"
    folder.mkdir()
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_real_full_disk_is_reported_and_the_serving_file_is_untouched(
    small_disk, make_project, run_cli
):
    """The working database on an 8 MB disk: a model that does not fit fails with the
    operating system's "No space left on device", named as a full disk."""
    profiles = PROFILES.replace("path: target/work.duckdb", f"path: {small_disk}/work.duckdb")
    root = make_project({**FILES, "profiles.yml": profiles}, base=False)
    assert build(run_cli, root).exit_code == 0
    serving = root / "target" / "serve.duckdb"
    before = digest(serving)
    (root / "models" / "big.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select md5(i::varchar) as h from range(1000000) as t(i)\n"
    )
    (root / "models" / "marts" / "customers_by_country.sql").write_text(
        MART.replace(
            "group by", "where c.customer_id < (select count(*) from {{ ref('big') }})\ngroup by"
        )
    )
    result = build(run_cli, root)
    assert result.exit_code == 1, result.output
    assert "models/big.sql: " in result.output
    assert "No space left on device" in result.output
    assert "hint: the disk is full: free space where the database" in result.output
    assert digest(serving) == before
    with duckdb.connect(str(small_disk / "work.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.customers_by_country").fetchone() == (2,)
