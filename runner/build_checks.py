"""The build's expectations: which run, who runs them, and in what order.

``runner build`` and ``runner test`` parse the selected nodes' declarations once
(``expectations_for``), schedule a node after every node its checks read
(``schedule_with_checks``), and hand them to one validator for the whole build
(``make_validator``: GX, or the plain-SQL one). The benchmark uses the same functions.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

from .compiler import Compilation
from .engines.base import Engine, Session
from .errors import ProjectError
from .nodes import Model, Node, Source
from .parser import Project


def expectations_for(
    project: Project, selected: set[str], compilation: Compilation, validator: str
) -> dict[str, list[Any]]:
    """Parsed expectations of the selected nodes (bad declarations stop the build: exit 2).

    Starts GX's slow import on a background thread when GX will be needed, so it overlaps
    the models' execution."""
    from dataclasses import replace

    from . import dbt_tests, quality
    from .console import print_warning

    checks: dict[str, list[Any]] = {}
    found = dbt_tests.Translation(set(), [])
    singular = dbt_tests.singular_tests(project) if project.settings.test_paths else {}
    for uid in sorted(selected):
        node = project.graph.nodes[uid]
        if node.materialized == "ephemeral":
            continue  # nothing is built to check
        extra = singular.get(uid, [])
        if not node.expectations and not any(c.expectations for c in node.columns) and not extra:
            continue
        node = dbt_tests.translate_node(project, node, found)
        compiled = compilation.nodes.get(uid)
        if isinstance(node, Model):
            columns = compiled.columns if compiled is not None else None
        else:
            columns = tuple(c.name for c in node.columns) or None
        parsed = quality.parse_expectations(node, columns)
        for item, path in extra:  # singular tests: reported at their own file
            alone = replace(node, expectations=(item,), columns=())
            parsed += [
                replace(e, path=str(path), line=1) for e in quality.parse_expectations(alone)
            ]
        if parsed:
            checks[uid] = parsed
    warning = dbt_tests.unused_warning(found)
    if warning is not None:
        print_warning(warning)
    uses_gx = any(e.needs_gx for es in checks.values() for e in es)
    if (validator == "gx" and checks) or uses_gx:
        quality.start_import_in_background()  # ~4 s, overlapped with building models
    return checks


def start_gx_import_if_declared(project: Project, selected: set[str]) -> None:
    """Start GX's import (3-4 s, on a thread) as soon as the build knows it will check
    something with GX, before the sources are checked and the models compiled, so that
    more of it is over when the first check needs it. ``expectations_for`` starts it too
    (a no-op then) for what only it finds (singular tests)."""
    nodes = project.graph.nodes
    if any(
        nodes[uid].expectations or any(c.expectations for c in nodes[uid].columns)
        for uid in selected
    ):
        from .quality.gx_run import start_import_in_background

        start_import_in_background()


def node_names(project: Project) -> dict[str, str]:
    """The names expectations use for nodes (``dim_customers``, ``shop.orders``) -> uid."""
    return {
        (n.display_name if isinstance(n, Source) else n.name): uid
        for uid, n in project.graph.nodes.items()
    }


