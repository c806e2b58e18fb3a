"""DuckDB reading external data: seeds (CSV into tables) and sources (views over files,
seeds or an attached database), with declared types and errors that name line and column.

A mixin of ``DuckDBSession``: it uses the session's cursor, ``replace_table`` and
``create_view``. The statements are DuckDB-specific (read_csv, read_parquet, ATTACH),
built as sqlglot expressions.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..cache import digest
from ..errors import ProjectError
from ..files import csv_header, find_byte
from ..nodes import Relation
from .base import ColumnInfo, DataError, ExternalData

if TYPE_CHECKING:
    from sqlglot import exp


class DuckDBExternalData:
    """Session methods for seeds and sources (see ``Session`` in base.py)."""

    # Provided by DuckDBSession: dialect, cursor, engine, replace_table, create_view,
    # relation_kind, columns, query_columns.
    dialect: ClassVar[str] = "duckdb"
    cursor: Any
    engine: Any

    def load_csv(
        self, relation: Relation, path: Path, column_types: Mapping[str, str]
    ) -> int | None:
        import duckdb
        from sqlglot import exp

        header = _csv_header(path)
        declared = _declared_in_header(header, column_types)
        self._check_rows(path, header, _row_probes(path, header, declared, self.dialect))
        # A naive TIMESTAMP is read as text and converted in the SELECT, because read_csv
        # would silently drop a UTC offset; every other declared type is parsed by read_csv
        # itself, so a bad value is reported with its line.
        types = {
            name: "VARCHAR" if _is_naive_timestamp(type_) else type_.sql(self.dialect)
            for name, type_ in declared.items()
        }
        options: dict[str, Any] = {**_CSV_STRICT}
        if types:
            options["types"] = types
        projections = [
            _utc_timestamp(_col(name), "VARCHAR").as_(_ident(name))
            if name in declared and _is_naive_timestamp(declared[name])
            else _col(name)
            for name in header
        ]
        select = exp.select(*projections).from_(_table_function("read_csv", str(path), options))
        try:
            return self.replace_table(relation, select.sql(self.dialect))
        except duckdb.InterruptException:
            raise
        except duckdb.Error as exc:
            raise self._csv_error(path, header, declared, exc) from None

    def sniff_csv_types(self, path: Path) -> dict[str, str] | None:
        import duckdb
        from sqlglot import exp

        options = {k: v for k, v in _CSV_STRICT.items() if k != "strict_mode"}
        reader = _table_function("sniff_csv", str(path), options)
        query = exp.select("Columns").from_(reader).sql(self.dialect)
        try:
            (found,) = self.cursor.execute(query).fetchone()
        except duckdb.Error:
            return None  # a malformed file: load_csv reports it with its line
        return {column["name"]: column["type"] for column in found}

    def csv_columns_matching(self, path: Path, tests: Mapping[str, str]) -> set[str]:
        import duckdb
        from sqlglot import exp

        if not tests:
            return set()
        columns = list(tests)
        types = {c: "DOUBLE" if t == "whole_number" else "VARCHAR" for c, t in tests.items()}
        checks = []
        for column in columns:
            value = _col(column)
            if tests[column] == "whole_number":
                passes = exp.EQ(this=value, expression=exp.func("trunc", value))
            else:
                lowered = exp.func("lower", exp.func("trim", value))
                passes = lowered.isin(exp.Literal.string("true"), exp.Literal.string("false"))
            checks.append(exp.func("coalesce", exp.func("bool_and", passes), exp.true()))
        options = {**_CSV_STRICT, "types": types}
        query = exp.select(*checks).from_(_table_function("read_csv", str(path), options))
        try:
            found = self.cursor.execute(query.sql(self.dialect)).fetchone()
        except duckdb.Error:
            return set()  # load_csv reports a bad file with its line
        return {column for column, passed in zip(columns, found, strict=True) if passed}

    def _csv_error(
        self,
        path: Path,
        header: list[str],
        declared: Mapping[str, exp.DataType],
        exc: Exception,
    ) -> DataError:
        """Turn DuckDB's report on a bad CSV into a DataError with line and column.

        The sniffer fails without a line number when a row has the wrong number of fields,
        and a failed timestamp conversion in the SELECT has none either: then the file is
        read once more with the columns given explicitly (no sniffing, declared types),
        which makes DuckDB name the line.
        """
        import duckdb
        from sqlglot import exp

        text = str(exc)
        if "CSV Error on Line" not in text:
            columns = {
                name: declared[name].sql(self.dialect) if name in declared else "VARCHAR"
                for name in header
            }
            reader = _table_function(
                "read_csv", str(path), {**_CSV_STRICT, "auto_detect": False, "columns": columns}
            )
            # count(column) for every column, so that every value is really converted.
            probe = exp.select(*(exp.func("count", _col(n)) for n in header)).from_(reader)
            try:
                self.cursor.execute(probe.sql(self.dialect)).fetchall()
            except duckdb.Error as again:
                text = str(again)
        described = describe_csv_error(text, header, declared)
        if "Maximum line size" in text:
            # The sniffer reports it at line 1 whatever line it is: find the line.
            line = _first_long_line(path, _MAX_LINE_SIZE)
            if line is not None and line != described.line:
                message = re.sub(r"^line \d+", f"line {line}", described.message)
                described = DataError(message, line=line, hint=described.hint)
        return described

    def data_columns(self, data: ExternalData) -> list[ColumnInfo] | None:
        import duckdb

        if data.format == "csv":
            assert data.path is not None
            return [ColumnInfo(name, "VARCHAR") for name in _csv_header(Path(data.path))]
        if data.format == "parquet":
            assert data.path is not None
            template = _files_template(data)
            query = _with_files(
                self._sql_memo(
                    "parquet_select", (self.dialect,), lambda: _select_all(template, self.dialect)
                ),
                data,
            )
            try:
                return self.query_columns(query)
            except duckdb.Error as exc:
                raise DataError(_first_line(str(exc)), hint="is it a valid Parquet file?") from None
        assert data.relation is not None
        if self.relation_kind(data.relation) is None:
            return None
        return self.columns(data.relation)

    def create_source_view(
        self, relation: Relation, data: ExternalData, columns: Mapping[str, str | None]
    ) -> None:
        header = self._csv_columns(data)
        if data.format == "csv" and data.path is not None:
            declared = {name: type_ for name, type_ in columns.items() if type_}
            path = Path(data.path)
            probes = self._sql_memo(
                "csv_probes",
                (self.dialect, data.path, header, list(declared.items())),
                lambda: _row_probes(
                    path, header, {n: _data_type(t) for n, t in declared.items()}, self.dialect
                ),
            )
            self._check_rows(path, header, probes)
        present = [(c.name, c.type) for c in self.data_columns(data) or ()] if columns else []

        template = _files_template(data)

        def build() -> str:
            return _source_view_select(template, columns, present, header, self.dialect)

        # Cached without the file names: a night's new files have names no night had, and
        # building the text again would import sqlglot on the night's critical path.
        parts = (self.dialect, template, list(columns.items()), present, header)
        select = _with_files(self._sql_memo("source_view", parts, build), data)
        self.create_view(relation, select)

    def _sql_memo(self, kind: str, parts: Any, build: Callable[[], Any]) -> Any:
        """What ``build`` makes (statements built with sqlglot) of the plain values
        ``parts``, kept in the project's parse cache under them when the build gave the
        engine one (``sql_cache``): a warm run reuses the text and never imports sqlglot.
        A build that raises (e.g. an unknown type) is not cached: it raises again."""
        cache = getattr(self.engine, "sql_cache", None)
        if cache is None:
            return build()
        key = digest(kind, parts)
        found = cache.get("statements", key)
        if found is None:
            found = build()
            cache.put("statements", key, found)
        return found

    def _check_rows(self, path: Path, header: list[str], probes: _RowProbes) -> None:
        """What DuckDB's reader and casts accept but the landing contract does not, in one
        scan of the file (``_row_probes`` says what): an extra trailing field, a number not
        written in decimal digits, a NUL byte. A refused row is found in Python, on this
        failure path."""
        import duckdb

        queries, patterns = probes
        for query in queries:
            try:
                found = self.cursor.execute(query).fetchone()
                break
            except duckdb.Error as exc:
                if "parallel=false" not in str(exc):
                    return  # the real read reports what is wrong with the file
        else:
            return
        if found[0]:
            line, fields = _first_long_row(path, len(header))
            raise DataError(
                f"line {line} has {fields} fields but the header has {len(header)} "
                f"({', '.join(header)}): an extra value after the last column '{header[-1]}'",
                line=line,
                hint="remove the extra delimiter at the end of the line, or quote a value "
                'that contains a comma ("a,b")',
            )
        if found[1]:
            line, column = find_byte(path, b"\0") or (0, 0)
            raise DataError(
                f"line {line} holds a NUL byte (column {column} of the line): the file is "
                "damaged or not a text file",
                line=line,
                hint="remove the NUL byte (e.g. tr -d '\\000' < FILE > NEW), or deliver the "
                "file again",
            )
        if len(found) > 2 and found[2]:
            line, name, value = _first_not_decimal(path, header, patterns)
            kind = "integer" if patterns[name] == _NOT_DECIMAL["integer"] else "number"
            rule = "no 0x, _, e or fraction" if kind == "integer" else "a '.' at most, no _ or e"
            raise DataError(
                f"line {line}, column '{name}': value \"{value}\" is not a decimal {kind}",
                line=line,
                column=name,
                hint=f"write {kind}s in decimal digits (an optional sign, {rule}): "
                "fix the value in the file, or declare the column as another type",
            )

    def _csv_columns(self, data: ExternalData) -> list[str] | None:
        if data.format != "csv" or data.path is None:
            return None
        return _csv_header(Path(data.path))

    def attach_database(self, path: Path) -> str:
        from sqlglot import exp

        resolved = str(Path(path).resolve())
        # Under the engine lock, so two workers attaching the same file agree on one name.
        with self.engine._lock:
            rows = self.cursor.execute(
                "select database_name, path from duckdb_databases()"
            ).fetchall()
            for name, attached in rows:
                if attached == resolved:
                    return str(name)
            taken = {str(name).lower() for name, _ in rows}
            base = "src_" + (re.sub(r"\W+", "_", Path(resolved).stem).strip("_").lower() or "db")
            alias, n = base, 1
            while alias in taken:
                n += 1
                alias = f"{base}_{n}"
            statement = exp.Attach(
                this=exp.alias_(
                    exp.Literal.string(resolved), exp.to_identifier(alias, quoted=True)
                ),
                expressions=[exp.AttachOption(this=exp.var("READ_ONLY"))],
            )
            self.cursor.execute(statement.sql(self.dialect))
        return alias


# CSV files are read strictly: an explicit RFC 4180 dialect, a header row, and strict mode,
# so a malformed row is an error instead of a silently re-sniffed file.
_CSV_STRICT: dict[str, Any] = {
    "delim": ",",
    "quote": '"',
    "escape": '"',
    "header": True,
    "strict_mode": True,
}

_MAX_LINE_SIZE = 2_000_000  # DuckDB's default max_line_size, in bytes


# (the probe query, then the same without parallel reading), {header name: pattern}
_RowProbes = tuple[list[str], dict[str, str]]


def _row_probes(
    path: Path, header: list[str], types: Mapping[str, exp.DataType], dialect: str
) -> _RowProbes:
    """``_check_rows``' queries over a CSV: a trailing empty field ('2,DE,' under a
    2-column header is read as 2 fields, even in strict mode: the file is read with one
    column more than the header), a number that is not written in decimal digits (an
    integer column holding 0x10, 0b1, 1_000, 1e3 or 1.5, a decimal one holding 1_000 or
    1e3: the casts read them as numbers), and a NUL byte inside a text value (DuckDB keeps
    it; it means a damaged or binary file). ``types``: the declared types by column name.
    The second query reads sequentially, for a file with quoted newlines (null padding
    needs that)."""
    from sqlglot import exp

    extra = "__runner_extra_field"
    options = {
        **_CSV_STRICT,
        "auto_detect": False,
        "columns": {**{name: "VARCHAR" for name in header}, extra: "VARCHAR"},
        "null_padding": True,
        "nullstr": "\x01",  # so an empty extra field reads as '', not NULL
    }
    present = {name.lower(): name for name in header}
    patterns = {  # the header's spelling -> what its values must not look like
        present[name.lower()]: _NOT_DECIMAL[kind]
        for name, type_ in types.items()
        if name.lower() in present and (kind := _number_kind(type_))
    }
    not_decimal = [
        exp.func("regexp_matches", _col(name), exp.Literal.string(pattern))
        for name, pattern in patterns.items()
    ]
    nul = exp.func("chr", exp.Literal.number(0))
    has_nul = exp.or_(*(exp.func("contains", _col(name), nul.copy()) for name in header))
    counts = [exp.func("count", exp.column(extra)), exp.func("count_if", has_nul)]
    if not_decimal:
        counts.append(exp.func("count_if", exp.or_(*not_decimal)))
    queries = [
        exp.select(*counts).from_(_table_function("read_csv", str(path), attempt)).sql(dialect)
        for attempt in (options, {**options, "parallel": False})
    ]
    return queries, patterns


# Where a cached statement names the files it reads (see _files_template).
_FILES_PLACEHOLDER = "__runner_files__"


def _files_template(data: ExternalData) -> ExternalData:
    """``data`` with its files replaced by a placeholder: what a statement is cached under,
    so that the same source read from other files (a night's new ones) is a cache hit."""
    if data.path is None:
        return data
    return dataclasses.replace(data, path=_FILES_PLACEHOLDER, paths=())


def _with_files(template_sql: str, data: ExternalData) -> str:
    """A statement built from ``_files_template(data)`` naming ``data``'s own files again:
    one string literal, or a list of them for several files (DuckDB's quoting: ' doubled,
    a backslash is an ordinary character)."""
    if data.path is None:
        return template_sql
    quoted = [_string_literal(p) for p in (data.paths or (data.path,))]
    files = f"[{', '.join(quoted)}]" if data.paths else quoted[0]
    placeholder = _string_literal(_FILES_PLACEHOLDER)
    assert template_sql.count(placeholder) == 1, template_sql
    return template_sql.replace(placeholder, files)


def _string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _select_all(data: ExternalData, dialect: str) -> str:
    from sqlglot import exp

    return exp.select("*").from_(_reader(data)).sql(dialect)


def _source_view_select(
    data: ExternalData,
    columns: Mapping[str, str | None],
    present: list[tuple[str, str]],
    header: list[str] | None,
    dialect: str,
) -> str:
    """A source view's query: the declared columns cast to their declared types (naive
    timestamps taken as UTC), named as declared; ``present``: the data's own (name, type)
    columns; no columns declared: every column of the data."""
    from sqlglot import exp

    if not columns:
        return exp.select("*").from_(_reader(data, header)).sql(dialect)
    by_lower = {name.lower(): (name, type_) for name, type_ in present}
    projections: list[exp.Expression] = []
    for name, declared in columns.items():
        found = by_lower.get(name.lower())
        # The name as the data spells it; DuckDB matches case-insensitively anyway.
        column = _col(found[0] if found else name)
        if declared is None:
            projections.append(column.as_(_ident(name)))
            continue
        to = _data_type(declared)
        if _is_naive_timestamp(to):
            value = _utc_timestamp(column, found[1] if found else "VARCHAR")
        else:
            value = exp.Cast(this=column, to=to)
        projections.append(value.as_(_ident(name)))
    return exp.select(*projections).from_(_reader(data, header)).sql(dialect)


def _first_long_line(path: Path, limit: int) -> int | None:
    """The number of the first line of ``path`` longer than ``limit`` bytes."""
    try:
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                if len(line.rstrip(b"\r\n")) > limit:
                    return number
    except OSError:
        return None
    return None


# A time followed by a numeric UTC offset (+02, -05:30, +0200); a trailing Z needs no care.
_OFFSET = r"\d:\d\d(:\d\d(\.\d+)?)?\s*[+-]\d\d(:?\d\d)?$"


def _ident(name: str) -> exp.Identifier:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True)


