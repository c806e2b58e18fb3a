"""YAML that remembers where things are, so every error can name its file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ProjectError

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineDict(dict):
    """A mapping from YAML, with the 1-based line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence from YAML, with the 1-based line of itself and of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class LineStr(str):
    """A string from YAML that keeps its 1-based line (an item of a list, say)."""

    line: int = 0

    @classmethod
    def at(cls, text: str, line: int) -> LineStr:
        made = cls(text)
        made.line = line
        return made


def with_line(item: Any, line: int | None) -> Any:
    """``item`` carrying ``line`` where it has none of its own: a plain string becomes a
    LineStr, a plain mapping a LineDict (every key at that line); anything else as it is."""
    if not line or getattr(item, "line", None):
        return item
    if isinstance(item, str):
        return LineStr.at(item, line)
    if isinstance(item, dict):
        kept = LineDict(item)
        kept.line, kept.key_lines = line, {}
        return kept
    return item


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        self.key, self.line = key, line


class _ComplexKey(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, dict | list):
                raise _ComplexKey(key_node.start_mark.line + 1)
            if key in result:
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[str(key)] = key_node.start_mark.line + 1
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        result = LineList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence
)


def load_yaml(text: str, path: Path | str) -> Any:
    """Parse YAML text; a syntax error or duplicate key becomes a ProjectError at its line."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except _DuplicateKey as exc:
        raise ProjectError(
            f"duplicate key '{exc.key}'",
            path=path,
            line=exc.line,
            hint="each key may appear once in a mapping; remove or merge the repeated one",
        ) from None
    except _ComplexKey as exc:
        raise ProjectError(
            "a mapping or list used as a key (e.g. an unquoted '{{ ... }}')",
            path=path,
            line=exc.line,
            hint="quote the value: key: '{{ ... }}'; keys are plain names",
        ) from None
    except yaml.MarkedYAMLError as exc:
        # A scanner error's context is where the broken token began (e.g. a key missing
        # its ':'); a parser error's problem mark is the token that did not fit.
        # A construct still open at the end of the file ("[a, b" with no "]") is reported
        # at the end; the line where it was opened is the one to fix.
        at_end = exc.problem_mark is not None and exc.problem_mark.index >= len(text.rstrip())
        if exc.context_mark is not None and (isinstance(exc, yaml.scanner.ScannerError) or at_end):
            mark = exc.context_mark
        else:
            mark = exc.problem_mark or exc.context_mark
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        if at_end:
            what += " (it is still open at the end of the file)"
        last = text.rstrip().count("\n") + 1  # never a line past the file's content
        raise ProjectError(
            f"invalid YAML: {what}",
            path=path,
            line=min(mark.line + 1, last) if mark else None,
            hint="fix the YAML syntax (indentation, a missing ':' or an unclosed quote)",
        ) from None
    except yaml.YAMLError as exc:
        raise ProjectError(f"invalid YAML: {exc}", path=path) from None
    except RecursionError:
        raise ProjectError(
            "YAML nested too deeply to read",
            path=path,
            hint="flatten the deepest nesting of mappings and lists",
        ) from None


def line_of(obj: Any, key: str | int | None = None, default: int | None = None) -> int | None:
    """Line of a key (mapping) or item (sequence) of a loaded YAML value, or of the value itself."""
    if isinstance(obj, LineDict):
        return obj.line_of(str(key)) if key is not None else obj.line
    if isinstance(obj, LineList):
        return obj.line_of(int(key)) if isinstance(key, int) else obj.line
    return default
