"""Reading Spark's error texts (the one place that knows how Spark words its errors)."""

from __future__ import annotations

import re

from .base import BAD_VALUE, DATABASE, INTERRUPTED, RESOURCES, Explanation

# "== SQL (line 3, position 8) ==" under an analysis or parse error
_LINE = re.compile(r"\(line (\d+), pos(?:ition)? \d+\)")
# [CAST_INVALID_INPUT] The value 'x2' of the type "STRING" cannot be cast to "INT"
_CAST = re.compile(
    r"""The value '(?P<value>.*?)' of the type "STRING" cannot be cast to "(?P<type>[^"]+)\""""
)
_OUT_OF_MEMORY = re.compile(
    r"OutOfMemoryError|Java heap space|GC overhead limit|Could not allocate memory"
)
_DISK_FULL = re.compile(r"No space left on device|Disk quota exceeded")
_CANCELLED = re.compile(r"cancelled|SparkContext was shut down|OPERATION_CANCELED", re.IGNORECASE)

OUT_OF_MEMORY_HINT = (
    "Spark ran out of memory: raise spark.driver.memory (settings: in profiles.yml) or "
    "use fewer threads; the relation keeps its previous version"
)
DISK_FULL_HINT = (
    "the disk is full: free space under the target's folder (warehouse and spark.local.dir); "
    "the relation keeps its previous version"
)


def explain(exc: BaseException | str) -> Explanation:
    text = (exc if isinstance(exc, str) else str(exc)).strip()
    message = _first_line(text) or type(exc).__name__
    if isinstance(exc, KeyboardInterrupt) or _CANCELLED.search(text):
        return Explanation(INTERRUPTED, message, text=text)
    if _OUT_OF_MEMORY.search(text):
        return Explanation(RESOURCES, message, OUT_OF_MEMORY_HINT, text=text)
    if _DISK_FULL.search(text):
        return Explanation(RESOURCES, message, DISK_FULL_HINT, text=text)
    line = _LINE.search(text)
    at = int(line.group(1)) if line else None
    cast = _CAST.search(text)
    if cast is not None:
        return Explanation(
            BAD_VALUE,
            message,
            line=at,
            value=cast.group("value"),
            type=cast.group("type"),
            text=text,
        )
    return Explanation(DATABASE, message, line=at, text=text)


# py4j's wrapper around a JVM exception Spark did not turn into an AnalysisException etc.:
# "An error occurred while calling o45.sql.\n: java.lang.ClassCastException: ..."
_PY4J = re.compile(r"^An error occurred while calling \S+\.\s*$")


def _first_line(text: str) -> str:
    """Spark's first line, without the JVM stack or the SQL context below it (for a raw
    JVM exception, the exception's own line rather than py4j's wrapper)."""
    lines = text.splitlines()
    line = lines[0] if lines else ""
    if _PY4J.match(line) and len(lines) > 1:
        line = lines[1].lstrip(": ").strip()
    return re.sub(r"\s*SQLSTATE: \w+\s*$", "", line).strip()
