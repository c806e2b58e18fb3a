"""A build from start to end: select, compile, load seeds and sources, run models, record.

Seeds and sources go first, so a source that breaks the landing contract (a
missing file or column) stops the build before any model runs; then the models,
in dependency order on a thread pool. Everything each node did is returned as a
``NodeResult`` and written to target/run_results.json.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from . import build_checks, redaction
from .compiler import Compilation, compile_models
from .engines.base import BAD_VALUE, INTERRUPTED, MALFORMED_CSV, Engine, Explanation, Session
from .errors import ErrorGroup, NodeError, RunnerError, first_line
from .fingerprints import IncrementalInputs
from .hooks import RUN_HOOK_COMMANDS, model_hooks, run_hooks
from .materialize import database_error, is_incremental_run, materialize
from .nodes import Model, Node, Seed, Source, declared_grain
from .parser import Project
from .results import ERROR, SKIPPED, SUCCESS, WARN, NodeResult
from .text import counted

RESOURCE_TYPES_BY_COMMAND = {
    "build": frozenset({"seed", "source", "model", "snapshot"}),
    "run": frozenset({"source", "model"}),
    "seed": frozenset({"seed"}),
    "snapshot": frozenset({"source", "snapshot"}),
    "test": frozenset({"seed", "source", "model", "snapshot"}),
}
COMMANDS_WITH_EXPECTATIONS = frozenset({"build", "test"})


@dataclass(frozen=True)
class BuildOptions:
    """What the command line asked for."""

    command: str = "build"
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    state: Path | None = None
    full_refresh: bool = False
    fail_fast: bool = False
    threads: int | None = None
    log_format: str = "auto"
    warn_error: bool = False  # expectation warnings fail their node
    store_failures: bool = False  # failing rows of each failed expectation to an audit table
    validator: str | None = None  # gx or sql; None: the project's setting
    docs: bool = False  # write GX Data Docs of the expectation results to target/data_docs
    no_publish: bool = False  # build: leave the serving file alone
    only: tuple[str, ...] | None = None  # exactly these unique ids (runner retry)
    retries: int = 0  # run a node again up to this many times after a transient error
    retry_delay: float = 1.0  # seconds before the first retry, doubling after each
    now: str | None = None  # build: "now" for source freshness (ISO; None: the clock)


def exit_code(summary: Any) -> int:
    """0 all good, 1 a node failed (or publishing did), 130 interrupted (Ctrl-C)."""
    if summary.interrupted:
        return 130
    if getattr(summary, "publish_error", None) is not None and not summary.failed:
        return 1
    if getattr(summary, "stale_sources", ()) and not summary.failed:
        return 1  # built, but not published: a source is stale past error_after
    if getattr(summary, "hook_error", None) is not None:
        return 1
    codes = [r.error.exit_code for r in summary.results.values() if r.status == ERROR and r.error]
    if not summary.failed:
        return 0
    # A broken landing contract (missing source file or column) is a project error: 2.
    return 2 if codes and all(code == 2 for code in codes) else 1


def select_for(project: Project, options: BuildOptions) -> set[str]:
    """The nodes this command runs: the selection, limited to the command's resource types."""
    from .selection import select_nodes

    kinds = RESOURCE_TYPES_BY_COMMAND[options.command]
    if options.only is not None:
        nodes = project.graph.nodes
        return {uid for uid in options.only if uid in nodes and nodes[uid].resource_type in kinds}
    state_manifest = results = None
    if options.state is not None:
        from .artifacts import load_state

        state_manifest = load_state(options.state)
        results = _previous_results(options.state)
    chosen = select_nodes(
        project.graph,
        list(options.select),
        list(options.exclude),
        state=state_manifest,
        macros=project.macros,
        results=results,
    )
    return {uid for uid in chosen if project.graph.nodes[uid].resource_type in kinds}


def _previous_results(state_dir: Path) -> dict[str, str] | None:
    if not (state_dir / "run_results.json").is_file():
        return None
    from .run_results import load_run_results

    return load_run_results(state_dir)


