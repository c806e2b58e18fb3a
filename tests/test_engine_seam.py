"""Nothing outside runner/engines/duckdb* talks to DuckDB's driver directly (the demo data
generator, which writes CSV files with DuckDB, aside): every other module goes through
the engine interface, so a Spark target runs the same code."""

from __future__ import annotations

import re
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[1] / "runner"
DRIVER = re.compile(r"^\s*(import duckdb\b(?!_)|from duckdb\b)", re.MULTILINE)


def test_only_the_duckdb_engine_imports_the_duckdb_driver():
    importing = sorted(
        str(path.relative_to(RUNNER.parent))
        for path in RUNNER.rglob("*.py")
        if DRIVER.search(path.read_text(encoding="utf-8"))
    )
    allowed = [p for p in importing if p.startswith("runner/engines/duckdb")]
    assert [p for p in importing if p not in allowed] == ["runner/demo/generate.py"]
    assert allowed  # the check itself finds the driver where it is


def test_spark_running_out_of_memory_is_a_resources_error_with_what_to_do():
    from runner.engines.base import RESOURCES
    from runner.engines.spark_errors import explain

    found = explain(
        "An error occurred while calling o45.sql.\n: java.io.IOException: "
        "org.apache.spark.SparkException: Could not allocate memory to grow BytesToBytesMap.\n"
        "\tat org.apache.spark..."
    )
    assert found.kind == RESOURCES
    assert "spark.driver.memory" in found.hint
    assert found.message.startswith("java.io.IOException")
