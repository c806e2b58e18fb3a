"""A dashboard reads the serving file while the scheduler refreshes the warehouse.

The demo warehouse is built once; then two reader processes query the serving file in a
loop, read-only, checking invariants that tie the marts together within one snapshot,
while two refreshes run with the real CLI, each changing every mart (a new as-of date).
One reader opens a new connection for every read (it must see the new snapshots), the
other holds one connection throughout (it must keep its first snapshot: within one
process DuckDB shares an open database among connections to the same path). Over the
whole refresh: zero errors and zero inconsistent reads in both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from warehouse import REPO

pytestmark = pytest.mark.slow  # two refreshes of the demo under readers

# One statement, so one snapshot: revenue five ways, customers three ways.
INVARIANTS = """
select
    (select sum(net_revenue) from marts.channel_kpis_monthly),
    (select sum(net_revenue) from marts.clv_customers),
    (select sum(net_revenue) from marts.clv_by_channel),
    (select sum(net_revenue) from marts.clv_by_cohort),
    (select sum(revenue) from marts.retention_cohorts),
    (select count(*) from marts.clv_customers),
    (select sum(cohort_size) from marts.retention_cohorts where months_since_first = 0),
    (select count(*) from marts.customer_churn),
    (select max(as_of_date) from marts.customer_churn)
"""

READER = textwrap.dedent(
    """
    import json, os, sys, duckdb
    path, stop, out, query, mode = sys.argv[1:6]
    reads = errors = inconsistent = 0
    seen, problems = set(), []
    held = duckdb.connect(path, read_only=True) if mode == "held" else None
    while not os.path.exists(stop):
        try:
            con = held or duckdb.connect(path, read_only=True)
            try:
                row = con.execute(query).fetchone()
            finally:
                if held is None:
                    con.close()
        except Exception as exc:
            errors += 1
            problems.append(repr(exc))
            continue
        reads += 1
        revenue, customers = set(row[0:5]), set(row[5:8])
        if len(revenue) != 1 or len(customers) != 1:
            inconsistent += 1
            problems.append(repr(row))
        seen.add(str(row[8]))
    json.dump({"reads": reads, "errors": errors, "inconsistent": inconsistent,
               "seen": sorted(seen), "problems": problems[:5]}, open(out, "w"))
    """
)


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args, "--log-format", "plain", "--validator", "sql"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_readers_never_see_an_error_or_a_mixed_snapshot_during_refreshes(tmp_path):
    root = tmp_path / "warehouse"
    root.mkdir()
    for name in ("pyproject.toml", "profiles.yml"):
        shutil.copy(REPO / name, root / name)
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(REPO / folder, root / folder)
    first = _cli(root, "build", "--vars", "{as_of: '2024-06-30'}")
    assert first.returncode == 0, first.stdout + first.stderr
    serving = root / "target" / "serving.duckdb"
    assert serving.is_file()

    stop = tmp_path / "stop"
    readers = {
        mode: subprocess.Popen(
            [sys.executable, "-c", READER, str(serving), str(stop), str(out), INVARIANTS, mode]
        )
        for mode, out in (("fresh", tmp_path / "fresh.json"), ("held", tmp_path / "held.json"))
    }
    try:
        time.sleep(1.0)  # both reading the first snapshot already
        for as_of in ("2024-09-30", "2024-12-31"):
            refresh = _cli(root, "build", "--vars", f"{{as_of: '{as_of}'}}")
            assert refresh.returncode == 0, refresh.stdout + refresh.stderr
            published = re.search(r"Published (\d+) of (\d+) models", refresh.stdout)
            assert published and published[1] == published[2], refresh.stdout
        time.sleep(0.5)
    finally:
        stop.touch()
        for reader in readers.values():
            reader.wait(timeout=60)
    fresh = json.loads((tmp_path / "fresh.json").read_text())
    held = json.loads((tmp_path / "held.json").read_text())
    for reads in (fresh, held):
        assert reads["errors"] == 0, reads["problems"]
        assert reads["inconsistent"] == 0, reads["problems"]
        assert reads["reads"] >= 20, reads
    # A new connection sees the newest published snapshot: the refreshes were seen...
    assert set(fresh["seen"]) <= {"2024-06-30", "2024-09-30", "2024-12-31"}
    assert len(fresh["seen"]) >= 2, fresh
    # ...while a connection held open all along kept reading the snapshot it opened.
    assert held["seen"] == ["2024-06-30"], held
