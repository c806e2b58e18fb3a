"""Reading DuckDB's error texts: the one place that knows how DuckDB words its errors.

Everything else asks ``DuckDBEngine.explain(exc)`` and gets an ``Explanation``: what
kind of failure it is, the line of the statement DuckDB points at, the value that did
not cast, and what to do. Add a new DuckDB wording here, not at the caller.
"""

from __future__ import annotations

import csv
import re

from .base import (
    BAD_VALUE,
    DATABASE,
    INTERRUPTED,
    LOCKED,
    MALFORMED_CSV,
    NOT_UTF8,
    RESOURCES,
    Explanation,
)

_LINE = re.compile(r"LINE (\d+):")
_OUT_OF_MEMORY = re.compile(r"Out of Memory Error|max_temp_directory_size", re.IGNORECASE)
_DISK_FULL = re.compile(r"No space left on device|Disk quota exceeded|File too large")
_LOCK = re.compile(r"\bset lock\b|conflicting lock", re.IGNORECASE)
# A value that does not cast, in DuckDB's spellings: "Could not convert string 'x2' to
# INT32 when casting from source column customer_id", and from inside a CSV reader
# 'Error when converting column "customer_id". Could not convert string "x2" to 'INTEGER''.
_CONVERSION = re.compile(
    r"""Could not convert string (['"])(?P<value>.*?)\1 to '?(?P<type>[^'\n]+?)'?"""
    r"(?: when casting from source column (?P<column>\w+))?\s*$",
    re.MULTILINE,
)
_CONVERTING = re.compile(r'Error when converting column "(?P<column>[^"]+)"')
_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CSV_FILE = re.compile(r"^\s*file = (.+)$", re.MULTILINE)

DISK_FULL_HINT = (
    "the disk is full: free space where the database (and its .tmp folder) lives, "
    "or point temp_directory under settings in profiles.yml at a bigger disk; the "
    "relation keeps its previous version, run again when there is room"
)
OUT_OF_MEMORY_HINT = (
    "DuckDB ran out of memory or temp space: raise memory_limit, or "
    "max_temp_directory_size under settings in profiles.yml, or use fewer "
    "--threads; the relation keeps its previous version"
)
LOCK_HINT = (
    "another process is using it (a build, or a client holding it open); wait for it or close it"
)


def explain(exc: BaseException | str) -> Explanation:
    """Classify a DuckDB exception (or its message)."""
    text = (exc if isinstance(exc, str) else str(exc)).strip()
    message = text.splitlines()[0] if text else type(exc).__name__
    if not isinstance(exc, str) and type(exc).__name__ == "InterruptException":
        return Explanation(INTERRUPTED, message, text=text)
    if _DISK_FULL.search(text):
        return Explanation(RESOURCES, message, DISK_FULL_HINT, text=text)
    if _OUT_OF_MEMORY.search(text):
        return Explanation(RESOURCES, message, OUT_OF_MEMORY_HINT, text=text)
    if _LOCK.search(text):
        return Explanation(LOCKED, message, LOCK_HINT, text=text)
    if "Invalid unicode" in text or "not utf-8 encoded" in text:
        return Explanation(NOT_UTF8, message, text=text)
    line = _LINE.search(text)
    at = int(line.group(1)) if line else None
    conversion = _CONVERSION.search(text)
    csv_line, csv_file = _CSV_LINE.search(text), _CSV_FILE.search(text)
    if conversion is not None:
        csv_row = None
        if csv_line is not None and csv_file is not None:
            csv_row = _malformed_csv(text, csv_file.group(1).strip())
        converting = _CONVERTING.search(text)
        column = conversion.group("column") or (converting.group("column") if converting else None)
        return Explanation(
            BAD_VALUE,
            message,
            line=at,
            value=conversion.group("value"),
            column=column,
            type=conversion.group("type"),
            text=text,
            csv_row=csv_row,
        )
    if csv_line is not None:
        return _malformed_csv(text, csv_file.group(1).strip() if csv_file else None)
    return Explanation(DATABASE, message, line=at, text=text)


def _malformed_csv(text: str, file: str | None) -> Explanation:
    """A row DuckDB's CSV reader rejected, described against the file's header."""
    from .duckdb_files import describe_csv_error

    header: list[str] = []
    if file is not None:
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                header = next(csv.reader(handle), [])
        except (OSError, UnicodeDecodeError, csv.Error):
            header = []
    described = describe_csv_error(text, header, {})
    return Explanation(
        MALFORMED_CSV,
        described.message,
        described.hint,
        line=described.line,
        column=described.column,
        file=file,
        text=text,
    )