def defer_downstream(
    project: Project, checks: dict[str, list[Any]]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Split off the checks that read a node built from their own node (a relationships
    test to a downstream model): as in dbt, they run once the whole build is done."""
    graph = project.graph
    by_name = node_names(project)
    now: dict[str, list[Any]] = {}
    later: dict[str, list[Any]] = {}
    for uid, expectations in checks.items():
        for expectation in expectations:
            others = [by_name.get(name) for name in expectation.references]
            downstream = any(o is not None and uid in graph.ancestors(o) for o in others)
            (later if downstream else now).setdefault(uid, []).append(expectation)
    return now, later


def schedule_with_checks(project: Project, checks: dict[str, list[Any]]) -> Any:
    """The graph to schedule: a node whose expectations read other nodes (relationships,
    {ref:x}) also waits for those, so the check never sees a missing or stale parent."""
    from .graph import Graph

    graph = project.graph
    by_name = node_names(project)
    extra: dict[str, set[str]] = {}
    for uid, expectations in checks.items():
        for expectation in expectations:
            for name in expectation.references:
                other = by_name.get(name)
                if other is None or other == uid:
                    continue
                if uid in graph.ancestors(other):
                    raise ProjectError(
                        f"an expectation of '{graph.nodes[uid].name}' reads '{name}', which "
                        f"is built from '{graph.nodes[uid].name}': it could never run",
                        path=expectation.path,
                        line=expectation.line,
                        hint="check the relationship from the other side (on the child model)",
                    )
                extra.setdefault(uid, set()).add(other)
    if not extra:
        return graph
    parents = {uid: ps | extra.get(uid, set()) for uid, ps in graph.parents.items()}
    return Graph(nodes=graph.nodes, parents={k: frozenset(v) for k, v in parents.items()})


def node_relations(project: Project) -> dict[str, str]:
    """Node name (as in ``node_names``) -> its rendered relation, for relationships and
    ``{ref:x}`` in checks."""
    nodes = project.graph.nodes
    return {name: nodes[uid].relation.render() for name, uid in node_names(project).items()}


def refuse_gx_entries(engine: Engine, *checks: dict[str, list[Any]]) -> None:
    """``gx:`` entries run only through a Great Expectations datasource of the engine
    (DuckDB: GX's SQL one; Spark: GX's Spark one): on an engine without one
    (capabilities.gx false) the first is an error at its file:line before anything is
    built, never skipped in silence."""
    if engine.capabilities.gx:
        return
    for found in checks:
        for expectations in found.values():
            for expectation in expectations:
                if expectation.type == "gx":
                    raise ProjectError(
                        f"expectation '{expectation.name}' of '{expectation.node}' is a gx: "
                        f"entry, which runs through Great Expectations, and GX does not run on "
                        f"{engine.name} targets",
                        path=expectation.path,
                        line=expectation.line,
                        hint="write it in the runner's vocabulary (expression:, "
                        "accepted_values:, ...), which runs as SQL on every engine, or build "
                        "on a DuckDB or Spark target",
                    )


def make_validator(project: Project, engine: Engine, validator: str) -> Any:
    """One validator for the whole build, on the build's own connection."""
    from . import quality

    if validator == "gx" and not engine.capabilities.gx:
        from .console import print_warning
        from .errors import RunnerError

        print_warning(
            RunnerError(
                f"validator gx does not run on {engine.name} targets: the same checks run "
                "as plain SQL on it",
                hint='set validator = "sql" (or --validator sql) to say so',
            )
        )
        validator = "sql"
    resolve = node_relations(project).__getitem__
    options = {  # both render their SQL in the engine's dialect; GX reads its datasource
        "resolve": resolve,
        "dialect": engine.dialect,
        "replace_table_as": engine.capabilities.replace_table_as,
        "gx_batches": engine.gx_batches if engine.capabilities.gx else None,
    }
    if validator == "sql":
        return quality.SqlValidator(engine.validator_session, **options)
    return quality.Validator(engine.validator_session, **options)


AS_OF_MODEL = "as_of"  # the warehouse's as-of date: a model with an as_of_date column


class ChecksAsOf:
    """What ``{as_of}`` in expectations and recency's anchor mean.

    The as_of var when it is set. Else, in a project with an ``as_of`` model, the
    ``as_of_date`` that model holds: read once it is built in this run, and only for the
    checks of the model itself and of what is downstream of it (so the answer never
    depends on which thread got there first). Checks elsewhere get None, an error naming
    the missing as-of date. Never the wall clock: the same data gives the same verdicts.
    A project without an ``as_of`` model and without the var anchors on today's date, as
    dbt's recency test does."""

    def __init__(self, project: Project, command: str) -> None:
        self.var = project.vars.get("as_of")
        self.command = command
        uid = node_names(project).get(AS_OF_MODEL)
        node = project.graph.nodes.get(uid) if uid else None
        self.model = node if isinstance(node, Model) else None
        self.downstream = (
            {uid} | project.graph.descendants(uid) if self.model is not None else set()
        )
        self._value: Any = None
        self._lock = threading.Lock()

    def built(self, uid: str, session: Session) -> None:
        """Called when a node succeeded: remember the as-of date once its model is built."""
        if self.model is not None and uid == self.model.unique_id and self.var is None:
            self._read(session)

    def for_node(self, uid: str, session: Session) -> datetime.date | Any:
        if self.var is not None:
            return self.var
        if self.model is None:
            return datetime.datetime.now(datetime.UTC).date()
        if uid not in self.downstream:
            return None
        # its own checks run right after it is built; `runner test` reads the built one
        if self._value is None and (uid == self.model.unique_id or self.command == "test"):
            self._read(session)
        return self._value

    def built_value(self, session: Session) -> datetime.date | Any:
        """The as-of date of a warehouse that is already built (what `runner test` uses)."""
        if self.var is None and self.model is not None:
            self._read(session)
            return self._value
        return self.for_node("", session)

    def _read(self, session: Session) -> None:
        assert self.model is not None
        with self._lock:
            if self._value is None:
                relation = self.model.relation.render()
                try:
                    rows = session.query(f"select max(as_of_date) from {relation}").rows
                except Exception:  # no as_of_date column: the checks say the date is missing
                    return
                self._value = rows[0][0] if rows else None


def timings(kind: str, validator: Any) -> dict[str, Any]:
    """For run_results.json: how long validating took, and how much of GX's import the
    build hid behind model execution (import_s - import_wait_s)."""
    from .quality import gx_run

    imported = gx_run.import_seconds
    return {
        "validator": kind,
        "validate_s": round(validator.timings["validate"], 4),
        "gx_import_s": round(imported, 4) if imported is not None else None,
        "gx_import_wait_s": round(validator.timings["import_wait"], 4),
    }


def layer(node: Node) -> str:
    """sources, seeds, or the model's top folder (staging, facts, marts)."""
    if isinstance(node, Model):
        return node.fqn[1] if len(node.fqn) > 2 else "models"
    return node.resource_type + "s"
