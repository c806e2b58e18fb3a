"""Which landing files an incremental model has read, so a night reads only the new ones.

The landing contract (docs/sources.md) says a sent row never changes in place: a re-sent
version is a new row, and a day's rows land as a new file (``<table>/<day>.parquet``) or
are appended to ``<table>.csv``. So after an incremental model built successfully, the
runner records, per source table the model reads, the files it read (path, size and
modification time) in the engine's runner state (``_runner.landing_files``). In its next
incremental run, ``new_source_rows('shop', 'orders')`` in the model is a view over the
files not in that record, with the source's declared columns and types:

- files that are new since the last build: only those;
- nothing new: no rows;
- a recorded file that changed (a CSV that grew) or a source not read from files (a seed,
  a database table): all of the source's rows, which an incremental model written to be
  idempotent (merge the latest version of each key, append what the table does not hold)
  turns into the same table;
- a recorded file that vanished or shrank breaks the contract (rows the table holds are
  gone from the landing): the model is rebuilt whole (fingerprints.py asks ``broken``).

In a full build, a first build or a rebuild, ``new_source_rows`` is the source itself.
The record is written only after the model's table was built; a failed build leaves it as
it was, so the next run reads those files again. Reading a file twice changes nothing in
an idempotent model, so a crash between the build and the record is safe too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .nodes import CHANGED_SCHEMA, Model, Relation, Source

if TYPE_CHECKING:
    from .engines.base import Engine, RunnerState, Session
    from .graph import Graph
    from .sources import SourceLocations


@dataclass(frozen=True)
class LandedFile:
    path: str  # absolute
    size: int
    mtime_ns: int
    # a CSV with its header only (a table nobody sent yet): nothing is lost if it goes
    empty: bool = False

    def to_json(self) -> list[Any]:
        return [self.path, self.size, self.mtime_ns, self.empty]


def _header_only(path: Path) -> bool:
    """A CSV file with nothing after its header line (reads the header and one byte)."""
    try:
        with path.open("rb") as handle:
            handle.readline()
            return not handle.read(64).strip()
    except OSError:
        return False


@dataclass(frozen=True)
class Listing:
    """A source table's landing files when the run started, and how they were read
    (``csv`` or ``parquet``); ``files`` is None for a source not read from files."""

    source: Source
    format: str | None
    files: tuple[LandedFile, ...] | None


def new_rows_relation(this: Relation, source_name: str, table_name: str) -> Relation:
    """Where ``new_source_rows(source_name, table_name)`` of the model at ``this`` is."""
    return Relation(
        schema=CHANGED_SCHEMA,
        identifier=f"new__{this.schema}__{this.identifier}__{source_name}__{table_name}",
    )


def sources_of(graph: Graph, model: Model) -> list[Source]:
    """The source tables ``new_source_rows`` may name in ``model``: those it reads and
    those upstream of it (a fact may ask which products changed since its last build)."""
    found = set(graph.ancestors(model.unique_id))
    found |= {f"source.{c.source_name}.{c.table_name}" for c in model.sources}
    nodes = (graph.nodes.get(uid) for uid in sorted(found))
    return [node for node in nodes if isinstance(node, Source)]


def list_files(source: Source, locations: SourceLocations, root: Path) -> Listing:
    """The files ``source`` reads now (stat only; nothing is opened)."""
    from .sources import landing_data

    location = locations.for_source(source.source_name)
    if location.kind != "files":
        return Listing(source, None, None)
    try:
        data = landing_data(source, location, root)
    except Exception:  # missing: the source check reports it; here, read everything
        return Listing(source, None, None)
    assert data.path is not None
    paths = (
        sorted(Path(data.path).parent.glob("*.parquet")) if "*" in data.path else [Path(data.path)]
    )
    files = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            return Listing(source, None, None)
        empty = data.format == "csv" and _header_only(path)
        files.append(LandedFile(str(path), stat.st_size, stat.st_mtime_ns, empty))
    return Listing(source, data.format, tuple(files))


def _recorded(text: str | None) -> dict[str, tuple[int, int, bool]] | None:
    """path -> (size, mtime_ns, empty) of a record; None without one."""
    if text is None:
        return None
    try:
        return {path: (size, mtime, bool(empty)) for path, size, mtime, empty in json.loads(text)}
    except (ValueError, TypeError):
        return None


class LandingFiles:
    """The landing files of each selected incremental model's sources: what they were when
    the run started, what each model read at its last build, and the views of the new
    ones. Thread-safe (models build in parallel)."""

    def __init__(
        self,
        state: RunnerState | None = None,
        listings: Mapping[str, list[Listing]] | None = None,
        recorded: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.state = state
        self.listings = dict(listings or {})  # model unique id -> its sources' listings
        self.recorded = dict(recorded or {})
        self._lock = threading.Lock()

    @classmethod
    def list(
        cls,
        state: RunnerState | None,
        graph: Graph,
        models: list[Model],
        locations: SourceLocations,
        root: Path,
    ) -> LandingFiles:
        """List the files of every source the ``models`` read, and read the records.
        Without records (no ``state``, or it cannot be read) every ``new_source_rows`` is
        all of its source's rows, and nothing is recorded."""
        recorded: Mapping[tuple[str, str], str] = {}
        if state is not None:
            try:
                recorded = state.landing_files()
            except Exception:  # cannot be read (a full disk): read everything, as before
                state = None
        by_source: dict[str, Listing] = {}
        listings: dict[str, list[Listing]] = {}
        for model in models:
            found = []
            for source in sources_of(graph, model):
                uid = source.unique_id
                if uid not in by_source:
                    by_source[uid] = list_files(source, locations, root)
                found.append(by_source[uid])
            if found:
                listings[model.unique_id] = found
        return cls(state, listings, recorded)

    def broken(self, model: Model) -> str | None:
        """Why the model's table can no longer be added to: a file it read is gone or
        shrank (rows it holds are no longer in the landing). None when it can."""
        for listing in self.listings.get(model.unique_id, []):
            if listing.files is None:
                continue
            seen = _recorded(self.recorded.get((model.unique_id, listing.source.display_name)))
            now = {f.path: f.size for f in listing.files}
            for path, (size, _, empty) in sorted((seen or {}).items()):
                if empty:
                    continue  # it held no rows
                if path not in now:
                    return f"the landing file {path} it read is gone"
                if now[path] < size:
                    return f"the landing file {path} it read shrank"
        return None

    @classmethod
    def for_source_checks(
        cls,
        state: RunnerState | None,
        sources: Mapping[str, Source],
        locations: SourceLocations,
        root: Path,
    ) -> LandingFiles:
        """The landing files of the sources whose checks a build runs, keyed by
        ``checks_key`` (what the checks are), and what those checks read last time."""
        recorded: Mapping[tuple[str, str], str] = {}
        if state is not None:
            try:
                recorded = state.landing_files()
            except Exception:  # cannot be read: every check reads every row
                state = None
        listings = {key: [list_files(source, locations, root)] for key, source in sources.items()}
        return cls(state, listings, recorded)

    def create_views(self, model: Model, session: Session, reads: set[str]) -> str | None:
        """Before an incremental run of ``model``: the view ``new_source_rows`` names, per
        source whose view its SQL ``reads`` (table keys), over the files its last build
        did not read. Returns what is read, for the node's message."""
        said = []
        for listing in self.listings.get(model.unique_id, []):
            source = listing.source
            relation = new_rows_relation(model.relation, source.source_name, source.name)
            if f"{relation.schema}.{relation.identifier}".lower() not in reads:
                continue
            seen = _recorded(self.recorded.get((model.unique_id, source.display_name)))
            new = self._new_files(listing, seen)
            said.append(f"{source.display_name}: {_new_rows_view(session, relation, listing, new)}")
        return ", ".join(said) or None

    def checked_rows(self, key: str, session: Session) -> tuple[str | None, str]:
        """Before a source's checks (``key``: ``checks_key``): a view over the landing
        files those checks have not read yet, or None when they read every row (no record,
        a file that changed, a source not in files); and what is read, for the message.
        The files already read passed these same checks, and a sent file never changes."""
        listings = self.listings.get(key)
        if not listings:
            return None, "all rows"
        listing = listings[0]
        seen = _recorded(self.recorded.get((key, listing.source.display_name)))
        new = self._new_files(listing, seen)
        if new is None:
            return None, "all rows"
        source = listing.source
        relation = Relation(
            schema=CHANGED_SCHEMA, identifier=f"new__checks__{source.source_name}__{source.name}"
        )
        return relation.render(), _new_rows_view(session, relation, listing, new)

    def _new_files(
        self, listing: Listing, seen: dict[str, tuple[int, int, bool]] | None
    ) -> list[LandedFile] | None:
        """The files not read yet; None when every row must be read (no record, a source
        not in files, a read file that changed, several files where the engine reads one)."""
        if listing.files is None or seen is None:
            return None
        new = []
        for file in listing.files:
            if file.path not in seen:
                new.append(file)
            elif seen[file.path][:2] != (file.size, file.mtime_ns):
                return None  # changed (a CSV that grew): read whole
        if len(new) > 1 and listing.format != "parquet":
            return None
        return new

    def record(self, model: Model) -> None:
        """After ``model``'s table was built: it holds the rows of the files listed when
        the run started. If this cannot be written, the next run reads them again."""
        self.record_key(model.unique_id)

    def record_key(self, key: str) -> None:
        """After the reader under ``key`` (a model, or a source's checks) read every file
        listed when the run started."""
        listings = self.listings.get(key)
        if self.state is None or not listings:
            return
        files = {
            listing.source.display_name: "null"
            if listing.files is None
            else json.dumps([f.to_json() for f in listing.files])
            for listing in listings
        }
        with self._lock, contextlib.suppress(Exception):
            self.state.record_landing_files(key, files)


