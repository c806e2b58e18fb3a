"""Reporters (runner.reporting) and run_results.json (runner.run_results)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

import runner.reporting as reporting
from runner.errors import ProjectError, UsageError
from runner.execute import ExecutionSummary, execute
from runner.graph import Graph
from runner.nodes import Model, Node, Relation, Seed
from runner.reporting import (
    JsonReporter,
    PlainReporter,
    Reporter,
    RichReporter,
    make_reporter,
)
from runner.results import ERROR, SKIPPED, SUCCESS, WARN, NodeResult
from runner.run_results import (
    RUN_RESULTS_SCHEMA_VERSION,
    build_run_results,
    load_run_results,
    write_run_results,
)


def _model(name: str, materialized: str, folder: str = "staging") -> Model:
    return Model(
        unique_id=f"model.{name}",
        name=name,
        path=PurePosixPath(f"models/{folder}/{name}.sql"),
        fqn=("shop", folder, name),
        relation=Relation("main", name),
        config={"materialized": materialized},
        raw_sql="select 1",
    )


SEED = Seed(
    unique_id="seed.countries",
    name="countries",
    path=PurePosixPath("seeds/countries.csv"),
    fqn=("shop", "countries"),
    relation=Relation("main", "countries"),
    config={"materialized": "seed"},
)
ORDERS = _model("stg_shop__orders", "view")
FCT = _model("fct_orders", "table", "facts")
CHURN = _model("churn_scores", "table", "marts")
NODES: list[Node] = [SEED, ORDERS, FCT, CHURN]
GRAPH = Graph(
    nodes={n.unique_id: n for n in NODES},
    parents={
        "seed.countries": frozenset(),
        "model.stg_shop__orders": frozenset(),
        "model.fct_orders": frozenset({"model.stg_shop__orders", "seed.countries"}),
        "model.churn_scores": frozenset({"model.fct_orders"}),
    },
)

FCT_ERROR = ProjectError(
    "Binder Error: Referenced column amount not found\nLINE 3: select amount",
    path="models/facts/fct_orders.sql",
    line=12,
    hint="did you mean 'amount_cents'?",
)

# What run_node "did" for each node, in the order a one-thread run finishes them.
OUTCOMES: dict[str, NodeResult] = {
    "seed.countries": NodeResult(
        "seed.countries", SUCCESS, 1_700_000_000.0, 0.25, rows_affected=1234, materialized="seed"
    ),
    "model.stg_shop__orders": NodeResult(
        "model.stg_shop__orders",
        SUCCESS,
        1_700_000_000.5,
        0.02,
        sql=['create view "main"."stg_shop__orders" as select 1'],
        materialized="view",
    ),
    "model.fct_orders": NodeResult(
        "model.fct_orders",
        ERROR,
        1_700_000_001.0,
        1.5,
        sql=["create table x as select amount"],
        message=FCT_ERROR.message,
        error=FCT_ERROR,
        materialized="table",
    ),
}


def run_node(node: Node, session: Any) -> NodeResult:
    return OUTCOMES[node.unique_id]


def run_with(reporter: Reporter) -> ExecutionSummary:
    return execute(GRAPH, GRAPH.nodes, run_node, threads=1, new_session=object, reporter=reporter)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reporting, "_clock", lambda: "12:00:01")


# ---------------------------------------------------------------- plain


def test_plain_prints_one_exact_line_per_node_and_no_ansi() -> None:
    out = io.StringIO()
    summary = run_with(make_reporter("plain", out))
    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue()
    assert lines[:5] == [
        "12:00:01  Running 4 nodes with 1 thread",
        "12:00:01  1/4  OK       stg_shop__orders ............................... view  [0.02s]",
        "12:00:01  2/4  OK       countries ...................................... seed"
        "  [1,234 rows in 0.25s]",
        "12:00:01  3/4  ERROR    fct_orders ..................................... table  [1.50s]",
        "12:00:01  4/4  SKIP     churn_scores ................................... table"
        "  [upstream 'fct_orders' failed]",
    ]
    assert summary.counts == {SUCCESS: 2, WARN: 0, ERROR: 1, SKIPPED: 1}


def test_plain_summary_has_counts_slowest_nodes_and_errors_with_path_line_and_hint() -> None:
    out = io.StringIO()
    summary = run_with(make_reporter("plain", out))
    text = out.getvalue()
    tail = text[text.index("\n\n") + 2 :].splitlines()
    assert tail == [
        f"12:00:01  Finished 4 nodes in {summary.elapsed:.2f}s: "
        "2 success, 0 warn, 1 error, 1 skipped",
        "Slowest:",
        "     1.50s  fct_orders (table)",
        "     0.25s  countries (seed)",
        "     0.02s  stg_shop__orders (view)",
        "Errors (1):",
        "  models/facts/fct_orders.sql:12: Binder Error: Referenced column amount not found",
        "    LINE 3: select amount",
        "    hint: did you mean 'amount_cents'?",
    ]


def test_plain_lists_at_most_five_slowest_and_errors_without_a_location() -> None:
    out = io.StringIO()
    rep = PlainReporter(out)
    nodes = [_model(f"m{i}", "view") for i in range(7)]
    summary = ExecutionSummary(elapsed=9.0)
    rep.start(len(nodes), threads=4)
    for i, node in enumerate(nodes):
        status = ERROR if i == 0 else SUCCESS
        result = NodeResult(node.unique_id, status, execution_time=float(i), message="it broke")
        summary.results[node.unique_id] = result
        rep.node_finished(node, result)
    rep.finish(summary)
    text = out.getvalue()
    assert text.splitlines()[0] == "12:00:01  Running 7 nodes with 4 threads"
    slow = text[text.index("Slowest:") : text.index("Errors")].splitlines()[1:]
    assert [line.split()[1] for line in slow] == ["m6", "m5", "m4", "m3", "m2"]
    # No error object: the node's file, no line.
    assert "  models/staging/m0.sql: it broke\n" in text


def test_plain_summary_says_interrupted() -> None:
    out = io.StringIO()
    rep = PlainReporter(out)
    rep.start(0)
    rep.finish(ExecutionSummary(elapsed=1.0, interrupted=True))
    assert "Interrupted 0 nodes in 1.00s: 0 success, 0 warn, 0 error, 0 skipped" in out.getvalue()


# ---------------------------------------------------------------- json


def test_json_writes_one_parsable_object_per_event() -> None:
    out = io.StringIO()
    run_with(make_reporter("json", out))
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds == [
        "start",
        *["node_started", "node_finished"] * 3,
        "node_finished",  # churn_scores, skipped when fct_orders failed: never started
        "finish",
    ]
    assert events[0]["total"] == 4 and events[0]["threads"] == 1
    assert all(e["ts"].endswith("+00:00") for e in events)

    finished = {e["unique_id"]: e for e in events if e["event"] == "node_finished"}
    fct = finished["model.fct_orders"]
    assert {k: fct[k] for k in ("status", "execution_time", "rows_affected", "path", "line")} == {
        "status": ERROR,
        "execution_time": 1.5,
        "rows_affected": None,
        "path": "models/facts/fct_orders.sql",
        "line": 12,
    }
    assert fct["message"] == FCT_ERROR.message and fct["hint"] == FCT_ERROR.hint
    assert finished["seed.countries"]["rows_affected"] == 1234
    assert finished["seed.countries"]["path"] == "seeds/countries.csv"
    assert finished["model.churn_scores"]["status"] == SKIPPED
    assert finished["model.churn_scores"]["message"] == "skipped: upstream 'fct_orders' failed"

    finish = events[-1]
    assert finish["counts"] == {SUCCESS: 2, WARN: 0, ERROR: 1, SKIPPED: 1}
    assert finish["failed"] is True and finish["interrupted"] is False
    assert [s["name"] for s in finish["slowest"]] == ["fct_orders", "countries", "stg_shop__orders"]
    assert finish["errors"] == [
        {
            "unique_id": "model.fct_orders",
            "name": "fct_orders",
            "path": "models/facts/fct_orders.sql",
            "line": 12,
            "message": FCT_ERROR.message,
            "hint": FCT_ERROR.hint,
        }
    ]


# ---------------------------------------------------------------- choosing, rich


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_make_reporter_picks_by_format_and_terminal() -> None:
    assert isinstance(make_reporter("auto", io.StringIO()), PlainReporter)
    assert isinstance(make_reporter("auto", FakeTerminal()), RichReporter)
    assert isinstance(make_reporter("plain", FakeTerminal()), PlainReporter)
    assert isinstance(make_reporter("json", io.StringIO()), JsonReporter)
    assert isinstance(make_reporter("rich", io.StringIO()), RichReporter)
    with pytest.raises(UsageError) as info:
        make_reporter("xml", io.StringIO())
    assert info.value.hint is not None and "json" in info.value.hint


def test_rich_shows_every_node_and_the_summary() -> None:
    out = FakeTerminal()
    reporter = RichReporter(out, force_terminal=True)
    run_with(reporter)
    text = out.getvalue()
    assert "Running 4 nodes with 1 thread" in text
    for node in NODES:
        assert node.name in text
    assert "upstream 'fct_orders' failed" in text
    assert "models/facts/fct_orders.sql:12: Binder Error" in text
    assert "hint: did you mean 'amount_cents'?" in text
    assert "\x1b[" in text  # coloured
    assert reporter._live is None  # the live display was stopped


LONG = _model("stg_shop__marketing_spend_by_channel_and_day", "incremental")
SHORT = _model("as_of", "table", "facts")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_rich_on_80_columns_shortens_long_names_and_keeps_the_columns_aligned(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    graph = Graph(
        nodes={n.unique_id: n for n in (LONG, SHORT)},
        parents={LONG.unique_id: frozenset(), SHORT.unique_id: frozenset({LONG.unique_id})},
    )
    outcomes = {
        n.unique_id: NodeResult(n.unique_id, SUCCESS, 1_700_000_000.0, 0.5, rows_affected=20_613)
        for n in (LONG, SHORT)
    }
    out = FakeTerminal()
    reporter = RichReporter(out, force_terminal=True)
    execute(
        graph, graph.nodes, lambda node, _: outcomes[node.unique_id], threads=1,
        new_session=object, reporter=reporter,
    )  # fmt: skip
    text = ANSI.sub("", out.getvalue().replace("\r", "\n"))
    lines = [line for line in text.splitlines() if "/2  ✓ OK" in line]
    assert len(lines) == 2, text
    assert all(len(line) <= 80 for line in lines), lines
    long_line, short_line = lines
    # the start and the end of the long name, an ellipsis between; the short one whole
    assert "stg_sho…nd_day ..." in long_line and "as_of ......" in short_line
    # what follows the name starts in the same column on both lines
    assert long_line.index(" incremental ") == short_line.index(" table ")
    assert "[20,613 rows in 0.50s]" in long_line


def test_one_row_and_one_node_are_singular() -> None:
    one = NodeResult("model.as_of", SUCCESS, 1_700_000_000.0, 0.5, rows_affected=1)
    assert reporting._detail(one) == "1 row in 0.50s"
    out = io.StringIO()
    reporter = PlainReporter(out)
    reporter.start(1, threads=1)
    reporter.node_finished(SHORT, one)
    assert "Running 1 node with 1 thread" in out.getvalue()
    assert "[1 row in 0.50s]" in out.getvalue()


def test_fit_name_keeps_names_that_fit_and_shortens_the_rest_in_the_middle():
    assert reporting.fit_name("as_of", 18) == "as_of"
    assert reporting.fit_name("a" * 14, 18) == "a" * 14
    shortened = reporting.fit_name("next_purchase_cross_sell", 18)
    assert shortened == "next_pu…s_sell" and len(shortened) == 14


# ---------------------------------------------------------------- run_results.json


def test_run_results_shape() -> None:
    summary = run_with(Reporter())
    data = build_run_results(
        summary,
        GRAPH,
        command="build",
        args={"select": ["fct_orders+"], "threads": 1},
        generated_at="2026-11-22T20:00:00+00:00",
    )
    assert data["metadata"] == {
        "schema_version": RUN_RESULTS_SCHEMA_VERSION,
        "runner_version": data["metadata"]["runner_version"],
        "generated_at": "2026-11-22T20:00:00+00:00",
        "command": "build",
        "args": {"select": ["fct_orders+"], "threads": 1},
    }
    assert data["counts"] == {SUCCESS: 2, WARN: 0, ERROR: 1, SKIPPED: 1}
    assert data["interrupted"] is False
    assert data["elapsed_time"] == round(summary.elapsed, 6)
    results = data["results"]
    assert [r["unique_id"] for r in results] == list(summary.results)  # completion order
    by_id = {r["unique_id"]: r for r in results}
    assert by_id["model.fct_orders"] == {
        "unique_id": "model.fct_orders",
        "name": "fct_orders",
        "resource_type": "model",
        "status": ERROR,
        "started_at": "2023-11-14T22:13:21.000+00:00",
        "execution_time": 1.5,
        "rows_affected": None,
        "materialized": "table",
        "sql": ["create table x as select amount"],
        "message": FCT_ERROR.message,
        "error": {
            "path": "models/facts/fct_orders.sql",
            "line": 12,
            "message": FCT_ERROR.message,
            "hint": FCT_ERROR.hint,
        },
        "expectations": [],
        "retries": [],
    }
    skipped = by_id["model.churn_scores"]
    assert (skipped["status"], skipped["started_at"], skipped["error"]) == (SKIPPED, None, None)
    assert skipped["materialized"] == "table" and skipped["sql"] == []
    assert by_id["seed.countries"]["resource_type"] == "seed"
    assert by_id["seed.countries"]["rows_affected"] == 1234
    json.dumps(data)  # plain JSON types only


def test_run_results_round_trip(tmp_path: Path) -> None:
    data = build_run_results(run_with(Reporter()), GRAPH, command="run", args={})
    path = write_run_results(tmp_path / "target", data)
    assert path == tmp_path / "target" / "run_results.json"
    assert json.loads(path.read_text())["metadata"]["schema_version"] == RUN_RESULTS_SCHEMA_VERSION
    assert load_run_results(tmp_path / "target") == {
        "model.fct_orders": ERROR,
        "model.churn_scores": SKIPPED,
        "seed.countries": SUCCESS,
        "model.stg_shop__orders": SUCCESS,
    }


def test_load_run_results_refuses_missing_broken_or_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as missing:
        load_run_results(tmp_path)
    assert "no run_results.json" in missing.value.message and missing.value.hint

    (tmp_path / "run_results.json").write_text("{not json")
    with pytest.raises(UsageError) as broken:
        load_run_results(tmp_path)
    assert "not valid JSON" in broken.value.message and broken.value.hint

    (tmp_path / "run_results.json").write_text(json.dumps({"results": []}))
    with pytest.raises(UsageError, match="not a runner run_results file"):
        load_run_results(tmp_path)
