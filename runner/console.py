"""How errors and warnings reach a person: colour on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from .errors import ErrorGroup, RunnerError


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _emit(label: str, style: str, err: RunnerError, stream: TextIO) -> None:
    errors = err.errors if isinstance(err, ErrorGroup) else [err]
    for one in errors:
        where = _display_where(one)
        head = f"{where}: {one.message}" if where else one.message
        if _is_tty(stream):
            from rich.console import Console
            from rich.markup import escape

            console = Console(file=stream, highlight=False)
            console.print(f"[{style}]{label}[/] {escape(head)}")
            if one.hint:
                console.print(f"  [dim]hint:[/] {escape(one.hint)}")
        else:
            stream.write(f"{label} {head}\n")
            if one.hint:
                stream.write(f"  hint: {one.hint}\n")


def _display_where(err: RunnerError) -> str:
    """Absolute paths under the working folder are shown relative to it."""
    if err.path is None or not err.path.is_absolute():
        return err.where
    try:
        shown = err.path.relative_to(Path.cwd())
    except ValueError:
        shown = err.path
    return f"{shown}:{err.line}" if err.line else str(shown)


def print_error(err: RunnerError, stream: TextIO | None = None) -> None:
    _emit("error:", "bold red", err, stream or sys.stderr)


def print_warning(err: RunnerError, stream: TextIO | None = None) -> None:
    _emit("warning:", "yellow", err, stream or sys.stderr)
