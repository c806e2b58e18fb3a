"""Charts of the marts for the docs site: one small query on the serving file per chart, and
a Vega-Lite spec with those rows inlined, so the page needs no database.

A chart whose mart is not in the serving file (not built, not published, another project)
is left out with the reason, which the page shows instead.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engines.duckdb_serving import open_read_only, query_errors
from ..nodes import Relation

MAX_ROWS = 5000  # a chart's data stays small: the page embeds it


@dataclass(frozen=True)
class Chart:
    """``query`` is a format string: ``{name}`` stands for the relation of the mart ``name``."""

    id: str
    title: str
    description: str
    marts: tuple[str, ...]
    query: str
    spec: Callable[[list[dict[str, Any]]], dict[str, Any]]


def _retention_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": {"values": rows},
        "mark": {"type": "rect", "tooltip": True},
        "encoding": {
            "x": {
                "field": "months_since_first",
                "type": "ordinal",
                "title": "months since first order",
            },
            "y": {
                "field": "cohort_month",
                "type": "ordinal",
                "title": "cohort (first order month)",
            },
            "color": {
                "field": "retention_rate",
                "type": "quantitative",
                "title": "retention",
                "scale": {"scheme": "blues"},
                "legend": {"format": ".0%"},
            },
            "tooltip": [
                {"field": "cohort_month", "title": "cohort"},
                {"field": "months_since_first", "title": "month"},
                {"field": "retention_rate", "title": "retention", "format": ".1%"},
                {"field": "active_customers", "title": "active"},
                {"field": "cohort_size", "title": "cohort size"},
            ],
        },
        "width": "container",
        "autosize": {"type": "fit-x", "contains": "padding"},
    }


def _churn_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    movements = {
        "new_customers": "new",
        "reactivated": "reactivated",
        "churned_negative": "churned",
    }
    return {
        "data": {"values": rows},
        "layer": [
            {
                "transform": [
                    {"fold": list(movements), "as": ["movement", "customers"]},
                    {
                        "calculate": " || ".join(
                            f"(datum.movement == '{k}' && '{v}')" for k, v in movements.items()
                        ),
                        "as": "movement",
                    },
                ],
                "mark": {"type": "bar", "tooltip": True},
                "encoding": {
                    "x": {"field": "month", "type": "ordinal", "title": "month"},
                    "y": {
                        "field": "customers",
                        "type": "quantitative",
                        "stack": "zero",
                        "title": "customers gained (+) and lost (-)",
                    },
                    "color": {
                        "field": "movement",
                        "type": "nominal",
                        "scale": {
                            "domain": list(movements.values()),
                            "range": ["#4c78a8", "#72b7b2", "#e45756"],
                        },
                    },
                },
            },
            {
                "mark": {"type": "line", "color": "#333", "point": True, "tooltip": True},
                "encoding": {
                    "x": {"field": "month", "type": "ordinal"},
                    "y": {"field": "active_end", "type": "quantitative", "title": "active at end"},
                },
            },
        ],
        "resolve": {"scale": {"y": "independent"}},
        "width": "container",
    }


def _channel_revenue_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def panel(field: str, title: str) -> dict[str, Any]:
        return {
            "mark": {"type": "line", "point": True, "tooltip": True},
            "encoding": {
                "x": {"field": "month", "type": "ordinal", "title": "month"},
                "y": {"field": field, "type": "quantitative", "title": title},
                "color": {"field": "channel", "type": "nominal"},
            },
            "width": "container",
            "height": 180,
        }

    return {
        "data": {"values": rows},
        "vconcat": [panel("net_revenue", "net revenue"), panel("aov", "AOV")],
    }


def _clv_cac_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": {"values": rows},
        "transform": [
            {"fold": ["historical_clv_to_cac", "simple_clv_to_cac"], "as": ["measure", "ratio"]},
            {"filter": "datum.ratio != null"},
        ],
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {
                "field": "acquisition_channel",
                "type": "nominal",
                "title": "acquisition channel",
            },
            "yOffset": {"field": "measure"},
            "x": {"field": "ratio", "type": "quantitative", "title": "CLV : CAC"},
            "color": {"field": "measure", "type": "nominal", "title": "CLV used"},
        },
        "width": "container",
        "autosize": {"type": "fit-x", "contains": "padding"},
    }


def _nps_csat_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def panel(field: str, title: str, fmt: str) -> dict[str, Any]:
        return {
            "mark": {"type": "line", "point": True, "tooltip": True},
            "encoding": {
                "x": {"field": "month", "type": "ordinal", "title": "month"},
                "y": {
                    "field": field,
                    "type": "quantitative",
                    "title": title,
                    "axis": {"format": fmt},
                },
            },
            "width": "container",
            "height": 160,
        }

    return {
        "data": {"values": rows},
        "vconcat": [panel("nps", "NPS", "d"), panel("csat", "CSAT (share of 4-5)", ".0%")],
    }


def _rfm_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": {"values": rows},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {
                "field": "segment",
                "type": "nominal",
                "sort": {"field": "segment_order"},
                "title": "RFM segment",
            },
            "x": {"field": "customers", "type": "quantitative", "title": "customers"},
            "tooltip": [
                {"field": "segment"},
                {"field": "customers"},
                {"field": "share_of_customers", "format": ".1%", "title": "share"},
            ],
        },
        "width": "container",
        "autosize": {"type": "fit-x", "contains": "padding"},
    }


CHARTS: tuple[Chart, ...] = (
    Chart(
        "retention_heatmap",
        "Retention by cohort",
        "Share of each first-order cohort buying again k months later (retention_cohorts).",
        ("retention_cohorts",),
        "select strftime(cohort_month, '%Y-%m') as cohort_month, months_since_first, "
        "retention_rate, active_customers, cohort_size "
        "from {retention_cohorts} order by cohort_month, months_since_first",
        _retention_spec,
    ),
    Chart(
        "churn_movements",
        "Churn movements by month",
        "New and reactivated customers (up), churned (down), and the customers active at the "
        "end of each month (line; churn_monthly).",
        ("churn_monthly",),
        "select strftime(month, '%Y-%m') as month, new_customers, reactivated, "
        "-churned as churned_negative, churned, active_end from {churn_monthly} order by month",
        _churn_spec,
    ),
    Chart(
        "channel_revenue",
        "Net revenue and AOV by channel",
        "Per calendar month and order channel (channel_kpis_monthly).",
        ("channel_kpis_monthly",),
        "select strftime(month, '%Y-%m') as month, channel, net_revenue, aov "
        "from {channel_kpis_monthly} order by month, channel",
        _channel_revenue_spec,
    ),
    Chart(
        "clv_cac",
        "CLV : CAC by acquisition channel",
        "Historical and simple CLV over CAC; channels without marketing spend have no CAC "
        "(clv_by_channel).",
        ("clv_by_channel",),
        "select acquisition_channel, historical_clv_to_cac, simple_clv_to_cac "
        "from {clv_by_channel} order by acquisition_channel",
        _clv_cac_spec,
    ),
    Chart(
        "nps_csat",
        "NPS and CSAT by month",
        "All channels pooled: promoters, detractors and satisfied answers summed over channels "
        "before dividing (feedback_monthly).",
        ("feedback_monthly",),
        "select strftime(month, '%Y-%m') as month, "
        "100.0 * (sum(promoters) - sum(detractors)) / nullif(sum(nps_responses), 0) as nps, "
        "sum(satisfied_responses) / nullif(sum(csat_responses), 0) as csat "
        "from {feedback_monthly} group by month order by month",
        _nps_csat_spec,
    ),
    Chart(
        "rfm_segments",
        "RFM segment sizes",
        "Customers per RFM segment at the as-of date (segment_summary).",
        ("segment_summary",),
        "select segment, segment_order, customers, share_of_customers "
        "from {segment_summary} where dimension = 'rfm_segment' order by segment_order",
        _rfm_spec,
    ),
)


def chart_data(serving: Path | None, relations: Mapping[str, Relation]) -> list[dict[str, Any]]:
    """Every chart as ``{id, title, description, spec}`` or, when it cannot be drawn,
    ``{id, title, description, missing}`` saying why."""
    out: list[dict[str, Any]] = []
    connection = _connect(serving)
    try:
        for chart in CHARTS:
            head = {"id": chart.id, "title": chart.title, "description": chart.description}
            missing = [m for m in chart.marts if m not in relations]
            if missing:
                out.append({**head, "missing": f"no model named {', '.join(missing)}"})
                continue
            if connection is None:
                out.append({**head, "missing": _no_serving(serving)})
                continue
            sql = chart.query.format(**{m: relations[m].render() for m in chart.marts})
            try:
                result = connection.execute(sql + f" limit {MAX_ROWS}")
            except query_errors() as exc:
                reason = str(exc).splitlines()[0]
                out.append({**head, "missing": f"{', '.join(chart.marts)}: {reason}"})
                continue
            names = [d[0] for d in result.description]
            rows = [dict(zip(names, map(_plain, r), strict=True)) for r in result.fetchall()]
            out.append({**head, "spec": chart.spec(rows), "rows": len(rows)})
    finally:
        if connection is not None:
            connection.close()
    return out


def _connect(serving: Path | None) -> Any | None:
    if serving is None or not serving.is_file():
        return None
    return open_read_only(serving)


def _no_serving(serving: Path | None) -> str:
    if serving is None:
        return "the target has no serve_path: nothing is published to chart"
    if not serving.is_file():
        return f"{serving.name} does not exist yet: run `runner build` first"
    return f"{serving.name} could not be opened (is it being written?)"


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value
