"""The scheduler (runner.execute) on hand-built graphs with fake run_node functions.

No database: run_node records what happened and returns a NodeResult (or raises).
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

import pytest

import runner.execute as execute_module
from runner.errors import ProjectError, RunnerError
from runner.execute import ExecutionSummary, execute
from runner.graph import Graph
from runner.nodes import Model, Node, Relation
from runner.reporting import Reporter
from runner.results import ERROR, SKIPPED, SUCCESS, WARN, NodeResult


def _model(name: str, materialized: str = "view") -> Model:
    return Model(
        unique_id=f"model.{name}",
        name=name,
        path=PurePosixPath(f"models/{name}.sql"),
        fqn=("shop", name),
        relation=Relation("main", name),
        config={"materialized": materialized},
        raw_sql="select 1",
    )


def make_graph(parents: Mapping[str, Iterable[str]]) -> Graph:
    """A graph of models from {name: [parent names]}; every name mentioned becomes a node."""
    names = set(parents) | {p for ps in parents.values() for p in ps}
    nodes = {f"model.{n}": _model(n) for n in sorted(names)}
    return Graph(
        nodes=nodes,
        parents={f"model.{n}": frozenset(f"model.{p}" for p in parents.get(n, ())) for n in names},
    )


def ids(*names: str) -> set[str]:
    return {f"model.{n}" for n in names}


class Recorder(Reporter):
    """Remembers every event, and the thread it arrived on."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.threads: set[str] = set()

    def _note(self, event: str, data: Any) -> None:
        self.events.append((event, data))
        self.threads.add(threading.current_thread().name)

    def start(self, total_nodes: int, *, threads: int = 1) -> None:
        self._note("start", (total_nodes, threads))

    def node_started(self, node: Node) -> None:
        self._note("node_started", node.name)

    def node_finished(self, node: Node, result: NodeResult) -> None:
        self._note("node_finished", (node.name, result.status))

    def finish(self, summary: ExecutionSummary) -> None:
        self._note("finish", summary)


class FakeRun:
    """A run_node: sleeps a little, fails the nodes named in ``fail``, logs starts and ends."""

    def __init__(
        self,
        fail: Iterable[str] = (),
        sleep: float = 0.0,
        action: Callable[[Node], NodeResult | None] | None = None,
    ) -> None:
        self.fail = set(fail)
        self.sleep = sleep
        self.action = action
        self.lock = threading.Lock()
        self.log: list[tuple[str, str]] = []  # ("start"|"end", name) in real order
        self.sessions: list[tuple[int, Any]] = []  # (thread ident, session) per node

    @property
    def ran(self) -> set[str]:
        return {name for event, name in self.log if event == "start"}

    def __call__(self, node: Node, session: Any) -> NodeResult:
        with self.lock:
            self.log.append(("start", node.name))
            self.sessions.append((threading.get_ident(), session))
        try:
            if self.sleep:
                time.sleep(self.sleep)
            if self.action is not None:
                result = self.action(node)
                if result is not None:
                    return result
            if node.name in self.fail:
                return NodeResult(node.unique_id, ERROR, message=f"{node.name} broke")
            return NodeResult(node.unique_id, SUCCESS, materialized=node.materialized)
        finally:
            with self.lock:
                self.log.append(("end", node.name))


def run(
    graph: Graph,
    run_node: Callable[[Node, Any], NodeResult],
    *,
    selected: Iterable[str] | None = None,
    threads: int = 2,
    reporter: Reporter | None = None,
    **kwargs: Any,
) -> ExecutionSummary:
    return execute(
        graph,
        graph.nodes if selected is None else selected,
        run_node,
        threads=threads,
        new_session=object,
        reporter=reporter or Reporter(),
        **kwargs,
    )


def statuses(summary: ExecutionSummary) -> dict[str, str]:
    return {uid.removeprefix("model."): r.status for uid, r in summary.results.items()}


# ---------------------------------------------------------------- order and parallelism

