"""`runner docs generate` / `runner docs serve`: the page, lineage.json, the charts' data, and
(marked browser + slow) the page itself in headless Chromium on the built demo warehouse."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest

from runner.docs_site.charts import chart_data
from runner.docs_site.serve import make_server
from runner.nodes import Relation

REPO = Path(__file__).resolve().parents[1]

SMALL = {
    "models/staging/stg_orders.sql": """\
        select order_id, customer_id, amount / 100.0 as amount_usd
        from {{ source('shop', 'orders') }}
        """,
    "models/marts/revenue.sql": """\
        select customer_id, sum(amount_usd) as revenue from {{ ref('stg_orders') }} group by 1
        """,
    "models/marts/_marts.yml": """\
        models:
          - name: revenue
            description: "Revenue per customer. </script><script>window.pwned = 1</script>"
            columns:
              - name: customer_id
                description: The customer.
                expectations: [not_null]
              - name: revenue
                description: Sum of amounts.
        """,
}


def page_data(index: Path) -> dict:
    """The JSON the page embeds, read back the way the browser reads it."""
    text = index.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="site-data">(.*?)</script>', text, re.S)
    assert found, "no embedded data"
    return json.loads(found.group(1))


def test_generate_writes_one_self_contained_page_and_lineage(make_project, run_cli):
    root = make_project(SMALL)
    result = run_cli("docs", "generate", "--project-dir", root)
    assert result.exit_code == 0, result.output
    assert "4 nodes" in result.output and "0 charts" in result.output
    index = root / "target" / "docs" / "index.html"
    html = index.read_text(encoding="utf-8")
    # nothing loaded from anywhere: no src/href to scripts or styles, and a CSP forbidding it
    assert not re.search(r"<script[^>]+src=", html)
    assert "<link" not in html
    assert "default-src 'none'" in html
    # the description's </script> stays data: exactly one closing tag per inlined script
    assert html.count("</script>") == 1 + 4 + 2  # data + vendored libraries + the page's own
    data = page_data(index)
    revenue = data["nodes"]["model.revenue"]
    assert revenue["description"].endswith("<script>window.pwned = 1</script>")
    assert revenue["parents"] == ["model.stg_orders"]
    assert [e["name"] for e in revenue["declared_expectations"]] == ["not_null(customer_id)"]
    assert "group by 1" in revenue["compiled_sql"]
    assert "{{ ref('stg_orders') }}" in revenue["source_text"]
    # no serving file yet: every chart says why it is missing
    assert all("missing" in c for c in data["charts"])
    assert "chart retention_heatmap not drawn: no model named retention_cohorts" in result.output

    lineage = json.loads((root / "target" / "lineage.json").read_text())
    assert lineage["metadata"]["schema_version"] == "runner.lineage.v1"
    amount = lineage["models"]["model.stg_orders"]["columns"]["amount_usd"]
    assert amount == {
        "upstream": [{"node": "source.shop.orders", "table": "raw.orders", "column": "amount"}],
        "transform": "derived",
        "through": [],
    }
    assert lineage["models"]["model.revenue"]["columns"]["revenue"]["upstream"] == [
        {"node": "model.stg_orders", "table": "staging.stg_orders", "column": "amount_usd"}
    ]
    assert data["lineage"] == lineage["models"]


def test_generate_shows_source_freshness_and_survives_a_corrupt_run_results(make_project, run_cli):
    root = make_project(SMALL)
    target = root / "target"
    target.mkdir()
    # sources.json as `runner source freshness` writes it (dbt's shape: one result per source)
    freshness = {
        "metadata": {"generated_at": "2026-12-01T10:00:00+00:00"},
        "results": [
            {
                "unique_id": "source.shop.orders",
                "status": "warn",
                "max_loaded_at": "2026-11-30T08:00:00+00:00",
                "max_loaded_at_time_ago_in_s": 93600,
            }
        ],
    }
    (target / "sources.json").write_text(json.dumps(freshness))
    (target / "run_results.json").write_text('{"metadata": {"schema_ver')  # cut short
    result = run_cli("docs", "generate", "--project-dir", root)
    assert result.exit_code == 0, result.output
    data = page_data(target / "docs" / "index.html")
    assert data["nodes"]["source.shop.orders"]["freshness"]["status"] == "warn"
    assert data["nodes"]["source.shop.customers"]["freshness"] is None
    assert data["metadata"]["freshness"] == {"generated_at": "2026-12-01T10:00:00+00:00"}
    (note,) = data["metadata"]["notes"]
    assert note.startswith("run_results.json could not be read")
    assert data["nodes"]["model.revenue"]["last_run"] is None


def test_generate_reports_a_broken_model_at_its_line(make_project, run_cli):
    root = make_project({**SMALL, "models/marts/revenue.sql": "select (1 +\nfrom x\n"})
    result = run_cli("docs", "generate", "--project-dir", root)
    assert result.exit_code == 2
    assert "models/marts/revenue.sql" in result.output
    assert "Traceback" not in result.output
    assert not (root / "target" / "docs" / "index.html").exists()


def test_serve_needs_generate_first(make_project, run_cli):
    root = make_project(SMALL)
    result = run_cli("docs", "serve", "--project-dir", root, "--port", "0")
    assert result.exit_code == 2
    assert "runner docs generate" in result.output


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_serve_gives_the_page_and_the_project_files_it_links_and_nothing_else(
    make_project, run_cli
):
    root = make_project(SMALL)
    assert run_cli("docs", "generate", "--project-dir", root).exit_code == 0
    server = make_server(root / "target" / "docs", root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status, body = _get(base + "/")
        assert status == 200 and 'id="site-data"' in body
        status, body = _get(base + "/project/models/marts/revenue.sql")
        assert status == 200 and "sum(amount_usd)" in body
        status, body = _get(base + "/project/target/compiled/shop/marts/revenue.sql")
        assert status == 200 and '"staging"."stg_orders"' in body
        for path in ("/project/profiles.yml", "/project/../../etc/passwd", "/lineage.json"):
            assert _get(base + path)[0] == 404, path
    finally:
        server.shutdown()
        server.server_close()


# --- the charts' data, on hand-made marts ----------------------------------------------------


def test_chart_data_pools_feedback_and_turns_churn_down(tmp_path):
    serving = tmp_path / "serving.duckdb"
    con = duckdb.connect(str(serving))
    con.execute("create schema marts")
    con.execute(
        "create table marts.feedback_monthly as select * from (values "
        "(date '2024-01-01', 'web', 10, 6, 2, 8, 6), "
        "(date '2024-01-01', 'app', 2, 0, 2, 4, 1)) "
        "t(month, channel, nps_responses, promoters, detractors, csat_responses, "
        "satisfied_responses)"
    )
    con.execute(
        "create table marts.churn_monthly as select * from (values "
        "(date '2024-01-01', 5, 1, 3, 40)) "
        "t(month, new_customers, reactivated, churned, active_end)"
    )
    con.close()
    relations = {
        "feedback_monthly": Relation("marts", "feedback_monthly"),
        "churn_monthly": Relation("marts", "churn_monthly"),
    }
    charts = {c["id"]: c for c in chart_data(serving, relations)}
    # pooled over channels: (6 + 0 - 2 - 2) / 12 answers = 1/6 -> NPS 16.67, not the mean of
    # the channels' NPS (40 and -100); CSAT (6 + 1) / (8 + 4) = 7/12
    (row,) = charts["nps_csat"]["spec"]["data"]["values"]
    assert row["month"] == "2024-01"
    assert row["nps"] == pytest.approx(100 / 6)
    assert row["csat"] == pytest.approx(7 / 12)
    (churn,) = charts["churn_movements"]["spec"]["data"]["values"]
    assert churn["churned_negative"] == -3 and churn["active_end"] == 40
    assert charts["rfm_segments"]["missing"] == "no model named segment_summary"


def test_chart_data_without_a_serving_file_says_to_build(tmp_path):
    relations = {"churn_monthly": Relation("marts", "churn_monthly")}
    charts = {c["id"]: c for c in chart_data(tmp_path / "none.duckdb", relations)}
    assert "run `runner build` first" in charts["churn_movements"]["missing"]


# --- the page in a browser, on the demo warehouse -----------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
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
# Selectors the page must evaluate exactly as runner/selection.py does.
SELECTORS = [
    "+fct_orders",
    "tag:mart",
    "fct_orders+1",
    "2+clv_customers",
    "@stg_shop__orders",
    "staging",
    "marts.clv",
    "path:models/marts/clv",
    "models/facts/fct_orders.sql",
    "source:shop.orders+",
    "source:shop",
    "resource_type:seed",
    "config.materialized:ephemeral",
    "config.materialized:view,tag:mart",
    "stg_shop__*",
    "+clv_by_channel fct_feedback",
    "marts.clv,+clv_by_channel",
]


@pytest.fixture(scope="module")
def docs(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from runner.cli import cli

    result = CliRunner().invoke(cli, ["docs", "generate", "--project-dir", str(demo_build)])
    assert result.exit_code == 0, result.output
    return demo_build


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory):
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        yield context
        context.close()


def _project(root: Path):
    from runner.parser import load_project
    from runner.project import load_settings, load_target

    settings = load_settings(root)
    return load_project(settings, load_target(settings, None, None), {})


@pytest.mark.slow
@pytest.mark.browser
def test_docs_page_in_chromium(docs: Path, browser_context, tmp_path: Path):
    from runner.selection import select_nodes

    manifest = json.loads((docs / "target" / "manifest.json").read_text())
    run_results = json.loads((docs / "target" / "run_results.json").read_text())
    lineage = json.loads((docs / "target" / "lineage.json").read_text())
    index = docs / "target" / "docs" / "index.html"

    page = browser_context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(index.as_uri())
    page.wait_for_selector("body[data-ready]")

    # the node list has every node
    listed = page.eval_on_selector_all(
        "#node-list a.node-link", "els => els.map(e => e.dataset.uid)"
    )
    assert sorted(listed) == sorted(manifest["nodes"])

    # clicking fct_orders shows its columns and its expectations' latest results
    page.click('#node-list a.node-link[data-uid="model.fct_orders"]')
    page.wait_for_selector("#columns")
    shown = page.eval_on_selector_all("#columns tbody tr", "rs => rs.map(r => r.dataset.column)")
    assert shown == manifest["nodes"]["model.fct_orders"]["output_columns"]
    (result,) = [r for r in run_results["results"] if r["unique_id"] == "model.fct_orders"]
    expected = {e["name"]: e["status"] for e in result["expectations"]}
    assert expected, "fct_orders has expectations in the demo"
    statuses = page.eval_on_selector_all(
        "#expectations tbody tr", "rs => rs.map(r => [r.dataset.expectation, r.dataset.status])"
    )
    assert dict(statuses) == expected

    # the lineage graph of +clv_by_channel has exactly the edges between the chosen nodes
    project = _project(docs)
    graph = project.graph
    chosen = select_nodes(graph, ["+clv_by_channel"])
    want = {(p, c) for c in chosen for p in graph.parents[c] if p in chosen}
    page.goto(index.as_uri() + "#lineage=" + "%2Bclv_by_channel")
    page.wait_for_selector("#lineage-graph svg")
    edges = page.eval_on_selector_all(
        "#lineage-graph g.edge", "es => es.map(e => [e.dataset.from, e.dataset.to])"
    )
    assert {tuple(e) for e in edges} == want
    drawn = page.eval_on_selector_all("#lineage-graph g.gnode", "ns => ns.map(n => n.dataset.id)")
    assert set(drawn) == chosen
    _screenshot(page.locator("main"), "docs-lineage.png", tmp_path)

    # the depth picker narrows it: 1 level upstream only
    page.select_option("#depth-up", "1")
    page.wait_for_function("location.hash.includes('1%2Bclv_by_channel')")
    page.wait_for_selector("#lineage-graph svg")
    drawn = page.eval_on_selector_all("#lineage-graph g.gnode", "ns => ns.map(n => n.dataset.id)")
    assert set(drawn) == select_nodes(graph, ["1+clv_by_channel"])

    # the selector box speaks runner/selection.py's grammar, with the same answers
    for selector in SELECTORS:
        got = page.evaluate(
            "q => [...Selection.create(JSON.parse(document.getElementById('site-data')"
            ".textContent).nodes).select(q)]",
            selector,
        )
        assert set(got) == select_nodes(graph, selector.split()), selector

    # column lineage of clv_customers.aov: net revenue / valid orders, summed per known customer
    # in int_customer_orders, and from fct_orders' rows (count(*)) for customers staging lacks
    page.goto(index.as_uri() + "#column=" + "model.clv_customers%7Caov")
    page.wait_for_selector("#column-graph svg")
    upstream = page.eval_on_selector_all("#column-upstream li", "ls => ls.map(l => l.textContent)")
    assert upstream == [
        "fct_orders.net_revenue",
        "int_customer_orders.net_revenue",
        "int_customer_orders.valid_orders",
    ]
    assert lineage["models"]["model.clv_customers"]["columns"]["aov"]["upstream"] == [
        {"node": "model.fct_orders", "table": "facts.fct_orders", "column": "net_revenue"},
        {
            "node": "model.int_customer_orders",
            "table": "facts.int_customer_orders",
            "column": "net_revenue",
        },
        {
            "node": "model.int_customer_orders",
            "table": "facts.int_customer_orders",
            "column": "valid_orders",
        },
    ]
    # ... and the graph follows it up to the raw table's columns
    column_nodes = page.eval_on_selector_all(
        "#column-graph g.gnode", "ns => ns.map(n => n.dataset.id)"
    )
    assert "model.fct_orders|net_revenue" in column_nodes
    assert any(n.startswith("source.shop.order_items|") for n in column_nodes)

    # search finds a column by name
    page.fill("#search", "historical_clv_to_cac")
    found = page.eval_on_selector_all(
        "#node-list a.node-link", "els => els.map(e => e.dataset.uid)"
    )
    assert "model.clv_by_channel" in found and "model.fct_orders" not in found
    page.fill("#search", "")

    # every chart renders a non-empty SVG
    page.goto(index.as_uri() + "#")
    page.wait_for_function(
        "document.querySelectorAll('.chart-body svg').length === 6", timeout=20_000
    )
    for chart in (
        "retention_heatmap",
        "churn_movements",
        "channel_revenue",
        "clv_cac",
        "nps_csat",
        "rfm_segments",
    ):
        box = page.locator(f'.chart-body[data-chart="{chart}"] svg').bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, chart
        marks = page.locator(f'.chart-body[data-chart="{chart}"] .role-mark > *').count()
        assert marks > 0, chart
    heatmap = page.locator('figure:has(.chart-body[data-chart="retention_heatmap"])')
    _screenshot(heatmap, "docs-retention-heatmap.png", tmp_path)

    # no request left the page's own file
    assert errors == []
    assert set(requests) <= {index.as_uri(), *(index.as_uri() + h for h in _hashes(requests))}
    page.close()


def _hashes(urls: list[str]) -> set[str]:
    return {"#" + u.split("#", 1)[1] for u in urls if "#" in u}


@pytest.mark.slow
@pytest.mark.browser
def test_served_page_requests_only_itself(docs: Path, browser_context):
    server = make_server(docs / "target" / "docs", docs, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    page = browser_context.new_page()
    seen: list[str] = []

    def intercept(route):
        seen.append(route.request.url)
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", intercept)
    try:
        page.goto(origin + "/")
        page.wait_for_selector("body[data-ready]")
        page.wait_for_function("document.querySelectorAll('.chart-body svg').length === 6")
        page.goto(origin + "/#node=model.fct_orders")
        page.wait_for_selector("#columns")
        link = page.get_attribute("a.file-link", "href")
        assert link == "project/models/facts/fct_orders.sql"
        assert seen == [origin + "/"]
    finally:
        page.close()
        server.shutdown()
        server.server_close()


def _screenshot(locator, name: str, tmp_path: Path) -> None:
    """Into docs/img/ (the README shows them) when RUNNER_DOCS_SCREENSHOTS=1, else tmp."""
    import os

    folder = REPO / "docs" / "img" if os.environ.get("RUNNER_DOCS_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(folder / name))
    assert (folder / name).stat().st_size > 5_000
