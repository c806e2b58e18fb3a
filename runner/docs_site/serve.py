"""``runner docs serve``: the docs folder over HTTP on this machine, plus the project's own
files (those manifest.json names: models, YAML, seeds, compiled SQL) under ``/project/`` so
the page's links to them work from the server too. Nothing else is served."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterable
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

PROJECT_PREFIX = "/project/"


def project_files(manifest: dict[str, Any]) -> set[str]:
    """Every file a node of the manifest is defined, documented or compiled in."""
    files: set[str] = set()
    for node in (manifest.get("nodes") or {}).values():
        for key in ("path", "yaml_path", "compiled_path"):
            if node.get(key):
                files.add(str(node[key]))
    return files


class _Handler(BaseHTTPRequestHandler):
    server_version = "runner-docs"

    def __init__(self, *args: Any, docs_dir: Path, root: Path, files: Iterable[str], **kw: Any):
        self.docs_dir = docs_dir
        self.root = root
        self.files = set(files)
        super().__init__(*args, **kw)

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path in ("/", "/index.html"):
            return self._send(self.docs_dir / "index.html", "text/html; charset=utf-8")
        if path.startswith(PROJECT_PREFIX) and path[len(PROJECT_PREFIX) :] in self.files:
            file = self.root / path[len(PROJECT_PREFIX) :]
            kind = mimetypes.guess_type(file.name)[0] or "text/plain"
            if kind.startswith("text/") or file.suffix in (".sql", ".yml", ".yaml", ".py"):
                kind = "text/plain; charset=utf-8"
            return self._send(file, kind)
        self.send_error(HTTPStatus.NOT_FOUND, "not part of the docs")

    def _send(self, file: Path, kind: str) -> None:
        try:
            body = file.read_bytes()
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "not found")
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request
        pass


def make_server(docs_dir: Path, root: Path, host: str, port: int) -> ThreadingHTTPServer:
    """A server for ``docs_dir`` (port 0: any free port); call ``serve_forever()``."""
    manifest_path = docs_dir.parent / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        manifest = {}
    handler = partial(_Handler, docs_dir=docs_dir, root=root, files=project_files(manifest))
    return ThreadingHTTPServer((host, port), handler)
