"""Node selection with dbt's syntax: ``--select`` / ``--exclude`` strings to a set of unique ids.

A selection is a list of strings; each string holds space-separated selectors (union),
and each selector holds comma-separated parts (intersection). One part is
``[@|N+|+] [method:] value [+|+N]``, parsed into a ``Selector`` and evaluated against
the graph: first the method finds the nodes it names, then the graph operators widen
that set to ancestors and descendants.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any, NoReturn

from .errors import UsageError
from .graph import Graph
from .nodes import Macro, Model, Node, Source

__all__ = ["select_nodes"]

METHODS = ("fqn", "path", "tag", "config.<key>", "resource_type", "source", "state", "result")
RESULT_VALUES = ("success", "error", "skipped", "warn", "fail")
RESOURCE_TYPES = ("model", "seed", "source", "snapshot")
STATE_VALUES = ("new", "modified", "modified.body", "modified.configs", "modified.macros")
FILE_SUFFIXES = (".sql", ".csv", ".yml", ".yaml")

OPERATORS_HINT = (
    "graph operators are +x, x+, N+x, x+N, +x+ and @x (@ cannot be combined with a "
    "leading +); join parts with ',' to intersect, separate selectors with spaces to unite"
)
STATE_HINT = "pass --state DIR pointing at a previous run's target folder"


@dataclass(frozen=True)
class Selector:
    """One comma-free selector part. Depths count edges: 0 = none, None = unlimited."""

    raw: str
    method: str  # "" for a bare term
    value: str
    parents_depth: int | None = 0
    children_depth: int | None = 0
    at: bool = False


def select_nodes(
    graph: Graph,
    select: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    *,
    state: Mapping[str, Any] | None = None,
    macros: Mapping[str, Macro] | None = None,
    results: Mapping[str, str] | None = None,  # unique id -> status of the --state run
) -> set[str]:
    """Unique ids chosen by ``select`` (every node when empty) minus those chosen by ``exclude``."""
    evaluator = _Evaluator(graph, state, macros, results)
    chosen = evaluator.union(select) if _terms(select) else set(graph.nodes)
    if _terms(exclude):
        chosen -= evaluator.union(exclude)
    return chosen


def _terms(strings: Sequence[str] | None) -> list[str]:
    return [term for s in strings or () for term in s.split()]


# --- parsing -----------------------------------------------------------------------------


def parse_selector(raw: str) -> Selector:
    """Split one selector part into its graph operators, method and value."""
    text = raw
    at = text.startswith("@")
    if at:
        text = text[1:]
    children, text = _take_trailing_depth(text)
    parents, rest = _take_leading_depth(text)
    if at and rest != text:
        _malformed(raw, "'@' already includes all ancestors; it cannot take a leading '+'")
    text = rest
    if not text:
        _malformed(raw, "nothing to select; " + OPERATORS_HINT)
    if text.startswith("@") or "+" in text:
        _malformed(raw, OPERATORS_HINT)

    method, colon, value = text.partition(":")
    if not colon:
        method, value = "", text
    elif not method:
        _malformed(raw, "a method name is missing before ':' (e.g. tag:daily)")
    elif not value:
        _malformed(raw, f"'{method}:' needs a value (e.g. {method}:something)")
    _check_method(raw, method)
    return Selector(raw, method, value, parents, children, at)


def _take_leading_depth(text: str) -> tuple[int | None, str]:
    """``+x`` -> (None, "x"); ``2+x`` -> (2, "x"); ``x`` -> (0, "x")."""
    digits = len(text) - len(text.lstrip("0123456789"))
    if text[digits : digits + 1] != "+":
        return 0, text  # leading digits without '+' are part of the name
    return (int(text[:digits]) if digits else None), text[digits + 1 :]


def _take_trailing_depth(text: str) -> tuple[int | None, str]:
    """``x+`` -> (None, "x"); ``x+2`` -> (2, "x"); ``x`` -> (0, "x")."""
    stem = text.rstrip("0123456789")
    if not stem.endswith("+"):
        return 0, text
    digits = text[len(stem) :]
    return (int(digits) if digits else None), stem[:-1]


def _check_method(raw: str, method: str) -> None:
    if method in ("", *METHODS) or (method.startswith("config.") and method != "config."):
        return
    if method == "config":
        raise UsageError(
            f"selector '{raw}' uses 'config' without a key",
            hint="write config.<key>:<value>, e.g. config.materialized:table",
        )
    names = [m.split(".")[0] for m in METHODS]
    close = difflib.get_close_matches(method.split(".")[0], names, n=1)
    hint = "valid methods: " + ", ".join(METHODS)
    if close:
        hint += f"; did you mean '{close[0]}'?"
    raise UsageError(f"unknown selector method '{method}' in '{raw}'", hint=hint)


def _malformed(raw: str, hint: str) -> NoReturn:
    raise UsageError(f"malformed selector '{raw}'", hint=hint)


# --- evaluation ----------------------------------------------------------------------------


class _Evaluator:
    def __init__(
        self,
        graph: Graph,
        state: Mapping[str, Any] | None,
        macros: Mapping[str, Macro] | None,
        results: Mapping[str, str] | None = None,
    ) -> None:
        self.graph = graph
        self.state = state
        self.macros = macros or {}
        self.results = results

    def union(self, strings: Sequence[str] | None) -> set[str]:
        chosen: set[str] = set()
        for term in _terms(strings):
            chosen |= self.intersection(term)
        return chosen

    def intersection(self, term: str) -> set[str]:
        parts = term.split(",")
        if any(not p for p in parts):
            _malformed(term, "empty selector next to a ','; " + OPERATORS_HINT)
        # Parse every part before evaluating any, so syntax errors come first.
        selectors = [parse_selector(p) for p in parts]
        result = self.expand(selectors[0])
        for sel in selectors[1:]:
            result &= self.expand(sel)
        return result

    def expand(self, sel: Selector) -> set[str]:
        """The nodes the method names, widened by the selector's graph operators."""
        base = self.match(sel)
        result = set(base)
        for uid in base:
            if sel.at:
                down = self.graph.descendants(uid) | {uid}
                result |= down
                for d in down:
                    result |= self.graph.ancestors(d)
                continue
            if sel.parents_depth != 0:
                result |= self.graph.ancestors(uid, sel.parents_depth)
            if sel.children_depth != 0:
                result |= self.graph.descendants(uid, sel.children_depth)
        return result & set(self.graph.nodes)

    def match(self, sel: Selector) -> set[str]:
        method, value = sel.method, sel.value
        if method == "" and ("/" in value or value.endswith(FILE_SUFFIXES)):
            method = "path"
        if method.startswith("config."):
            key = method.removeprefix("config.")
            return self._where(lambda n: _config_matches(n, key, value))
        if method == "resource_type":
            if value not in RESOURCE_TYPES:
                raise UsageError(
                    f"unknown resource type '{value}' in '{sel.raw}'",
                    hint=_one_of(value, RESOURCE_TYPES, "resource_type:"),
                )
            return self._where(lambda n: n.resource_type == value)
        if method == "state":
            return self._match_state(sel)
        if method == "result":
            return self._match_result(sel)

        # The remaining methods name things that should exist: no match is a typo.
        matcher, candidates = {
            "": (_fqn_matches, self._name_candidates),
            "fqn": (_fqn_matches, self._name_candidates),
            "path": (_path_matches, self._path_candidates),
            "tag": (_tag_matches, self._tag_candidates),
            "source": (_source_matches, self._source_candidates),
        }[method]
        found = self._where(lambda n: matcher(n, value))
        if not found:
            what = {"tag": "tag", "source": "source"}.get(method, "node")
            wanted = _normal_path(value) if method == "path" else value
            close = difflib.get_close_matches(wanted, candidates(), n=3)
            hint = (
                "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
                if close
                else "check the spelling; use * as a wildcard"
            )
            raise UsageError(f"selector '{sel.raw}' matches no {what}", hint=hint)
        return found

    def _where(self, predicate: Callable[[Node], bool]) -> set[str]:
        return {uid for uid, node in self.graph.nodes.items() if predicate(node)}

    # Names offered as "did you mean" when a selector matches nothing.
    def _name_candidates(self) -> list[str]:
        names = {n.name for n in self.graph}
        for n in self.graph:  # folders too, so 'stagin' suggests 'staging'
            folders = n.fqn[1:-1]
            names.update(".".join(folders[: i + 1]) for i in range(len(folders)))
        return sorted(names)

    def _path_candidates(self) -> list[str]:
        paths = {str(p) for n in self.graph for p in (n.path, *n.path.parents) if str(p) != "."}
        return sorted(paths)

    def _tag_candidates(self) -> list[str]:
        return sorted({t for n in self.graph for t in n.tags})

    def _source_candidates(self) -> list[str]:
        sources = [n for n in self.graph if isinstance(n, Source)]
        return sorted(
            {s.source_name for s in sources} | {f"{s.source_name}.{s.name}" for s in sources}
        )

    # --- result (the statuses of the --state run) ------------------------------------------

    def _match_result(self, sel: Selector) -> set[str]:
        if sel.value not in RESULT_VALUES:
            raise UsageError(
                f"unknown result selector '{sel.raw}'",
                hint=_one_of(sel.value, RESULT_VALUES, "result:"),
            )
        if self.results is None:
            raise UsageError(
                f"'{sel.raw}' needs the run_results.json of a previous run",
                hint="pass --state DIR pointing at a previous run's target folder",
            )
        # 'fail' is dbt's word for a failed test; here expectations fail their node: error.
        wanted = "error" if sel.value == "fail" else sel.value
        return {uid for uid, status in self.results.items() if status == wanted} & set(
            self.graph.nodes
        )

    # --- state ----------------------------------------------------------------------------

    def _match_state(self, sel: Selector) -> set[str]:
        if sel.value not in STATE_VALUES:
            raise UsageError(
                f"unknown state selector '{sel.raw}'",
                hint=_one_of(sel.value, STATE_VALUES, "state:"),
            )
        if self.state is None:
            raise UsageError(f"selector '{sel.raw}' needs a previous manifest", hint=STATE_HINT)
        previous = self.state.get("nodes")
        if not isinstance(previous, Mapping):
            raise UsageError(
                "the --state manifest has no 'nodes' mapping",
                hint="point --state at the target folder of a previous run",
            )
        checks: dict[str, Callable[[Node, Mapping[str, Any]], bool]] = {
            "modified.body": lambda n, old: n.checksum != old.get("checksum"),
            "modified.configs": lambda n, old: _normal(n.config) != _normal(old.get("config")),
            "modified.macros": lambda n, old: self._macros_changed(n),
        }
        chosen: set[str] = set()
        for uid, node in self.graph.nodes.items():
            old = previous.get(uid)
            if old is None:
                # New nodes are 'new' and 'modified'; the .body/.configs/.macros
                # sub-selectors only compare nodes that existed before.
                if sel.value in ("new", "modified"):
                    chosen.add(uid)
            elif sel.value == "modified":
                if any(check(node, old) for check in checks.values()):
                    chosen.add(uid)
            elif sel.value in checks and checks[sel.value](node, old):
                chosen.add(uid)
        return chosen

    def _macros_changed(self, node: Node) -> bool:
        if not isinstance(node, Model):
            return False
        old_macros: Mapping[str, Any] = (self.state or {}).get("macros") or {}
        for name in node.macros:
            current = self.macros.get(name)
            old = old_macros.get(name)
            # A macro we cannot compare (unknown now or absent before) counts as changed.
            if current is None or old is None or current.checksum != old.get("checksum"):
                return True
        return False