def run_build(project: Project, options: BuildOptions, engine: Engine) -> tuple[Any, Compilation]:
    """Run the selected nodes on ``engine``; a failing node never raises. Returns one
    ``ExecutionSummary`` for the whole build, and the compiled models."""
    from .execute import ExecutionSummary, execute
    from .reporting import make_reporter

    started = time.perf_counter()
    selected = select_for(project, options)
    graph = project.graph
    full_refresh = options.full_refresh
    engine.sql_cache = project.cache
    kind = options.validator or project.settings.validator
    if options.command in COMMANDS_WITH_EXPECTATIONS and kind == "gx":
        build_checks.start_gx_import_if_declared(project, selected)
    probe = engine.session()
    if options.command in ("build", "run"):
        # a source database still locked by its loader is as transient here as in its node
        retry_transient(
            lambda: _check_sources(project, selected, probe),
            options.retries,
            options.retry_delay,
            engine.transient_error,
            _warn_retry,
        )
    models = {uid for uid in selected if isinstance(graph.nodes[uid], Model)}
    inputs = (
        IncrementalInputs.check(project, models, probe, engine, full_refresh)
        if options.command in ("build", "run")
        else IncrementalInputs()
    )
    compilation = compile_models(
        project,
        models,
        is_incremental=lambda m: (
            is_incremental_run(probe.relation_kind(m.relation), m, full_refresh)
            and m.unique_id not in inputs.changed
        ),
    )
    threads = options.threads or project.target.threads
    checks = (
        build_checks.expectations_for(project, selected, compilation, kind)
        if options.command in COMMANDS_WITH_EXPECTATIONS
        else {}
    )
    if options.command == "build" and not options.select:
        selected = _without_unread_seeds(project, selected, checks)
        checks = {uid: found for uid, found in checks.items() if uid in selected}
    checks, deferred = build_checks.defer_downstream(project, checks)
    build_checks.refuse_gx_entries(engine, checks, deferred)
    validator = build_checks.make_validator(project, engine, kind) if checks or deferred else None
    audits, audited = _audits(project, engine, selected, options)
    runner = _NodeRunner(project, compilation, options, checks, validator, audits, audited)
    runner.inputs = inputs
    if options.command == "build" and not full_refresh:
        from .landing import SourceChecks

        runner.source_checks = SourceChecks.of(
            project.graph, checks, engine, source_locations_of(project), project.settings.root
        )
    runner.selected = selected
    runner.transient_error = engine.transient_error
    python_models = [
        n for uid in sorted(selected) if getattr(n := graph.nodes[uid], "language", "") == "python"
    ]
    if python_models and options.command in ("build", "run"):
        from .python_models import ModuleLoader

        runner.python_modules = ModuleLoader(project.settings.root, python_models)
    schedule = build_checks.schedule_with_checks(project, checks)
    reporter = make_reporter(options.log_format)
    total = ExecutionSummary(threads=threads)
    reporter.start(len(selected), threads=threads)
    phases = _Phases(reporter)
    hooks = options.command in RUN_HOOK_COMMANDS
    if hooks and project.settings.on_run_start:
        run_hooks(project, engine.session(), "on-run-start")
    # Seeds and sources first: the landing contract is checked before any model runs.
    first = {uid for uid in selected if isinstance(graph.nodes[uid], Seed | Source)}
    for phase in (first, selected - first):
        blocked = _downstream_of_failures(project, total.results, phase)
        for uid, message in sorted(blocked.items()):
            result = NodeResult(uid, SKIPPED, message=message)
            total.results[uid] = result
            reporter.node_finished(graph.nodes[uid], result)
        runnable = phase - set(blocked)
        if not runnable:
            continue
        summary = execute(
            schedule,
            runnable,
            runner.run,
            threads=threads,
            new_session=engine.session,
            reporter=phases,
            fail_fast=options.fail_fast,
            interrupt=runner.interrupt(engine),
        )
        total.results.update(summary.results)
        if summary.interrupted or (options.fail_fast and summary.failed):
            total.interrupted = summary.interrupted
            for uid in sorted(selected - set(total.results)):
                why = "interrupted" if summary.interrupted else "fail-fast: an earlier node failed"
                result = NodeResult(uid, SKIPPED, message=f"skipped: {why}")
                total.results[uid] = result
                reporter.node_finished(graph.nodes[uid], result)
            break
    if deferred and not total.interrupted:
        _run_deferred_checks(project, runner, total, deferred, reporter, engine.session())
    if hooks and project.settings.on_run_end and not total.interrupted:
        try:
            run_hooks(project, engine.session(), "on-run-end")
        except RunnerError as exc:
            total.hook_error = exc
    if audits is not None:
        for uid in sorted(audited):
            result = total.results.get(uid)
            if result is not None and result.status == SKIPPED:
                # publish words it "skipped: <why>": record only the why. If it cannot be
                # written (a full disk), the audit stays as it was, which still describes
                # the relation: a skipped node was not touched.
                with contextlib.suppress(Exception):
                    audits.record(uid, SKIPPED, result.message.removeprefix("skipped: "))
        audits.close()
    if runner.python_modules is not None:
        runner.python_modules.close()
    inputs.close()
    if project.cache is not None:
        project.cache.save()  # the statements built this run (engine.sql_cache)
    if validator is not None:
        validator.close()
        total.quality = build_checks.timings(kind, validator)
        if total.quality.get("gx_import_s") is not None:
            waited = max(total.quality["gx_import_wait_s"], runner.gx_waited)
            total.quality["gx_import_wait_s"] = round(waited, 4)
        if options.docs:
            from .quality.data_docs import write_data_docs

            folder = project.settings.target_dir / "data_docs"
            try:
                index = write_data_docs(folder, runner.checked, run_name=options.command)
                redaction.redact_files(folder)  # GX wrote them: secrets out afterwards
                total.quality["data_docs"] = str(index)
            except Exception as exc:  # the results stand; only the pages are missing
                from .console import print_warning

                print_warning(
                    RunnerError(
                        f"could not write the Data Docs to {folder}: {exc}",
                        hint="the expectation results above and in run_results.json stand",
                    )
                )
    if options.command == "build" and not total.interrupted:
        _check_freshness(project, engine, selected, options, total)
    if audited and options.command == "build" and not (options.no_publish or total.interrupted):
        if total.stale_sources:
            total.publish_skipped = (
                f"Nothing published: source(s) {', '.join(total.stale_sources)} stale past "
                f"error_after (see target/sources.json); the serving file is unchanged"
            )
        else:
            _publish(project, engine, total, audited)
    if options.command != "test":
        _checkpoint(project, engine)
    total.elapsed = time.perf_counter() - started
    reporter.finish(total)
    return total, compilation


