"""The nightly refresh as a Dagster job: one op per step, each running the runner's CLI.

`runner build` does the whole refresh (freshness, build, checks, publish) and says how it
ended through its exit code (0 ok, 1 a failed model or check or a stale source, 2 a project
error); a failed build gets one `runner retry` of what failed before the job fails. Run it
with `dagster job execute -f schedule/dagster_nightly.py` from the project folder, or put
`nightly` in a Definitions with a ScheduleDefinition (cron "15 2 * * *").
"""

import os
import subprocess
import sys

from dagster import Failure, OpExecutionContext, job, op

PROJECT_DIR = os.environ.get("RUNNER_PROJECT_DIR", ".")
RUNNER = os.environ.get("RUNNER_BIN", os.path.join(os.path.dirname(sys.executable), "runner"))


def _runner(context: OpExecutionContext, *args: str) -> int:
    command = [RUNNER, *args, "--project-dir", PROJECT_DIR]
    context.log.info("running: " + " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in (done.stdout + done.stderr).splitlines():
        context.log.info(line)
    return done.returncode


@op
def refresh_warehouse(context: OpExecutionContext) -> None:
    code = _runner(
        context, "build", "--validator", "sql", "--retries", "2", "--log-format", "plain"
    )
    if code == 1:
        code = _runner(context, "retry")
    if code != 0:
        raise Failure(f"runner exited {code}: see the log above and target/run_results.json")


@job
def nightly() -> None:
    refresh_warehouse()