# --- per-method predicates -------------------------------------------------------------------


def _fqn_matches(node: Node, value: str) -> bool:
    """Name (with wildcards), or a dotted fqn prefix with or without the project name."""
    if fnmatchcase(node.name, value):
        return True
    parts = value.split(".")
    return _prefix_matches(node.fqn, parts) or _prefix_matches(node.fqn[1:], parts)


def _prefix_matches(fqn: Sequence[str], parts: Sequence[str]) -> bool:
    return len(parts) <= len(fqn) and all(
        fnmatchcase(f, p) for f, p in zip(fqn, parts, strict=False)
    )


def _normal_path(value: str) -> str:
    # PurePosixPath drops './', a trailing '/' and doubled slashes; wildcards survive.
    return str(PurePosixPath(value))


def _path_matches(node: Node, value: str) -> bool:
    """The node's file, or any folder above it, matches the (wildcard) path."""
    pattern = _normal_path(value)  # "." matches every node: it is the last of path.parents
    return any(fnmatchcase(str(p), pattern) for p in (node.path, *node.path.parents))


def _tag_matches(node: Node, value: str) -> bool:
    return any(fnmatchcase(tag, value) for tag in node.tags)


def _source_matches(node: Node, value: str) -> bool:
    """``shop``, ``shop.orders`` or ``project.shop.orders``, wildcards allowed."""
    if not isinstance(node, Source):
        return False
    parts = value.split(".")
    if len(parts) == 3:
        return _prefix_matches(node.fqn, parts)
    return _prefix_matches((node.source_name, node.name), parts)


def _config_matches(node: Node, key: str, value: str) -> bool:
    """Compare as strings; a list matches when any item does. ``key`` may be dotted (meta.owner)."""
    found: Any = node.config
    for part in key.split("."):
        if not isinstance(found, Mapping) or part not in found:
            found = None
            break
        found = found[part]
    if found is None and key == "materialized" and isinstance(node, Model):
        found = node.materialized  # a model without the key is built as a view
    if found is None:
        return False
    items = found if isinstance(found, list | tuple | set | frozenset) else [found]
    return any(_as_text(item) == value for item in items)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return _normal(value)
    return str(value)


def _normal(value: Any) -> str:
    """JSON text of a config, so a tuple and a list, or two key orders, compare equal."""
    return json.dumps(_plain(value), sort_keys=True, default=str)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _one_of(value: str, valid: Iterable[str], prefix: str) -> str:
    valid = list(valid)
    hint = "use one of " + ", ".join(prefix + v for v in valid)
    close = difflib.get_close_matches(value, valid, n=1)
    if close:
        hint += f"; did you mean '{prefix}{close[0]}'?"
    return hint
