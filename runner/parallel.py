"""Spread CPU-bound per-model work (Jinja compilation, sqlglot parsing) over processes.

Both are pure Python holding the GIL, so threads do not help; forked workers do.
A worker inherits the parent's state at fork time (the loaded project, the
renderer), so tasks carry only small picklable arguments. Small batches, a
single core, or a platform without ``fork`` run in-process instead: the result
is the same, only slower.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:  # imported lazily: a warm run never forks and should not pay for it
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS_TO_FORK = 64  # below this, forking costs more than it saves

_task: Callable[[Any], Any] | None = None  # what forked workers run (inherited, not pickled)


def worker_count() -> int:
    """Processes to use: RUNNER_WORKERS if set, else the usable cores (at most 8)."""
    configured = os.environ.get("RUNNER_WORKERS", "")
    if configured.isdigit():
        return max(1, int(configured))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _run_chunk(items: Sequence[Any]) -> list[Any]:
    assert _task is not None
    return [_task(item) for item in items]


class Workers(Generic[T, R]):
    """Runs one task over batches of items, in forked processes once a batch is big enough.

    The pool is forked on the first big batch and reused for later ones (e.g. the
    levels of a DAG), so the task must only depend on state that exists at that
    moment plus its arguments. Results must be picklable; a task that wants every
    error rather than the first should return exceptions instead of raising them.
    """

    def __init__(self, task: Callable[[T], R]) -> None:
        self.task = task
        self.count = worker_count()
        self._pool: ProcessPoolExecutor | None = None

    def map(self, items: Sequence[T]) -> list[R]:
        if not self._use_pool(len(items)):
            return [self.task(item) for item in items]
        assert self._pool is not None
        chunk = max(1, -(-len(items) // (self.count * 4)))
        chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        return [result for part in self._pool.map(_run_chunk, chunks) for result in part]

    def _use_pool(self, size: int) -> bool:
        if self._pool is not None:
            return size >= self.count
        if self.count < 2 or size < MIN_ITEMS_TO_FORK:
            return False
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if "fork" not in multiprocessing.get_all_start_methods():
            return False
        global _task
        _task = self.task
        self._pool = ProcessPoolExecutor(self.count, mp_context=multiprocessing.get_context("fork"))
        return True

    def close(self) -> None:
        global _task
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
            _task = None

    def __enter__(self) -> Workers[T, R]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
