"""The nightly refresh as an Airflow DAG: `runner build`, then `runner retry` of what failed.

BashOperator fails the task on a non-zero exit code, which is the runner's contract (0 ok,
1 a failed model or check or a stale source, 2 a project error). Copy this file into the
DAGs folder and set RUNNER_PROJECT_DIR and RUNNER_BIN (the runner in the project's
virtualenv) in the worker's environment.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow import DAG
from airflow.providers.standard.operators.bash import BashOperator

RUNNER = os.environ.get("RUNNER_BIN", "runner")
PROJECT = os.environ.get("RUNNER_PROJECT_DIR", "/srv/warehouse")

with DAG(
    dag_id="warehouse_nightly",
    schedule="15 2 * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
) as dag:
    build = BashOperator(
        task_id="runner_build",
        bash_command=(
            f"{RUNNER} build --project-dir {PROJECT} --validator sql --retries 2 --log-format plain"
        ),
        retries=0,  # the runner retries transient errors itself; retry below reruns the rest
    )
    retry = BashOperator(
        task_id="runner_retry",
        bash_command=f"{RUNNER} retry --project-dir {PROJECT}",
        trigger_rule="all_failed",
    )
    build >> retry
