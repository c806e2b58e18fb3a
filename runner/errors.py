"""Errors a user can cause, each carrying where it happened and what to do about it.

The CLI prints them as one block (``path:line: message`` then ``hint``) and exits
with ``exit_code``; no traceback unless ``--debug``.
"""

from __future__ import annotations

from pathlib import Path


class RunnerError(Exception):
    """Base error: a message, an optional file and line, and a hint."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.hint = hint

    def __reduce__(self) -> tuple:
        # Keep path, line and hint when the error crosses a process boundary.
        return (_rebuild, (type(self), self.message, self.path, self.line, self.hint))

    @property
    def where(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (database errors run to many lines),
    or its type's name when it has no message."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _rebuild(cls: type, message: str, path: Path | None, line: int | None, hint: str | None):
    return cls(message, path=path, line=line, hint=hint)


class ProjectError(RunnerError):
    """The project, its YAML, its profiles or its SQL is wrong (exit 2)."""


class NodeError(RunnerError):
    """A node failed while it ran: its SQL failed on the database, or its data did (exit 1)."""

    exit_code = 1


class UsageError(RunnerError):
    """The command line asks for something that cannot be done (exit 2)."""


class ErrorGroup(RunnerError):
    """Several independent project errors found in one pass, reported together."""

    def __init__(self, errors: list[RunnerError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} errors")

    def __reduce__(self) -> tuple:
        return (ErrorGroup, (self.errors,))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class InternalError(RunnerError):
    """An exception nobody anticipated: most likely a bug in the runner (exit 2)."""


DEBUG_HINT = "run again with --debug (or RUNNER_DEBUG=1) to see the traceback"


def as_runner_error(exc: BaseException) -> RunnerError:
    """Any exception as a one-line RunnerError, for the CLI boundary.

    A RunnerError stays as it is. Exceptions whose cause is known (input nested past
    Python's recursion limit, an undecodable file, an operating-system error on a named
    file) say so with the file when one is known; anything else is reported as a likely
    bug, with how to see its traceback.
    """
    if isinstance(exc, RunnerError):
        return exc
    if isinstance(exc, RecursionError):
        return ProjectError(
            "input nested too deeply to read (Python's recursion limit was reached)",
            hint="flatten the deepest nesting (parentheses, brackets, YAML or --vars); "
            + DEBUG_HINT,
        )
    if isinstance(exc, UnicodeDecodeError):
        return ProjectError(
            f"a file is not UTF-8 text: {exc.reason} at byte {exc.start}",
            hint="save the file as UTF-8; " + DEBUG_HINT + " (it names the file)",
        )
    if isinstance(exc, OSError) and exc.filename:
        return UsageError(
            f"{exc.strerror or first_line(exc)}",
            path=exc.filename,
            hint="check that the path exists and can be read and written",
        )
    if type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb"):
        return ProjectError(
            f"database error: {first_line(exc)}",
            hint="check the target in profiles.yml and the SQL the command ran; " + DEBUG_HINT,
        )
    if isinstance(exc, MemoryError):
        return UsageError("out of memory", hint="free memory or build fewer nodes at once")
    return InternalError(
        f"unexpected {type(exc).__name__}: {first_line(exc)} (this is likely a bug in runner)",
        hint=DEBUG_HINT + ", and report it with the command you ran",
    )