def _checkpoint(project: Project, engine: Engine) -> None:
    """Fold the write-ahead log into the working database at the end of a build, so a WAL
    left by a build that hit a full disk does not refill the disk on the next ones."""
    try:
        engine.checkpoint()
    except Exception as exc:  # the build's results stand; only the WAL stays
        from .console import print_warning

        print_warning(
            RunnerError(
                f"could not checkpoint the working database: {first_line(exc)}",
                path=project.target.profiles_path,
                hint=engine.explain(exc).hint
                or "its changes are safe in the write-ahead log (.wal beside it); the next "
                "build checkpoints it, or run CHECKPOINT in a duckdb client",
            )
        )


def _without_unread_seeds(
    project: Project, selected: set[str], checks: dict[str, list[Any]]
) -> set[str]:
    """A whole-project build loads a seed only when a selected node reads it (a model, a
    source `from: seeds`, or an expectation): the demo seeds stay out of a warehouse whose
    sources read other files. (`runner seed`, or selecting a seed by name, loads it.)"""
    graph = project.graph
    by_name = build_checks.node_names(project)
    checked = {
        by_name.get(name)
        for uid, expectations in checks.items()
        if not isinstance(graph.nodes[uid], Seed)
        for expectation in expectations
        for name in expectation.references
    }
    return {
        uid
        for uid in selected
        if not isinstance(graph.nodes[uid], Seed)
        or graph.children.get(uid, set()) & selected
        or uid in checked
    }


def retry_transient(
    work: Callable[[], Any],
    retries: int,
    delay: float,
    transient: Callable[[BaseException], str | None],
    on_retry: Callable[[dict[str, Any]], None],
) -> Any:
    """``work()``, called again up to ``retries`` times after an exception ``transient``
    names a reason for, waiting ``delay`` seconds, then twice as long each time; each retry
    is told to ``on_retry``. A RunnerError (the runner's own verdict) is never retried."""
    attempt = 1
    while True:
        try:
            return work()
        except RunnerError:
            raise
        except Exception as exc:
            why = transient(exc) if attempt <= retries else None
            if why is None:
                raise
            wait = delay * 2 ** (attempt - 1)
            on_retry({"attempt": attempt, "reason": why, "error": first_line(exc), "wait_s": wait})
            time.sleep(wait)
            attempt += 1


def _warn_retry(retry: dict[str, Any]) -> None:
    from .console import print_warning

    print_warning(
        RunnerError(
            f"checking the sources: {retry['error']}",
            hint=f"{retry['reason']}: trying again in {retry['wait_s']:g} s "
            f"(retry {retry['attempt']})",
        )
    )


def _check_sources(project: Project, selected: set[str], session: Session) -> None:
    """The landing contract of every selected source, before anything runs (before the
    seeds load): a missing file or folder, an empty file, a duplicated, missing or renamed
    header column is a project error that stops the build with nothing run or published."""
    from .sources import check_sources

    graph = project.graph
    sources = [graph.nodes[uid] for uid in sorted(selected)]
    sources = [node for node in sources if isinstance(node, Source)]
    if not sources:
        return
    seeds = {node.name: node for node in graph if isinstance(node, Seed)}
    problems = check_sources(
        session,
        sources,
        source_locations_of(project),
        project.settings.root,
        seeds,
        dbt_project=project.settings.is_dbt,
    )
    if problems:
        raise problems[0] if len(problems) == 1 else ErrorGroup(list(problems))


