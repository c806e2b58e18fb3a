"""The scheduler: a thread pool walking the DAG in dependency order.

Fail closed: a node runs only when every selected parent succeeded; a failure skips
everything downstream of it (within the selection) while independent branches go on.
The reporter is called from the scheduling (main) thread only, so it needs no locks.
"""

from __future__ import annotations

import contextlib
import graphlib
import heapq
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import RunnerError
from .results import ERROR, SKIPPED, SUCCESS, WARN, NodeResult

if TYPE_CHECKING:
    from .graph import Graph
    from .nodes import Node
    from .reporting import Reporter

STATUSES = (SUCCESS, WARN, ERROR, SKIPPED)
RECANCEL_SECONDS = 0.25  # after Ctrl-C, how often statements started since are cancelled


def count_statuses(results: Iterable[NodeResult]) -> dict[str, int]:
    """Number of results per status; every known status is present, unknown ones added."""
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


@dataclass
class ExecutionSummary:
    """What one ``execute`` call did. ``results`` is keyed by unique id, in completion order."""

    results: dict[str, NodeResult] = field(default_factory=dict)
    elapsed: float = 0.0  # wall-clock seconds for the whole run
    interrupted: bool = False  # Ctrl-C stopped the run (the CLI exits 130)
    threads: int = 1
    # how expectations ran: validator, GX import seconds and how long the build waited
    quality: dict[str, Any] | None = None
    publish: Any = None  # publish.PublishReport, when the build published
    publish_error: Any = None  # publish.PublishError, when publishing failed
    publish_skipped: str | None = None  # why the build left the serving file as it was
    freshness: list[Any] | None = None  # freshness.Result of each source with a rule
    stale_sources: tuple[str, ...] = ()  # sources past error_after: nothing published
    hook_error: Any = None  # RunnerError, when on-run-end failed

    @property
    def counts(self) -> dict[str, int]:
        return count_statuses(self.results.values())

    @property
    def failed(self) -> bool:
        return any(r.status == ERROR for r in self.results.values())

    @property
    def errors(self) -> list[NodeResult]:
        return [r for r in self.results.values() if r.status == ERROR]

    def slowest(self, n: int = 5) -> list[NodeResult]:
        """The ``n`` nodes that ran longest (skipped nodes never count), slowest first."""
        ran = [r for r in self.results.values() if r.status != SKIPPED]
        return sorted(ran, key=lambda r: (-r.execution_time, r.unique_id))[:n]


