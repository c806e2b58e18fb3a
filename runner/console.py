"""How errors and warnings reach a person: colour on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
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
        head = f"{one.where}: {one.message}" if one.where else one.message
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


def print_error(err: RunnerError, stream: TextIO | None = None) -> None:
    _emit("error:", "bold red", err, stream or sys.stderr)


def print_warning(err: RunnerError, stream: TextIO | None = None) -> None:
    _emit("warning:", "yellow", err, stream or sys.stderr)
