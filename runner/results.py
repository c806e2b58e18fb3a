"""What running one node produced: the record the scheduler, the output and run_results share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import RunnerError

# Node statuses, as in dbt's run_results.json.
SUCCESS = "success"
ERROR = "error"
SKIPPED = "skipped"
WARN = "warn"  # built, but an expectation of severity warn failed (expectations issue)


@dataclass
class NodeResult:
    """The outcome of one node in one run."""

    unique_id: str
    status: str
    started_at: float = 0.0  # time.time() when it started (0 when skipped)
    execution_time: float = 0.0  # seconds
    rows_affected: int | None = None
    sql: list[str] = field(default_factory=list)  # every statement that ran, in order
    message: str = ""
    error: RunnerError | None = None  # for status error: where (file, line) and what
    materialized: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. expectation results later

    @property
    def ok(self) -> bool:
        return self.status in (SUCCESS, WARN)
