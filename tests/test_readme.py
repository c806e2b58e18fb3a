"""What the README says about the demo's first build and the serving file matches the code."""

from __future__ import annotations

import yaml
from warehouse import REPO

from runner.demo.catalog import UNKNOWN_CHANNEL
from runner.publish import DEFAULT_STORAGE_VERSION

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_first_builds_one_warning_is_explained():
    # the demo generator's deliberate unknown channel, and the staging check that warns
    assert UNKNOWN_CHANNEL == "podcast"
    staging = yaml.safe_load((REPO / "models/staging/_staging.yml").read_text())
    (orders,) = [m for m in staging["models"] if m["name"] == "stg_shop__orders"]
    (channel,) = [c for c in orders["columns"] if c["name"] == "channel"]
    (check,) = [e for e in channel["expectations"] if "accepted_values" in e]
    assert check["accepted_values"]["severity"] == "warn"
    assert UNKNOWN_CHANNEL not in check["accepted_values"]["values"]
    assert "1 warn" in README and "stg_shop__orders: accepted_values(channel)" in README
    assert f"'{UNKNOWN_CHANNEL}'" in README and "deliberate" in README


def test_the_serving_files_storage_version_and_readers_are_stated():
    assert f"storage version `{DEFAULT_STORAGE_VERSION}`" in README
    assert "DuckDB 1.4 and later" in README and "DuckDB 1.3 or older refuses it" in README
    assert "serve_storage_version: v1.0.0" in README
