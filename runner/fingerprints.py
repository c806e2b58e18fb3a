"""What an incremental table was built from, so a run can tell its inputs changed.

An incremental run only adds what is new to the table; if the table was built from other
data (the sources now read another folder, a seed instead of files, an upstream model now
lives in another relation), adding to it mixes two datasets. So every incremental build
records, with the table, a fingerprint of its inputs: for everything upstream of it, the
relation it reads and, for sources and seeds, where their data comes from. When the next
run's fingerprint differs, the table is rebuilt whole, and the run says which input
changed. The vars the model reads (in its SQL or in a macro file it calls) are inputs
too: rows computed with another ``as_of`` or ``churn_window_days`` would not be the rows a
full build now makes.

The model's own SQL is deliberately not part of it: changing an incremental model's SQL
is what ``on_schema_change`` governs (as in dbt), and ``--full-refresh`` rebuilds it.

An incremental model may read what an upstream incremental model wrote in this run (its
changed rows, ``changed_rows(ref(...))``). That is all it needs only if it was built after
every earlier build of that model: so the record counts each incremental table's builds,
and a table that missed one of its upstream's builds (it failed, was skipped or was not
selected then), or whose upstream is built whole in this run, is rebuilt whole too.

The fingerprints live with the engine's runner state (``_runner.fingerprints``, in the
working database on DuckDB, in the catalog on Spark), next to the audit log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engines.base import Engine, RunnerState, Session
    from .landing import LandingFiles
    from .nodes import Model
    from .parser import Project
    from .sources import SourceLocations


def inputs_of(project: Project, model: Model, locations: SourceLocations) -> dict[str, str]:
    """What ``model``'s table is built from: one entry per node upstream of it
    (``source shop.orders``, ``seed orders``, ``model stg_orders``), each a short text
    that changes when the data that node stands for does."""
    from .nodes import Model, Seed, Source

    graph = project.graph
    inputs: dict[str, str] = {}
    for uid in sorted(graph.ancestors(model.unique_id)):
        node = graph.nodes[uid]
        if isinstance(node, Source):
            location = locations.for_source(node.source_name)
            name = location.name_for(node.identifier)
            if location.kind == "seeds":
                where = f"seed '{name}'"
            elif location.kind == "files":
                formats = "csv or parquet" if location.format == "auto" else location.format
                where = f"{location.path / name} ({formats})"
            else:
                where = f"table {location.schema}.{name} in {location.path}"
            inputs[f"source {node.display_name}"] = f"{node.relation.render()} reads {where}"
        elif isinstance(node, Seed):
            inputs[f"seed {node.name}"] = f"{node.relation.render()} from {node.path}"
        elif isinstance(node, Model):
            ephemeral = node.materialized == "ephemeral"
            inputs[f"model {node.name}"] = "inlined" if ephemeral else node.relation.render()
    for name in sorted(vars_read(project, model)):
        if name != "sources":  # where sources read is recorded per source above
            inputs[f"var {name}"] = _value(project.vars.get(name))
    return inputs


_VAR_RE = re.compile(r"""\bvar\(\s*['"]([A-Za-z_]\w*)['"]""")


def vars_read(project: Project, model: Model) -> set[str]:
    """The vars named in ``var('...')`` in the model's SQL and in the files of the project
    macros it calls (a whole file: more than needed is only a rebuild too many)."""
    texts = [model.raw_sql]
    files = {project.macros[m].path for m in model.macros if m in project.macros}
    for path in sorted(files):
        with contextlib.suppress(OSError):
            texts.append((project.settings.root / path).read_text(encoding="utf-8"))
    return {name for text in texts for name in _VAR_RE.findall(text)}


def _value(value: Any) -> str:
    """A var's value as the record keeps it: JSON (dates as text); unset reads 'unset'."""
    return "unset" if value is None else json.dumps(value, sort_keys=True, default=str)


def fingerprint(inputs: Mapping[str, str]) -> str:
    return _digest(json.dumps(dict(inputs), sort_keys=True))


def what_changed(old: Mapping[str, str] | None, new: Mapping[str, str]) -> str | None:
    """Why a table's recorded inputs are no longer the same data, in a few words; None
    when they are. Only inputs it read then and reads now count: reading one more or one
    fewer node is a change of the model's SQL, which on_schema_change governs."""
    if old is None:
        return "no record says what its table was built from"
    for key in sorted(set(old) | set(new), key=_rank):
        if key.startswith("var ") and old.get(key, "unset") != new.get(key, "unset"):
            return f"{key} is now {new.get(key, 'unset')}, not {old.get(key, 'unset')}"
        if key.startswith("builds of ") and key in new and old.get(key) != new[key]:
            name = key.removeprefix("builds of ").split(".", 1)[-1]
            return f"model {name} was built by a run that did not build this table"
        if key not in old or key not in new:
            continue
        if old[key] == new[key]:
            continue
        if key.startswith("source "):
            return f"{key} now reads {_read(new[key])}, not {_read(old[key])}"
        return f"{key} is now {new[key]}, not {old[key]}"
    return None


class FingerprintStore:
    """The recorded inputs of each incremental table, kept by the engine's runner state
    (``_runner.fingerprints`` in the working database or catalog)."""

    def __init__(self, state: RunnerState) -> None:
        self._state = state

    @property
    def state(self) -> RunnerState:
        return self._state

    def read(self) -> dict[str, tuple[str, dict[str, str], int]]:
        """unique id -> (fingerprint, inputs, how many times the table was built)."""
        return {
            uid: (print_, json.loads(inputs), builds)
            for uid, (print_, inputs, builds) in self._state.fingerprints().items()
        }

    def record(self, unique_id: str, inputs: Mapping[str, str], builds: int) -> None:
        self._state.record_fingerprint(
            unique_id, fingerprint(inputs), json.dumps(dict(inputs), sort_keys=True), builds
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._state.close()


class IncrementalInputs:
    """The recorded inputs of a build's incremental tables: which of them were built from
    other data than they now read, and why, so they are rebuilt whole instead of mixing
    two datasets; and, as each is built, the record of what it was built from."""

    def __init__(
        self,
        store: FingerprintStore | None = None,
        current: dict[str, dict[str, str]] | None = None,
        changed: dict[str, str] | None = None,
        builds: dict[str, int] | None = None,
        upstream: dict[str, list[str]] | None = None,
        landing: LandingFiles | None = None,
    ) -> None:
        from .landing import LandingFiles

        self.store = store
        # the landing files of the incremental models' sources (new_source_rows)
        self.landing = landing or LandingFiles()
        self.current = current or {}
        self.changed = changed or {}  # unique id -> what changed
        self.builds = builds or {}  # unique id -> builds of its table so far
        self.upstream = upstream or {}  # unique id -> the incremental models upstream of it
        self._lock = threading.Lock()

    @classmethod
    def check(
        cls,
        project: Project,
        models: set[str],
        session: Session,
        engine: Engine,
        full_refresh: bool,
    ) -> IncrementalInputs:
        """Compare each selected incremental table's recorded inputs with what it reads
        now, and say (a warning) which ones are rebuilt whole and why."""
        from .console import print_warning
        from .engines.base import TABLE
        from .errors import RunnerError
        from .sources import source_locations

        graph = project.graph
        incremental = [
            graph.nodes[uid]
            for uid in sorted(models)
            if graph.nodes[uid].materialized == "incremental"
        ]
        if not incremental:
            return cls()
        from .landing import LandingFiles

        target, root = project.target, project.settings.root
        locations = source_locations(target, project.vars, root, profiles_path=target.profiles_path)
        try:
            store = FingerprintStore(engine.runner_state())
            recorded = store.read()
        except Exception:  # cannot be read or written (a full disk): as before
            # new_source_rows then reads all rows (no record of what was read)
            return cls(landing=LandingFiles.list(None, graph, incremental, locations, root))
        landing = LandingFiles.list(store.state, graph, incremental, locations, root)
        current: dict[str, dict[str, str]] = {}
        changed: dict[str, str] = {}
        builds = {uid: entry[2] for uid, entry in recorded.items()}
        upstream: dict[str, list[str]] = {}
        whole: set[str] = set()  # built whole in this run
        for uid in graph.topological_order(set(graph.nodes)):
            model = graph.nodes[uid]
            if not _incremental(graph, uid):
                continue
            ancestors = graph.topological_order(graph.ancestors(uid))
            upstream[uid] = [a for a in ancestors if _incremental(graph, a)]
            if uid not in models:
                continue
            current[uid] = inputs_of(project, model, locations)
            current[uid].update(_builds_seen(upstream[uid], builds))
            if full_refresh or session.relation_kind(model.relation) != TABLE:
                whole.add(uid)
                continue
            old = recorded.get(uid)
            why = None
            if old is None or old[0] != fingerprint(current[uid]):
                why = what_changed(old[1] if old else None, current[uid])
            why = why or landing.broken(model)
            why = why or next(
                (
                    f"{graph.nodes[u].display_name} is built whole in this run"
                    for u in upstream[uid]
                    if u in whole
                ),
                None,
            )
            if why is not None:
                whole.add(uid)
                changed[uid] = why
                print_warning(
                    RunnerError(
                        f"incremental model '{model.name}' is rebuilt whole, because "
                        f"{changed[uid]}",
                        path=model.path,
                        hint="adding new rows to it would mix two datasets; nothing to do "
                        "(--full-refresh rebuilds every incremental model whole)",
                    )
                )
        return cls(store, current, changed, builds, upstream, landing)

    def rebuilt(self, model: Model, message: str) -> str:
        """The node's message, saying why it was rebuilt whole."""
        why = self.changed.get(model.unique_id)
        if why is None:
            return message
        return message.replace("full refresh", f"rebuilt whole ({why})", 1)

    def record(self, model: Model) -> None:
        """After the table was built: what it was built from. If this cannot be written,
        the next run finds no record and rebuilds it whole, which is safe."""
        uid = model.unique_id
        inputs = self.current.get(uid)
        if self.store is None or inputs is None:
            return
        with self._lock:
            # what it saw of its upstream incremental tables: their builds up to now
            inputs = {**inputs, **_builds_seen(self.upstream.get(uid, []), self.builds)}
            self.builds[uid] = self.builds.get(uid, 0) + 1
            builds = self.builds[uid]
        with contextlib.suppress(Exception):
            self.store.record(uid, inputs, builds)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _incremental(graph: Any, uid: str) -> bool:
    from .nodes import Model

    node = graph.nodes[uid]
    return isinstance(node, Model) and node.materialized == "incremental"


def _builds_seen(upstream: list[str], builds: Mapping[str, int]) -> dict[str, str]:
    """One entry per incremental model upstream: how many builds of it this table has seen."""
    return {f"builds of {uid}": f"{builds.get(uid, 0)} builds" for uid in upstream}


# Reported first: where the data comes from (a source's new location explains its seed).
_RANKS = ("source ", "model ", "seed ", "var ", "builds of ")


def _rank(key: str) -> tuple[int, str]:
    rank = next((i for i, prefix in enumerate(_RANKS) if key.startswith(prefix)), len(_RANKS))
    return rank, key


def _read(entry: str) -> str:
    return entry.split(" reads ", 1)[-1]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
