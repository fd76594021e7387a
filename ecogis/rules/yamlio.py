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

from ecogis.errors import EcogisError, RuleError


#: Largest number of nodes a YAML document may expand to through its aliases.
MAX_YAML_NODES = 1_000_000
#: Deepest nesting of mappings and sequences allowed in a YAML document.
MAX_YAML_DEPTH = 64
#: Largest YAML file read, in bytes (rule files, map specs, schemas, vocabularies are a few kB).
MAX_YAML_BYTES = 16 * 1024 * 1024


class _Limit(Exception):
    """A YAML limit was hit: ``(message, line)``."""


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
    """Parse YAML text with the limits of :func:`read_yaml` (dates stay ``date`` objects).

    The parser (:mod:`ecogis.rules.yamlparse`, PyYAML) is imported here, on first use: a process whose YAML
    files are all in :mod:`ecogis.cache` never imports it.
    """
    from ecogis.rules.yamlparse import load_checked

    p = Path(path) if path is not None else None
    if len(text) > MAX_YAML_BYTES:
        raise error(f"the {what} is over the limit of {MAX_YAML_BYTES:,} bytes", path=p)
    return load_checked(text, p, error=error, what=what, invalid=invalid)


def read_mapping(path: str | Path, what: str) -> Mapping[str, Any]:
    """A YAML file that must hold a mapping (the taxonomy, the activity list), read safely."""
    doc, _, _ = read_yaml(path)
    if not isinstance(doc, Mapping):
        raise RuleError(f"the {what} is not a mapping", path=path)
    return doc
