"""Sources: where each raw table is read from (configuration), and the view that reads it.

Where a source lands is a setting in profiles.yml (``sources:`` under a target), which the
project var ``sources`` (``--vars``) overrides key by key::

    sources:
      default: {from: seeds}                                # every source not listed
      shop: {from: files, path: data/landing, format: csv}  # <table>.csv / .parquet / <table>/
      crm: {from: database, path: other.duckdb, schema: main}
      web: {from: seeds, prefix: raw_}                      # the seed raw_<table>

Each source table becomes a view at ``source.relation`` that reads the declared columns,
in declared order, each cast to its declared type (a CSV is read as text and cast, never
sniffed). Everything here goes through ``Session`` methods, so it works on any engine.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engines.base import (
    BAD_VALUE,
    MALFORMED_CSV,
    NOT_UTF8,
    ColumnInfo,
    DataError,
    Explanation,
    ExternalData,
    Session,
)
from .errors import NodeError, ProjectError
from .nodes import Relation, Seed, Source
from .project import Target
from .yamlio import line_of

KINDS = ("seeds", "files", "database")
FORMATS = ("auto", "csv", "parquet")
_KEYS = ("from", "path", "format", "schema", "prefix")
_EXAMPLE = "e.g. shop: {from: files, path: data/landing, format: csv}"


class SourceError(ProjectError):
    """A source's data is missing or lacks a declared column (exit 2: fix data or config)."""


@dataclass(frozen=True)
class SourceLocation:
    """Where one source's tables are read from. ``path`` is absolute (files: the folder;
    database: the database file); ``prefix`` goes in front of every table's identifier."""

    kind: str = "seeds"
    path: Path | None = None
    format: str = "auto"
    schema: str = "main"
    prefix: str = ""

    def name_for(self, identifier: str) -> str:
        """The file stem, table or seed name a source table with this identifier reads."""
        return self.prefix + identifier


@dataclass(frozen=True)
class SourceLocations:
    """The resolved ``sources`` setting: one location per listed source, and a default."""

    default: SourceLocation = SourceLocation()
    by_source: Mapping[str, SourceLocation] = field(default_factory=dict)

    def for_source(self, source_name: str) -> SourceLocation:
        return self.by_source.get(source_name, self.default)


def source_locations(
    target: Target,
    vars: Mapping[str, Any],
    root: Path,
    *,
    profiles_path: Path | None = None,
    must_exist: bool = False,
) -> SourceLocations:
    """Read ``sources`` from the target (profiles.yml) and the ``sources`` var, merged per
    source name key by key (the var wins). Raises ProjectError on a bad entry; errors in
    profiles.yml carry ``profiles_path`` and the line when given."""
    profile = target.options.get("sources") or {}
    override = vars.get("sources") or {}
    if not isinstance(profile, Mapping):
        raise ProjectError(
            f"target '{target.name}': sources must be a mapping of source name to location",
            path=profiles_path,
            line=line_of(profile),
            hint=_EXAMPLE,
        )
    if not isinstance(override, Mapping):
        raise ProjectError(
            "var 'sources' must be a mapping of source name to location",
            hint="e.g. --vars '{sources: {default: {from: files, path: /data/landing}}}'",
        )
    locations: dict[str, SourceLocation] = {}
    for name in dict.fromkeys([*profile, *override]):
        locations[str(name)] = _location(
            str(name), profile.get(name), override.get(name), root, profiles_path, must_exist
        )
    default = locations.pop("default", SourceLocation())
    return SourceLocations(default=default, by_source=locations)


