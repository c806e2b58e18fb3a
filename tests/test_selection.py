"""Selection semantics (runner.selection) against one fixed, hand-built DAG.

source shop.orders ──> stg_shop__orders ──> fct_orders ──> dim_customers ──> churn_scores
source shop.customers ─> stg_shop__customers ──────────────^   │   │            ^
seed country_codes ────^                  seed holidays ─> fct_orders           │
                                          fct_orders, dim_customers ─> retention_cohorts
                                          seed churn_thresholds ─> churn_scores
scratch (alone)
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest

from runner.errors import UsageError
from runner.graph import Graph
from runner.nodes import Macro, Model, Node, Relation, Seed, Source
from runner.selection import select_nodes

PROJECT = "jaffle"
SOURCES_YML = "models/staging/_sources.yml"


def _source(table: str) -> Source:
    return Source(
        unique_id=f"source.shop.{table}",
        name=table,
        path=PurePosixPath(SOURCES_YML),
        fqn=(PROJECT, "shop", table),
        relation=Relation("raw", table),
        source_name="shop",
        identifier=table,
        checksum=f"sum-{table}",
    )


def _seed(path: str) -> Seed:
    p = PurePosixPath(path)
    name = p.stem
    return Seed(
        unique_id=f"seed.{name}",
        name=name,
        path=p,
        fqn=(PROJECT, *p.parent.parts[1:], name),
        relation=Relation("main", name),
        config={"materialized": "seed"},
        checksum=f"sum-{name}",
    )


def _model(path: str, config: dict[str, Any], macros: tuple[str, ...] = ()) -> Model:
    p = PurePosixPath(path)
    name = p.stem
    return Model(
        unique_id=f"model.{name}",
        name=name,
        path=p,
        fqn=(PROJECT, *p.parent.parts[1:], name),
        relation=Relation("main", name),
        config=config,
        checksum=f"sum-{name}",
        raw_sql="select 1",
        macros=macros,
    )


NODES: list[Node] = [
    _source("orders"),
    _source("customers"),
    _seed("seeds/country_codes.csv"),
    _seed("seeds/calendar/holidays.csv"),
    _seed("seeds/churn_thresholds.csv"),
    _model(
        "models/staging/stg_shop__orders.sql",
        {"materialized": "view", "tags": ("daily",)},
        macros=("cents_to_dollars",),
    ),
    _model("models/staging/stg_shop__customers.sql", {"materialized": "view", "tags": ("daily",)}),
    _model(
        "models/core/fct_orders.sql",
        {"materialized": "incremental", "tags": ("daily",), "unique_key": "order_id"},
    ),
    _model("models/core/dim_customers.sql", {"materialized": "table"}),
    _model(
        "models/marts/retention/retention_cohorts.sql",
        {"materialized": "table", "tags": ("mart", "weekly")},
        macros=("cohort",),
    ),
    _model(
        "models/marts/churn/churn_scores.sql",
        {"materialized": "table", "tags": ("mart",)},
        macros=("score",),
    ),
    _model(
        "models/scratch.sql",
        {"materialized": "ephemeral", "full_refresh": False, "meta": {"owner": "ana"}},
    ),
]

PARENTS = {
    "model.stg_shop__orders": {"source.shop.orders"},
    "model.stg_shop__customers": {"source.shop.customers", "seed.country_codes"},
    "model.fct_orders": {"model.stg_shop__orders", "seed.holidays"},
    "model.dim_customers": {"model.stg_shop__customers", "model.fct_orders"},
    "model.retention_cohorts": {"model.fct_orders", "model.dim_customers"},
    "model.churn_scores": {"model.dim_customers", "seed.churn_thresholds"},
}

GRAPH = Graph(
    nodes={n.unique_id: n for n in NODES},
    parents={n.unique_id: frozenset(PARENTS.get(n.unique_id, ())) for n in NODES},
)
NAMES = {uid: n.name for uid, n in GRAPH.nodes.items()}
ALL = set(NAMES.values())
SOURCES = {"orders", "customers"}
SEEDS = {"country_codes", "holidays", "churn_thresholds"}
STAGING = {"stg_shop__orders", "stg_shop__customers"}
MARTS = {"retention_cohorts", "churn_scores"}

# The previous run: churn_thresholds did not exist, fct_orders' SQL changed,
# dim_customers was a view, macro cents_to_dollars changed and macro score is new.
MACROS = {
    name: Macro(name=name, path=PurePosixPath(f"macros/{name}.sql"), line=1, checksum=checksum)
    for name, checksum in [("cents_to_dollars", "c2"), ("cohort", "k1"), ("score", "s1")]
}


def _previous_manifest() -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    for node in NODES:
        if node.name == "churn_thresholds":
            continue
        config = dict(node.config)
        if "tags" in config:  # JSON gives lists where the node has tuples: still equal
            config["tags"] = list(config["tags"])
        config = dict(reversed(config.items()))  # and key order does not matter
        nodes[node.unique_id] = {
            "resource_type": node.resource_type,
            "name": node.name,
            "checksum": node.checksum,
            "config": config,
        }
    nodes["model.fct_orders"]["checksum"] = "old-sum"
    nodes["model.dim_customers"]["config"]["materialized"] = "view"
    nodes["model.removed_model"] = {"resource_type": "model", "name": "removed_model"}
    return {
        "schema_version": 1,
        "nodes": nodes,
        "macros": {"cents_to_dollars": {"checksum": "c1"}, "cohort": {"checksum": "k1"}},
    }


def _names(
    select: list[str] | None,
    exclude: list[str] | None = None,
    *,
    state: dict[str, Any] | None = None,
    macros: dict[str, Macro] | None = None,
) -> set[str]:
    return {NAMES[uid] for uid in select_nodes(GRAPH, select, exclude, state=state, macros=macros)}


@pytest.mark.parametrize(
    ("select", "exclude", "expected"),
    [
        # everything
        (None, None, ALL),
        ([], None, ALL),
        (["  "], None, ALL),
        # bare: node name, wildcards, fqn folder prefix, with or without project name
        (["fct_orders"], None, {"fct_orders"}),
        (["stg_*"], None, STAGING),
        (["*_customers"], None, {"stg_shop__customers", "dim_customers"}),
        (["staging"], None, STAGING),
        (["marts"], None, MARTS),
        (["marts.retention"], None, {"retention_cohorts"}),
        (["marts.*.churn_scores"], None, {"churn_scores"}),
        (["jaffle.staging"], None, STAGING),
        (["calendar"], None, {"holidays"}),
        (["shop"], None, SOURCES),  # a source's fqn is (project, source, table)
        (["jaffle"], None, ALL),
        # bare terms that look like paths
        (["models/staging"], None, STAGING | SOURCES),
        (["models/core/fct_orders.sql"], None, {"fct_orders"}),
        (["seeds/country_codes.csv"], None, {"country_codes"}),
        ([SOURCES_YML], None, SOURCES),
        # fqn:
        (["fqn:marts"], None, MARTS),
        (["fqn:jaffle.core.dim_customers"], None, {"dim_customers"}),
        (["fqn:stg_*"], None, STAGING),
        # path:
        (["path:models/marts"], None, MARTS),
        (["path:models/marts/"], None, MARTS),
        (["path:./models/marts/churn"], None, {"churn_scores"}),
        (["path:models/core/fct_orders.sql"], None, {"fct_orders"}),
        (["path:models/*/*.sql"], None, STAGING | {"fct_orders", "dim_customers"} | MARTS),
        (["path:seeds"], None, SEEDS),
        (["path:*.csv"], None, SEEDS),
        (["path:."], None, ALL),
        # tag:
        (["tag:daily"], None, STAGING | {"fct_orders"}),
        (["tag:mart"], None, MARTS),
        (["tag:week*"], None, {"retention_cohorts"}),
        # config.<key>:
        (["config.materialized:view"], None, STAGING),
        (["config.materialized:table"], None, {"dim_customers"} | MARTS),
        (["config.materialized:seed"], None, SEEDS),
        (["config.materialized:snapshot"], None, set()),  # empty, not an error
        (["config.tags:mart"], None, MARTS),  # list value: membership
        (["config.full_refresh:false"], None, {"scratch"}),
        (["config.full_refresh:False"], None, set()),  # booleans are spelt true/false
        (["config.unique_key:order_id"], None, {"fct_orders"}),
        (["config.meta.owner:ana"], None, {"scratch"}),
        (["config.no_such_key:x"], None, set()),
        # resource_type:
        (["resource_type:model"], None, ALL - SOURCES - SEEDS),
        (["resource_type:seed"], None, SEEDS),
        (["resource_type:source"], None, SOURCES),
        # source:
        (["source:shop"], None, SOURCES),
        (["source:shop.orders"], None, {"orders"}),
        (["source:shop.cust*"], None, {"customers"}),
        (["source:jaffle.shop.orders"], None, {"orders"}),
        # union (spaces, or repeated --select) and intersection (commas)
        (["fct_orders dim_customers"], None, {"fct_orders", "dim_customers"}),
        (["fct_orders", "dim_customers"], None, {"fct_orders", "dim_customers"}),
        (["  fct_orders   scratch "], None, {"fct_orders", "scratch"}),
        (["tag:daily,config.materialized:view"], None, STAGING),
        (["tag:daily,config.materialized:table"], None, set()),
        (["tag:mart,marts.churn"], None, {"churn_scores"}),
        (["tag:daily,resource_type:model,stg_*"], None, STAGING),
        (["+fct_orders,resource_type:seed"], None, {"holidays"}),
        (["tag:daily,config.materialized:view scratch"], None, STAGING | {"scratch"}),
        # --exclude
        (None, ["resource_type:model"], SOURCES | SEEDS),
        (["tag:daily"], ["stg_shop__orders"], {"stg_shop__customers", "fct_orders"}),
        (["staging+"], ["marts"], STAGING | {"fct_orders", "dim_customers"}),
        (
            ["+dim_customers"],
            ["resource_type:source resource_type:seed"],
            STAGING | {"fct_orders", "dim_customers"},
        ),
        (
            ["+dim_customers"],
            ["+stg_shop__orders", "path:seeds"],
            {"stg_shop__customers", "fct_orders", "dim_customers", "customers"},
        ),
        (["tag:daily"], ["tag:daily,config.materialized:view"], {"fct_orders"}),
        (["fct_orders"], ["fct_orders+"], set()),
        # graph operators: ancestors
        (["+stg_shop__orders"], None, {"stg_shop__orders", "orders"}),
        (
            ["+dim_customers"],
            None,
            {"dim_customers", "fct_orders", "holidays", "country_codes"} | STAGING | SOURCES,
        ),
        (["1+dim_customers"], None, {"dim_customers", "fct_orders", "stg_shop__customers"}),
        (
            ["2+dim_customers"],
            None,
            {"dim_customers", "fct_orders", "holidays", "customers", "country_codes"} | STAGING,
        ),
        (["0+dim_customers"], None, {"dim_customers"}),
        # descendants
        (["fct_orders+"], None, {"fct_orders", "dim_customers"} | MARTS),
        (["stg_shop__orders+1"], None, {"stg_shop__orders", "fct_orders"}),
        (
            ["stg_shop__orders+2"],
            None,
            {"stg_shop__orders", "fct_orders", "dim_customers", "retention_cohorts"},
        ),
        (["churn_thresholds+"], None, {"churn_thresholds", "churn_scores"}),
        (["scratch+", "+scratch"], None, {"scratch"}),
        # both directions
        (
            ["+stg_shop__customers+"],
            None,
            {"customers", "country_codes", "stg_shop__customers", "dim_customers"} | MARTS,
        ),
        (
            ["1+fct_orders+1"],
            None,
            {"stg_shop__orders", "holidays", "fct_orders"}
            | {
                "dim_customers",
                "retention_cohorts",
            },
        ),
        # operators on other methods, and on every node of the match
        (["+tag:mart"], None, ALL - {"scratch"}),
        (
            ["source:shop.orders+"],
            None,
            {"orders", "stg_shop__orders", "fct_orders", "dim_customers"} | MARTS,
        ),
        (
            ["resource_type:seed+1"],
            None,
            SEEDS | {"stg_shop__customers", "fct_orders", "churn_scores"},
        ),
        # @: descendants and all their ancestors (brings in churn_thresholds and holidays,
        # which +x+ does not)
        (["@stg_shop__customers"], None, ALL - {"scratch"}),
        (
            ["@retention_cohorts"],
            None,
            {"retention_cohorts", "dim_customers", "fct_orders", "holidays", "country_codes"}
            | STAGING
            | SOURCES,
        ),
        (["@scratch"], None, {"scratch"}),
        (["@churn_thresholds"], None, ALL - {"scratch", "retention_cohorts"}),
    ],
)
def test_select(select: list[str] | None, exclude: list[str] | None, expected: set[str]) -> None:
    assert _names(select, exclude) == expected


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        (["state:new"], {"churn_thresholds"}),
        (["state:modified.body"], {"fct_orders"}),
        (["state:modified.configs"], {"dim_customers"}),
        (["state:modified.macros"], {"stg_shop__orders", "churn_scores"}),
        (
            ["state:modified"],
            {"churn_thresholds", "fct_orders", "dim_customers", "stg_shop__orders", "churn_scores"},
        ),
        (
            ["state:modified+"],
            {"churn_thresholds", "fct_orders", "dim_customers", "stg_shop__orders"} | MARTS,
        ),
        (["+state:modified.body"], {"fct_orders", "stg_shop__orders", "orders", "holidays"}),
        (
            ["state:modified,resource_type:model"],
            {"fct_orders", "dim_customers", "stg_shop__orders", "churn_scores"},
        ),
        (["state:modified.body state:new"], {"fct_orders", "churn_thresholds"}),
    ],
)
def test_state(select: list[str], expected: set[str]) -> None:
    assert _names(select, state=_previous_manifest(), macros=MACROS) == expected


def test_state_exclude() -> None:
    got = _names(None, ["state:modified+"], state=_previous_manifest(), macros=MACROS)
    assert got == {"scratch", "stg_shop__customers", "country_codes", "holidays"} | SOURCES


def test_state_unchanged_project_selects_nothing() -> None:
    previous = _previous_manifest()
    previous["nodes"]["model.fct_orders"]["checksum"] = "sum-fct_orders"
    previous["nodes"]["model.dim_customers"]["config"]["materialized"] = "table"
    previous["nodes"]["seed.churn_thresholds"] = {
        "checksum": "sum-churn_thresholds",
        "config": {"materialized": "seed"},
    }
    previous["macros"] = {name: {"checksum": m.checksum} for name, m in MACROS.items()}
    assert _names(["state:modified"], state=previous, macros=MACROS) == set()
    assert _names(["state:new"], state=previous, macros=MACROS) == set()


def test_state_macros_without_current_macros_counts_as_modified() -> None:
    # Models calling a macro whose current checksum is unknown cannot be proven unchanged.
    got = _names(["state:modified.macros"], state=_previous_manifest(), macros=None)
    assert got == {"stg_shop__orders", "retention_cohorts", "churn_scores"}


def _error(
    select: list[str] | None,
    exclude: list[str] | None = None,
    state: dict[str, Any] | None = None,
) -> UsageError:
    with pytest.raises(UsageError) as info:
        select_nodes(GRAPH, select, exclude, state=state, macros=MACROS)
    return info.value


@pytest.mark.parametrize(
    ("select", "exclude", "in_message", "in_hint"),
    [
        # unknown method: valid methods listed, plus a close match when there is one
        (["tags:daily"], None, "unknown selector method 'tags'", "did you mean 'tag'?"),
        (["resourcetype:model"], None, "'resourcetype'", "did you mean 'resource_type'?"),
        (["conifg.materialized:view"], None, "'conifg.materialized'", "did you mean 'config'?"),
        (["zzz:x"], None, "unknown selector method 'zzz' in 'zzz:x'", "valid methods: fqn, path"),
        (["config:table"], None, "'config' without a key", "config.<key>:<value>"),
        (["config.:table"], None, "unknown selector method 'config.'", "valid methods"),
        # unknown values
        (["resource_type:modle"], None, "unknown resource type 'modle'", "'resource_type:model'"),
        (["resource_type:test"], None, "'test'", "resource_type:model, resource_type:seed"),
        (["state:modifed"], None, "unknown state selector 'state:modifed'", "'state:modified'"),
        # malformed operators and empty parts
        (["++fct_orders"], None, "malformed selector '++fct_orders'", "+x, x+"),
        (["fct_orders++"], None, "malformed selector 'fct_orders++'", "+x, x+"),
        (["@+fct_orders"], None, "malformed selector '@+fct_orders'", "leading '+'"),
        (["@2+fct_orders"], None, "malformed selector '@2+fct_orders'", "leading '+'"),
        (["@0+fct_orders"], None, "malformed selector '@0+fct_orders'", "leading '+'"),
        (["@@fct_orders"], None, "malformed selector '@@fct_orders'", "+x, x+"),
        (["fct+orders"], None, "malformed selector 'fct+orders'", "+x, x+"),
        (["+"], None, "malformed selector '+'", "nothing to select"),
        (["@"], None, "malformed selector '@'", "nothing to select"),
        (["tag:daily,"], None, "malformed selector 'tag:daily,'", "empty selector"),
        ([",tag:daily"], None, "malformed selector ',tag:daily'", "empty selector"),
        (["tag:daily,,stg_*"], None, "'tag:daily,,stg_*'", "empty selector"),
        (["tag:"], None, "malformed selector 'tag:'", "needs a value"),
        ([":daily"], None, "malformed selector ':daily'", "method name is missing"),
        # selectors that should name something but match nothing
        (["stg_shop__order"], None, "'stg_shop__order' matches no node", "'stg_shop__orders'"),
        (["+stg_shop__order+"], None, "'+stg_shop__order+' matches no node", "stg_shop__orders"),
        (["stagin"], None, "'stagin' matches no node", "'staging'"),
        (["nothing_like_it_*"], None, "matches no node", "check the spelling"),
        (["fqn:mart.churn"], None, "'fqn:mart.churn' matches no node", "'marts.churn'"),
        (["path:models/stagin"], None, "matches no node", "'models/staging'"),
        (["models/core/fct_order.sql"], None, "matches no node", "'models/core/fct_orders.sql'"),
        (["tag:dayly"], None, "'tag:dayly' matches no tag", "'daily'"),
        (["source:shpo"], None, "'source:shpo' matches no source", "'shop'"),
        (["source:shop.order"], None, "matches no source", "'shop.orders'"),
        (["source:fct_orders"], None, "matches no source", "check the spelling"),
        # the intersection still validates each part
        (["tag:daily,nope_*"], None, "'nope_*' matches no node", "check the spelling"),
        # --exclude is validated the same way
        (["fct_orders"], ["dim_customer"], "'dim_customer' matches no node", "'dim_customers'"),
        (None, ["++x"], "malformed selector '++x'", "+x, x+"),
    ],
)
def test_errors(
    select: list[str] | None, exclude: list[str] | None, in_message: str, in_hint: str
) -> None:
    err = _error(select, exclude)
    assert in_message in err.message
    assert err.hint is not None
    assert in_hint in err.hint


def test_unknown_method_without_close_match_has_no_suggestion() -> None:
    err = _error(["zzz:x"])
    assert err.hint is not None
    assert "did you mean" not in err.hint
    for method in ("fqn", "path", "tag", "config.<key>", "resource_type", "source", "state"):
        assert method in err.hint


@pytest.mark.parametrize(
    "select",
    [
        ["state:new"],
        ["state:modified"],
        ["state:modified+"],
        ["fct_orders,state:modified.macros"],
    ],
)
def test_state_without_manifest(select: list[str]) -> None:
    err = _error(select)
    assert select[0].split(",")[-1] in err.message
    assert err.hint == "pass --state DIR pointing at a previous run's target folder"


def test_state_without_manifest_in_exclude() -> None:
    err = _error(None, ["state:modified.body"])
    assert err.hint == "pass --state DIR pointing at a previous run's target folder"


def test_state_manifest_without_nodes() -> None:
    err = _error(["state:new"], state={"schema_version": 1})
    assert "no 'nodes'" in err.message


def test_error_is_usage_error_with_exit_code_2() -> None:
    err = _error(["tags:daily"])
    assert err.exit_code == 2
    assert "hint: " in str(err)


RESULTS = {
    "model.stg_shop__orders": "success",
    "model.fct_orders": "error",
    "model.dim_customers": "skipped",
}


def test_result_selectors() -> None:
    chosen = select_nodes(GRAPH, ["result:error"], results=RESULTS)
    assert chosen == {"model.fct_orders"}
    plus = select_nodes(GRAPH, ["result:error+"], results=RESULTS)
    assert plus == {"model.fct_orders"} | GRAPH.descendants("model.fct_orders")
    assert select_nodes(GRAPH, ["result:fail"], results=RESULTS) == {"model.fct_orders"}
    assert select_nodes(GRAPH, ["result:skipped"], results=RESULTS) == {"model.dim_customers"}


def test_result_selector_errors() -> None:
    with pytest.raises(UsageError, match=r"needs the run_results\.json"):
        select_nodes(GRAPH, ["result:error"])
    with pytest.raises(UsageError, match="unknown result selector"):
        select_nodes(GRAPH, ["result:broken"], results=RESULTS)
