"""Reading the project's own files: one place that turns bytes into text.

Every file a user writes (pyproject.toml, profiles.yml, YAML, models, macros, the header
row of a CSV) is read here, so an undecodable byte or a stray NUL is reported the same
way everywhere: the file, the line and column of the byte, and what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path, PurePath, PurePosixPath

from .errors import ProjectError

_BOM = "\ufeff"
_BLOCK = 1 << 20
UTF8_HINT = "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 FILE > NEW)"


def read_text(path: Path, *, shown: PurePath | str | None = None, nul_ok: bool = False) -> str:
    """The text of a project file, decoded as UTF-8 (a leading BOM dropped).

    ``shown`` is the path errors name (default ``path``). A byte that is not UTF-8, or a
    NUL byte (unless ``nul_ok``), is a ProjectError at its line.
    """
    where = shown if shown is not None else path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProjectError(
            f"cannot read the file: {exc.strerror or exc}",
            path=where,
            hint="check that it exists and is readable",
        ) from None
    text = decode(data, where)
    if not nul_ok:
        check_no_nul(text, where)
    return text


def decode(data: bytes, where: PurePath | str, first_line: int = 1) -> str:
    """UTF-8 bytes to text; an invalid byte is a ProjectError naming its line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_byte(data, exc, where, first_line) from None
    return text[1:] if text.startswith(_BOM) else text


def check_no_nul(text: str, where: PurePath | str) -> None:
    """A NUL byte in a text file is almost always a damaged or binary file."""
    at = text.find("\0")
    if at < 0:
        return
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    raise ProjectError(
        f"file contains a NUL byte (line {line}, column {column}): it is not a text file, "
        "or it is damaged",
        path=where,
        line=line,
        hint="remove the NUL byte (e.g. tr -d '\\000' < FILE > NEW), or restore the file",
    )


def csv_header(path: Path, *, shown: PurePath | str | None = None) -> list[str]:
    """The header row of a CSV file, read without reading the rest (files can be large).

    Empty list for an empty file. Encoding problems in the header are ProjectErrors.
    """
    where = shown if shown is not None else path
    try:
        with path.open("rb") as handle:
            head = handle.readline()
    except OSError as exc:
        raise ProjectError(
            f"cannot read the file: {exc.strerror or exc}", path=where, hint="check it exists"
        ) from None
    text = decode(head, where)
    check_no_nul(text, where)
    try:
        return next(csv.reader(io.StringIO(text)), [])
    except csv.Error as exc:
        raise ProjectError(f"unreadable header row: {exc}", path=where, line=1) from None


class _Cursor:
    """Line and column (both from 1) of the next byte, as a file is read block by block."""

    def __init__(self) -> None:
        self.line, self.column = 1, 1

    def advance(self, data: bytes) -> None:
        newlines = data.count(b"\n")
        if newlines:
            self.line += newlines
            self.column = len(data) - data.rfind(b"\n")
        else:
            self.column += len(data)


def find_byte(path: Path, byte: bytes) -> tuple[int, int] | None:
    """(line, column) of the first ``byte`` in ``path``, or None; reads in blocks, for a
    large data file whose reader has already said something is wrong."""
    cursor = _Cursor()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            at = block.find(byte)
            cursor.advance(block if at < 0 else block[:at])
            if at >= 0:
                return cursor.line, cursor.column
    return None


def find_bad_utf8(path: Path) -> tuple[int, int, int] | None:
    """(line, column, byte) of the first byte of ``path`` that is not UTF-8, or None.

    Reads in blocks, so it can be used on a large data file once its reader has
    complained about the encoding.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    cursor = _Cursor()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # exc.start is relative to the decoder's pending bytes plus this block;
                # the pending bytes (at most 3) belong to the end of the previous block.
                bad = exc.start - len(exc.object) + len(block)
                cursor.advance(block[: max(bad, 0)])
                return cursor.line, cursor.column + min(bad, 0), exc.object[exc.start]
            cursor.advance(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:  # the file ends inside a multi-byte character
        return cursor.line, cursor.column - len(exc.object), exc.object[exc.start]
    return None


def _bad_byte(
    data: bytes, exc: UnicodeDecodeError, where: PurePath | str, first_line: int
) -> ProjectError:
    line = data.count(b"\n", 0, exc.start) + first_line
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return ProjectError(
        f"file is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column "
        f"{column} ({exc.reason})",
        path=where,
        line=line,
        hint=UTF8_HINT,
    )


def builtin_macro_files() -> list[tuple[PurePosixPath, str]]:
    """The runner's own macros (dbt's cross-database macros, in DuckDB SQL), read without
    importing the templating (the parse cache's key needs their text, not Jinja)."""
    folder = Path(__file__).parent / "macros"
    return [
        (PurePosixPath(f"<runner>/macros/{p.name}"), p.read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.sql"))
    ]