def _location(
    name: str,
    base: Any,
    override: Any,
    root: Path,
    profiles_path: Path | None,
    must_exist: bool = False,
) -> SourceLocation:
    def fail(key: str | None, message: str, hint: str | None) -> ProjectError:
        if override is not None and (key is None or key in override):
            # The value came from --vars: there is no file line to point at.
            return ProjectError(f"var 'sources', entry '{name}': {message}", hint=hint)
        return ProjectError(
            f"sources entry '{name}': {message}",
            path=profiles_path,
            line=line_of(base, key) if key else line_of(base),
            hint=hint,
        )

    for part in (base, override):
        if part is not None and not isinstance(part, Mapping):
            raise ProjectError(
                f"sources entry '{name}' must be a mapping",
                path=profiles_path if part is base else None,
                line=line_of(base) if part is base else None,
                hint=_EXAMPLE,
            )
    entry: dict[str, Any] = {**(base or {}), **(override or {})}
    for key in entry:
        if key not in _KEYS:
            raise fail(key, f"unknown key '{key}'", f"the keys are: {', '.join(_KEYS)}")
    kind = entry.get("from", "seeds")
    if kind not in KINDS:
        raise fail("from", f"unknown 'from: {kind}'", f"use one of: {', '.join(KINDS)}")
    fmt = entry.get("format", "auto")
    if kind == "files" and fmt not in FORMATS:
        raise fail("format", f"unknown format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    raw_path = entry.get("path")
    path: Path | None = None
    if kind in ("files", "database"):
        if not isinstance(raw_path, str) or not raw_path:
            what = "the folder of the files" if kind == "files" else "the database file"
            raise fail("path" if "path" in entry else "from", f"from: {kind} needs a path", what)
        path = (root / raw_path).resolve()  # an absolute path stays as it is
        # Checked when the profile is read, whether or not a selected node reads it:
        # a location that is not there is a mistake in the profile, not in the data.
        if must_exist and kind == "files" and not path.is_dir():
            what = "is a file, not a folder" if path.exists() else "does not exist"
            raise fail("path", f"the folder {raw_path} {what}", _MISSING_HINT)
        if must_exist and kind == "database" and not path.is_file():
            what = "is a folder, not a file" if path.exists() else "does not exist"
            raise fail("path", f"the database file {raw_path} {what}", _MISSING_HINT)
    schema = entry.get("schema", "main")
    prefix = entry.get("prefix", "")
    for key, value in (("schema", schema), ("prefix", prefix)):
        if not isinstance(value, str):
            raise fail(key, f"{key} must be a string", None)
    return SourceLocation(kind=kind, path=path, format=str(fmt), schema=schema, prefix=prefix)


def relation_clashes(
    sources: list[Source], seeds: list[Seed], *, dbt_project: bool = False
) -> list[ProjectError]:
    """Sources declared at the very relation a seed loads into (dbt's layout: seeds in
    ``raw``, ``source('ecom', 'raw_customers')`` with ``schema: raw``). In a runner project
    the source's view would replace the seed's table with a view reading itself, so it is
    refused when the project is parsed rather than resolved silently. In a dbt project that
    is how dbt-labs' jaffle-shop loads its raw data, and a dbt source is only a name for a
    relation already there: the source reads the seed's table in place (see
    ``reads_in_place``), built after it."""
    if dbt_project:
        return []
    by_relation = {
        (seed.relation.schema.lower(), seed.relation.identifier.lower()): seed for seed in seeds
    }
    problems = []
    for source in sources:
        seed = by_relation.get((source.relation.schema.lower(), source.relation.identifier.lower()))
        if seed is None:
            continue
        problems.append(
            ProjectError(
                f"source {_label(source)} would be the relation {source.relation.render()}, "
                f"where seed '{seed.name}' ({seed.path}) is loaded: the source's view would "
                "replace the seed's table",
                path=source.path,
                line=source.line,
                hint=f"read the seed with ref('{seed.name}') instead of source(), or give "
                f"source '{source.source_name}' another schema here (or the seeds another "
                "schema under [tool.runner.seeds]); where a source reads a seed is set with "
                "sources: {from: seeds} in profiles.yml",
            )
        )
    return problems


_MISSING_HINT = (
    "fix the path (relative to the project folder), or create it; with --vars "
    "'{sources: {NAME: {path: ...}}}' a run can point elsewhere"
)


def reads_in_place(source: Source, seed: Seed | None) -> bool:
    """A source declared at its seed's own relation: the seed's table is the source."""
    if seed is None:
        return False
    ours, theirs = source.relation, seed.relation
    return (ours.schema.lower(), ours.identifier.lower()) == (
        theirs.schema.lower(),
        theirs.identifier.lower(),
    )


def seed_for(source: Source, location: SourceLocation) -> str:
    """The name of the seed a ``from: seeds`` source table reads (``prefix + identifier``)."""
    return location.name_for(source.identifier)


# ---------------------------------------------------------------------- checking


def check_source(
    session: Session,
    source: Source,
    location: SourceLocation,
    root: Path,
    *,
    seed: Seed | None = None,
    dbt_project: bool = False,
) -> None:
    """Check, before any model runs, that the source's data exists and has every declared
    column. Reads only file headers, Parquet metadata or the catalog. For ``from: seeds``
    pass the seed node: its CSV's header is checked (the seed need not be loaded yet). In
    a dbt project a source without its seed (disabled, or loaded by an earlier `seed`) is,
    as in dbt, the relation already in the database."""
    if location.kind == "seeds":
        if seed is None and dbt_project:
            _check_columns(source, _existing_columns(session, source), _relation_shown(source))
            return
        if seed is None:
            raise _no_seed(source, location)
        data = ExternalData("csv", path=str(root / seed.path))
        where = _shown(root / seed.path, root)
    else:
        data, where = _locate(session, source, location, root)
    _check_columns(source, _data_columns(session, source, data, where), where)


def check_sources(
    session: Session,
    sources: list[Source],
    locations: SourceLocations,
    root: Path,
    seeds: Mapping[str, Seed],
    *,
    dbt_project: bool = False,
) -> list[SourceError]:
    """Check every source's landing contract (data present, header readable, every declared
    column there) and return what is wrong with each, in order. Reads headers and
    metadata only; ``seeds`` maps seed name -> node for ``from: seeds`` sources, whose CSV
    header is checked before the seed is loaded."""
    problems: list[SourceError] = []
    for source in sources:
        location = locations.for_source(source.source_name)
        seed = seeds.get(seed_for(source, location)) if location.kind == "seeds" else None
        try:
            check_source(session, source, location, root, seed=seed, dbt_project=dbt_project)
        except SourceError as exc:
            problems.append(exc)
    return problems


def create_source(
    session: Session,
    source: Source,
    location: SourceLocation,
    root: Path,
    seed_relation: Relation | None,
) -> None:
    """Create (or replace) the view at ``source.relation`` reading the source's data with
    the declared column types. ``seed_relation`` is the loaded seed for ``from: seeds``.
    Raises SourceError when the data is missing or lacks a declared column."""
    if location.kind == "seeds":
        if seed_relation is None:
            raise _no_seed(source, location)
        data = ExternalData("table", relation=seed_relation)
        where = f"seed '{seed_for(source, location)}'"
    else:
        data, where = _locate(session, source, location, root)
    _check_columns(source, _data_columns(session, source, data, where), where)
    session.create_schema(source.relation.schema)
    columns = {column.name: column.data_type for column in source.columns}
    try:
        session.create_source_view(source.relation, data, columns)
    except DataError as exc:
        if exc.line and data.format == "csv" and data.path is not None:
            raise NodeError(  # a row of the file (bad data, exit 1): name file and line
                f"source {_label(source)}: {exc.message}",
                path=_shown(Path(data.path), root),
                line=exc.line,
                hint=exc.hint,
            ) from None
        raise _error(source, exc.message, exc.hint) from None


def create_source_view(
    session: Session,
    source: Source,
    graph: Any,
    locations: SourceLocations,
    root: Path,
    *,
    dbt_project: bool = False,
) -> str:
    """Create the view of ``source`` where ``locations`` say it lands (the seed it reads
    found in ``graph``); return the kind of location. Raises SourceError as create_source.
    In a dbt project a source at its seed's relation, or whose seed is not in the project,
    is the relation already there (dbt's meaning): its columns are checked, nothing made."""
    location = locations.for_source(source.source_name)
    seed_relation = None
    if location.kind == "seeds":
        name = seed_for(source, location)
        seed = graph.nodes.get(f"seed.{name}")
        if dbt_project and (seed is None or reads_in_place(source, seed)):
            _check_columns(source, _existing_columns(session, source), _relation_shown(source))
            return "the relation in place"
        if seed is None:
            raise SourceError(
                f"source {source.source_name}.{source.name} reads seed '{name}', "
                "which is not in the project",
                path=source.path,
                line=source.line,
                hint=f"add seeds/{name}.csv, or say where '{source.source_name}' lands "
                "with sources: in profiles.yml (from: files or from: database)",
            )
        seed_relation = seed.relation
    create_source(session, source, location, root, seed_relation)
    return location.kind


# ---------------------------------------------------------------------- bad values


def csv_file(
    source: Source, location: SourceLocation, root: Path, seed: Seed | None
) -> Path | None:
    """The CSV file a source reads (its landing file, or its seed's file), if it reads one."""
    if location.kind == "seeds":
        return root / seed.path if seed is not None else None
    if location.kind != "files" or location.format == "parquet" or location.path is None:
        return None
    file = location.path / f"{location.name_for(source.identifier)}.csv"
    return file if file.is_file() else None


def bad_value_error(
    explained: Explanation, candidates: list[tuple[Source, Path]], root: Path
) -> NodeError | None:
    """When the engine says a value did not convert to its declared type, find that
    value in the CSV files of the sources the failing node reads: an error naming the
    file, line and column; likewise a row the CSV reader rejects (None if the error is
    about something else, or the value is not found). Reads the files only on this
    failure path."""
    if explained.kind == NOT_UTF8:
        return _not_utf8(candidates, root)
    if explained.kind == MALFORMED_CSV:
        return _malformed_row(explained, candidates, root)
    if explained.kind != BAD_VALUE or explained.value is None:
        return None
    value = explained.value
    named = explained.column
    for source, path in candidates:
        typed = [
            c
            for c in source.columns
            if c.data_type and (named is None or c.name.lower() == named.lower())
        ]
        found = _find_value(path, [c.name for c in typed], value) if typed else None
        if found is None:
            continue
        line, name = found
        column = next(c for c in typed if c.name.lower() == name.lower())
        declared = f"{source.path}:{column.line}" if column.line else str(source.path)
        return NodeError(
            f"source {_label(source)}: line {line}, column '{name}': value \"{value}\" is not "
            f"a valid {str(column.data_type).upper()}",
            path=_shown(path, root),
            line=line,
            hint=f"fix the value in the file, or change the column's data_type ({declared})",
        )
    # Not found as written: DuckDB shows an undecodable byte as '?', so the value may be
    # on a line that is not UTF-8; or it escapes a NUL byte as \0: then where the CSV
    # reader says it is, if it does.
    csv_row = explained.csv_row
    return _not_utf8(candidates, root) or (
        _malformed_row(csv_row, candidates, root) if csv_row is not None else None
    )


def _not_utf8(candidates: list[tuple[Source, Path]], root: Path) -> NodeError | None:
    """The first source file of ``candidates`` with a byte that is not UTF-8, at its line."""
    from .files import UTF8_HINT, find_bad_utf8

    for source, path in candidates:
        try:
            found = find_bad_utf8(path)
        except OSError:
            continue
        if found is not None:
            line, column, byte = found
            return NodeError(
                f"source {_label(source)}: the file is not UTF-8 text: byte 0x{byte:02x} at "
                f"line {line}, column {column}",
                path=_shown(path, root),
                line=line,
                hint=UTF8_HINT,
            )
    return None


def _malformed_row(
    explained: Explanation, candidates: list[tuple[Source, Path]], root: Path
) -> NodeError | None:
    """A row of a source's CSV that the reader rejects (wrong number of fields, a stray
    quote), reported at its line in the file it is in."""
    if explained.file is None:
        return None
    named = Path(explained.file).resolve()
    for source, path in candidates:
        if path.resolve() != named:
            continue
        hint = explained.hint
        column = next(
            (c for c in source.columns if explained.column and c.name == explained.column),
            None,
        )
        if column is not None and column.data_type and "is not a valid" in explained.message:
            declared = f"{source.path}:{column.line}" if column.line else str(source.path)
            hint = f"fix the value in the file, or change the column's data_type ({declared})"
        return NodeError(
            f"source {_label(source)}: {explained.message}",
            path=_shown(path, root),
            line=explained.line,
            hint=hint,
        )
    return None


def _find_value(path: Path, columns: list[str], value: str) -> tuple[int, str] | None:
    """(line, column) of the first row holding ``value`` in one of ``columns``."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            where = {name.lower(): i for i, name in enumerate(header)}
            wanted = [
                (where[c.lower()], header[where[c.lower()]]) for c in columns if c.lower() in where
            ]
            for row in reader:
                for index, name in wanted:
                    if index < len(row) and row[index].strip() == value.strip():
                        return reader.line_num, name
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


# ---------------------------------------------------------------------- helpers


def _label(source: Source) -> str:
    return f"{source.source_name}.{source.name}"


def _error(source: Source, message: str, hint: str | None, line: int | None = None) -> SourceError:
    return SourceError(
        f"source {_label(source)}: {message}",
        path=source.path,
        line=line or source.line,
        hint=hint,
    )


def _shown(path: Path, root: Path) -> str:
    """A path as messages show it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _relation_shown(source: Source) -> str:
    return f"relation {source.relation.render()}"


def _existing_columns(session: Session, source: Source) -> list[ColumnInfo]:
    """The columns of the relation a dbt source names, which must already exist."""
    columns = session.data_columns(ExternalData("table", relation=source.relation))
    if columns is None:
        raise _error(
            source,
            f"{_relation_shown(source)} does not exist in the target database",
            "load it first (dbt's jaffle-shop: runner seed --vars '{load_source_data: true}'), "
            "or say where the source lands with sources: in profiles.yml",
        )
    return columns


def _no_seed(source: Source, location: SourceLocation) -> SourceError:
    name = seed_for(source, location)
    return _error(
        source,
        f"reads seed '{name}', which is not in the project",
        f"add seeds/{name}.csv, or set where source '{source.source_name}' is read from "
        "under sources: in profiles.yml (or --vars)",
    )


def _locate(
    session: Session, source: Source, location: SourceLocation, root: Path
) -> tuple[ExternalData, str]:
    """The data of a ``files`` or ``database`` source, and how messages name it."""
    assert location.path is not None
    name = location.name_for(source.identifier)
    if location.kind == "database":
        if not location.path.is_file():
            raise _error(
                source,
                f"database file {_shown(location.path, root)} not found",
                f"check sources.{source.source_name}.path in profiles.yml (or --vars)",
            )
        catalog = session.attach_database(location.path)
        relation = Relation(schema=location.schema, identifier=name, database=catalog)
        shown = f"table {location.schema}.{name} in {_shown(location.path, root)}"
        return ExternalData("table", relation=relation), shown
    data = landing_data(source, location, root)
    assert data.path is not None
    return data, _shown(Path(data.path), root)


def landing_data(source: Source, location: SourceLocation, root: Path) -> ExternalData:
    """The data files of a ``from: files`` source: ``<table>.csv``, ``<table>.parquet`` or
    ``<table>/*.parquet`` (a glob); SourceError when there is none, or more than one."""
    assert location.path is not None
    name = location.name_for(source.identifier)
    folder = location.path
    candidates: list[tuple[str, Path, ExternalData]] = []
    if location.format in ("auto", "csv"):
        file = folder / f"{name}.csv"
        candidates.append((f"{name}.csv", file, ExternalData("csv", path=str(file))))
    if location.format in ("auto", "parquet"):
        file = folder / f"{name}.parquet"
        candidates.append((f"{name}.parquet", file, ExternalData("parquet", path=str(file))))
        glob = folder / name / "*.parquet"
        candidates.append((f"{name}/*.parquet", glob, ExternalData("parquet", path=str(glob))))
    found = [
        (label, path, data)
        for label, path, data in candidates
        if (path.is_file() if "*" not in label else any(path.parent.glob("*.parquet")))
    ]
    expected = ", ".join(label for label, _, _ in candidates)
    if not found:
        where = _shown(folder, root)
        what = "no such folder" if not folder.is_dir() else "no data file"
        raise _error(
            source,
            f"{what}: expected {expected} in {where}",
            f"put the data in {where}, or point sources.{source.source_name}.path "
            "in profiles.yml (or --vars) at the folder that has it",
        )
    if len(found) > 1:
        raise _error(
            source,
            f"more than one data file in {_shown(folder, root)}: "
            + ", ".join(label for label, _, _ in found),
            f"remove one, or set format: csv or format: parquet for '{source.source_name}'",
        )
    return found[0][2]


def _data_columns(
    session: Session, source: Source, data: ExternalData, where: str
) -> list[ColumnInfo]:
    try:
        columns = session.data_columns(data)
    except DataError as exc:
        if data.format == "csv" and exc.line is not None:
            # Something wrong in the file itself (an empty file, a duplicated header
            # column): point at the file's line, not at the declaration.
            declared = f"the source is declared at {source.path}" + (
                f":{source.line}" if source.line else ""
            )
            raise SourceError(
                f"source {_label(source)}: {exc.message}",
                path=where,
                line=exc.line,
                hint=f"{exc.hint}; {declared}" if exc.hint else declared,
            ) from None
        raise _error(source, f"cannot read {where}: {exc.message}", exc.hint) from None
    if columns is None:
        hint = (
            "load the seed first (runner seed, or select it in the build)"
            if where.startswith("seed")
            else f"check sources.{source.source_name} (path, schema, prefix) in profiles.yml"
        )
        raise _error(source, f"{where} does not exist", hint)
    return columns


def _check_columns(source: Source, present: list[ColumnInfo], where: str) -> None:
    names = {column.name.lower() for column in present}
    missing = [column for column in source.columns if column.name.lower() not in names]
    if not missing:
        return
    first = missing[0]
    more = f" (also missing: {', '.join(c.name for c in missing[1:])})" if missing[1:] else ""
    raise _error(
        source,
        f"column '{first.name}' is missing from {where}{more}",
        f"{where} has columns: {', '.join(c.name for c in present) or '(none)'}; "
        "add the column to the data, or fix its declaration here",
        line=first.line,
    )