DIAMOND = {
    "stg_orders": [],
    "stg_customers": [],
    "fct_orders": ["stg_orders"],
    "dim_customers": ["stg_customers", "fct_orders"],
    "retention": ["fct_orders", "dim_customers"],
    "churn": ["dim_customers"],
    "lonely": [],
}


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_a_node_starts_only_after_all_its_parents_finished(threads: int) -> None:
    graph = make_graph(DIAMOND)
    fake = FakeRun(sleep=0.002)
    summary = run(graph, fake, threads=threads)

    assert statuses(summary) == dict.fromkeys(DIAMOND, SUCCESS)
    position = {entry: i for i, entry in enumerate(fake.log)}
    for name, parents in DIAMOND.items():
        for parent in parents:
            assert position[("end", parent)] < position[("start", name)], (parent, name)
    assert not summary.failed and not summary.interrupted
    assert summary.counts == {SUCCESS: 7, WARN: 0, ERROR: 0, SKIPPED: 0}


def test_threads_one_runs_in_a_stable_order() -> None:
    graph = make_graph(DIAMOND)
    first, second = FakeRun(), FakeRun()
    run(graph, first, threads=1)
    run(graph, second, threads=1)
    starts = [name for event, name in first.log if event == "start"]
    assert starts == [name for event, name in second.log if event == "start"]
    # Among ready nodes the smallest unique id goes first.
    assert starts[:3] == ["lonely", "stg_customers", "stg_orders"]


def test_nodes_run_in_parallel_up_to_threads() -> None:
    graph = make_graph({f"m{i}": [] for i in range(6)})
    active = 0
    peak = 0
    lock = threading.Lock()
    barrier = threading.Barrier(3, timeout=5)

    def run_node(node: Node, session: Any) -> NodeResult:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        barrier.wait()  # three at a time, or this times out
        with lock:
            active -= 1
        return NodeResult(node.unique_id, SUCCESS)

    summary = run(graph, run_node, threads=3)
    assert peak == 3
    assert set(statuses(summary).values()) == {SUCCESS}


def _random_dag(size: int, seed: int) -> dict[str, list[str]]:
    rnd = random.Random(seed)
    names = [f"n{i:02d}" for i in range(size)]
    return {
        name: rnd.sample(names[:i], k=min(i, rnd.randint(0, 3))) for i, name in enumerate(names)
    }


def test_random_dag_gives_the_same_results_with_one_and_four_threads() -> None:
    dag = _random_dag(50, seed=7)
    graph = make_graph(dag)
    fail = {"n05", "n23", "n31"}
    one = run(graph, FakeRun(fail=fail), threads=1)
    four = run(graph, FakeRun(fail=fail, sleep=0.001), threads=4)

    assert statuses(one) == statuses(four)
    assert len(one.results) == 50
    # And the outcome is the fail-closed one: skipped exactly when an ancestor failed.
    failed_ancestry = set().union(*(graph.descendants(f"model.{f}") for f in fail))
    for uid, result in four.results.items():
        name = uid.removeprefix("model.")
        expected = ERROR if name in fail else SKIPPED if uid in failed_ancestry else SUCCESS
        assert result.status == expected, name


# ---------------------------------------------------------------- failures


def test_a_failure_skips_exactly_its_descendants() -> None:
    graph = make_graph(DIAMOND)
    fake = FakeRun(fail={"fct_orders"})
    recorder = Recorder()
    summary = run(graph, fake, threads=2, reporter=recorder)

    skipped = {n for n, s in statuses(summary).items() if s == SKIPPED}
    assert skipped == {"dim_customers", "retention", "churn"}
    assert fake.ran == {"stg_orders", "stg_customers", "fct_orders", "lonely"}
    assert statuses(summary)["fct_orders"] == ERROR
    assert summary.results["model.churn"].message == "skipped: upstream 'fct_orders' failed"
    assert summary.failed
    assert [r.unique_id for r in summary.errors] == ["model.fct_orders"]
    # Skipped nodes are reported too, and every node exactly once.
    finished = [data[0] for event, data in recorder.events if event == "node_finished"]
    assert sorted(finished) == sorted(DIAMOND)


def test_a_node_with_two_failed_parents_is_skipped_once() -> None:
    graph = make_graph({"a": [], "b": [], "c": ["a", "b"]})
    recorder = Recorder()
    summary = run(graph, FakeRun(fail={"a", "b"}), threads=1, reporter=recorder)
    assert statuses(summary) == {"a": ERROR, "b": ERROR, "c": SKIPPED}
    assert summary.results["model.c"].message == "skipped: upstream 'a' failed"
    assert [d for e, d in recorder.events if e == "node_finished"].count(("c", SKIPPED)) == 1


