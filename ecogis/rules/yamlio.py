"""Safe YAML for every YAML file ecogis reads: rule files, map specs, schemas, vocabularies.

Plain YAML only (``yaml.SafeLoader``: a ``!!python/object`` tag is an error),
duplicate keys refused, alias expansion capped (a "billion laughs" document is
refused before it is expanded), and YAML dates turned into ISO text.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path
from typing import Any, Mapping

import yaml

from ecogis.errors import EcogisError, RuleError


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


#: Largest number of nodes a YAML document may expand to through its aliases.
MAX_YAML_NODES = 1_000_000
#: Deepest nesting of mappings and sequences allowed in a YAML document.
MAX_YAML_DEPTH = 64
#: Largest YAML file read, in bytes (rule files, map specs, schemas, vocabularies are a few kB).
MAX_YAML_BYTES = 16 * 1024 * 1024


class _Limit(Exception):
    """A YAML limit was hit: ``(message, line)``."""


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


def _plain(value: Any) -> Any:
    """Dates to ISO text, recursively (YAML reads 2022-08-16 as a date)."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_yaml(path: str | Path, *, error: type[EcogisError] = RuleError, what: str = "rule file",
              invalid: str = "not valid safe YAML", plain: bool = True) -> tuple[Any, str, str]:
    """Read a YAML file safely; return ``(document, text, sha256)``.

    The one YAML reader of ecogis (rule files, map specs, layer schemas,
    vocabularies, the sample city list): plain YAML only
    (``yaml.SafeLoader``; a ``!!python/object`` tag is an error), duplicate
    keys refused, at most :data:`MAX_YAML_BYTES`, :data:`MAX_YAML_DEPTH`
    levels and :data:`MAX_YAML_NODES` nodes after alias expansion (checked
    before anything is expanded), recursive aliases refused.  Problems raise
    ``error`` (:class:`RuleError` by default) naming the file and line.
    ``plain``: YAML dates as ISO text.
    """
    p = Path(path)
    text, sha = read_text(p, error=error, what=what)
    if plain:  # the same bytes parsed before (within the limits): read back as JSON (ecogis.cache)
        from ecogis import cache

        k = cache.key("yaml", sha)
        doc = cache.get("yaml", k)
        if doc is not None:
            return doc, text, sha
        doc = _plain(loads_yaml(text, p, error=error, what=what, invalid=invalid))
        if doc is not None and cache.json_safe(doc):
            cache.put("yaml", k, doc)
        return doc, text, sha
    doc = loads_yaml(text, p, error=error, what=what, invalid=invalid)
    return doc, text, sha


def read_text(path: str | Path, *, error: type[EcogisError] = RuleError, what: str = "rule file") -> tuple[str, str]:
    """The UTF-8 text of a YAML file and the SHA-256 of its bytes, with the size limit of :func:`read_yaml`."""
    p = Path(path)
    if p.is_dir():
        raise error(f"is a folder, not a {what}", path=p)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise error(f"{what} not found", path=p) from None
    except OSError as exc:
        raise error(f"cannot read the {what}: {exc.strerror}", path=p) from None
    if size > MAX_YAML_BYTES:
        raise error(f"the {what} is {size:,} bytes, over the limit of {MAX_YAML_BYTES:,}", path=p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise error(f"cannot read the {what}: {exc.strerror}", path=p) from None
    sha = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what}s must be UTF-8", path=p, where=f"byte {exc.start}") from None
    return text, sha


def loads_yaml(text: str, path: str | Path | None = None, *, error: type[EcogisError] = RuleError,
               what: str = "rule file", invalid: str = "not valid safe YAML") -> Any:
    """Parse YAML text with the limits of :func:`read_yaml` (dates stay ``date`` objects)."""
    p = Path(path) if path is not None else None
    if len(text) > MAX_YAML_BYTES:
        raise error(f"the {what} is over the limit of {MAX_YAML_BYTES:,} bytes", path=p)
    try:
        return _load_safe(text, p, error, what)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{invalid}: {problem}", path=p, where=where,
                    hint=f"a {what} is plain YAML; tags such as !!python/object are refused") from None


def read_mapping(path: str | Path, what: str) -> Mapping[str, Any]:
    """A YAML file that must hold a mapping (the taxonomy, the activity list), read safely."""
    doc, _, _ = read_yaml(path)
    if not isinstance(doc, Mapping):
        raise RuleError(f"the {what} is not a mapping", path=path)
    return doc
