"""DuckDB against Spark local[2]: the whole demo warehouse built by `runner build` on each.

    python bench/spark.py                          # the bundled demo data, 2 pairs
    python bench/spark.py --customers 200000       # ~1e6 orders, generated
    python bench/spark.py --pairs 3 --out /tmp/spark.json
    python bench/spark.py --customers 200000 --driver-memory 6g   # Spark's 1 GiB default
                                                                  # runs out at 1e6 orders

Each sample is a fresh `runner build --validator sql --no-publish` in its own process (so
Spark's start-up, 12-27 s, is part of what a user waits for and is reported on its own
line), on a copy of the project with the same seeds; engines take turns (A B A B) so
machine load drifts over both alike. The load average is recorded next to each sample.
Results go to bench/results/spark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def project(folder: Path, customers: int | None, driver_memory: str | None = None) -> Path:
    for name in ("pyproject.toml", "profiles.yml"):
        shutil.copy(REPO / name, folder / name)
    if driver_memory:  # the spark target's own settings, as a user would raise it
        profiles = folder / "profiles.yml"
        text = profiles.read_text()
        marker = "      type: spark\n"
        assert marker in text, "the spark target of profiles.yml moved"
        setting = f"      settings: {{spark.driver.memory: {driver_memory}}}\n"
        profiles.write_text(text.replace(marker, marker + setting, 1))
    for name in ("models", "macros", "seeds", "snapshots"):
        shutil.copytree(REPO / name, folder / name)
    if customers is not None:
        subprocess.run(
            [sys.executable, "-m", "runner.cli", "demo-data", "--customers", str(customers),
             "--out", str(folder / "seeds" / "shop")],
            cwd=folder,
            check=True,
        )  # fmt: skip
    return folder


def build(folder: Path, target: str) -> float:
    shutil.rmtree(folder / "target", ignore_errors=True)
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "runner.cli", "build", "--target", target, "--validator", "sql",
         "--no-publish", "--log-format", "plain"],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{target} build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


STARTUP = """
import sys, time
from pathlib import Path
started = time.perf_counter()
from runner.engines import open_engine
from runner.project import load_settings, load_target
settings = load_settings(Path(sys.argv[1]))
engine = open_engine(load_target(settings, None, "spark"), settings.root)
opened = time.perf_counter()
engine.spark.sql("select 1").collect()
print(opened - started, time.perf_counter() - opened)
"""


def startup(folder: Path) -> tuple[float, float]:
    """Seconds to start the Spark target in a new process (JVM, session, catalog), and
    then its first query: what every `runner` command on Spark pays before any model."""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run(
        [sys.executable, "-c", STARTUP, str(folder)],
        cwd=folder, capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    opened, first = (float(x) for x in done.stdout.split()[-2:])
    return opened, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=None, help="generate this many")
    parser.add_argument("--pairs", type=int, default=2, help="DuckDB/Spark pairs (A B A B)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "spark.json")
    parser.add_argument("--driver-memory", help="spark.driver.memory of the spark target")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = project(Path(tmp), args.customers, args.driver_memory)
        samples: dict[str, list[dict[str, float]]] = {"duckdb": [], "spark": []}
        load = os.getloadavg()[0]
        opened, first = startup(folder)
        start_up = {
            "session_seconds": round(opened, 2),
            "first_query_seconds": round(first, 2),
            "load_1m": round(load, 2),
        }
        print(
            f"spark start-up: {opened:.1f} s, first query {first:.1f} s (load {load:.1f})",
            flush=True,
        )
        for _ in range(args.pairs):
            for target in ("dev", "spark"):
                load = os.getloadavg()[0]
                seconds = build(folder, target)
                engine = "duckdb" if target == "dev" else "spark"
                samples[engine].append({"seconds": round(seconds, 2), "load_1m": round(load, 2)})
                print(f"{engine}: {seconds:.1f} s (load {load:.1f})", flush=True)
        with open(folder / "seeds" / "shop" / "orders.csv") as handle:
            orders = sum(1 for _ in handle) - 1  # rows (status changes), header left out
    medians = {k: statistics.median(s["seconds"] for s in v) for k, v in samples.items()}
    result = {
        "customers": args.customers or "bundled demo",
        "order_rows": orders,
        "samples": samples,
        "median_seconds": medians,
        "spark_over_duckdb": round(medians["spark"] / medians["duckdb"], 2),
        "spark_start_up": start_up,
        "spark_driver_memory": args.driver_memory or "Spark's default (1g)",
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing[str(result["customers"])] = result
    args.out.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
