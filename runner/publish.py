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

import datetime
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RunnerError, UsageError, first_line

if TYPE_CHECKING:
    from .engines.base import AuditStore, Engine, ServingWriter, Session
    from .nodes import Model
    from .parser import Project

DEFAULT_SCHEMA = "marts"  # published unless a model says publish: false
DEFAULT_SERVE_SCHEMA = "serving"  # engines that serve from their own catalog (Spark)
DEFAULT_STORAGE_VERSION = "v1.4.0"  # DuckDB serving files: read by DuckDB 1.4+ (see README)
PASSED = ("success", "warn")


class PublishError(RunnerError):
    """Writing the serving file failed; the old one is untouched. Exit code 1."""

    exit_code = 1


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


def serve_schema(project: Project) -> str | None:
    """The target's serving schema (``serve_schema``: engines that publish inside their
    own catalog, Spark), or None."""
    value = project.target.options.get("serve_schema")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise UsageError(
            f"serve_schema must be a schema name, got {value!r}",
            path=project.target.profiles_path,
            hint="e.g. serve_schema: serving",
        )
    return value


def publishes(project: Project) -> bool:
    """Whether builds of this target publish (a serving file or a serving schema)."""
    return serve_path(project) is not None or serve_schema(project) is not None


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
    """Whether each published model's relation in the working database passed its audit
    (stored by the engine: DuckDB keeps it in ``_runner.audits``)."""

    def __init__(self, engine: Engine) -> None:
        self._store: AuditStore = engine.audit_log()

    def record(self, unique_id: str, status: str, message: str = "") -> None:
        self._store.record(unique_id, status, message, _utc_now())

    def read(self) -> dict[str, Audit]:
        return {uid: Audit(*entry) for uid, entry in self._store.read().items()}

    def close(self) -> None:
        self._store.close()


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
    path: Path | str  # the serving file, or the serving schema
    models: tuple[Served, ...]
    elapsed: float
    exported: PublishReport | None = None  # the DuckDB file it was exported to, if any

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
        if self.exported is not None:
            e = self.exported
            out.append(f"Exported {len(e.models)} models to {e.path} in {e.elapsed:.2f}s")
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
    project: Project, engine: Engine, path: Path | None, held: Mapping[str, str] | None = None
) -> PublishReport:
    """Write a new serving file at ``path`` from the working database of ``engine``; on an
    engine that serves from a schema of its own (Spark), swap the marts into the
    ``serve_schema`` and then, with a ``path``, export what it serves to that DuckDB file.

    ``held``: models whose working version must not be published whatever their audit
    says (unique id -> why; a build passes those with a node upstream of them that failed
    in it): they keep their served version. Raises PublishError (what was served before
    untouched) if anything goes wrong.
    """
    if engine.capabilities.serving == "schema":
        schema = serve_schema(project) or DEFAULT_SERVE_SCHEMA
        report = _publish_to(project, engine, schema, held)
        if path is not None:
            exported = export_to_duckdb(project, engine, path, schema)
            report = replace(report, exported=exported)
        return report
    if serve_schema(project) is not None:
        raise PublishError(
            f"serve_schema is for engines that serve from their own catalog, not {engine.name}",
            path=project.target.profiles_path,
            hint="use serve_path (a DuckDB file) on this target",
        )
    assert path is not None
    return _publish_to(project, engine, str(path), held)


def _publish_to(
    project: Project, engine: Engine, destination: str, held: Mapping[str, str] | None = None
) -> PublishReport:
    started = time.perf_counter()
    path = destination
    models = published_models(project)
    writer: ServingWriter | None = None
    audits: AuditLog | None = None
    try:
        writer = engine.serving_writer(destination, project.target.options)
        audits = AuditLog(engine)
        served = _write(engine.session(), writer, models, audits.read(), held or {})
        writer.commit(_published_rows(models, served))
    except Exception as exc:
        if writer is not None:
            writer.abort()
        raise PublishError(
            f"could not publish to {path}: {first_line(exc)}",
            path=project.target.profiles_path,
            hint="the serving file is unchanged; fix the cause (disk space, permissions, "
            "serve_path) and run `runner publish`",
        ) from None
    finally:
        if audits is not None:
            audits.close()
    return PublishReport(path, tuple(served), time.perf_counter() - started)


def export(project: Project, engine: Engine, path: Path) -> PublishReport:
    """``runner publish --to duckdb PATH``: what the target serves, into a DuckDB file.
    On DuckDB that is a publish to ``path``; on Spark, a copy of the serving schema."""
    if engine.capabilities.serving == "schema":
        schema = serve_schema(project) or DEFAULT_SERVE_SCHEMA
        return export_to_duckdb(project, engine, path, schema)
    return _publish_to(project, engine, str(path))


def export_to_duckdb(project: Project, engine: Engine, path: Path, schema: str) -> PublishReport:
    """Copy what ``schema`` serves on ``engine`` (through Arrow) into a new DuckDB serving
    file at ``path``, renamed over the old one: the BI side reads the same file whichever
    engine built the warehouse."""
    from .engines.duckdb_serving import export_file

    started = time.perf_counter()
    storage = str(project.target.options.get("serve_storage_version", DEFAULT_STORAGE_VERSION))
    by_id = {m.unique_id: m for m in published_models(project)}
    writer = None
    try:
        served_writer = engine.serving_writer(schema, project.target.options)
        served = served_writer.previous()
        served_writer.abort()
        writer = export_file(path, storage)
        out: list[Served] = []
        for uid, version in sorted(served.items()):
            model = by_id.get(uid)
            if model is None:
                continue
            rows = writer.copy_data(model.relation, engine.read_arrow(version.relation))
            out.append(Served(uid, model.name, "published", "", version.version_at, rows))
        writer.commit(_published_rows(list(by_id.values()), out))
    except Exception as exc:
        if writer is not None:
            writer.abort()
        raise PublishError(
            f"could not export to {path}: {first_line(exc)}",
            path=project.target.profiles_path,
            hint="the serving file is unchanged; fix the cause and run "
            "`runner publish --to duckdb PATH`",
        ) from None
    return PublishReport(path, tuple(out), time.perf_counter() - started)


def _write(
    session: Session,
    writer: ServingWriter,
    models: list[Model],
    audits: dict[str, Audit],
    held: Mapping[str, str],
) -> list[Served]:
    old = writer.previous()
    served: list[Served] = []
    for model in models:
        audit = audits.get(model.unique_id)
        fresh = audit is not None and audit.status in PASSED
        built = session.relation_kind(model.relation) is not None
        if fresh and built and model.unique_id not in held:
            rows = writer.copy_current(model.relation)
            served.append(Served(model.unique_id, model.name, "published", "", audit.at, rows))
            continue
        # A model that failed or was skipped says so; one that passed says why it is held.
        reason = held[model.unique_id] if fresh and built else _why_not(audit, built)
        previous = old.get(model.unique_id)
        if previous is None:
            served.append(Served(model.unique_id, model.name, "absent", reason))
            continue
        rows = writer.copy_previous(previous.relation, model.relation)
        served.append(
            Served(model.unique_id, model.name, "kept", reason, previous.version_at, rows)
        )
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


def _published_rows(models: list[Model], served: list[Served]) -> list[tuple[Any, ...]]:
    """The serving store's ``_runner.published`` rows: what it holds, from when."""
    by_id = {m.unique_id: m for m in models}
    now = _utc_now()
    return [
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


def audited_ids(project: Project, selected: Iterable[str]) -> set[str]:
    """The selected nodes whose audit state publishing reads."""
    published = {m.unique_id for m in published_models(project)}
    return published & set(selected)