def _col(name: str) -> exp.Column:
    from sqlglot import exp

    return exp.column(_ident(name))


def _literal(value: Any) -> exp.Expression:
    from sqlglot import exp

    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, Mapping):
        return exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.Literal.string(k), expression=_literal(v))
                for k, v in value.items()
            ]
        )
    return exp.Literal.string(str(value))


def _table_function(
    name: str, path: str | tuple[str, ...], options: Mapping[str, Any]
) -> exp.Table:
    """``name('path', key = value, ...)``; several paths are a list: ``['a', 'b']``."""
    from sqlglot import exp

    if isinstance(path, tuple):
        files: exp.Expression = exp.Array(expressions=[exp.Literal.string(p) for p in path])
    else:
        files = exp.Literal.string(path)
    args: list[exp.Expression] = [files]
    args += [exp.EQ(this=exp.column(key), expression=_literal(v)) for key, v in options.items()]
    return exp.Table(this=exp.Anonymous(this=name, expressions=args))


def _reader(data: ExternalData, csv_header: list[str] | None = None) -> exp.Table:
    """FROM clause for the data. A CSV is read with its header's columns given explicitly,
    all as text: nothing is sniffed, and a bad row is reported with its line."""
    from sqlglot import exp

    if data.format == "csv":
        assert data.path is not None and csv_header is not None
        options = {
            **_CSV_STRICT,
            "auto_detect": False,
            "columns": {name: "VARCHAR" for name in csv_header},
        }
        return _table_function("read_csv", data.path, options)
    if data.format == "parquet":
        assert data.path is not None
        return _table_function("read_parquet", data.paths or data.path, {"union_by_name": True})
    relation = data.relation
    assert relation is not None
    return exp.Table(
        this=_ident(relation.identifier),
        db=_ident(relation.schema),
        catalog=_ident(relation.database) if relation.database else None,
    )


