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
