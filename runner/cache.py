"""The parse cache: one file under target/, keyed by content hashes.

Entries are looked up by a key that hashes everything the value depends on
(file content, macros, vars, target, upstream relations, tool versions), so a
stale entry is never *wrong*, only unused. Entries not touched by a run are
dropped when it saves, so the file does not grow without bound.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import __version__

CACHE_FORMAT = 1


def _versions() -> str:
    parts = [f"runner={__version__}", f"format={CACHE_FORMAT}", f"code={_code_stamp()}"]
    parts += [f"{package}={_installed_version(package)}" for package in ("sqlglot", "jinja2")]
    return ";".join(parts)


def _code_stamp() -> str:
    """A hash of the size and modification time of the runner's own source files. The
    cached values (compiled SQL, source-view statements) are built by this code, so an
    edited checkout (an editable install between releases) must not reuse them: one
    stat per module, about a millisecond."""
    stamp = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        with contextlib.suppress(OSError):
            info = path.stat()
            stamp.update(f"{path.name}:{info.st_size}:{info.st_mtime_ns};".encode())
    return stamp.hexdigest()[:16]


def _installed_version(package: str) -> str:
    """The version from the package's ``*.dist-info`` folder name.

    Same answer as ``importlib.metadata.version`` for an installed package, without
    importing importlib.metadata (25 ms, a tenth of a warm run).
    """
    prefix = package.lower() + "-"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.lower().startswith(prefix) and name.endswith(".dist-info"):
                return name[len(prefix) : -len(".dist-info")]
    return "?"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def digest(*parts: Any) -> str:
    """A stable hash of JSON-able parts (dict keys sorted)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ParseCache:
    """A dict persisted with pickle; only the runner writes it, under the target folder."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.versions = _versions()
        self._old: dict[str, Any] = {}
        self._new: dict[str, Any] = {}
        self._dirty = False
        self._saved: set[str] | None = None  # the keys last written, once this run saved
        self._puts: list[tuple[str, Any]] = []
        self._kinds: set[str] = set()  # kinds of entries this run read or wrote
        if path is not None and path.is_file():
            try:
                with path.open("rb") as fh:
                    stored = pickle.load(fh)
                if stored.get("versions") == self.versions:
                    self._old = stored["entries"]
            except Exception:  # a corrupt or foreign cache is simply ignored
                self._old = {}

    def get(self, kind: str, key: str) -> Any:
        self._kinds.add(kind)
        full = f"{kind}:{key}"
        if full in self._new:
            return self._new[full]
        if full in self._old:
            value = self._old[full]
            self._new[full] = value
            return value
        return None

    def put(self, kind: str, key: str, value: Any) -> None:
        self._kinds.add(kind)
        self._new[f"{kind}:{key}"] = value
        self._puts.append((f"{kind}:{key}", value))
        self._dirty = True

    def take_puts(self) -> list[tuple[str, Any]]:
        """Entries put since the last call: a worker process sends them back to the parent."""
        puts, self._puts = self._puts, []
        return puts

    def merge(self, puts: list[tuple[str, Any]]) -> None:
        """Add entries a worker process computed."""
        for full_key, value in puts:
            self._kinds.add(full_key.partition(":")[0])
            self._new[full_key] = value
        self._dirty = self._dirty or bool(puts)

    def save(self, *, prune: bool = True) -> None:
        """Write atomically; skipped when nothing was added or dropped. ``prune=False``
        keeps the entries this run did not touch: a command that parses but does not
        compile (``runner ls``) must not drop the compile entries the next one needs. Pruning
        only ever drops entries of the kinds this run used: ``runner build`` does not look at
        the column lineage ``runner docs generate`` cached, and must not throw it away."""
        if self.path is None:
            return
        kept = {
            k: v
            for k, v in self._old.items()
            if not prune or k.partition(":")[0] not in self._kinds
        }
        entries = {**kept, **self._new}
        if not self._dirty and set(entries) == (
            self._saved if self._saved is not None else set(self._old)
        ):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"versions": self.versions, "entries": entries}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".cache-")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # Saving again without news writes nothing. The stored entries stay readable: a
        # build saves once compiled, then reads the source-view statements it pruned then
        # (not used yet); the last save writes them again.
        self._saved, self._dirty = set(entries), False