def _data_type(type_: str) -> exp.DataType:
    from sqlglot import exp

    try:
        return exp.DataType.build(type_, dialect="duckdb")
    except Exception:
        raise DataError(
            f"unknown column type {type_!r}", hint="use a DuckDB type, e.g. DECIMAL(18,4)"
        ) from None


def _is_naive_timestamp(type_: exp.DataType) -> bool:
    from sqlglot import exp

    return type_.this in (
        exp.DataType.Type.TIMESTAMP,
        exp.DataType.Type.TIMESTAMPNTZ,
        exp.DataType.Type.DATETIME,
    )


def _utc_timestamp(value: exp.Expression, from_type: str) -> exp.Expression:
    """A TIMESTAMP in UTC, whatever the session's time zone: text with an offset and
    TIMESTAMPTZ values are converted to UTC, text without an offset is taken as UTC."""
    from sqlglot import exp

    timestamp = exp.DataType.build("TIMESTAMP")
    timestamptz = exp.DataType.build("TIMESTAMPTZ")
    to_utc = exp.func("timezone", exp.Literal.string("UTC"), exp.Cast(this=value, to=timestamptz))
    upper = from_type.upper()
    if upper in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"):
        return exp.func("timezone", exp.Literal.string("UTC"), value.copy())
    if upper not in ("VARCHAR", "TEXT", "STRING"):
        return exp.Cast(this=value, to=timestamp)
    has_offset = exp.func("regexp_matches", value.copy(), exp.Literal.string(_OFFSET))
    return exp.Case(
        ifs=[exp.If(this=has_offset, true=to_utc)],
        default=exp.Cast(this=value.copy(), to=timestamp),
    )