def _new_rows_view(
    session: Session, relation: Relation, listing: Listing, new: list[LandedFile] | None
) -> str:
    """Create ``relation``, a view with the source's columns over the ``new`` files (None:
    every row of the source; none: no rows); say what it reads."""
    from . import sql
    from .engines.base import ExternalData

    source = listing.source
    session.create_schema(CHANGED_SCHEMA)
    everything = sql.select_all_sql(source.relation, session.dialect)
    if new is None:
        session.create_view(relation, everything)
        return "all rows"
    if not new:
        session.create_view(relation, f"{everything} WHERE FALSE")
        return "no new file"
    paths = tuple(f.path for f in new)
    data = ExternalData(listing.format or "parquet", path=paths[0], paths=paths)
    columns = {c.name: c.data_type for c in source.columns}
    session.create_source_view(relation, data, columns)
    return f"{len(new)} new file{'s' * (len(new) > 1)}"


def checks_key(source: Source, expectations: Sequence[Any]) -> str:
    """The key under which the landing record keeps the files a source's checks read:
    the source and what its checks are, so a new or changed check reads every file once."""
    said = sorted(
        json.dumps(
            [e.type, e.column, dict(e.arguments), e.severity, e.mostly, e.error_if, e.warn_if],
            sort_keys=True,
            default=str,
        )
        for e in expectations
    )
    digest = hashlib.sha256("\n".join(said).encode()).hexdigest()[:16]
    return f"{source.unique_id}#checks:{digest}"


@dataclass(frozen=True)
class SourceChecks:
    """A build's checks of its sources read only the landing files they have not read
    before (a sent file never changes; the files read before passed the same checks):
    ``keys`` says under which record each checked source is (``checks_key``).
    `runner test` and `--full-refresh` read every row."""

    landing: LandingFiles
    keys: dict[str, str]  # source unique id -> its checks' key in the landing record

    @classmethod
    def of(
        cls,
        graph: Graph,
        checks: Mapping[str, Sequence[Any]],
        engine: Engine,
        locations: SourceLocations,
        root: Path,
    ) -> SourceChecks | None:
        keys = {
            uid: checks_key(node, found)
            for uid, found in checks.items()
            if isinstance(node := graph.nodes[uid], Source) and found
        }
        if not keys:
            return None
        try:
            state = engine.runner_state()
        except Exception:  # no record to read or write: every check reads every row
            return None
        sources = {key: graph.nodes[uid] for uid, key in keys.items()}
        return cls(LandingFiles.for_source_checks(state, sources, locations, root), keys)
