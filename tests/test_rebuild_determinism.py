"""Same inputs, same outputs: two `runner build --full-refresh` of the demo warehouse in a
row give every mart exactly the same rows, floats included (the predictive-CLV fit read
its input in no order, and 2 of 8 rebuilds gave another Gamma-Gamma fit)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from warehouse import REPO

pytestmark = pytest.mark.slow  # two whole demo builds

# Timings, not results: a mart holding one changes from run to run by design (issue 11
# moves it to run_results; until then it is left out of the comparison).
TIMINGS = {"fit_seconds"}


def _marts(database: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' order by table_name"
        ).fetchall()
        marts = {}
        for (name,) in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [name],
                ).fetchall()
                if c not in TIMINGS
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f'select {listed} from marts."{name}"').fetchall()
            marts[name] = sorted(rows, key=repr)  # a table's rows have no order
        return marts


def test_two_full_refresh_builds_give_identical_marts(tmp_path: Path):
    for name in ("pyproject.toml", "profiles.yml"):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    snapshots = []
    for _ in range(2):
        done = subprocess.run(
            [
                *(sys.executable, "-m", "runner.cli", "build", "--full-refresh"),
                *("--validator", "sql", "--log-format", "plain", "--no-publish"),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        snapshots.append(_marts(tmp_path / "target" / "warehouse.duckdb"))
    first, second = snapshots
    assert len(first) > 20
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"marts.{name} differs between two full builds"