def _first_long_row(path: Path, width: int) -> tuple[int, int]:
    """(line, fields) of the first row with more than ``width`` fields (failure path)."""
    import csv

    with open(path, encoding="utf-8-sig", newline="", errors="replace") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row in reader:
            if len(row) > width:
                return reader.line_num, len(row)
    return 0, width


# What DuckDB's integer cast takes beyond decimal digits: 0x/0b/0o prefixes, digit
# separators, exponents and a fraction (which it rounds). Anything else is left to the
# cast, whose own error is located in the file.
_NOT_DECIMAL = {
    # 3.00 is read as 3, exactly (dbt's seed types call such a column integer); 1.5 would
    # be rounded to 2, so a fraction that is not zero is refused
    "integer": r"^\s*[+-]?(0[xXbBoO]|[0-9]*[_eE]|[0-9]*\.[0-9]*[1-9])",
    "decimal": r"^\s*[+-]?[0-9.]*[_eE]",  # DuckDB's DECIMAL cast takes 1_000 and 1e3
}


def _number_kind(type_: exp.DataType) -> str | None:
    """'integer' or 'decimal' for the declared types whose text _check_rows checks."""
    from sqlglot import exp

    if type_.is_type(*exp.DataType.INTEGER_TYPES):
        return "integer"
    if type_.is_type(exp.DataType.Type.DECIMAL):
        return "decimal"
    return None


