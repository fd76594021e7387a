"""Safe YAML for rule files and vocabularies.

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

from ecogis.errors import RuleError


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


def _expanded_nodes(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once every alias is expanded (shared nodes counted once per use)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once instead of looping
    if isinstance(node, yaml.SequenceNode):
        n = 1 + sum(_expanded_nodes(c, memo) for c in node.value)
    elif isinstance(node, yaml.MappingNode):
        n = 1 + sum(_expanded_nodes(k, memo) + _expanded_nodes(v, memo) for k, v in node.value)
    else:
        n = 1
    memo[key] = n
    return n


def _load_safe(text: str, path: Path) -> Any:
    """Compose, check the alias expansion, then construct (a "billion laughs" document is refused, not expanded).

    libyaml parses when present; if it finds a syntax error the document is
    read again by PyYAML's own parser, so messages stay the same either way.
    """
    if _FastSafeUniqueLoader is not _SafeUniqueLoader:
        try:
            return _load_with(_FastSafeUniqueLoader, text, path)
        except yaml.MarkedYAMLError as exc:
            if not isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError, yaml.composer.ComposerError)):
                raise
    return _load_with(_SafeUniqueLoader, text, path)


def _load_with(loader_class: type, text: str, path: Path) -> Any:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_nodes(node, {})
        if size > MAX_YAML_NODES:
            raise RuleError(
                f"YAML aliases expand to {size:,} nodes, over the limit of {MAX_YAML_NODES:,}",
                path=path,
                where=f"line {node.start_mark.line + 1}",
                hint="a rule file needs no deeply nested aliases",
            )
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


def read_yaml(path: str | Path) -> tuple[Any, str, str]:
    """Read a YAML file safely; return ``(document, text, sha256)``."""
    p = Path(path)
    data = p.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleError("rule files must be UTF-8", path=p, where=f"byte {exc.start}") from None
    try:
        doc = _load_safe(text, p)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleError(f"not valid safe YAML: {problem}", path=p, where=where,
                        hint="rule files are plain YAML; tags such as !!python/object are refused") from None
    return _plain(doc), text, sha


def read_mapping(path: str | Path, what: str) -> Mapping[str, Any]:
    """A YAML file that must hold a mapping (the taxonomy, the activity list), read safely."""
    doc, _, _ = read_yaml(path)
    if not isinstance(doc, Mapping):
        raise RuleError(f"the {what} is not a mapping", path=path)
    return doc