def source_locations_of(project: Project) -> Any:
    """Where each source of the project is read from (profiles.yml, then --vars)."""
    from .sources import source_locations

    target = project.target
    return source_locations(
        target, project.vars, project.settings.root, profiles_path=target.profiles_path
    )


def _check_freshness(
    project: Project, engine: Engine, selected: set[str], options: BuildOptions, total: Any
) -> None:
    """Source freshness of the sources this build read (their views are built by now),
    written to target/sources.json; a source past error_after stops publishing."""
    from . import freshness

    now = freshness.parse_now(options.now)
    clock = time.perf_counter()
    results = freshness.check_sources(project, engine, selected, now, create=False)
    if not results:
        return
    total.freshness = results
    total.stale_sources = tuple(r.name for r in freshness.stale(results))
    data = freshness.sources_json(results, time.perf_counter() - clock, {"command": "build"})
    freshness.write_sources_json(project.settings.target_dir, data)


def _run_deferred_checks(
    project: Project,
    runner: Any,
    total: Any,
    deferred: dict[str, list[Any]],
    reporter: Any,
    session: Session,
) -> None:
    """Checks that read a node built downstream of their own, run now that both are built:
    their results join their node's (a failure fails it, as a test failure does in dbt)."""
    from dataclasses import replace

    by_name = build_checks.node_names(project)
    for uid, expectations in sorted(deferred.items()):
        result = total.results.get(uid)
        reads = {by_name.get(n) for e in expectations for n in e.references} - {None}
        if result is None or not result.ok:
            continue
        if any(not total.results.get(other, result).ok for other in reads):
            continue  # what it reads was not built: nothing to check against
        runner.checks[uid] = expectations
        extra: dict[str, Any] = {}
        node = project.graph.nodes[uid]
        status, message, error = runner._check(node, session, result.message, extra)
        merged = dict(result.extra)
        for key in ("expectations", "expectation_lines"):
            merged[key] = [*result.extra.get(key, []), *extra.get(key, [])]
        if result.status == WARN and status == SUCCESS:
            status = WARN
        total.results[uid] = replace(
            result, status=status, message=message, error=error, extra=merged
        )
        if status != SUCCESS:
            reporter.node_finished(node, total.results[uid])


def _audits(
    project: Project, engine: Engine, selected: set[str], options: BuildOptions
) -> tuple[Any, set[str]]:
    """The audit log of the published models this command touches (None without a
    serving file): what `runner publish` may take from the working database."""
    from . import publish

    if options.command not in ("build", "run", "test") or not publish.publishes(project):
        return None, set()
    audited = publish.audited_ids(project, selected)
    if not audited:
        return None, set()
    try:
        return publish.AuditLog(engine), audited
    except Exception as exc:  # the working database cannot be written (a full disk, ...)
        raise NodeError(
            f"cannot write the audit log in the working database: {first_line(exc)}",
            path=project.target.profiles_path,
            hint=engine.explain(exc).hint or "check the target's path in profiles.yml",
        ) from None


def _publish(project: Project, engine: Engine, total: Any, audited: set[str]) -> None:
    """Publish what passed. When none of the published models passed in this build there
    is nothing new to serve, and the serving file is left byte for byte as it was."""
    from . import publish

    path = publish.serve_path(project)
    if not any(total.results[uid].ok for uid in audited if uid in total.results):
        where = f"the serving file {path}" if path else "what is served"
        total.publish_skipped = (
            f"Nothing published: no published model passed in this build; {where} is unchanged"
        )
        return
    try:
        total.publish = publish.publish(
            project, engine, path, held=_held_back(project, total.results)
        )
    except publish.PublishError as exc:
        total.publish_error = exc


def _held_back(project: Project, results: dict[str, NodeResult]) -> dict[str, str]:
    """Published models with a node upstream of them that failed or was skipped in this
    build: whatever their own audit says (a model outside the selection keeps its old
    audit; a view reads its inputs live), their served version stays."""
    from . import publish

    graph = project.graph
    not_ok = {uid for uid, r in results.items() if r.status in (ERROR, SKIPPED)}
    held: dict[str, str] = {}
    for model in publish.published_models(project):
        upstream = sorted(graph.ancestors(model.unique_id) & not_ok)
        failed = [uid for uid in upstream if results[uid].status == ERROR] or upstream
        if failed:
            name = graph.nodes[failed[0]].display_name
            verb = "failed" if results[failed[0]].status == ERROR else "was skipped"
            held[model.unique_id] = f"upstream '{name}' {verb} in this build"
    return held