def _first_not_decimal(
    path: Path, header: list[str], patterns: Mapping[str, str]
) -> tuple[int, str, str]:
    """(line, column, value) of the first value that matches its column's pattern."""
    import csv

    where = [(header.index(c), c, re.compile(p)) for c, p in patterns.items()]
    with open(path, encoding="utf-8-sig", newline="", errors="replace") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row in reader:
            for index, name, pattern in where:
                if index < len(row) and pattern.search(row[index]):
                    return reader.line_num, name, row[index]
    return 0, next(iter(patterns)), ""


def _csv_header(path: Path) -> list[str]:
    """The header row of a CSV file (read with Python: cheap, and it never guesses)."""
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        header = csv_header(path)
    except ProjectError as exc:  # a bad byte or a NUL in the header row
        raise DataError(exc.message, line=exc.line or 1, hint=exc.hint) from None
    if not header:
        raise DataError(
            "the file is empty; a header row with the column names is required",
            line=1,
            hint="add a first line naming the columns, e.g. id,name",
        )
    seen: set[str] = set()
    for index, name in enumerate(header, 1):
        if not name.strip():
            raise DataError(
                f"column {index} has no name in the header row",
                line=1,
                hint="every column needs a name in the first line",
            )
        if name.lower() in seen:
            raise DataError(
                f"column '{name}' appears twice in the header row",
                line=1,
                column=name,
                hint="column names must be unique (case-insensitively)",
            )
        seen.add(name.lower())
    return header


