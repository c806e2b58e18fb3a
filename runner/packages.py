"""dbt packages: ``packages.yml`` / ``dependencies.yml``, ``runner deps``, and the installed
packages under ``dbt_packages/`` whose macros and models join the project.

``local:`` packages are linked (as dbt does), ``git:`` packages are cloned and checked out
at their ``revision`` (``package-lock.yml`` records the commit). dbt Hub packages
(``package: dbt-labs/dbt_utils``) need the Hub, which the runner does not query: point
at the package's git repository with a ``revision`` instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ProjectError, UsageError
from .yamlio import line_of, load_yaml

SPEC_FILES = ("packages.yml", "dependencies.yml")


@dataclass(frozen=True)
class Package:
    """An installed package: its name (from its dbt_project.yml) and folders, relative
    to the project root."""

    name: str
    root: PurePosixPath
    model_paths: tuple[PurePosixPath, ...]
    macro_paths: tuple[PurePosixPath, ...]
    seed_paths: tuple[PurePosixPath, ...]
    models: dict[str, Any]  # its own models: config tree for itself
    vars: dict[str, Any] = field(default_factory=dict)  # its dbt_project.yml vars: as written
    seeds: dict[str, Any] = field(default_factory=dict)  # its own seeds: config tree


def installed(root: Path, install_path: str) -> list[Package]:
    """The packages under ``install_path`` that have a dbt_project.yml, by name."""
    base = root / install_path
    if not base.is_dir():
        return []
    found = []
    for folder in sorted(base.iterdir()):
        project_file = folder / "dbt_project.yml"
        if not project_file.is_file():
            continue
        data = load_yaml(project_file.read_text(encoding="utf-8"), project_file) or {}
        name = data.get("name") if isinstance(data, dict) else None
        if not isinstance(name, str):
            raise ProjectError(
                "a package's dbt_project.yml needs a name", path=project_file, line=1
            )
        rel = PurePosixPath(install_path) / folder.name

        def paths(key: str, default: str, data: Any = data, rel: PurePosixPath = rel) -> tuple:
            value = data.get(key, [default])
            value = [value] if isinstance(value, str) else value
            return tuple(rel / v for v in value)

        models = data.get("models", {}) or {}
        own = models.get(name, {}) if isinstance(models, dict) else {}
        seeds = data.get("seeds", {}) or {}
        own_seeds = seeds.get(name, {}) if isinstance(seeds, dict) else {}
        found.append(
            Package(
                name=name,
                root=rel,
                model_paths=paths("model-paths", "models"),
                macro_paths=paths("macro-paths", "macros"),
                seed_paths=paths("seed-paths", "seeds"),
                models=dict(own) if isinstance(own, dict) else {},
                vars=dict(data.get("vars") or {}) if isinstance(data.get("vars"), dict) else {},
                seeds=dict(own_seeds) if isinstance(own_seeds, dict) else {},
            )
        )
    return found


def specs(root: Path) -> tuple[Path | None, list[tuple[dict[str, Any], int]]]:
    """The package entries of packages.yml (or dependencies.yml) with their lines."""
    for name in SPEC_FILES:
        path = root / name
        if not path.is_file():
            continue
        data = load_yaml(path.read_text(encoding="utf-8"), path) or {}
        entries = data.get("packages", []) if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ProjectError(
                f"{name} must have a 'packages:' list",
                path=path,
                line=1,
                hint="packages:\n  - local: ../my_package",
            )
        if isinstance(data, dict) and data.get("projects"):
            raise ProjectError(
                f"{name}: 'projects:' (dbt Mesh cross-project refs) is not supported",
                path=path,
                line=line_of(data, "projects"),
                hint="install the other project as a package (local: or git:) instead",
            )
        return path, [(e, line_of(entries, i)) for i, e in enumerate(entries)]
    return None, []


def install(root: Path, install_path: str, echo: Any = print) -> list[str]:
    """Install every package of packages.yml into ``install_path``; returns what was done.

    A failed install leaves the packages installed before as they were."""
    spec_path, entries = specs(root)
    if spec_path is None:
        echo("No packages.yml or dependencies.yml: nothing to install")
        return []
    target = root / install_path
    target.mkdir(parents=True, exist_ok=True)
    lock: list[dict[str, Any]] = []
    done = []
    for entry, line in entries:
        if not isinstance(entry, dict):
            raise ProjectError("each package is a mapping", path=spec_path, line=line)
        if "local" in entry:
            source = (root / str(entry["local"])).resolve()
            if not (source / "dbt_project.yml").is_file():
                raise ProjectError(
                    f"local package {entry['local']} has no dbt_project.yml ({source})",
                    path=spec_path,
                    line=line,
                    hint="local: is a folder path relative to the project",
                )
            name = _project_name(source)
            dest = target / name
            _remove(dest)
            try:
                os.symlink(source, dest, target_is_directory=True)
            except OSError:
                shutil.copytree(source, dest)
            lock.append({"local": str(entry["local"]), "name": name})
            done.append(f"{name}: linked {entry['local']}")
        elif "git" in entry:
            url = str(entry["git"])
            revision = entry.get("revision")
            if revision is None:
                raise ProjectError(
                    f"git package {url} needs a revision (a tag, branch or commit)",
                    path=spec_path,
                    line=line,
                    hint="pin it, e.g. revision: 1.3.0, so every build uses the same code",
                )
            name, sha = _clone(url, str(revision), entry.get("subdirectory"), target, spec_path)
            lock.append({"git": url, "revision": sha, "name": name})
            done.append(f"{name}: {url}@{revision} ({sha[:10]})")
        elif "package" in entry:
            raise ProjectError(
                f"package {entry['package']}: dbt Hub packages are not installed by the runner",
                path=spec_path,
                line=line,
                hint="use the package's git repository with a revision "
                "(git: <url>, revision: <tag>) or a local: copy",
            )
        else:
            raise ProjectError(
                "each package needs local:, git: or package:",
                path=spec_path,
                line=line,
                hint="e.g. - local: ../my_package",
            )
    _write_lock(root, lock)
    for line in done:
        echo(line)
    return done


def _clone(
    url: str, revision: str, subdirectory: Any, target: Path, spec_path: Path
) -> tuple[str, str]:
    if shutil.which("git") is None:
        raise UsageError("git is not installed: it is needed to install git packages")
    with tempfile.TemporaryDirectory(dir=target) as scratch:
        checkout = Path(scratch) / "checkout"

        def git(*args: str) -> str:
            done = subprocess.run(
                ["git", *args],
                capture_output=True,
                text=True,
                cwd=checkout if args[0] != "clone" else None,
            )
            if done.returncode != 0:
                raise ProjectError(
                    f"git {args[0]} failed for {url}: {done.stderr.strip().splitlines()[-1:]}",
                    path=spec_path,
                    hint="check the URL and the revision",
                )
            return done.stdout.strip()

        git("clone", "--quiet", url, str(checkout))
        git("checkout", "--quiet", revision)
        sha = git("rev-parse", "HEAD")
        source = checkout / str(subdirectory) if subdirectory else checkout
        name = _project_name(source)
        dest = target / name
        _remove(dest)
        shutil.rmtree(source / ".git", ignore_errors=True)
        shutil.move(str(source), dest)
    return name, sha


def _project_name(folder: Path) -> str:
    path = folder / "dbt_project.yml"
    if not path.is_file():
        raise ProjectError(f"{folder} has no dbt_project.yml: it is not a dbt package")
    data = load_yaml(path.read_text(encoding="utf-8"), path) or {}
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise ProjectError("a package's dbt_project.yml needs a name", path=path, line=1)
    return name


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _write_lock(root: Path, lock: list[dict[str, Any]]) -> None:
    import yaml

    text = yaml.safe_dump({"packages": lock}, sort_keys=False)
    (root / "package-lock.yml").write_text(text, encoding="utf-8")
