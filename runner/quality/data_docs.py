"""GX Data Docs for one run's expectation results (``runner test --docs``).

The site is rendered by GX's own SiteBuilder from validation results we hand it, made
from our ``ExpectationResult``s: so the pages show the statuses the build applied
(severity, thresholds, mostly) whichever validator ran the checks, and rendering never
re-runs a query. One page per checked node, one per suite, and an index; the site is
rewritten whole each time. Its HTML loads Bootstrap, jQuery and fonts from public CDNs.
"""

from __future__ import annotations

import datetime
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .gx_mapping import to_gx
from .gx_run import gx_module
from .results import ERROR, PASS, ExpectationResult, jsonable

SITE = "runner"


@dataclass(frozen=True)
class CheckedNode:
    """What one node's expectations gave, with what rendering their GX form needs."""

    unique_id: str
    relation: str  # rendered, e.g. "marts"."churn_monthly"
    results: tuple[ExpectationResult, ...]
    as_of: Any = None
    resolve: Callable[[str], str] | None = None


def write_data_docs(folder: Path, checked: Sequence[CheckedNode], *, run_name: str) -> Path:
    """Write the site into ``folder`` (replacing it); returns the path of its index.html."""
    gx = gx_module()
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    if folder.exists():
        shutil.rmtree(folder)
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.datetime.now(datetime.UTC))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        context.add_data_docs_site(
            SITE,
            {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(folder),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        for node in checked:
            if not node.results:
                continue
            pairs = []
            for index, result in enumerate(node.results):
                expectation = to_gx(
                    gx, result.expectation, index, node.as_of, node.resolve, detail=True
                )
                pairs.append((expectation, result))
            suite = gx.ExpectationSuite(name=node.unique_id, expectations=[e for e, _ in pairs])
            context.suites.add(suite)
            results = [
                ExpectationValidationResult(
                    success=result.status == PASS,
                    expectation_config=expectation.configuration,
                    result=_gx_result(result),
                    exception_info=_exception_info(result),
                    meta={"runner_status": result.status, "runner_message": result.message},
                )
                for expectation, result in pairs
            ]
            passed = sum(1 for _, r in pairs if r.status == PASS)
            asset = node.relation.replace('"', "")
            validation = ExpectationSuiteValidationResult(
                success=passed == len(pairs),
                results=results,
                suite_name=node.unique_id,
                statistics={
                    "evaluated_expectations": len(pairs),
                    "successful_expectations": passed,
                    "unsuccessful_expectations": len(pairs) - passed,
                    "success_percent": 100.0 * passed / len(pairs),
                },
                meta={
                    "run_id": run_id,
                    "batch_spec": {"data_asset_name": asset},
                    "active_batch_definition": {
                        "datasource_name": "runner",
                        "data_asset_name": asset,
                        "batch_definition_name": "all",
                    },
                },
            )
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=node.unique_id),
                run_id=run_id,
                batch_identifier=asset,
            )
            context.validation_results_store.set(key, validation)
        context.build_data_docs(site_names=[SITE])
    return folder / "index.html"


def _gx_result(result: ExpectationResult) -> dict[str, Any]:
    """The ``result`` dict GX's renderers read, from ours."""
    if result.status == ERROR:
        return {}
    out: dict[str, Any] = {}
    if result.observed is not None:
        out["observed_value"] = jsonable(result.observed)
    if result.failing_count is not None:
        out["unexpected_count"] = result.failing_count
        if result.element_count:
            out["element_count"] = result.element_count
            out["unexpected_percent"] = 100.0 * result.failing_count / result.element_count
        elif result.failing_count == 0:
            out["unexpected_percent"] = 0.0
        out["partial_unexpected_list"] = jsonable(list(result.sample))
        if "observed_value" not in out:
            out["observed_value"] = result.failing_count
    return out


def _exception_info(result: ExpectationResult) -> dict[str, Any]:
    if result.status != ERROR:
        return {"raised_exception": False, "exception_message": None, "exception_traceback": None}
    # GX's page shows the traceback text: the message is what we have (never None there)
    return {
        "raised_exception": True,
        "exception_message": result.message,
        "exception_traceback": result.message or "the check could not run",
    }