def _declared_in_header(
    header: list[str], column_types: Mapping[str, str]
) -> dict[str, exp.DataType]:
    """Declared types keyed by the header's spelling; a declared column must be there."""

    by_lower = {name.lower(): name for name in header}
    declared: dict[str, exp.DataType] = {}
    for name, type_ in column_types.items():
        actual = by_lower.get(name.lower())
        if actual is None:
            raise DataError(
                f"column '{name}' has a declared type but is not in the CSV header "
                f"({', '.join(header)})",
                line=1,
                column=name,
                hint="fix the column name under column_types (seeds/_seeds.yml) "
                "or add the column to the file",
            )
        declared[actual] = _data_type(type_)
    return declared


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return re.sub(r"^[A-Za-z ]*Error: ", "", line)


def _csv_reason(text: str) -> str:
    """The sentence saying what is wrong in DuckDB's multi-paragraph CSV error: the last
    paragraph before "Possible fixes" (the ones before it repeat the line and its text)."""
    head = re.split(r"Possible (?:fixes|solutions?)", text, flags=re.IGNORECASE)[0]
    paragraphs = [p.strip() for p in head.split("\n\n") if p.strip()]
    if not paragraphs:
        return _first_line(text)
    return paragraphs[-1].splitlines()[-1].strip()


def describe_csv_error(
    text: str, header: list[str], declared: Mapping[str, exp.DataType]
) -> DataError:
    line_match = re.search(r"CSV Error on Line: (\d+)", text)
    line = int(line_match.group(1)) if line_match else None
    where = f"line {line}" if line else "a row"
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if fields:
        expected, found = int(fields.group(1)), int(fields.group(2))
        if found > expected:
            column = header[-1]
            detail = f"an extra value after the last column '{column}'"
        else:
            column = header[min(found, len(header) - 1)]
            detail = f"no value for column '{column}'"
        return DataError(
            f"{where} has {found} fields but the header has {expected} "
            f"({', '.join(header)}): {detail}",
            line=line,
            column=column,
            hint="every row needs one value per header column; quote a value that "
            'contains a comma ("a,b") and double quotes inside quotes ("say ""hi""")',
        )
    cast = re.search(
        r'Error when converting column "(.*?)"\. Could not convert string "(.*?)" to \'(.*?)\'',
        text,
        re.DOTALL,
    )
    if cast:
        column, value, type_ = cast.groups()
        declared_type = declared.get(column)
        if declared_type is not None:
            shown = declared_type.sql("duckdb")
            hint = (
                f"fix the value in the file, or change the type of '{column}' under "
                "column_types (seeds/_seeds.yml)"
            )
        else:
            shown = type_
            hint = (
                f"the type of '{column}' was inferred from the first rows; declare it under "
                "column_types (seeds/_seeds.yml), or fix the value"
            )
        if "\\0" in value:  # DuckDB shows a NUL byte as \0
            shown += " (it holds a NUL byte: is the file truncated or binary?)"
        return DataError(
            f"{where}, column '{column}': value \"{value}\" is not a valid {shown}",
            line=line,
            column=column,
            hint=hint,
        )
    reason = _csv_reason(text)
    hint = 'check the file is comma-separated UTF-8 with a header row and " as quote'
    if "unterminated quote" in reason:
        hint = "close the quote; if this is the last line, the file may have been cut short"
    elif "Maximum line size" in reason:
        hint = (
            "a line this long is usually an unclosed quote or a missing line break; "
            "a real value this long needs the file split or the column moved to Parquet"
        )
    return DataError(
        f"{where}: {reason}" if line else _first_line(text),
        line=line,
        hint=hint,
    )
