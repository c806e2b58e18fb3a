"""One build at a time per project: an advisory lock on ``target/runner.lock``.

``flock`` is released by the kernel when the holding process ends, however it ends
(SIGKILL included), so a crashed build never leaves a lock to clean up by hand. The
holder writes its pid, command and start time into the file so a second build can say
who is running.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from .errors import UsageError

LOCK_FILE = "runner.lock"


class ProjectLock:
    """``with ProjectLock(target_dir, "runner build"):`` or UsageError (exit 2) at once."""

    def __init__(self, target_dir: Path, command: str) -> None:
        self.path = target_dir / LOCK_FILE
        self.command = command
        self._fd: int | None = None

    def __enter__(self) -> ProjectLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(fd)
            os.close(fd)
            raise UsageError(
                f"another runner is working on this project: {holder}",
                path=self.path,
                hint="wait for it to finish (or stop it); nothing was changed. The lock frees "
                "itself when that process ends, however it ends",
            ) from None
        info = {
            "pid": os.getpid(),
            "command": self.command,
            "started_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # releases the flock
            self._fd = None


def _describe(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        info = {}
    if not info.get("pid"):
        return "a process holds target/runner.lock"
    return (
        f"pid {info['pid']}, `{info.get('command', 'runner')}`, since {info.get('started_at', '?')}"
    )
