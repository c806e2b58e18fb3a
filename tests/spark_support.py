"""One Spark session per test run, on a copy of this repository's project.

Starting Spark costs 12-27 s and its first query 9-15 s more, so every Spark test shares
the session ``spark_demo`` (conftest.py) starts: the demo project copied into a temporary
folder, its ``spark`` target's warehouse and metastore under that folder. Builds run
in-process through the real CLI (click's CliRunner) and find the running session.
"""

from __future__ import annotations

import datetime
import decimal
import math
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class SparkDemo:
    root: Path  # the project copy
    engine: Any  # runner.engines.spark.SparkEngine, open for the whole run

    @property
    def spark(self) -> Any:
        return self.engine.spark


def start(root: Path) -> SparkDemo:
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["TZ"] = "UTC"  # collect() turns timestamps into local time
    time.tzset()
    for name in ("pyproject.toml", "profiles.yml"):
        shutil.copy(REPO / name, root / name)
    for folder in ("models", "macros", "seeds", "snapshots"):
        shutil.copytree(REPO / folder, root / folder)
    from runner.engines import open_engine
    from runner.project import load_settings, load_target

    settings = load_settings(root)
    target = load_target(settings, None, "spark")
    return SparkDemo(root, open_engine(target, settings.root))


def normalized(value: Any) -> Any:
    """A value both engines can be compared on: naive UTC datetimes, Decimal kept exact."""
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.UTC).replace(tzinfo=None)
    if isinstance(value, list | tuple):
        return tuple(normalized(v) for v in value)
    return value


def same_value(a: Any, b: Any, rel: float = 1e-9) -> bool:
    """Money exact (Decimal == Decimal, whatever the scale), floats within ``rel``."""
    a, b = normalized(a), normalized(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_value(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, decimal.Decimal) and isinstance(b, decimal.Decimal):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float | decimal.Decimal) and isinstance(
        b, int | float | decimal.Decimal
    ):
        x, y = float(a), float(b)
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=rel, abs_tol=1e-12)
    return a == b


def _key(row: Sequence[Any]) -> tuple:
    return tuple((v is None, str(normalized(v))) for v in row)


def differences(
    left: Iterable[Sequence[Any]], right: Iterable[Sequence[Any]], *, ordered: bool = False
) -> list[str]:
    """Rows that differ (empty when the two row sets are the same)."""
    a, b = list(left), list(right)
    if len(a) != len(b):
        return [f"{len(a)} rows against {len(b)}"]
    if not ordered:
        a, b = sorted(a, key=_key), sorted(b, key=_key)
    out = []
    for x, y in zip(a, b, strict=True):
        if not same_value(tuple(x), tuple(y)):
            out.append(f"{tuple(x)!r} != {tuple(y)!r}")
    return out[:5]
