"""The DAG: nodes joined by their ref/source calls, ordered with stdlib graphlib."""

from __future__ import annotations

import difflib
import graphlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from .errors import ErrorGroup, ProjectError, RunnerError
from .nodes import Model, Node, Seed, Source


@dataclass(frozen=True, eq=False)
class Graph:
    """Nodes by unique id, and for each its direct parents (what it reads)."""

    nodes: Mapping[str, Node]
    parents: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @cached_property
    def children(self) -> Mapping[str, frozenset[str]]:
        kids: dict[str, set[str]] = {uid: set() for uid in self.nodes}
        for uid, ups in self.parents.items():
            for up in ups:
                kids[up].add(uid)
        return {uid: frozenset(v) for uid, v in kids.items()}

    def ancestors(self, uid: str, depth: int | None = None) -> set[str]:
        return _walk(self.parents, uid, depth)

    def descendants(self, uid: str, depth: int | None = None) -> set[str]:
        return _walk(self.children, uid, depth)

    def topological_order(self, subset: Iterable[str] | None = None) -> list[str]:
        """Unique ids, parents before children; ties broken by unique id for stable output."""
        keep = set(self.nodes) if subset is None else set(subset)
        sorter = graphlib.TopologicalSorter(
            {uid: [p for p in self.parents.get(uid, ()) if p in keep] for uid in keep}
        )
        sorter.prepare()
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order

    def by_name(self, name: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.name == name]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())


def _walk(edges: Mapping[str, frozenset[str]], start: str, depth: int | None) -> set[str]:
    seen: set[str] = set()
    frontier = {start}
    level = 0
    while frontier and (depth is None or level < depth):
        nxt: set[str] = set()
        for uid in frontier:
            for other in edges.get(uid, ()):
                if other not in seen:
                    seen.add(other)
                    nxt.add(other)
        frontier = nxt
        level += 1
    return seen


def build_graph(
    models: Iterable[Model],
    seeds: Iterable[Seed],
    sources: Iterable[Source],
    disabled: Iterable[Node] = (),
    source_parents: Mapping[str, str] | None = None,
) -> Graph:
    """Resolve every ref/source call to a node; report all unresolved calls and cycles."""
    nodes: dict[str, Node] = {}
    by_name: dict[str, Node] = {}
    errors: list[RunnerError] = []
    for node in [*seeds, *models]:
        if node.name in by_name:
            other = by_name[node.name]
            errors.append(
                ProjectError(
                    f"two nodes are named '{node.name}': {other.path} and {node.path}",
                    path=node.path,
                    line=node.line,
                    hint="rename one of the files; model and seed names must be unique",
                )
            )
            continue
        by_name[node.name] = node
        nodes[node.unique_id] = node
    source_ids: dict[tuple[str, str], Source] = {}
    for src in sources:
        source_ids[(src.source_name, src.name)] = src
        nodes[src.unique_id] = src
    disabled = list(disabled)
    disabled_names = {n.name: n for n in disabled if not isinstance(n, Source)}
    disabled_sources = {(n.source_name, n.name): n for n in disabled if isinstance(n, Source)}

    parents: dict[str, frozenset[str]] = {}
    for node in nodes.values():
        if not isinstance(node, Model):
            parent = (source_parents or {}).get(node.unique_id)
            parents[node.unique_id] = frozenset({parent} if parent in nodes else ())
            continue
        ups: set[str] = set()
        for ref in node.refs:
            target = by_name.get(ref.name)
            if target is not None:
                ups.add(target.unique_id)
            elif ref.name in disabled_names:
                errors.append(
                    ProjectError(
                        f"model '{node.name}' refers to '{ref.name}', which is disabled "
                        f"({disabled_names[ref.name].path})",
                        path=node.path,
                        line=ref.line,
                        hint=f"enable '{ref.name}' or disable '{node.name}' too",
                    )
                )
            else:
                close = difflib.get_close_matches(ref.name, list(by_name), n=3)
                hint = (
                    "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
                    if close
                    else "check the name: no model or seed is called that"
                )
                errors.append(
                    ProjectError(
                        f"model '{node.name}' refers to unknown node '{ref.name}'",
                        path=node.path,
                        line=ref.line,
                        hint=hint,
                    )
                )
        for call in node.sources:
            src = source_ids.get((call.source_name, call.table_name))
            if src is not None:
                ups.add(src.unique_id)
                continue
            wanted = f"{call.source_name}.{call.table_name}"
            off = disabled_sources.get((call.source_name, call.table_name))
            if off is not None:
                errors.append(
                    ProjectError(
                        f"model '{node.name}' uses source '{wanted}', which is disabled "
                        f"({off.path}:{off.line})",
                        path=node.path,
                        line=call.line,
                        hint=f"enable source '{wanted}' (enabled: in its YAML or the sources: "
                        f"tree of dbt_project.yml) or disable '{node.name}' too",
                    )
                )
                continue
            known = [f"{s}.{t}" for s, t in source_ids]
            close = difflib.get_close_matches(wanted, known, n=3)
            hint = (
                "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
                if close
                else "declare it in a sources YAML file (sources: - name: ... tables: ...)"
            )
            errors.append(
                ProjectError(
                    f"model '{node.name}' uses unknown source '{wanted}'",
                    path=node.path,
                    line=call.line,
                    hint=hint,
                )
            )
        parents[node.unique_id] = frozenset(ups)

    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
    graph = Graph(nodes=nodes, parents=parents)
    _check_acyclic(graph)
    return graph


def _check_acyclic(graph: Graph) -> None:
    try:
        graphlib.TopologicalSorter(graph.parents).prepare()
    except graphlib.CycleError as exc:
        # graphlib lists the cycle in data-flow order: each node is a parent of the next.
        cycle: list[str] = exc.args[1]
        names = [graph.nodes[uid].name for uid in cycle]
        reader = graph.nodes[cycle[1]]
        raise ProjectError(
            "dependency cycle: " + " -> ".join(names),
            path=reader.path,
            line=_ref_line(reader, graph.nodes[cycle[0]].name),
            hint="a model cannot depend on itself, directly or through others; "
            "break the cycle by removing one of these refs",
        ) from None


def _ref_line(node: Node, ref_name: str) -> int | None:
    if isinstance(node, Model):
        for ref in node.refs:
            if ref.name == ref_name:
                return ref.line
    return node.line