class _Phases:
    """Passes node events through to the build's reporter, but not each phase's start and
    finish: the build starts and finishes the display once, with the totals."""

    def __init__(self, reporter: Any) -> None:
        self.reporter = reporter

    def start(self, total_nodes: int, *, threads: int = 1) -> None:
        pass

    def node_started(self, node: Node) -> None:
        self.reporter.node_started(node)

    def node_finished(self, node: Node, result: NodeResult) -> None:
        self.reporter.node_finished(node, result)

    def finish(self, summary: Any) -> None:
        pass


def _downstream_of_failures(
    project: Project, results: dict[str, NodeResult], phase: Iterable[str]
) -> dict[str, str]:
    """Nodes of this phase that read (directly or not) a node that failed earlier."""
    graph = project.graph
    failed = [uid for uid, r in results.items() if r.status in (ERROR, SKIPPED)]
    blocked: dict[str, str] = {}
    phase = set(phase)
    for uid in failed:
        for child in graph.descendants(uid) & phase:
            name = graph.nodes[uid].display_name
            blocked.setdefault(child, f"skipped: upstream '{name}' failed")
    return blocked


class _NodeRunner:
    """Does the work of one node on a worker's session."""

    def __init__(
        self,
        project: Project,
        compilation: Compilation,
        options: BuildOptions,
        checks: dict[str, list[Any]],
        validator: Any,
        audits: Any = None,
        audited: set[str] | None = None,
    ) -> None:
        self.project = project
        self.audits = audits  # publish.AuditLog, for the published models in `audited`
        self.audited = audited or set()
        self.compilation = compilation
        self.options = options
        self.full_refresh = options.full_refresh
        self.checks = checks
        self.validator = validator
        self.root = project.settings.root
        self.as_of = build_checks.ChecksAsOf(project, options.command)
        self.checked: list[Any] = []  # quality.data_docs.CheckedNode, for --docs
        self.python_modules: Any = None  # python_models.ModuleLoader, when any will run
        self.inputs = IncrementalInputs()  # what the incremental tables were built from
        self.selected: set[str] = set()  # what this command runs
        self.kind = options.validator or project.settings.validator  # gx or sql
        self.gx_waited = 0.0  # the longest a node waited for GX's import
        self.transient_error: Any = lambda exc: None  # the engine's classification
        # what the sources' checks read: the landing files they have not read yet
        self.source_checks: Any = None  # landing.SourceChecks

    def interrupt(self, engine: Engine) -> Any:
        def both() -> None:
            engine.interrupt()
            if self.validator is not None:
                self.validator.interrupt()

        return both

    def run(self, node: Node, session: Session) -> NodeResult:
        started_at = time.time()
        clock = time.perf_counter()
        statements = session.statements
        statements.clear()
        extra: dict[str, Any] = {}
        waited = 0.0  # for Great Expectations' import: the build's cost, not this node's
        audited = node.unique_id in self.audited
        try:
            if audited and self.options.command != "test":
                # Before anything changes: a crash from here on leaves it unpublishable
                # (and if even this cannot be written, e.g. a full disk, it is not built).
                self.audits.record(node.unique_id, "building")
            rows, message = self._work_with_retries(node, session, extra)
            changed = extra.pop("changed_rows", None)
            status, error = SUCCESS, None
            if node.unique_id in self.checks:
                waited = self._wait_for_gx(node)
                key = self.source_checks and self.source_checks.keys.get(node.unique_id)
                if key:
                    changed, read = self.source_checks.landing.checked_rows(key, session)
                    if changed is not None:  # else they read every row, as always
                        message = f"{message}; checks read {read}"
                status, message, error = self._check(node, session, message, extra, changed)
                if key and status != ERROR:
                    self.source_checks.landing.record_key(key)
            if status != ERROR:
                self.as_of.built(node.unique_id, session)
        except RunnerError as exc:
            rows, message, status, error = None, exc.message, ERROR, exc
        except Exception as exc:  # the database refused: locate it in the model
            error = self._database_error(node, session.explain(exc))
            rows, message, status = None, error.message, ERROR
        if audited:
            try:
                if self.options.command == "run" and status != ERROR:
                    # built, but `runner run` checks no expectations: not publishable yet
                    self.audits.record(node.unique_id, "unaudited", "built by `runner run`")
                else:
                    # the serving file shows this message to its readers: no secrets
                    why = redaction.text(message) if status == ERROR else ""
                    self.audits.record(node.unique_id, status, why)
            except Exception as exc:  # e.g. a full disk: it stays "building", unpublishable
                if status != ERROR:
                    error = NodeError(
                        f"built, but its audit could not be recorded, so it is not "
                        f"published: {first_line(exc)}",
                        path=node.path,
                        hint=session.explain(exc).hint,
                    )
                    status, message = ERROR, error.message
        return NodeResult(
            unique_id=node.unique_id,
            status=status,
            started_at=started_at,
            execution_time=time.perf_counter() - clock - waited,
            rows_affected=rows,
            sql=list(statements),
            message=message,
            error=error,
            materialized=node.materialized,
            extra=extra,
        )

    def _check(
        self,
        node: Node,
        session: Session,
        message: str,
        extra: dict[str, Any],
        changed: str | None = None,
    ) -> tuple[str, str, RunnerError | None]:
        """Run the node's expectations; an error-severity failure fails the node. When a
        check could not run because the node's own data cannot be read, that read error
        is the node's error: it is not a data-quality result. ``changed``: the rows an
        incremental run wrote, which the checks judging rows one by one read instead of
        the whole table (quality/changed.py)."""
        from . import quality

        expectations, skipped = self._runnable_checks(node, session)
        extra["expectation_lines"] = list(skipped)
        if not expectations:
            return SUCCESS, f"{message}; {len(skipped)} expectations skipped", None
        as_of = self.as_of.for_node(node.unique_id, session)
        results = self.validator.validate(
            node.unique_id,
            node.relation.render(),
            expectations,
            as_of=as_of,
            store_failures=self.options.store_failures,
            changed=changed,
        )
        if any(r.status == "error" for r in results) and node.materialized != "ephemeral":
            unreadable = self._read_error(node, session)
            if unreadable is not None:
                return ERROR, unreadable.message, unreadable
        if self.options.docs:
            from .quality.data_docs import CheckedNode

            self.checked.append(
                CheckedNode(
                    node.unique_id,
                    node.relation.render(),
                    tuple(results),
                    as_of,
                    self.validator.resolve,
                )
            )
        layer = build_checks.layer(node)
        extra["expectations"] = [{**r.to_json(), "layer": layer} for r in results]
        extra["expectation_lines"] += [
            quality.format_result(node.display_name, r) for r in results if r.status != "pass"
        ]
        status, verdict_message = quality.verdict(results, self.options.warn_error)
        passed = sum(1 for r in results if r.status == "pass")
        summary = f"{message}; {passed}/{len(results)} expectations passed"
        if skipped:
            summary += f", {len(skipped)} skipped"
        if status == ERROR:
            failed = [r for r in results if r.status != "pass"]
            first = failed[0].expectation if failed else None
            return (
                ERROR,
                verdict_message,
                NodeError(
                    verdict_message,
                    path=(first.path if first and first.path else None)
                    or node.yaml_path
                    or node.path,
                    line=first.line if first and first.path else None,
                    hint="each failing check, with a sample of its rows, is listed under "
                    "'Expectations not passing' (and in run_results.json); --store-failures "
                    "keeps all the failing rows in audit.* tables",
                ),
            )
        if status == WARN:
            return WARN, f"{summary} ({verdict_message})", None
        return SUCCESS, summary, None

    def _work_with_retries(
        self, node: Node, session: Session, extra: dict[str, Any]
    ) -> tuple[int | None, str]:
        """``_work``, run again (up to ``--retries`` times, waiting 1 s, 2 s, 4 s, ... by
        default) after an error the engine calls transient. Each materialization runs in
        one transaction or replaces atomically, so a failed attempt left nothing behind."""
        return retry_transient(
            lambda: self._work(node, session, extra),
            self.options.retries,
            self.options.retry_delay,
            self.transient_error,
            extra.setdefault("retries", []).append,
        )

    def _work(self, node: Node, session: Session, extra: dict[str, Any]) -> tuple[int | None, str]:
        if self.options.command == "test":
            if node.resource_type == "snapshot" and node.unique_id not in self.checks:
                return None, "no tests"  # built by `runner snapshot`, not needed here
            if session.relation_kind(node.relation) is None and node.materialized != "ephemeral":
                raise NodeError(
                    f"'{node.display_name}' is not built in this target",
                    path=node.path,
                    hint=f"run: runner build --select {node.name}",
                )
            units = self._unit_tests(node, session)
            return None, f"tested, {units} unit tests passed" if units else "tested"
        if isinstance(node, Seed):
            from .seeds import load_seed

            rows = load_seed(session, node, self.root, dbt_types=self.project.settings.is_dbt)
            return rows, f"seed loaded, {counted(rows, 'row')}"
        if isinstance(node, Source):
            return self._source(node, session)
        assert isinstance(node, Model)
        if node.language == "python":
            return self._python(node, session)
        compiled = self.compilation.nodes.get(node.unique_id)
        rebuild = self.full_refresh or node.unique_id in self.inputs.changed
        if compiled is None and node.needs_execution:  # its SQL depends on the database
            from .compiler import compile_now

            incremental = is_incremental_run(session.relation_kind(node.relation), node, rebuild)
            compiled = compile_now(self.project, node, self.compilation, session.query, incremental)
        assert compiled is not None
        units = self._unit_tests(node, session)
        # is_incremental() in the model's hooks (asked of the database only if it has one)
        incremental = bool(node.config.get("pre_hook") or node.config.get("post_hook")) and (
            is_incremental_run(session.relation_kind(node.relation), node, rebuild)
        )
        model_hooks(self.project, node, session, "pre_hook", incremental=incremental)
        sql = compiled.target_sql or compiled.sql
        read = None
        if is_incremental_run(session.relation_kind(node.relation), node, rebuild):
            # the views new_source_rows() names: the files its last build did not read
            read = self.inputs.landing.create_views(node, session, set(compiled.reads))
        done = materialize(session, node, sql, full_refresh=rebuild)
        if done.changed is not None:
            extra["changed_rows"] = done.changed.render()
        model_hooks(self.project, node, session, "post_hook", incremental=incremental)
        self.inputs.record(node)
        self.inputs.landing.record(node)
        message = self.inputs.rebuilt(node, done.message)
        if read is not None:
            message = f"{message}; read {read}"
        message = f"{message}; {units} unit tests passed" if units else message
        return done.rows_affected, message

    def _unit_tests(self, node: Node, session: Session) -> int:
        if not isinstance(node, Model) or node.name not in self.project.unit_tests:
            return 0
        from .unit_tests import run_unit_tests

        return run_unit_tests(self.project, node, session)

    def _python(self, model: Model, session: Session) -> tuple[int | None, str]:
        """Run model(ctx) and put what it returned in place as a table."""
        from .compiler import resolved_relations
        from .python_models import ModelContext, run_python_model

        refs, sources = resolved_relations(self.project, model)

        def resolve_ref(name: str) -> Any:
            if name not in refs:
                raise KeyError(f"ctx.ref('{name}') was not found when the file was parsed")
            if not refs[name].schema:
                raise ValueError(f"'{name}' is ephemeral: a Python model can only read tables")
            return refs[name]

        def resolve_source(source_name: str, table_name: str) -> Any:
            return sources[(source_name, table_name)]

        ctx = ModelContext(
            session, model.relation, resolve_ref, resolve_source, self.project.vars, model.config
        )
        data = run_python_model(self.root, model, ctx, self.python_modules)
        if model.relation.schema:
            session.create_schema(model.relation.schema)
        try:
            rows = session.replace_table_with_data(model.relation, data)
        except TypeError as exc:
            hint = "see the model's return statement"
            raise NodeError(str(exc), path=model.path, hint=hint) from None
        if rows is None:
            return None, "table built from Python"
        return rows, f"table built from Python, {counted(rows, 'row')}"

    def _source(self, source: Source, session: Session) -> tuple[int | None, str]:
        from .sources import create_source_view

        kind = create_source_view(
            session,
            source,
            self.project.graph,
            self.locations,
            self.root,
            dbt_project=self.project.settings.is_dbt,
        )
        if kind == "the relation in place":
            return None, "source: the relation in place"
        return None, f"source view over {kind}"

    @cached_property
    def locations(self) -> Any:
        return source_locations_of(self.project)

    def _bad_value(self, node: Node, explained: Explanation) -> RunnerError | None:
        """A value in a source's CSV that does not cast to its declared type, located in
        the file. Source views cast lazily, so the first node reading the value fails
        (the source's own checks, or a model): look in the sources it reads."""
        if explained.kind not in (BAD_VALUE, MALFORMED_CSV):
            return None
        from .sources import bad_value_error, csv_file, seed_for

        graph = self.project.graph
        candidates = []
        for uid in [node.unique_id, *sorted(graph.ancestors(node.unique_id))]:
            source = graph.nodes[uid]
            if not isinstance(source, Source):
                continue
            location = self.locations.for_source(source.source_name)
            seed = graph.nodes.get(f"seed.{seed_for(source, location)}")
            path = csv_file(source, location, self.root, seed if isinstance(seed, Seed) else None)
            if path is not None:
                candidates.append((source, path))
        return bad_value_error(explained, candidates, self.root) if candidates else None

    def _wait_for_gx(self, node: Node) -> float:
        """Seconds this node waited for Great Expectations' background import before its
        checks could run. The summary reports the import on a line of its own rather than
        charging it to whichever nodes were checked first."""
        from .quality import gx_run

        uses_gx = self.kind == "gx" or any(e.needs_gx for e in self.checks[node.unique_id])
        if not uses_gx or gx_run.import_seconds is not None:
            return 0.0
        started = time.perf_counter()
        with contextlib.suppress(Exception):  # an import error is reported by the check
            gx_run.gx_module()
        waited = time.perf_counter() - started
        self.gx_waited = max(self.gx_waited, waited)  # nodes wait side by side
        return waited

    def _runnable_checks(self, node: Node, session: Session) -> tuple[list[Any], list[str]]:
        """The node's expectations that can run, and a line for each one that cannot
        because it reads a node this command neither selects nor finds built (say,
        `-s +clv_predictive_fit` on a fresh database: a relationship to a staging model
        outside the selection). Not running it is not a data-quality result."""
        graph = self.project.graph
        runnable, skipped = [], []
        for expectation in self.checks[node.unique_id]:
            missing = [
                name
                for name in expectation.references
                if (other := self.by_name.get(name)) is not None
                and other not in self.selected
                and graph.nodes[other].materialized != "ephemeral"
                and session.relation_kind(graph.nodes[other].relation) is None
            ]
            if not missing:
                runnable.append(expectation)
                continue
            skipped.append(
                f"SKIP {node.display_name}: {expectation.name} — reads '{missing[0]}', which "
                "this build does not select and the database does not have (select it "
                f"too, e.g. -s +{node.name} -s {missing[0]}, to check it)"
            )
        return runnable, skipped

    @cached_property
    def by_name(self) -> dict[str, str]:
        return build_checks.node_names(self.project)

    def _read_error(self, node: Node, session: Session) -> RunnerError | None:
        """The node's relation cannot be read whole: why, at the CSV's file and line when
        the data comes from one (None when it reads)."""
        exc = session.read_error(node.relation)
        if exc is None:
            return None
        explained = session.explain(exc)
        bad = self._bad_value(node, explained)
        if bad is not None:
            return bad
        return NodeError(
            f"'{node.display_name}' cannot be read, so its expectations could not run: "
            f"{first_line(exc)}",
            path=node.path,
            line=node.line,
            hint=explained.hint or "fix the data it reads",
        )

    def _database_error(self, node: Node, explained: Explanation) -> RunnerError:
        if explained.kind == INTERRUPTED:
            return NodeError(
                "interrupted (Ctrl-C); its relation is as it was before this run",
                path=node.path,
            )
        bad = self._bad_value(node, explained)
        if bad is not None:
            return bad
        if isinstance(node, Model) and node.unique_id in self.compilation.nodes:
            compiled = self.compilation.nodes[node.unique_id]
            return database_error(node, explained, compiled.target_sql or compiled.sql)
        return NodeError(explained.message, path=node.path, line=node.line, hint=explained.hint)


