"""What building dbt-labs' jaffle_shop_duckdb and jaffle-shop unchanged needed (each found
by bench/dbt_compat.py, which builds both with dbt and the runner and compares every
table): profiles.yml targets that are not used, seed column types as dbt gives them, raw
data loaded by seeds that sources name in place, and a seed folder disabled by a var."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.errors import ProjectError
from runner.project import load_settings, load_target


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, [args[0], "--project-dir", str(project), *args[1:]], catch_exceptions=False
    )
    return result.exit_code, result.output


def query(project: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(project / "shop.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


PROFILE = "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb}\n"


def test_an_unset_env_var_only_matters_in_the_target_used(tmp_path: Path, monkeypatch) -> None:
    # jaffle_shop_duckdb's profiles.yml has MotherDuck targets needing a token that a
    # local build never sets; dbt renders only the target it uses.
    monkeypatch.delenv("MD_TOKEN", raising=False)
    write(tmp_path / "dbt_project.yml", "name: shop\nprofile: shop\n")
    write(
        tmp_path / "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb}\n"
        "    cloud:\n      type: duckdb\n"
        "      path: \"md:shop?motherduck_token={{ env_var('MD_TOKEN') }}\"\n",
    )
    settings = load_settings(tmp_path)
    assert load_target(settings, None, None).path == "shop.duckdb"
    with pytest.raises(ProjectError) as caught:
        load_target(settings, None, "cloud")
    assert "environment variable 'MD_TOKEN' is not set" in caught.value.message
    assert caught.value.line == 7  # the path: line of the target used
    # the target's own name from an unset variable is the same error, at its line
    write(
        tmp_path / "profiles.yml",
        "shop:\n  target: \"{{ env_var('SHOP_TARGET') }}\"\n  outputs:\n"
        "    dev: {type: duckdb, path: shop.duckdb}\n",
    )
    monkeypatch.delenv("SHOP_TARGET", raising=False)
    with pytest.raises(ProjectError) as caught:
        load_target(settings, None, None)
    assert "environment variable 'SHOP_TARGET' is not set" in caught.value.message
    assert caught.value.line == 2


def test_seed_columns_get_the_types_dbt_gives_them(tmp_path: Path) -> None:
    # dbt-duckdb: whole numbers integer (3.00 too), other numbers double, ISO dates date,
    # date-times timestamp, true/false boolean, a time of day and yes/no text. Checked
    # against dbt-duckdb 1.11 seeding the same file.
    write(tmp_path / "dbt_project.yml", "name: shop\nprofile: shop\n")
    write(tmp_path / "profiles.yml", PROFILE)
    write(
        tmp_path / "seeds" / "kinds.csv",
        "id,price,whole_price,day,at,flag,t,word\n"
        "1,2.50,3.00,2024-01-02,2024-01-02 03:04:05,true,12:30:00,yes\n"
        "2,1.25,4.00,2024-02-29,2024-03-01 00:00:00,False,08:00:00,no\n",
    )
    code, output = run(tmp_path, "seed")
    assert code == 0, output
    types = query(
        tmp_path,
        "select column_name, data_type from duckdb_columns() "
        "where table_name = 'kinds' order by column_index",
    )
    assert types == [
        ("id", "INTEGER"),
        ("price", "DOUBLE"),
        ("whole_price", "INTEGER"),
        ("day", "DATE"),
        ("at", "TIMESTAMP"),
        ("flag", "BOOLEAN"),
        ("t", "VARCHAR"),
        ("word", "VARCHAR"),
    ]
    assert query(tmp_path, "select id, price, whole_price, flag, word from main.kinds") == [
        (1, 2.5, 3, True, "yes"),
        (2, 1.25, 4, False, "no"),
    ]


def jaffle_layout(root: Path) -> Path:
    """jaffle-shop's layout in small: seeds in seeds/jaffle-data loaded only when
    load_source_data is set, and a source naming the very relation the seed loads."""
    write(
        root / "dbt_project.yml",
        "name: shop\nprofile: shop\n"
        "seeds:\n  shop:\n    jaffle-data:\n"
        "      +enabled: \"{{ var('load_source_data', false) }}\"\n",
    )
    write(root / "profiles.yml", PROFILE)
    write(root / "seeds" / "jaffle-data" / "raw_orders.csv", "id,total\n1,10\n2,32\n")
    write(
        root / "models" / "sources.yml",
        "sources:\n  - name: ecom\n    schema: main\n    tables:\n      - name: raw_orders\n",
    )
    write(
        root / "models" / "stg_orders.sql",
        "select id as order_id, total from {{ source('ecom', 'raw_orders') }}",
    )
    return root


def test_a_source_at_its_seeds_relation_reads_the_seed_in_place(tmp_path: Path) -> None:
    project = jaffle_layout(tmp_path)
    code, output = run(project, "build", "--validator", "sql", "--vars", "{load_source_data: true}")
    assert code == 0, output
    # the seed's table stays a table (no view over itself), the model reads its rows
    kinds = query(
        project,
        "select table_name, table_type from information_schema.tables "
        "where table_schema = 'main' order by 1",
    )
    assert kinds == [("raw_orders", "BASE TABLE"), ("stg_orders", "VIEW")]
    assert query(project, "from main.stg_orders order by 1") == [(1, 10), (2, 32)]


def test_a_disabled_seed_is_not_loaded_and_its_source_reads_what_is_there(
    tmp_path: Path,
) -> None:
    project = jaffle_layout(tmp_path)
    assert run(project, "seed", "--vars", "{load_source_data: true}")[0] == 0
    # jaffle-shop's README: seed once with the var, then `build` without it. The seed is
    # disabled then, so a changed CSV is not reloaded; the source is the loaded table.
    write(project / "seeds" / "jaffle-data" / "raw_orders.csv", "id,total\n9,99\n")
    code, output = run(project, "build", "--validator", "sql")
    assert code == 0, output
    assert "raw_orders" not in output.split("Running")[1].split("Finished")[0].replace(
        "ecom.raw_orders", ""
    )
    assert query(project, "from main.stg_orders order by 1") == [(1, 10), (2, 32)]


def test_a_source_whose_relation_is_not_loaded_is_a_located_error(tmp_path: Path) -> None:
    project = jaffle_layout(tmp_path)
    code, output = run(project, "build", "--validator", "sql")
    assert code == 2
    assert "models/sources.yml:5" in output
    assert 'relation "main"."raw_orders" does not exist in the target database' in output
    assert "Traceback" not in output


def test_dbt_cloud_settings_are_named_once_as_not_used(tmp_path: Path) -> None:
    write(tmp_path / "dbt_project.yml", "name: shop\ndbt-cloud:\n  project-id: 1\n")
    warnings = [str(w) for w in load_settings(tmp_path).warnings]
    assert [w for w in warnings if "dbt-cloud" in w] == [
        next(w for w in warnings if "dbt-cloud not supported by the runner" in w)
    ]


def test_docs_of_a_dbt_project_do_not_list_the_warehouses_charts(tmp_path: Path) -> None:
    # the docs site's charts are this repository's marts; jaffle-shop got one
    # "chart ... not drawn: no model named ..." line per chart
    project = jaffle_layout(tmp_path)
    assert run(project, "build", "--validator", "sql", "--vars", "{load_source_data: true}")[0] == 0
    result = CliRunner().invoke(cli, ["docs", "generate", "--project-dir", str(project)])
    code, output = result.exit_code, result.output
    assert code == 0, output
    assert "0 charts" in output and "not drawn" not in output
