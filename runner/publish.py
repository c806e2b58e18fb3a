"""Write, audit, publish: the serving database BI tools read while the warehouse refreshes.

A build writes into the working database. The models to publish (config ``publish``;
by default the models in the ``marts`` schema) are copied, each only while its current
version has passed its audit (built, expectations passed), into a *new* serving file
beside the old one. That file is checkpointed, fsynced and renamed over the old one:
readers holding the old file keep reading the old snapshot (same inode), new connections
open the new one, and nobody ever sees half a refresh. A model whose build or audit
failed is copied from the old serving file instead, so it keeps its published version.

The audit state lives in the working database (``_runner.audits``), written before a
published model is rebuilt ("building") and after its checks: a crash between the two
leaves "building", which is never published. The serving file itself is only ever
replaced by rename, so a build that fails or is killed leaves it byte for byte as it
was; a stale temporary file from a killed publish is removed by the next one.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RunnerError, UsageError, first_line

if TYPE_CHECKING:
    from .nodes import Model
    from .parser import Project

META_SCHEMA = "_runner"
AUDITS = '"_runner"."audits"'
PUBLISHED = '"_runner"."published"'
DEFAULT_SCHEMA = "marts"  # published unless a model says publish: false
DEFAULT_STORAGE_VERSION = "v1.4.0"  # readable by DuckDB 1.x drivers (DESIGN.md)
PASSED = ("success", "warn")
_OLD, _NEW = "runner_serving_old", "runner_serving_new"


class PublishError(RunnerError):
    """Writing the serving file failed; the old one is untouched. Exit code 1."""

    exit_code = 1


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------- what


def serve_path(project: Project) -> Path | None:
    """The target's serving file (``serve_path`` in profiles.yml), or None."""
    value = project.target.options.get("serve_path")
    if value in (None, ""):
        return None
    if not isinstance(value, str) or value == ":memory:":
        raise UsageError(
            f"serve_path must be a file name, got {value!r}",
            path=project.target.profiles_path,
            hint="e.g. serve_path: target/serving.duckdb (next to the working database)",
        )
    return (project.settings.root / value).resolve()


def is_published(model: Model) -> bool:
    """Config ``publish`` (true/false), else: the model lives in the marts schema."""
    if model.materialized == "ephemeral":
        return False
    flag = model.config.get("publish")
    if flag is not None:
        return bool(flag)
    return model.relation.schema.lower() == DEFAULT_SCHEMA


def published_models(project: Project) -> list[Model]:
    from .nodes import Model

    return sorted(
        (n for n in project.graph if isinstance(n, Model) and is_published(n)),
        key=lambda m: m.unique_id,
    )


# ---------------------------------------------------------------------------- audits


@dataclass(frozen=True)
class Audit:
    status: str  # building, success, warn, error, skipped
    message: str
    at: datetime.datetime  # UTC


class AuditLog:
    """Whether each published model's relation in the working database passed its audit."""

    def __init__(self, connection: Any) -> None:
        self._cursor = connection.cursor()
        self._lock = threading.Lock()
        self._cursor.execute(
            f"create schema if not exists {_quote(META_SCHEMA)};"
            f"create table if not exists {AUDITS} (unique_id varchar primary key, "
            "status varchar not null, message varchar, audited_at timestamp not null)"
        )

    def record(self, unique_id: str, status: str, message: str = "") -> None:
        with self._lock:
            self._cursor.execute(
                f"insert or replace into {AUDITS} values (?, ?, ?, ?)",
                [unique_id, status, message, _utc_now()],
            )

    def read(self) -> dict[str, Audit]:
        with self._lock:
            rows = self._cursor.execute(f"select * from {AUDITS}").fetchall()
        return {uid: Audit(status, message or "", at) for uid, status, message, at in rows}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cursor.close()


# ---------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Served:
    """One model's fate in a publish."""

    unique_id: str
    name: str
    action: str  # published (this version), kept (the previous one), absent (none to serve)
    reason: str = ""  # why not published
    version_at: datetime.datetime | None = None  # when the served version passed (UTC)
    rows: int | None = None


