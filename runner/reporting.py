"""Progress and results of a run, for people (rich, plain) and machines (json lines).

The scheduler calls a reporter from one thread only. Reporters sit on the hot path
(once or twice per node), so each event does little: format one line, write it.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .errors import UsageError
from .results import ERROR, SKIPPED, SUCCESS, WARN, NodeResult
from .text import counted

if TYPE_CHECKING:
    from .execute import ExecutionSummary
    from .nodes import Node

LOG_FORMATS = ("auto", "plain", "rich", "json")
SLOWEST = 5  # how many of the slowest nodes the summary lists
NAME_WIDTH = 48  # node name plus its dot leader, so the columns after it line up

LABELS = {SUCCESS: "OK", WARN: "WARN", ERROR: "ERROR", SKIPPED: "SKIP"}


class Reporter:
    """What the scheduler tells about a run. This base class ignores everything."""

    def start(self, total_nodes: int, *, threads: int = 1) -> None:
        """The run is about to start ``total_nodes`` nodes on ``threads`` worker threads."""

    def node_started(self, node: Node) -> None:
        """``node`` was handed to a worker thread."""

    def node_finished(self, node: Node, result: NodeResult) -> None:
        """``node`` finished (or was skipped: then it never started)."""

    def finish(self, summary: ExecutionSummary) -> None:
        """The run is over (also after Ctrl-C)."""


def make_reporter(log_format: str, stream: TextIO | None = None) -> Reporter:
    """The reporter for ``--log-format``: auto (rich on a terminal, else plain), plain, rich,
    json."""
    stream = stream if stream is not None else sys.stdout
    if log_format == "auto":
        log_format = "rich" if _is_tty(stream) else "plain"
    if log_format == "plain":
        return PlainReporter(stream)
    if log_format == "rich":
        return RichReporter(stream)
    if log_format == "json":
        return JsonReporter(stream)
    raise UsageError(
        f"unknown log format '{log_format}'", hint="use one of: " + ", ".join(LOG_FORMATS)
    )


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


# ---------------------------------------------------------------- shared pieces


@dataclass(frozen=True)
class ErrorInfo:
    """Where and what one failed node's error was, for summaries and json."""

    unique_id: str
    name: str
    path: str | None
    line: int | None
    message: str
    hint: str | None

    @property
    def where(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else self.path


def error_info(node: Node | None, result: NodeResult) -> ErrorInfo:
    """The error's own file and line when it has them, else the node's file."""
    err = result.error
    name = node.display_name if node is not None else result.unique_id
    if err is not None and err.path is not None:
        path = _shown_path(err.path)
        return ErrorInfo(result.unique_id, name, path, err.line, err.message, err.hint)
    path = str(node.path) if node is not None else None
    message = err.message if err is not None else result.message
    return ErrorInfo(result.unique_id, name, path, None, message, err.hint if err else None)


def _shown_path(path: Path) -> str:
    """Absolute paths under the working folder are shown relative to it (as console.py does)."""
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            pass
    return str(path)


def _clock() -> str:
    return time.strftime("%H:%M:%S", time.gmtime())


def _detail(result: NodeResult) -> str:
    """What goes in brackets at the end of a node's line."""
    if result.status == SKIPPED:
        return result.message.removeprefix("skipped: ") or "skipped"
    if result.rows_affected is not None:
        return f"{counted(result.rows_affected, 'row')} in {result.execution_time:.2f}s"
    return f"{result.execution_time:.2f}s"


def _dots(name: str, width: int = NAME_WIDTH) -> str:
    return "." * max(3, width - len(name) - 1)


def fit_name(name: str, width: int) -> str:
    """``name`` in at most ``width - 4`` characters (room for its dot leader), shortened in
    the middle with an ellipsis when longer: the start and the end tell names apart best
    (``stg_shop__…ing_spend``), and the columns after it stay aligned."""
    room = width - 4
    if len(name) <= room:
        return name
    head = room // 2
    tail = room - 1 - head
    return name[:head] + "…" + (name[-tail:] if tail else "")


def _summary_lines(summary: ExecutionSummary, nodes: dict[str, Node]) -> list[tuple[str, str]]:
    """The end-of-run summary as (text, kind) lines; kind picks a colour in rich."""
    counts = summary.counts
    total = len(summary.results)
    head = "Interrupted" if summary.interrupted else "Finished"
    kind = "error" if summary.failed or summary.interrupted else "success"
    parts = [f"{counts[s]} {s}" for s in (SUCCESS, WARN, ERROR, SKIPPED)]
    parts += [f"{n} {s}" for s, n in counts.items() if s not in LABELS]
    took = f"{head} {counted(total, 'node')} in {summary.elapsed:.2f}s"
    lines = [(f"{took}: {', '.join(parts)}", kind)]

    slowest = [r for r in summary.slowest(SLOWEST) if r.execution_time > 0]
    if slowest:
        lines.append(("Slowest:", "heading"))
        for r in slowest:
            node = nodes.get(r.unique_id)
            name = node.display_name if node else r.unique_id
            materialized = r.materialized or (node.materialized if node else None)
            mat = f" ({materialized})" if materialized else ""
            lines.append((f"  {r.execution_time:7.2f}s  {name}{mat}", "plain"))

    imported = (summary.quality or {}).get("gx_import_s")
    if imported:
        # Not any node's time: the import runs beside the first models, and only what
        # the build had to wait for it costs wall-clock time.
        waited = (summary.quality or {}).get("gx_import_wait_s") or 0.0
        lines.append(
            (
                f"  {imported:7.2f}s  Great Expectations import (the build waited "
                f"{waited:.2f}s for it)",
                "plain",
            )
        )

    errors = summary.errors
    if errors:
        lines.append((f"Errors ({len(errors)}):", "heading"))
        for r in errors:
            info = error_info(nodes.get(r.unique_id), r)
            first, *rest = (info.message or "error").splitlines() or [""]
            lines.append((f"  {info.where}: {first}" if info.where else f"  {first}", "error"))
            lines.extend((f"    {more}", "error") for more in rest)
            if info.hint:
                lines.append((f"    hint: {info.hint}", "hint"))
    return lines


# ---------------------------------------------------------------- plain


class PlainReporter(Reporter):
    """One line per finished node, no colour: for cron, CI and log files."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.finished = 0
        self.nodes: dict[str, Node] = {}
        self._width = 1

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()  # so a log tail shows progress as it happens

    def start(self, total_nodes: int, *, threads: int = 1) -> None:
        self.total = total_nodes
        self._width = len(str(total_nodes))
        running = f"Running {counted(total_nodes, 'node')} with {counted(threads, 'thread')}"
        self._write(f"{_clock()}  {running}\n")

    def node_finished(self, node: Node, result: NodeResult) -> None:
        self.finished += 1
        self.nodes[node.unique_id] = node
        label = LABELS.get(result.status, result.status.upper())
        mat = result.materialized or node.materialized
        self._write(
            f"{_clock()}  {self.finished:>{self._width}}/{self.total}  {label:<8} "
            f"{node.display_name} {_dots(node.display_name)} {mat}  [{_detail(result)}]\n"
        )

    def finish(self, summary: ExecutionSummary) -> None:
        lines = _summary_lines(summary, self.nodes)
        lines[0] = (f"{_clock()}  {lines[0][0]}", lines[0][1])
        self._write("\n" + "".join(text + "\n" for text, _ in lines))


# ---------------------------------------------------------------- json


class JsonReporter(Reporter):
    """One JSON object per line per event, for machines (``--log-format json``)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.finished = 0
        self.nodes: dict[str, Node] = {}

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        ts = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.stream.write(json.dumps({"event": event, "ts": ts, **data}, default=str) + "\n")
        self.stream.flush()

    def start(self, total_nodes: int, *, threads: int = 1) -> None:
        self.total = total_nodes
        self._emit("start", {"total": total_nodes, "threads": threads})

    def node_started(self, node: Node) -> None:
        self._emit(
            "node_started",
            {"unique_id": node.unique_id, "name": node.name, "resource_type": node.resource_type},
        )

    def node_finished(self, node: Node, result: NodeResult) -> None:
        self.finished += 1
        self.nodes[node.unique_id] = node
        failed = result.status == ERROR or result.error is not None
        info = error_info(node, result) if failed else None
        self._emit(
            "node_finished",
            {
                "unique_id": node.unique_id,
                "name": node.name,
                "resource_type": node.resource_type,
                "index": self.finished,
                "total": self.total,
                "status": result.status,
                "materialized": result.materialized or node.materialized,
                "execution_time": round(result.execution_time, 6),
                "rows_affected": result.rows_affected,
                "message": info.message if info else result.message,
                "path": info.path if info else str(node.path),
                "line": info.line if info else None,
                "hint": info.hint if info else None,
            },
        )

    def finish(self, summary: ExecutionSummary) -> None:
        slowest = []
        for r in summary.slowest(SLOWEST):
            node = self.nodes.get(r.unique_id)
            slowest.append(
                {
                    "unique_id": r.unique_id,
                    "name": node.name if node else r.unique_id,
                    "execution_time": round(r.execution_time, 6),
                }
            )
        errors = [error_info(self.nodes.get(r.unique_id), r) for r in summary.errors]
        self._emit(
            "finish",
            {
                "elapsed": round(summary.elapsed, 6),
                "counts": summary.counts,
                "interrupted": summary.interrupted,
                "failed": summary.failed,
                "slowest": slowest,
                "errors": [
                    {
                        "unique_id": e.unique_id,
                        "name": e.name,
                        "path": e.path,
                        "line": e.line,
                        "message": e.message,
                        "hint": e.hint,
                    }
                    for e in errors
                ],
            },
        )


# ---------------------------------------------------------------- rich

SYMBOLS = {  # status -> (symbol, rich style)
    SUCCESS: ("✓", "green"),
    WARN: ("!", "yellow"),
    ERROR: ("✗", "bold red"),
    SKIPPED: ("-", "yellow"),
}
KIND_STYLES = {"success": "bold green", "error": "red", "heading": "bold", "hint": "dim"}


class RichReporter(Reporter):
    """A live display on a terminal: progress bar, running nodes, a line per finished node.

    Finished lines are printed in batches at most ``REFRESH_PER_SECOND`` times a second:
    each print re-renders the live area, which would cost more than a tiny model's run.
    Until printed, a batch is shown in the live area, so nothing appears late.
    """

    REFRESH_PER_SECOND = 8
    MAX_BATCH = 25  # flush sooner than that: the live area must fit on the screen

    def __init__(self, stream: TextIO, *, force_terminal: bool | None = None) -> None:
        from rich.console import Console  # lazily: importing rich costs ~50 ms

        self.console = Console(file=stream, highlight=False, force_terminal=force_terminal)
        self.total = 0
        self.finished = 0
        self.nodes: dict[str, Node] = {}
        self.counts = dict.fromkeys(LABELS, 0)
        # Read by rich's refresh thread: replaced, never mutated in place (tuple),
        # or only touched by single dict operations (running).
        self._pending: tuple[Any, ...] = ()
        self._running: dict[str, tuple[str, float]] = {}
        self._batch: list[tuple[Any, ...]] = []  # finished lines (rich Segments) not printed yet
        self._styles: dict[str, Any] = {}
        self._last_flush = 0.0
        self._t0 = 0.0
        self._width = 1
        self._name_width = NAME_WIDTH
        self._segment: Any = None
        self._live: Any = None

    def start(self, total_nodes: int, *, threads: int = 1) -> None:
        from rich.live import Live
        from rich.segment import Segment

        self._segment = Segment
        self.total = total_nodes
        self._width = len(str(total_nodes))
        # Narrow terminals get a shorter dot leader; lines never wrap (see node_finished).
        self._name_width = max(16, min(NAME_WIDTH, self.console.width - 62))
        self._t0 = time.perf_counter()
        running = f"Running {counted(total_nodes, 'node')} with {counted(threads, 'thread')}"
        self.console.print(running, style="bold")
        self._live = Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=self.REFRESH_PER_SECOND,
            transient=True,  # the bar and running list vanish; the finished lines stay
        )
        self._live.start()

    def node_started(self, node: Node) -> None:
        self._running[node.unique_id] = (node.display_name, time.perf_counter())

    def node_finished(self, node: Node, result: NodeResult) -> None:
        self.finished += 1
        self.nodes[node.unique_id] = node
        self._running.pop(node.unique_id, None)
        if result.status in self.counts:
            self.counts[result.status] += 1
        symbol, style = SYMBOLS.get(result.status, ("?", "magenta"))
        label = LABELS.get(result.status, result.status.upper())
        seg, dim = self._segment, self._style("dim")
        shown = fit_name(node.display_name, self._name_width)  # a long name would misalign
        # Plain segments, not rich Text: Text's wrapping machinery costs ~0.3 ms a line.
        self._batch.append(
            (
                seg(f"{_clock()}  ", dim),
                seg(f"{self.finished:>{self._width}}/{self.total}  "),
                seg(f"{symbol} {label:<6}", self._style(style)),
                seg(f"{shown} "),
                seg(_dots(shown, self._name_width), dim),
                seg(f" {result.materialized or node.materialized}  "),
                seg(f"[{_detail(result)}]", dim),
                seg("\n"),
            )
        )
        now = time.perf_counter()
        if now - self._last_flush >= 1 / self.REFRESH_PER_SECOND or (
            len(self._batch) >= self.MAX_BATCH
        ):
            self._flush(now)
        else:
            self._pending = (_Segments(tuple(self._batch)),)

    def _style(self, name: str) -> Any:
        style = self._styles.get(name)
        if style is None:
            from rich.style import Style

            style = self._styles[name] = Style.parse(name)
        return style

    def _flush(self, now: float) -> None:
        if self._batch and self._live is not None:
            batch, self._batch = self._batch, []
            self._pending = ()
            self._live.console.print(_Segments(tuple(batch)), end="")
        self._last_flush = now

    def _render(self) -> Any:
        """The live area, built in rich's refresh thread from snapshots of the state."""
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = time.perf_counter()
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            ProgressBar(total=max(self.total, 1), completed=self.finished, width=40),
            Text.assemble(
                f"{self.finished}/{self.total}  ",
                (f"✓ {self.counts[SUCCESS]}", "green"),
                "  ",
                (f"! {self.counts[WARN]}", "yellow"),
                "  ",
                (f"✗ {self.counts[ERROR]}", "red"),
                "  ",
                (f"- {self.counts[SKIPPED]}", "yellow"),
                (f"  {now - self._t0:.1f}s", "dim"),
            ),
        )
        running = [
            Text.assemble(("  running ", "dim"), name, (f"  {now - t:.1f}s", "cyan"))
            for name, t in sorted(self._running.copy().values(), key=lambda v: v[1])
        ]
        return Group(*self._pending, bar, *running)

    def finish(self, summary: ExecutionSummary) -> None:
        from rich.text import Text

        self._flush(time.perf_counter())
        if self._live is not None:
            self._live.stop()
            self._live = None
        self.console.print()
        for text, kind in _summary_lines(summary, self.nodes):
            self.console.print(Text(text, style=KIND_STYLES.get(kind, "")))


class _Segments:
    """Lines of pre-styled rich Segments, printed as they are (rich crops wider lines)."""

    def __init__(self, lines: tuple[tuple[Any, ...], ...]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Any, options: Any) -> Any:
        for line in self.lines:
            yield from line
