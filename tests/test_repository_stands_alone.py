"""The repository stands alone: nothing a user reads points at files outside it.

The team's design notes live in a shared folder beside the repository, which a clone does
not have. The README, the docs and the project's own files must not send a reader there:
the metric catalogue and the landing contract are docs/metrics.md and docs/sources.md.
"""

from __future__ import annotations

import re
from pathlib import Path

from warehouse import REPO

SCANNED = (
    "README.md",
    "docs",
    "models",
    "runner",
    "macros",
    "seeds",
    "snapshots",
    "schedule",
    "bench",
    "tests",
    "pyproject.toml",
)
THIS_FILE = Path(__file__).resolve()
TEXT = {".md", ".sql", ".yml", ".yaml", ".py", ".toml", ".txt", ".html", ".css", ".js"}
# a path into the shared folder, or a bare name of one of its notes
OUTSIDE = re.compile(r"shared/|\b(?:METRICS|SOURCES|DESIGN|TARGETS|SPARK)\.md\b")


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = REPO / name
        if path.is_file():
            files.append(path)
        else:
            files += [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix in TEXT and p.resolve() != THIS_FILE
            ]
    return files


def test_no_file_points_outside_the_repository():
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in scanned_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_docs_the_readme_links_exist():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for target in ("docs/metrics.md", "docs/sources.md", "docs/performance.md"):
        assert f"]({target}" in readme, target
        assert (REPO / target).is_file(), target
    for doc in sorted((REPO / "docs").glob("*.md")):
        for link in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / link).resolve().is_file(), f"{doc.name} links {link}"
