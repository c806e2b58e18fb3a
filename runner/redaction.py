"""Secrets out of everything a command shows or writes.

Values that profiles.yml took from ``env_var()`` (``Target.secrets``) are secrets. While
a CLI command runs (``redacted_output``), ``load_target`` registers them here, and every
occurrence is replaced by ``****`` at a few central points: the command's stdout and
stderr (logs in every format, messages, errors, ``runner debug``), the JSON artifacts
(``artifacts.write_json``), the compiled SQL files, the Data Docs pages, and the audit
messages the serving file carries. Outside a command (the library used directly)
nothing is registered and nothing is changed.

A secret is also searched in its JSON-escaped spelling, so a JSON line or file never
carries it either, and in any letter case (DuckDB lower-cases some names it quotes).
Values too short or too plain to search for in free text (fewer than 4 characters,
numbers, booleans) are only masked where the target itself is shown
(``Target.public_dict``): replacing every "2" or "true" in the output would hide
everything else.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

MASK = "****"
MIN_LENGTH = 4
_PLAIN = re.compile(r"(?i)true|false|yes|no|on|off|null|none|[-+]?\d+(\.\d*)?")


def searchable(value: str) -> bool:
    """Whether ``value`` is specific enough to be replaced wherever it appears."""
    return len(value) >= MIN_LENGTH and not _PLAIN.fullmatch(value.strip())


class Redactor:
    """Replaces every occurrence of the secrets (and of their JSON-escaped spelling)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = frozenset(s for s in secrets if isinstance(s, str) and searchable(s))
        forms = set(self.secrets)
        forms.update(json.dumps(s)[1:-1] for s in self.secrets)
        ordered = sorted(forms, key=len, reverse=True)  # the longest spelling first
        # Case-insensitive: DuckDB lower-cases some names it quotes (extensions).
        pattern = "|".join(map(re.escape, ordered))
        self._pattern = re.compile(pattern, re.IGNORECASE) if ordered else None

    def text(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)


_NOTHING = Redactor()
_active: Redactor | None = None  # set while a CLI command runs


def register(secrets: Iterable[str]) -> None:
    """Add secrets to the running command's redaction (a no-op outside a command)."""
    global _active
    if _active is None:
        return
    new = {s for s in secrets if isinstance(s, str) and searchable(s)}
    if not new <= _active.secrets:
        _active = Redactor(_active.secrets | new)


def active() -> Redactor:
    return _active if _active is not None else _NOTHING


def text(value: str) -> str:
    """``value`` with the registered secrets replaced by ``****``."""
    return active().text(value)


def redact_files(folder: Path) -> None:
    """Redact, in place, the text files a third-party writer (GX's Data Docs) left in
    ``folder``. Nothing to do, and nothing read, when no secret is registered."""
    redactor = active()
    if redactor._pattern is None or not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # not text (images, fonts)
        redacted = redactor.text(text)
        if redacted != text:
            path.write_text(redacted, encoding="utf-8")


class RedactingStream:
    """A text stream that redacts what is written through it, then passes it on.

    Whole writes are redacted (every writer here writes whole lines or whole rendered
    blocks). ``buffer`` is deliberately not offered, so nothing (click) bypasses it by
    writing bytes underneath.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, value: str) -> int:
        self._stream.write(active().text(value))
        return len(value)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        try:
            return self._stream.isatty()
        except (AttributeError, ValueError):
            return False

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:
        return getattr(self._stream, "errors", None)

    @property
    def closed(self) -> bool:
        return bool(getattr(self._stream, "closed", False))


@contextmanager
def redacted_output() -> Iterator[None]:
    """For one command: collect secrets as the target is loaded, and redact stdout and
    stderr; afterwards forget them and restore the streams."""
    global _active
    saved = sys.stdout, sys.stderr, _active
    _active = Redactor()
    sys.stdout = RedactingStream(sys.stdout)  # type: ignore[assignment]
    sys.stderr = RedactingStream(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr, _active = saved