@dataclass(frozen=True)
class PublishReport:
    path: Path
    models: tuple[Served, ...]
    elapsed: float

    @property
    def not_published(self) -> list[Served]:
        return [m for m in self.models if m.action != "published"]

    def lines(self) -> list[str]:
        done = sum(1 for m in self.models if m.action == "published")
        out = [
            f"Published {done} of {len(self.models)} models to {self.path} in {self.elapsed:.2f}s"
        ]
        for m in self.not_published:
            if m.action == "kept":
                served = f"still serving the version built {_when(m.version_at)}"
            else:
                served = "nothing served (never published)"
            out.append(f"  not published: {m.name} — {m.reason}; {served}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "elapsed": round(self.elapsed, 4),
            "models": [
                {
                    "unique_id": m.unique_id,
                    "name": m.name,
                    "action": m.action,
                    "reason": m.reason,
                    "version_at": m.version_at.isoformat() if m.version_at else None,
                    "rows": m.rows,
                }
                for m in self.models
            ],
        }


def _when(at: datetime.datetime | None) -> str:
    if at is None:
        return "at an unknown time"
    local = at.replace(tzinfo=datetime.UTC).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _utc_now() -> datetime.datetime:
    """Naive UTC: DuckDB TIMESTAMP (timestamptz values need pytz to come back to Python)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


# ---------------------------------------------------------------------------- publish


def publish(
    project: Project, connection: Any, path: Path, held: Mapping[str, str] | None = None
) -> PublishReport:
    """Write a new serving file at ``path`` from the working database behind ``connection``.

    ``held``: models whose working version must not be published whatever their audit
    says (unique id -> why; a build passes those with a node upstream of them that failed
    in it): they keep their served version. Raises PublishError (the old serving file
    untouched) if anything goes wrong.
    """
    started = time.perf_counter()
    models = published_models(project)
    storage = str(project.target.options.get("serve_storage_version", DEFAULT_STORAGE_VERSION))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    audits: AuditLog | None = None
    cursor = connection.cursor()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_files(path)
        audits = AuditLog(connection)
        served = _write(cursor, models, audits.read(), path, temporary, storage, held or {})
        _flush(temporary)
        os.replace(temporary, path)  # atomic: readers see the old file or the new one
        _flush_folder(path.parent)
    except Exception as exc:
        with contextlib.suppress(Exception):
            cursor.execute(f"detach database if exists {_NEW}")
        with contextlib.suppress(Exception):
            cursor.execute(f"detach database if exists {_OLD}")
        with contextlib.suppress(OSError):
            _remove(temporary)
        raise PublishError(
            f"could not publish to {path}: {first_line(exc)}",
            path=project.target.profiles_path,
            hint="the serving file is unchanged; fix the cause (disk space, permissions, "
            "serve_path) and run `runner publish`",
        ) from None
    finally:
        if audits is not None:
            audits.close()
        with contextlib.suppress(Exception):
            cursor.close()
    return PublishReport(path, tuple(served), time.perf_counter() - started)


def _write(
    cursor: Any,
    models: list[Model],
    audits: dict[str, Audit],
    path: Path,
    temporary: Path,
    storage: str,
    held: Mapping[str, str],
) -> list[Served]:
    working = cursor.execute("select current_database()").fetchone()[0]
    existing = {
        (s.lower(), t.lower())
        for s, t in cursor.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    }
    old: dict[str, tuple[str, str, datetime.datetime | None]] = {}
    if path.exists():
        cursor.execute(f"attach {_literal(str(path))} as {_OLD} (read_only)")
        old = _old_versions(cursor)
    cursor.execute(
        f"attach {_literal(str(temporary))} as {_NEW} (storage_version {_literal(storage)})"
    )
    served: list[Served] = []
    schemas: set[str] = set()
    for model in models:
        schema, identifier = model.relation.schema, model.relation.identifier
        target = f"{_NEW}.{_quote(schema)}.{_quote(identifier)}"
        audit = audits.get(model.unique_id)
        fresh = audit is not None and audit.status in PASSED
        built = (schema.lower(), identifier.lower()) in existing
        if schema.lower() not in schemas:
            cursor.execute(f"create schema if not exists {_NEW}.{_quote(schema)}")
            schemas.add(schema.lower())
        if fresh and built and model.unique_id not in held:
            source = f"{_quote(working)}.{_quote(schema)}.{_quote(identifier)}"
            rows = _copy(cursor, source, target)
            served.append(Served(model.unique_id, model.name, "published", "", audit.at, rows))
            continue
        # A model that failed or was skipped says so; one that passed says why it is held.
        reason = held[model.unique_id] if fresh and built else _why_not(audit, built)
        previous = old.get(model.unique_id)
        if previous is None:
            served.append(Served(model.unique_id, model.name, "absent", reason))
            continue
        old_schema, old_identifier, version_at = previous
        source = f"{_OLD}.{_quote(old_schema)}.{_quote(old_identifier)}"
        rows = _copy(cursor, source, target)
        served.append(Served(model.unique_id, model.name, "kept", reason, version_at, rows))
    _write_meta(cursor, models, served)
    cursor.execute(f"checkpoint {_NEW}")
    cursor.execute(f"detach {_NEW}")
    if old:
        cursor.execute(f"detach {_OLD}")
    elif path.exists():
        cursor.execute(f"detach database if exists {_OLD}")
    return served


def _why_not(audit: Audit | None, built: bool) -> str:
    if audit is None or (not built and audit.status in PASSED):
        return "not built yet in the working database"
    if audit.status == "building":
        return "its last build did not finish"
    if audit.status == "unaudited":
        return "built by `runner run`, expectations not checked (runner test, then publish)"
    if audit.status == "skipped":
        return f"skipped: {audit.message}" if audit.message else "skipped"
    return f"failed: {audit.message}" if audit.message else "failed"


def _copy(cursor: Any, source: str, target: str) -> int:
    cursor.execute(f"create table {target} as select * from {source}")
    return int(cursor.execute(f"select count(*) from {target}").fetchone()[0])


def _old_versions(cursor: Any) -> dict[str, tuple[str, str, datetime.datetime | None]]:
    """unique_id -> (schema, identifier, built at) of what the old serving file holds."""
    has_meta = cursor.execute(
        "select count(*) from information_schema.tables "
        f"where table_catalog = {_literal(_OLD)} and table_schema = {_literal(META_SCHEMA)} "
        "and table_name = 'published'"
    ).fetchone()[0]
    if not has_meta:
        return {}
    rows = cursor.execute(
        f"select unique_id, schema_name, identifier, version_at from {_OLD}.{PUBLISHED}"
    ).fetchall()
    return {uid: (schema, identifier, at) for uid, schema, identifier, at in rows}


def _write_meta(cursor: Any, models: list[Model], served: list[Served]) -> None:
    cursor.execute(f"create schema if not exists {_NEW}.{_quote(META_SCHEMA)}")
    cursor.execute(
        f"create table {_NEW}.{PUBLISHED} (unique_id varchar, name varchar, schema_name varchar, "
        "identifier varchar, action varchar, reason varchar, version_at timestamp, "
        "published_at timestamp, row_count bigint)"
    )
    by_id = {m.unique_id: m for m in models}
    now = _utc_now()
    rows = [
        (
            s.unique_id,
            s.name,
            by_id[s.unique_id].relation.schema,
            by_id[s.unique_id].relation.identifier,
            s.action,
            s.reason,
            s.version_at,
            now,
            s.rows,
        )
        for s in served
        if s.action != "absent"
    ]
    if rows:
        cursor.executemany(
            f"insert into {_NEW}.{PUBLISHED} values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )


# ---------------------------------------------------------------------------- files


def remove_stale_files(path: Path) -> list[Path]:
    """Temporary serving files a killed publish left behind (the caller holds the project
    lock, so no other publish is writing one)."""
    removed = []
    for stale in path.parent.glob(f".{path.name}.*.tmp*"):
        _remove(stale)
        removed.append(stale)
    return removed


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def _flush(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flush_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def audited_ids(project: Project, selected: Iterable[str]) -> set[str]:
    """The selected nodes whose audit state publishing reads."""
    published = {m.unique_id for m in published_models(project)}
    return published & set(selected)
