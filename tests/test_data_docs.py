"""`runner test --docs`: GX Data Docs rendered from the run's own results."""

from __future__ import annotations

import html
import re

from test_build_expectations import FILES


def _text(path) -> str:
    """The visible text of an HTML page, whitespace collapsed."""
    raw = re.sub(r"<script.*?</script>|<style.*?</style>", " ", path.read_text(), flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw)))


def test_runner_test_docs_writes_a_page_per_checked_node(make_project, run_cli):
    files = {
        **FILES,
        "models/other.sql": "select 1 as x, 5 as y",
        "models/_more.yml": """\
            models:
              - name: child
                expectations:
                  - sql: 'select * from {this} where no_such_column > 1'
            """,
    }
    root = make_project(files)
    run_cli("build", "--project-dir", root, "--log-format", "plain")
    tested = run_cli("test", "--project-dir", root, "--log-format", "plain", "--docs")
    assert tested.exit_code == 1  # unique(id) fails on base
    index = root / "target" / "data_docs" / "index.html"
    assert f"Data Docs: {index}" in tested.output
    assert index.is_file()

    pages = {
        p.parts[-4]: p for p in (root / "target" / "data_docs" / "validations").rglob("*.html")
    }
    assert set(pages) == {"base", "other"}  # child was skipped: base failed
    base = _text(pages["base"])
    assert "Status: Failed" in base
    assert "values must be unique" in base and "2 unexpected values found" in base
    other = _text(pages["other"])
    assert "values must belong to this set: 2" in other and "1 unexpected values found" in other

    # The site is rewritten whole: a later run's pages only.
    root.joinpath("models/base.sql").write_text("select 1 as id, 'a' as letter")
    run_cli("build", "--project-dir", root, "--log-format", "plain")
    again = run_cli("test", "--project-dir", root, "--log-format", "plain", "--docs", "-s", "child")
    pages = list((root / "target" / "data_docs" / "validations").rglob("*.html"))
    assert [p.parts[-4] for p in pages] == ["child"]
    child = _text(pages[0])
    assert again.exit_code == 1
    assert "no_such_column" in child  # the check could not run: its error is on the page


def test_docs_help_says_the_html_loads_from_the_internet(run_cli):
    shown = run_cli("test", "--help")
    assert "--docs" in shown.output and "internet" in shown.output
