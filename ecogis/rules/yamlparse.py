"""The YAML parser behind :mod:`ecogis.rules.yamlio` (PyYAML), imported on first use.

Plain YAML only (``yaml.SafeLoader``: a ``!!python/object`` tag is an error), duplicate keys refused,
nesting and alias expansion checked before anything is constructed (a "billion laughs" document is
refused, not expanded).  Read YAML through :func:`ecogis.rules.yamlio.read_yaml`, never here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ecogis.errors import EcogisError, RuleError
from ecogis.rules.yamlio import MAX_YAML_DEPTH, MAX_YAML_NODES, _Limit


class _SafeUniqueLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys in a mapping."""


class _FastSafeUniqueLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: ~10× faster to parse
    """The same loader on libyaml (when PyYAML has it); a syntax error is re-read by the Python one for its message."""


def _construct_mapping(loader: _SafeUniqueLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            dup = key in seen
        except TypeError:
            dup = False
        if dup:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark)
        try:
            seen.add(key)
        except TypeError:
            pass
    return loader.construct_mapping(node, deep=deep)


_SafeUniqueLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_FastSafeUniqueLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_depth(text: str, loader_class: type = yaml.SafeLoader) -> None:
    """Refuse nesting deeper than :data:`MAX_YAML_DEPTH` from the event stream (before any recursion)."""
    depth = 0
    for ev in yaml.parse(text, Loader=loader_class):
        if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise _Limit(f"YAML nesting is deeper than {MAX_YAML_DEPTH} levels", ev.start_mark.line + 1)
        elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for kv in node.value for n in kv]
    return []


def _expanded_nodes(root: yaml.Node) -> int:
    """How many nodes ``root`` stands for once every alias is expanded (iterative; a cycle is refused)."""
    memo: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            memo[key] = min(1 + sum(memo[id(c)] for c in _children(node)), MAX_YAML_NODES + 1)
            continue
        if key in memo:
            continue
        if key in on_path:
            raise _Limit("a YAML alias refers to a node that contains it (a recursive document)",
                         node.start_mark.line + 1)
        on_path.add(key)
        stack.append((node, True))
        for c in _children(node):
            if id(c) in on_path:
                raise _Limit("a YAML alias refers to a node that contains it (a recursive document)",
                             c.start_mark.line + 1)
            if id(c) not in memo:
                stack.append((c, False))
    return memo[id(root)]


def _load_safe(text: str, path: Path, error: type[EcogisError] = RuleError, what: str = "rule file") -> Any:
    """Check depth and alias expansion, then construct (a "billion laughs" document is refused, not expanded).

    libyaml parses when PyYAML has it; if it finds a syntax error the document
    is read again by PyYAML's own parser, so messages stay the same either way.
    """
    try:
        if _FastSafeUniqueLoader is not _SafeUniqueLoader:
            try:
                return _load_with(_FastSafeUniqueLoader, text)
            except yaml.MarkedYAMLError as exc:
                if not isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError,
                                        yaml.composer.ComposerError)):
                    raise
        return _load_with(_SafeUniqueLoader, text)
    except _Limit as exc:
        message, line = exc.args
        raise error(message, path=path, where=f"line {line}",
                    hint=f"a {what} needs no deep nesting or aliases expanding to huge documents") from None


def _load_with(loader_class: type, text: str) -> Any:
    _check_depth(text, loader_class)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_nodes(node)
        if size > MAX_YAML_NODES:
            raise _Limit(f"YAML aliases expand to over {MAX_YAML_NODES:,} nodes", node.start_mark.line + 1)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_checked(text: str, path: Path | None, *, error: type[EcogisError] = RuleError, what: str = "rule file",
                 invalid: str = "not valid safe YAML") -> Any:
    """Parse ``text`` within the limits; a syntax error raises ``error`` naming the line."""
    try:
        return _load_safe(text, path, error, what)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{invalid}: {problem}", path=path, where=where,
                    hint=f"a {what} is plain YAML; tags such as !!python/object are refused") from None
