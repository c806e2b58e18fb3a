"""Assemble ``index.html``: the page template with the site data, the style, the vendored
libraries and the page's own scripts inlined, so it opens from ``file://`` as it is."""

from __future__ import annotations

import html
import json
import re
from functools import cache
from importlib import resources
from typing import Any

_PLACEHOLDER = re.compile(r"__(TITLE|STYLE|DATA|SCRIPTS)__")

# Order matters: vega-lite and vega-embed expect the globals of the ones before them.
VENDOR = ("dagre.min.js", "vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
SCRIPTS = ("selection.js", "app.js")


@cache
def _asset(folder: str, name: str) -> str:
    return (resources.files("runner.docs_site") / folder / name).read_text(encoding="utf-8")


def _script(text: str, name: str) -> str:
    # "</script" cannot appear inside an inline script; "<\/script" means the same in JS.
    body = text.replace("</script", "<\\/script")
    return f"<script>/* {name} */\n{body}\n</script>"


def render_page(data: dict[str, Any]) -> str:
    """The whole page for ``data`` (``collect.site_data``)."""
    payload = json.dumps(data, separators=(",", ":"), default=str, allow_nan=False)
    # In JSON, "\/" is "/": this keeps "</script>" in a description from closing the tag.
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\u0021--")
    scripts = [_script(_asset("vendor", name), name) for name in VENDOR]
    scripts += [_script(_asset("assets", name), name) for name in SCRIPTS]
    title = html.escape(str(data["metadata"]["project_name"]))
    values = {
        "TITLE": title,
        "STYLE": _asset("assets", "style.css"),
        "DATA": payload,
        "SCRIPTS": "\n".join(scripts),
    }
    # One pass over the template, not a template engine: the inlined libraries are full of
    # braces, and what is substituted is never scanned again.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _asset("assets", "index.html"))