@dataclass(frozen=True)
class Preview:
    """What ``runner show`` prints: the rows, and in which order they are (an inline query
    keeps its own ORDER BY, or has none)."""

    result: Any  # engines.base.QueryResult
    order: str


def preview(
    project: Project,
    engine: Engine,
    *,
    model: str | None = None,
    inline: str | None = None,
    limit: int = 10,
) -> Any:
    """Rows of a built model, or of a SQL snippet (compiled like a model), at most ``limit``."""
    from . import sql as sqlmod
    from .compiler import compile_inline
    from .errors import UsageError

    session = engine.session()
    if inline is not None:
        query = compile_inline(project, inline)
        try:
            return Preview(session.query(query, limit=limit), "")
        except Exception as exc:  # the engine's error: a missing table, a bad cast, ...
            from .errors import first_line

            raise UsageError(
                f"the --inline query failed: {first_line(exc)}",
                hint="runner ls lists the models; refer to one as {{ ref('name') }}",
            ) from None
    nodes = [n for n in project.graph.by_name(model or "") if not isinstance(n, Source)]
    if not nodes:
        import difflib

        names = [n.name for n in project.graph if not isinstance(n, Source)]
        close = difflib.get_close_matches(model or "", names, n=3)
        raise UsageError(
            f"no model or seed named '{model}'",
            hint=("did you mean " + " or ".join(f"'{c}'" for c in close) + "?")
            if close
            else "runner ls lists them",
        )
    node = nodes[0]
    if session.relation_kind(node.relation) is None:
        raise UsageError(
            f"'{node.name}' has not been built in target '{project.target.name}'",
            hint=f"run: runner build --select {node.name}",
        )
    # the first rows of a table mean nothing unless they are in an order: the grain the
    # YAML declares, else every column from the first
    built = [c.name for c in session.columns(node.relation)]
    grain = [c for c in declared_grain(node) if c in built]
    order = grain or built
    sql = sqlmod.select_all_sql(node.relation, session.dialect, order_by=order)
    why = "its grain, from the YAML" if grain else "every column: its YAML declares no grain"
    return Preview(session.query(sql, limit=limit), f"ordered by {', '.join(order)} ({why})")