def execute(
    graph: Graph,
    selected: Iterable[str],
    run_node: Callable[[Node, Any], NodeResult],
    *,
    threads: int,
    new_session: Callable[[], Any],
    reporter: Reporter,
    fail_fast: bool = False,
    interrupt: Callable[[], None] | None = None,
) -> ExecutionSummary:
    """Run ``run_node`` on every selected node, parents before children, ``threads`` at a time.

    Parents outside ``selected`` count as already built. ``new_session`` is called once
    per worker thread, lazily, and its result passed to every node that thread runs; the
    session is dropped with the thread when the pool shuts down (before this returns).
    ``interrupt`` is called on Ctrl-C to cancel running statements; running nodes then
    finish, the rest are skipped and ``summary.interrupted`` is set.
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    sel = set(selected)
    unknown = sel - graph.nodes.keys()
    if unknown:
        raise ValueError(f"selected ids not in the graph: {sorted(unknown)}")
    return _Scheduler(
        graph, sel, run_node, threads, new_session, reporter, fail_fast, interrupt
    ).run()


class _Scheduler:
    def __init__(
        self,
        graph: Graph,
        selected: set[str],
        run_node: Callable[[Node, Any], NodeResult],
        threads: int,
        new_session: Callable[[], Any],
        reporter: Reporter,
        fail_fast: bool,
        interrupt: Callable[[], None] | None,
    ) -> None:
        self.graph = graph
        self.selected = selected
        self.run_node = run_node
        self.threads = threads
        self.new_session = new_session
        self.reporter = reporter
        self.fail_fast = fail_fast
        self.interrupt = interrupt
        self.summary = ExecutionSummary(threads=threads)
        self.results = self.summary.results
        # Threads start lazily, on submit; a thread is only created when none is idle.
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="runner")
        self.local = threading.local()  # per worker thread: its session
        # Only edges inside the selection: a parent outside it counts as done.
        self.sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(
            {uid: [p for p in graph.parents.get(uid, ()) if p in selected] for uid in selected}
        )
        self.ready: list[str] = []  # heap: among ready nodes the smallest unique id goes first
        self.running: dict[Future[NodeResult], Node] = {}
        self.stop_reason: str | None = None  # set once nothing new may start

    # ---------------------------------------------------------------- main thread

    def run(self) -> ExecutionSummary:
        self.sorter.prepare()
        t0 = time.perf_counter()
        self.reporter.start(len(self.selected), threads=self.threads)
        clean = False
        try:
            try:
                self._push_ready()
                self._loop()
            except KeyboardInterrupt:
                self._on_interrupt()
            clean = True
        finally:
            # After a clean run every future is done, so waiting only joins idle threads
            # (dropping their sessions). On a second Ctrl-C, do not block on a hung node.
            self.pool.shutdown(wait=clean, cancel_futures=True)
            self._skip_rest()
            self.summary.elapsed = time.perf_counter() - t0
            self.reporter.finish(self.summary)
        return self.summary

    def _loop(self) -> None:
        submit = self.pool.submit
        work = self._work
        while True:
            # At most `threads` in flight, so node_started means "started", not "queued".
            while self.ready and self.stop_reason is None and len(self.running) < self.threads:
                node = self.graph.nodes[heapq.heappop(self.ready)]
                self.reporter.node_started(node)
                self.running[submit(work, node)] = node
            if not self.running:
                return
            self._collect(wait(self.running, return_when=FIRST_COMPLETED)[0])

    def _collect(self, done: set[Future[NodeResult]]) -> None:
        for fut in sorted(done, key=lambda f: self.running[f].unique_id):
            node = self.running.pop(fut)
            self._record(node, fut.result())  # never raises: _work catches everything

    def _on_interrupt(self) -> None:
        self.summary.interrupted = True
        self.stop_reason = "skipped: interrupted"
        if self.interrupt is not None:
            # Cancelling is best effort: the running nodes still finish on their own.
            with contextlib.suppress(Exception):
                self.interrupt()
        # Let running nodes finish (their statements were just cancelled) and record them.
        # A node that was still setting up had no statement to cancel yet and starts one
        # after this: cancel again until every running node has finished. A second Ctrl-C
        # here propagates: the user insists.
        while self.running:
            done = wait(self.running, timeout=RECANCEL_SECONDS, return_when=FIRST_COMPLETED)[0]
            if done:
                self._collect(done)
            elif self.interrupt is not None:
                with contextlib.suppress(Exception):
                    self.interrupt()

    def _record(self, node: Node, result: NodeResult) -> None:
        uid = node.unique_id
        self.results[uid] = result
        self.reporter.node_finished(node, result)
        if result.ok:
            self.sorter.done(uid)
            self._push_ready()
            return
        # Not done: the sorter never releases its descendants; report them skipped now.
        verb = "failed" if result.status == ERROR else "was skipped"
        self._skip(
            self._selected_descendants(uid), f"skipped: upstream '{node.display_name}' {verb}"
        )
        if result.status == ERROR and self.fail_fast and self.stop_reason is None:
            self.stop_reason = f"skipped: fail-fast after '{node.display_name}' failed"

    def _push_ready(self) -> None:
        for uid in self.sorter.get_ready():
            heapq.heappush(self.ready, uid)

    def _selected_descendants(self, uid: str) -> list[str]:
        children = self.graph.children
        seen: set[str] = set()
        stack = [uid]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child in self.selected and child not in seen:
                    seen.add(child)
                    stack.append(child)
        return self.graph.topological_order(seen)

    def _skip(self, uids: Iterable[str], message: str) -> None:
        for uid in uids:
            if uid in self.results:  # already skipped because of another failed parent
                continue
            node = self.graph.nodes[uid]
            result = NodeResult(uid, SKIPPED, message=message, materialized=node.materialized)
            self.results[uid] = result
            self.reporter.node_finished(node, result)

    def _skip_rest(self) -> None:
        rest = set(self.selected) - self.results.keys()
        if rest:
            reason = self.stop_reason or "skipped: not run"
            self._skip(self.graph.topological_order(rest), reason)

    # ---------------------------------------------------------------- worker threads

    def _work(self, node: Node) -> NodeResult:
        started = time.time()
        t0 = time.perf_counter()
        try:
            session = getattr(self.local, "session", _NO_SESSION)
            if session is _NO_SESSION:
                session = self.new_session()
                self.local.session = session
            result = self.run_node(node, session)
            if not isinstance(result, NodeResult):
                raise TypeError(f"run_node returned {type(result).__name__}, not NodeResult")
        except BaseException as exc:  # in a worker: anything is the node's failure
            result = _error_result(node, exc)
        # Fill timing only where run_node left the defaults.
        if not result.started_at:
            result.started_at = started
        if not result.execution_time:
            result.execution_time = time.perf_counter() - t0
        return result


_NO_SESSION = object()


def _error_result(node: Node, exc: BaseException) -> NodeResult:
    if isinstance(exc, RunnerError):
        return NodeResult(
            node.unique_id,
            ERROR,
            message=exc.message,
            error=exc,
            materialized=node.materialized,
        )
    # Not a RunnerError: a bug or an unexpected failure. Point at the node's file and keep
    # the traceback for --debug.
    message = f"{type(exc).__name__}: {exc}"
    return NodeResult(
        node.unique_id,
        ERROR,
        message=message,
        error=RunnerError(message, path=node.path),
        materialized=node.materialized,
        extra={"traceback": "".join(traceback.format_exception(exc))},
    )