def test_a_node_that_run_node_skips_also_skips_its_descendants() -> None:
    graph = make_graph({"a": [], "b": ["a"], "c": []})

    def action(node: Node) -> NodeResult | None:
        return (
            NodeResult(node.unique_id, SKIPPED, message="nothing to do")
            if node.name == "a"
            else None
        )

    summary = run(graph, FakeRun(action=action), threads=1)
    assert statuses(summary) == {"a": SKIPPED, "b": SKIPPED, "c": SUCCESS}
    assert summary.results["model.b"].message == "skipped: upstream 'a' was skipped"
    assert not summary.failed


def test_a_warning_counts_as_done() -> None:
    graph = make_graph({"a": [], "b": ["a"]})

    def action(node: Node) -> NodeResult | None:
        return (
            NodeResult(node.unique_id, WARN, message="1 expectation warned")
            if node.name == "a"
            else None
        )

    summary = run(graph, FakeRun(action=action), threads=1)
    assert statuses(summary) == {"a": WARN, "b": SUCCESS}
    assert not summary.failed


def test_a_raising_run_node_becomes_an_error_result_and_the_run_goes_on() -> None:
    graph = make_graph({"a": [], "b": ["a"], "c": [], "d": []})

    def action(node: Node) -> NodeResult | None:
        if node.name == "a":
            raise ProjectError("Binder Error: no column x", path="models/a.sql", line=7, hint="h")
        if node.name == "c":
            raise ValueError("boom")
        if node.name == "d":
            return "not a result"  # type: ignore[return-value]
        return None

    summary = run(graph, FakeRun(action=action), threads=2)
    assert statuses(summary) == {"a": ERROR, "b": SKIPPED, "c": ERROR, "d": ERROR}

    a = summary.results["model.a"]
    assert isinstance(a.error, ProjectError)
    assert (a.error.where, a.error.hint, a.message) == ("models/a.sql:7", "h", a.error.message)
    assert a.materialized == "view" and a.started_at > 0

    c = summary.results["model.c"]
    assert c.message == "ValueError: boom"
    assert isinstance(c.error, RunnerError) and c.error.where == "models/c.sql"
    assert "raise ValueError" in c.extra["traceback"]

    assert summary.results["model.d"].message.startswith("TypeError: run_node returned str")


def test_a_failing_new_session_fails_the_node_not_the_run() -> None:
    graph = make_graph({"a": [], "b": []})
    calls = 0

    def new_session() -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("no connection")
        return object()

    summary = execute(
        graph, graph.nodes, FakeRun(), threads=1, new_session=new_session, reporter=Reporter()
    )
    assert statuses(summary) == {"a": ERROR, "b": SUCCESS}
    assert summary.results["model.a"].message == "RuntimeError: no connection"


def test_fail_fast_starts_nothing_after_the_first_error() -> None:
    graph = make_graph({name: [] for name in ["a", "b", "c", "d", "e"]})
    b_failing = threading.Event()

    def action(node: Node) -> NodeResult | None:
        if node.name == "a":  # still running when b fails: it must finish, not be dropped
            assert b_failing.wait(5)
            time.sleep(0.01)
        if node.name == "b":
            b_failing.set()
            return NodeResult(node.unique_id, ERROR, message="bad")
        return None

    fake = FakeRun(action=action)
    summary = run(graph, fake, threads=2, fail_fast=True)
    assert fake.ran == {"a", "b"}
    assert statuses(summary) == {"a": SUCCESS, "b": ERROR, "c": SKIPPED, "d": SKIPPED, "e": SKIPPED}
    assert summary.results["model.d"].message == "skipped: fail-fast after 'b' failed"
    assert summary.failed and not summary.interrupted


def test_without_fail_fast_independent_branches_go_on() -> None:
    graph = make_graph({name: [] for name in ["a", "b", "c"]})
    summary = run(graph, FakeRun(fail={"a"}), threads=1)
    assert statuses(summary) == {"a": ERROR, "b": SUCCESS, "c": SUCCESS}


# ---------------------------------------------------------------- Ctrl-C


def _interrupt_graph() -> Graph:
    # threads=2: "a_slow" and "b" start first (smallest ids); c depends on b.
    return make_graph({"a_slow": [], "b": [], "c": ["b"], "d": [], "e": []})


