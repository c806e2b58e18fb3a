"""Kill a build with SIGKILL at random moments; the serving file and the next build survive.

A small project with a table, an incremental model and published marts. Each round
lands new data (a bigger `n`), starts `runner build` as a real process, kills it after a
random delay spread over the whole build (startup, models, checks, publishing), then
checks that the serving file is either byte-identical to before or, if the kill came
after the atomic rename, the complete new snapshot; and that the next build, without
any repair, succeeds and publishes exactly the right numbers (the incremental model
never double-counts).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from project_text import profiles, pyproject

pytestmark = pytest.mark.slow  # twenty killed builds of the demo

ROUNDS = 20  # issue 6: at least 20 kills
TIME_BUDGET = 240.0  # seconds for the whole test; fewer rounds than planned fail it

PYPROJECT = pyproject()

PROFILES = profiles(threads=2, serve=True)

FILES = {
    "pyproject.toml": PYPROJECT,
    "profiles.yml": PROFILES,
    # Events 0..n-1; each round lands more of them (the var n grows).
    "models/events.sql": """\
        {{ config(materialized='table') }}
        select range as event_id, range % 7 as customer_id, (range % 13) * 1.5 as amount
        from range({{ var('n') }})
        """,
    "models/events_seen.sql": """\
        {{ config(materialized='incremental', unique_key='event_id') }}
        select * from {{ ref('events') }}
        {% if is_incremental() %}
        where event_id > (select coalesce(max(event_id), -1) from {{ this }})
        {% endif %}
        """,
    "models/marts/revenue_by_customer.sql": """\
        select customer_id, count(*) as events, sum(amount) as amount
        from {{ ref('events_seen') }} group by 1
        """,
    "models/marts/totals.sql": """\
        select count(*) as events, count(distinct event_id) as distinct_events,
               sum(amount) as amount
        from {{ ref('events_seen') }}
        """,
    "models/marts/_marts.yml": """\
        models:
          - name: totals
            expectations:
              - expression: 'events = distinct_events'
          - name: revenue_by_customer
            columns:
              - name: customer_id
                expectations: [unique, not_null]
        """,
}


def expected(n: int) -> tuple[int, float]:
    """What totals must say once events 0..n-1 are all in: worked out in Python."""
    return n, sum((i % 13) * 1.5 for i in range(n))


def write_project(root: Path) -> None:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def start_build(root: Path, n: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "runner.cli", "build", "--log-format", "plain", "--vars", f"n: {n}"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "HOME": str(root)},
    )


def totals(serving: Path) -> tuple[int, int, float, int]:
    with duckdb.connect(str(serving), read_only=True) as con:
        events, distinct, amount = con.execute("select * from marts.totals").fetchone()
        customers = con.execute("select sum(events) from marts.revenue_by_customer").fetchone()
    return events, distinct, float(amount), customers[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sigkill_at_random_moments_never_damages_what_is_served(tmp_path):
    root = tmp_path / "project"
    write_project(root)
    serving = root / "target" / "serve.duckdb"
    n = 1000
    first = start_build(root, n)
    assert first.wait(timeout=120) == 0, first.stdout.read()
    # How long a whole build takes here: kills are spread over 0..1.2x of it.
    clock = time.perf_counter()
    timed = start_build(root, n)
    assert timed.wait(timeout=120) == 0, timed.stdout.read()
    duration = time.perf_counter() - clock

    rng = random.Random(20261122)
    started = time.perf_counter()
    outcomes = {"old": 0, "new": 0}
    for round_ in range(ROUNDS):
        assert time.perf_counter() - started < TIME_BUDGET, f"only {round_} rounds in time"
        before = digest(serving)
        served_before = totals(serving)
        n_next = n + rng.randint(1, 500)

        build = start_build(root, n_next)
        time.sleep(rng.uniform(0.0, 1.2 * duration))
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=60)

        # The old file, byte for byte, or (killed after the rename) the whole new one.
        if digest(serving) == before:
            outcomes["old"] += 1
            assert totals(serving) == served_before
        else:
            outcomes["new"] += 1
            events, amount = expected(n_next)
            assert totals(serving) == (events, events, amount, events)

        # The next build needs no repair and counts every event exactly once.
        recovery = start_build(root, n_next)
        output = recovery.communicate(timeout=120)[0]
        assert recovery.returncode == 0, f"round {round_}:\n{output}"
        events, amount = expected(n_next)
        assert totals(serving) == (events, events, amount, events), f"round {round_}"
        assert not list(serving.parent.glob(".serve.duckdb.*")), "a temporary file was left"
        n = n_next
    print(f"kills: {outcomes}, build takes {duration:.2f}s")
    assert outcomes["old"] >= 1, outcomes  # the kills did land before publishing
