"""`runner docs generate` on the generated N-model benchmark project, and how long the page
takes to open in headless Chromium.

    python bench/docs.py [--models 1000] [--repeats 3] [--out bench/results/docs.json]

The project comes from bench/overhead.py's generator (same seed, same shape) and is built
once with `runner build` first, so the page has a catalog and run results to show, as after
a real build. Then, paired in turn (A B A B ...):

* `runner compile` against `runner docs generate`, both warm (parse cache filled): what the
  docs cost on top of compiling the same models, which they need anyway;
* the same two cold (target/.cache deleted before each), where docs generate also runs
  sqlglot's column lineage for every model.

Page opening: from `page.goto(file://.../index.html)` until the page has drawn its node list
and first view (``body[data-ready]``), and until the lineage graph of a mart with its whole
upstream is drawn (a click in the page); Debian's Chromium through playwright, as the test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import overhead  # the generator lives next to this script

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run_cli(runner: list[str], args: list[str], project: Path) -> float:
    return overhead.timed([*runner, *args, "--project-dir", str(project)], project)


def time_generate(project: Path, repeats: int) -> dict[str, list[float]]:
    runner = overhead.runner_command()
    cache = project / "target" / ".cache"
    samples: dict[str, list[float]] = {
        k: [] for k in ("compile_warm", "docs_warm", "compile_cold", "docs_cold")
    }
    run_cli(runner, ["docs", "generate"], project)  # untimed: fills the caches
    for _ in range(repeats):
        samples["compile_warm"].append(run_cli(runner, ["compile"], project))
        samples["docs_warm"].append(run_cli(runner, ["docs", "generate"], project))
        shutil.rmtree(cache, ignore_errors=True)
        samples["compile_cold"].append(run_cli(runner, ["compile"], project))
        shutil.rmtree(cache, ignore_errors=True)
        samples["docs_cold"].append(run_cli(runner, ["docs", "generate"], project))
    run_cli(runner, ["docs", "generate"], project)  # leave a warm, complete page behind
    return samples


def time_page(index: Path, focus: str, repeats: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    samples: dict[str, list[float]] = {"open": [], "lineage": []}
    with sync_playwright() as playwright:
        for _ in range(repeats):
            profile = tempfile.mkdtemp(prefix="bench-chromium-")
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            page = context.new_page()
            started = time.perf_counter()
            page.goto(index.as_uri())
            page.wait_for_selector("body[data-ready]")
            samples["open"].append(time.perf_counter() - started)
            started = time.perf_counter()
            page.evaluate("q => { location.hash = 'lineage=' + encodeURIComponent(q) }", focus)
            page.wait_for_selector("#lineage-graph svg")
            samples["lineage"].append(time.perf_counter() - started)
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
    return samples


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results/docs.json"))
    parser.add_argument("--workdir", type=Path, help="keep the generated project here")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-docs-"))
    project = work / f"project_{args.models}"
    tables, models = overhead.write_project(project, args.models)
    runner = overhead.runner_command()
    build = subprocess.run(
        [*runner, "build", "--project-dir", str(project), "--log-format", "plain"],
        cwd=project,
        capture_output=True,
        text=True,
        env=overhead._clean_env(),
    )
    if build.returncode != 0:
        sys.exit(f"runner build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}")

    generate = time_generate(project, args.repeats)
    index = project / "target" / "docs" / "index.html"
    lineage = json.loads((project / "target" / "lineage.json").read_text())["models"]
    marts = [m for m in models if m.layer == "marts"]
    focus = "+" + marts[-1].name  # the last mart: a deep upstream
    page = time_page(index, focus, args.repeats)

    med = {k: median(v) for k, v in {**generate, **page}.items()}
    result: dict[str, Any] = {
        "benchmark": "docs",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "repeats": args.repeats,
        "machine": overhead.machine_info(),
        "models": args.models,
        "source_tables": len(tables),
        "page_bytes": index.stat().st_size,
        "columns_traced": sum(len(m["columns"]) for m in lineage.values()),
        "models_without_lineage": sum(1 for m in lineage.values() if m["error"]),
        "lineage_focus": focus,
        "docs_generate_warm_s": med["docs_warm"],
        "docs_generate_cold_s": med["docs_cold"],
        "compile_warm_s": med["compile_warm"],
        "compile_cold_s": med["compile_cold"],
        "docs_over_compile_warm": round(med["docs_warm"] / med["compile_warm"], 2),
        "docs_over_compile_cold": round(med["docs_cold"] / med["compile_cold"], 2),
        "page_open_s": med["open"],
        "page_lineage_graph_s": med["lineage"],
        "samples_s": {**generate, **{f"page_{k}": v for k, v in page.items()}},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("samples_s", "machine")}))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