def test_ctrl_c_cancels_running_statements_and_skips_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cancelled = threading.Event()
    both_running = threading.Barrier(3, timeout=5)
    interrupt_calls = 0

    def interrupt() -> None:
        nonlocal interrupt_calls
        interrupt_calls += 1
        cancelled.set()

    def action(node: Node) -> NodeResult | None:
        if node.name in ("a_slow", "b"):
            both_running.wait()
        if node.name == "a_slow":  # a long statement: ends only when cancelled
            assert cancelled.wait(5)
            return NodeResult(node.unique_id, ERROR, message="INTERRUPT Error: cancelled")
        return None

    real_wait = execute_module.wait
    waits = 0

    def wait_then_ctrl_c(fs: Any, timeout: float | None = None, return_when: str = "") -> Any:
        nonlocal waits
        waits += 1
        if waits == 1:  # the user presses Ctrl-C while a_slow and b run
            both_running.wait()
            raise KeyboardInterrupt
        return real_wait(fs, timeout=timeout, return_when=return_when)

    monkeypatch.setattr(execute_module, "wait", wait_then_ctrl_c)
    fake = FakeRun(action=action)
    recorder = Recorder()
    summary = run(_interrupt_graph(), fake, threads=2, interrupt=interrupt, reporter=recorder)

    assert summary.interrupted
    assert interrupt_calls >= 1  # again every RECANCEL_SECONDS while a node still runs
    assert fake.ran == {"a_slow", "b"}
    assert statuses(summary) == {
        "a_slow": ERROR,
        "b": SUCCESS,
        "c": SKIPPED,
        "d": SKIPPED,
        "e": SKIPPED,
    }
    assert summary.results["model.d"].message == "skipped: interrupted"
    assert recorder.events[-1] == ("finish", summary)


def test_a_statement_started_after_ctrl_c_is_cancelled_too(monkeypatch) -> None:
    # Ctrl-C while the node is still setting up: there is nothing to cancel yet, and the
    # statement it then starts must be cancelled as well, not run to its end.
    started = threading.Event()
    cancelled_after_start = threading.Event()
    monkeypatch.setattr(execute_module, "RECANCEL_SECONDS", 0.05, raising=False)

    def interrupt() -> None:
        if started.is_set():
            cancelled_after_start.set()

    def action(node: Node) -> NodeResult | None:
        time.sleep(0.3)  # setting up (compiling, opening the cursor) when Ctrl-C comes
        started.set()  # the statement runs from here until it is cancelled
        if not cancelled_after_start.wait(5):
            return NodeResult(node.unique_id, SUCCESS, message="ran to its end: not cancelled")
        return NodeResult(node.unique_id, ERROR, message="INTERRUPT Error: cancelled")

    real_wait = execute_module.wait
    waits = 0

    def wait_then_ctrl_c(fs: Any, timeout: float | None = None, return_when: str = "") -> Any:
        nonlocal waits
        waits += 1
        if waits == 1:
            raise KeyboardInterrupt  # at once: the node has not started its statement
        return real_wait(fs, timeout=timeout, return_when=return_when)

    monkeypatch.setattr(execute_module, "wait", wait_then_ctrl_c)
    graph = make_graph({"only": []})
    began = time.perf_counter()
    summary = run(graph, FakeRun(action=action), threads=1, interrupt=interrupt)
    assert summary.interrupted and cancelled_after_start.is_set()
    assert summary.results["model.only"].status == ERROR
    assert time.perf_counter() - began < 3


@pytest.fixture
def sigint_raises_keyboard_interrupt() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_raises_keyboard_interrupt")
def test_a_real_sigint_interrupts_the_run() -> None:
    cancelled = threading.Event()

    def action(node: Node) -> NodeResult | None:
        if node.name == "a_slow":
            time.sleep(0.2)  # the scheduler is blocked waiting by now
            # Like Ctrl-C on a terminal: SIGINT to the main thread, which is in wait().
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            assert cancelled.wait(5)
        return None

    summary = run(_interrupt_graph(), FakeRun(action=action), threads=1, interrupt=cancelled.set)
    assert summary.interrupted and cancelled.is_set()
    assert statuses(summary) == {
        "a_slow": SUCCESS,  # finished after the interrupt: its result is kept
        "b": SKIPPED,
        "c": SKIPPED,
        "d": SKIPPED,
        "e": SKIPPED,
    }


# ---------------------------------------------------------------- sessions and selection


def test_each_worker_thread_gets_one_session_of_its_own() -> None:
    graph = make_graph({f"m{i:02d}": [] for i in range(30)})
    lock = threading.Lock()
    created: list[tuple[int, object]] = []

    def new_session() -> object:
        session = object()
        with lock:
            created.append((threading.get_ident(), session))
        return session

    fake = FakeRun(sleep=0.002)
    summary = execute(
        graph, graph.nodes, fake, threads=3, new_session=new_session, reporter=Reporter()
    )
    assert len(summary.results) == 30
    threads_that_ran = {ident for ident, _ in fake.sessions}
    assert len(created) == len(threads_that_ran) <= 3
    owner = {id(session): ident for ident, session in created}
    assert len(owner) == len(created)  # no session is shared between threads
    for ident, session in fake.sessions:
        assert owner[id(session)] == ident


def test_nodes_outside_the_selection_do_not_run_and_do_not_block() -> None:
    graph = make_graph({"a": [], "b": ["a"], "c": ["b"], "x": ["a"], "other": []})
    fake = FakeRun()
    summary = run(graph, fake, selected=ids("b", "c", "x"), threads=2)
    assert fake.ran == {"b", "c", "x"}
    assert statuses(summary) == {"b": SUCCESS, "c": SUCCESS, "x": SUCCESS}
    position = {entry: i for i, entry in enumerate(fake.log)}
    assert position[("end", "b")] < position[("start", "c")]


def test_a_failure_does_not_skip_through_an_unselected_node() -> None:
    # a -> mid -> c with mid not selected: mid counts as built, so c still runs.
    graph = make_graph({"a": [], "mid": ["a"], "c": ["mid"]})
    summary = run(graph, FakeRun(fail={"a"}), selected=ids("a", "c"), threads=1)
    assert statuses(summary) == {"a": ERROR, "c": SUCCESS}


def test_reporter_sees_every_event_on_the_scheduling_thread() -> None:
    graph = make_graph(DIAMOND)
    recorder = Recorder()
    run(graph, FakeRun(fail={"stg_orders"}, sleep=0.001), threads=4, reporter=recorder)
    assert recorder.threads == {threading.current_thread().name}
    kinds = [event for event, _ in recorder.events]
    assert kinds[0] == "start" and recorder.events[0][1] == (7, 4)
    assert kinds[-1] == "finish"
    assert kinds.count("node_finished") == 7
    assert kinds.count("node_started") == 3  # the other four were skipped


def test_summary_helpers() -> None:
    graph = make_graph({"fast": [], "slow": [], "mid": [], "bad": [], "after": ["bad"]})
    times = {"fast": 0.1, "slow": 3.0, "mid": 1.0, "bad": 0.5}

    def action(node: Node) -> NodeResult | None:
        status = ERROR if node.name == "bad" else SUCCESS
        return NodeResult(node.unique_id, status, execution_time=times[node.name])

    summary = run(graph, FakeRun(action=action), threads=1)
    assert [r.unique_id for r in summary.slowest(3)] == ids_in_order("slow", "mid", "bad")
    assert summary.counts == {SUCCESS: 3, WARN: 0, ERROR: 1, SKIPPED: 1}
    assert summary.failed
    assert summary.elapsed > 0
    # Completion order: with one thread, the order the nodes ran (skips when decided).
    assert list(summary.results) == ids_in_order("bad", "after", "fast", "mid", "slow")


def ids_in_order(*names: str) -> list[str]:
    return [f"model.{n}" for n in names]


def test_empty_selection_and_bad_arguments() -> None:
    graph = make_graph(DIAMOND)
    recorder = Recorder()
    summary = run(graph, FakeRun(), selected=[], reporter=recorder)
    assert summary.results == {} and not summary.failed
    assert [e for e, _ in recorder.events] == ["start", "finish"]
    with pytest.raises(ValueError, match=r"model\.nope"):
        run(graph, FakeRun(), selected=["model.nope"])
    with pytest.raises(ValueError, match="threads"):
        run(graph, FakeRun(), threads=0)
